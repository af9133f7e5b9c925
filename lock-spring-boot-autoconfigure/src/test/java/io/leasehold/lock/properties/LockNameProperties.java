package io.leasehold.lock.properties;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import net.jqwik.api.statistics.Statistics;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseholdException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Lock names at scale, through {@link LockManager} on two nodes sharing one database: every name
 * is either accepted and behaves like any other (exclusive across nodes, freed by release, apart
 * from every other name, stored exactly as given), or refused with an error that says what is
 * wrong, leaving nothing held and running nothing.
 */
class LockNameProperties {

	/** Keeps names of this run apart from rows earlier runs and other suites left. */
	static final String RUN = "props-" + UUID.randomUUID().toString().substring(0, 8) + "|";

	private static final LockOptions OPTIONS = LockOptions.defaults().withLeaseTime(Duration.ofSeconds(20));

	/** PostgreSQL's limit on a notification payload, in bytes. */
	static final int NOTIFY_LIMIT = 8000;

	private static LockNode nodeA;

	private static LockNode nodeB;

	private static final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeContainer
	static void startNodes() {
		nodeA = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
		nodeB = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
	}

	@AfterContainer
	static void stopNodes() {
		if (nodeA != null) {
			nodeA.close();
		}
		if (nodeB != null) {
			nodeB.close();
		}
	}

	@Property(tries = 300, shrinking = ShrinkingMode.BOUNDED)
	void everyNameIsAcceptedAndExclusiveOrRefusedClearly(@ForAll("names") String name) {
		LockManager a = nodeA.lockManager();
		LockManager b = nodeB.lockManager();
		Outcome outcome = Outcome.of(() -> a.tryAcquire(name, OPTIONS));
		Statistics.label("outcome").collect(outcome.describe(name));
		if (outcome.refusal() != null) {
			assertRefusedClearly(name, outcome.refusal());
			assertNothingHeld();
			AtomicBoolean ran = new AtomicBoolean();
			assertThat(catchThrowable(() -> b.callWithLock(name, OPTIONS, (lease) -> ran.getAndSet(true))))
				.as("callWithLock of a refused name").isNotNull();
			assertThat(ran).as("action of a refused name ran").isFalse();
			assertNothingHeld();
			return;
		}
		Lease lease = outcome.lease().orElseThrow(() -> new AssertionError("lock '" + abbreviate(name) + "' was busy"));
		try {
			assertThat(lease.lockName().equals(name)).as("lockName() of the lease equals the name").isTrue();
			String stored = lockNameOfToken(lease.fencingToken());
			assertThat(stored.equals(name)).as("lock_name stored for the grant is '%s', not '%s'", abbreviate(stored),
					abbreviate(name)).isTrue();
			assertThat(b.tryAcquire(name, OPTIONS)).as("second acquire of '%s' from another node", abbreviate(name)).isEmpty();
			AtomicBoolean ran = new AtomicBoolean();
			assertThatExceptionOfType(LockNotAcquiredException.class)
				.isThrownBy(() -> b.callWithLock(name, OPTIONS, (held) -> ran.getAndSet(true)));
			assertThat(ran).as("action ran although the lock was held elsewhere").isFalse();
		}
		finally {
			lease.close();
		}
		assertThat(isHeldInDatabase(name)).as("row of '%s' still held after release", abbreviate(name)).isFalse();
		try (Lease again = b.tryAcquire(name, OPTIONS)
			.orElseThrow(() -> new AssertionError("'" + abbreviate(name) + "' not free after its release"))) {
			assertThat(again.fencingToken()).isGreaterThan(lease.fencingToken());
		}
		assertNothingHeld();
	}

	@Property(tries = 200, shrinking = ShrinkingMode.BOUNDED)
	void distinctNamesNeverCollide(@ForAll("namePairs") Tuple.Tuple2<String, String> pair) {
		String first = pair.get1();
		String second = pair.get2();
		Optional<Lease> held = nodeA.lockManager().tryAcquire(first, OPTIONS);
		assertThat(held).as("first name '%s'", abbreviate(first)).isPresent();
		try (Lease lease = held.get()) {
			Optional<Lease> other = nodeB.lockManager().tryAcquire(second, OPTIONS);
			assertThat(other).as("'%s' while '%s' is held", abbreviate(second), abbreviate(first)).isPresent();
			other.get().close();
		}
		assertNothingHeld();
	}

	@Provide
	Arbitrary<String> names() {
		// Left to the @Disabled tests of library bugs in LockNameBugTests: names of 8000 bytes or
		// more, and names with an unpaired surrogate.
		return LockNames.names().map(LockNameProperties::tagged).filter((name) -> utf8Length(name) < NOTIFY_LIMIT)
			.filter((name) -> !hasLoneSurrogate(name));
	}

