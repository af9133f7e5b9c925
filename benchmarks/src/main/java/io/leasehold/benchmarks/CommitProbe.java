package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

import com.zaxxer.hikari.HikariDataSource;

/**
 * What one commit costs on this machine at the hot lock's pace: a one-row {@code UPDATE} in
 * auto-commit, one per hold time (the thread parks in between, as a contender does), on a node's
 * share of the contenders' connections in turn, committed with {@code synchronous_commit = on}
 * and then with {@code off} (set for the statement's transaction, as Leasehold does). Every
 * grant of a lease waits for the first kind (DESIGN 3.11), and advisory locks pay neither: so the
 * durable commit bounds how close to advisory locks any durable lock can come on this disk. Its latency changes from
 * machine to machine far more than a round trip does, which is why the hot-lock ratio does too.
 */
final class CommitProbe {

	private static final String TABLE = "bench_commit_probe";

	private final BenchOptions options;

	CommitProbe(BenchOptions options) {
		this.options = options;
	}

	/** Latency of a durable and of a non-durable commit, taken the same way. */
	record Result(Percentiles durable, Percentiles notDurable) {

		void print() {
			System.out.println();
			System.out.println("== Commit of a one-row UPDATE, one per hold time (1 thread, a node's share of connections in turn) ==");
			System.out.println("  synchronous_commit = on  : " + CycleScenarios.micros(this.durable));
			System.out.println("  synchronous_commit = off : " + CycleScenarios.micros(this.notDurable));
		}

		/**
		 * The most a lock that commits one durable grant per hand-off can reach, as a share of the
		 * reference's throughput: its sections last at least the reference's mean hold plus this
		 * commit, where the reference's last its hold plus its hand-off.
		 */
		String ceilingText(HotLockScenario.Result reference) {
			double ceiling = 1e9 / ((reference.meanHoldNanos() + this.durable.mean()) * reference.perSecond());
			return String.format(Locale.ROOT, "%.0f%% (1 / ((hold %.2f ms + durable commit %.2f ms) x %.0f/s))",
					100 * ceiling, reference.meanHoldNanos() / 1e6, this.durable.mean() / 1e6, reference.perSecond());
		}

	}

	Result run(BenchDatabase database) throws SQLException {
		int rotation = Math.max(1, this.options.contenders / this.options.nodes);
		List<Connection> connections = new ArrayList<>();
		try (HikariDataSource pool = Pools.pool(database, "commit-probe", rotation)) {
			try {
				for (int i = 0; i < rotation; i++) {
					connections.add(pool.getConnection());
				}
				Connection first = connections.get(0);
				execute(first, "CREATE TABLE IF NOT EXISTS " + TABLE + " (id int PRIMARY KEY, n bigint NOT NULL)");
				execute(first, "INSERT INTO " + TABLE + " VALUES (1, 0) ON CONFLICT (id) DO NOTHING");
				try {
					return new Result(commits(connections, "on"), commits(connections, "off"));
				}
				finally {
					execute(first, "DROP TABLE " + TABLE);
				}
			}
			finally {
				for (Connection connection : connections) {
					connection.close();
				}
			}
		}
	}

	private static void execute(Connection connection, String sql) throws SQLException {
		try (Statement statement = connection.createStatement()) {
			statement.execute(sql);
		}
	}

	/**
	 * Commits from one thread, each on the next connection of the rotation: a node's contenders
	 * take turns with the lock, so each connection idles while the others commit.
	 */
	private Percentiles commits(List<Connection> connections, String synchronousCommit) throws SQLException {
		String sql = "SELECT set_config('synchronous_commit', '" + synchronousCommit + "', true); UPDATE " + TABLE
				+ " SET n = n + 1 WHERE id = 1";
		List<PreparedStatement> updates = new ArrayList<>();
		LongList samples = new LongList();
		long from = System.nanoTime() + Math.min(this.options.cycleWarmup.toNanos(), 1_000_000_000L);
		long to = from + this.options.cycleWindow.toNanos();
		try {
			for (Connection connection : connections) {
				updates.add(connection.prepareStatement(sql));
			}
			for (int turn = 0;; turn++) {
				LockSupport.parkNanos(this.options.hold.toNanos());
				long start = System.nanoTime();
				if (start - to >= 0) {
					return Percentiles.of(samples.toArray());
				}
				updates.get(turn % updates.size()).execute();
				if (start - from >= 0) {
					samples.add(System.nanoTime() - start);
				}
			}
		}
		finally {
			for (PreparedStatement update : updates) {
				update.close();
			}
		}
	}

}
