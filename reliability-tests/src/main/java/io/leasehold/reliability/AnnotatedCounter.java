package io.leasehold.reliability;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;

/**
 * The worker's critical section behind {@code @DistributedLock}: lease time, wait time and
 * renewal come from {@code leasehold.lock.*}, as for the {@code LockManager} workers.
 */
public class AnnotatedCounter {

	/** The iteration's body, given the token the aspect passed. */
	@FunctionalInterface
	public interface Body {

		void run(long token) throws Exception;

	}

	@DistributedLock(name = WorkerSettings.PREFIX, key = "#key")
	public void increment(String key, @FencingToken long token, Body body) throws Exception {
		body.run(token);
	}

}
