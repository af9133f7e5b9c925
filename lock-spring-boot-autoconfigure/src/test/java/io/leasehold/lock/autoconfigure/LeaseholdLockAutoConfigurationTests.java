package io.leasehold.lock.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import com.jayway.jsonpath.JsonPath;
import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseCallable;
import io.leasehold.lock.LeaseholdException;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.aop.DistributedLockAdvisor;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.core.WaitStrategy;
import io.leasehold.lock.store.Acquisition;
import io.leasehold.lock.store.Grant;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.store.PostgresLeaseStore;
import io.leasehold.lock.store.Succession;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Tests for {@link LeaseholdLockAutoConfiguration}.
 */
class LeaseholdLockAutoConfigurationTests {

	private static final String DEFAULT_TABLE = "leasehold_lock";

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(PropertyPlaceholderAutoConfiguration.class,
				DataSourceAutoConfiguration.class, AopAutoConfiguration.class, LeaseholdLockAutoConfiguration.class))
		.withPropertyValues(TestDatabase.get().datasourceProperties())
		.withPropertyValues("spring.datasource.hikari.maximum-pool-size=4");

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	// --- conditions and beans

	@Test
	void backsOffWithoutDataSource() {
		new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(LeaseholdLockAutoConfiguration.class))
			.run((context) -> assertThat(context).hasNotFailed()
				.doesNotHaveBean(LockManager.class)
				.doesNotHaveBean(LeaseStore.class)
				.doesNotHaveBean(DistributedLockAdvisor.class)
				.doesNotHaveBean(LeaseholdLockProperties.class));
	}

	@Test
	void backsOffWhenDisabled() {
		String table = uniqueName("lh_off");
		this.contextRunner.withPropertyValues("leasehold.lock.enabled=false", "leasehold.lock.table-name=" + table)
			.run((context) -> {
				assertThat(context).hasNotFailed()
					.hasSingleBean(DataSource.class)
					.doesNotHaveBean(LockManager.class)
					.doesNotHaveBean(LeaseStore.class)
					.doesNotHaveBean(DistributedLockAdvisor.class)
					.doesNotHaveBean(LeaseholdSchemaInitializer.class);
				assertThat(relationExists(table)).as("no DDL ran").isFalse();
			});
	}

	@Test
	void createsLockManagerLeaseStoreAndAdvisor() {
		this.contextRunner.run((context) -> {
			assertThat(context).hasNotFailed()
				.hasSingleBean(LockManager.class)
				.hasSingleBean(DefaultLockManager.class)
				.hasSingleBean(LeaseStore.class)
				.hasSingleBean(PostgresLeaseStore.class)
				.hasSingleBean(WaitStrategy.class)
				.hasSingleBean(DistributedLockAdvisor.class)
				.hasSingleBean(ExpiredLeaseCleaner.class);
			String name = uniqueName("auto");
			try (Lease lease = context.getBean(LockManager.class).acquire(name, LockOptions.defaults())) {
				assertThat(token(DEFAULT_TABLE, name)).contains(lease.fencingToken());
			}
		});
	}

	@Test
	void doesNotCreateCleanerWhenCleanupIsDisabled() {
		this.contextRunner.withPropertyValues("leasehold.lock.cleanup.enabled=false")
			.run((context) -> assertThat(context).hasNotFailed()
				.hasSingleBean(LockManager.class)
				.doesNotHaveBean(ExpiredLeaseCleaner.class));
	}

	@Test
	void backsOffWhenUserDefinesLockManager() {
		String name = uniqueName("user-manager");
		this.contextRunner.withUserConfiguration(UserLockManagerConfiguration.class)
			.withPropertyValues("test.lock-name=" + name)
			.run((context) -> {
				assertThat(context).hasNotFailed()
					.hasSingleBean(LockManager.class)
					.doesNotHaveBean(DefaultLockManager.class)
					.hasSingleBean(DistributedLockAdvisor.class);
				RecordingLockManager manager = context.getBean(RecordingLockManager.class);
				assertThat(context.getBean(LockManager.class)).isSameAs(manager);
				context.getBean(AnnotatedService.class).run("k");
				assertThat(manager.acquired).as("the advisor uses the user's manager").containsExactly(name + ":k");
				assertThat(token(DEFAULT_TABLE, name + ":k")).isEmpty();
			});
	}

	@Test
	void backsOffWhenUserDefinesLeaseStore() {
		this.contextRunner.withBean(InMemoryLeaseStore.class).run((context) -> {
			assertThat(context).hasNotFailed()
				.hasSingleBean(LeaseStore.class)
				.doesNotHaveBean(PostgresLeaseStore.class)
				.hasSingleBean(DefaultLockManager.class);
			InMemoryLeaseStore store = context.getBean(InMemoryLeaseStore.class);
			String name = uniqueName("user-store");
			try (Lease lease = context.getBean(LockManager.class).acquire(name, LockOptions.defaults())) {
				assertThat(lease.fencingToken()).isEqualTo(InMemoryLeaseStore.TOKEN);
				assertThat(store.held).containsKey(name);
			}
			assertThat(store.held).doesNotContainKey(name);
			assertThat(token(DEFAULT_TABLE, name)).isEmpty();
		});
	}

	@Test
	void invalidCleanupRetentionFailsEvenWhenUserDefinesLeaseStore() {
		this.contextRunner.withBean(InMemoryLeaseStore.class)
			.withPropertyValues("leasehold.lock.cleanup.retention=1s")
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageContaining("leasehold.lock.cleanup.retention"));
	}

	@Test
	void backsOffWhenUserDefinesWaitStrategy() {
		this.contextRunner.withBean(RecordingWaitStrategy.class).run((context) -> {
			assertThat(context).hasNotFailed().hasSingleBean(WaitStrategy.class);
			RecordingWaitStrategy waitStrategy = context.getBean(RecordingWaitStrategy.class);
			assertThat(context.getBean(WaitStrategy.class)).isSameAs(waitStrategy);
			LockManager manager = context.getBean(LockManager.class);
			String name = uniqueName("user-wait");
			try (Lease held = manager.acquire(name, LockOptions.defaults())) {
				Optional<Lease> other = CompletableFuture
					.supplyAsync(() -> manager.tryAcquire(name, LockOptions.defaults().withWaitTime(Duration.ofMillis(200))))
					.get(30, TimeUnit.SECONDS);
				assertThat(other).isEmpty();
			}
			assertThat(waitStrategy.waitedFor).isNotEmpty().containsOnly(name);
		});
	}

	@Test
	void usesLeaseholdDataSourceInsteadOfPrimary() {
		String schema = uniqueName("lh_ds");
		this.jdbc.execute("CREATE SCHEMA " + schema);
		try {
			this.contextRunner.withUserConfiguration(TwoDataSourcesConfiguration.class)
				.withPropertyValues("test.leasehold-schema=" + schema)
				.run((context) -> {
					assertThat(context).hasNotFailed();
					String name = uniqueName("own-ds");
					try (Lease lease = context.getBean(LockManager.class).acquire(name, LockOptions.defaults())) {
						assertThat(token(schema + "." + DEFAULT_TABLE, name)).contains(lease.fencingToken());
						assertThat(token(DEFAULT_TABLE, name)).as("row in the primary DataSource's table").isEmpty();
					}
					HikariDataSource primary = context.getBean("primaryDataSource", HikariDataSource.class);
					assertThat(primary.getHikariPoolMXBean()).as("primary pool never started").isNull();
				});
		}
		finally {
			this.jdbc.execute("DROP SCHEMA " + schema + " CASCADE");
		}
	}

	// --- schema

	@Test
	void initializeSchemaAlwaysCreatesCustomTableAndSequenceIdempotently() {
		String table = uniqueName("lh_tbl");
		String sequence = uniqueName("lh_seq");
		try {
			assertCreatesSchemaIdempotently(table, sequence);
		}
		finally {
			this.jdbc.execute("DROP TABLE IF EXISTS " + table);
			this.jdbc.execute("DROP SEQUENCE IF EXISTS " + sequence);
		}
	}

	@Test
	void initializeSchemaAlwaysCreatesSchemaQualifiedTableAndSequenceIdempotently() {
		String schema = uniqueName("lh_sch");
		this.jdbc.execute("CREATE SCHEMA " + schema);
		try {
			assertCreatesSchemaIdempotently(schema + ".locks", schema + ".tokens");
		}
		finally {
			this.jdbc.execute("DROP SCHEMA " + schema + " CASCADE");
		}
	}

	private void assertCreatesSchemaIdempotently(String table, String sequence) {
		String name = uniqueName("schema");
		String[] properties = { "leasehold.lock.initialize-schema=always", "leasehold.lock.table-name=" + table,
				"leasehold.lock.sequence-name=" + sequence };
		long[] firstToken = new long[1];
		this.contextRunner.withPropertyValues(properties).run((context) -> {
			assertThat(context).hasNotFailed();
			try (Lease lease = context.getBean(LockManager.class).acquire(name, LockOptions.defaults())) {
				firstToken[0] = lease.fencingToken();
				assertThat(token(table, name)).contains(lease.fencingToken());
				assertThat(this.jdbc.queryForObject("SELECT last_value FROM " + sequence, Long.class))
					.as("token drawn from the configured sequence")
					.isEqualTo(lease.fencingToken());
			}
		});
		assertThat(relationExists(table)).isTrue();
		assertThat(sequenceCache(sequence)).isEqualTo(1);
		assertThat(token(DEFAULT_TABLE, name)).isEmpty();
		this.contextRunner.withPropertyValues(properties).run((context) -> {
			assertThat(context).as("second start on the existing schema").hasNotFailed();
			assertThat(token(table, name)).as("the table was kept").contains(firstToken[0]);
			try (Lease lease = context.getBean(LockManager.class).acquire(name, LockOptions.defaults())) {
				assertThat(lease.fencingToken()).isGreaterThan(firstToken[0]);
			}
		});
	}

	@Test
	void initializeSchemaAlwaysWithMissingSchemaFailsNamingTheTable() {
		String table = uniqueName("lh_nosuch") + ".locks";
		this.contextRunner
			.withPropertyValues("leasehold.lock.initialize-schema=always", "leasehold.lock.table-name=" + table)
			.run((context) -> assertThat(leaseholdCause(context.getStartupFailure())).hasMessageContaining(table)
				.hasMessageContaining("leasehold.lock.initialize-schema=never"));
	}

	@Test
	void initializeSchemaNeverWithMissingTableFailsNamingTheTableAndTheFix() {
		String table = uniqueName("lh_missing");
		this.contextRunner
			.withPropertyValues("leasehold.lock.initialize-schema=never", "leasehold.lock.table-name=" + table)
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageContaining("'" + table + "'")
				.hasMessageContaining("leasehold.lock.table-name")
				.hasMessageContaining("io/leasehold/lock/store/schema-postgresql.sql")
				.hasMessageContaining("leasehold.lock.initialize-schema=always"));
		assertThat(relationExists(table)).isFalse();
	}

	@Test
	void initializeSchemaNeverWithMissingSequenceFailsNamingTheSequence() {
		String sequence = uniqueName("lh_missing_seq");
		this.contextRunner
			.withPropertyValues("leasehold.lock.initialize-schema=never", "leasehold.lock.sequence-name=" + sequence)
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageContaining("'" + sequence + "'")
				.hasMessageContaining("leasehold.lock.sequence-name"));
	}

	@ParameterizedTest
	@ValueSource(strings = { "always", "never" })
	void sequenceWithCacheAboveOneFailsStartUp(String initializeSchema) {
		String schema = uniqueName("lh_cache");
		this.jdbc.execute("CREATE SCHEMA " + schema);
		this.jdbc.execute("CREATE SEQUENCE " + schema + ".tokens CACHE 20");
		this.jdbc.execute("CREATE TABLE " + schema + ".locks (LIKE " + DEFAULT_TABLE + " INCLUDING ALL)");
		try {
			this.contextRunner
				.withPropertyValues("leasehold.lock.initialize-schema=" + initializeSchema,
						"leasehold.lock.table-name=" + schema + ".locks",
						"leasehold.lock.sequence-name=" + schema + ".tokens")
				.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
					.rootCause()
					.isInstanceOf(LockConfigurationException.class)
					.hasMessageContaining(schema + ".tokens")
					.hasMessageContaining("CACHE 20")
					.hasMessageContaining("ALTER SEQUENCE " + schema + ".tokens CACHE 1"));
			assertThat(sequenceCache(schema + ".tokens")).as("left as it was").isEqualTo(20);
		}
		finally {
			this.jdbc.execute("DROP SCHEMA " + schema + " CASCADE");
		}
	}

	// --- validation of properties

	@ParameterizedTest
	@ValueSource(strings = { "leasehold_lock; drop table x", "1abc", "a.b.c", "bad-name", "\"quoted\"", "public.",
			".leasehold_lock", "leasehold lock", "x'||pg_sleep(1)||'",
			"a123456789012345678901234567890123456789012345678901234567890123" })
	void invalidTableNameFailsStartUpNamingTheProperty(String tableName) {
		this.contextRunner.withPropertyValues("leasehold.lock.table-name=" + tableName)
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageContaining("'leasehold.lock.table-name'")
				.hasMessageContaining("'" + tableName + "'"));
	}

	@ParameterizedTest
	@ValueSource(strings = { "leasehold_fencing_token_seq; drop table x", "1abc", "a.b.c", "seq-name" })
	void invalidSequenceNameFailsStartUpNamingTheProperty(String sequenceName) {
		this.contextRunner.withPropertyValues("leasehold.lock.sequence-name=" + sequenceName)
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageContaining("'leasehold.lock.sequence-name'")
				.hasMessageContaining("'" + sequenceName + "'"));
	}

	@ParameterizedTest
	@CsvSource(delimiter = '|', textBlock = """
			leasehold.lock.lease-time=0s                  | leasehold.lock.lease-time
			leasehold.lock.lease-time=-1s                 | leasehold.lock.lease-time
			leasehold.lock.wait-time=-1s                  | leasehold.lock.wait-time
			leasehold.lock.min-hold-time=-1ms             | leasehold.lock.min-hold-time
			leasehold.lock.locks.foo.lease-time=-1s       | leasehold.lock.locks.foo.lease-time
			leasehold.lock.locks.foo.lease-time=0s        | leasehold.lock.locks.foo.lease-time
			leasehold.lock.locks.foo.wait-time=-1s        | leasehold.lock.locks.foo.wait-time
			leasehold.lock.locks.foo.min-hold-time=-1s    | leasehold.lock.locks.foo.min-hold-time
			leasehold.lock.polling.initial-interval=0ms   | leasehold.lock.polling.initial-interval
			leasehold.lock.polling.max-interval=5ms       | leasehold.lock.polling.max-interval
			leasehold.lock.statement-timeout=0s           | leasehold.lock.statement-timeout
			leasehold.lock.local-expiry-margin=-1ms       | leasehold.lock.local-expiry-margin
			leasehold.lock.cleanup.interval=0s            | leasehold.lock.cleanup.interval
			leasehold.lock.cleanup.retention=1m           | leasehold.lock.cleanup.retention
			leasehold.lock.renewal-ratio=0                | leasehold.lock.renewal-ratio
			leasehold.lock.renewal-ratio=-0.5             | leasehold.lock.renewal-ratio
			leasehold.lock.renewal-ratio=1                | leasehold.lock.renewal-ratio
			""")
	void invalidSettingFailsStartUpNamingTheProperty(String property, String name) {
		this.contextRunner.withPropertyValues(property)
			.run((context) -> assertThat(context.getStartupFailure()).isNotNull()
				.rootCause()
				.isInstanceOf(LockConfigurationException.class)
				.hasMessageStartingWith("Invalid value ")
				.hasMessageContaining("'" + name + "'"));
	}

	@Test
	void retentionOfTenStatementTimeoutsAndAMinuteIsAccepted() {
		this.contextRunner
			.withPropertyValues("leasehold.lock.statement-timeout=2s", "leasehold.lock.cleanup.retention=80s")
			.run((context) -> assertThat(context).hasNotFailed().hasSingleBean(ExpiredLeaseCleaner.class));
	}

	@Test
	void unparsableDurationFailsStartUpNamingTheProperty() {
		this.contextRunner.withPropertyValues("leasehold.lock.lease-time=thirty seconds")
			.run((context) -> assertThat(messages(context.getStartupFailure()))
				.anySatisfy((message) -> assertThat(message).contains("leasehold.lock.lease-time")));
	}

	// --- precedence: call or annotation, then leasehold.lock.locks.<name>.*, then global

	@Test
	void leaseTimeAndMinHoldTimeComeFromOptionsThenPerLockThenGlobal() {
		String perLock = uniqueName("prec-lock");
		String explicit = uniqueName("prec-explicit");
		String global = uniqueName("prec-global");
		this.contextRunner
			.withPropertyValues("leasehold.lock.lease-time=40s", "leasehold.lock.min-hold-time=5s",
					"leasehold.lock.locks." + perLock + ".lease-time=20s",
					"leasehold.lock.locks." + perLock + ".min-hold-time=3s",
					"leasehold.lock.locks." + explicit + ".lease-time=20s",
					"leasehold.lock.locks." + explicit + ".min-hold-time=3s")
			.run((context) -> {
				LockManager manager = context.getBean(LockManager.class);
				try (Lease lease = manager.acquire(perLock, LockOptions.defaults())) {
					assertThat(leaseMillis(perLock)).as("per-lock lease-time").isCloseTo(20_000, within(500L));
				}
				assertThat(leaseMillis(perLock)).as("per-lock min-hold-time").isCloseTo(3_000, within(900L));
				LockOptions options = LockOptions.defaults()
					.withLeaseTime(Duration.ofSeconds(10))
					.withMinHoldTime(Duration.ofSeconds(1));
				try (Lease lease = manager.acquire(explicit, options)) {
					assertThat(leaseMillis(explicit)).as("options' lease time").isCloseTo(10_000, within(500L));
				}
				assertThat(leaseMillis(explicit)).as("options' min hold time").isCloseTo(1_000, within(900L));
				try (Lease lease = manager.acquire(global, LockOptions.defaults())) {
					assertThat(leaseMillis(global)).as("global lease-time").isCloseTo(40_000, within(500L));
				}
				assertThat(leaseMillis(global)).as("global min-hold-time").isCloseTo(5_000, within(900L));
			});
	}

	@Test
	void waitTimeComesFromOptionsThenPerLockThenGlobal() {
		String perLock = uniqueName("wait-lock");
		String global = uniqueName("wait-global");
		this.contextRunner
			.withPropertyValues("leasehold.lock.wait-time=400ms", "leasehold.lock.locks." + perLock + ".wait-time=1500ms")
			.run((context) -> {
				LockManager manager = context.getBean(LockManager.class);
				try (Lease a = manager.acquire(perLock, LockOptions.defaults());
						Lease b = manager.acquire(global, LockOptions.defaults())) {
					assertThat(waitedInOtherThread(manager, perLock, LockOptions.defaults()))
						.isGreaterThanOrEqualTo(Duration.ofMillis(1500));
					assertThat(waitedInOtherThread(manager, global, LockOptions.defaults()))
						.isBetween(Duration.ofMillis(400), Duration.ofMillis(1499));
					assertThat(waitedInOtherThread(manager, perLock, LockOptions.defaults().withWaitTime(Duration.ZERO)))
						.isLessThan(Duration.ofMillis(400));
				}
			});
	}

	@Test
	void annotationBeatsPerLockConfigurationWhichAppliesToTheNameWithoutTheKey() {
		String name = uniqueName("prec-annotated");
		this.contextRunner.withUserConfiguration(AnnotatedPrecedenceConfiguration.class)
			.withPropertyValues("test.lock-name=" + name, "leasehold.lock.lease-time=40s",
					"leasehold.lock.locks." + name + ".lease-time=20s")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				PrecedenceService service = context.getBean(PrecedenceService.class);
				assertThat(service.annotatedLeaseTime()).isCloseTo(7_000, within(500L));
				assertThat(service.configuredLeaseTime("k")).isCloseTo(20_000, within(500L));
				assertThat(token(DEFAULT_TABLE, name + ":k")).isPresent();
			});
	}

	// --- configuration metadata

	@Test
	void metadataDescribesEveryProperty() throws IOException {
		Map<String, Map<String, Object>> properties = leaseholdMetadata();
		assertThat(properties).containsKeys("leasehold.lock.enabled", "leasehold.lock.lease-time",
				"leasehold.lock.wait-time", "leasehold.lock.min-hold-time", "leasehold.lock.auto-renew",
				"leasehold.lock.table-name", "leasehold.lock.sequence-name", "leasehold.lock.initialize-schema",
				"leasehold.lock.owner-id", "leasehold.lock.statement-timeout", "leasehold.lock.renewal-ratio",
				"leasehold.lock.local-expiry-margin", "leasehold.lock.aspect-order",
				"leasehold.lock.polling.initial-interval", "leasehold.lock.polling.max-interval",
				"leasehold.lock.cleanup.enabled", "leasehold.lock.cleanup.interval", "leasehold.lock.cleanup.retention",
				"leasehold.lock.locks");
		assertThat(properties.values())
			.allSatisfy((property) -> assertThat((String) property.get("description")).as("%s", property.get("name"))
				.isNotBlank());
		assertThat((String) properties.get("leasehold.lock.locks").get("description")).contains("lease-time",
				"wait-time", "min-hold-time", "auto-renew");
	}

	@Test
	void metadataHasDefaultsOfGlobalProperties() throws IOException {
		Map<String, Map<String, Object>> properties = leaseholdMetadata();
		Function<String, Object> defaultOf = (name) -> properties.get("leasehold.lock." + name).get("defaultValue");
		assertThat(defaultOf.apply("enabled")).isEqualTo(true);
		assertThat(defaultOf.apply("lease-time")).isEqualTo("30s");
		assertThat(duration(defaultOf.apply("wait-time"))).isZero();
		assertThat(duration(defaultOf.apply("min-hold-time"))).isZero();
		assertThat(defaultOf.apply("auto-renew")).isEqualTo(true);
		assertThat(defaultOf.apply("table-name")).isEqualTo("leasehold_lock");
		assertThat(defaultOf.apply("sequence-name")).isEqualTo("leasehold_fencing_token_seq");
		assertThat(defaultOf.apply("initialize-schema")).isEqualTo("always");
		assertThat(defaultOf.apply("statement-timeout")).isEqualTo("5s");
		assertThat(duration(defaultOf.apply("local-expiry-margin"))).isEqualTo(Duration.ofMillis(100));
		assertThat(duration(defaultOf.apply("polling.initial-interval"))).isEqualTo(Duration.ofMillis(10));
		assertThat(duration(defaultOf.apply("polling.max-interval"))).isEqualTo(Duration.ofMillis(500));
		assertThat(defaultOf.apply("cleanup.enabled")).isEqualTo(true);
		assertThat(duration(defaultOf.apply("cleanup.interval"))).isEqualTo(Duration.ofHours(1));
		assertThat(duration(defaultOf.apply("cleanup.retention"))).isEqualTo(Duration.ofDays(1));
	}

	@Test
	void metadataHasDefaultsOfComputedProperties() throws IOException {
		Map<String, Map<String, Object>> properties = leaseholdMetadata();
		assertThat(properties.get("leasehold.lock.aspect-order").get("defaultValue"))
			.isEqualTo(Integer.MAX_VALUE - 100);
		assertThat(((Number) properties.get("leasehold.lock.renewal-ratio").get("defaultValue")).doubleValue())
			.isEqualTo(0.33);
	}

	// --- helpers

	private static String uniqueName(String prefix) {
		return prefix + "_" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
	}

	private boolean relationExists(String name) {
		return Boolean.TRUE.equals(this.jdbc.queryForObject("SELECT to_regclass(?) IS NOT NULL", Boolean.class, name));
	}

	private long sequenceCache(String sequence) {
		return this.jdbc.queryForObject("SELECT cache_size FROM pg_sequences WHERE format('%I.%I', schemaname,"
				+ " sequencename)::regclass = to_regclass(?)", Long.class, sequence);
	}

	private Optional<Long> token(String table, String lockName) {
		return this.jdbc.queryForList("SELECT fencing_token FROM " + table + " WHERE lock_name = ?", Long.class, lockName)
			.stream()
			.findFirst();
	}

	/** The lock row's {@code expires_at - acquired_at}, in milliseconds. */
	private long leaseMillis(String lockName) {
		BigDecimal seconds = this.jdbc.queryForObject("SELECT extract(epoch FROM expires_at - acquired_at) FROM "
				+ DEFAULT_TABLE + " WHERE lock_name = ?", BigDecimal.class, lockName);
		return seconds.movePointRight(3).longValue();
	}

	private static Duration waitedInOtherThread(LockManager manager, String name, LockOptions options)
			throws Exception {
		return CompletableFuture.supplyAsync(() -> {
			try {
				manager.acquire(name, options).close();
				throw new AssertionError("acquired the busy lock " + name);
			}
			catch (LockNotAcquiredException ex) {
				return ex.waited();
			}
		}).get(30, TimeUnit.SECONDS);
	}

	private static LeaseholdException leaseholdCause(Throwable failure) {
		assertThat(failure).as("start-up failure").isNotNull();
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof LeaseholdException leasehold) {
				return leasehold;
			}
		}
		throw new AssertionError("No LeaseholdException in the cause chain", failure);
	}

	private static List<String> messages(Throwable failure) {
		assertThat(failure).as("start-up failure").isNotNull();
		List<String> messages = new ArrayList<>();
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			messages.add(String.valueOf(cause.getMessage()));
		}
		return messages;
	}

	private static Duration duration(Object metadataDefault) {
		assertThat(metadataDefault).as("default value").isNotNull();
		return DurationStyle.detectAndParse(String.valueOf(metadataDefault));
	}

	private static Map<String, Map<String, Object>> leaseholdMetadata() throws IOException {
		Enumeration<URL> resources = LeaseholdLockAutoConfigurationTests.class.getClassLoader()
			.getResources("META-INF/spring-configuration-metadata.json");
		while (resources.hasMoreElements()) {
			String json;
			try (InputStream in = resources.nextElement().openStream()) {
				json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
			}
			List<Map<String, Object>> properties = JsonPath.read(json, "$.properties");
			Map<String, Map<String, Object>> leasehold = properties.stream()
				.filter((property) -> ((String) property.get("name")).startsWith("leasehold.lock."))
				.collect(Collectors.toMap((property) -> (String) property.get("name"), Function.identity()));
			if (!leasehold.isEmpty()) {
				return leasehold;
			}
		}
		throw new AssertionError("No spring-configuration-metadata.json with leasehold.lock properties");
	}

	// --- test configurations

	static class AnnotatedService {

		@DistributedLock(name = "${test.lock-name}", key = "#p0")
		void run(String key) {
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class UserLockManagerConfiguration {

		@Bean
		RecordingLockManager userLockManager() {
			return new RecordingLockManager();
		}

		@Bean
		AnnotatedService annotatedService() {
			return new AnnotatedService();
		}

	}

	static class RecordingLockManager implements LockManager {

		final List<String> acquired = new CopyOnWriteArrayList<>();

		@Override
		public Optional<Lease> tryAcquire(String lockName, LockOptions options) {
			return Optional.of(acquire(lockName, options));
		}

		@Override
		public Lease acquire(String lockName, LockOptions options) {
			this.acquired.add(lockName);
			return new Lease() {

				@Override
				public String lockName() {
					return lockName;
				}

				@Override
				public long fencingToken() {
					return 1;
				}

				@Override
				public Instant expiresAt() {
					return Instant.MAX;
				}

				@Override
				public boolean isValid() {
					return true;
				}

				@Override
				public void assertValid() {
				}

				@Override
				public void close() {
				}

			};
		}

		@Override
		public <T> T callWithLock(String lockName, LockOptions options, LeaseCallable<T> action) {
			try (Lease lease = acquire(lockName, options)) {
				return action.call(lease);
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
		}

	}

	static class InMemoryLeaseStore implements LeaseStore {

		static final long TOKEN = 4242;

		final Map<String, Long> held = new ConcurrentHashMap<>();

		@Override
		public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration) {
			if (this.held.putIfAbsent(lockName, TOKEN) != null) {
				return Acquisition.busy(null);
			}
			Instant now = Instant.now();
			return Acquisition.of(new Grant(TOKEN, now, now.plus(leaseTime)));
		}

		@Override
		public Optional<Instant> renew(String lockName, long fencingToken, Duration leaseTime) {
			return this.held.containsKey(lockName) ? Optional.of(Instant.now().plus(leaseTime)) : Optional.empty();
		}

		@Override
		public boolean release(String lockName, long fencingToken, Duration minHoldTime, boolean waitersHere) {
			return this.held.remove(lockName) != null;
		}

		@Override
		public Optional<Succession> handOver(String lockName, long fencingToken, String ownerId, Duration leaseTime) {
			Instant now = Instant.now();
			return this.held.containsKey(lockName)
					? Optional.of(new Succession(new Grant(TOKEN, now, now.plus(leaseTime)), false)) : Optional.empty();
		}

		@Override
		public Optional<LeaseRow> find(String lockName) {
			return Optional.empty();
		}

		@Override
		public Optional<LeaseRow> lockForCommit(Connection connection, String lockName) {
			return Optional.empty();
		}

		@Override
		public List<LeaseRow> findAll(int limit) {
			return List.of();
		}

		@Override
		public int deleteExpired(Duration retention) {
			return 0;
		}

	}

	static class RecordingWaitStrategy implements WaitStrategy {

		final List<String> waitedFor = new CopyOnWriteArrayList<>();

		@Override
		public Waiter join(String lockName, Duration leaseTime) {
			return new Waiter() {

				@Override
				public void await(Duration remaining) throws InterruptedException {
					RecordingWaitStrategy.this.waitedFor.add(lockName);
					TimeUnit.NANOSECONDS.sleep(Math.min(remaining.toNanos(), TimeUnit.MILLISECONDS.toNanos(5)));
				}

				@Override
				public void close() {
				}

			};
		}



	}

	@Configuration(proxyBeanMethods = false)
	static class TwoDataSourcesConfiguration {

		@Bean
		@Primary
		HikariDataSource primaryDataSource() {
			return lazyDataSource(TestDatabase.get().jdbcUrl());
		}

		@Bean
		@LeaseholdDataSource
		HikariDataSource leaseholdOwnDataSource(Environment environment) {
			String url = TestDatabase.get().jdbcUrl();
			return lazyDataSource(url + (url.contains("?") ? "&" : "?") + "currentSchema="
					+ environment.getRequiredProperty("test.leasehold-schema"));
		}

		/** A pool that starts on its first connection, so the test can tell whether it was used. */
		private static HikariDataSource lazyDataSource(String url) {
			HikariDataSource dataSource = new HikariDataSource();
			dataSource.setJdbcUrl(url);
			dataSource.setUsername(TestDatabase.get().username());
			dataSource.setPassword(TestDatabase.get().password());
			dataSource.setMaximumPoolSize(2);
			return dataSource;
		}

	}

	static class PrecedenceService {

		private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

		@DistributedLock(name = "${test.lock-name}", leaseTime = "7s")
		long annotatedLeaseTime() {
			return leaseMillis();
		}

		@DistributedLock(name = "${test.lock-name}", key = "#p0")
		long configuredLeaseTime(String key) {
			return leaseMillis();
		}

		private long leaseMillis() {
			String lockName = LockContext.current().orElseThrow().lockName();
			BigDecimal seconds = this.jdbc.queryForObject("SELECT extract(epoch FROM expires_at - acquired_at) FROM "
					+ DEFAULT_TABLE + " WHERE lock_name = ?", BigDecimal.class, lockName);
			return seconds.movePointRight(3).longValue();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class AnnotatedPrecedenceConfiguration {

		@Bean
		PrecedenceService precedenceService() {
			return new PrecedenceService();
		}

	}

}
