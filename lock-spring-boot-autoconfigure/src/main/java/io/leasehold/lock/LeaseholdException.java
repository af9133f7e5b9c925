package io.leasehold.lock;

import org.jspecify.annotations.Nullable;

/**
 * Base of every exception Leasehold throws.
 */
public class LeaseholdException extends RuntimeException {

	public LeaseholdException(String message) {
		super(message);
	}

	public LeaseholdException(String message, @Nullable Throwable cause) {
		super(message, cause);
	}

}
