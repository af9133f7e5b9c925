package io.leasehold.lock.properties;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.lifecycle.BeforeTry;
import net.jqwik.api.statistics.Statistics;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;

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

	@BeforeContainer
	static void startNodes() {
		node = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + NAME);
		holder = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3", "test.name=" + NAME);
		service = node.bean(KeyedService.class);
	}

	@AfterContainer
	static void stopNodes() {
		if (node != null) {
			node.close();
		}
		if (holder != null) {
			holder.close();
		}
	}

	@BeforeTry
	void resetBodyRuns() {
		BODY_RUNS.set(0);
	}

	@Property(tries = 300, shrinking = ShrinkingMode.BOUNDED)
	void keyIsUsedExactlyOrRefusedAndTheBodyNeverRunsUnlocked(@ForAll("keys") Object key) {
		Object result;
		try {
			result = service.work(key);
		}
		catch (RuntimeException ex) {
			Statistics.label("outcome").collect("refused: " + ex.getClass().getSimpleName());
			assertThat(BODY_RUNS).as("body runs of a refused key").hasValue(0);
			assertThat(heldLeases()).isZero();
			String text = keyText(key);
			if (text == null || text.isEmpty()) {
				assertThat(ex).isInstanceOf(LockConfigurationException.class)
					.hasMessageContainingAll("\"#key\"", KeyedService.class.getName() + ".work", "did not run");
			}
			else {
				assertThat(ex).isInstanceOfAny(LockStoreException.class, LockConfigurationException.class)
					.hasMessageContaining("lock");
			}
			return;
		}
		Statistics.label("outcome").collect("accepted");
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

	@Provide
	Arbitrary<Object> keys() {
		Arbitrary<String> strings = LockNames.names()
			.filter((key) -> LockNameProperties.utf8Length(NAME + ":" + key) < LockNameProperties.NOTIFY_LIMIT)
			.filter((key) -> !LockNameProperties.hasLoneSurrogate(key));
		Arbitrary<Object> numbers = Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.longs(),
				Arbitraries.doubles(), Arbitraries.bigDecimals());
		// Keys whose toString() returns null or throws are left to LockNameBugTests (library bugs).
		Arbitrary<Object> objects = strings.map(Key::new);
		return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(6, strings.map((s) -> (Object) s)),
				net.jqwik.api.Tuple.of(2, numbers), net.jqwik.api.Tuple.of(2, objects),
				net.jqwik.api.Tuple.of(1, Arbitraries.just(null)));
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
