package io.leasehold.lock.notify;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.jspecify.annotations.Nullable;

import io.leasehold.lock.core.PollingWaitStrategy;
import io.leasehold.lock.core.WaitStrategy;

/**
 * Waiters woken by release notifications instead of polling. The waiters of one node queue per
 * lock in arrival order, and only the head of a queue tries the lock: woken by a release, or by
 * a safety poll (at a jittered interval, since a release can go unnoticed: an expired lease sends
 * none, and nothing is delivered while the listener is disconnected). So one release costs this
 * node at most one acquire attempt, and idle waiting costs one statement per safety interval and
 * lock, whatever the number of waiters. While the listener is disconnected, heads poll with the
 * fallback's backoff instead.
 * <p>
 * A holder whose node has waiters for the lock hands it over to the head of the queue in its
 * release statement, which saves the notification's trip and the head's own statement. While
 * other nodes' callers wait too (a hand-over found one registered in the lock's row, or a woken
 * head of this node lost a race to one lately), a node hands a lock over once to each caller
 * that was queued at its first hand-over, and at most {@value #MAX_HAND_OVERS_IN_A_ROW} times
 * in a row; then it releases the lock, notifies, and its own head lets the other nodes try first.
 * <p>
 * One instance serves one lock manager: its queues are keyed by lock name alone.
 */
public class NotifiedWaitStrategy implements WaitStrategy, ReleaseEvents {

	/** How long the node that released a contended lock lets other nodes try first. */
	private static final long COURTESY_NANOS = TimeUnit.MICROSECONDS.toNanos(1000);

	/** How long a lost race marks a lock as contended by other nodes. */
	private static final long CONTENTION_MEMORY_NANOS = TimeUnit.SECONDS.toNanos(2);

	/** How many times in a row a node keeps a lock that other nodes' callers wait for. */
	static final int MAX_HAND_OVERS_IN_A_ROW = 4;

	private final Map<String, LockQueue> queues = new ConcurrentHashMap<>();

	private final long safetyPollNanos;

	private final PollingWaitStrategy fallback;

	private volatile boolean listening;

	public NotifiedWaitStrategy(Duration safetyPollInterval, PollingWaitStrategy fallback) {
		if (safetyPollInterval.isNegative() || safetyPollInterval.isZero()) {
			throw new IllegalArgumentException("The safety poll interval must be positive, but was " + safetyPollInterval);
		}
		this.safetyPollNanos = safetyPollInterval.toNanos();
		this.fallback = fallback;
	}

	/**
	 * Four safety-poll intervals: the store renews a registration with less than two thirds of
	 * it left, and the head of a queue tries at least once per 1.25 intervals, or 2.5 when it
	 * leaves without trying and the next caller becomes the head, so a registration never lapses
	 * while anyone waits.
	 */
	@Override
	public Duration waiterRegistration() {
		return Duration.ofNanos(4 * this.safetyPollNanos);
	}

	@Override
	public Waiter join(String lockName, Duration leaseTime) {
		QueuedWaiter[] joined = new QueuedWaiter[1];
		this.queues.compute(lockName, (name, queue) -> {
			LockQueue target = (queue != null) ? queue : new LockQueue();
			joined[0] = target.add(name, leaseTime);
			return target;
		});
		return joined[0];
	}

	@Override
	public @Nullable Successor successor(String lockName) {
		LockQueue queue = this.queues.get(lockName);
		return (queue != null) ? queue.promiseToHead() : null;
	}

	@Override
	public void othersWaiting(String lockName) {
		// kept until the release, which owes them its notification
		this.queues.compute(lockName, (name, queue) -> {
			LockQueue target = (queue != null) ? queue : new LockQueue();
			target.othersWait();
			return target;
		});
	}

	@Override
	public void listening() {
		this.listening = true;
		this.queues.values().forEach(LockQueue::wakeHead);
	}

	@Override
	public boolean releasing(String lockName) {
		boolean[] mustNotify = new boolean[1];
		// a queue kept only to remember other nodes' waiters goes once the release is sent
		this.queues.computeIfPresent(lockName, (name, queue) -> {
			mustNotify[0] = queue.releasing();
			return queue.waiters.isEmpty() ? null : queue;
		});
		return mustNotify[0];
	}

	@Override
	public void released(String lockName) {
		LockQueue queue = this.queues.get(lockName);
		if (queue != null) {
			queue.wakeHead();
		}
	}

	@Override
	public void disconnected() {
		this.listening = false;
		this.queues.values().forEach(LockQueue::wakeHead);
	}

	/** Whether releases are being delivered. */
	public boolean isListening() {
		return this.listening;
	}

	private void leave(String lockName, QueuedWaiter waiter) {
		this.queues.computeIfPresent(lockName, (name, queue) -> queue.remove(waiter) ? null : queue);
	}

