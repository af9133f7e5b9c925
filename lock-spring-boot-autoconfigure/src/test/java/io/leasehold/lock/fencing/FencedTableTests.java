package io.leasehold.lock.fencing;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.test.LockNode;

import static io.leasehold.lock.fencing.PausedHolders.await;
import static io.leasehold.lock.fencing.PausedHolders.awaitExpiry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link FencedTable} between two nodes on one PostgreSQL: a holder paused past its lease cannot
 * overwrite the work of the holder that took over, not even in a read-modify-write where the new
 * holder read before the stale one wrote. The locks are EFFICIENCY locks and the writes run
 * without a transaction, so only the fenced statements protect the data (no commit guard).
 */
class FencedTableTests {

	private static final String TABLE = PausedHolders.uniqueTable("fenced_table_test");

	private static final RowMapper<Integer> COUNTER = (row, index) -> row.getInt("counter");

	private static final LockOptions EFFICIENCY = LockOptions.defaults().withPurpose(Purpose.EFFICIENCY);

	private static final LockOptions TAKE_OVER = EFFICIENCY.withWaitTime(Duration.ofSeconds(5));

	private static LockNode staleNode;

	private static LockNode newerNode;

	private static FencedTable staleTable;

	private static FencedTable newerTable;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void startNodes() {
		jdbc = PausedHolders.jdbc();
		jdbc.execute("CREATE TABLE " + TABLE
				+ " (id text PRIMARY KEY, counter integer NOT NULL DEFAULT 0, note text, fencing_token bigint NOT NULL DEFAULT 0,"
				+ " written_by bigint)");
		staleNode = LockNode.start(Config.class, PausedHolders.SHORT_LEASES);
		newerNode = LockNode.start(Config.class, PausedHolders.SHORT_LEASES);
		staleTable = FencedTable.of(staleNode.bean(DataSource.class), TABLE, "id");
		newerTable = FencedTable.of(newerNode.bean(DataSource.class), TABLE, "id");
	}

	@AfterAll
	static void stopNodes() {
		if (staleNode != null) {
			staleNode.close();
		}
		if (newerNode != null) {
			newerNode.close();
		}
		jdbc.execute("DROP TABLE IF EXISTS " + TABLE);
	}

	@Test
	void staleHolderCannotWriteBetweenNewerHoldersReadAndWriteSoNoUpdateIsLost() {
		String id = newRow();
		String lock = "fenced-rmw:" + id;
		CountDownLatch staleRead = new CountDownLatch(1);
		CountDownLatch newerRead = new CountDownLatch(1);
		CountDownLatch staleTried = new CountDownLatch(1);
		AtomicLong staleToken = new AtomicLong();
		CompletableFuture<Boolean> staleHolder = CompletableFuture
			.supplyAsync(() -> staleNode.lockManager().callWithLock(lock, EFFICIENCY, (lease) -> {
				staleToken.set(lease.fencingToken());
				int counter = staleTable.read(id, COUNTER).orElseThrow();
				staleRead.countDown();
				await(newerRead);
				try {
					return staleTable.update(id, Map.of("counter", counter + 1));
				}
				finally {
					staleTried.countDown();
				}
			}));
		await(staleRead);
		awaitExpiry(lock);
		long newerToken = newerNode.lockManager().callWithLock(lock, TAKE_OVER, (lease) -> {
			int counter = newerTable.read(id, COUNTER).orElseThrow();
			newerRead.countDown();
			await(staleTried);
			assertThat(counterOf(id)).as("counter after the stale holder's write").isZero();
			assertThat(newerTable.update(id, Map.of("counter", counter + 1))).isTrue();
			return lease.fencingToken();
		});
		assertThat(newerToken).isGreaterThan(staleToken.get());
		assertThat(staleHolder).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOfSatisfying(StaleFencingTokenException.class, (ex) -> {
				assertThat(ex.fencingToken()).isEqualTo(staleToken.get());
				assertThat(ex.newestToken()).isEqualTo(newerToken);
				assertThat(ex).hasMessageContaining("row " + id + " of " + TABLE)
					.hasMessageContaining("fencing token " + staleToken.get())
					.hasMessageContaining("token " + newerToken);
			});
		assertThat(counterOf(id)).as("exactly the newer holder's increment").isOne();
		assertThat(tokenOf(id)).isEqualTo(newerToken);
	}

