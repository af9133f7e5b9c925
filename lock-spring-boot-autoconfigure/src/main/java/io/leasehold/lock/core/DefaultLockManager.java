package io.leasehold.lock.core;

import java.lang.reflect.UndeclaredThrowableException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.DisposableBean;
import org.springframework.util.Assert;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseCallable;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.fencing.FencingTrigger;
import io.leasehold.lock.core.LockObservations.Outcome;
import io.leasehold.lock.store.Acquisition;
import io.leasehold.lock.store.Confirmation;
import io.leasehold.lock.store.Grant;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.store.Succession;

/**
 * Acquires, renews and releases leases in a {@link LeaseStore}, waits for busy locks with a
 * {@link WaitStrategy}, and keeps the leases of each thread for re-entry and
 * {@link io.leasehold.lock.LockContext}. On shutdown it releases every lease it still holds.
 */
public class DefaultLockManager implements LockManager, DisposableBean {

	private static final Log logger = LogFactory.getLog(DefaultLockManager.class);

	/** Even a caller that tries once waits this long behind a concurrent statement on the row. */
	private static final long MIN_ROW_LOCK_WAIT_NANOS = Duration.ofMillis(100).toNanos();

	/**
	 * How much of its own lease a successor must keep, until its confirmation lands, to be handed
	 * the lock in a prepared hand-over.
	 */
	private static final int MIN_INHERITED_VALIDITY_PERCENT = 50;

	private static final long DRAWING = -1;

	/** The draw failed, or found the lease gone: the hand-over draws a fresh token. */
	private static final long NOT_DRAWN = -2;

	/** Longer than any lease statement may take, with its timeouts. */
	private static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(15);

	private final LeaseStore store;

	private final LockSettingsResolver settingsResolver;

	private final WaitStrategy waitStrategy;

	private final LeaseRenewer renewer;

	private final String ownerId;

	private final Duration localExpiryMargin;

	private final Set<DefaultLease> held = ConcurrentHashMap.newKeySet();

	/**
	 * Leases handed over to callers of this node that their threads have not taken yet, by token:
	 * shutdown releases them.
	 */
	private final Map<Long, Unclaimed> handedOverNotTaken = new ConcurrentHashMap<>();

	/**
	 * The locks this node holds, or is handing over between its callers, by name: while a lock is
	 * here, a caller of this node that finds it busy need not register as a waiter in its row,
	 * since this node's own release will find the caller in its queue.
	 */
	private final Map<String, HeldHere> heldHere = new ConcurrentHashMap<>();

	private final AtomicLong leasesLost = new AtomicLong();

	/** Acquisitions share it while their statement runs; shutdown takes it alone. */
	private final ReadWriteLock acquisitions = new ReentrantReadWriteLock();

	private final AtomicInteger waiting = new AtomicInteger();

	private volatile boolean shutDown;

	/** Whether hand-overs between callers of this node are prepared: see {@link #setPrepareHandOvers}. */
	private volatile boolean prepareHandOvers;

	private LockObservations observations = new LockObservations(ObservationRegistry.NOOP);

	private LockMetrics metrics = LockMetrics.NONE;

	public DefaultLockManager(LeaseStore store, LockSettingsResolver settingsResolver, WaitStrategy waitStrategy,
			LeaseRenewer renewer, String ownerId, Duration localExpiryMargin) {
		this.store = store;
		this.settingsResolver = settingsResolver;
		this.waitStrategy = waitStrategy;
		this.renewer = renewer;
		this.ownerId = ownerId;
		this.localExpiryMargin = localExpiryMargin;
	}

	/** Observes acquisitions and holds ({@code leasehold.lock.acquire}, {@code leasehold.lock.hold}). */
	public void setObservationRegistry(ObservationRegistry observationRegistry) {
		this.observations = new LockObservations(observationRegistry);
	}

	/**
	 * Prepares each hand-over between two callers of this node while the holder works: the
	 * successor's token is drawn and recorded in the lock's row as the lease's successor, durably.
	 * The releasing holder then passes the lock to the next caller at once, with no statement in
	 * between, and the successor confirms the hand-over in the background; until that lands, its
	 * lease lasts no longer than the one it followed. Off here, on in the auto-configuration
	 * ({@code leasehold.lock.notify.prepare-hand-overs}); a store must support it.
	 */
	public void setPrepareHandOvers(boolean prepareHandOvers) {
		this.prepareHandOvers = prepareHandOvers;
	}

