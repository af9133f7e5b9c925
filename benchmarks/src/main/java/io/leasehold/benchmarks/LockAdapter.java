package io.leasehold.benchmarks;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * One lock implementation under benchmark, spread over {@link #nodeCount()} "nodes" (application
 * instances, each with its own connections). Scenarios open one {@link Session} per contender
 * thread and call it from that thread only.
 * <p>
 * To add an implementation (ShedLock, JdbcLockRegistry, a raw upsert floor...): implement this
 * interface, count every statement its sessions send with a {@link StatementCounter} per node,
 * and register it in {@link Adapters}.
 */
public interface LockAdapter extends AutoCloseable {

	/** A short name for tables, e.g. {@code leasehold}. */
	String name();

	/** How many nodes contenders are spread over. */
	int nodeCount();

	/**
	 * Opens a contender on a node: what one caller thread of that node uses. It may hold
	 * resources of its own (a dedicated connection); the scenario closes it.
	 */
	Session open(int node) throws Exception;

	/** Counts the statements the node sent, as seen by the client. */
	StatementCounter statements(int node);

	/**
	 * Whether sessions hand out {@link Handle}s ({@link Session#acquire}); when not, only
	 * {@link Session#cycle} works and the hot-lock and idle-waiter scenarios are skipped.
	 */
	default boolean supportsHandles() {
		return true;
	}

	/** Whether handles carry a fencing token that grows with every grant of a lock. */
	boolean issuesFencingTokens();

	/**
	 * Whether the library may refuse a free lock, for example when a transaction of its own fails
	 * under load: its refusals are then its figures, reported, and not a failure of the run.
	 */
	default boolean mayRefuseFreeLocks() {
		return false;
	}

	@Override
	void close() throws Exception;

	/**
	 * One contender: used by one thread.
	 */
	interface Session extends AutoCloseable {

		/**
		 * Acquires the lock, waiting up to {@code waitTime}.
		 * @return the held lock, or {@code null} when it stayed busy for the whole wait
		 */
		@Nullable Handle acquire(String lockName, Duration waitTime) throws Exception;

		/**
		 * One whole cycle: acquires the lock, runs the body while holding it, releases it.
		 * Implementations whose API is a callback (an annotated method) override this.
		 * @return whether the lock was acquired and the body run
		 */
		default boolean cycle(String lockName, Duration waitTime, Runnable body) throws Exception {
			Handle handle = acquire(lockName, waitTime);
			if (handle == null) {
				return false;
			}
			try {
				body.run();
			}
			finally {
				handle.release();
			}
			return true;
		}

		@Override
		default void close() throws Exception {
		}

	}

	/**
	 * A held lock.
	 */
	interface Handle {

		/** The fencing token of this grant, or {@code -1} when the implementation has none. */
		long token();

		/** Releases the lock. */
		void release() throws Exception;

	}

}
