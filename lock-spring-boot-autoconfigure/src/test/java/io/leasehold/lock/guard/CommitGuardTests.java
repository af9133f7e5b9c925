package io.leasehold.lock.guard;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A holder paused past its lease inside its transaction, while another node takes the lock and
 * writes: with CORRECTNESS the paused holder's commit is rolled back, with EFFICIENCY it goes
 * through. Two application contexts, one PostgreSQL.
 */
class CommitGuardTests {

	private static final String TABLE = "guard_test_item";

	private static LockNode paused;

	private static LockNode other;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void startNodes() {
		jdbc = new JdbcTemplate(TestDatabase.get().dataSource());
		jdbc.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " (id text PRIMARY KEY, fencing_token bigint NOT NULL)");
		String[] shortLeases = { "leasehold.lock.lease-time=400ms", "leasehold.lock.auto-renew=false",
				"leasehold.lock.local-expiry-margin=0ms" };
		paused = LockNode.start(Config.class, shortLeases);
		other = LockNode.start(Config.class, shortLeases);
	}

	@AfterAll
	static void stopNodes() {
		paused.close();
		other.close();
	}

	@Test
	void correctnessHolderPausedPastItsLeaseHasItsCommitRolledBack() throws Exception {
		String id = "correct-" + UUID.randomUUID();
		Pausing writer = paused.bean(Pausing.class);
		CompletableFuture<Void> stale = CompletableFuture.runAsync(() -> writer.correctness(id, 0));
		assertThat(writer.awaitPaused()).isTrue();
		long newerToken = takeOverAfterExpiry(id);
		writer.resume();
		assertThat(stale).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOf(StaleFencingTokenException.class)
			.withMessageContaining("lock 'guarded:" + id + "'");
		assertThat(rowsOf(id + "-stale")).as("the paused holder's insert").isZero();
		assertThat(jdbc.queryForObject("SELECT fencing_token FROM " + TABLE + " WHERE id = ?", Long.class, id))
			.isEqualTo(newerToken);
	}

	@Test
	void correctnessHolderWhoseLeaseExpiredWithoutTakeoverHasItsCommitRolledBack() throws Exception {
		String id = "expired-" + UUID.randomUUID();
		Pausing writer = paused.bean(Pausing.class);
		CompletableFuture<Void> stale = CompletableFuture.runAsync(() -> writer.correctness(id, 0));
		assertThat(writer.awaitPaused()).isTrue();
		awaitExpiry("guarded:" + id);
		writer.resume();
		assertThat(stale).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOf(LeaseLostException.class);
		assertThat(rowsOf(id + "-stale")).isZero();
	}

	@Test
	void efficiencyHolderPausedPastItsLeaseCommits() throws Exception {
		String id = "efficient-" + UUID.randomUUID();
		Pausing writer = paused.bean(Pausing.class);
		CompletableFuture<Void> stale = CompletableFuture.runAsync(() -> writer.efficiency(id, 0));
		assertThat(writer.awaitPaused()).isTrue();
		takeOverAfterExpiry(id);
		writer.resume();
		assertThat(stale).succeedsWithin(Duration.ofSeconds(10));
		assertThat(rowsOf(id + "-stale")).isOne();
	}

	@Test
	void transactionTemplateCommitIsGuardedToo() throws Exception {
		String id = "template-" + UUID.randomUUID();
		LockManager manager = paused.lockManager();
		TransactionTemplate transactions = paused.bean(TransactionTemplate.class);
		JdbcTemplate nodeJdbc = paused.bean(JdbcTemplate.class);
		CountDownLatch written = new CountDownLatch(1);
		CountDownLatch resume = new CountDownLatch(1);
		CompletableFuture<Void> stale = CompletableFuture.runAsync(() -> {
			try (Lease lease = manager.acquire("guarded:" + id, LockOptions.defaults())) {
				transactions.executeWithoutResult((status) -> {
					nodeJdbc.update("INSERT INTO " + TABLE + " (id, fencing_token) VALUES (?, ?)", id + "-stale",
							lease.fencingToken());
					written.countDown();
					await(resume);
				});
			}
		});
		assertThat(written.await(10, TimeUnit.SECONDS)).isTrue();
		takeOverAfterExpiry(id);
		resume.countDown();
		assertThat(stale).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOf(StaleFencingTokenException.class);
		assertThat(rowsOf(id + "-stale")).isZero();
	}

	@Test
	void holdersThatKeepTheirLeasesAreNeverRejected() {
		LockNode node = paused;
		Pausing writer = node.bean(Pausing.class);
		String id = "steady-" + UUID.randomUUID();
		for (int i = 0; i < 200; i++) {
			writer.quick(id + "-" + (i % 5), i);
		}
		assertThat(jdbc.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE id LIKE ?", Integer.class,
				id + "-%-quick-%")).isEqualTo(200);
	}

	/** Waits for the lease to expire by the database clock, then takes the lock on the other node and writes. */
	private static long takeOverAfterExpiry(String id) {
		awaitExpiry("guarded:" + id);
		try (Lease lease = other.lockManager()
			.acquire("guarded:" + id, LockOptions.defaults().withWaitTime(Duration.ofSeconds(5)))) {
			insert(id, lease.fencingToken());
			return lease.fencingToken();
		}
	}

	private static void awaitExpiry(String lockName) {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (Boolean.TRUE.equals(jdbc.queryForObject(
				"SELECT coalesce(bool_or(expires_at > clock_timestamp()), false) FROM leasehold_lock WHERE lock_name = ?",
				Boolean.class, lockName))) {
			assertThat(System.nanoTime() - deadline).as("lease of " + lockName + " expires").isNegative();
		}
	}

	private static void insert(String id, long token) {
		jdbc.update("INSERT INTO " + TABLE + " (id, fencing_token) VALUES (?, ?)", id, token);
	}

	private static int rowsOf(String id) {
		return jdbc.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE id = ?", Integer.class, id);
	}

	private static void await(CountDownLatch latch) {
		try {
			assertThat(latch.await(10, TimeUnit.SECONDS)).isTrue();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	/** Writes in a transaction, then pauses until told to go on, as a holder stopped by a long GC would. */
	static class Pausing {

		final JdbcTemplate jdbc;

		volatile CountDownLatch paused = new CountDownLatch(1);

		volatile CountDownLatch resume = new CountDownLatch(1);

		Pausing(JdbcTemplate jdbc) {
			this.jdbc = jdbc;
		}

		@DistributedLock(name = "guarded", key = "#id")
		@Transactional
		public void correctness(String id, @FencingToken long token) {
			write(id, token);
		}

		@DistributedLock(name = "guarded", key = "#id", purpose = Purpose.EFFICIENCY)
		@Transactional
		public void efficiency(String id, @FencingToken long token) {
			write(id, token);
		}

		@DistributedLock(name = "guarded-quick", key = "#id", waitTime = "5s")
		@Transactional
		public void quick(String id, @FencingToken long token) {
			this.jdbc.update("INSERT INTO " + TABLE + " (id, fencing_token) VALUES (?, ?)", id + "-quick-" + token,
					token);
		}

		public boolean awaitPaused() throws InterruptedException {
			return this.paused.await(10, TimeUnit.SECONDS);
		}

		public void resume() {
			this.resume.countDown();
		}

		private void write(String id, long token) {
			this.jdbc.update("INSERT INTO " + TABLE + " (id, fencing_token) VALUES (?, ?)", id + "-stale", token);
			CountDownLatch resumed = this.resume;
			this.paused.countDown();
			CommitGuardTests.await(resumed);
			this.paused = new CountDownLatch(1);
			this.resume = new CountDownLatch(1);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Pausing pausing(JdbcTemplate jdbc) {
			return new Pausing(jdbc);
		}

	}

}