	/** Counts lost leases and renewals. */
	public void setMetrics(LockMetrics metrics) {
		this.metrics = metrics;
	}

	@Override
	public Optional<Lease> tryAcquire(String lockName, LockOptions options) {
		return tryAcquire(lockName, lockName, options);
	}

	/**
	 * Acquires {@code lockName} with the settings configured under {@code configName}.
	 * @param configName the name of {@code leasehold.lock.locks.<name>}: the annotation's name
	 * without its key
	 */
	public Optional<Lease> tryAcquire(String configName, String lockName, LockOptions options) {
		LockNames.check(lockName);
		Assert.notNull(options, "options must not be null");
		return tryAcquire(configName, lockName, this.settingsResolver.resolve(configName, options)).lease();
	}

	@Override
	public Lease acquire(String lockName, LockOptions options) {
		return acquire(lockName, lockName, options);
	}

	/** Like {@link #tryAcquire(String, String, LockOptions)}, but throws when the lock stays busy. */
	public Lease acquire(String configName, String lockName, LockOptions options) {
		LockNames.check(lockName);
		Assert.notNull(options, "options must not be null");
		Attempt attempt = tryAcquire(configName, lockName, this.settingsResolver.resolve(configName, options));
		if (attempt.lease().isPresent()) {
			return attempt.lease().get();
		}
		throw new LockNotAcquiredException(lockName, attempt.waited(), describeHolder(lockName), null);
	}

	@Override
	public <T> T callWithLock(String lockName, LockOptions options, LeaseCallable<T> action) {
		Assert.notNull(action, "action must not be null");
		try (Lease lease = acquire(lockName, options)) {
			return action.call(lease);
		}
		catch (RuntimeException ex) {
			StaleFencingTokenException stale = FencingTrigger.translate(ex);
			throw (stale != null) ? stale : ex;
		}
		catch (Error ex) {
			throw ex;
		}
		catch (Exception ex) {
			throw new UndeclaredThrowableException(ex, "Action under lock '" + lockName + "' threw " + ex);
		}
	}

	private Attempt tryAcquire(String configName, String lockName, LockSettings settings) {
		Deque<Lease> stack = ThreadLeases.currentStack();
		DefaultLease outer = heldByThread(stack, lockName);
		if (outer != null) {
			return new Attempt(Optional.of(reenter(outer, stack)), Duration.ZERO);
		}
		long start = System.nanoTime();
		Request request = new Request(LockObservations.tag(configName), lockName, settings, stack,
				start + settings.waitTime().toNanos());
		Observation observation = this.observations.startAcquire(request.tag(), lockName);
		try {
			Attempt attempt = acquireOrWait(request, start);
			Outcome outcome = attempt.lease().isPresent() ? Outcome.ACQUIRED
					: settings.waitTime().isZero() ? Outcome.BUSY : Outcome.TIMED_OUT;
			this.observations.endAcquire(observation, outcome, attempt.lease().orElse(null), null);
			return attempt;
		}
		catch (RuntimeException ex) {
			this.observations.endAcquire(observation, Outcome.ERROR, null, ex);
			throw ex;
		}
	}

	private Attempt acquireOrWait(Request request, long start) {
		if (request.settings().waitTime().isZero()) {
			return tryOnce(request).result(start);
		}
		// Join before the first attempt, so that no release notified after it can be missed; a
		// caller that finds others of this node waiting queues behind them instead of barging in.
		this.waiting.incrementAndGet();
		try (WaitStrategy.Waiter waiter = this.waitStrategy.join(request.lockName(), request.settings().leaseTime())) {
			Try last = null;
			if (waiter.firstInLine()) {
				last = tryOnce(request);
			}
			while (last == null || (last.lease() == null && request.deadline() - System.nanoTime() > 0)) {
				if (last != null && last.holderExpiresAtNanos() != null) {
					waiter.holderExpiresAt(last.holderExpiresAtNanos());
				}
				if (this.prepareHandOvers && isHeldHere(request.lockName())) {
					drawSuccessorToken(request.lockName());
				}
				waiter.await(Duration.ofNanos(Math.max(1, request.deadline() - System.nanoTime())));
				WaitStrategy.HandOver handOver = waiter.takeHandOver();
				last = (handOver != null) ? takeHandOver(request, handOver) : tryOnce(request);
			}
			if (last.lease() instanceof DefaultLease granted) {
				waiter.acquired(granted.deadlineNanos());
				if (this.prepareHandOvers && waiter.othersQueued()) {
					drawSuccessorToken(request.lockName());
				}
			}
			return last.result(start);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			return new Attempt(Optional.empty(), Duration.ofNanos(System.nanoTime() - start));
		}
		finally {
			this.waiting.decrementAndGet();
		}
	}

