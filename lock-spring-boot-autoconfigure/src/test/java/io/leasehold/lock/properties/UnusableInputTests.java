package io.leasehold.lock.properties;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.core.LockNames;
import io.leasehold.lock.properties.DistributedLockInputProperties.Key;
import io.leasehold.lock.properties.DistributedLockInputProperties.KeyedService;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The inputs the property tests found mishandled, one example each, now refused clearly before
 * anything is written (or, for the longest allowed name, handled like any other): regression
 * tests for those fixes.
 */
class UnusableInputTests {

	private static final String RUN = LockNameProperties.RUN;

	private static final LockOptions OPTIONS = LockOptions.defaults().withLeaseTime(Duration.ofSeconds(20));

	private static LockNode nodeA;

	private static LockNode nodeB;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		nodeA = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + RUN + "bug");
		nodeB = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + RUN + "bug");
	}

	@AfterAll
	static void stopNodes() {
		if (nodeA != null) {
			nodeA.close();
		}
		if (nodeB != null) {
			nodeB.close();
		}
	}

	@BeforeEach
	void resetBodyRuns() {
		DistributedLockInputProperties.BODY_RUNS.set(0);
	}

	@Test
	void nameOfEightThousandBytesIsRefusedBeforeAnythingIsWritten() {
		String name = RUN + "n".repeat(LockNameProperties.NOTIFY_LIMIT);
		assertThatIllegalArgumentException().isThrownBy(() -> nodeA.lockManager().tryAcquire(name, OPTIONS))
			.withMessageContaining("lockName")
			.withMessageContaining("at most " + LockNames.MAX_BYTES);
		assertThat(nodeA.bean(LeaseStore.class).find(name)).as("no lease row written").isEmpty();
	}

	@Test
	void nameOfTheLongestAllowedLengthIsReleasedToAWaiterOnAnotherNode() throws Exception {
		String name = RUN + "n".repeat(LockNames.MAX_BYTES - RUN.length());
		Lease lease = nodeA.lockManager().tryAcquire(name, OPTIONS).orElseThrow();
		CompletableFuture<Optional<Lease>> waiter = CompletableFuture.supplyAsync(
				() -> nodeB.lockManager().tryAcquire(name, OPTIONS.withWaitTime(Duration.ofSeconds(10))));
		Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> waiterRegistered(name));
		long releasedAt = System.nanoTime();
		lease.close();
		Optional<Lease> again = waiter.get(10, TimeUnit.SECONDS);
		Duration handOff = Duration.ofNanos(System.nanoTime() - releasedAt);
		again.ifPresent(Lease::close);
		// woken by the release's notification, not by its safety poll (5 s +- 25%)
		assertThat(handOff).isLessThan(Duration.ofSeconds(2));
		assertThat(again).as("the waiter on another node acquires the name after its release").isPresent();
	}

	private boolean waiterRegistered(String name) {
		return Boolean.TRUE.equals(this.jdbc.query(
				"SELECT waiters_until > clock_timestamp() FROM leasehold_lock WHERE lock_name = ?",
				(rows) -> rows.next() && rows.getBoolean(1), name));
	}

	@Test
	void nameWithAnUnpairedSurrogateIsRefusedOrKeptApart() {
		String lone = RUN + "x\uD800";
		String question = RUN + "x?";
		Optional<Lease> held;
		try {
			held = nodeA.lockManager().tryAcquire(lone, OPTIONS);
		}
		catch (IllegalArgumentException ex) {
			assertThat(ex).hasMessageContaining("lockName");
			return;
		}
		try (Lease lease = held.orElseThrow()) {
			assertThat(this.jdbc.queryForObject("SELECT lock_name FROM leasehold_lock WHERE fencing_token = ?",
					String.class, lease.fencingToken()).equals(lone)).as("lock_name stored exactly").isTrue();
			Optional<Lease> other = nodeB.lockManager().tryAcquire(question, OPTIONS);
			other.ifPresent(Lease::close);
			assertThat(other).as("'x?' while 'x\\uD800' is held").isPresent();
		}
	}

	@Test
	void tooLongANameIsRefusedAsBadInput() {
		StringBuilder name = new StringBuilder(RUN);
		java.util.Random random = new java.util.Random(42);
		while (name.length() < 3000) {
			name.append((char) ('!' + random.nextInt(0x3000)));
		}
		Throwable refusal = catchThrowable(() -> nodeA.lockManager().tryAcquire(name.toString(), OPTIONS));
		// Today: LockStoreException "the lease database failed (SQLState 54000: index row size ... exceeds
		// btree version 4 maximum 2704 ...)", which reads like an outage and names no limit.
		assertThat(refusal).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lockName");
	}

	@Test
	void nameWithNulIsRefusedAsBadInput() {
		Throwable refusal = catchThrowable(() -> nodeA.lockManager().tryAcquire(RUN + "a\u0000b", OPTIONS));
		// Today: LockStoreException "the lease database failed (SQLState 22021: invalid byte sequence for
		// encoding "UTF8": 0x00)".
		assertThat(refusal).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lockName");
	}

	@Test
	void keyWhoseTextIsNullFailsClearlyWithoutRunning() {
		KeyedService service = nodeA.bean(KeyedService.class);
		assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(() -> service.work(new Key(null)))
			.withMessageContainingAll("\"#key\"", KeyedService.class.getName() + ".work", "null", "did not run");
		assertThat(DistributedLockInputProperties.BODY_RUNS).hasValue(0);
		assertThat(((DefaultLockManager) nodeA.lockManager()).heldLeaseCount()).isZero();
	}

	@Test
	void keyWhoseTextThrowsFailsClearlyWithoutRunning() {
		KeyedService service = nodeA.bean(KeyedService.class);
		Object key = new Object() {

			@Override
			public String toString() {
				throw new IllegalStateException("no text for this key");
			}

		};
		assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(() -> service.work(key))
			.withMessageContainingAll("\"#key\"", KeyedService.class.getName() + ".work", "did not run");
		assertThat(DistributedLockInputProperties.BODY_RUNS).hasValue(0);
		assertThat(((DefaultLockManager) nodeA.lockManager()).heldLeaseCount()).isZero();
	}

	@Test
	void leaseTimeOfThreeHundredYearsIsGrantedAndReleasedOrRefused() {
		String name = RUN + "centuries";
		Throwable refusal = catchThrowable(() -> nodeA.lockManager()
			.tryAcquire(name, LockOptions.defaults().withLeaseTime(Duration.ofDays(365L * 300)))
			.orElseThrow()
			.close());
		if (refusal != null) {
			assertThat(refusal).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTime");
		}
		Optional<Lease> again = nodeB.lockManager().tryAcquire(name, OPTIONS);
		again.ifPresent(Lease::close);
		assertThat(again).as("the name is free after the release or the refusal").isPresent();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(KeyedService.class)
	static class Config {

	}

}
