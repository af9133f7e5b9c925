package io.leasehold.lock.core;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * With auto-renew, a holder running many lease lengths keeps its lease; when a renewal finds the
 * lease gone, the lease turns invalid at once and the loss is counted.
 */
class RenewalTests {

	private static final Duration LEASE_TIME = Duration.ofMillis(1000);

	private static LockNode a;

	private static LockNode b;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		// renew every 250ms and end leases locally 300ms early: a renewal may stall ~450ms before
		// the lease turns invalid locally, and a lease valid when the method returns has 300ms left
		// in the database for its release to arrive. Loaded 2-core CI runs lost a 300ms lease with
		// 175ms of slack, and a 600ms lease whose release came more than its 100ms margin late.
		String[] properties = { "leasehold.lock.auto-renew=true",
				"leasehold.lock.lease-time=" + LEASE_TIME.toMillis() + "ms", "leasehold.lock.renewal-ratio=0.25",
				"leasehold.lock.local-expiry-margin=300ms" };
		a = LockNode.start(Config.class, properties);
		b = LockNode.start(Config.class, properties);
	}

	@AfterAll
	static void stopNodes() {
		a.close();
		b.close();
	}

	@Test
	void annotatedMethodRunningManyLeaseLengthsKeepsItsLease() throws Exception {
		String key = UUID.randomUUID().toString();
		String lockName = LongTask.LOCK_NAME + ":" + key;
		LongTask task = a.bean(LongTask.class);
		long lostBefore = ((DefaultLockManager) a.lockManager()).leasesLost();
		AtomicReference<Lease> held = new AtomicReference<>();
		CountDownLatch started = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		CompletableFuture<Boolean> result = CompletableFuture
			.supplyAsync(() -> task.run(key, held, started, finish));
		assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
		Lease lease = held.get();
		Instant firstExpiry = lease.expiresAt();
		List<Instant> expiries = new ArrayList<>();
		long end = System.nanoTime() + LEASE_TIME.multipliedBy(5).toNanos();
		int checks = 0;
		while (System.nanoTime() < end) {
			assertThat(lease.isValid()).as("lease valid after %d checks", checks).isTrue();
			assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
			expiries.add(lease.expiresAt());
			checks++;
			Thread.sleep(50);
		}
		assertThat(lease.isValid()).isTrue();
		Instant lastExpiry = lease.expiresAt();
		finish.countDown();
		assertThat(result.get(10, TimeUnit.SECONDS)).as("lease still valid when the method returned").isTrue();
		assertThat(checks).isGreaterThan(10);
		assertThat(lastExpiry).isAfter(firstExpiry.plus(LEASE_TIME.multipliedBy(15).dividedBy(4)));
		assertThat(expiries).isSorted();
		assertThat(((DefaultLockManager) a.lockManager()).leasesLost()).isEqualTo(lostBefore);
		assertThat(lease.isValid()).isFalse();
		Optional<Lease> next = b.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(next).isPresent();
		next.get().close();
	}

	@Test
	void leaseFromLockManagerKeepsGoingWhileHeldAndTheDatabaseRowMovesForward() throws Exception {
		String lockName = "renewal-manager-" + UUID.randomUUID();
		try (Lease lease = a.lockManager().acquire(lockName, LockOptions.defaults())) {
			Instant acquiredAt = this.jdbc.queryForObject("SELECT acquired_at FROM leasehold_lock WHERE lock_name = ?",
					Timestamp.class, lockName)
				.toInstant();
			await().atMost(Duration.ofSeconds(10))
				.pollInterval(Duration.ofMillis(50))
				.until(() -> databaseExpiry(lockName).isAfter(acquiredAt.plus(LEASE_TIME.multipliedBy(5))));
			assertThat(lease.isValid()).isTrue();
			assertThat(lease.expiresAt()).isAfter(acquiredAt.plus(LEASE_TIME.multipliedBy(3)));
			assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		}
	}

	@Test
	void renewalFindingTheLeaseTakenOverMakesItInvalidPromptlyAndCountsTheLoss() {
		String lockName = "renewal-lost-" + UUID.randomUUID();
		Duration leaseTime = Duration.ofMillis(1500);
		Duration renewalInterval = leaseTime.dividedBy(4);
		DefaultLockManager manager = (DefaultLockManager) a.lockManager();
		long lostBefore = manager.leasesLost();
		Lease lease = manager.acquire(lockName, LockOptions.defaults().withLeaseTime(leaseTime));
		expireInDatabase(lockName);
		Lease next = b.lockManager().acquire(lockName, LockOptions.defaults().withLeaseTime(Duration.ofSeconds(30)));
		long takenOver = System.nanoTime();
		assertThat(next.fencingToken()).isGreaterThan(lease.fencingToken());
		await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> !lease.isValid());
		Duration noticedAfter = Duration.ofNanos(System.nanoTime() - takenOver);
		// the local deadline alone would end the lease only ~1.45s after the last renewal
		assertThat(noticedAfter).isLessThan(renewalInterval.plusMillis(300));
		assertThat(manager.leasesLost()).as("leases found lost, counted before close").isEqualTo(lostBefore + 1);
		assertThatThrownBy(lease::assertValid).isInstanceOf(LeaseLostException.class)
			.hasMessageContaining(lockName)
			.hasMessageContaining(String.valueOf(lease.fencingToken()));
		lease.close();
		assertThat(manager.leasesLost()).as("a lost lease is counted once").isEqualTo(lostBefore + 1);
		assertThat(next.isValid()).isTrue();
		assertThat(a.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		next.close();
	}

	@Test
	void renewalFindingTheLeaseExpiredMakesItInvalidEvenWhenNobodyTookItOver() {
		String lockName = "renewal-expired-" + UUID.randomUUID();
		Duration leaseTime = Duration.ofMillis(1500);
		DefaultLockManager manager = (DefaultLockManager) a.lockManager();
		long lostBefore = manager.leasesLost();
		Lease lease = manager.acquire(lockName, LockOptions.defaults().withLeaseTime(leaseTime));
		expireInDatabase(lockName);
		long expired = System.nanoTime();
		await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> !lease.isValid());
		assertThat(Duration.ofNanos(System.nanoTime() - expired)).isLessThan(leaseTime.dividedBy(4).plusMillis(300));
		assertThat(manager.leasesLost()).isEqualTo(lostBefore + 1);
		assertThatThrownBy(lease::assertValid).isInstanceOf(LeaseLostException.class);
		lease.close();
	}

	@Test
	void lostLeaseMakesAssertValidThrowInsideTheAnnotatedMethod() throws Exception {
		String key = UUID.randomUUID().toString();
		String lockName = LongTask.LOCK_NAME + ":" + key;
		LongTask task = a.bean(LongTask.class);
		AtomicReference<Lease> held = new AtomicReference<>();
		CountDownLatch started = new CountDownLatch(1);
		CountDownLatch finish = new CountDownLatch(1);
		CompletableFuture<Void> result = CompletableFuture.runAsync(() -> task.runAndAssert(key, held, started, finish));
		assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
		expireInDatabase(lockName);
		await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> !held.get().isValid());
		finish.countDown();
		assertThat(result).failsWithin(Duration.ofSeconds(10))
			.withThrowableOfType(java.util.concurrent.ExecutionException.class)
			.havingCause()
			.isInstanceOf(LeaseLostException.class)
			.withMessageContaining(lockName);
	}

	private void expireInDatabase(String lockName) {
		assertThat(this.jdbc.update(
				"UPDATE leasehold_lock SET expires_at = clock_timestamp() - interval '1 second' WHERE lock_name = ?",
				lockName))
			.isOne();
	}

	private Instant databaseExpiry(String lockName) {
		return this.jdbc
			.queryForObject("SELECT expires_at FROM leasehold_lock WHERE lock_name = ?", Timestamp.class, lockName)
			.toInstant();
	}

	static class LongTask {

		static final String LOCK_NAME = "renewal-annotated";

		@DistributedLock(name = LOCK_NAME, key = "#key")
		public boolean run(String key, AtomicReference<Lease> held, CountDownLatch started, CountDownLatch finish) {
			Lease lease = LockContext.current().orElseThrow();
			held.set(lease);
			started.countDown();
			await(finish);
			return lease.isValid();
		}

		@DistributedLock(name = LOCK_NAME, key = "#key", leaseTime = "1500ms")
		public void runAndAssert(String key, AtomicReference<Lease> held, CountDownLatch started,
				CountDownLatch finish) {
			Lease lease = LockContext.current().orElseThrow();
			held.set(lease);
			started.countDown();
			await(finish);
			lease.assertValid();
		}

		private static void await(CountDownLatch latch) {
			try {
				if (!latch.await(30, TimeUnit.SECONDS)) {
					throw new IllegalStateException("Not released by the test");
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
				throw new IllegalStateException(ex);
			}
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		LongTask longTask() {
			return new LongTask();
		}

	}

}
