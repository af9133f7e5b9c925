package io.leasehold.reliability.infra;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StandbyTests {

	private final List<PostgresServer> servers = new ArrayList<>();

	private PostgresServer primary;

	@BeforeEach
	void startPrimary() {
		PostgresServer.assumeStandbysAvailable();
		this.primary = track(PostgresServer.builder("primary").start());
		this.primary.execute("postgres", "CREATE TABLE grants (id bigint PRIMARY KEY)");
		this.primary.execute("postgres", "CREATE SEQUENCE tokens");
	}

	@AfterEach
	void closeAll() {
		Collections.reverse(this.servers);
		this.servers.forEach(PostgresServer::close);
	}

	@Test
	void promotedSynchronousStandbyKeepsCommittedRowsAndSequenceValues() throws Exception {
		PostgresServer standby = track(this.primary.createStandby("sync_standby", true));
		assertThat(standby.isStandby()).isTrue();
		long highest = 0;
		try (Connection connection = this.primary.connect("postgres")) {
			for (int i = 0; i < 20; i++) {
				highest = queryLong(connection, "INSERT INTO grants SELECT nextval('tokens') RETURNING id");
			}
		}

		this.primary.kill9();
		long start = System.nanoTime();
		standby.promote();
		long promoteMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

		assertThat(standby.isStandby()).isFalse();
		assertThat(promoteMillis).as("promote time").isLessThan(5000);
		Properties bounded = new Properties();
		bounded.setProperty("socketTimeout", "5");
		try (Connection connection = DriverManager.getConnection(standby.jdbcUrl("postgres"), bounded)) {
			assertThat(queryLong(connection, "SELECT count(*) FROM grants")).isEqualTo(20);
			// a commit on the promoted node returns: it does not wait for a standby of its own
			long next = queryLong(connection, "INSERT INTO grants SELECT nextval('tokens') RETURNING id");
			assertThat(next).isGreaterThan(highest);
		}
	}

	@Test
	void pausedReplicationLagsUntilResumed() throws Exception {
		PostgresServer standby = track(this.primary.createStandby("async_standby", false));
		this.primary.execute("postgres", "INSERT INTO grants VALUES (1)");
		awaitCount(standby, 1);

		standby.pauseReplication();
		this.primary.execute("postgres", "INSERT INTO grants VALUES (2)");
		String primaryLsn = queryString(this.primary, "SELECT pg_current_wal_lsn()::text");
		CompletableFuture<Void> caughtUp = CompletableFuture.runAsync(() -> awaitCount(standby, 2));
		assertThat(caughtUp).as("standby must lag while its walsender is stopped")
			.failsWithin(java.time.Duration.ofMillis(700));
		assertThat(queryString(standby, "SELECT pg_last_wal_replay_lsn()::text")).isNotEqualTo(primaryLsn);

		standby.resumeReplication();

		awaitCount(standby, 2);
	}

	@Test
	void synchronousCommitWaitsWhileReplicationIsPaused() throws Exception {
		PostgresServer standby = track(this.primary.createStandby("sync_paused", true));
		standby.pauseReplication();
		try (Connection connection = this.primary.connect("postgres")) {
			CompletableFuture<Long> commit = CompletableFuture.supplyAsync(
					() -> queryLong(connection, "INSERT INTO grants VALUES (7) RETURNING id"));
			assertThat(commit).failsWithin(java.time.Duration.ofMillis(700));

			standby.resumeReplication();

			assertThat(commit.get(10, TimeUnit.SECONDS)).isEqualTo(7);
		}
	}

	private PostgresServer track(PostgresServer server) {
		this.servers.add(server);
		return server;
	}

	private static void awaitCount(PostgresServer server, long expected) {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (true) {
			try (Connection connection = server.connect("postgres")) {
				if (queryLong(connection, "SELECT count(*) FROM grants") == expected) {
					return;
				}
			}
			catch (SQLException ex) {
				// not yet
			}
			if (System.nanoTime() > deadline) {
				throw new AssertionError(server + " never reached " + expected + " rows");
			}
			try {
				Thread.sleep(20);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new AssertionError("interrupted");
			}
		}
	}

	private static String queryString(PostgresServer server, String sql) throws SQLException {
		try (Connection connection = server.connect("postgres"); Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getString(1);
		}
	}

	private static long queryLong(Connection connection, String sql) {
		try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getLong(1);
		}
		catch (SQLException ex) {
			throw new IllegalStateException(sql + ": " + ex.getMessage(), ex);
		}
	}

}
