package io.leasehold.lock.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;

import io.micrometer.observation.Observation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LeaseholdException;
import io.leasehold.lock.store.Confirmation;

/**
 * A lease this node holds. It is valid until it is closed, a renewal finds it gone, or its local
 * deadline passes: {@code System.nanoTime()} taken before the grant (or the last renewal) was
 * sent, plus the lease time, minus a safety margin. The local deadline holds even when the
 * database cannot be reached.
 */
final class DefaultLease implements Lease {

	private static final Log logger = LogFactory.getLog(DefaultLease.class);

	private final DefaultLockManager manager;

	private final String tag;

	private final String lockName;

	private final long fencingToken;

	private final LockSettings settings;

	private final Deque<Lease> threadStack;

	/** Guards closing against scheduling the next renewal; never held across a database call. */
	private final ReentrantLock stateLock = new ReentrantLock();

	private volatile Instant expiresAt;

	private volatile long deadlineNanos;

	private volatile @Nullable String lostReason;

	/**
	 * The token of the lease this one was handed over from, while the lock's row names that
	 * lease and this one only as its successor; 0 once the hand-over is confirmed, or when the
	 * lease was granted in the row.
	 */
	private volatile long unconfirmedAfter;

	/** Completes when the first attempt to confirm the hand-over has ended. */
	private final CompletableFuture<Void> confirmationTried = new CompletableFuture<>();

	private volatile boolean closed;

	/** Whether its release handed the lock over to another caller of this node. */
	private volatile boolean handedOver;

	private @Nullable Future<?> nextRenewal;

	private @Nullable Observation hold;

	/**
	 * @param sentAtNanos when the grant was sent, from which the lease time counts
	 * @param unconfirmedAfter the token of the lease it was handed over from, if the hand-over
	 * still has to be confirmed; 0 if not
	 */
	DefaultLease(DefaultLockManager manager, String tag, String lockName, long fencingToken, Instant expiresAt,
			long sentAtNanos, long unconfirmedAfter, LockSettings settings, Deque<Lease> threadStack) {
		this.manager = manager;
		this.tag = tag;
		this.lockName = lockName;
		this.fencingToken = fencingToken;
		this.settings = settings;
		this.threadStack = threadStack;
		this.expiresAt = expiresAt;
		this.deadlineNanos = manager.localDeadline(sentAtNanos, settings.leaseTime());
		this.unconfirmedAfter = unconfirmedAfter;
		if (unconfirmedAfter == 0) {
			this.confirmationTried.complete(null);
		}
	}

	@Override
	public String lockName() {
		return this.lockName;
	}

	@Override
	public long fencingToken() {
		return this.fencingToken;
	}

	@Override
	public Instant expiresAt() {
		return this.expiresAt;
	}

	/** The bounded tag of the lock in metrics. */
	String tag() {
		return this.tag;
	}

	void observe(Observation hold) {
		this.hold = hold;
	}

	void endObservation(boolean lost) {
		Observation observation = this.hold;
		if (observation != null) {
			this.manager.observations().endHold(observation, lost);
		}
	}

	void handedOver() {
		this.handedOver = true;
	}

	boolean wasHandedOver() {
		return this.handedOver;
	}

	/** When the lease ends on this JVM's nanoTime clock unless it is renewed. */
	long deadlineNanos() {
		return this.deadlineNanos;
	}

	LockSettings settings() {
		return this.settings;
	}

	DefaultLockManager manager() {
		return this.manager;
	}

	@Override
	public boolean isValid() {
		return !this.closed && this.lostReason == null && System.nanoTime() - this.deadlineNanos < 0;
	}

	@Override
	public void assertValid() {
		if (!isValid()) {
			throw new LeaseLostException(this.lockName, this.fencingToken, invalidReason());
		}
	}

	String invalidReason() {
		if (this.closed) {
			return "it was released";
		}
		String lost = this.lostReason;
		if (lost != null) {
			return lost;
		}
		return "its lease time ran out (last confirmed expiry " + this.expiresAt + " by the database clock)";
	}

	/**
	 * Sends the confirmation of its hand-over at once, in the background: until it lands the
	 * lease lasts no longer than the one it followed. Renewals follow if the lease renews.
	 */
	void startConfirming() {
		try {
			this.manager.renewer().runSoon(this::confirm);
		}
		catch (RejectedExecutionException ex) {
			this.confirmationTried.complete(null);
			throw ex;
		}
	}

	/**
	 * Waits for the first attempt to confirm its hand-over (bounded by the statement timeout), at
	 * most until the lease's local deadline, past which no confirmation can help it; an interrupt
	 * does not cut the wait short, as a release must not leave the hand-over half done.
	 * @return whether the hand-over is confirmed, or needed none
	 */
	boolean awaitConfirmation() {
		boolean interrupted = false;
		while (!this.confirmationTried.isDone()) {
			long remaining = this.deadlineNanos - System.nanoTime();
			if (remaining <= 0) {
				break;
			}
			try {
				this.confirmationTried.get(remaining, TimeUnit.NANOSECONDS);
			}
			catch (InterruptedException ex) {
				interrupted = true;
			}
			catch (ExecutionException | TimeoutException ex) {
				break;
			}
		}
		if (interrupted) {
			Thread.currentThread().interrupt();
		}
		return this.unconfirmedAfter == 0;
	}

	boolean isLost() {
		return this.lostReason != null;
	}

	void startRenewing() {
		this.stateLock.lock();
		try {
			if (!this.closed) {
				this.nextRenewal = this.manager.renewer().scheduleNext(this);
			}
		}
		finally {
			this.stateLock.unlock();
		}
	}

