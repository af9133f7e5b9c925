package io.leasehold.lock.core;

import java.time.Duration;

/**
 * How callers wait between attempts on a busy lock. Implementations must not hold a database
 * connection while a caller waits.
 */
public interface WaitStrategy {

	/**
	 * Starts waiting for the lock; the caller tries again each time {@link Waiter#await} returns
	 * and closes the waiter when it acquired the lock or gave up.
	 */
	Waiter join(String lockName);

	/**
	 * How long a caller that found the lock busy registers, in the lock's row, that it waits,
	 * so that the holder's release notifies; zero when waiters learn of releases otherwise.
	 */
	default Duration waiterRegistration() {
		return Duration.ZERO;
	}

	/**
	 * Tells the strategy that this node is about to release the lock, before the release is
	 * sent.
	 */
	default void releasing(String lockName) {
	}

	/**
	 * One caller waiting for one lock.
	 */
	interface Waiter extends AutoCloseable {

		/**
		 * Whether the caller may try the lock before it first waits: no caller of this node was
		 * waiting for it already, so trying would not jump the queue.
		 */
		default boolean firstInLine() {
			return true;
		}

		/**
		 * Blocks until the lock may have become free, or at most {@code remaining}.
		 * @param remaining how much of the caller's wait time is left; positive
		 * @throws InterruptedException when the waiting thread is interrupted
		 */
		void await(Duration remaining) throws InterruptedException;

		/**
		 * Tells the waiter when the holder's lease runs out unless it is renewed, as the last
		 * attempt learned it, so it need not sleep past that moment.
		 * @param expiresAtNanos the expiry on this JVM's {@code System.nanoTime()} clock
		 */
		default void holderExpiresAt(long expiresAtNanos) {
		}

		/**
		 * Tells the waiter, before it is closed, that the caller got the lock, with the lease's
		 * deadline on this JVM's {@code System.nanoTime()} clock: the next caller in line need
		 * not sleep past it.
		 */
		default void acquired(long leaseDeadlineNanos) {
		}

		@Override
		void close();

	}

}
