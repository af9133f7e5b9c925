package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Counts transactions as the server sees them: {@code xact_commit + xact_rollback} of
 * {@code pg_stat_database} for the benchmark's database (each statement the adapters send in
 * auto-commit mode is one transaction), and the same for every other database on the server, as
 * a measure of foreign load. The counters are read from a connection to the server's
 * {@code postgres} database when possible, so the readings do not count themselves; otherwise
 * from the benchmark's database, subtracting one transaction per reading.
 * <p>
 * A backend publishes its counters when it goes idle, at most once a second, so a delta over a
 * window can be off by about one second's worth of statements at each end.
 */
final class ServerStatements implements AutoCloseable {

	private static final String QUERY = """
			SELECT coalesce(sum(xact_commit + xact_rollback) FILTER (WHERE datname = ?), 0),
			       coalesce(sum(xact_commit + xact_rollback) FILTER (WHERE datname IS DISTINCT FROM ?), 0),
			       (SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname IS DISTINCT FROM ?)
			FROM pg_stat_database""";

	private final Connection connection;

	private final String databaseName;

	private final boolean selfCounting;

	ServerStatements(BenchDatabase database) throws SQLException {
		this.databaseName = database.databaseName();
		Connection maintenance = null;
		try {
			maintenance = DriverManager.getConnection(BenchDatabase.maintenanceUrl(database.jdbcUrl()),
					database.username(), database.password());
		}
		catch (SQLException | IllegalArgumentException ex) {
			// count from the benchmark's database itself
		}
		this.selfCounting = maintenance == null;
		this.connection = (maintenance != null) ? maintenance : database.connect();
		this.connection.setAutoCommit(true);
	}

	Reading read() throws SQLException {
		try (PreparedStatement statement = this.connection.prepareStatement(QUERY)) {
			statement.setString(1, this.databaseName);
			statement.setString(2, this.databaseName);
			statement.setString(3, this.databaseName);
			try (ResultSet rows = statement.executeQuery()) {
				rows.next();
				return new Reading(System.nanoTime(), rows.getLong(1), rows.getLong(2), rows.getInt(3));
			}
		}
	}

	/** Transactions of the benchmark's database between two readings, without the readings' own. */
	long benchTransactions(Reading from, Reading to) {
		return to.benchXacts() - from.benchXacts() - (this.selfCounting ? 1 : 0);
	}

	String method() {
		return this.selfCounting ? "read in the benchmark database, minus the readings"
				: "read from the 'postgres' database";
	}

	@Override
	public void close() throws SQLException {
		this.connection.close();
	}

	/**
	 * One reading of the counters.
	 * @param otherActiveBackends backends of other databases running a statement at the time
	 */
	record Reading(long nanos, long benchXacts, long otherXacts, int otherActiveBackends) {

	}

}
