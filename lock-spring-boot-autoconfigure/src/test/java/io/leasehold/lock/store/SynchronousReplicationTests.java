package io.leasehold.lock.store;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.LockStoreException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A grant is returned only once it is durable: on a server that waits for a synchronous standby
 * that never confirms, the commit's wait is cancelled (PostgreSQL only warns and keeps the
 * commit locally), and the acquisition must count as failed; so must a renewal, and a release
 * that keeps a minimum hold time (it may extend the lease). A plain release does not wait:
 * losing it only leaves the lease to expire at its old time. Runs its own embedded
 * PostgreSQL, since it needs a server setting no shared database should have.
 */
class SynchronousReplicationTests {

	private static EmbeddedPostgres server;

	private static HikariDataSource dataSource;

	@BeforeAll
	static void startServerWaitingForAbsentStandby() throws IOException {
		server = EmbeddedPostgres.builder().setServerConfig("synchronous_standby_names", "absent_standby").start();
		dataSource = new HikariDataSource();
		// The application's own default is not to wait; lease statements must wait regardless.
		dataSource.setJdbcUrl(server.getJdbcUrl("postgres", "postgres") + "&options=-c%20synchronous_commit=local");
		dataSource.setMaximumPoolSize(2);
		new PostgresSchema(dataSource, "leasehold_lock", "leasehold_fencing_token_seq").create();
	}

	@AfterAll
	static void stopServer() throws IOException {
		dataSource.close();
		server.close();
	}

	@Test
	void grantWhoseReplicationWaitIsCancelledIsAFailedAcquire() {
		PostgresLeaseStore store = store();
		String lock = "sync-" + UUID.randomUUID();
		assertNotReplicated(lock, () -> store.tryAcquire(lock, "node-a", Duration.ofSeconds(30), Duration.ofSeconds(1)));
	}

	@Test
	void applicationDefaultDoesNotLetLeaseStatementsSkipTheWait() {
		PostgresLeaseStore store = store();
		long start = System.nanoTime();
		assertThatThrownBy(() -> store.tryAcquire("sync-wait-" + UUID.randomUUID(), "node-a", Duration.ofSeconds(30),
				Duration.ofSeconds(1)))
			.isInstanceOf(LockStoreException.class);
		assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited for the standby until the statement timeout")
			.isGreaterThanOrEqualTo(Duration.ofMillis(250));
	}

	@Test
	void renewalWhoseReplicationWaitIsCancelledFails() throws SQLException {
		PostgresLeaseStore store = store();
		String lock = "sync-renew-" + UUID.randomUUID();
		long token = insertLeaseWithoutWaiting(lock);
		assertNotReplicated(lock, () -> store.renew(lock, token, Duration.ofSeconds(60)));
	}

	@Test
	void releaseDoesNotWaitForTheStandby() throws SQLException {
		PostgresLeaseStore store = store();
		String lock = "sync-release-" + UUID.randomUUID();
		long token = insertLeaseWithoutWaiting(lock);
		long start = System.nanoTime();
		assertThat(store.release(lock, token, Duration.ZERO)).as("released").isTrue();
		assertThat(Duration.ofNanos(System.nanoTime() - start)).as("released without waiting for the standby")
			.isLessThan(Duration.ofMillis(250));
		assertThat(store.find(lock)).hasValueSatisfying(
				(row) -> assertThat(row.expiresAt()).as("expired").isBeforeOrEqualTo(row.observedAt()));
	}

	@Test
	void releaseThatKeepsAMinimumHoldTimeWaitsForTheStandby() throws SQLException {
		PostgresLeaseStore store = store();
		String lock = "sync-hold-" + UUID.randomUUID();
		long token = insertLeaseWithoutWaiting(lock);
		// the hold outlasts the lease's expiry: this release extends the lease, as a renewal does
		assertNotReplicated(lock, () -> store.release(lock, token, Duration.ofMinutes(2)));
	}

	/** The statement failed, naming the lock, because its commit's standby wait was cancelled. */
	private static void assertNotReplicated(String lock, ThrowingCallable statement) {
		assertThatThrownBy(statement).isInstanceOf(LockStoreException.class)
			.hasMessageContaining(lock)
			.hasMessageContaining("synchronous replication");
	}

	private static PostgresLeaseStore store() {
		return new PostgresLeaseStore(dataSource, "leasehold_lock", "leasehold_fencing_token_seq",
				LeaseStatementTimeouts.of(Duration.ofMillis(300)));
	}

	/** A lease written with the application's default, which does not wait for the standby. */
	private static long insertLeaseWithoutWaiting(String lock) throws SQLException {
		try (Connection connection = dataSource.getConnection();
				PreparedStatement insert = connection.prepareStatement("""
						INSERT INTO leasehold_lock (lock_name, owner_id, fencing_token, acquired_at, expires_at)
						VALUES (?, 'node-a', nextval('leasehold_fencing_token_seq'), clock_timestamp(),
						        clock_timestamp() + interval '60 seconds')
						RETURNING fencing_token""")) {
			insert.setString(1, lock);
			try (var rows = insert.executeQuery()) {
				rows.next();
				return rows.getLong(1);
			}
		}
	}

}
