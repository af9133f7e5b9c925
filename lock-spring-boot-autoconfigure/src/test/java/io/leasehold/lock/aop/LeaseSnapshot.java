package io.leasehold.lock.aop;

import java.time.Instant;
import java.util.Optional;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockContext;

/**
 * What a locked method sees of its lease while it runs: {@link LockContext}, and the lease row
 * as other sessions of the database see it.
 */
record LeaseSnapshot(Lease lease, String lockName, long fencingToken, Instant expiresAt, Instant takenAt,
		Optional<LeaseTable.Row> row) {

	/** The current thread's innermost lease, if it holds one. */
	static Optional<LeaseSnapshot> capture() {
		return LockContext.current().map(LeaseSnapshot::of);
	}

	/** The current thread's innermost lease; fails when the thread holds none. */
	static LeaseSnapshot current() {
		return capture().orElseThrow(() -> new AssertionError(
				"LockContext.current() is empty on thread '" + Thread.currentThread().getName() + "'"));
	}

	static LeaseSnapshot of(Lease lease) {
		Instant now = Instant.now();
		return new LeaseSnapshot(lease, lease.lockName(), lease.fencingToken(), lease.expiresAt(), now,
				LeaseTable.find(lease.lockName()));
	}

}
