package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * The reference: PostgreSQL session advisory locks. Each contender has a dedicated connection
 * (a session lock belongs to its session) and blocks in {@code pg_advisory_lock(hashtext(name))},
 * which queues waiters on the server in FIFO order; {@code lock_timeout} bounds the wait. The
 * lock is released with {@code pg_advisory_unlock}. Advisory locks write no WAL and carry no
 * token. The "nodes" only group contenders for the statement counts.
 */
final class AdvisoryLockAdapter implements LockAdapter {

	private final BenchDatabase database;

	private final List<StatementCounter> counters = new ArrayList<>();

	AdvisoryLockAdapter(BenchDatabase database, int nodeCount) {
		this.database = database;
		for (int i = 0; i < nodeCount; i++) {
			this.counters.add(new StatementCounter(AdvisoryLockAdapter::classify));
		}
	}

	@Override
	public String name() {
		return "advisory";
	}

	@Override
	public int nodeCount() {
		return this.counters.size();
	}

	@Override
	public Session open(int node) throws SQLException {
		return new AdvisorySession(CountingDataSource.counting(this.database.connect(), this.counters.get(node)));
	}

	@Override
	public StatementCounter statements(int node) {
		return this.counters.get(node);
	}

	@Override
	public boolean issuesFencingTokens() {
		return false;
	}

	@Override
	public void close() {
	}

	static String classify(String sql) {
		if (sql.contains("pg_advisory_unlock")) {
			return "unlock";
		}
		if (sql.contains("pg_advisory_lock")) {
			return "lock";
		}
		return "other";
	}

	private static final class AdvisorySession implements Session {

		private final Connection connection;

		private final PreparedStatement lock;

		private final PreparedStatement unlock;

		private @Nullable Duration lockTimeout;

		AdvisorySession(Connection connection) throws SQLException {
			this.connection = connection;
			this.connection.setAutoCommit(true);
			this.lock = connection.prepareStatement("SELECT pg_advisory_lock(hashtext(?))");
			this.unlock = connection.prepareStatement("SELECT pg_advisory_unlock(hashtext(?))");
		}

		@Override
		public @Nullable Handle acquire(String lockName, Duration waitTime) throws SQLException {
			if (!waitTime.equals(this.lockTimeout)) {
				try (Statement statement = this.connection.createStatement()) {
					// lock_timeout 0 would mean "wait forever"
					statement.execute("SET lock_timeout = " + Math.max(1, waitTime.toMillis()));
				}
				this.lockTimeout = waitTime;
			}
			this.lock.setString(1, lockName);
			try {
				this.lock.executeQuery().close();
			}
			catch (SQLException ex) {
				if ("55P03".equals(ex.getSQLState())) {
					return null;
				}
				throw ex;
			}
			return new Handle() {

				@Override
				public long token() {
					return -1;
				}

				@Override
				public void release() throws SQLException {
					AdvisorySession.this.unlock.setString(1, lockName);
					AdvisorySession.this.unlock.executeQuery().close();
				}

			};
		}

		@Override
		public void close() throws SQLException {
			this.connection.close();
		}

	}

}
