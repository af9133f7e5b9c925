package io.leasehold.lock.store;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.actuate.LeaseholdHealthIndicator;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.notify.PostgresReleaseListener;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A runtime user with exactly the privileges docs/schema.md grants (its {@code GRANT}
 * statements are read from the page), and {@code initialize-schema=never}, can do everything
 * Leasehold does at run time; a missing grant fails with PostgreSQL's message naming it.
 */
class SchemaPrivilegesTests {

	private static final Path DOC = Path.of("../docs/schema.md");

	private static final Pattern GRANT = Pattern.compile("(?m)^GRANT .+ TO leasehold_app;$");

	private static final String SUFFIX = UUID.randomUUID().toString().replace("-", "").substring(0, 12);

	/** The lease objects live in a schema of their own, so the schema grant is exercised too. */
	private static final String SCHEMA = "lh_priv_" + SUFFIX;

	private static final String TABLE = SCHEMA + ".leasehold_lock";

	private static final String SEQUENCE = SCHEMA + ".leasehold_fencing_token_seq";

	private static final String ROLE = "lh_app_" + SUFFIX;

	/** Granted on the table only, not on the sequence. */
	private static final String ROLE_WITHOUT_SEQUENCE = "lh_noseq_" + SUFFIX;

	private static final String PASSWORD = "pw-" + SUFFIX;

	private static final JdbcTemplate admin = new JdbcTemplate(TestDatabase.get().dataSource());

	private static LockNode node;

	@BeforeAll
	static void createSchemaAndRuntimeUser() throws IOException {
		admin.execute("CREATE SCHEMA " + SCHEMA);
		new PostgresSchema(TestDatabase.get().dataSource(), TABLE, SEQUENCE).create();
		admin.execute("CREATE ROLE " + ROLE + " LOGIN PASSWORD '" + PASSWORD + "'");
		admin.execute("CREATE ROLE " + ROLE_WITHOUT_SEQUENCE + " LOGIN PASSWORD '" + PASSWORD + "'");
		List<String> grants = documentedGrants();
		assertThat(grants).as("GRANT statements in docs/schema.md").hasSize(3);
		for (String grant : grants) {
			admin.execute(grant.replace("leasehold_app", ROLE));
			if (!grant.contains(" ON SEQUENCE ")) {
				admin.execute(grant.replace("leasehold_app", ROLE_WITHOUT_SEQUENCE));
			}
		}
		node = startNodeAs(ROLE);
	}

	@AfterAll
	static void dropSchemaAndRoles() {
		if (node != null) {
			node.close();
		}
		admin.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
		for (String role : List.of(ROLE, ROLE_WITHOUT_SEQUENCE)) {
			admin.execute("DROP OWNED BY " + role);
			admin.execute("DROP ROLE " + role);
		}
	}

	@Test
	void runtimeUserTakesWaitsForRenewsAndReleasesLeases() throws Exception {
		assertThat(node.bean(JdbcTemplate.class).queryForObject("SELECT current_user", String.class)).isEqualTo(ROLE);
		LockManager locks = node.lockManager();
		String name = "privileges-" + UUID.randomUUID();
		LeaseStore store = node.bean(LeaseStore.class);
		Lease first = locks.acquire(name, LockOptions.defaults().withAutoRenew(false));
		assertThat(ownerOf(name)).isEqualTo("runtime-node");
		assertThat(store.renew(name, first.fencingToken(), Duration.ofSeconds(30))).isPresent();
		assertThat(store.findAll(100)).extracting(LeaseRow::lockName).contains(name);
		// a waiter on another thread: a busy answer, then woken by the release's notification
		CompletableFuture<Optional<Lease>> waiter = CompletableFuture
			.supplyAsync(() -> locks.tryAcquire(name, LockOptions.defaults().withWaitTime(Duration.ofSeconds(20))));
		await().atMost(Duration.ofSeconds(10))
			.until(() -> node.bean(DefaultLockManager.class).waiterCount() == 1);
		first.close();
		Lease second = waiter.get(20, TimeUnit.SECONDS).orElseThrow();
		assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
		second.close();
		assertThat(node.bean(PostgresReleaseListener.class).isListening()).isTrue();
	}

