package io.leasehold.lock.properties;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Disabled;
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
import io.leasehold.lock.properties.DistributedLockInputProperties.Key;
import io.leasehold.lock.properties.DistributedLockInputProperties.KeyedService;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Inputs the property tests found mishandled, one example each, kept out of the properties so
 * that those stay green. Each is a library bug until the library is fixed.
 */
class LockNameBugTests {

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
	@Disabled("library bug: a lock name of 8000+ bytes is granted but never released (pg_notify payload too long)")
	void releaseFreesANameOfEightThousandBytes() {
		String name = RUN + "n".repeat(LockNameProperties.NOTIFY_LIMIT);
		Lease lease = nodeA.lockManager().tryAcquire(name, OPTIONS).orElseThrow();
		lease.close();
		Optional<Lease> again = nodeB.lockManager().tryAcquire(name, OPTIONS);
		again.ifPresent(Lease::close);
		assertThat(again).as("another node acquires the name after its release").isPresent();
	}

	@Test
	@Disabled("library bug: an unpaired surrogate in a lock name is stored as '?' and collides with another name")
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
	@Disabled("library bug: a lock name too long for the primary key is reported as a lease database failure")
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
	@Disabled("library bug: a lock name with NUL is reported as a lease database failure, not as bad input")
	void nameWithNulIsRefusedAsBadInput() {
		Throwable refusal = catchThrowable(() -> nodeA.lockManager().tryAcquire(RUN + "a\u0000b", OPTIONS));
		// Today: LockStoreException "the lease database failed (SQLState 22021: invalid byte sequence for
		// encoding "UTF8": 0x00)".
		assertThat(refusal).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lockName");
	}

	@Test
	@Disabled("library bug: a key whose toString() returns null fails with a bare NullPointerException")
	void keyWhoseTextIsNullFailsClearlyWithoutRunning() {
		KeyedService service = nodeA.bean(KeyedService.class);
		assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(() -> service.work(new Key(null)))
			.withMessageContainingAll("\"#key\"", KeyedService.class.getName() + ".work", "null", "did not run");
		assertThat(DistributedLockInputProperties.BODY_RUNS).hasValue(0);
		assertThat(((DefaultLockManager) nodeA.lockManager()).heldLeaseCount()).isZero();
	}

	@Test
	@Disabled("library bug: a key whose toString() throws escapes unwrapped, without naming the method and key")
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
	@Disabled("library bug: a lease time over ~292 years is granted in the database, then the acquire throws"
			+ " ArithmeticException (Duration.toNanos overflow) and the lock stays taken for centuries")
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
