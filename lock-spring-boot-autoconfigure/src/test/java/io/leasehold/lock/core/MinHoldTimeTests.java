package io.leasehold.lock.core;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * With a minimum hold time, a lease ends at the later of its release and acquisition plus the
 * minimum hold time, by the database clock.
 */
class MinHoldTimeTests {

	private static final Duration MIN_HOLD = Duration.ofSeconds(1);

	private static final LockOptions WAIT = LockOptions.defaults().withWaitTime(Duration.ofSeconds(5));

	private static LockNode a;

	private static LockNode b;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		a = LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=5ms",
				"leasehold.lock.polling.max-interval=20ms");
		b = LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=5ms",
				"leasehold.lock.polling.max-interval=20ms");
	}

	@AfterAll
	static void stopNodes() {
		a.close();
		b.close();
	}

	@Test
	void annotatedMethodThatReturnsAtOnceKeepsTheLockForItsMinHoldTime() {
		String key = UUID.randomUUID().toString();
		String lockName = ScheduledJob.LOCK_NAME + ":" + key;
		long token = a.bean(ScheduledJob.class).run(key, 0);
		assertLockHeldForMinHoldTimeAfterRelease(lockName, token);
	}

	@Test
	void leaseFromLockManagerClosedAtOnceKeepsTheLockForItsMinHoldTime() {
		String lockName = "min-hold-manager-" + UUID.randomUUID();
		Lease lease = a.lockManager().acquire(lockName, LockOptions.defaults().withMinHoldTime(MIN_HOLD));
		lease.close();
		assertThat(lease.isValid()).isFalse();
		assertLockHeldForMinHoldTimeAfterRelease(lockName, lease.fencingToken());
	}

	@Test
	void leaseHeldLongerThanItsMinHoldTimeIsReleasedAtOnceOnClose() {
		String lockName = "min-hold-exceeded-" + UUID.randomUUID();
		Duration minHold = Duration.ofMillis(200);
		Lease lease = a.lockManager().acquire(lockName, LockOptions.defaults().withMinHoldTime(minHold));
		await().atMost(Duration.ofSeconds(5))
			.pollInterval(Duration.ofMillis(20))
			.until(() -> this.jdbc.queryForObject("SELECT clock_timestamp() > acquired_at + interval '200 milliseconds'"
					+ " FROM leasehold_lock WHERE lock_name = ?", Boolean.class, lockName));
		lease.close();
		Optional<Lease> next = b.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(next).isPresent();
		assertThat(next.get().fencingToken()).isGreaterThan(lease.fencingToken());
		next.get().close();
	}

	private void assertLockHeldForMinHoldTimeAfterRelease(String lockName, long token) {
		Map<String, Object> released = this.jdbc.queryForMap(
				"SELECT fencing_token, acquired_at, expires_at, expires_at > clock_timestamp() AS held"
						+ " FROM leasehold_lock WHERE lock_name = ?",
				lockName);
		assertThat(released.get("fencing_token")).isEqualTo(token);
		assertThat(released.get("held")).as("lease still held after its holder returned").isEqualTo(true);
		Instant acquiredAt = ((Timestamp) released.get("acquired_at")).toInstant();
		Instant expiresAt = ((Timestamp) released.get("expires_at")).toInstant();
		assertThat(Duration.between(acquiredAt, expiresAt)).isEqualTo(MIN_HOLD);
		assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		try (Lease next = b.lockManager().acquire(lockName, WAIT)) {
			assertThat(next.fencingToken()).isGreaterThan(token);
			Instant nextAcquiredAt = this.jdbc
				.queryForObject("SELECT acquired_at FROM leasehold_lock WHERE lock_name = ?", Timestamp.class, lockName)
				.toInstant();
			assertThat(nextAcquiredAt).isAfterOrEqualTo(acquiredAt.plus(MIN_HOLD))
				.isBefore(acquiredAt.plus(MIN_HOLD).plusSeconds(1));
		}
	}

	static class ScheduledJob {

		static final String LOCK_NAME = "min-hold-annotated";

		@DistributedLock(name = LOCK_NAME, key = "#key", minHoldTime = "1s")
		public long run(String key, @FencingToken long token) {
			return token;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		ScheduledJob scheduledJob() {
			return new ScheduledJob();
		}

	}

}
