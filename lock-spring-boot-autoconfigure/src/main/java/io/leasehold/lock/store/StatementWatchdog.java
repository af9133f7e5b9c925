package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.postgresql.core.BaseConnection;

/**
 * Asks the server to cancel lease statements that have run longer than a fixed delay, as a JDBC
 * query timeout would, but without its costs and its trap:
 * <ul>
 * <li>pgjdbc schedules a timer task per execution for a query timeout, which wakes its timer
 * thread twice per statement and cost 20-30 us of each 200 us lease statement on a 2-core
 * machine. Here every statement is given the same delay, so deadlines arrive in the order
 * statements start and a FIFO queue is enough; registering never wakes the watchdog: it sleeps
 * until the oldest deadline or, with nothing in flight, for one whole delay, so whatever starts
 * while it sleeps is due only after it wakes.</li>
 * <li>pgjdbc's cancel of a statement makes the executing thread wait until the cancel request
 * has been answered, which a frozen server never does: a lease call would hang past its network
 * timeout. Here the request is sent from a thread of its own, and the executing thread returns
 * when its network timeout fires. A connection whose cancel request is still unanswered when the
 * statement ends is not reused, so the request cannot cancel a later statement.</li>
 * </ul>
 */
final class StatementWatchdog implements AutoCloseable {

	private static final Log logger = LogFactory.getLog(StatementWatchdog.class);

	/** How long a statement that ended waits for its cancel request to be answered. */
	private static final Duration CANCEL_ANSWER_WAIT = Duration.ofSeconds(1);

	private final long delayNanos;

	private final ConcurrentLinkedQueue<Watch> inFlight = new ConcurrentLinkedQueue<>();

	private final Thread thread;

	private volatile boolean closed;

	StatementWatchdog(Duration delay) {
		this.delayNanos = delay.toNanos();
		this.thread = new Thread(this::run, "leasehold-statement-watchdog");
		this.thread.setDaemon(true);
		this.thread.start();
	}

	/** Starts watching the statement about to execute on the connection; finish the watch once it returned. */
	Watch watch(Connection connection) {
		Watch watch = new Watch(connection, System.nanoTime() + this.delayNanos);
		dropFinished();
		this.inFlight.add(watch);
		return watch;
	}

	/** Forgets statements that have returned, so a busy node does not queue up a whole delay's worth. */
	private void dropFinished() {
		Watch oldest;
		while ((oldest = this.inFlight.peek()) != null && oldest.isFinished()) {
			this.inFlight.remove(oldest);
		}
	}

	private void run() {
		while (!this.closed) {
			try {
				watchOldest();
			}
			catch (RuntimeException | Error ex) {
				// Say so, and go on: without this thread no statement would be cancelled.
				logger.error("Statement watchdog failed; it goes on watching", ex);
				LockSupport.parkNanos(this, TimeUnit.SECONDS.toNanos(1));
			}
		}
	}

	/** Cancels the oldest statement if it is overdue, or sleeps until it is. */
	private void watchOldest() {
		Watch oldest = this.inFlight.peek();
		if (oldest == null) {
			LockSupport.parkNanos(this, this.delayNanos);
			return;
		}
		long remaining = oldest.deadlineNanos - System.nanoTime();
		if (oldest.isFinished()) {
			this.inFlight.remove(oldest);
		}
		else if (remaining <= 0) {
			this.inFlight.remove(oldest);
			oldest.cancel();
		}
		else {
			LockSupport.parkNanos(this, remaining);
		}
	}

	@Override
	public void close() {
		this.closed = true;
		LockSupport.unpark(this.thread);
	}

	/** One statement being watched. */
	static final class Watch {

		private static final int RUNNING = 0;

		private static final int CANCELLING = 1;

		private static final int FINISHED = 2;

		private final Connection connection;

		private final long deadlineNanos;

		private final AtomicInteger state = new AtomicInteger(RUNNING);

		private final CountDownLatch cancelAnswered = new CountDownLatch(1);

		private Watch(Connection connection, long deadlineNanos) {
			this.connection = connection;
			this.deadlineNanos = deadlineNanos;
		}

		boolean isFinished() {
			return this.state.get() == FINISHED;
		}

		private void cancel() {
			if (!this.state.compareAndSet(RUNNING, CANCELLING)) {
				return;
			}
			Thread sender = new Thread(() -> {
				try {
					this.connection.unwrap(BaseConnection.class).cancelQuery();
				}
				catch (SQLException | RuntimeException ex) {
					// The server could not be reached: the network timeout still bounds the statement.
				}
				finally {
					this.cancelAnswered.countDown();
				}
			}, "leasehold-statement-cancel");
			sender.setDaemon(true);
			sender.start();
		}

		/**
		 * Marks the statement as returned. If a cancel request was sent and has not been answered
		 * on a connection still open, the connection is aborted rather than handed back to the
		 * pool, where the request could still cancel somebody else's statement.
		 * @return whether the connection was aborted (it must not be touched again)
		 */
		boolean finish() {
			if (this.state.compareAndSet(RUNNING, FINISHED)) {
				return false;
			}
			this.state.set(FINISHED);
			if (awaitCancelAnswered()) {
				return false;
			}
			try {
				this.connection.abort(Runnable::run);
			}
			catch (SQLException ex) {
				// Broken already: the pool will not hand it out again.
			}
			return true;
		}

		/** Waits, without giving in to interrupts, for the cancel request to be answered. */
		private boolean awaitCancelAnswered() {
			long deadline = System.nanoTime() + CANCEL_ANSWER_WAIT.toNanos();
			boolean interrupted = false;
			try {
				while (true) {
					try {
						return this.cancelAnswered.await(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
					}
					catch (InterruptedException ex) {
						interrupted = true;
					}
				}
			}
			finally {
				if (interrupted) {
					Thread.currentThread().interrupt();
				}
			}
		}

	}

}