	/** One acquire statement: granted, busy, or a transient failure worth retrying while time remains. */
	private Try tryOnce(Request request) {
		Lock inFlight = this.acquisitions.readLock();
		inFlight.lock();
		try {
			Assert.state(!this.shutDown, "The lock manager has been shut down");
			return tryOnceInFlight(request);
		}
		finally {
			inFlight.unlock();
		}
	}

	/** Takes a lease that this node's releasing holder handed over to the caller. */
	private Try takeHandOver(Request request, WaitStrategy.HandOver handOver) {
		Lock inFlight = this.acquisitions.readLock();
		inFlight.lock();
		try {
			// absent when shutdown has released it already
			Unclaimed unclaimed = this.handedOverNotTaken.remove(handOver.fencingToken());
			if (this.shutDown || unclaimed == null) {
				if (unclaimed != null) {
					releaseUnused(unclaimed, false);
				}
				throw new IllegalStateException("The lock manager has been shut down; lock '" + request.lockName()
						+ "' was released");
			}
			return new Try(granted(request, handOver.fencingToken(), handOver.expiresAt(), handOver.sentAtNanos(),
					handOver.unconfirmedAfter()), null, null);
		}
		finally {
			inFlight.unlock();
		}
	}

	private Try tryOnceInFlight(Request request) {
		String lockName = request.lockName();
		LockSettings settings = request.settings();
		long deadline = request.deadline();
		long sentAt = System.nanoTime();
		Duration rowLockTimeout = Duration.ofNanos(Math.max(deadline - sentAt, MIN_ROW_LOCK_WAIT_NANOS));
		try {
			Acquisition acquisition = settings.waitTime().isZero()
					? this.store.tryAcquire(lockName, this.ownerId, settings.leaseTime(), rowLockTimeout)
					: this.store.tryAcquire(lockName, this.ownerId, settings.leaseTime(), rowLockTimeout,
							isHeldHere(lockName) ? Duration.ZERO : this.waitStrategy.waiterRegistration());
			if (acquisition.granted() != null) {
				Grant grant = acquisition.granted();
				DefaultLease lease = granted(request, grant.fencingToken(), grant.expiresAt(), sentAt, 0);
				holdsHere(lockName, lease.fencingToken(), lease.deadlineNanos(), 0, settings.leaseTime());
				return new Try(lease, null, null);
			}
			if (logger.isDebugEnabled()) {
				logger.debug("Lock '" + lockName + "' is busy");
			}
			return new Try(null, null,
					(acquisition.heldFor() != null) ? sentAt + acquisition.heldFor().toNanos() : null);
		}
		catch (LockStoreException ex) {
			if (StoreFailures.isRowLockTimeout(ex)) {
				logger.debug("Lock '" + lockName + "' is busy: its row stayed locked");
				return new Try(null, null, null);
			}
			if (StoreFailures.isTransient(ex)) {
				logger.debug("Lock '" + lockName + "' could not be tried", ex);
				return new Try(null, ex, null);
			}
			throw ex;
		}
	}

	private @Nullable DefaultLease heldByThread(Deque<Lease> stack, String lockName) {
		for (Lease lease : stack) {
			DefaultLease root = (lease instanceof ReentrantLease reentrant) ? reentrant.outer()
					: (lease instanceof DefaultLease defaultLease) ? defaultLease : null;
			if (root != null && root.manager() == this && root.lockName().equals(lockName)) {
				return root;
			}
		}
		return null;
	}