	/**
	 * The control: the same interleaving with writes that only check the token (a conditional
	 * UPDATE) and a read that does not register it. Both writes are accepted and one increment is
	 * lost, which is why {@link FencedTable#read} registers the token.
	 */
	@Test
	void tokenCheckedWritesAloneLoseAnUpdateInTheSameInterleaving() {
		String id = newRow();
		String lock = "fenced-rmw-control:" + id;
		JdbcTemplate staleJdbc = new JdbcTemplate(staleNode.bean(DataSource.class));
		JdbcTemplate newerJdbc = new JdbcTemplate(newerNode.bean(DataSource.class));
		CountDownLatch staleRead = new CountDownLatch(1);
		CountDownLatch newerRead = new CountDownLatch(1);
		CountDownLatch staleWrote = new CountDownLatch(1);
		CompletableFuture<Integer> staleHolder = CompletableFuture
			.supplyAsync(() -> staleNode.lockManager().callWithLock(lock, EFFICIENCY, (lease) -> {
				int counter = plainRead(staleJdbc, id);
				staleRead.countDown();
				await(newerRead);
				try {
					return tokenCheckedWrite(staleJdbc, id, counter + 1, lease.fencingToken());
				}
				finally {
					staleWrote.countDown();
				}
			}));
		await(staleRead);
		awaitExpiry(lock);
		AtomicInteger newerWrites = new AtomicInteger();
		newerNode.lockManager().callWithLock(lock, TAKE_OVER, (lease) -> {
			int counter = plainRead(newerJdbc, id);
			newerRead.countDown();
			await(staleWrote);
			newerWrites.set(tokenCheckedWrite(newerJdbc, id, counter + 1, lease.fencingToken()));
			return null;
		});
		assertThat(staleHolder).succeedsWithin(Duration.ofSeconds(10)).as("stale holder's write accepted").isEqualTo(1);
		assertThat(newerWrites).as("newer holder's write accepted").hasValue(1);
		assertThat(counterOf(id)).as("two accepted increments, one lost").isOne();
	}

	@Test
	void blindWriteOfStaleHolderIsRejectedAndChangesNothing() {
		String id = newRow();
		String lock = "fenced-blind:" + id;
		long staleToken;
		try (Lease stale = staleNode.lockManager().acquire(lock, EFFICIENCY)) {
			staleToken = stale.fencingToken();
		}
		long newerToken = newerNode.lockManager().callWithLock(lock, TAKE_OVER, (lease) -> {
			assertThat(newerTable.update(id, Map.of("note", "newer", "counter", 7))).isTrue();
			return lease.fencingToken();
		});
		assertThatThrownBy(() -> staleTable.update(id, staleToken, Map.of("note", "stale", "counter", 1)))
			.isInstanceOfSatisfying(StaleFencingTokenException.class, (ex) -> {
				assertThat(ex.fencingToken()).isEqualTo(staleToken);
				assertThat(ex.newestToken()).isEqualTo(newerToken);
			});
		assertThat(jdbc.queryForMap("SELECT note, counter, fencing_token FROM " + TABLE + " WHERE id = ?", id))
			.containsEntry("note", "newer")
			.containsEntry("counter", 7)
			.containsEntry("fencing_token", newerToken);
	}

	@Test
	void readWithStaleTokenIsRejectedAndLeavesNewerTokenInPlace() {
		String id = newRow();
		String lock = "fenced-stale-read:" + id;
		long staleToken;
		try (Lease stale = staleNode.lockManager().acquire(lock, EFFICIENCY)) {
			staleToken = stale.fencingToken();
		}
		long newerToken = newerNode.lockManager().callWithLock(lock, TAKE_OVER, (lease) -> {
			assertThat(newerTable.read(id, COUNTER)).contains(0);
			return lease.fencingToken();
		});
		assertThat(tokenOf(id)).as("token registered by the read").isEqualTo(newerToken);
		assertThatThrownBy(() -> staleTable.read(id, staleToken, COUNTER))
			.isInstanceOf(StaleFencingTokenException.class);
		assertThat(tokenOf(id)).isEqualTo(newerToken);
	}

