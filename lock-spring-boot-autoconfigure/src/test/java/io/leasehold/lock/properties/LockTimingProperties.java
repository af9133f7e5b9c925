package io.leasehold.lock.properties;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.autoconfigure.LeaseholdLockAutoConfiguration;
import io.leasehold.lock.autoconfigure.LeaseholdLockProperties;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.quicktheories.api.Pair.of;
import static org.quicktheories.generators.SourceDSL.longs;

/**
 * Durations at scale, through {@link LockOptions} and through the {@code leasehold.lock.*}
 * properties: every value is either accepted and behaves (a lock is taken and released, and the
 * lease row's expiry, by the database clock, matches the lease time and the minimum hold time), or
 * refused with an error naming the option or property, before anything is written: no lease row
 * for the lock, nothing held, no body run.
 */
class LockTimingProperties {

	private static final String RUN = "timing-" + LockNameProperties.RUN.substring(6, 14) + "-";

	private static final AtomicInteger LOCKS = new AtomicInteger();

	/** The lease time the options path uses when the example is not about the lease time. */
	private static final Duration LEASE = Duration.ofSeconds(20);

	/** The default of {@code leasehold.lock.lease-time}. */
	private static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);

	/** Lease times are sent in whole milliseconds; statements take a little time. */
	private static final BigDecimal SLACK = new BigDecimal("0.005");

	/** Busy-lock waits are checked only for wait times up to this. */
	private static final Duration SHORT_WAIT = Duration.ofMillis(300);

	private static final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	private static final Tally TALLY = new Tally("durations");

	private static LockNode node;

	private static LockNode other;

	private static final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(PropertyPlaceholderAutoConfiguration.class,
				DataSourceAutoConfiguration.class, LeaseholdLockAutoConfiguration.class))
		.withPropertyValues(TestDatabase.get().datasourceProperties())
		.withPropertyValues("spring.datasource.hikari.maximum-pool-size=2", "leasehold.lock.notify.enabled=false");

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
		other = LockNode.start(Config.class, "spring.datasource.hikari.maximum-pool-size=3");
	}

	@AfterAll
	static void stopNodes() {
		TALLY.print();
		if (node != null) {
			node.close();
		}
		if (other != null) {
			other.close();
		}
	}

	// --- LockOptions through LockManager

	@Test
	void everyOptionDurationIsAcceptedAndHonouredOrRefusedClearly() {
		Tally.qt(100).forAll(Generate.enumValues(Setting.class).zip(durations(), OptionInput::new))
			.describedAs((input) -> input.setting().option + "=" + input.value())
			.checkAssert((input) -> optionAcceptedOrRefused(input.setting(), input.value()));
	}

	@ParameterizedTest(name = "{0} = {1}")
	@MethodSource("edgeDurations")
	void edgeOptionDuration(Setting setting, Duration value) {
		optionAcceptedOrRefused(setting, value);
	}

	static Stream<Arguments> edgeDurations() {
		return Stream.of(Setting.values()).flatMap((setting) -> EDGES.stream().map((value) -> Arguments.of(setting, value)));
	}

	static void optionAcceptedOrRefused(Setting setting, Duration value) {
		String name = newLockName();
		LockManager manager = node.lockManager();
		LockOptions options;
		try {
			options = setting.with.apply(LockOptions.defaults().withLeaseTime(LEASE), value);
		}
		catch (RuntimeException ex) {
			TALLY.collect("option " + setting.option + ": refused by LockOptions (" + kind(value) + ")");
			assertThat(ex).as("refusal of %s=%s", setting.option, value).isInstanceOf(IllegalArgumentException.class)
				.hasMessageContaining(setting.option);
			return;
		}
		Throwable refusal = null;
		Lease lease = null;
		try {
			lease = manager.acquire(name, options);
		}
		catch (RuntimeException ex) {
			refusal = ex;
		}
		if (refusal != null) {
			TALLY.collect("option " + setting.option + ": refused by acquire (" + kind(value) + "): "
					+ refusal.getClass().getSimpleName());
			assertRefusedBeforeWriting(name, refusal, setting.option, setting.option + "=" + value);
			AtomicBoolean ran = new AtomicBoolean();
			assertThat(catchThrowable(() -> manager.callWithLock(name, options, (held) -> ran.getAndSet(true))))
				.as("callWithLock with %s=%s", setting.option, value).isNotNull();
			assertThat(ran).as("action ran with a refused %s", setting.option).isFalse();
			assertRefusedBeforeWriting(name, refusal, setting.option, setting.option + "=" + value);
			return;
		}
		TALLY.collect("option " + setting.option + ": accepted (" + kind(value) + ")");
		Duration leaseTime = (setting == Setting.LEASE_TIME) ? value : LEASE;
		Duration minHold = (setting == Setting.MIN_HOLD_TIME) ? value : Duration.ZERO;
		assertHonoured(name, lease, leaseTime, minHold, setting.option + "=" + value);
		if (setting == Setting.WAIT_TIME && value.compareTo(SHORT_WAIT) <= 0) {
			assertWaitsForABusyLock(manager, name, options, value);
		}
	}

	// --- leasehold.lock.* properties

	@Test
	void everyDurationPropertyIsAcceptedAndHonouredOrRefusedClearly() {
		Tally.qt(25).forAll(Generate.enumValues(Property.class).zip(propertyTexts(), PropertyInput::new))
			.describedAs((input) -> input.property().key("<lock>") + "='" + LockNameProperties.abbreviate(input.text()) + "'")
			.checkAssert((input) -> propertyAcceptedOrRefused(input.property(), input.text()));
	}

	@ParameterizedTest(name = "{0} = ''{1}''")
	@MethodSource("edgeProperties")
	void edgeDurationProperty(Property property, String text) {
		propertyAcceptedOrRefused(property, text);
	}

	static Stream<Arguments> edgeProperties() {
		return Stream.of(Property.values()).flatMap((property) -> EDGE_TEXTS.stream().map((text) -> Arguments.of(property, text)));
	}

	static void propertyAcceptedOrRefused(Property property, String text) {
		String name = newLockName();
		String key = property.key(name);
		contextRunner.withPropertyValues(key + "=" + text).run((context) -> {
			Throwable failure = context.getStartupFailure();
			if (failure != null) {
				TALLY.collect("property " + property.key("<lock>") + ": refused at start-up");
				assertThat(clearReason(failure, key)).as("start-up failure for %s='%s' names the property: %s", key,
						text, failure).isNotNull();
				assertNoRow(name, key + "=" + text);
				return;
			}
			LockManager manager = context.getBean(LockManager.class);
			// An empty per-lock value leaves the setting unset: the global default applies.
			Duration configured = property.bound(context.getBean(LeaseholdLockProperties.class), name);
			Lease lease;
			try {
				lease = manager.acquire(name, LockOptions.defaults());
			}
			catch (RuntimeException ex) {
				TALLY.collect("property " + property.key("<lock>") + ": accepted, then acquire failed: "
						+ ex.getClass().getSimpleName());
				assertRefusedBeforeWriting(name, ex, key, key + "=" + text);
				throw new AssertionError(key + "='" + text + "' was accepted at start-up (as " + configured
						+ "), but an acquire with it failed: " + ex, ex);
			}
			TALLY.collect("property " + property.key("<lock>") + ": accepted");
			Duration leaseTime = (property.setting == Setting.LEASE_TIME) ? configured : DEFAULT_LEASE;
			Duration minHold = (property.setting == Setting.MIN_HOLD_TIME) ? configured : Duration.ZERO;
			assertHonoured(name, lease, leaseTime, minHold, key + "=" + text + " (" + configured + ")");
			assertThat(((DefaultLockManager) manager).heldLeaseCount()).isZero();
			if (property.setting == Setting.WAIT_TIME && configured.compareTo(SHORT_WAIT) <= 0) {
				assertWaitsForABusyLock(manager, name, LockOptions.defaults(), configured);
			}
		});
	}

	// --- what accepted and refused mean

	/**
	 * The lease row of a grant, by the database clock: its lease lasts the lease time; after the
	 * release it is held until the minimum hold time from its acquisition, and free after that.
	 */
	private static void assertHonoured(String name, Lease lease, Duration leaseTime, Duration minHold, String input) {
		Map<String, Object> row;
		try {
			assertThat(lease.lockName()).isEqualTo(name);
			row = jdbc.queryForMap("SELECT extract(epoch FROM expires_at - acquired_at) AS lasts,"
					+ " extract(epoch FROM clock_timestamp() - acquired_at) AS elapsed"
					+ " FROM leasehold_lock WHERE fencing_token = ?", lease.fencingToken());
		}
		finally {
			Throwable closing = catchThrowable(lease::close);
			assertThat(closing).as("release of the lease with %s", input).isNull();
		}
		BigDecimal lasts = (BigDecimal) row.get("lasts");
		BigDecimal elapsed = (BigDecimal) row.get("elapsed");
		BigDecimal expected = seconds(leaseTime);
		// Renewals (of very short leases) move the expiry on by at most the time elapsed.
		assertThat(lasts).as("lease of the grant with %s lasts, in seconds by the database clock", input)
			.isBetween(expected.subtract(SLACK), expected.add(elapsed).add(SLACK));
		Map<String, Object> released = jdbc.queryForMap(
				"SELECT extract(epoch FROM expires_at - acquired_at) AS lasts,"
						+ " extract(epoch FROM clock_timestamp() - acquired_at) AS elapsed,"
						+ " expires_at > clock_timestamp() AS held FROM leasehold_lock WHERE lock_name = ?",
				name);
		BigDecimal heldFor = (BigDecimal) released.get("lasts");
		BigDecimal sinceAcquired = (BigDecimal) released.get("elapsed");
		BigDecimal hold = seconds(minHold);
		assertThat(heldFor).as("after the release with %s, the lease lasts, in seconds from its acquisition", input)
			.isBetween(hold.subtract(SLACK), hold.max(sinceAcquired).add(SLACK));
		if (hold.compareTo(sinceAcquired.add(BigDecimal.ONE)) > 0) {
			assertThat(released.get("held")).as("held for the minimum hold time after the release with %s", input)
				.isEqualTo(true);
			assertThat(other.lockManager().tryAcquire(name, LockOptions.defaults().withLeaseTime(LEASE)))
				.as("another node's acquire within the minimum hold time (%s)", input).isEmpty();
		}
		else if (hold.compareTo(SLACK) < 0) {
			assertThat(released.get("held")).as("held after the release with %s", input).isEqualTo(false);
			Optional<Lease> again = other.lockManager().tryAcquire(name, LockOptions.defaults().withLeaseTime(LEASE));
			again.ifPresent(Lease::close);
			assertThat(again).as("another node's acquire after the release with %s", input).isPresent();
		}
		assertThat(((DefaultLockManager) node.lockManager()).heldLeaseCount()).isZero();
	}

	/** With the lock held elsewhere, an acquire waits the wait time, then gives up. */
	private static void assertWaitsForABusyLock(LockManager manager, String name, LockOptions options, Duration wait) {
		try (Lease held = other.lockManager().acquire(name, LockOptions.defaults().withLeaseTime(LEASE))) {
			long start = System.nanoTime();
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> manager.acquire(name, options));
			Duration waited = Duration.ofNanos(System.nanoTime() - start);
			assertThat(waited).as("waited for the busy lock with waitTime=%s", wait)
				.isBetween(wait, wait.plusSeconds(5));
			assertThat(held.isValid()).isTrue();
		}
	}

	/**
	 * A refusal names the option or property (IllegalArgumentException or
	 * LockConfigurationException) and comes before anything is written.
	 */
	private static void assertRefusedBeforeWriting(String name, Throwable refusal, String option, String input) {
		assertThat(refusal).as("refusal of %s", input)
			.isInstanceOfAny(IllegalArgumentException.class, LockConfigurationException.class)
			.hasMessageContaining(option);
		assertNoRow(name, input);
	}

	private static void assertNoRow(String name, String input) {
		assertThat(jdbc.queryForObject("SELECT count(*) FROM leasehold_lock WHERE lock_name = ?", Integer.class, name))
			.as("lease rows written for lock '%s' although %s was refused", name, input).isZero();
		assertThat(((DefaultLockManager) node.lockManager()).heldLeaseCount()).isZero();
	}

	/**
	 * The exception in the chain that names the property: a LockConfigurationException from the
	 * starter's checks or Spring Boot's BindException for text that is not a duration.
	 */
	private static Throwable clearReason(Throwable failure, String key) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if ((cause instanceof LockConfigurationException || cause instanceof BindException)
					&& String.valueOf(cause.getMessage()).contains(key)) {
				return cause;
			}
		}
		return null;
	}

	private static BigDecimal seconds(Duration duration) {
		return BigDecimal.valueOf(duration.getSeconds()).add(BigDecimal.valueOf(duration.getNano(), 9));
	}

	private static String newLockName() {
		return RUN + LOCKS.incrementAndGet();
	}

	private static String kind(Duration value) {
		if (value.isNegative()) {
			return "negative";
		}
		if (value.isZero()) {
			return "zero";
		}
		if (value.compareTo(Duration.ofMillis(1)) < 0) {
			return "under 1 ms";
		}
		if (value.compareTo(Duration.ofDays(365L * 292)) > 0) {
			return "over 292 years";
		}
		return "1 ms to 292 years";
	}

	// --- inputs

	/** Zero, negative, tiny, ordinary, huge. */
	static final List<Duration> EDGES = List.of(Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-1),
			Duration.ofSeconds(Long.MIN_VALUE), Duration.ofNanos(1), Duration.ofNanos(999_999), Duration.ofMillis(1),
			Duration.ofMillis(250), Duration.ofSeconds(5), Duration.ofDays(365L * 300), Duration.ofNanos(Long.MAX_VALUE),
			Duration.ofNanos(Long.MAX_VALUE).plusNanos(1), Duration.ofMillis(Long.MAX_VALUE),
			Duration.ofSeconds(Long.MAX_VALUE), Duration.ofSeconds(Long.MAX_VALUE, 999_999_999));

	/** Text that is not a duration, or is one only by a stretch. */
	static final List<String> MALFORMED = List.of("5 parsecs", "", " ", "-1s", "thirty", "PT", "1.5s", "5 s", "1e3ms",
			"0x10s", "\u0661\u0660s", "9223372036854775808ns", "99999999999999999999d", "PT-0.000000001S", "\t30s");

	/**
	 * Edge values as property text, one of each kind (each property start-up costs a context):
	 * zero, negative, tiny, huge, malformed.
	 */
	static final List<String> EDGE_TEXTS = List.of("0", "-1ms", "PT0.000000001S", "1ms", "109500d",
			"PT2562047H47M16.854775808S", "9223372036854775807s", "5 parsecs", "", "-1s", "thirty", "1.5s");

	/** Mostly the edges; otherwise anything from a nanosecond to four centuries, or negative. */
	static Gen<Duration> durations() {
		Gen<Duration> tiny = longs().between(1, 1_000_000).map((nanos) -> Duration.ofNanos(nanos));
		Gen<Duration> ordinary = longs().between(1, 3_600_000).map((millis) -> Duration.ofMillis(millis));
		Gen<Duration> long_ = longs().between(1, 400L * 365 * 86_400).map((seconds) -> Duration.ofSeconds(seconds));
		Gen<Duration> negative = longs().between(Long.MIN_VALUE, -1).map((nanos) -> Duration.ofNanos(nanos));
		return Generate.frequency(List.of(of(6, Generate.pick(EDGES)), of(2, tiny), of(3, ordinary), of(3, long_),
				of(1, negative)));
	}

	/** Durations written in either of Spring Boot's styles, and malformed text. */
	static Gen<String> propertyTexts() {
		Gen<String> written = durations().zip(Generate.booleans(), (value, iso) -> iso ? value.toString() : simple(value));
		return Generate.frequency(List.of(of(3, written), of(1, Generate.pick(MALFORMED))));
	}

	/** The duration in Spring Boot's simple style, in the largest unit that keeps it exact. */
	private static String simple(Duration value) {
		if (value.getNano() == 0 && value.getSeconds() % 86_400 == 0) {
			return (value.getSeconds() / 86_400) + "d";
		}
		if (value.getNano() == 0) {
			return value.getSeconds() + "s";
		}
		try {
			return (value.getNano() % 1_000_000 == 0) ? value.toMillis() + "ms" : value.toNanos() + "ns";
		}
		catch (ArithmeticException ex) {
			return value.toString();
		}
	}

	record OptionInput(Setting setting, Duration value) {
	}

	record PropertyInput(Property property, String text) {
	}

	/** A duration option of {@link LockOptions}. */
	enum Setting {

		LEASE_TIME("leaseTime", LockOptions::withLeaseTime), WAIT_TIME("waitTime", LockOptions::withWaitTime),
		MIN_HOLD_TIME("minHoldTime", LockOptions::withMinHoldTime);

		final String option;

		final BiFunction<LockOptions, Duration, LockOptions> with;

		Setting(String option, BiFunction<LockOptions, Duration, LockOptions> with) {
			this.option = option;
			this.with = with;
		}

		Duration get(LeaseholdLockProperties.LockProperties lock) {
			return switch (this) {
				case LEASE_TIME -> lock.getLeaseTime();
				case WAIT_TIME -> lock.getWaitTime();
				case MIN_HOLD_TIME -> lock.getMinHoldTime();
			};
		}

		Duration defaultOf(LeaseholdLockProperties properties) {
			return switch (this) {
				case LEASE_TIME -> properties.getLeaseTime();
				case WAIT_TIME -> properties.getWaitTime();
				case MIN_HOLD_TIME -> properties.getMinHoldTime();
			};
		}

	}

	/** A duration property: global, or of one lock. */
	enum Property {

		LEASE_TIME("lease-time", Setting.LEASE_TIME, false), WAIT_TIME("wait-time", Setting.WAIT_TIME, false),
		MIN_HOLD_TIME("min-hold-time", Setting.MIN_HOLD_TIME, false), STATEMENT_TIMEOUT("statement-timeout", null, false),
		LOCK_LEASE_TIME("lease-time", Setting.LEASE_TIME, true), LOCK_WAIT_TIME("wait-time", Setting.WAIT_TIME, true),
		LOCK_MIN_HOLD_TIME("min-hold-time", Setting.MIN_HOLD_TIME, true);

		final String suffix;

		final Setting setting;

		final boolean perLock;

		Property(String suffix, Setting setting, boolean perLock) {
			this.suffix = suffix;
			this.setting = setting;
			this.perLock = perLock;
		}

		String key(String lockName) {
			return "leasehold.lock." + (this.perLock ? "locks." + lockName + "." : "") + this.suffix;
		}

		/** The value bound for the lock, as the starter's properties hold it. */
		Duration bound(LeaseholdLockProperties properties, String lockName) {
			if (this.perLock) {
				var lock = properties.getLocks().get(lockName);
				return (lock != null && this.setting.get(lock) != null) ? this.setting.get(lock)
						: this.setting.defaultOf(properties);
			}
			return (this.setting != null) ? this.setting.defaultOf(properties) : properties.getStatementTimeout();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