	private Lease reenter(DefaultLease outer, Deque<Lease> stack) {
		if (!outer.isValid()) {
			throw new LeaseLostException(outer.lockName(), outer.fencingToken(),
					"re-entered after " + outer.invalidReason());
		}
		ReentrantLease lease = new ReentrantLease(outer, stack);
		stack.addFirst(lease);
		return lease;
	}

	private DefaultLease granted(Request request, long fencingToken, Instant expiresAt, long sentAt,
			long unconfirmedAfter) {
		String lockName = request.lockName();
		LockSettings settings = request.settings();
		DefaultLease lease = new DefaultLease(this, request.tag(), lockName, fencingToken, expiresAt, sentAt,
				unconfirmedAfter, settings, request.stack());
		lease.observe(this.observations.startHold(request.tag(), lease, settings));
		this.held.add(lease);
		request.stack().addFirst(lease);
		if (unconfirmedAfter != 0 || settings.autoRenew()) {
			try {
				if (unconfirmedAfter != 0) {
					lease.startConfirming();
				}
				else {
					lease.startRenewing();
				}
			}
			catch (RejectedExecutionException ex) {
				lease.close();
				throw new IllegalStateException("The lock manager is shutting down; lock '" + lockName
						+ "' was released", ex);
			}
		}
		if (logger.isDebugEnabled()) {
			logger.debug("Acquired " + lease);
		}
		return lease;
	}

	/** Called once by a lease when it is closed. */
	void released(DefaultLease lease, boolean stillHeld) {
		this.held.remove(lease);
		if (stillHeld && !lease.awaitConfirmation()) {
			releaseUnconfirmed(lease);
			return;
		}
		if (stillHeld && lease.settings().minHoldTime().isZero() && handedOver(lease)) {
			return;
		}
		boolean lost = !stillHeld;
		// gone before the queue is read: a caller that saw the lock here is in it by then
		leftHere(lease.lockName(), lease.fencingToken());
		boolean waitersHere = this.waitStrategy.releasing(lease.lockName());
		try {
			boolean released = this.store.release(lease.lockName(), lease.fencingToken(),
					lease.settings().minHoldTime(), waitersHere);
			if (!released && stillHeld) {
				lost = true;
				leaseLost(lease, "it had expired or been taken over by another node when it was released");
			}
		}
		catch (LockStoreException ex) {
			logger.warn("Could not release lease on lock '" + lease.lockName() + "' (token " + lease.fencingToken()
					+ "); it stays taken until it expires at " + lease.expiresAt() + " by the database clock", ex);
		}
		finally {
			lease.endObservation(lost);
		}
	}

	/**
	 * Ends the lease by handing the lock over to a caller of this node, if the wait strategy
	 * names one: one statement, and the lock is never free in between. It is a grant, so it runs
	 * as an acquisition in flight: shutdown waits for it.
	 * @return whether the lease was ended so; if not, it still has to be released
	 */
	private boolean handedOver(DefaultLease lease) {
		Lock inFlight = this.acquisitions.readLock();
		if (!inFlight.tryLock()) {
			return false; // shutting down
		}
		try {
			WaitStrategy.Successor successor = this.shutDown ? null : this.waitStrategy.successor(lease.lockName());
			if (successor == null) {
				return false;
			}
			long sentAt = System.nanoTime();
			long successorToken = preparedSuccessorToken(lease, sentAt, localDeadline(sentAt, successor.leaseTime()));
			if (successorToken == 0) {
				handOver(lease, successor);
				return true;
			}
			if (handOverPrepared(lease, successor, successorToken, sentAt)) {
				return true;
			}
			successor.cancel();
			return false;
		}
		finally {
			inFlight.unlock();
		}
	}

