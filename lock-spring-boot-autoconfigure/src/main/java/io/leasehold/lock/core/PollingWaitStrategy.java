package io.leasehold.lock.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Waits with exponential backoff and jitter: before retry {@code n} a random pause between half
 * and all of {@code min(maxInterval, initialInterval * 2^(n-1))}, so waiters spread out instead
 * of polling in step. Used when release notifications are off, and by waiters while the
 * notification listener is down.
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
	public Waiter join(String lockName, Duration leaseTime) {
		return new Backoff();
	}

	/** The pause before retry {@code retry} (from 1), with jitter. */
	public long pauseNanos(int retry) {
		long ceiling = this.initialNanos << Math.min(retry - 1, 20);
		ceiling = (ceiling <= 0) ? this.maxNanos : Math.min(ceiling, this.maxNanos);
		return ThreadLocalRandom.current().nextLong(ceiling / 2, ceiling + 1);
	}

	private final class Backoff implements Waiter {

		private int retries;

		private long holderExpiresAt;

		private boolean expiryKnown;

		@Override
		public void await(Duration remaining) throws InterruptedException {
			long pause = Math.min(pauseNanos(++this.retries), remaining.toNanos());
			if (this.expiryKnown) {
				pause = Math.min(pause, Math.max(0, this.holderExpiresAt - System.nanoTime()));
				this.expiryKnown = false;
			}
			TimeUnit.NANOSECONDS.sleep(pause);
		}

		@Override
		public void holderExpiresAt(long expiresAtNanos) {
			this.holderExpiresAt = expiresAtNanos;
			this.expiryKnown = true;
		}

		@Override
		public void close() {
		}

	}

}
