package io.leasehold.lock.fencing;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiFunction;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.ComponentScan.Filter;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.FilterType;
import org.springframework.data.annotation.Id;
import org.springframework.data.jdbc.repository.config.EnableJdbcRepositories;
import org.springframework.data.relational.core.mapping.Table;
import org.springframework.data.repository.CrudRepository;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.fencing.PausedHolders.Pause;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static io.leasehold.lock.fencing.PausedHolders.awaitExpiry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.InstanceOfAssertFactories.throwable;

/**
 * Spring Data JDBC aggregates that keep their fencing token ({@link FencedAggregate}), saved by
 * two nodes: a save inside a locked call is stamped with the lease's token, and a holder paused
 * past its lease cannot overwrite what the holder that took over saved, neither through the
 * trigger (EFFICIENCY) nor through the commit guard (CORRECTNESS). Without either, it can.
 */
class SpringDataJdbcFencingTests {

	private static final String FENCED_TABLE = "leasehold_sdj_fenced_item";

	private static final String UNFENCED_TABLE = "leasehold_sdj_unfenced_item";

	private static LockNode staleNode;

	private static LockNode newerNode;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void startNodes() {
		jdbc = PausedHolders.jdbc();
		for (String table : new String[] { FENCED_TABLE, UNFENCED_TABLE }) {
			jdbc.execute("CREATE TABLE IF NOT EXISTS " + table
					+ " (id text PRIMARY KEY, data text NOT NULL, fencing_token bigint NOT NULL)");
		}
		FencingTrigger.install(TestDatabase.get().dataSource(), FENCED_TABLE, "fencing_token");
		staleNode = LockNode.start(Config.class, PausedHolders.SHORT_LEASES);
		newerNode = LockNode.start(Config.class, PausedHolders.SHORT_LEASES);
	}

	@AfterAll
	static void stopNodes() {
		if (staleNode != null) {
			staleNode.close();
		}
		if (newerNode != null) {
			newerNode.close();
		}
	}

	@Test
	void saveInsideLockedCallIsStampedWithTheLeasesToken() {
		String id = newItem(FENCED_TABLE);
		long token = newerNode.bean(Items.class).renameReportingToken(id, "stamped", 0);
		assertThat(token).isPositive();
		assertItem(FENCED_TABLE, id, "stamped", token);
		FencedItems repository = newerNode.bean(FencedItems.class);
		assertThat(repository.findById(id)).hasValueSatisfying((item) -> assertThat(item.fencingToken()).isEqualTo(token));
		repository.save(repository.findById(id).orElseThrow().withData("outside a lock"));
		assertItem(FENCED_TABLE, id, "outside a lock", token);
		FencedItems staleRepository = staleNode.bean(FencedItems.class);
		TransactionTemplate transactions = staleNode.bean(TransactionTemplate.class);
		long leaseToken = staleNode.lockManager()
			.callWithLock("items:" + id, LockOptions.defaults(), (lease) -> transactions.execute((status) -> {
				FencedItem saved = staleRepository.save(staleRepository.findById(id).orElseThrow().withData("manager"));
				assertThat(saved.fencingToken()).isEqualTo(lease.fencingToken());
				return lease.fencingToken();
			}));
		assertThat(leaseToken).isGreaterThan(token);
		assertItem(FENCED_TABLE, id, "manager", leaseToken);
	}

	@Test
	void pausedEfficiencyHolderSavingAfterTakeoverGetsStaleFencingTokenException() {
		String id = newItem(FENCED_TABLE);
		Outcome<FencedItem> outcome = pauseTakeOverResume(id, (items, data) -> items.rename(id, data));
		assertThat(outcome.stale()).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOfSatisfying(StaleFencingTokenException.class, (ex) -> {
				assertThat(ex.newestToken()).isEqualTo(outcome.newer().fencingToken());
				assertThat(ex.fencingToken()).isPositive().isLessThan(outcome.newer().fencingToken());
				assertThat(ex).hasMessageContaining(FENCED_TABLE);
			});
		assertItem(FENCED_TABLE, id, "newer", outcome.newer().fencingToken());
	}

	@Test
	void pausedCorrectnessHolderHasItsTransactionRolledBackByTheCommitGuard() {
		String id = newItem(UNFENCED_TABLE);
		Outcome<UnfencedItem> outcome = pauseTakeOverResume(id,
				(items, data) -> items.renameUnfencedInTransaction(id, data));
		assertThat(outcome.stale()).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.extracting(Throwable::getCause, throwable(RuntimeException.class))
			.isInstanceOfAny(StaleFencingTokenException.class, LeaseLostException.class)
			.hasMessageContaining("items:" + id);
		assertItem(UNFENCED_TABLE, id, "newer", outcome.newer().fencingToken());
	}

	@Test
	void pausedCorrectnessHolderOnFencedTableIsRejected() {
		String id = newItem(FENCED_TABLE);
		Outcome<FencedItem> outcome = pauseTakeOverResume(id, (items, data) -> items.renameInTransaction(id, data));
		assertThat(outcome.stale()).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.extracting(Throwable::getCause, throwable(RuntimeException.class))
			.isInstanceOfAny(StaleFencingTokenException.class, LeaseLostException.class);
		assertItem(FENCED_TABLE, id, "newer", outcome.newer().fencingToken());
	}

	/** The control: with neither the trigger nor the commit guard, the stale save overwrites the newer one. */
	@Test
	void pausedEfficiencyHolderOnUnfencedTableOverwritesTheNewerSave() {
		String id = newItem(UNFENCED_TABLE);
		Outcome<UnfencedItem> outcome = pauseTakeOverResume(id, (items, data) -> items.renameUnfenced(id, data));
		assertThat(outcome.stale()).succeedsWithin(Duration.ofSeconds(10)).satisfies((stale) -> {
			assertThat(stale.fencingToken()).isLessThan(outcome.newer().fencingToken());
			assertItem(UNFENCED_TABLE, id, "stale", stale.fencingToken());
		});
	}