	private void handOver(DefaultLease lease, WaitStrategy.Successor successor) {
		String lockName = lease.lockName();
		boolean lost = false;
		boolean taken = false;
		try {
			long sentAt = System.nanoTime();
			Optional<Succession> succession = this.store.handOver(lockName, lease.fencingToken(), this.ownerId,
					successor.leaseTime());
			if (succession.isEmpty()) {
				lost = true;
				leaseLost(lease, "it had expired or been taken over by another node when it was released");
			}
			else {
				Grant grant = succession.get().grant();
				boolean othersWaiting = succession.get().othersWaiting();
				lease.handedOver();
				holdsHere(lockName, grant.fencingToken(), localDeadline(sentAt, successor.leaseTime()), 0,
						successor.leaseTime());
				Unclaimed unclaimed = new Unclaimed(lockName, grant.fencingToken(), grant.fencingToken());
				// a shutdown begun meanwhile closed every lease it knew of: this one is nobody's
				if (!this.shutDown) {
					this.handedOverNotTaken.put(grant.fencingToken(), unclaimed);
					taken = successor.take(new WaitStrategy.HandOver(grant.fencingToken(), grant.expiresAt(), sentAt, 0),
							othersWaiting);
				}
				if (logger.isDebugEnabled()) {
					logger.debug("Handed lock '" + lockName + "' over from token " + lease.fencingToken() + " to "
							+ grant.fencingToken() + (taken ? "" : ", which nobody took"));
				}
				if (!taken) {
					this.handedOverNotTaken.remove(grant.fencingToken());
					releaseUnused(unclaimed, othersWaiting);
				}
			}
		}
		catch (LockStoreException ex) {
			releaseIfNotHandedOver(lease, successor, ex);
		}
		finally {
			if (!taken) {
				successor.cancel();
			}
			lease.endObservation(lost);
		}
	}

	/**
	 * The token drawn for the lease's successor, if the lock may pass to it at once: the successor's
	 * lease lasts no longer than this one until its confirmation lands, which is allowed only while
	 * that leaves it at least {@value #MIN_INHERITED_VALIDITY_PERCENT}% of its own lease; otherwise
	 * a hand-over statement grants it a full lease with a fresh token.
	 * @return the token, or 0 for none
	 */
	private long preparedSuccessorToken(DefaultLease lease, long sentAt, long ownDeadline) {
		HeldHere here = this.heldHere.get(lease.lockName());
		if (here == null || here.fencingToken() != lease.fencingToken() || !here.drawn()) {
			return 0;
		}
		long inherited = lease.deadlineNanos() - sentAt;
		long own = ownDeadline - sentAt;
		return (inherited >= own / 100 * MIN_INHERITED_VALIDITY_PERCENT) ? here.successorToken() : 0;
	}

	/**
	 * Passes the lock to the successor with the token drawn for it, with no statement: the row
	 * names that token as the lease's successor already, durably. Until the successor's
	 * confirmation lands, the row names this lease, so the successor's lease lasts no longer than
	 * this one, nor than its own.
	 * @return whether the successor took it; if not, nothing was written and the lease is still
	 * this node's to release
	 */
	private boolean handOverPrepared(DefaultLease lease, WaitStrategy.Successor successor, long successorToken,
			long sentAt) {
		String lockName = lease.lockName();
		long ownDeadline = localDeadline(sentAt, successor.leaseTime());
		long deadline = (lease.deadlineNanos() - ownDeadline < 0) ? lease.deadlineNanos() : ownDeadline;
		// its confirmation draws the token of its own successor
		this.heldHere.put(lockName, new HeldHere(successorToken, deadline, DRAWING, successor.leaseTime()));
		boolean taken = false;
		if (!this.shutDown) {
			this.handedOverNotTaken.put(successorToken, new Unclaimed(lockName, successorToken, lease.fencingToken()));
			// the lease time counts from when the lease must end less the lease time
			taken = successor.take(new WaitStrategy.HandOver(successorToken, lease.expiresAt(),
					sentAt - (ownDeadline - deadline), lease.fencingToken()), false);
		}
		if (!taken) {
			this.handedOverNotTaken.remove(successorToken);
			leftHere(lockName, successorToken);
			return false;
		}
		lease.handedOver();
		lease.endObservation(false);
		if (logger.isDebugEnabled()) {
			logger.debug("Handed lock '" + lockName + "' over from token " + lease.fencingToken() + " to "
					+ successorToken + ", to be confirmed");
		}
		return true;
	}

	/**
	 * Called when a lease's hand-over was confirmed: the row names it, with the token of its own
	 * successor drawn.
	 */
	void confirmed(DefaultLease lease, Confirmation confirmation) {
		this.heldHere.computeIfPresent(lease.lockName(), (name, here) -> (here.fencingToken() == lease.fencingToken())
				? new HeldHere(lease.fencingToken(), lease.deadlineNanos(), confirmation.successorToken(),
						lease.settings().leaseTime()) : here);
		if (confirmation.othersWaiting()) {
			this.waitStrategy.othersWaiting(lease.lockName());
		}
	}