	/**
	 * Pairs of different names that differ only slightly: case, unicode normalization, a
	 * surrounding space, a character replaced by one the database or driver might confuse it with.
	 */
	@Provide
	Arbitrary<Tuple.Tuple2<String, String>> namePairs() {
		Arbitrary<String> base = LockNames.shortNames()
			.filter((name) -> !name.isBlank() && name.indexOf(0) < 0 && !hasLoneSurrogate(name));
		Arbitrary<Tuple.Tuple2<String, String>> variants = base.flatMap((name) -> Arbitraries.of(List.of(
				name.toUpperCase(), name.toLowerCase(), name + " ", " " + name, name + "\u0000".replace('\u0000', '?'),
				java.text.Normalizer.normalize(name, java.text.Normalizer.Form.NFD),
				java.text.Normalizer.normalize(name, java.text.Normalizer.Form.NFKC), name + ":", name.strip(),
				name.replace('\'', '"'), name + "\\"))
			.filter((variant) -> !variant.equals(name) && !variant.isBlank())
			.map((variant) -> Tuple.of(name, variant)));
		return variants.map((pair) -> Tuple.of(RUN + pair.get1(), RUN + pair.get2()));
	}

	/** Puts the run's tag before or after the name, so that both of its ends stay awkward. */
	private static String tagged(String name) {
		if (name.isBlank()) {
			return name;
		}
		return ((name.hashCode() & 1) == 0) ? RUN + name : name + "|" + RUN;
	}

	private static void assertRefusedClearly(String name, Throwable refusal) {
		assertThat(refusal).as("refusal of '%s'", abbreviate(name))
			.isInstanceOfAny(IllegalArgumentException.class, LeaseholdException.class);
		assertThat(refusal.getMessage()).as("message of the refusal").isNotBlank();
		if (name.isBlank()) {
			assertThat(refusal).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lockName");
		}
		else {
			// Store refusals name the lock and give the database's reason.
			assertThat(refusal).isInstanceOf(LockStoreException.class).hasMessageContaining("lock '");
		}
	}

	private static void assertNothingHeld() {
		assertThat(((DefaultLockManager) nodeA.lockManager()).heldLeaseCount()).as("leases node A holds").isZero();
		assertThat(((DefaultLockManager) nodeB.lockManager()).heldLeaseCount()).as("leases node B holds").isZero();
	}

	private static String lockNameOfToken(long token) {
		return jdbc.queryForObject("SELECT lock_name FROM leasehold_lock WHERE fencing_token = ?", String.class, token);
	}

	private static boolean isHeldInDatabase(String name) {
		return Boolean.TRUE.equals(jdbc.queryForObject(
				"SELECT coalesce(bool_or(expires_at > clock_timestamp()), false) FROM leasehold_lock WHERE lock_name = ?",
				Boolean.class, name));
	}

	static int utf8Length(String name) {
		return name.getBytes(StandardCharsets.UTF_8).length;
	}

	/** The name shortened and with invisible or unpaired characters escaped, for messages. */
	static String abbreviate(String name) {
		String shown = (name.length() <= 80) ? name : name.substring(0, 60) + "...(" + name.length() + " chars)";
		StringBuilder escaped = new StringBuilder();
		for (char c : shown.toCharArray()) {
			boolean visible = !Character.isISOControl(c) && !Character.isSurrogate(c) && !Character.isWhitespace(c);
			escaped.append((visible || c == ' ') ? String.valueOf(c) : String.format("\\u%04X", (int) c));
		}
		return escaped.toString();
	}

	/** Whether the name holds a surrogate that is not part of a pair: not valid UTF-16. */
	static boolean hasLoneSurrogate(String name) {
		for (int i = 0; i < name.length(); i++) {
			char c = name.charAt(i);
			if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
				i++;
			}
			else if (Character.isSurrogate(c)) {
				return true;
			}
		}
		return false;
	}

	/** What an acquire did: granted or busy, or refused with an exception. */
	record Outcome(Optional<Lease> lease, Throwable refusal) {

		static Outcome of(java.util.function.Supplier<Optional<Lease>> acquire) {
			try {
				return new Outcome(acquire.get(), null);
			}
			catch (RuntimeException ex) {
				return new Outcome(Optional.empty(), ex);
			}
		}

		String describe(String name) {
			if (this.refusal == null) {
				return this.lease.isPresent() ? "accepted" : "busy";
			}
			String why = name.isBlank() ? "blank" : (name.indexOf(0) >= 0) ? "contains NUL"
					: (name.length() >= 1000) ? "long" : "other";
			String message = String.valueOf(this.refusal.getMessage());
			int detail = message.indexOf("(SQLState");
			return "refused (" + why + "): " + this.refusal.getClass().getSimpleName()
					+ ((detail >= 0) ? " " + message.substring(detail).lines().findFirst().orElse("").replaceAll("[0-9]+", "N")
							: "");
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