	@Test
	void runtimeUserGuardsCommitsOfCorrectnessLocks() {
		LockManager locks = node.lockManager();
		TransactionTemplate transaction = node.bean(TransactionTemplate.class);
		JdbcTemplate jdbc = node.bean(JdbcTemplate.class);
		String name = "privileges-guard-" + UUID.randomUUID();
		Integer committed = locks.callWithLock(name, LockOptions.defaults(),
				(lease) -> transaction.execute((status) -> jdbc.queryForObject("SELECT 1", Integer.class)));
		assertThat(committed).isEqualTo(1);
		// the guard's FOR SHARE read works for this user: it sees the lease expired and rolls back
		assertThatThrownBy(() -> locks.callWithLock(name, LockOptions.defaults().withAutoRenew(false), (lease) -> {
			admin.update("UPDATE " + TABLE + " SET expires_at = clock_timestamp() - interval '1 second'"
					+ " WHERE lock_name = ?", name);
			return transaction.execute((status) -> jdbc.queryForObject("SELECT 1", Integer.class));
		})).isInstanceOf(LeaseLostException.class).hasMessageContaining("before the commit");
	}

	@Test
	void runtimeUserCleansUpExpiredRows() {
		String name = "privileges-cleanup-" + UUID.randomUUID();
		try (Lease lease = node.lockManager().acquire(name, LockOptions.defaults())) {
			assertThat(lease.isValid()).isTrue();
		}
		LeaseStore store = node.bean(LeaseStore.class);
		await().atMost(Duration.ofSeconds(10)).until(() -> {
			store.deleteExpired(Duration.ofMillis(1));
			return admin.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE lock_name = ?", Integer.class,
					name) == 0;
		});
	}

	@Test
	void runtimeUserSeesTheLeaseDatabaseHealthy() {
		LeaseholdHealthIndicator health = node.bean(LeaseholdHealthIndicator.class);
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(health.health(true).getDetails()).containsEntry("listener", "listening"));
		assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
	}

	@Test
	void missingSequenceGrantFailsNamingThePermission() {
		assertThatThrownBy(() -> {
			try (LockNode withoutSequence = startNodeAs(ROLE_WITHOUT_SEQUENCE)) {
				withoutSequence.lockManager().acquire("privileges-noseq-" + UUID.randomUUID(), LockOptions.defaults())
					.close();
			}
		}).hasStackTraceContaining("lacks privileges Leasehold needs at run time: USAGE on sequence " + SEQUENCE)
			.hasStackTraceContaining("GRANT USAGE ON SEQUENCE " + SEQUENCE);
	}

	@Test
	void startsWhenTheDatabaseHasSequencesInSchemasTheRuntimeUserMayNotUse() {
		String other = "lh_other_" + SUFFIX;
		admin.execute("CREATE SCHEMA " + other);
		try {
			admin.execute("CREATE SEQUENCE " + other + ".some_seq");
			try (LockNode another = startNodeAs(ROLE)) {
				try (Lease lease = another.lockManager()
					.acquire("privileges-other-" + UUID.randomUUID(), LockOptions.defaults())) {
					assertThat(lease.isValid()).isTrue();
				}
				assertThat(another.bean(LeaseholdHealthIndicator.class).health(true).getStatus())
					.isEqualTo(Status.UP);
			}
		}
		finally {
			admin.execute("DROP SCHEMA " + other + " CASCADE");
		}
	}

	@Test
	void initializeSchemaAlwaysNeedsNoCreatePrivilegeWhenTheSchemaExists() {
		try (LockNode always = startNodeAs(ROLE, "leasehold.lock.initialize-schema=always")) {
			try (Lease lease = always.lockManager()
				.acquire("privileges-always-" + UUID.randomUUID(), LockOptions.defaults())) {
				assertThat(lease.isValid()).isTrue();
			}
		}
	}

	private static LockNode startNodeAs(String role, String... extra) {
		List<String> properties = new ArrayList<>(List.of("spring.datasource.username=" + role,
				"spring.datasource.password=" + PASSWORD, "leasehold.lock.initialize-schema=never",
				"leasehold.lock.table-name=" + TABLE, "leasehold.lock.sequence-name=" + SEQUENCE,
				"leasehold.lock.owner-id=runtime-node"));
		properties.addAll(List.of(extra));
		return LockNode.start(Config.class, properties.toArray(String[]::new));
	}

	private static String ownerOf(String name) {
		return admin.queryForObject("SELECT owner_id FROM " + TABLE + " WHERE lock_name = ?", String.class, name);
	}

	/** The runtime grants of docs/schema.md, for the objects of this test's schema. */
	private static List<String> documentedGrants() throws IOException {
		String doc = Files.readString(DOC, StandardCharsets.UTF_8);
		Matcher grant = GRANT.matcher(doc);
		List<String> grants = new ArrayList<>();
		while (grant.find()) {
			grants.add(grant.group()
				.replaceAll("\\bleasehold_lock\\b", TABLE)
				.replaceAll("\\bleasehold_fencing_token_seq\\b", SEQUENCE)
				.replace(" SCHEMA locks ", " SCHEMA " + SCHEMA + " "));
		}
		return grants;
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