	/**
	 * Ends a lease whose hand-over was not confirmed: found lost, or its confirmation failed. A
	 * release ends it if the confirmation committed all the same; if not, the row names the lease
	 * it followed, which expires by itself.
	 */
	private void releaseUnconfirmed(DefaultLease lease) {
		String lockName = lease.lockName();
		leftHere(lockName, lease.fencingToken());
		boolean released = false;
		try {
			released = this.store.release(lockName, lease.fencingToken(), lease.settings().minHoldTime(),
					this.waitStrategy.releasing(lockName));
		}
		catch (LockStoreException ex) {
			logger.debug("Could not release lease on lock '" + lockName + "' (token " + lease.fencingToken() + ")", ex);
		}
		if (!released && !lease.isLost()) {
			logger.warn("Could not confirm the hand-over of lock '" + lockName + "' to token " + lease.fencingToken()
					+ "; the lock stays taken until the lease it followed expires at " + lease.expiresAt()
					+ " by the database clock");
		}
		lease.endObservation(!released);
	}

	/**
	 * Draws, in the background and once per lease, the token that this node's lease on the lock
	 * will hand over with to the next caller of this node: the draw's durable commit then runs
	 * while the holder works, not between two holders.
	 */
	private void drawSuccessorToken(String lockName) {
		HeldHere[] claimed = new HeldHere[1];
		this.heldHere.computeIfPresent(lockName, (name, here) -> {
			if (here.successorToken() != 0) {
				return here; // drawing, drawn, or failed for this lease
			}
			claimed[0] = here.withSuccessorToken(DRAWING);
			return claimed[0];
		});
		if (claimed[0] == null) {
			return;
		}
		long fencingToken = claimed[0].fencingToken();
		Duration leaseTime = claimed[0].leaseTime();
		try {
			this.renewer.runSoon(() -> drawSuccessorToken(lockName, fencingToken, leaseTime));
		}
		catch (RejectedExecutionException ex) {
			// shutting down: no hand-over will need it
		}
	}

	private void drawSuccessorToken(String lockName, long fencingToken, Duration leaseTime) {
		long drawn = NOT_DRAWN;
		try {
			drawn = this.store.drawSuccessorToken(lockName, fencingToken, leaseTime).orElse(NOT_DRAWN);
		}
		catch (RuntimeException ex) {
			logger.debug("Could not draw the successor token of lock '" + lockName + "' (token " + fencingToken
					+ "); its hand-over will draw one", ex);
		}
		long successorToken = drawn;
		this.heldHere.computeIfPresent(lockName, (name, here) -> (here.fencingToken() == fencingToken)
				? here.withSuccessorToken(successorToken) : here);
	}

	/**
	 * Releases a grant nobody took; it notifies if this node has waiters or the hand-over took
	 * other callers' registration over.
	 */
	private void releaseUnused(Unclaimed unclaimed, boolean othersWaiting) {
		String lockName = unclaimed.lockName();
		leftHere(lockName, unclaimed.fencingToken());
		try {
			boolean mustNotify = this.waitStrategy.releasing(lockName) || othersWaiting;
			this.store.release(lockName, unclaimed.rowToken(), Duration.ZERO, mustNotify);
		}
		catch (LockStoreException ex) {
			logger.warn("Could not release unused grant of lock '" + lockName + "' (token " + unclaimed.rowToken()
					+ "); it stays taken until it expires", ex);
		}
	}

