package io.leasehold.reliability.infra;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FaultyProxyTests {

	/** PostgreSQL's SQLSTATE for a connection lost (the JDBC driver reports an I/O error with it). */
	private static final String CONNECTION_FAILURE = "08006";

	private static PostgresServer server;

	private FaultyProxy proxy;

	@BeforeAll
	static void startServer() {
		PostgresServer.assumeAvailable();
		server = PostgresServer.builder("proxy-test").start();
		server.execute("postgres", "CREATE TABLE ambiguous (id int PRIMARY KEY)");
	}

	@AfterAll
	static void stopServer() {
		if (server != null) {
			server.close();
		}
	}

	@BeforeEach
	void startProxy() {
		this.proxy = new FaultyProxy(server.port());
	}

	@AfterEach
	void closeProxy() {
		this.proxy.close();
	}

	@Test
	void passForwardsAJdbcConnection() throws Exception {
		try (Connection connection = connect(0)) {
			assertThat(queryInt(connection, "SELECT 41 + 1")).isEqualTo(42);
			assertThat(this.proxy.openConnections()).isEqualTo(1);
		}
	}

	@Test
	void cutClosesOpenConnectionsAndNewOnesUntilHealed() throws Exception {
		try (Connection open = connect(0)) {
			assertThat(queryInt(open, "SELECT 1")).isEqualTo(1);

			this.proxy.cut();

			assertThatThrownBy(() -> queryInt(open, "SELECT 1")).cause()
				.isInstanceOf(SQLException.class)
				.hasFieldOrPropertyWithValue("SQLState", CONNECTION_FAILURE);
			assertThatThrownBy(() -> connect(0)).isInstanceOf(SQLException.class);
			assertThat(this.proxy.openConnections()).isZero();
		}
		this.proxy.heal();
		try (Connection healed = connect(0)) {
			assertThat(queryInt(healed, "SELECT 2")).isEqualTo(2);
		}
	}

	@Test
	void blackholeMakesAQueryHitItsSocketTimeoutAndHealDeliversHeldBytes() throws Exception {
		try (Connection bounded = connect(1); Connection patient = connect(0)) {
			this.proxy.blackhole();

			long start = System.nanoTime();
			assertThatThrownBy(() -> queryInt(bounded, "SELECT 1")).hasRootCauseInstanceOf(SocketTimeoutException.class);
			assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(900L, 5000L);
			CompletableFuture<Integer> held = CompletableFuture.supplyAsync(() -> queryInt(patient, "SELECT 5"));
			assertThat(held).failsWithin(Duration.ofMillis(300));
			assertThat(this.proxy.openConnections()).isEqualTo(2);

			this.proxy.heal();

			assertThat(held.get(5, TimeUnit.SECONDS)).isEqualTo(5);
		}
	}

	@Test
	void droppedReplyLeavesACommittedStatementWithAnAmbiguousOutcome() throws Exception {
		try (Connection connection = connect(1)) {
			assertThat(queryInt(connection, "SELECT 1")).isEqualTo(1);
			this.proxy.dropRepliesWhenClientSends("INSERT INTO ambiguous");

			assertThatThrownBy(() -> queryInt(connection, "INSERT INTO ambiguous VALUES (7) RETURNING id"))
				.hasRootCauseInstanceOf(SocketTimeoutException.class);

			assertThat(this.proxy.awaitTriggered(Duration.ZERO)).isTrue();
			assertThat(this.proxy.mode()).isEqualTo(FaultyProxy.Mode.DROP_REPLIES);
		}
		assertCommittedWithin(Duration.ofSeconds(5), "SELECT count(*) FROM ambiguous WHERE id = 7");
		this.proxy.heal();
		try (Connection healed = connect(1)) {
			assertThat(queryInt(healed, "SELECT 3")).isEqualTo(3);
		}
	}

	@Test
	void dropRepliesForwardsRequestsButNoReplies() throws Exception {
		try (Connection connection = connect(1)) {
			this.proxy.dropReplies();

			assertThatThrownBy(() -> queryInt(connection, "INSERT INTO ambiguous VALUES (8) RETURNING id"))
				.hasRootCauseInstanceOf(SocketTimeoutException.class);
		}
		assertCommittedWithin(Duration.ofSeconds(5), "SELECT count(*) FROM ambiguous WHERE id = 8");
	}

	@Test
	void closeStopsListeningAndClosesConnections() throws Exception {
		Connection connection = connect(0);
		int port = this.proxy.port();

		this.proxy.close();

		assertThat(this.proxy.openConnections()).isZero();
		assertThatThrownBy(() -> queryInt(connection, "SELECT 1")).cause()
			.isInstanceOf(SQLException.class)
			.hasFieldOrPropertyWithValue("SQLState", CONNECTION_FAILURE);
		assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
			.isInstanceOf(ConnectException.class);
		connection.close();
	}

	/** The statement whose reply was lost did commit (polled: it may still be finishing). */
	private static void assertCommittedWithin(Duration timeout, String countQuery) throws Exception {
		long deadline = System.nanoTime() + timeout.toNanos();
		try (Connection direct = server.connect("postgres")) {
			while (queryInt(direct, countQuery) == 0 && System.nanoTime() < deadline) {
				Thread.sleep(20);
			}
			assertThat(queryInt(direct, countQuery)).as(countQuery).isEqualTo(1);
		}
	}

	private Connection connect(int socketTimeoutSeconds) throws SQLException {
		Properties properties = new Properties();
		properties.setProperty("connectTimeout", "2");
		properties.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
		return DriverManager.getConnection(this.proxy.jdbcUrl("postgres"), properties);
	}

	private static int queryInt(Connection connection, String sql) {
		try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getInt(1);
		}
		catch (SQLException ex) {
			throw new IllegalStateException(sql + ": " + ex.getMessage(), ex);
		}
	}

}
