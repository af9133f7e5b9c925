package io.leasehold.lock.store;

import java.io.IOException;
import java.time.Duration;
import java.util.UUID;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.LockStoreException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A grant is returned only once it is durable: on a server that waits for a synchronous standby
 * that never confirms, the commit's wait is cancelled (PostgreSQL only warns and keeps the
 * commit locally), and the acquisition must count as failed. Runs its own embedded PostgreSQL,
 * since it needs a server setting no shared database should have.
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
		PostgresLeaseStore store = new PostgresLeaseStore(dataSource, "leasehold_lock", "leasehold_fencing_token_seq",
				LeaseStatementTimeouts.of(Duration.ofMillis(300)));
		String lock = "sync-" + UUID.randomUUID();
		assertThatThrownBy(() -> store.tryAcquire(lock, "node-a", Duration.ofSeconds(30), Duration.ofSeconds(1)))
			.isInstanceOf(LockStoreException.class)
			.hasMessageContaining(lock)
			.hasMessageContaining("synchronous replication");
	}

	@Test
	void applicationDefaultDoesNotLetLeaseStatementsSkipTheWait() {
		PostgresLeaseStore store = new PostgresLeaseStore(dataSource, "leasehold_lock", "leasehold_fencing_token_seq",
				LeaseStatementTimeouts.of(Duration.ofMillis(300)));
		long start = System.nanoTime();
		assertThatThrownBy(() -> store.tryAcquire("sync-wait-" + UUID.randomUUID(), "node-a", Duration.ofSeconds(30),
				Duration.ofSeconds(1)))
			.isInstanceOf(LockStoreException.class);
		assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited for the standby until the statement timeout")
			.isGreaterThanOrEqualTo(Duration.ofMillis(250));
	}

}