	@Test
	void upsertInsertsMissingRowThenUpdatesItWithNewerTokensOnly() {
		String id = "upsert-" + UUID.randomUUID();
		String lock = "fenced-upsert:" + id;
		long first = newerNode.lockManager().callWithLock(lock, EFFICIENCY, (lease) -> {
			newerTable.upsert(id, Map.of("counter", 5, "note", "inserted"));
			return lease.fencingToken();
		});
		assertThat(jdbc.queryForMap("SELECT counter, note, fencing_token FROM " + TABLE + " WHERE id = ?", id))
			.containsEntry("counter", 5)
			.containsEntry("note", "inserted")
			.containsEntry("fencing_token", first);
		long second = staleNode.lockManager().callWithLock(lock, EFFICIENCY, (lease) -> {
			staleTable.upsert(id, Map.of("counter", 6, "note", "updated"));
			return lease.fencingToken();
		});
		assertThat(jdbc.queryForMap("SELECT counter, note, fencing_token FROM " + TABLE + " WHERE id = ?", id))
			.containsEntry("counter", 6)
			.containsEntry("note", "updated")
			.containsEntry("fencing_token", second);
		assertThatThrownBy(() -> newerTable.upsert(id, first, Map.of("counter", 99, "note", "stale")))
			.isInstanceOfSatisfying(StaleFencingTokenException.class,
					(ex) -> assertThat(ex.newestToken()).isEqualTo(second));
		assertThat(jdbc.queryForMap("SELECT counter, note, fencing_token FROM " + TABLE + " WHERE id = ?", id))
			.containsEntry("counter", 6)
			.containsEntry("note", "updated")
			.containsEntry("fencing_token", second);
	}

	@Test
	void updateOfMissingRowReturnsFalseAndReadReturnsEmpty() {
		String id = "missing-" + UUID.randomUUID();
		newerNode.lockManager().callWithLock("fenced-missing:" + id, EFFICIENCY, (lease) -> {
			assertThat(newerTable.update(id, Map.of("counter", 1))).isFalse();
			assertThat(newerTable.read(id, COUNTER)).isEmpty();
			return null;
		});
		assertThat(jdbc.queryForObject("SELECT count(*) FROM " + TABLE + " WHERE id = ?", Integer.class, id)).isZero();
	}

	@Test
	void sameHolderMayReadAndWriteRepeatedlyWithItsToken() {
		String id = newRow();
		long token = newerNode.lockManager().callWithLock("fenced-repeat:" + id, EFFICIENCY, (lease) -> {
			for (int i = 0; i < 3; i++) {
				int counter = newerTable.read(id, COUNTER).orElseThrow();
				assertThat(newerTable.update(id, Map.of("counter", counter + 1))).isTrue();
				assertThat(newerTable.update(id, Map.of("note", "pass " + i))).isTrue();
				newerTable.upsert(id, Map.of("written_by", lease.fencingToken()));
			}
			return lease.fencingToken();
		});
		assertThat(jdbc.queryForMap("SELECT counter, note, fencing_token, written_by FROM " + TABLE + " WHERE id = ?",
				id))
			.containsEntry("counter", 3)
			.containsEntry("note", "pass 2")
			.containsEntry("fencing_token", token)
			.containsEntry("written_by", token);
	}

	@Test
	void anotherTokenColumnCanBeNamed() {
		String table = PausedHolders.uniqueTable("fenced_table_column");
		jdbc.execute("CREATE TABLE " + table + " (code text PRIMARY KEY, state text, last_token bigint NOT NULL)");
		try {
			jdbc.update("INSERT INTO " + table + " (code, state, last_token) VALUES ('a', 'new', 0)");
			FencedTable fenced = FencedTable.of(newerNode.bean(DataSource.class), table, "code")
				.withTokenColumn("last_token");
			assertThat(fenced.update("a", 10, Map.of("state", "done"))).isTrue();
			assertThatThrownBy(() -> fenced.update("a", 9, Map.of("state", "stale")))
				.isInstanceOf(StaleFencingTokenException.class);
			assertThat(jdbc.queryForMap("SELECT state, last_token FROM " + table)).containsEntry("state", "done")
				.containsEntry("last_token", 10L);
		}
		finally {
			jdbc.execute("DROP TABLE " + table);
		}
	}