	private long nextPollNanos(int retries) {
		if (!this.listening) {
			return this.fallback.pauseNanos(retries);
		}
		long jitter = this.safetyPollNanos / 4;
		return this.safetyPollNanos + ThreadLocalRandom.current().nextLong(-jitter, jitter + 1);
	}

	/**
	 * One lock's waiters on this node, in arrival order.
	 */
	private final class LockQueue {

		private final ReentrantLock lock = new ReentrantLock();

		private final ArrayDeque<QueuedWaiter> waiters = new ArrayDeque<>();

		/** Until when this node's waiters lost races to other nodes' (nanoTime); 0 when they did not. */
		private long contendedUntil;

		/** Whether the next release of this lock is this node's own. */
		private boolean releasingHere;

		/** How many times this node handed the lock over since it last released it. */
		private int handOversInARow;

		/** How many hand-overs in a row are fair while other nodes wait: one per caller queued at the first. */
		private int fairHandOvers;

		/**
		 * Whether a hand-over since the last release took over other callers' registration: the
		 * release owes them its notification, and the queue is kept until then.
		 */
		private boolean othersWaiting;

		/** Whether this node's head lets other nodes try first after the release under way. */
		private boolean courtesyDue;

		QueuedWaiter add(String lockName, Duration leaseTime) {
			this.lock.lock();
			try {
				QueuedWaiter waiter = new QueuedWaiter(lockName, leaseTime, this, this.lock.newCondition(),
						this.waiters.isEmpty());
				this.waiters.addLast(waiter);
				return waiter;
			}
			finally {
				this.lock.unlock();
			}
		}

		/** @return whether the queue can go: no waiter, and no notification owed */
		boolean remove(QueuedWaiter waiter) {
			this.lock.lock();
			try {
				boolean wasHead = this.waiters.peekFirst() == waiter;
				this.waiters.remove(waiter);
				QueuedWaiter next = this.waiters.peekFirst();
				if (wasHead && next != null) {
					// The new head starts its safety timer, inherits a wake-up this one did not use,
					// and, if this one got the lock, tries again when that lease would run out.
					next.woken |= waiter.woken;
					if (waiter.acquired) {
						next.hintExpiry(waiter.leaseDeadline);
					}
					next.condition.signal();
				}
				return this.waiters.isEmpty() && !this.othersWaiting;
			}
			finally {
				this.lock.unlock();
			}
		}

		void othersWait() {
			this.lock.lock();
			try {
				this.othersWaiting = true;
			}
			finally {
				this.lock.unlock();
			}
		}

		/** @return whether the release must notify: this node's callers wait, or others' registration was taken over */
		boolean releasing() {
			this.lock.lock();
			try {
				boolean mustNotify = !this.waiters.isEmpty() || this.othersWaiting;
				this.releasingHere = true;
				this.courtesyDue = this.othersWaiting || this.contendedUntil - System.nanoTime() > 0;
				this.handOversInARow = 0;
				this.othersWaiting = false;
				return mustNotify;
			}
			finally {
				this.lock.unlock();
			}
		}

		/**
		 * The head, if it sleeps and handing it the lock is fair to other nodes' waiters: promised
		 * the lock, it waits for the hand-over rather than try.
		 */
		@Nullable QueuedWaiter promiseToHead() {
			this.lock.lock();
			try {
				QueuedWaiter head = this.waiters.peekFirst();
				if (head == null || !head.parked || head.promised || head.handOver != null) {
					return null;
				}
				if (this.handOversInARow == 0) {
					this.fairHandOvers = Math.min(this.waiters.size(), MAX_HAND_OVERS_IN_A_ROW);
				}
				boolean othersWait = this.othersWaiting || this.contendedUntil - System.nanoTime() > 0;
				if (othersWait && this.handOversInARow >= this.fairHandOvers) {
					return null;
				}
				this.handOversInARow++;
				head.promised = true;
				return head;
			}
			finally {
				this.lock.unlock();
			}
		}

		void wakeHead() {
			this.lock.lock();
			try {
				QueuedWaiter head = this.waiters.peekFirst();
				if (head != null) {
					if (this.releasingHere && this.courtesyDue) {
						// Other nodes wait too: give their first waiter the head start this node's
						// had, since its release reached this node first.
						head.notBefore = System.nanoTime() + COURTESY_NANOS;
					}
					head.woken = true;
					head.condition.signal();
				}
				this.releasingHere = false;
			}
			finally {
				this.lock.unlock();
			}
		}

	}

	/**
	 * A caller in a lock's queue. Guarded by its queue's lock.
	 */
	private final class QueuedWaiter implements Waiter, Successor {

		private final String lockName;

		private final Duration leaseTime;

		private final LockQueue queue;

		private final Condition condition;

		private boolean woken;

