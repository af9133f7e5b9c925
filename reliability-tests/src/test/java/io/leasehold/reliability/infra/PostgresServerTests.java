package io.leasehold.reliability.infra;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PostgresServerTests {

	private PostgresServer server;

	@BeforeEach
	void startServer() {
		PostgresServer.assumeAvailable();
		this.server = PostgresServer.builder("server-test").start();
	}

	@AfterEach
	void closeServer() {
		if (this.server != null) {
			this.server.close();
		}
	}

	@Test
	void killNineThenStartKeepsCommittedRowsAndLeavesNoProcessBehind() throws Exception {
		this.server.createDatabase("kill_test");
		this.server.execute("kill_test", "CREATE TABLE t (id int PRIMARY KEY)");
		this.server.execute("kill_test", "INSERT INTO t SELECT generate_series(1, 100)");
		long postmaster = this.server.pid();
		Connection open = this.server.connect("kill_test");
		List<Long> backends = OsProcesses.descendants(postmaster);
		assertThat(backends).isNotEmpty();

		this.server.kill9();

		assertThat(this.server.isRunning()).isFalse();
		assertThat(OsProcesses.isDead(postmaster)).isTrue();
		assertThat(backends).allMatch(OsProcesses::isDead);
		assertThatThrownBy(() -> this.server.connect("kill_test")).isInstanceOf(SQLException.class);
		assertThatThrownBy(() -> open.createStatement().executeQuery("SELECT 1")).isInstanceOf(SQLException.class);
		open.close();

		this.server.start();

		assertThat(count("kill_test", "SELECT count(*) FROM t")).isEqualTo(100);
	}

	@Test
	void restartKeepsPortAndData() throws Exception {
		int port = this.server.port();
		this.server.execute("postgres", "CREATE TABLE kept (v text)");
		this.server.execute("postgres", "INSERT INTO kept VALUES ('x')");
		long before = this.server.pid();

		this.server.restart();

		assertThat(this.server.pid()).isNotEqualTo(before);
		assertThat(this.server.port()).isEqualTo(port);
		assertThat(count("postgres", "SELECT count(*) FROM kept")).isEqualTo(1);
	}

	@Test
	void freezeMakesQueriesTimeOutAndThawResumesThem() throws Exception {
		Properties withTimeout = new Properties();
		withTimeout.setProperty("socketTimeout", "1");
		try (Connection bounded = DriverManager.getConnection(this.server.jdbcUrl("postgres"), withTimeout);
				Connection patient = this.server.connect("postgres")) {
			this.server.freeze();
			assertThat(this.server.isFrozen()).isTrue();

			long start = System.nanoTime();
			assertThatThrownBy(() -> bounded.createStatement().executeQuery("SELECT 1"))
				.isInstanceOf(SQLException.class);
			assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(900L, 5000L);

			CompletableFuture<Integer> waiting = CompletableFuture.supplyAsync(() -> queryInt(patient, "SELECT 42"));
			assertThat(waiting).failsWithin(java.time.Duration.ofMillis(300))
				.withThrowableThat()
				.isInstanceOf(java.util.concurrent.TimeoutException.class);

			this.server.thaw();

			assertThat(waiting.get(10, TimeUnit.SECONDS)).isEqualTo(42);
			assertThat(count("postgres", "SELECT 7")).isEqualTo(7);
		}
	}

	@Test
	void freezeStopsEveryProcessOfTheInstance() {
		this.server.freeze();
		try {
			List<Long> all = OsProcesses.descendants(this.server.pid());
			all.add(this.server.pid());
			// a backend that exited just before the freeze stays a zombie (its stopped postmaster
			// cannot reap it): it runs nothing, so it counts as stopped
			assertThat(all).hasSizeGreaterThan(3)
				.allMatch(pid -> OsProcesses.isStopped(pid) || OsProcesses.isDead(pid), "stopped or dead");
			assertThat(all).filteredOn(OsProcesses::isStopped).hasSizeGreaterThan(3);
		}
		finally {
			this.server.thaw();
		}
		assertThat(OsProcesses.isStopped(this.server.pid())).isFalse();
	}

	@Test
	void synchronousCommitOffIsApplied() {
		try (PostgresServer relaxed = PostgresServer.builder("relaxed").synchronousCommit(false).start()) {
			assertThat(relaxed.port()).isNotEqualTo(this.server.port());
			try (Connection connection = relaxed.connect("postgres");
					ResultSet rows = connection.createStatement().executeQuery("SHOW synchronous_commit")) {
				rows.next();
				assertThat(rows.getString(1)).isEqualTo("off");
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
		}
	}

	private int count(String database, String sql) throws SQLException {
		try (Connection connection = this.server.connect(database)) {
			return queryInt(connection, sql);
		}
	}

	static int queryInt(Connection connection, String sql) {
		try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getInt(1);
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