	/**
	 * Runs on the renewal scheduler. The database call is made without the state lock, so that
	 * closing never waits for a renewal stuck on an unreachable database. A renewal that lands
	 * after the lease was released can only extend a release held open by {@code minHoldTime};
	 * it is undone by releasing again.
	 */
	void renew() {
		this.stateLock.lock();
		try {
			if (this.closed || this.lostReason != null) {
				return;
			}
		}
		finally {
			this.stateLock.unlock();
		}
		if (this.unconfirmedAfter != 0) {
			confirm();
			return;
		}
		long sentAt = System.nanoTime();
		Optional<Instant> renewed;
		try {
			renewed = this.manager.store().renew(this.lockName, this.fencingToken, this.settings.leaseTime());
		}
		catch (LeaseholdException ex) {
			renewalFailed(ex);
			return;
		}
		this.manager.metrics().renewal(this.tag, renewed.isPresent());
		boolean renewedAfterClose = false;
		this.stateLock.lock();
		try {
			if (this.closed) {
				renewedAfterClose = renewed.isPresent();
				return;
			}
			if (renewed.isEmpty()) {
				markLost("a renewal found it expired or taken over by another node");
				return;
			}
			this.expiresAt = renewed.get();
			this.deadlineNanos = this.manager.localDeadline(sentAt, this.settings.leaseTime());
			this.manager.renewed(this);
			this.nextRenewal = this.manager.renewer().scheduleNext(this);
		}
		catch (RejectedExecutionException ex) {
			// The scheduler is shutting down; the manager releases every lease it holds.
		}
		finally {
			this.stateLock.unlock();
			if (renewedAfterClose) {
				releaseAgain();
			}
		}
	}

	/**
	 * Confirms the hand-over the lease came with: the row then names this lease, with a full lease
	 * time of its own. It runs even when the lease was closed meanwhile, since its release waits
	 * for it.
	 */
	private void confirm() {
		long sentAt = System.nanoTime();
		Optional<Confirmation> confirmation;
		try {
			confirmation = this.manager.store().confirmHandOver(this.lockName, this.unconfirmedAfter, this.fencingToken,
					this.settings.leaseTime());
		}
		catch (LeaseholdException ex) {
			this.confirmationTried.complete(null);
			renewalFailed(ex);
			return;
		}
		catch (RuntimeException ex) {
			this.confirmationTried.complete(null);
			throw ex;
		}
		this.stateLock.lock();
		try {
			if (confirmation.isEmpty()) {
				markLost("its hand-over could not be confirmed: the lease it followed had expired or been taken over"
						+ " by another node");
				return;
			}
			this.unconfirmedAfter = 0;
			this.expiresAt = confirmation.get().expiresAt();
			this.deadlineNanos = this.manager.localDeadline(sentAt, this.settings.leaseTime());
			this.manager.confirmed(this, confirmation.get());
			if (!this.closed && this.settings.autoRenew()) {
				this.nextRenewal = this.manager.renewer().scheduleNext(this);
			}
		}
		catch (RejectedExecutionException ex) {
			// The scheduler is shutting down; the manager releases every lease it holds.
		}
		finally {
			this.stateLock.unlock();
			this.confirmationTried.complete(null);
		}
	}

	private void renewalFailed(LeaseholdException ex) {
		this.manager.metrics().renewal(this.tag, false);
		boolean failedAfterClose = false;
		this.stateLock.lock();
		try {
			if (this.closed) {
				failedAfterClose = true;
				return;
			}
			long untilDeadline = this.deadlineNanos - System.nanoTime();
			if (untilDeadline <= 0) {
				markLost("it could not be renewed before its deadline: " + ex.getMessage());
				return;
			}
			logger.warn("Renewal of lease on lock '" + this.lockName + "' (token " + this.fencingToken
					+ ") failed; retrying while it is valid for another " + Duration.ofNanos(untilDeadline), ex);
			this.nextRenewal = this.manager.renewer().scheduleRetry(this, Duration.ofNanos(untilDeadline));
		}
		catch (RejectedExecutionException rejected) {
			// The scheduler is shutting down; the manager releases every lease it holds.
		}
		finally {
			this.stateLock.unlock();
			if (failedAfterClose) {
				// The renewal may have committed after the release all the same.
				releaseAgain();
			}
		}
	}

	/** Ends the lease once more, after a renewal that may have landed after its release. */
	private void releaseAgain() {
		try {
			this.manager.releaseAgain(this);
		}
		catch (LeaseholdException ex) {
			logger.warn("Could not release lease on lock '" + this.lockName + "' (token " + this.fencingToken
					+ ") after a renewal that ran while it was released; it stays taken until it expires at "
					+ this.expiresAt + " by the database clock", ex);
		}
	}

	private void markLost(String reason) {
		this.lostReason = reason;
		this.manager.leaseLost(this, reason);
	}

	@Override
	public void close() {
		this.stateLock.lock();
		try {
			if (this.closed) {
				return;
			}
			this.closed = true;
			if (this.nextRenewal != null) {
				this.nextRenewal.cancel(false);
			}
		}
		finally {
			this.stateLock.unlock();
		}
		this.threadStack.removeFirstOccurrence(this);
		this.manager.released(this, this.lostReason == null);
	}

	@Override
	public String toString() {
		return "Lease[" + this.lockName + ", token " + this.fencingToken + ", expires " + this.expiresAt
				+ (isValid() ? "" : ", invalid: " + invalidReason()) + "]";
	}

}
