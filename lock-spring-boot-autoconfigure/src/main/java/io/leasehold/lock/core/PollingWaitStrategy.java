package io.leasehold.lock.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Waits with exponential backoff and jitter: after attempt {@code n} a random pause between half
 * and all of {@code min(maxInterval, initialInterval * 2^(n-1))}, so waiters spread out instead of polling
 * in step.
 */
public class PollingWaitStrategy implements WaitStrategy {

	private final long initialNanos;

	private final long maxNanos;

	public PollingWaitStrategy(Duration initialInterval, Duration maxInterval) {
		if (initialInterval.isNegative() || initialInterval.isZero() || maxInterval.compareTo(initialInterval) < 0) {
			throw new IllegalArgumentException("Polling intervals must be positive with max-interval >= initial-interval,"
					+ " but were initial " + initialInterval + " and max " + maxInterval);
		}
		this.initialNanos = initialInterval.toNanos();
		this.maxNanos = maxInterval.toNanos();
	}

	@Override
	public void await(String lockName, int attempt, Duration remaining) throws InterruptedException {
		long ceiling = this.initialNanos << Math.min(attempt - 1, 20);
		ceiling = (ceiling <= 0) ? this.maxNanos : Math.min(ceiling, this.maxNanos);
		long pause = ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1);
		TimeUnit.NANOSECONDS.sleep(Math.min(pause, remaining.toNanos()));
	}

}
