package io.leasehold.lock.actuate;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.ObjectProvider;

import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.core.LockMetrics;

/**
 * Leasehold's meters besides the observation timers: {@code leasehold.lock.leases.lost} and
 * {@code leasehold.lock.renewals} (tag {@code result}: {@code success} or {@code failure}),
 * both tagged with the bounded {@code lock}; and the gauges {@code leasehold.lock.leases.held}
 * and {@code leasehold.lock.waiters} for the node.
 */
public class LeaseholdMetrics implements LockMetrics, MeterBinder {

	private final ObjectProvider<DefaultLockManager> lockManager;

	private volatile @Nullable MeterRegistry registry;

	public LeaseholdMetrics(ObjectProvider<DefaultLockManager> lockManager) {
		this.lockManager = lockManager;
	}

	@Override
	public void bindTo(MeterRegistry registry) {
		this.registry = registry;
		Gauge.builder("leasehold.lock.leases.held", this.lockManager, (manager) -> count(manager, true))
			.description("Leases this node holds")
			.register(registry);
		Gauge.builder("leasehold.lock.waiters", this.lockManager, (manager) -> count(manager, false))
			.description("Callers of this node waiting for a lock")
			.register(registry);
	}

	@Override
	public void leaseLost(String lock) {
		MeterRegistry meters = this.registry;
		if (meters != null) {
			Counter.builder("leasehold.lock.leases.lost")
				.description("Leases found lost before their holder released them")
				.tag("lock", lock)
				.register(meters)
				.increment();
		}
	}

	@Override
	public void renewal(String lock, boolean succeeded) {
		MeterRegistry meters = this.registry;
		if (meters != null) {
			Counter.builder("leasehold.lock.renewals")
				.description("Renewals of held leases")
				.tag("lock", lock)
				.tag("result", succeeded ? "success" : "failure")
				.register(meters)
				.increment();
		}
	}

	private static double count(ObjectProvider<DefaultLockManager> provider, boolean held) {
		DefaultLockManager manager = provider.getIfAvailable();
		if (manager == null) {
			return 0;
		}
		return held ? manager.heldLeaseCount() : manager.waiterCount();
	}

}
