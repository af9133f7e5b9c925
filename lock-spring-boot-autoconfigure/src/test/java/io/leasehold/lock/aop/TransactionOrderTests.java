package io.leasehold.lock.aop;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * On a method that is both {@code @DistributedLock} and {@code @Transactional}, the lock wraps the
 * transaction: the lease is taken, on a connection of its own, before the transaction begins, and
 * released only after the transaction committed or rolled back.
 */
class TransactionOrderTests {

	private static final String SUFFIX = UUID.randomUUID().toString().replace("-", "").substring(0, 12);

	private static final String PREFIX = "tx-" + SUFFIX + "-";

	private static final String TABLE = "leasehold_tx_test_" + SUFFIX;

	private static LockNode node;

	private static LockNode other;

	private static LedgerService service;

	private static RecordingTransactionManager transactionManager;

	@BeforeAll
	static void startNodes() throws SQLException {
		execute("CREATE TABLE " + TABLE + " (id text PRIMARY KEY)");
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX, "test.table=" + TABLE);
		other = LockNode.start(Config.class, "test.prefix=" + PREFIX, "test.table=" + TABLE);
		service = node.bean(LedgerService.class);
		transactionManager = node.bean(RecordingTransactionManager.class);
	}

	@AfterAll
	static void stopNodes() throws SQLException {
		if (node != null) {
			node.close();
		}
		if (other != null) {
			other.close();
		}
		execute("DROP TABLE IF EXISTS " + TABLE);
	}

	@Test
	void leaseIsHeldBeforeTransactionBegins() {
		String key = newKey();
		String lockName = PREFIX + "tx:" + key;
		service.write(key, null);
		assertThat(transactionManager.leaseAtBegin(lockName)).as("lease in LockContext when the transaction began")
			.hasValueSatisfying((lease) -> assertThat(lease.row()).hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(lease.fencingToken());
			}));
		Inside inside = service.inside(key);
		assertThat(inside.transactionActive()).isTrue();
		assertThat(inside.lease().lockName()).isEqualTo(lockName);
		assertThat(inside.lease().fencingToken()).isEqualTo(transactionManager.leaseAtBegin(lockName).get().fencingToken());
	}

	@Test
	void leaseRowIsCommittedOutsideMethodTransaction() {
		String key = newKey();
		service.write(key, null);
		Inside inside = service.inside(key);
		assertThat(inside.transactionActive()).isTrue();
		assertThat(inside.lease().row()).as("lease row seen from another connection inside the transaction")
			.hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(inside.lease().fencingToken());
			});
	}

	@Test
	void leaseIsReleasedAfterCommit() {
		String key = newKey();
		String lockName = PREFIX + "tx:" + key;
		assertThat(service.write(key, null)).isEqualTo("written");
		Completion completion = service.completion(key);
		assertThat(completion.status()).isEqualTo(TransactionSynchronization.STATUS_COMMITTED);
		assertThat(completion.leaseValidBeforeCommit()).isTrue();
		assertLeaseHeldAtCompletion(completion, lockName);
		assertThat(rowWritten(key)).isTrue();
		assertReleased(lockName, service.inside(key).lease());
	}

	@Test
	void leaseIsReleasedAfterRollbackAndExceptionPropagatesUnchanged() {
		String key = newKey();
		String lockName = PREFIX + "tx:" + key;
		IllegalStateException failure = new IllegalStateException("rejected " + key);
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> service.write(key, failure))
			.isSameAs(failure);
		Completion completion = service.completion(key);
		assertThat(completion.status()).isEqualTo(TransactionSynchronization.STATUS_ROLLED_BACK);
		assertLeaseHeldAtCompletion(completion, lockName);
		assertThat(rowWritten(key)).as("the transaction's write").isFalse();
		assertReleased(lockName, service.inside(key).lease());
	}

	@Test
	void leaseStatementsDoNotJoinCallersTransaction() {
		String key = newKey();
		String lockName = PREFIX + "tx:" + key;
		IllegalStateException failure = new IllegalStateException("caller rolls back " + key);
		assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> node.bean(Caller.class).run(() -> {
			assertThat(TransactionSynchronizationManager.isActualTransactionActive()).isTrue();
			service.write(key, null);
			throw failure;
		})).isSameAs(failure);
		Inside inside = service.inside(key);
		assertThat(inside.lease().row()).as("lease row seen from another connection inside the caller's transaction")
			.hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(inside.lease().fencingToken());
			});
		assertThat(rowWritten(key)).as("the caller's transaction rolled back").isFalse();
		assertReleased(lockName, inside.lease());
	}

	private static void assertLeaseHeldAtCompletion(Completion completion, String lockName) {
		assertThat(completion.leaseValid()).as("lease valid at afterCompletion").isTrue();
		assertThat(completion.contextLease()).as("LockContext at afterCompletion")
			.hasValueSatisfying((lease) -> assertThat(lease.lockName()).isEqualTo(lockName));
		assertThat(completion.row()).as("lease row at afterCompletion")
			.hasValueSatisfying((row) -> assertThat(row.held()).isTrue());
	}

	private static void assertReleased(String lockName, LeaseSnapshot inside) {
		assertThat(inside.lease().isValid()).isFalse();
		assertThat(LockContext.current()).isEmpty();
		assertThat(LeaseTable.isHeld(lockName)).isFalse();
		Optional<Lease> next = other.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(next).as("another node acquires at once").hasValueSatisfying((lease) -> {
			assertThat(lease.fencingToken()).isGreaterThan(inside.fencingToken());
			lease.close();
		});
	}

	private static boolean rowWritten(String key) {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				var statement = connection.prepareStatement("SELECT count(*) FROM " + TABLE + " WHERE id = ?")) {
			statement.setString(1, key);
			try (var rows = statement.executeQuery()) {
				rows.next();
				return rows.getInt(1) == 1;
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static void execute(String sql) throws SQLException {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				Statement statement = connection.createStatement()) {
			statement.execute(sql);
		}
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	record Inside(LeaseSnapshot lease, boolean transactionActive) {

	}

	record Completion(int status, boolean leaseValidBeforeCommit, boolean leaseValid,
			Optional<LeaseTable.Row> row, Optional<Lease> contextLease) {

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import({ LedgerService.class, Caller.class })
	static class Config {

		@Bean
		RecordingTransactionManager transactionManager(DataSource dataSource) {
			return new RecordingTransactionManager(dataSource);
		}

	}

	/** Records, as each transaction begins, which lease the calling thread holds. */
	public static class RecordingTransactionManager extends DataSourceTransactionManager {

		private final Map<String, LeaseSnapshot> leaseAtBegin = new ConcurrentHashMap<>();

		RecordingTransactionManager(DataSource dataSource) {
			super(dataSource);
		}

		@Override
		protected void doBegin(Object transaction, TransactionDefinition definition) {
			LeaseSnapshot.capture().ifPresent((lease) -> this.leaseAtBegin.put(lease.lockName(), lease));
			super.doBegin(transaction, definition);
		}

		Optional<LeaseSnapshot> leaseAtBegin(String lockName) {
			return Optional.ofNullable(this.leaseAtBegin.get(lockName));
		}

	}

	/** A caller that begins the transaction the locked method joins. */
	public static class Caller {

		@Transactional
		public <T> T run(Supplier<T> body) {
			return body.get();
		}

	}

	public static class LedgerService {

		private final JdbcTemplate jdbc;

		private final String table;

		private final Map<String, Inside> inside = new ConcurrentHashMap<>();

		private final Map<String, Completion> completions = new ConcurrentHashMap<>();

		public LedgerService(JdbcTemplate jdbc, @Value("${test.table}") String table) {
			this.jdbc = jdbc;
			this.table = table;
		}

		Inside inside(String key) {
			return this.inside.get(key);
		}

		Completion completion(String key) {
			return this.completions.get(key);
		}

		@DistributedLock(name = "${test.prefix}tx", key = "#key")
		@Transactional
		public String write(String key, @Nullable RuntimeException failure) {
			LeaseSnapshot lease = LeaseSnapshot.current();
			this.inside.put(key, new Inside(lease, TransactionSynchronizationManager.isActualTransactionActive()));
			this.jdbc.update("INSERT INTO " + this.table + " (id) VALUES (?)", key);
			TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

				private boolean validBeforeCommit;

				@Override
				public void beforeCommit(boolean readOnly) {
					this.validBeforeCommit = lease.lease().isValid();
				}

				@Override
				public void afterCompletion(int status) {
					LedgerService.this.completions.put(key, new Completion(status, this.validBeforeCommit,
							lease.lease().isValid(), LeaseTable.find(lease.lockName()), LockContext.current()));
				}

			});
			if (failure != null) {
				throw failure;
			}
			return "written";
		}

	}

}
