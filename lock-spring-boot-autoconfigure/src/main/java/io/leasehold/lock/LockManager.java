package io.leasehold.lock;

import java.util.Optional;

/**
 * Takes leases programmatically; the twin of {@link DistributedLock @DistributedLock}.
 * Settings left unset in {@link LockOptions} come from {@code leasehold.lock.locks.<lockName>.*},
 * then from the global {@code leasehold.lock.*} defaults.
 */
public interface LockManager {

	/**
	 * Acquires the lock, waiting up to the wait time.
	 * @return the lease, or empty when the lock stayed busy
	 */
	Optional<Lease> tryAcquire(String lockName, LockOptions options);

	/**
	 * Acquires the lock, waiting up to the wait time.
	 * @throws LockNotAcquiredException when the lock stayed busy
	 */
	Lease acquire(String lockName, LockOptions options);

	/**
	 * Runs the action while holding the lock and releases it afterwards. Checked exceptions of
	 * the action are rethrown wrapped in {@link java.lang.reflect.UndeclaredThrowableException}.
	 * @throws LockNotAcquiredException when the lock stayed busy; the action did not run
	 */
	<T> T callWithLock(String lockName, LockOptions options, LeaseCallable<T> action);

}