	/**
	 * A hand-over failed. If the lock's row still names the releasing token, the statement did
	 * not commit and the lease is released the usual way; otherwise a grant it may have made to
	 * this node, whose token nobody learnt, expires by itself.
	 */
	private void releaseIfNotHandedOver(DefaultLease lease, WaitStrategy.Successor successor,
			LockStoreException failure) {
		String lockName = lease.lockName();
		leftHere(lockName, lease.fencingToken());
		try {
			boolean stillHeld = this.store.find(lockName)
				.map((row) -> row.fencingToken() == lease.fencingToken() && row.isHeld())
				.orElse(false);
			if (stillHeld) {
				logger.warn("Could not hand over lease on lock '" + lockName + "' (token " + lease.fencingToken()
						+ "); releasing it instead", failure);
				this.store.release(lockName, lease.fencingToken(), Duration.ZERO,
						this.waitStrategy.releasing(lockName));
				return;
			}
		}
		catch (LockStoreException ex) {
			failure.addSuppressed(ex);
		}
		logger.warn("Could not hand over lease on lock '" + lockName + "' (token " + lease.fencingToken()
				+ "); the lock stays taken until its lease expires: a grant the hand-over may have made lasts at most "
				+ successor.leaseTime() + " from now by the database clock", failure);
	}

	/** Called when a renewal moved the lease's local deadline. */
	void renewed(DefaultLease lease) {
		this.heldHere.computeIfPresent(lease.lockName(), (name, here) -> (here.fencingToken() == lease.fencingToken())
				? here.withDeadline(lease.deadlineNanos()) : here);
	}

	/**
	 * Ends a closed lease once more, after a renewal that landed after its release; like any
	 * release, it notifies if callers of this node wait.
	 */
	void releaseAgain(DefaultLease lease) {
		if (lease.wasHandedOver()) {
			// The row names the successor's token, or, until a prepared hand-over is confirmed,
			// still this one: releasing it would free the lock under the successor.
			return;
		}
		this.store.release(lease.lockName(), lease.fencingToken(), lease.settings().minHoldTime(),
				this.waitStrategy.releasing(lease.lockName()));
	}

	/** Called when a lease is found lost: logged and counted. */
	void leaseLost(DefaultLease lease, String reason) {
		leftHere(lease.lockName(), lease.fencingToken());
		this.leasesLost.incrementAndGet();
		this.metrics.leaseLost(lease.tag());
		logger.warn("Lost lease on lock '" + lease.lockName() + "' (token " + lease.fencingToken() + "): " + reason
				+ ". Work done under it may have overlapped with another holder; the integrity of data it"
				+ " protects may be compromised unless writes were fenced with the token");
	}

	/** Whether this node holds the lock, as far as its leases' local deadlines tell. */
	private boolean isHeldHere(String lockName) {
		HeldHere here = this.heldHere.get(lockName);
		return here != null && System.nanoTime() - here.deadlineNanos() < 0;
	}

	private void holdsHere(String lockName, long fencingToken, long deadlineNanos, long successorToken,
			Duration leaseTime) {
		this.heldHere.put(lockName, new HeldHere(fencingToken, deadlineNanos, successorToken, leaseTime));
	}

	private void leftHere(String lockName, long fencingToken) {
		this.heldHere.computeIfPresent(lockName, (name, here) -> (here.fencingToken() == fencingToken) ? null : here);
	}

	long localDeadline(long sentAtNanos, Duration leaseTime) {
		long margin = Math.min(this.localExpiryMargin.toNanos(), leaseTime.toNanos() / 2);
		return sentAtNanos + leaseTime.toNanos() - margin;
	}

	LeaseStore store() {
		return this.store;
	}

	LeaseRenewer renewer() {
		return this.renewer;
	}

	/**
	 * The distinct leases of this manager that the current thread holds with
	 * {@link Purpose#CORRECTNESS}, innermost first: those a commit guard must check.
	 */
	public List<Lease> correctnessLeasesOfCurrentThread() {
		List<Lease> leases = new ArrayList<>();
		for (Lease lease : ThreadLeases.currentStack()) {
			DefaultLease root = (lease instanceof ReentrantLease reentrant) ? reentrant.outer()
					: (lease instanceof DefaultLease defaultLease) ? defaultLease : null;
			if (root != null && root.manager() == this && root.settings().purpose() == Purpose.CORRECTNESS
					&& !leases.contains(root)) {
				leases.add(root);
			}
		}
		return leases;
	}

	/**
	 * Waits until the lease's row names it: a lease passed on in a prepared hand-over is named
	 * there once its confirmation, sent when it was taken, has landed. Returns at once for any
	 * other lease, and after the confirmation's first attempt, whatever its outcome.
	 */
	public void awaitConfirmation(Lease lease) {
		if (lease instanceof DefaultLease defaultLease) {
			defaultLease.awaitConfirmation();
		}
	}

