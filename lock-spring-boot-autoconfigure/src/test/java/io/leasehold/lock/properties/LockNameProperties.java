package io.leasehold.lock.properties;

import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.quicktheories.api.Pair.of;

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

	private static final Tally TALLY = new Tally("lock names");

	@BeforeAll
	static void startNodes() {
		nodeA = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
		nodeB = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
	}

	@AfterAll
	static void stopNodes() {
		TALLY.print();
		if (nodeA != null) {
			nodeA.close();
		}
		if (nodeB != null) {
			nodeB.close();
		}
	}

	@Test
	void everyNameIsAcceptedAndExclusiveOrRefusedClearly() {
		Tally.qt(150).forAll(names()).describedAs(LockNameProperties::abbreviate)
			.checkAssert(LockNameProperties::acceptedAndExclusiveOrRefusedClearly);
	}

	static void acceptedAndExclusiveOrRefusedClearly(String name) {
		int rowsBefore = rowsOfThisRun();
		LockManager a = nodeA.lockManager();
		LockManager b = nodeB.lockManager();
		Outcome outcome = Outcome.of(() -> a.tryAcquire(name, OPTIONS));
		TALLY.collect(outcome.describe(name));
		if (outcome.refusal() != null) {
			assertRefusedClearly(name, outcome.refusal());
			assertNothingHeld();
			assertThat(rowsOfThisRun()).as("lease rows written for the refused name").isEqualTo(rowsBefore);
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

	/**
	 * A release wakes a node waiting for the name (the release notifies, since a waiter is
	 * registered in the row), and the waiter gets the lock; long names are more frequent here.
	 */
	@Test
	void releaseHandsEveryAcceptedNameToAWaiter() {
		Gen<String> names = Generate.frequency(of(2, names()), of(1, LockNames.longNames().map(LockNameProperties::tagged)));
		Tally.qt(25).forAll(names).describedAs(LockNameProperties::abbreviate)
			.checkAssert(LockNameProperties::releaseHandsTheNameToAWaiter);
	}

	private static void releaseHandsTheNameToAWaiter(String name) {
		Outcome outcome = Outcome.of(() -> nodeA.lockManager().tryAcquire(name, OPTIONS));
		if (outcome.refusal() != null) {
			assertRefusedClearly(name, outcome.refusal());
			assertNothingHeld();
			return;
		}
		Lease lease = outcome.lease().orElseThrow(() -> new AssertionError("lock '" + abbreviate(name) + "' was busy"));
		ExecutorService waiterThread = Executors.newSingleThreadExecutor();
		try {
			Future<Long> waiter;
			try {
				waiter = waiterThread.submit(() -> {
					try (Lease next = nodeB.lockManager().acquire(name, OPTIONS.withWaitTime(Duration.ofSeconds(2)))) {
						return next.fencingToken();
					}
				});
				awaitWaiterRegistered(lease.fencingToken(), waiter);
			}
			finally {
				lease.close();
			}
			assertThat(waiter.get(5, TimeUnit.SECONDS)).as("token the waiter got for '%s'", abbreviate(name))
				.isGreaterThan(lease.fencingToken());
		}
		catch (ExecutionException ex) {
			throw new AssertionError("waiter for '" + abbreviate(name) + "' failed: " + ex.getCause(), ex.getCause());
		}
		catch (InterruptedException | TimeoutException ex) {
			throw new AssertionError("waiter for '" + abbreviate(name) + "' did not get the lock after its release", ex);
		}
		finally {
			waiterThread.shutdownNow();
		}
		assertNothingHeld();
	}

	/** Bounded wait until the row of the held grant records a waiter (or the waiter gave up). */
	private static void awaitWaiterRegistered(long token, Future<Long> waiter) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (!Boolean.TRUE.equals(jdbc.queryForObject(
				"SELECT coalesce(waiters_until > clock_timestamp(), false) FROM leasehold_lock WHERE fencing_token = ?",
				Boolean.class, token))) {
			if (waiter.isDone() || System.nanoTime() - deadline > 0) {
				throw new AssertionError("no waiter registered in the row of token " + token + " within 5 s");
			}
			Thread.sleep(5);
		}
	}

	@Test
	void distinctNamesNeverCollide() {
		Tally.qt(100).forAll(namePairs())
			.describedAs((pair) -> "'" + abbreviate(pair.get(0)) + "' and '" + abbreviate(pair.get(1)) + "'")
			.checkAssert((pair) -> distinctNamesNeverCollide(pair.get(0), pair.get(1)));
	}

	private static void distinctNamesNeverCollide(String first, String second) {
		Optional<Lease> held = nodeA.lockManager().tryAcquire(first, OPTIONS);
		assertThat(held).as("first name '%s'", abbreviate(first)).isPresent();
		try (Lease lease = held.get()) {
			Optional<Lease> other = nodeB.lockManager().tryAcquire(second, OPTIONS);
			assertThat(other).as("'%s' while '%s' is held", abbreviate(second), abbreviate(first)).isPresent();
			other.get().close();
		}
		assertNothingHeld();
	}

	/**
	 * Every generated name, those of 8000 bytes or more and those with an unpaired surrogate
	 * included (each also kept as an example in UnusableInputTests).
	 */
	static Gen<String> names() {
		return LockNames.names().map(LockNameProperties::tagged);
	}

	/**
	 * Pairs of different names that differ only slightly: case, unicode normalization, a
	 * surrounding space, a character replaced by one the database or driver might confuse it with.
	 */
	static Gen<List<String>> namePairs() {
		// The base is cleaned, not filtered: no NUL, no unpaired surrogate, not blank.
		Gen<String> base = LockNames.shortNames().map((name) -> clean(name));
		Gen<List<String>> pairs = base.zip(Generate.range(0, 10), (name, start) -> {
			List<String> variants = List.of(name.toUpperCase(), name.toLowerCase(), name + " ", " " + name,
					name + "\u0000".replace('\u0000', '?'), Normalizer.normalize(name, Normalizer.Form.NFD),
					Normalizer.normalize(name, Normalizer.Form.NFKC), name + ":", name.strip(), name.replace('\'', '"'),
					name + "\\");
			// The first variant from a random start that differs from the name; name + ":" always does.
			for (int i = 0; i < variants.size(); i++) {
				String variant = variants.get((start + i) % variants.size());
				if (!variant.equals(name) && !variant.isBlank()) {
					return List.of(name, variant);
				}
			}
			throw new IllegalStateException("no variant of '" + name + "'");
		});
		return pairs.map((pair) -> List.of(RUN + pair.get(0), RUN + pair.get(1)));
	}

	/** The name without NUL and unpaired surrogates, and not blank. */
	private static String clean(String name) {
		StringBuilder cleaned = new StringBuilder();
		for (int i = 0; i < name.length(); i++) {
			char c = name.charAt(i);
			if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
				cleaned.append(c).append(name.charAt(++i));
			}
			else if (c != 0 && !Character.isSurrogate(c)) {
				cleaned.append(c);
			}
		}
		return cleaned.toString().isBlank() ? cleaned + "n" : cleaned.toString();
	}

	/** Puts the run's tag before or after the name, so that both of its ends stay awkward. */
	private static String tagged(String name) {
		if (name.isBlank()) {
			return name;
		}
		return ((name.hashCode() & 1) == 0) ? RUN + name : name + "|" + RUN;
	}

	/**
	 * A refusal is bad input reported as such, before anything is written: not a lease database
	 * failure (a name with NUL, or too long for the table's key, is the caller's mistake).
	 */
	private static void assertRefusedClearly(String name, Throwable refusal) {
		assertThat(refusal).as("refusal of '%s'", abbreviate(name))
			.isInstanceOfAny(IllegalArgumentException.class, LockConfigurationException.class);
		assertThat(refusal.getMessage()).as("message of the refusal").isNotBlank();
		assertThat(refusal).hasMessageContaining("lockName");
	}

	/** Lease rows whose name carries this run's tag. */
	private static int rowsOfThisRun() {
		return jdbc.queryForObject("SELECT count(*) FROM leasehold_lock WHERE strpos(lock_name, ?) > 0",
				Integer.class, RUN);
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