		/** Whether the last return from {@link #await} followed a wake-up. */
		private boolean wokenAttempt;

		/** A woken head waits until then before it tries (nanoTime). */
		private long notBefore;

		private long pollAt;

		private boolean pollScheduled;

		private int retries;

		private boolean closed;

		private final boolean firstInLine;

		private boolean acquired;

		private long leaseDeadline;

		/** Whether it sleeps in {@link #await}, so a hand-over reaches it. */
		private boolean parked;

		/** Whether a releasing holder of this node is handing the lock over to it. */
		private boolean promised;

		private @Nullable HandOver handOver;

		QueuedWaiter(String lockName, Duration leaseTime, LockQueue queue, Condition condition, boolean firstInLine) {
			this.lockName = lockName;
			this.leaseTime = leaseTime;
			this.queue = queue;
			this.condition = condition;
			this.firstInLine = firstInLine;
		}

		@Override
		public boolean firstInLine() {
			return this.firstInLine;
		}

		@Override
		public void acquired(long leaseDeadlineNanos) {
			this.queue.lock.lock();
			try {
				this.acquired = true;
				this.leaseDeadline = leaseDeadlineNanos;
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		@Override
		public boolean othersQueued() {
			this.queue.lock.lock();
			try {
				return this.queue.waiters.size() > (this.queue.waiters.contains(this) ? 1 : 0);
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		@Override
		public void await(Duration remaining) throws InterruptedException {
			long deadline = System.nanoTime() + remaining.toNanos();
			this.queue.lock.lock();
			try {
				while (this.handOver == null) {
					long now = System.nanoTime();
					boolean head = this.queue.waiters.peekFirst() == this;
					if (this.promised && now - deadline < 0) {
						park(deadline - now);
						continue;
					}
					if (head && this.woken) {
						if (this.notBefore - now > 0) {
							park(this.notBefore - now);
							continue;
						}
						this.woken = false;
						this.wokenAttempt = true;
						this.pollScheduled = false;
						return;
					}
					this.wokenAttempt = false;
					if (now - deadline >= 0) {
						return;
					}
					if (!head) {
						park(deadline - now);
						continue;
					}
					if (!this.pollScheduled) {
						schedulePoll(now);
					}
					if (now - this.pollAt >= 0) {
						this.pollScheduled = false;
						return;
					}
					park(Math.min(this.pollAt - now, deadline - now));
				}
				this.wokenAttempt = false;
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		/** Sleeps, reachable by a hand-over; a hand-over that came with an interrupt wins. */
		private void park(long nanos) throws InterruptedException {
			this.parked = true;
			try {
				this.condition.awaitNanos(nanos);
			}
			catch (InterruptedException ex) {
				if (this.handOver == null) {
					throw ex;
				}
				Thread.currentThread().interrupt();
			}
			finally {
				this.parked = false;
			}
		}

		@Override
		public @Nullable HandOver takeHandOver() {
			this.queue.lock.lock();
			try {
				HandOver taken = this.handOver;
				this.handOver = null;
				return taken;
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		@Override
		public Duration leaseTime() {
			return this.leaseTime;
		}

		@Override
		public boolean take(HandOver handOver, boolean othersWaiting) {
			this.queue.lock.lock();
			try {
				this.queue.othersWaiting |= othersWaiting;
				this.promised = false;
				if (!this.parked) {
					return false;
				}
				// The lock never became free, so no wake-up since the promise can be for this lock.
				this.woken = false;
				this.handOver = handOver;
				this.condition.signal();
				return true;
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		@Override
		public void cancel() {
			this.queue.lock.lock();
			try {
				this.promised = false;
				this.woken = true;
				this.condition.signal();
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		private void schedulePoll(long now) {
			this.pollAt = now + nextPollNanos(++this.retries);
			this.pollScheduled = true;
		}

		/** The head tries again when the holder's lease runs out, if that comes before its next poll. */
		@Override
		public void holderExpiresAt(long expiresAtNanos) {
			this.queue.lock.lock();
			try {
				hintExpiry(expiresAtNanos);
			}
			finally {
				this.queue.lock.unlock();
			}
		}

		/** Guarded by the queue's lock. */
		private void hintExpiry(long expiresAtNanos) {
			if (this.wokenAttempt) {
				// Woken by a release and still refused: another node's waiter got there first.
				this.queue.contendedUntil = System.nanoTime() + CONTENTION_MEMORY_NANOS;
				this.wokenAttempt = false;
			}
			if (!this.pollScheduled) {
				schedulePoll(System.nanoTime());
			}
			if (expiresAtNanos - this.pollAt < 0) {
				this.pollAt = expiresAtNanos;
			}
		}

		@Override
		public void close() {
			if (!this.closed) {
				this.closed = true;
				leave(this.lockName, this);
			}
		}

	}

}
