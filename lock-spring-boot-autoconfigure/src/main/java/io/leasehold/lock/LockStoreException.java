package io.leasehold.lock;

import org.jspecify.annotations.Nullable;

/**
 * The lease database could not be reached or refused a lease statement. When this is thrown by
 * an acquisition, the protected work did not run.
 */
public class LockStoreException extends LeaseholdException {

	public LockStoreException(String message, @Nullable Throwable cause) {
		super(message, cause);
	}

}