	/**
	 * A repository's reads run in read-only transactions of their own ({@code findById} of
	 * {@code SimpleJdbcRepository}); inside a CORRECTNESS locked call without a transaction
	 * around them, they must still work.
	 */
	@Test
	void repositoryReadsInsideCorrectnessLockWork() {
		String id = newItem(FENCED_TABLE);
		assertThat(newerNode.bean(Items.class).find(id)).map(FencedItem::data).contains("initial");
	}

	/**
	 * Pauses the stale node's call after it loaded the item, waits for its lease to expire by the
	 * database clock, makes the same call on the newer node (which takes the lock over and saves),
	 * then lets the stale call go on.
	 */
	private static <T> Outcome<T> pauseTakeOverResume(String id, BiFunction<Items, String, T> rename) {
		Items stale = staleNode.bean(Items.class);
		stale.pause().arm();
		CompletableFuture<T> staleCall = CompletableFuture.supplyAsync(() -> rename.apply(stale, "stale"));
		stale.pause().awaitReached();
		awaitExpiry("items:" + id);
		T newer;
		try {
			newer = rename.apply(newerNode.bean(Items.class), "newer");
		}
		finally {
			stale.pause().resume();
		}
		return new Outcome<>(staleCall, newer);
	}

	private static String newItem(String table) {
		String id = "item-" + UUID.randomUUID();
		jdbc.update("INSERT INTO " + table + " (id, data, fencing_token) VALUES (?, 'initial', 0)", id);
		return id;
	}

	private static void assertItem(String table, String id, String data, long token) {
		assertThat(jdbc.queryForMap("SELECT data, fencing_token FROM " + table + " WHERE id = ?", id))
			.isEqualTo(Map.of("data", data, "fencing_token", token));
	}

	private record Outcome<T>(CompletableFuture<T> stale, T newer) {
	}

	@Table(FENCED_TABLE)
	record FencedItem(@Id String id, String data, long fencingToken) implements FencedAggregate<FencedItem> {

		@Override
		public FencedItem withFencingToken(long fencingToken) {
			return new FencedItem(this.id, this.data, fencingToken);
		}

		FencedItem withData(String data) {
			return new FencedItem(this.id, data, this.fencingToken);
		}

	}

	/** The same aggregate on a table without the trigger. */
	@Table(UNFENCED_TABLE)
	record UnfencedItem(@Id String id, String data, long fencingToken) implements FencedAggregate<UnfencedItem> {

		@Override
		public UnfencedItem withFencingToken(long fencingToken) {
			return new UnfencedItem(this.id, this.data, fencingToken);
		}

		UnfencedItem withData(String data) {
			return new UnfencedItem(this.id, data, this.fencingToken);
		}

	}

	interface FencedItems extends CrudRepository<FencedItem, String> {

	}

	interface UnfencedItems extends CrudRepository<UnfencedItem, String> {

	}

	/** Loads an item, optionally pauses (as a long GC would), then saves it renamed. */
	static class Items {

		private final FencedItems fenced;

		private final UnfencedItems unfenced;

		private final Pause pause = new Pause();

		Items(FencedItems fenced, UnfencedItems unfenced) {
			this.fenced = fenced;
			this.unfenced = unfenced;
		}

		public Pause pause() {
			return this.pause;
		}

		@DistributedLock(name = "items", key = "#id")
		@Transactional
		public long renameReportingToken(String id, String data, @FencingToken long token) {
			FencedItem saved = this.fenced.save(this.fenced.findById(id).orElseThrow().withData(data));
			assertThat(saved.fencingToken()).isEqualTo(token);
			return token;
		}

		@DistributedLock(name = "items", key = "#id")
		public Optional<FencedItem> find(String id) {
			return this.fenced.findById(id);
		}

		@DistributedLock(name = "items", key = "#id", purpose = Purpose.EFFICIENCY)
		public FencedItem rename(String id, String data) {
			FencedItem item = this.fenced.findById(id).orElseThrow();
			this.pause.here();
			return this.fenced.save(item.withData(data));
		}

		@DistributedLock(name = "items", key = "#id")
		@Transactional
		public FencedItem renameInTransaction(String id, String data) {
			FencedItem item = this.fenced.findById(id).orElseThrow();
			this.pause.here();
			return this.fenced.save(item.withData(data));
		}

		@DistributedLock(name = "items", key = "#id", purpose = Purpose.EFFICIENCY)
		public UnfencedItem renameUnfenced(String id, String data) {
			UnfencedItem item = this.unfenced.findById(id).orElseThrow();
			this.pause.here();
			return this.unfenced.save(item.withData(data));
		}

		@DistributedLock(name = "items", key = "#id")
		@Transactional
		public UnfencedItem renameUnfencedInTransaction(String id, String data) {
			UnfencedItem item = this.unfenced.findById(id).orElseThrow();
			this.pause.here();
			return this.unfenced.save(item.withData(data));
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@EnableJdbcRepositories(basePackageClasses = SpringDataJdbcFencingTests.class, considerNestedRepositories = true,
			includeFilters = @Filter(type = FilterType.ASSIGNABLE_TYPE,
					classes = { FencedItems.class, UnfencedItems.class }))
	static class Config {

		@Bean
		Items items(FencedItems fenced, UnfencedItems unfenced) {
			return new Items(fenced, unfenced);
		}

	}

}
