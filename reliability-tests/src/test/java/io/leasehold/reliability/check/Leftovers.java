package io.leasehold.reliability.check;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import javax.sql.DataSource;

/**
 * I6: what the workers left behind once they are gone: unexpired leases in the lease table, and
 * client connections to either database other than the checker's own.
 */
public record Leftovers(long leases, long lockConnections, long storeConnections) {

	private static final String CONNECTIONS = """
			SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid()
			  AND backend_type = 'client backend' AND application_name <> 'rel-controller'""";

	public boolean none() {
		return this.leases == 0 && this.lockConnections == 0 && this.storeConnections == 0;
	}

	/** Looks until nothing is left or the timeout passes (a killed worker's sockets close a moment later). */
	public static Leftovers await(DataSource lockdb, DataSource storedb, Duration timeout)
			throws SQLException, InterruptedException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (true) {
			Leftovers now = new Leftovers(
					count(lockdb, "SELECT count(*) FROM leasehold_lock WHERE expires_at > clock_timestamp()"),
					count(lockdb, CONNECTIONS), count(storedb, CONNECTIONS));
			if (now.none() || System.nanoTime() - deadline > 0) {
				return now;
			}
			Thread.sleep(50);
		}
	}

	private static long count(DataSource dataSource, String sql) throws SQLException {
		try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getLong(1);
		}
	}

}
