package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

import io.leasehold.lock.test.TestDatabase;

/**
 * The lease store contract kept by the acquire statement of waiting callers, which also registers
 * the waiter and answers a busy lock with a hint: a caller that does not wait uses a statement of
 * its own (the one {@link PostgresLeaseStoreTests} runs the contract on).
 */
class WaitingAcquireContractTests extends AbstractLeaseStoreContractTests {

	private static final String TABLE = "waiting_store_test_lock";

	private static final String SEQUENCE = "waiting_store_test_token_seq";

	private static final Duration REGISTRATION = Duration.ofSeconds(4);

	private static DataSource dataSource;

	private static PostgresLeaseStore store;

	@BeforeAll
	static void createSchema() {
		dataSource = TestDatabase.get().dataSource();
		new PostgresSchema(dataSource, TABLE, SEQUENCE).create();
		store = new PostgresLeaseStore(dataSource, TABLE, SEQUENCE, LeaseStatementTimeouts.of(Duration.ofSeconds(5)),
				"waiting_store_test_released");
	}

	@AfterAll
	static void closeStore() {
		store.close();
	}

	@Override
	protected LeaseStore store() {
		return new WaitingCallers(store);
	}

	@Override
	protected void expire(String lockName, Duration ago) {
		try (Connection connection = dataSource.getConnection();
				PreparedStatement statement = connection.prepareStatement("UPDATE " + TABLE
						+ " SET expires_at = clock_timestamp() - ? * interval '1 millisecond' WHERE lock_name = ?")) {
			statement.setLong(1, ago.toMillis());
			statement.setString(2, lockName);
			statement.executeUpdate();
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	/** Every acquire as a caller that waits and registers. */
	private record WaitingCallers(PostgresLeaseStore store) implements LeaseStore {

		@Override
		public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout) {
			return this.store.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, REGISTRATION);
		}

		@Override
		public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
				Duration waiterRegistration) {
			return this.store.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, waiterRegistration);
		}

		@Override
		public Optional<Instant> renew(String lockName, long fencingToken, Duration leaseTime) {
			return this.store.renew(lockName, fencingToken, leaseTime);
		}

		@Override
		public boolean release(String lockName, long fencingToken, Duration minHoldTime, boolean waitersHere) {
			return this.store.release(lockName, fencingToken, minHoldTime, waitersHere);
		}

		@Override
		public Optional<LeaseRow> lockForCommit(Connection connection, String lockName) throws SQLException {
			return this.store.lockForCommit(connection, lockName);
		}

		@Override
		public List<LeaseRow> findAll(int limit) {
			return this.store.findAll(limit);
		}

		@Override
		public Optional<LeaseRow> find(String lockName) {
			return this.store.find(lockName);
		}

		@Override
		public int deleteExpired(Duration retention) {
			return this.store.deleteExpired(retention);
		}

	}

}