	@Test
	void outsideLockedCallTheImplicitTokenIsRefused() {
		String id = newRow();
		assertThatIllegalStateException().isThrownBy(() -> newerTable.update(id, Map.of("counter", 1)))
			.withMessageContaining("holds no lease");
		assertThatIllegalStateException().isThrownBy(() -> newerTable.read(id, COUNTER))
			.withMessageContaining("holds no lease");
		assertThat(counterOf(id)).isZero();
		assertThat(tokenOf(id)).isZero();
	}

	@Test
	void invalidTableAndColumnNamesAreRejectedWithClearMessage() {
		DataSource dataSource = newerNode.bean(DataSource.class);
		assertThatThrownBy(() -> FencedTable.of(dataSource, TABLE + "; DROP TABLE " + TABLE, "id"))
			.isInstanceOf(LockConfigurationException.class)
			.hasMessageContaining("'" + TABLE + "; DROP TABLE " + TABLE + "'")
			.hasMessageContaining("table name");
		assertThatThrownBy(() -> FencedTable.of(dataSource, TABLE, "id = id OR true --"))
			.isInstanceOf(LockConfigurationException.class)
			.hasMessageContaining("key column 'id = id OR true --'");
		assertThatThrownBy(() -> FencedTable.of(dataSource, TABLE, "id").withTokenColumn("public.fencing_token"))
			.isInstanceOf(LockConfigurationException.class)
			.hasMessageContaining("fencing token column 'public.fencing_token'");
		String id = newRow();
		assertThatThrownBy(() -> newerTable.update(id, 100, Map.of("counter = 42, note", "x")))
			.isInstanceOf(LockConfigurationException.class)
			.hasMessageContaining("column 'counter = 42, note'");
		assertThatThrownBy(() -> newerTable.update(id, 100, Map.of()))
			.isInstanceOf(IllegalArgumentException.class)
			.hasMessageContaining("columns");
		assertThat(counterOf(id)).isZero();
		assertThat(tokenOf(id)).isZero();
	}

	/**
	 * A table that gets its token column after the fact ({@code ALTER TABLE ... ADD COLUMN
	 * fencing_token bigint}) has rows whose token is NULL: they have seen no token, so any holder
	 * may write them.
	 */
	@Test
	void rowThatHasSeenNoTokenYetCanBeReadAndWritten() {
		String table = PausedHolders.uniqueTable("fenced_table_nullable");
		jdbc.execute("CREATE TABLE " + table + " (id text PRIMARY KEY, counter integer NOT NULL)");
		try {
			jdbc.update("INSERT INTO " + table + " (id, counter) VALUES ('a', 1)");
			jdbc.execute("ALTER TABLE " + table + " ADD COLUMN fencing_token bigint");
			FencedTable fenced = FencedTable.of(newerNode.bean(DataSource.class), table, "id");
			assertThat(fenced.read("a", 10, COUNTER)).contains(1);
			assertThat(fenced.update("a", 10, Map.of("counter", 2))).isTrue();
			assertThat(jdbc.queryForMap("SELECT counter, fencing_token FROM " + table)).containsEntry("counter", 2)
				.containsEntry("fencing_token", 10L);
		}
		finally {
			jdbc.execute("DROP TABLE " + table);
		}
	}

	private static String newRow() {
		String id = "row-" + UUID.randomUUID();
		jdbc.update("INSERT INTO " + TABLE + " (id) VALUES (?)", id);
		return id;
	}

	private static int counterOf(String id) {
		return jdbc.queryForObject("SELECT counter FROM " + TABLE + " WHERE id = ?", Integer.class, id);
	}

	private static long tokenOf(String id) {
		return jdbc.queryForObject("SELECT fencing_token FROM " + TABLE + " WHERE id = ?", Long.class, id);
	}

	private static int plainRead(JdbcTemplate jdbc, String id) {
		return jdbc.queryForObject("SELECT counter FROM " + TABLE + " WHERE id = ?", Integer.class, id);
	}

	/** A write that checks the token but registers nothing on reads: what FencedTable must do better than. */
	private static int tokenCheckedWrite(JdbcTemplate jdbc, String id, int counter, long token) {
		return jdbc.update("UPDATE " + TABLE + " SET counter = ?, fencing_token = ? WHERE id = ? AND fencing_token <= ?",
				counter, token, id, token);
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
