package io.leasehold.lock;

import java.time.Instant;

/**
 * A granted lock: a lease row that expires by the database clock, and the fencing token that
 * was drawn for this grant.
 */
public interface Lease extends AutoCloseable {

	/** The full lock name, including the key of an annotated call. */
	String lockName();

	/** The token of this grant, greater than every token granted for this lock before it. */
	long fencingToken();

	/** When the lease expires, as last confirmed by the database clock. */
	Instant expiresAt();

	/** Whether the lease is still held: not released, not known lost and not past its deadline. */
	boolean isValid();

	/**
	 * Throws {@link LeaseLostException} when the lease is no longer valid.
	 * @throws LeaseLostException when the lease was released, lost or has expired
	 */
	void assertValid();

	/** Releases the lease; calling it again does nothing. May be called from any thread. */
	@Override
	void close();

}
