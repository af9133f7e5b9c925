package io.leasehold.lock;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * The lock stayed busy for the whole wait time, so the protected work did not run.
 */
public class LockNotAcquiredException extends LeaseholdException {

	private final String lockName;

	private final Duration waited;

	public LockNotAcquiredException(String lockName, Duration waited) {
		this(lockName, waited, null, null);
	}

	/**
	 * @param holder who held the lock when the wait ended, as the database reported it, if known
	 */
	public LockNotAcquiredException(String lockName, Duration waited, @Nullable String holder,
			@Nullable Throwable cause) {
		super("Lock '" + lockName + "' was not acquired after waiting " + waited + "; the protected work did not run"
				+ ((holder != null) ? "; " + holder : ""), cause);
		this.lockName = lockName;
		this.waited = waited;
	}

	public String lockName() {
		return this.lockName;
	}

	/** How long the caller waited before giving up. */
	public Duration waited() {
		return this.waited;
	}

}
