package io.leasehold.lock.aop;

import org.jspecify.annotations.Nullable;
import org.slf4j.MDC;

import io.leasehold.lock.Lease;

/**
 * Puts the lock's name and token in the logging MDC ({@code leasehold.lock},
 * {@code leasehold.token}) while a locked method runs, and restores what was there before, so
 * nested locked calls log their own lock and the outer one's comes back.
 */
final class LockMdc implements AutoCloseable {

	static final String LOCK = "leasehold.lock";

	static final String TOKEN = "leasehold.token";

	private final @Nullable String previousLock;

	private final @Nullable String previousToken;

	private LockMdc(@Nullable String previousLock, @Nullable String previousToken) {
		this.previousLock = previousLock;
		this.previousToken = previousToken;
	}

	static LockMdc put(Lease lease) {
		LockMdc restore = new LockMdc(MDC.get(LOCK), MDC.get(TOKEN));
		MDC.put(LOCK, lease.lockName());
		MDC.put(TOKEN, Long.toString(lease.fencingToken()));
		return restore;
	}

	@Override
	public void close() {
		restore(LOCK, this.previousLock);
		restore(TOKEN, this.previousToken);
	}

	private static void restore(String key, @Nullable String value) {
		if (value == null) {
			MDC.remove(key);
		}
		else {
			MDC.put(key, value);
		}
	}

}
