package io.leasehold.lock.actuate;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;

/**
 * {@code /actuator/leasehold}: the leases in the table, and (only with
 * {@code management.endpoint.leasehold.access=unrestricted}) a write operation that ends a lease
 * by name and token, for an operator clearing a lease whose holder is known to be gone.
 */
@Endpoint(id = "leasehold", defaultAccess = Access.READ_ONLY)
public class LeaseholdEndpoint {

	private static final int MAX_ROWS = 1000;

	private final LeaseStore store;

	private final ObjectProvider<DefaultLockManager> lockManager;

	public LeaseholdEndpoint(LeaseStore store, ObjectProvider<DefaultLockManager> lockManager) {
		this.store = store;
		this.lockManager = lockManager;
	}

	@ReadOperation
	public LeasesDescriptor leases() {
		DefaultLockManager manager = this.lockManager.getIfAvailable();
		String node = (manager != null) ? manager.ownerId() : "";
		List<LeaseDescriptor> leases = this.store.findAll(MAX_ROWS).stream().map((row) -> describe(row, node)).toList();
		return new LeasesDescriptor(node, leases);
	}

	/**
	 * Ends the lease if it is still held with this token; its holder learns at its next renewal
	 * that it lost it.
	 */
	@WriteOperation
	public ReleaseDescriptor release(String name, long token) {
		boolean released = this.store.release(name, token, Duration.ZERO);
		return new ReleaseDescriptor(name, token, released);
	}

	private static LeaseDescriptor describe(LeaseRow row, String node) {
		Duration remaining = Duration.between(row.observedAt(), row.expiresAt());
		return new LeaseDescriptor(row.lockName(), row.ownerId(), row.fencingToken(), row.acquiredAt(),
				row.expiresAt(), row.isHeld(), row.ownerId().equals(node) && row.isHeld(),
				remaining.isNegative() ? Duration.ZERO : remaining);
	}

	/**
	 * The leases, as the database saw them, and who this node is.
	 */
	public record LeasesDescriptor(String node, List<LeaseDescriptor> leases) {

	}

	/**
	 * One lease row; {@code remaining} is by the database clock.
	 */
	public record LeaseDescriptor(String name, String owner, long token, Instant acquired, Instant expires,
			boolean held, boolean heldByThisNode, Duration remaining) {

	}

	/**
	 * What a release did.
	 */
	public record ReleaseDescriptor(String name, long token, boolean released) {

	}

}
