package io.leasehold.lock.core;

import java.time.Instant;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicBoolean;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;

/**
 * A re-entry of a lock the thread already holds: the same lease and token, whose close only ends
 * the re-entry; the outer lease stays held.
 */
final class ReentrantLease implements Lease {

	private final DefaultLease outer;

	private final Deque<Lease> threadStack;

	private final AtomicBoolean closed = new AtomicBoolean();

	ReentrantLease(DefaultLease outer, Deque<Lease> threadStack) {
		this.outer = outer;
		this.threadStack = threadStack;
	}

	DefaultLease outer() {
		return this.outer;
	}

	@Override
	public String lockName() {
		return this.outer.lockName();
	}

	@Override
	public long fencingToken() {
		return this.outer.fencingToken();
	}

	@Override
	public Instant expiresAt() {
		return this.outer.expiresAt();
	}

	@Override
	public boolean isValid() {
		return !this.closed.get() && this.outer.isValid();
	}

	@Override
	public void assertValid() {
		if (this.closed.get()) {
			throw new LeaseLostException(lockName(), fencingToken(), "it was released");
		}
		this.outer.assertValid();
	}

	@Override
	public void close() {
		if (this.closed.compareAndSet(false, true)) {
			this.threadStack.removeFirstOccurrence(this);
		}
	}

	@Override
	public String toString() {
		return "Reentrant" + this.outer;
	}

}
