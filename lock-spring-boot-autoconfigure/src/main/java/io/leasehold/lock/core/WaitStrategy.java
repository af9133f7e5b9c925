package io.leasehold.lock.core;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;


/**
 * How callers wait between attempts on a busy lock. Implementations must not hold a database
 * connection while a caller waits.
 */
public interface WaitStrategy {

	/**
	 * Starts waiting for the lock; the caller tries again each time {@link Waiter#await} returns
	 * (unless the lock was handed over to it) and closes the waiter when it acquired the lock or
	 * gave up.
	 * @param leaseTime the lease time the caller asks for, should the lock be handed over to it
	 */
	Waiter join(String lockName, Duration leaseTime);

	/**
	 * How long a caller that found the lock busy registers, in the lock's row, that it waits,
	 * so that the holder's release notifies; zero when waiters learn of releases otherwise.
	 */
	default Duration waiterRegistration() {
		return Duration.ZERO;
	}

	/**
	 * Tells the strategy that this node is about to release the lock, before the release is
	 * sent.
	 * @return whether the release must notify even if no waiter is registered in the lock's row:
	 * callers of this node wait for it (a caller queued behind another of its node has not tried
	 * the lock yet), or a hand-over took other callers' registration over
	 */
	default boolean releasing(String lockName) {
		return false;
	}

	/**
	 * The caller of this node that this node's lease on the lock should pass to directly when it
	 * ends, if any: the strategy decides whether a hand-over is fair to other nodes' callers. The
	 * releasing node must then {@linkplain Successor#take offer} it the grant or
	 * {@linkplain Successor#cancel cancel}.
	 */
	default @Nullable Successor successor(String lockName) {
		return null;
	}

	/**
	 * Tells the strategy that callers of other nodes registered in the lock's row that they wait,
	 * and that this node, which holds the lock, took the registration over: it owes them the
	 * notification of the release that frees the lock.
	 */
	default void othersWaiting(String lockName) {
	}

	/**
	 * A waiting caller promised the lock by its releasing holder.
	 */
	interface Successor {

		/** The lease time the successor asked for. */
		Duration leaseTime();

		/**
		 * Passes the lease to the successor.
		 * @param othersWaiting whether the hand-over took a registration of waiting callers over
		 * @return whether the successor took it; if not (it gave up meanwhile), the lease is the
		 * caller's to release
		 */
		boolean take(HandOver handOver, boolean othersWaiting);

		/** Withdraws the promise, and lets the successor try the lock itself at once. */
		void cancel();

	}

	/**
	 * A lease passed on to a waiting caller by the holder's release.
	 * @param fencingToken the successor's token
	 * @param expiresAt when the successor's lease expires by the database clock, as far as the
	 * node knows
	 * @param sentAtNanos {@code System.nanoTime()} from which the successor's lease time counts:
	 * taken before its grant was sent
	 * @param unconfirmedAfter for a prepared hand-over, the token of the lease it followed, which
	 * the lock's row still names until the hand-over is confirmed; 0 when the row names the
	 * successor's token
	 */
	record HandOver(long fencingToken, Instant expiresAt, long sentAtNanos, long unconfirmedAfter) {

	}

	/**
	 * One caller waiting for one lock.
	 */
	interface Waiter extends AutoCloseable {

		/**
		 * Whether the caller may try the lock before it first waits: no caller of this node was
		 * waiting for it already, so trying would not jump the queue.
		 */
		default boolean firstInLine() {
			return true;
		}

		/**
		 * Blocks until the lock may have become free, or at most {@code remaining}.
		 * @param remaining how much of the caller's wait time is left; positive
		 * @throws InterruptedException when the waiting thread is interrupted
		 */
		void await(Duration remaining) throws InterruptedException;

		/**
		 * The grant handed over to the caller while it waited, once: when {@link #await} returns
		 * with one, the caller holds the lock and must not try again.
		 */
		default @Nullable HandOver takeHandOver() {
			return null;
		}

		/**
		 * Tells the waiter when the holder's lease runs out unless it is renewed, as the last
		 * attempt learned it, so it need not sleep past that moment.
		 * @param expiresAtNanos the expiry on this JVM's {@code System.nanoTime()} clock
		 */
		default void holderExpiresAt(long expiresAtNanos) {
		}

		/**
		 * Tells the waiter, before it is closed, that the caller got the lock, with the lease's
		 * deadline on this JVM's {@code System.nanoTime()} clock: the next caller in line need
		 * not sleep past it.
		 */
		default void acquired(long leaseDeadlineNanos) {
		}

		/**
		 * Whether other callers of this node wait for the lock behind this one: the node's lease
		 * will likely be handed over.
		 */
		default boolean othersQueued() {
			return false;
		}

		@Override
		void close();

	}

}
