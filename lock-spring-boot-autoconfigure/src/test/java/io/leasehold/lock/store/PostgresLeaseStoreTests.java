package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.UUID;

import javax.sql.DataSource;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The lease store contract on PostgreSQL, on a table and sequence of this test's own, plus what
 * is specific to PostgreSQL: timeouts and statements outside the caller's transaction.
 */
class PostgresLeaseStoreTests extends AbstractLeaseStoreContractTests {

	private static final String TABLE = "store_test_lock";

	private static final String SEQUENCE = "store_test_token_seq";

	private static DataSource dataSource;

	private static PostgresLeaseStore store;

	@BeforeAll
	static void createSchema() {
		dataSource = TestDatabase.get().dataSource();
		new PostgresSchema(dataSource, TABLE, SEQUENCE).create();
		store = new PostgresLeaseStore(dataSource, TABLE, SEQUENCE, LeaseStatementTimeouts.of(Duration.ofSeconds(5)));
	}

	@Override
	protected LeaseStore store() {
		return store;
	}

	@Override
	protected void expire(String lockName, Duration ago) {
		update("UPDATE " + TABLE + " SET expires_at = clock_timestamp() - interval '" + ago.toMillis()
				+ " milliseconds' WHERE lock_name = ?", lockName);
	}

	/**
	 * The contract kept by the acquire statement of waiting callers, which also registers the
	 * waiter and answers a busy lock with a hint; the tests above run it on the statement of
	 * callers that do not wait.
	 */
	@Nested
	class WaitingCallers extends AbstractLeaseStoreContractTests {

		private final PostgresLeaseStore waiting = new PostgresLeaseStore(dataSource, TABLE, SEQUENCE,
				LeaseStatementTimeouts.of(Duration.ofSeconds(5)), "store_test_released") {

			@Override
			public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime,
					Duration rowLockTimeout) {
				return tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, Duration.ofSeconds(4));
			}

		};

		@AfterEach
		void closeStore() {
			this.waiting.close();
		}

		@Override
		protected LeaseStore store() {
			return this.waiting;
		}

		@Override
		protected void expire(String lockName, Duration ago) {
			PostgresLeaseStoreTests.this.expire(lockName, ago);
		}


		/** Only a store that notifies registers waiters. */
		@Test
		void handOverTakesTheWaitersRegistrationOver() {
			String lock = "store-registered-" + UUID.randomUUID();
			Duration lease = Duration.ofSeconds(30);
			Grant first = this.waiting.tryAcquire(lock, "node-a", lease, lease).grant().orElseThrow();
			assertThat(this.waiting.tryAcquire(lock, "node-b", lease, lease, lease).grant()).as("registers").isEmpty();
			Succession second = this.waiting.handOver(lock, first.fencingToken(), "node-a", lease).orElseThrow();
			assertThat(second.othersWaiting()).isTrue();
			Succession third = this.waiting.handOver(lock, second.grant().fencingToken(), "node-a", lease).orElseThrow();
			assertThat(third.othersWaiting()).as("taken over by the hand-over before").isFalse();
			assertThat(this.waiting.tryAcquire(lock, "node-b", lease, lease, lease).grant()).as("registers again")
				.isEmpty();
			assertThat(this.waiting.handOver(lock, third.grant().fencingToken(), "node-a", lease)
				.orElseThrow()
				.othersWaiting()).isTrue();
		}

	}

	@Test
	void rowLockHeldTooLongFailsWithinStatementTimeout() throws SQLException {
		String lock = "store-row-locked-" + UUID.randomUUID();
		store.tryAcquire(lock, "node-a", Duration.ofMillis(1), Duration.ofSeconds(1)).grant().orElseThrow();
		// the next acquire must find the lease expired, so that it waits for the row lock
		Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> store.find(lock)
			.map((row) -> row.expiresAt().isBefore(row.observedAt()))
			.orElse(false));
		try (Connection blocker = dataSource.getConnection()) {
			blocker.setAutoCommit(false);
			try (PreparedStatement statement = blocker
				.prepareStatement("SELECT * FROM " + TABLE + " WHERE lock_name = ? FOR UPDATE")) {
				statement.setString(1, lock);
				statement.executeQuery().close();
			}
			long start = System.nanoTime();
			assertThatThrownBy(() -> store.tryAcquire(lock, "node-b", Duration.ofSeconds(30), Duration.ofMillis(200)))
				.isInstanceOf(LockStoreException.class)
				.hasMessageContaining(lock)
				.hasMessageContaining("55P03");
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(3));
			blocker.rollback();
		}
	}

	@Test
	void statementSettingsDoNotLeakIntoPooledConnections() throws SQLException {
		String lock = "store-settings-" + UUID.randomUUID();
		try (var single = TestDatabase.get().newDataSource(1)) {
			PostgresLeaseStore onOneConnection = new PostgresLeaseStore(single, TABLE, SEQUENCE,
					LeaseStatementTimeouts.of(Duration.ofMillis(700)));
			onOneConnection.tryAcquire(lock, "node-a", Duration.ofSeconds(5), Duration.ofSeconds(1)).grant().orElseThrow();
			try (Connection connection = single.getConnection(); Statement statement = connection.createStatement();
					var rows = statement.executeQuery("SELECT current_setting('statement_timeout'),"
							+ " current_setting('lock_timeout')")) {
				rows.next();
				assertThat(rows.getString(1)).isEqualTo("0");
				assertThat(rows.getString(2)).isEqualTo("0");
			}
		}
	}

	private static void update(String sql, String lockName) {
		try (Connection connection = dataSource.getConnection();
				PreparedStatement statement = connection.prepareStatement(sql)) {
			statement.setString(1, lockName);
			statement.executeUpdate();
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

}
