package io.leasehold.lock.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * Waiting for a busy lock: a waiter gets the lock soon after its release, gives up after its
 * wait time with a message that names the holder, and holds no pooled connection while it waits.
 */
class WaitingTests {

	private static final String FAST_POLLING_INITIAL = "leasehold.lock.polling.initial-interval=5ms";

	private static final String FAST_POLLING_MAX = "leasehold.lock.polling.max-interval=50ms";

	private static LockNode holder;

	private static LockNode waiter;

	@BeforeAll
	static void startNodes() {
		holder = LockNode.start(Config.class, FAST_POLLING_INITIAL, FAST_POLLING_MAX);
		waiter = LockNode.start(Config.class, FAST_POLLING_INITIAL, FAST_POLLING_MAX);
	}

	@AfterAll
	static void stopNodes() {
		holder.close();
		waiter.close();
	}

	@Test
	void waiterAcquiresSoonAfterTheHolderReleases() {
		String lockName = "waiting-release-" + UUID.randomUUID();
		Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
		AtomicLong acquiredAt = new AtomicLong();
		CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() -> {
			try (Lease lease = waiter.lockManager()
				.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)))) {
				acquiredAt.set(System.nanoTime());
				return lease.fencingToken();
			}
		});
		await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());
		long releasedAt = System.nanoTime();
		held.close();
		assertThat(waiting).succeedsWithin(Duration.ofSeconds(5))
			.satisfies((token) -> assertThat(token).isGreaterThan(held.fencingToken()));
		assertThat(Duration.ofNanos(acquiredAt.get() - releasedAt)).isLessThan(Duration.ofMillis(500));
	}

	@Test
	void waiterGivesUpAfterItsWaitTimeNamingTheLockAndItsHolder() {
		String lockName = "waiting-give-up-" + UUID.randomUUID();
		Duration waitTime = Duration.ofMillis(300);
		try (Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults())) {
			String holderId = ((DefaultLockManager) holder.lockManager()).ownerId();
			long before = System.nanoTime();
			AtomicBoolean ran = new AtomicBoolean();
			assertThatExceptionOfType(LockNotAcquiredException.class)
				.isThrownBy(() -> waiter.lockManager()
					.callWithLock(lockName, LockOptions.defaults().withWaitTime(waitTime), (lease) -> ran.getAndSet(true)))
				.satisfies((ex) -> {
					assertThat(ex.lockName()).isEqualTo(lockName);
					assertThat(ex.waited()).isGreaterThanOrEqualTo(waitTime);
				})
				.withMessageContaining("'" + lockName + "'")
				.withMessageContaining(holderId)
				.withMessageContaining("token " + held.fencingToken());
			Duration elapsed = Duration.ofNanos(System.nanoTime() - before);
			assertThat(elapsed).isGreaterThanOrEqualTo(waitTime).isLessThan(waitTime.plusSeconds(2));
			assertThat(ran).isFalse();
			assertThat(held.isValid()).isTrue();
		}
	}

	@Test
	void annotatedMethodWaitsUpToItsWaitTimeThenThrowsWithoutRunning() {
		String key = UUID.randomUUID().toString();
		String lockName = Waiter.LOCK_NAME + ":" + key;
		Waiter bean = waiter.bean(Waiter.class);
		try (Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults())) {
			long before = System.nanoTime();
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> bean.run(key))
				.withMessageContaining("'" + lockName + "'")
				.withMessageContaining("token " + held.fencingToken());
			assertThat(Duration.ofNanos(System.nanoTime() - before)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
			assertThat(bean.runs()).isZero();
		}
		assertThat(bean.run(key)).isTrue();
		assertThat(bean.runs()).isOne();
	}

	@Test
	void waitersHoldNoPooledConnectionWhileTheyWait() throws Exception {
		String lockName = "waiting-pool-" + UUID.randomUUID();
		int waiters = 10;
		try (LockNode small = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=2",
				"spring.datasource.hikari.connection-timeout=1000")) {
			HikariPoolMXBean pool = ((HikariDataSource) small.context().getBean(DataSource.class)).getHikariPoolMXBean();
			JdbcTemplate applicationJdbc = new JdbcTemplate(small.context().getBean(DataSource.class));
			Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
			ExecutorService executor = Executors.newFixedThreadPool(waiters);
			try {
				CountDownLatch started = new CountDownLatch(waiters);
				List<CompletableFuture<Long>> results = new ArrayList<>();
				for (int i = 0; i < waiters; i++) {
					results.add(CompletableFuture.supplyAsync(() -> {
						started.countDown();
						try (Lease lease = small.lockManager()
							.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(30)))) {
							return lease.fencingToken();
						}
					}, executor));
				}
				assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
				int samples = 0;
				int idleSamples = 0;
				int maxAwaitingConnection = 0;
				long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
				while (System.nanoTime() < end) {
					samples++;
					if (pool.getActiveConnections() == 0) {
						idleSamples++;
					}
					maxAwaitingConnection = Math.max(maxAwaitingConnection, pool.getThreadsAwaitingConnection());
					// the application still gets connections from the pool while ten callers wait
					assertThat(applicationJdbc.queryForObject("SELECT 1", Integer.class)).isOne();
					Thread.sleep(5);
				}
				assertThat(results).noneMatch(CompletableFuture::isDone);
				assertThat(idleSamples).as("samples with no active connection, of %d", samples)
					.isGreaterThan(samples / 2);
				held.close();
				for (CompletableFuture<Long> result : results) {
					assertThat(result).succeedsWithin(Duration.ofSeconds(30))
						.satisfies((token) -> assertThat(token).isGreaterThan(held.fencingToken()));
				}
				assertThat(results.stream().map(CompletableFuture::join).distinct()).hasSize(waiters);
			}
			finally {
				executor.shutdownNow();
			}
		}
	}

	@Test
	void waiterLearnsOfAReleaseWithoutWaitingOutItsPollingInterval() {
		String lockName = "waiting-notify-" + UUID.randomUUID();
		try (LockNode slowPolling = LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=2s",
				"leasehold.lock.polling.max-interval=2s")) {
			Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
			AtomicLong acquiredAt = new AtomicLong();
			CompletableFuture<Long> waiting = CompletableFuture.supplyAsync(() -> {
				try (Lease lease = slowPolling.lockManager()
					.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)))) {
					acquiredAt.set(System.nanoTime());
					return lease.fencingToken();
				}
			});
			await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());
			long releasedAt = System.nanoTime();
			held.close();
			assertThat(waiting).succeedsWithin(Duration.ofSeconds(5));
			assertThat(Duration.ofNanos(acquiredAt.get() - releasedAt)).isLessThan(Duration.ofMillis(500));
		}
	}

	static class Waiter {

		static final String LOCK_NAME = "waiting-annotated";

		private final AtomicInteger runs = new AtomicInteger();

		@DistributedLock(name = LOCK_NAME, key = "#key", waitTime = "300ms")
		public boolean run(String key) {
			this.runs.incrementAndGet();
			return true;
		}

		public int runs() {
			return this.runs.get();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Waiter waiter() {
			return new Waiter();
		}

	}

}
