package io.leasehold.lock.core;

import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedDeque;

import io.leasehold.lock.Lease;

/**
 * The leases each thread holds, innermost first: what {@link io.leasehold.lock.LockContext}
 * reads. A lease leaves its thread's stack when it is closed, from whichever thread closes it.
 */
public final class ThreadLeases {

	private static final ThreadLocal<Deque<Lease>> STACK = ThreadLocal.withInitial(ConcurrentLinkedDeque::new);

	private ThreadLeases() {
	}

	/** The current thread's stack, innermost first; a lease keeps it to leave it on close. */
	static Deque<Lease> currentStack() {
		return STACK.get();
	}

	public static Optional<Lease> innermost() {
		return Optional.ofNullable(STACK.get().peekFirst());
	}

	public static Optional<Lease> innermost(String lockName) {
		return STACK.get().stream().filter((lease) -> lease.lockName().equals(lockName)).findFirst();
	}

}
