package io.leasehold.lock.core;

import java.time.Duration;

/**
 * How a caller waits between attempts on a busy lock. Implementations must not hold a database
 * connection while they wait.
 */
@FunctionalInterface
public interface WaitStrategy {

	/**
	 * Blocks until the lock may have become free, or at most {@code remaining}.
	 * @param lockName the full lock name
	 * @param attempt how many attempts failed so far, from 1
	 * @param remaining how much of the caller's wait time is left; positive
	 * @throws InterruptedException when the waiting thread is interrupted
	 */
	void await(String lockName, int attempt, Duration remaining) throws InterruptedException;

}