	/** Who this node is in the lease table. */
	public String ownerId() {
		return this.ownerId;
	}

	/** How many leases this node has found lost since it started. */
	public long leasesLost() {
		return this.leasesLost.get();
	}

	/**
	 * Whether this node has prepared the hand-over of its lease on the lock
	 * ({@link #setPrepareHandOvers}): its successor's token is drawn.
	 */
	public boolean hasSuccessorToken(String lockName) {
		HeldHere here = this.heldHere.get(lockName);
		return here != null && here.drawn();
	}

	/** How many callers of this node wait for a lock now. */
	public int waiterCount() {
		return this.waiting.get();
	}

	LockMetrics metrics() {
		return this.metrics;
	}

	LockObservations observations() {
		return this.observations;
	}

	/** The names of the locks this node holds now, sorted. */
	public List<String> heldLockNames() {
		return this.held.stream().map(DefaultLease::lockName).sorted().toList();
	}

	/** How many leases this node holds now. */
	public int heldLeaseCount() {
		return this.held.size();
	}

	private String describeHolder(String lockName) {
		try {
			return this.store.find(lockName).map(LeaseRow::describe).orElse("the lock has no lease row");
		}
		catch (LockStoreException ex) {
			return "its holder could not be read: " + ex.getMessage();
		}
	}

	/**
	 * Releases every lease this node still holds, after letting acquisitions already sent to the
	 * database finish, so that none of their grants is left behind: hand-overs included, whose
	 * successors may not have taken their grant yet.
	 */
	@Override
	public void destroy() throws InterruptedException {
		this.shutDown = true;
		Lock noneInFlight = this.acquisitions.writeLock();
		boolean locked = noneInFlight.tryLock(SHUTDOWN_GRACE.toSeconds(), TimeUnit.SECONDS);
		try {
			if (!locked) {
				logger.warn("Acquisitions still running after " + SHUTDOWN_GRACE + "; their leases expire by themselves");
			}
			for (DefaultLease lease : this.held) {
				lease.close();
			}
			this.handedOverNotTaken.values().forEach((unclaimed) -> releaseUnused(unclaimed, false));
			this.handedOverNotTaken.clear();
		}
		finally {
			if (locked) {
				noneInFlight.unlock();
			}
		}
	}

	/**
	 * A lock this node holds: the token of its lease, the lease's local deadline, and the token
	 * drawn for its successor: 0 before the draw, {@link #DRAWING} or {@link #NOT_DRAWN} instead.
	 */
	private record HeldHere(long fencingToken, long deadlineNanos, long successorToken, Duration leaseTime) {

		HeldHere withSuccessorToken(long successorToken) {
			return new HeldHere(this.fencingToken, this.deadlineNanos, successorToken, this.leaseTime);
		}

		HeldHere withDeadline(long deadlineNanos) {
			return new HeldHere(this.fencingToken, deadlineNanos, this.successorToken, this.leaseTime);
		}

		/** Whether the successor's token has been drawn. */
		boolean drawn() {
			return this.successorToken > 0;
		}

	}

	/**
	 * A lease handed over to a caller that has not taken it yet.
	 * @param fencingToken the lease's token
	 * @param rowToken the token the lock's row names: the lease's own, or, for a prepared
	 * hand-over, that of the lease it followed
	 */
	private record Unclaimed(String lockName, long fencingToken, long rowToken) {

	}

	/** One caller's acquisition. */
	private record Request(String tag, String lockName, LockSettings settings, Deque<Lease> stack, long deadline) {

	}

	private record Attempt(Optional<Lease> lease, Duration waited) {

	}

	/**
	 * The outcome of one statement; a transient failure is thrown if it is the last word. A busy
	 * answer may tell when the holder's lease runs out, on this JVM's nanoTime clock.
	 */
	private record Try(@Nullable Lease lease, @Nullable LockStoreException failure,
			@Nullable Long holderExpiresAtNanos) {

		Attempt result(long start) {
			if (this.lease == null && this.failure != null) {
				throw this.failure;
			}
			return new Attempt(Optional.ofNullable(this.lease), Duration.ofNanos(System.nanoTime() - start));
		}

	}

}
