package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The physical floor (issue 6): one statement to acquire, one to release, each its own
 * transaction on a pooled connection, on a lease table of the same shape as Leasehold's. The
 * acquire statement locks an expired row {@code FOR UPDATE} and draws the fencing token with
 * {@code nextval} under that row lock (so tokens never go backwards, DESIGN.md 3.2), or inserts
 * the row when it is missing. Waiting is a poll with a short sleep: the floor has no wake-up.
 */
final class FloorAdapter implements LockAdapter {

	static final Duration POLL = Duration.ofMillis(2);

	private final String name;

	private final String table;

	private final String acquireSql;

	private final String releaseSql;

	private final List<HikariDataSource> pools = new ArrayList<>();

	private final List<StatementCounter> counters = new ArrayList<>();

	private final List<CountingDataSource> dataSources = new ArrayList<>();

	FloorAdapter(String name, BenchDatabase database, int nodeCount, int poolSize, String table) throws SQLException {
		this.name = name;
		this.table = table;
		String sequence = table + "_seq";
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			statement.execute("CREATE TABLE IF NOT EXISTS " + table + " (lock_name text PRIMARY KEY,"
					+ " owner_id text NOT NULL, fencing_token bigint NOT NULL, acquired_at timestamptz NOT NULL,"
					+ " expires_at timestamptz NOT NULL) WITH (fillfactor = 80)");
			statement.execute("CREATE SEQUENCE IF NOT EXISTS " + sequence);
		}
		this.acquireSql = """
				WITH locked AS MATERIALIZED (
				    SELECT lock_name FROM %1$s WHERE lock_name = ? AND expires_at <= clock_timestamp() FOR UPDATE),
				taken AS (
				    UPDATE %1$s AS lease SET owner_id = ?, fencing_token = nextval('%2$s'),
				        acquired_at = clock_timestamp(), expires_at = clock_timestamp() + interval '30 seconds'
				    FROM locked WHERE lease.lock_name = locked.lock_name
				    RETURNING lease.fencing_token),
				created AS (
				    INSERT INTO %1$s (lock_name, owner_id, fencing_token, acquired_at, expires_at)
				    SELECT ?, ?, nextval('%2$s'), clock_timestamp(), clock_timestamp() + interval '30 seconds'
				    WHERE NOT EXISTS (SELECT FROM %1$s WHERE lock_name = ?)
				    ON CONFLICT (lock_name) DO NOTHING
				    RETURNING fencing_token)
				SELECT fencing_token FROM taken UNION ALL SELECT fencing_token FROM created""".formatted(table, sequence);
		this.releaseSql = "UPDATE " + table + " SET expires_at = clock_timestamp() WHERE lock_name = ? AND fencing_token = ?";
		for (int i = 0; i < nodeCount; i++) {
			StatementCounter counter = new StatementCounter(FloorAdapter::classify);
			HikariDataSource pool = Pools.pool(database, name + "-node-" + i, poolSize);
			this.pools.add(pool);
			this.counters.add(counter);
			this.dataSources.add(new CountingDataSource(pool, counter));
		}
	}

	String table() {
		return this.table;
	}

	@Override
	public String name() {
		return this.name;
	}

	@Override
	public int nodeCount() {
		return this.pools.size();
	}

	@Override
	public Session open(int node) {
		CountingDataSource dataSource = this.dataSources.get(node);
		String owner = this.name + "-" + node + "-" + Thread.currentThread().getId() + "-" + System.nanoTime();
		return (lockName, waitTime) -> {
			long deadline = System.nanoTime() + waitTime.toNanos();
			while (true) {
				long token = tryAcquire(dataSource, lockName, owner);
				if (token >= 0) {
					return new FloorHandle(dataSource, lockName, token);
				}
				if (System.nanoTime() - deadline >= 0) {
					return null;
				}
				Thread.sleep(POLL.toMillis());
			}
		};
	}

	private long tryAcquire(CountingDataSource dataSource, String lockName, String owner) throws SQLException {
		try (Connection connection = dataSource.getConnection();
				PreparedStatement statement = connection.prepareStatement(this.acquireSql)) {
			statement.setString(1, lockName);
			statement.setString(2, owner);
			statement.setString(3, lockName);
			statement.setString(4, owner);
			statement.setString(5, lockName);
			try (ResultSet rows = statement.executeQuery()) {
				return rows.next() ? rows.getLong(1) : -1;
			}
		}
		catch (SQLException ex) {
			if ("23505".equals(ex.getSQLState())) {
				return -1; // lost an insert race
			}
			throw ex;
		}
	}

	@Override
	public StatementCounter statements(int node) {
		return this.counters.get(node);
	}

	@Override
	public boolean issuesFencingTokens() {
		return true;
	}

	@Override
	public void close() {
		for (HikariDataSource pool : this.pools) {
			pool.close();
		}
	}

	static String classify(String sql) {
		return sql.contains("WITH locked") ? "acquire" : sql.startsWith("UPDATE") ? "release" : "other";
	}

	private final class FloorHandle implements Handle {

		private final CountingDataSource dataSource;

		private final String lockName;

		private final long token;

		FloorHandle(CountingDataSource dataSource, String lockName, long token) {
			this.dataSource = dataSource;
			this.lockName = lockName;
			this.token = token;
		}

		@Override
		public long token() {
			return this.token;
		}

		@Override
		public void release() throws SQLException {
			try (Connection connection = this.dataSource.getConnection();
					PreparedStatement statement = connection.prepareStatement(FloorAdapter.this.releaseSql)) {
				statement.setString(1, this.lockName);
				statement.setLong(2, this.token);
				statement.executeUpdate();
			}
		}

	}


}
