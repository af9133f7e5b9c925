package io.leasehold.lock.core;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Lease SQL never runs inside the caller's transaction: a lease taken or released in a
 * transaction that rolls back stays taken or released, and an annotated transactional method
 * holds its lock until its transaction has committed or rolled back.
 */
class TransactionIsolationTests {

	static final String TABLE = "leasehold_it_orders_" + UUID.randomUUID().toString().replace("-", "");

	private static LockNode a;

	private static LockNode b;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		new JdbcTemplate(TestDatabase.get().dataSource()).execute("CREATE TABLE " + TABLE + " (id text PRIMARY KEY)");
		a = LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=2ms",
				"leasehold.lock.polling.max-interval=10ms");
		b = LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=2ms",
				"leasehold.lock.polling.max-interval=10ms");
	}

	@AfterAll
	static void stopNodes() {
		a.close();
		b.close();
		new JdbcTemplate(TestDatabase.get().dataSource()).execute("DROP TABLE " + TABLE);
	}

	@Test
	void leaseTakenInACallersTransactionThatRollsBackStaysTaken() {
		String lockName = "tx-acquire-" + UUID.randomUUID();
		String orderId = UUID.randomUUID().toString();
		JdbcTemplate nodeJdbc = new JdbcTemplate(a.bean(DataSource.class));
		TransactionTemplate transaction = new TransactionTemplate(a.bean(PlatformTransactionManager.class));
		Lease lease = transaction.execute((status) -> {
			nodeJdbc.update("INSERT INTO " + TABLE + " (id) VALUES (?)", orderId);
			Lease taken = a.lockManager().acquire(lockName, LockOptions.defaults());
			// committed and visible to others while the caller's transaction is still open
			assertThat(heldToken(lockName)).isEqualTo(taken.fencingToken());
			// and the caller's transaction holds no lock on the lease row
			assertThat(this.jdbc.queryForObject(
					"SELECT fencing_token FROM leasehold_lock WHERE lock_name = ? FOR UPDATE NOWAIT", Long.class,
					lockName))
				.isEqualTo(taken.fencingToken());
			status.setRollbackOnly();
			return taken;
		});
		assertThat(orderCount(orderId)).as("the caller's own write was rolled back").isZero();
		assertThat(heldToken(lockName)).isEqualTo(lease.fencingToken());
		assertThat(lease.isValid()).isTrue();
		assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		lease.close();
		assertThat(heldToken(lockName)).isNull();
	}

	@Test
	void leaseReleasedInACallersTransactionThatRollsBackStaysReleased() {
		String lockName = "tx-release-" + UUID.randomUUID();
		Lease lease = a.lockManager().acquire(lockName, LockOptions.defaults());
		TransactionTemplate transaction = new TransactionTemplate(a.bean(PlatformTransactionManager.class));
		transaction.executeWithoutResult((status) -> {
			new JdbcTemplate(a.bean(DataSource.class)).queryForObject("SELECT pg_current_xact_id()", Object.class);
			lease.close();
			assertThat(heldToken(lockName)).isNull();
			status.setRollbackOnly();
		});
		assertThat(heldToken(lockName)).isNull();
		try (Lease next = b.lockManager().acquire(lockName, LockOptions.defaults())) {
			assertThat(next.fencingToken()).isGreaterThan(lease.fencingToken());
		}
	}

	@Test
	void leaseTakenWithAPoolWithoutAutoCommitIsCommittedAtOnce() {
		String lockName = "tx-no-auto-commit-" + UUID.randomUUID();
		try (LockNode manualCommit = LockNode.start(Config.class, "spring.datasource.hikari.auto-commit=false")) {
			Lease lease = manualCommit.lockManager().acquire(lockName, LockOptions.defaults());
			assertThat(heldToken(lockName)).isEqualTo(lease.fencingToken());
			assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
			lease.close();
			assertThat(heldToken(lockName)).isNull();
		}
	}

	@Test
	void transactionalLockedMethodKeepsItsLockUntilItsTransactionCommitted() throws Exception {
		String key = UUID.randomUUID().toString();
		String lockName = Orders.LOCK_NAME + ":" + key;
		String orderId = UUID.randomUUID().toString();
		Orders orders = a.bean(Orders.class);
		CountDownLatch entered = new CountDownLatch(1);
		CompletableFuture<Long> placed = CompletableFuture
			.supplyAsync(() -> orders.place(key, orderId, false, entered));
		assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
		// the next holder must see the committed order as soon as it has the lock
		long seen = b.lockManager()
			.callWithLock(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)),
					(lease) -> orderCount(orderId));
		assertThat(seen).isOne();
		assertThat(placed).succeedsWithin(Duration.ofSeconds(10)).isEqualTo(1L);
	}

	@Test
	void transactionalLockedMethodKeepsItsLockUntilItsTransactionRolledBack() throws Exception {
		String key = UUID.randomUUID().toString();
		String lockName = Orders.LOCK_NAME + ":" + key;
		String orderId = UUID.randomUUID().toString();
		Orders orders = a.bean(Orders.class);
		CountDownLatch entered = new CountDownLatch(1);
		CompletableFuture<Long> placed = CompletableFuture.supplyAsync(() -> orders.place(key, orderId, true, entered));
		assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
		long rolledBackAt = b.lockManager()
			.callWithLock(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)),
					(lease) -> Orders.rolledBackAt);
		assertThat(rolledBackAt).as("the lock was released only after the rollback").isPositive();
		assertThat(orderCount(orderId)).isZero();
		assertThat(placed).failsWithin(Duration.ofSeconds(10));
	}

	@Test
	void leaseSqlDoesNotJoinTheCallersTransactionThroughATransactionAwareDataSource() {
		String lockName = "tx-aware-" + UUID.randomUUID();
		String orderId = UUID.randomUUID().toString();
		try (LockNode node = LockNode.start(TransactionAwareConfig.class)) {
			JdbcTemplate nodeJdbc = new JdbcTemplate(node.bean(DataSource.class));
			TransactionTemplate transaction = new TransactionTemplate(node.bean(PlatformTransactionManager.class));
			Lease lease = transaction.execute((status) -> {
				nodeJdbc.update("INSERT INTO " + TABLE + " (id) VALUES (?)", orderId);
				Lease taken = node.lockManager().acquire(lockName, LockOptions.defaults());
				status.setRollbackOnly();
				return taken;
			});
			assertThat(orderCount(orderId)).as("the caller's own write was rolled back").isZero();
			assertThat(heldToken(lockName)).isEqualTo(lease.fencingToken());
			lease.close();
		}
	}

	private Long heldToken(String lockName) {
		return this.jdbc
			.queryForList("SELECT fencing_token FROM leasehold_lock WHERE lock_name = ? AND expires_at > clock_timestamp()",
					Long.class, lockName)
			.stream()
			.findFirst()
			.orElse(null);
	}

	private long orderCount(String orderId) {
		return this.jdbc.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE id = ?", Long.class, orderId);
	}

	static class Orders {

		static final String LOCK_NAME = "tx-orders";

		static volatile long rolledBackAt;

		private final JdbcTemplate jdbc;

		Orders(JdbcTemplate jdbc) {
			this.jdbc = jdbc;
		}

		/** Inserts an order, then widens the gap between the method's return and the end of its transaction. */
		@DistributedLock(name = LOCK_NAME, key = "#key")
		@Transactional
		public long place(String key, String orderId, boolean fail, CountDownLatch entered) {
			assertThat(TransactionSynchronizationManager.isActualTransactionActive()).isTrue();
			this.jdbc.update("INSERT INTO " + TABLE + " (id) VALUES (?)", orderId);
			rolledBackAt = 0;
			TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

				@Override
				public void beforeCompletion() {
					try {
						Thread.sleep(300);
					}
					catch (InterruptedException ex) {
						Thread.currentThread().interrupt();
					}
				}

				@Override
				public void afterCompletion(int status) {
					if (status == STATUS_ROLLED_BACK) {
						rolledBackAt = System.nanoTime();
					}
				}

			});
			entered.countDown();
			if (fail) {
				throw new IllegalStateException("Order " + orderId + " rejected");
			}
			return this.jdbc.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE id = ?", Long.class, orderId);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Orders orders(JdbcTemplate jdbcTemplate) {
			return new Orders(jdbcTemplate);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class TransactionAwareConfig {

		@Bean(destroyMethod = "close")
		HikariDataSource targetDataSource() {
			return TestDatabase.get().newDataSource(4);
		}

		@Bean
		@Primary
		DataSource dataSource(HikariDataSource targetDataSource) {
			return new TransactionAwareDataSourceProxy(targetDataSource);
		}

	}

}
