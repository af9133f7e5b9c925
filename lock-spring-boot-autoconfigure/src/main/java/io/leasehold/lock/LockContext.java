package io.leasehold.lock;

import java.util.Optional;

import io.leasehold.lock.core.ThreadLeases;

/**
 * The leases held by the current thread, innermost first: those taken through
 * {@link DistributedLock @DistributedLock} and through {@link LockManager}, until they are closed.
 */
public final class LockContext {

	private LockContext() {
	}

	/** The innermost lease the current thread holds. */
	public static Optional<Lease> current() {
		return ThreadLeases.innermost();
	}

	/** The innermost lease the current thread holds on {@code lockName} (the full name, with key). */
	public static Optional<Lease> current(String lockName) {
		return ThreadLeases.innermost(lockName);
	}

	/**
	 * The fencing token of the innermost lease the current thread holds.
	 * @throws IllegalStateException outside a locked call
	 */
	public static long fencingToken() {
		return current().orElseThrow(() -> new IllegalStateException("No fencing token: thread '"
				+ Thread.currentThread().getName() + "' holds no lease; call this inside a @DistributedLock method"
				+ " or while a Lease from LockManager is open"))
			.fencingToken();
	}

}
