package io.leasehold.lock;

/**
 * What an annotated method does when its lock cannot be acquired within the wait time.
 */
public enum OnNotAcquired {

	/** Throw {@link LockNotAcquiredException}. */
	THROW,

	/**
	 * Return without running the body: {@code null}, {@code Optional.empty()}, or the zero value
	 * of a primitive return type.
	 */
	SKIP

}
