package io.leasehold.lock.core;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Renews held leases from one shared scheduler, not a thread per lease. A lease is renewed every
 * {@code renewalRatio} of its lease time; a failed attempt is retried sooner while the lease is
 * still valid locally.
 */
public class LeaseRenewer {

	private static final long MIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

	private final ScheduledExecutorService scheduler;

	private final Executor upkeep;

	private final double renewalRatio;

	/**
	 * @param renewalRatio the fraction of the lease time between renewals, above 0 and at most 0.9
	 */
	public LeaseRenewer(ScheduledExecutorService scheduler, double renewalRatio) {
		this(scheduler, scheduler, renewalRatio);
	}

	/**
	 * @param upkeep where lease upkeep that must not hold up the caller runs (see
	 * {@link #runSoon}): best apart from the scheduler, so that a slow commit there never delays a
	 * renewal
	 * @param renewalRatio the fraction of the lease time between renewals, above 0 and at most 0.9
	 */
	public LeaseRenewer(ScheduledExecutorService scheduler, Executor upkeep, double renewalRatio) {
		if (!(renewalRatio > 0 && renewalRatio <= 0.9)) {
			throw new IllegalArgumentException(
					"leasehold.lock.renewal-ratio must be above 0 and at most 0.9, but was " + renewalRatio);
		}
		this.scheduler = scheduler;
		this.upkeep = upkeep;
		this.renewalRatio = renewalRatio;
	}

	/**
	 * Schedules the lease's next renewal after a regular interval, or sooner if the lease's local
	 * deadline comes sooner than usual (a lease handed over with a token drawn ahead lasts only as
	 * long as the one it followed).
	 */
	ScheduledFuture<?> scheduleNext(DefaultLease lease) {
		long interval = (long) (lease.settings().leaseTime().toNanos() * this.renewalRatio);
		long untilDeadline = lease.deadlineNanos() - System.nanoTime();
		return schedule(lease, Math.max(0, Math.min(interval, untilDeadline / 10 * 9)));
	}

	/**
	 * Runs lease upkeep that must not hold up the caller: preparing a hand-over (drawing the
	 * successor's token) and confirming one.
	 */
	void runSoon(Runnable task) {
		this.upkeep.execute(task);
	}

	/** Schedules a retry after a failed renewal, well before the local deadline. */
	ScheduledFuture<?> scheduleRetry(DefaultLease lease, Duration untilDeadline) {
		long interval = (long) (lease.settings().leaseTime().toNanos() * this.renewalRatio);
		return schedule(lease, Math.max(MIN_RETRY_NANOS, Math.min(interval, untilDeadline.toNanos() / 3)));
	}

	private ScheduledFuture<?> schedule(DefaultLease lease, long delayNanos) {
		return this.scheduler.schedule(lease::renew, delayNanos, TimeUnit.NANOSECONDS);
	}

}
