package io.leasehold.lock.actuate;

import java.util.List;
import java.util.Locale;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.notify.PostgresReleaseListener;
import io.leasehold.lock.store.PostgresSchema;

/**
 * Up when the lease database answers and the lease table and sequence are there. The release
 * listener's state is a detail: while it reconnects, waiters poll, so locking still works.
 */
public class LeaseholdHealthIndicator extends AbstractHealthIndicator {

	private static final int MAX_LISTED = 50;

	private final PostgresSchema schema;

	private final @Nullable PostgresReleaseListener listener;

	private final @Nullable DefaultLockManager lockManager;

	public LeaseholdHealthIndicator(PostgresSchema schema, @Nullable PostgresReleaseListener listener,
			@Nullable DefaultLockManager lockManager) {
		super("Leasehold lease database check failed");
		this.schema = schema;
		this.listener = listener;
		this.lockManager = lockManager;
	}

	@Override
	protected void doHealthCheck(Health.Builder builder) {
		this.schema.verify();
		builder.up().withDetail("table", this.schema.tableName());
		if (this.lockManager != null) {
			List<String> held = this.lockManager.heldLockNames();
			builder.withDetail("node", this.lockManager.ownerId())
				.withDetail("heldLeases", held.subList(0, Math.min(held.size(), MAX_LISTED)));
		}
		if (this.listener != null) {
			builder.withDetail("listener", this.listener.state().name().toLowerCase(Locale.ROOT));
			String failure = this.listener.lastFailure();
			if (failure != null && !this.listener.isListening()) {
				builder.withDetail("listenerFailure", failure);
			}
		}
	}

}
