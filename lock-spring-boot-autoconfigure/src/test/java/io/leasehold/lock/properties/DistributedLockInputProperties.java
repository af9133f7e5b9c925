package io.leasehold.lock.properties;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.quicktheories.api.Pair.of;
import static org.quicktheories.generators.SourceDSL.bigDecimals;
import static org.quicktheories.generators.SourceDSL.doubles;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Values of the SpEL key of {@code @DistributedLock} at scale: a key is either used as given
 * ({@code name + ":" + key}, exclusive across nodes, freed when the method returns) or refused
 * with an error naming the method and the key; the body never runs without the lock.
 */
class DistributedLockInputProperties {

	static final AtomicInteger BODY_RUNS = new AtomicInteger();

	private static final String NAME = LockNameProperties.RUN + "keyed";

	private static LockNode node;

	private static LockNode holder;

	private static KeyedService service;

	private static final Tally TALLY = new Tally("@DistributedLock keys");

	private static final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + NAME);
		holder = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + NAME);
		service = node.bean(KeyedService.class);
	}

	@AfterAll
	static void stopNodes() {
		TALLY.print();
		if (node != null) {
			node.close();
		}
		if (holder != null) {
			holder.close();
		}
	}

	@Test
	void keyIsUsedExactlyOrRefusedAndTheBodyNeverRunsUnlocked() {
		Tally.qt(150).forAll(keys()).describedAs(DistributedLockInputProperties::describe)
			.checkAssert(DistributedLockInputProperties::usedExactlyOrRefused);
	}

	private static void usedExactlyOrRefused(Object key) {
		BODY_RUNS.set(0);
		int rowsBefore = rowsOfThisClass();
		Object result;
		try {
			result = service.work(key);
		}
		catch (RuntimeException ex) {
			TALLY.collect("refused: " + ex.getClass().getSimpleName());
			assertThat(BODY_RUNS).as("body runs of a refused key").hasValue(0);
			assertThat(heldLeases()).isZero();
			assertThat(rowsOfThisClass()).as("lease rows written for the refused key").isEqualTo(rowsBefore);
			String text = keyText(key);
			if (text == null || text.isEmpty()) {
				assertThat(ex).isInstanceOf(LockConfigurationException.class)
					.hasMessageContainingAll("\"#key\"", KeyedService.class.getName() + ".work", "did not run");
			}
			else {
				// Bad input reported as such (a key with NUL, or too long for the table's key), not
				// as a failure of the lease database.
				assertThat(ex).isInstanceOfAny(IllegalArgumentException.class, LockConfigurationException.class)
					.hasMessageContaining("lock");
			}
			return;
		}
		TALLY.collect("accepted");
		String expected = NAME + ":" + key;
		assertThat(BODY_RUNS).hasValue(1);
		assertThat(expected.equals(result)).as("lock name in the body was '%s', expected '%s'",
				LockNameProperties.abbreviate(String.valueOf(result)), LockNameProperties.abbreviate(expected))
			.isTrue();
		assertThat(heldLeases()).as("leases held after the method returned").isZero();
		// The same key held by another node: the body must not run.
		try (Lease held = holder.lockManager().acquire(expected, LockOptions.defaults())) {
			BODY_RUNS.set(0);
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.work(key));
			assertThat(BODY_RUNS).as("body runs while another node held the lock").hasValue(0);
			// A different key still works.
			assertThat(service.work(key + "\u0001other")).isEqualTo(expected + "\u0001other");
		}
		assertThat(heldLeases()).isZero();
	}

	/**
	 * Strings, numbers, objects, null, and keys whose {@code toString()} returns null or throws
	 * (those two also kept as examples in UnusableInputTests).
	 */
	static Gen<Object> keys() {
		Gen<String> strings = LockNames.names();
		Gen<Object> numbers = Generate.oneOf(integers().all().map((n) -> (Object) n), longs().all().map((n) -> (Object) n),
				doubles().any().map((n) -> (Object) n), bigDecimals().ofBytes(12).withScale(4).map((n) -> (Object) n));
		Gen<Object> objects = strings.map(Key::new);
		Gen<Object> textless = Generate.pick(List.of(new Key(null), new Throwing()));
		return Generate.frequency(List.of(of(6, strings.map((s) -> (Object) s)), of(2, numbers), of(2, objects),
				of(1, Generate.constant(() -> null)), of(1, textless)));
	}

	/** Lease rows of the keyed lock of this class. */
	private static int rowsOfThisClass() {
		return jdbc.queryForObject("SELECT count(*) FROM leasehold_lock WHERE strpos(lock_name, ?) > 0",
				Integer.class, NAME + ":");
	}

	private static String describe(Object key) {
		String type = (key != null) ? key.getClass().getSimpleName() + " " : "";
		String text = keyText(key);
		return type + ((text != null) ? "'" + LockNameProperties.abbreviate(text) + "'" : "(no text)");
	}

	private static String keyText(Object key) {
		try {
			return (key != null) ? key.toString() : null;
		}
		catch (RuntimeException ex) {
			return null;
		}
	}

	private static int heldLeases() {
		return ((DefaultLockManager) node.lockManager()).heldLeaseCount() + (LockContext.current().isPresent() ? 1 : 0);
	}

	/** A key argument whose {@code toString()} is the given text. */
	record Key(String text) {

		@Override
		public String toString() {
			return this.text;
		}

	}

	/** A key argument without text: its {@code toString()} throws. */
	static final class Throwing {

		@Override
		public String toString() {
			throw new IllegalStateException("no text for this key");
		}

	}

	static class KeyedService {

		@DistributedLock(name = "${test.name}", key = "#key", leaseTime = "20s")
		public String work(Object key) {
			BODY_RUNS.incrementAndGet();
			return LockContext.current().map(Lease::lockName).orElse("(no lease)");
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(KeyedService.class)
	static class Config {

	}

}
