package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where leases live. Every operation is one statement in its own transaction on a connection of
 * its own, never in the caller's transaction; the expiry is decided by the store's clock.
 */
public interface LeaseStore {

	/**
	 * Takes the lock if it is free or expired, drawing a fresh fencing token, for a caller that
	 * does not wait: registers no waiter, and a busy answer need not say how long the holder's
	 * lease has left.
	 * @param rowLockTimeout how long to wait behind another statement on the same lock's row
	 * @return the grant, or that another holder's lease has not expired
	 */
	default Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout) {
		return tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, Duration.ZERO);
	}

	/**
	 * Takes the lock if it is free or expired, drawing a fresh fencing token; if it is busy,
	 * registers that a caller waits for it, so that the holder's release notifies listeners.
	 * @param rowLockTimeout how long to wait behind another statement on the same lock's row
	 * @param waiterRegistration how long the registration lasts (a waiter tries again, and so
	 * renews it, well within that time); zero not to register
	 * @return the grant, or that another holder's lease has not expired
	 */
	Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration);

	/**
	 * Extends the lease named by its token, if it has not expired.
	 * @return the new expiry, or empty when the lease is no longer held with this token
	 */
	Optional<Instant> renew(String lockName, long fencingToken, Duration leaseTime);

	/**
	 * Ends the lease named by its token, but not before {@code acquired_at + minHoldTime}.
	 * @return whether the lease was still held with this token
	 */
	default boolean release(String lockName, long fencingToken, Duration minHoldTime) {
		return release(lockName, fencingToken, minHoldTime, false);
	}

	/**
	 * Ends the lease named by its token, but not before {@code acquired_at + minHoldTime}, and
	 * notifies listeners if a waiter registered for the lock or {@code waitersHere}.
	 * @param waitersHere whether callers of the releasing node wait for the lock
	 * @return whether the lease was still held with this token
	 */
	boolean release(String lockName, long fencingToken, Duration minHoldTime, boolean waitersHere);

	/**
	 * Prepares the lease's hand-over to a caller of the same node: draws the token of its
	 * successor while the lease holds the row, and records it in the row durably. The node may
	 * then pass that token to its next caller the moment the lease ends, and
	 * {@linkplain #confirmHandOver confirm} the hand-over afterwards. The draw also extends the
	 * lease to {@code leaseTime} from now, if that is later, as a renewal would.
	 * @return the token, or empty when the lease is no longer held with {@code fencingToken}; a
	 * store that prepares no hand-overs always answers empty
	 */
	default OptionalLong drawSuccessorToken(String lockName, long fencingToken, Duration leaseTime) {
		return OptionalLong.empty();
	}

	/**
	 * Confirms a hand-over prepared with {@link #drawSuccessorToken}: the successor's token takes
	 * the row over from its predecessor's with a lease of its own, and the token of its own
	 * successor is drawn. A successor that already holds the row is renewed.
	 * @param predecessorToken the token of the lease that was handed over
	 * @param successorToken the token drawn for its successor
	 * @return the successor's lease, or empty when the row names neither token so (the
	 * predecessor's lease expired, and another caller may have taken the lock)
	 */
	default Optional<Confirmation> confirmHandOver(String lockName, long predecessorToken, long successorToken,
			Duration leaseTime) {
		return Optional.empty();
	}

	/**
	 * Ends the lease named by its token and, in the same transaction, grants the lock to another
	 * caller of the same node with a fresh fencing token, durably: the lock passes to a waiter of
	 * the releasing node without ever being free, so nobody needs to be notified. It clears the
	 * waiters' registration and reports whether there was one: the node then owes them the
	 * notification of the release that eventually frees the lock.
	 * @param ownerId the node's owner id
	 * @param leaseTime the successor's lease time
	 * @return the successor's grant, or empty when the lease was no longer held with this token,
	 * in which case nothing was written
	 */
	Optional<Succession> handOver(String lockName, long fencingToken, String ownerId, Duration leaseTime);

	/**
	 * Reads the lock's row in the transaction of {@code connection} and locks it against any
	 * takeover until that transaction ends: the commit guard's check.
	 */
	Optional<LeaseRow> lockForCommit(Connection connection, String lockName) throws SQLException;

	/** The rows of the lease table in lock name order, at most {@code limit}. */
	List<LeaseRow> findAll(int limit);

	/** The lock's row, if it has one. */
	Optional<LeaseRow> find(String lockName);

	/**
	 * Deletes rows whose lease ended more than {@code retention} ago.
	 * @return how many rows were deleted
	 */
	int deleteExpired(Duration retention);

}
