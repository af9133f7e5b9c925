package io.leasehold.lock;

/**
 * A lock is configured wrongly: a bad duration, key expression, table name or parameter. Raised
 * at start-up where possible, otherwise before the lock is taken; the protected work did not run.
 */
public class LockConfigurationException extends LeaseholdException {

	public LockConfigurationException(String message) {
		super(message);
	}

	public LockConfigurationException(String message, Throwable cause) {
		super(message, cause);
	}

}
