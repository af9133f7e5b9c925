package io.leasehold.lock.core;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.FreezableTcpProxy;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A lease that is not renewed ends when its lease time runs out, even though its holder keeps
 * running: the holder learns it from {@code isValid()}, another node takes the lock over with a
 * greater token, and the stale holder cannot release the new holder's lease.
 */
class LeaseExpiryTests {

	private static final Duration LEASE_TIME = Duration.ofMillis(300);

	private static final Duration LOCAL_EXPIRY_MARGIN = Duration.ofMillis(100);

	private static final LockOptions LONG_LEASE = LockOptions.defaults()
		.withLeaseTime(Duration.ofSeconds(30))
		.withWaitTime(Duration.ofSeconds(5));

	private static LockNode a;

	private static LockNode b;

	private static LockNode c;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		String[] properties = { "leasehold.lock.auto-renew=false", "leasehold.lock.lease-time=" + LEASE_TIME.toMillis() + "ms",
				"leasehold.lock.local-expiry-margin=" + LOCAL_EXPIRY_MARGIN.toMillis() + "ms",
				"leasehold.lock.polling.initial-interval=5ms", "leasehold.lock.polling.max-interval=20ms" };
		a = LockNode.start(Config.class, properties);
		b = LockNode.start(Config.class, properties);
		c = LockNode.start(Config.class, properties);
	}

	@AfterAll
	static void stopNodes() {
		a.close();
		b.close();
		c.close();
	}

	@Test
	void leaseThatIsNotRenewedTurnsInvalidWhenItsLeaseTimeRunsOut() {
		String lockName = "expiry-" + UUID.randomUUID();
		Duration leaseTime = Duration.ofMillis(600);
		long before = System.nanoTime();
		Lease lease = a.lockManager().acquire(lockName, LockOptions.defaults().withLeaseTime(leaseTime));
		assertThat(lease.isValid()).isTrue();
		await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(5)).until(() -> !lease.isValid());
		Duration invalidAfter = Duration.ofNanos(System.nanoTime() - before);
		assertThat(invalidAfter).isGreaterThanOrEqualTo(leaseTime.minus(LOCAL_EXPIRY_MARGIN));
		assertThatThrownBy(lease::assertValid).isInstanceOf(LeaseLostException.class)
			.hasMessageContaining(lockName)
			.hasMessageContaining(String.valueOf(lease.fencingToken()))
			.satisfies((ex) -> {
				assertThat(((LeaseLostException) ex).lockName()).isEqualTo(lockName);
				assertThat(((LeaseLostException) ex).fencingToken()).isEqualTo(lease.fencingToken());
			});
		lease.close();
	}

	@Test
	void anotherNodeAcquiresOnlyAfterTheLeaseExpiredByTheDatabaseClockAndGetsAGreaterToken() {
		String lockName = "expiry-takeover-" + UUID.randomUUID();
		Lease stale = a.lockManager().acquire(lockName, LockOptions.defaults());
		assertThat(b.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		try (Lease next = b.lockManager().acquire(lockName, LONG_LEASE)) {
			assertThat(next.fencingToken()).isGreaterThan(stale.fencingToken());
			assertThat(acquiredAt(lockName)).isAfterOrEqualTo(stale.expiresAt());
			assertThat(stale.isValid()).isFalse();
			assertThat(next.isValid()).isTrue();
		}
		finally {
			stale.close();
		}
	}

	@Test
	void staleHolderClosingItsLeaseDoesNotReleaseTheNewHoldersLease() {
		String lockName = "expiry-stale-close-" + UUID.randomUUID();
		Lease stale = a.lockManager().acquire(lockName, LockOptions.defaults());
		Lease next = b.lockManager().acquire(lockName, LONG_LEASE);
		long lostBefore = ((DefaultLockManager) a.lockManager()).leasesLost();
		stale.close();
		assertThat(next.isValid()).isTrue();
		assertThat(c.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
		assertThat(this.jdbc.queryForObject(
				"SELECT fencing_token FROM leasehold_lock WHERE lock_name = ? AND expires_at > clock_timestamp()",
				Long.class, lockName))
			.isEqualTo(next.fencingToken());
		assertThat(((DefaultLockManager) a.lockManager()).leasesLost()).as("leases node a found lost")
			.isEqualTo(lostBefore + 1);
		next.close();
		Optional<Lease> third = c.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(third).isPresent();
		assertThat(third.get().fencingToken()).isGreaterThan(next.fencingToken());
		third.get().close();
	}

	@Test
	void leaseTurnsInvalidAtItsLocalDeadlineWhenTheDatabaseCannotBeReached() {
		String lockName = "expiry-cut-off-" + UUID.randomUUID();
		Duration leaseTime = Duration.ofMillis(600);
		Duration statementTimeout = Duration.ofSeconds(1);
		try (FreezableTcpProxy proxy = FreezableTcpProxy.forTestDatabase();
				LockNode cutOff = LockNode.start(Config.class, "spring.datasource.url=" + proxy.jdbcUrl(),
						"leasehold.lock.auto-renew=true", "leasehold.lock.lease-time=" + leaseTime.toMillis() + "ms",
						"leasehold.lock.local-expiry-margin=" + LOCAL_EXPIRY_MARGIN.toMillis() + "ms",
						"leasehold.lock.statement-timeout=" + statementTimeout.toMillis() + "ms")) {
			long before = System.nanoTime();
			Lease lease = cutOff.lockManager().acquire(lockName, LockOptions.defaults());
			proxy.freeze();
			// Renewals now hang until the client gives the connection up (statement timeout + 1s);
			// the lease must end on the local deadline well before that.
			await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5)).until(() -> !lease.isValid());
			Duration invalidAfter = Duration.ofNanos(System.nanoTime() - before);
			assertThat(invalidAfter).isGreaterThanOrEqualTo(leaseTime.minus(LOCAL_EXPIRY_MARGIN))
				.isLessThan(statementTimeout.plusSeconds(1));
			assertThatThrownBy(lease::assertValid).isInstanceOf(LeaseLostException.class).hasMessageContaining(lockName);
			try (Lease next = b.lockManager().acquire(lockName, LONG_LEASE)) {
				assertThat(next.fencingToken()).isGreaterThan(lease.fencingToken());
				assertThat(acquiredAt(lockName)).isAfterOrEqualTo(lease.expiresAt());
				proxy.thaw();
				lease.close();
				assertThat(next.isValid()).isTrue();
				assertThat(c.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
			}
		}
	}

	private Instant acquiredAt(String lockName) {
		return this.jdbc
			.queryForObject("SELECT acquired_at FROM leasehold_lock WHERE lock_name = ?", Timestamp.class, lockName)
			.toInstant();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
