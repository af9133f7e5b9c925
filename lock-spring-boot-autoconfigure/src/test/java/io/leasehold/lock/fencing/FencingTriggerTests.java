package io.leasehold.lock.fencing;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DriverManagerDataSource;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.fencing.PausedHolders.Pause;
import io.leasehold.lock.test.TestDatabase;

import static io.leasehold.lock.fencing.PausedHolders.await;
import static io.leasehold.lock.fencing.PausedHolders.awaitExpiry;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * {@link FencingTrigger} on a table written by two nodes: every writer, even one that bypasses
 * the library, is held to token order, and a rejection inside a locked call reaches the caller as
 * {@link StaleFencingTokenException}.
 */
class FencingTriggerTests {

	private static final String TABLE = PausedHolders.uniqueTable("fencing_trigger_test");

	private static final LockOptions EFFICIENCY = LockOptions.defaults().withPurpose(Purpose.EFFICIENCY);

	private static LockNode staleNode;

	private static LockNode newerNode;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void startNodes() {
		jdbc = PausedHolders.jdbc();
		// Nullable on purpose: clearing the token is the trigger's to reject, not a constraint's.
		jdbc.execute("CREATE TABLE " + TABLE + " (id text PRIMARY KEY, note text, fencing_token bigint)");
		FencingTrigger.install(TestDatabase.get().dataSource(), TABLE, "fencing_token");
		String table = "test.fenced-table=" + TABLE;
		staleNode = LockNode.start(Config.class, append(PausedHolders.SHORT_LEASES, table));
		newerNode = LockNode.start(Config.class, append(PausedHolders.SHORT_LEASES, table));
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
	void writerBypassingTheLibraryCannotLowerTheToken() {
		String id = newRow();
		long newerToken = newerNode.bean(Writer.class).write(id, "newer", 0);
		Throwable failure = catchThrowable(() -> jdbc.update(
				"UPDATE " + TABLE + " SET note = 'bypass', fencing_token = ? WHERE id = ?", newerToken - 1, id));
		assertThat(failure).isInstanceOf(DataAccessException.class);
		assertThat(sqlStateOf(failure)).isEqualTo(FencingTrigger.SQL_STATE);
		assertThat(FencingTrigger.translate(failure)).isNotNull().satisfies((stale) -> {
			assertThat(stale.fencingToken()).isEqualTo(newerToken - 1);
			assertThat(stale.newestToken()).isEqualTo(newerToken);
			assertThat(stale).hasMessageContaining(TABLE).hasCause(failure);
		});
		assertRow(id, "newer", newerToken);
	}

	@Test
	void staleHolderPausedPastItsLeaseGetsStaleFencingTokenExceptionFromLockedMethod() {
		String id = newRow();
		Writer stale = staleNode.bean(Writer.class);
		stale.pause().arm();
		CompletableFuture<Long> staleCall = CompletableFuture.supplyAsync(() -> stale.write(id, "stale", 0));
		stale.pause().awaitReached();
		awaitExpiry("trigger:" + id);
		long newerToken = newerNode.bean(Writer.class).write(id, "newer", 0);
		stale.pause().resume();
		assertThat(staleCall).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOfSatisfying(StaleFencingTokenException.class, (ex) -> {
				assertThat(ex.newestToken()).isEqualTo(newerToken);
				assertThat(ex.fencingToken()).isPositive().isLessThan(newerToken);
				assertThat(ex).hasMessageContaining("table public." + TABLE)
					.hasMessageContaining("fencing token " + ex.fencingToken())
					.hasMessageContaining("token " + newerToken);
			});
		assertRow(id, "newer", newerToken);
	}

	@Test
	void staleHolderPausedInsideCallWithLockGetsStaleFencingTokenException() {
		String id = newRow();
		String lock = "trigger-manager:" + id;
		JdbcTemplate staleJdbc = staleNode.bean(JdbcTemplate.class);
		Pause pause = new Pause();
		pause.arm();
		AtomicLong staleToken = new AtomicLong();
		CompletableFuture<Integer> staleCall = CompletableFuture
			.supplyAsync(() -> staleNode.lockManager().callWithLock(lock, EFFICIENCY, (lease) -> {
				staleToken.set(lease.fencingToken());
				pause.here();
				return staleJdbc.update("UPDATE " + TABLE + " SET note = 'stale', fencing_token = ? WHERE id = ?",
						lease.fencingToken(), id);
			}));
		pause.awaitReached();
		awaitExpiry(lock);
		long newerToken = newerNode.lockManager()
			.callWithLock(lock, EFFICIENCY.withWaitTime(Duration.ofSeconds(5)), (lease) -> {
				newerNode.bean(JdbcTemplate.class)
					.update("UPDATE " + TABLE + " SET note = 'newer', fencing_token = ? WHERE id = ?",
							lease.fencingToken(), id);
				return lease.fencingToken();
			});
		pause.resume();
		assertThat(staleCall).failsWithin(Duration.ofSeconds(10))
			.withThrowableThat()
			.havingCause()
			.isInstanceOfSatisfying(StaleFencingTokenException.class, (ex) -> {
				assertThat(ex.fencingToken()).isEqualTo(staleToken.get());
				assertThat(ex.newestToken()).isEqualTo(newerToken);
			});
		assertRow(id, "newer", newerToken);
	}

	@Test
	void higherAndEqualTokensAndUpdatesLeavingTheTokenPass() {
		String id = newRow();
		long first = newerNode.bean(Writer.class).write(id, "first", 0);
		long second = staleNode.bean(Writer.class).write(id, "second", 0);
		assertThat(second).isGreaterThan(first);
		assertRow(id, "second", second);
		jdbc.update("UPDATE " + TABLE + " SET note = 'same token' , fencing_token = ? WHERE id = ?", second, id);
		assertRow(id, "same token", second);
		jdbc.update("UPDATE " + TABLE + " SET note = 'token untouched' WHERE id = ?", id);
		assertRow(id, "token untouched", second);
	}

	@Test
	void clearingTheTokenIsRejected() {
		String id = newRow();
		long token = newerNode.bean(Writer.class).write(id, "kept", 0);
		Throwable failure = catchThrowable(
				() -> jdbc.update("UPDATE " + TABLE + " SET note = 'cleared', fencing_token = NULL WHERE id = ?", id));
		assertThat(sqlStateOf(failure)).isEqualTo(FencingTrigger.SQL_STATE);
		assertRow(id, "kept", token);
	}

	@Test
	void installIsIdempotent() {
		DataSource dataSource = newerNode.bean(DataSource.class);
		FencingTrigger.install(dataSource, TABLE, "fencing_token");
		FencingTrigger.install(dataSource, TABLE, "fencing_token");
		assertThat(jdbc.queryForObject("SELECT count(*) FROM pg_trigger WHERE tgrelid = ?::regclass AND NOT tgisinternal",
				Integer.class, TABLE))
			.isOne();
		String id = newRow();
		long token = newerNode.bean(Writer.class).write(id, "after reinstall", 0);
		assertThat(sqlStateOf(catchThrowable(() -> jdbc
			.update("UPDATE " + TABLE + " SET note = 'stale', fencing_token = ? WHERE id = ?", token - 1, id))))
			.isEqualTo(FencingTrigger.SQL_STATE);
		jdbc.update("UPDATE " + TABLE + " SET note = 'newer', fencing_token = ? WHERE id = ?", token + 1, id);
		assertRow(id, "newer", token + 1);
	}

	@Test
	void nodesInstallingAtTheSameTimeBothSucceed() throws Exception {
		String table = PausedHolders.uniqueTable("fencing_trigger_race");
		jdbc.execute("CREATE TABLE " + table + " (id text PRIMARY KEY, fencing_token bigint)");
		ExecutorService executor = Executors.newFixedThreadPool(2);
		try {
			DataSource[] dataSources = { staleNode.bean(DataSource.class), newerNode.bean(DataSource.class) };
			for (int round = 0; round < 30; round++) {
				CyclicBarrier start = new CyclicBarrier(2);
				List<Future<?>> installs = new ArrayList<>();
				for (DataSource dataSource : dataSources) {
					installs.add(executor.submit(() -> {
						start.await(10, TimeUnit.SECONDS);
						FencingTrigger.install(dataSource, table, "fencing_token");
						return null;
					}));
				}
				for (Future<?> install : installs) {
					assertThat(install).as("install in round " + round).succeedsWithin(Duration.ofSeconds(10));
				}
			}
		}
		finally {
			executor.shutdownNow();
			jdbc.execute("DROP TABLE " + table);
		}
	}

	@Test
	void reinstallingNeverLetsAStaleWriteThrough() throws Exception {
		String id = newRow();
		long token = newerNode.bean(Writer.class).write(id, "newer", 0);
		AtomicBoolean stop = new AtomicBoolean();
		DataSource installer = staleNode.bean(DataSource.class);
		CompletableFuture<Void> reinstalls = CompletableFuture.runAsync(() -> {
			for (int i = 0; i < 300 && !stop.get(); i++) {
				FencingTrigger.install(installer, TABLE, "fencing_token");
			}
		});
		JdbcTemplate staleWriter = newerNode.bean(JdbcTemplate.class);
		int accepted = 0;
		try {
			while (!reinstalls.isDone() && accepted == 0) {
				try {
					accepted += staleWriter.update(
							"UPDATE " + TABLE + " SET note = 'stale', fencing_token = ? WHERE id = ? AND note = 'newer'",
							token - 1, id);
				}
				catch (DataAccessException ex) {
					assertThat(sqlStateOf(ex)).isEqualTo(FencingTrigger.SQL_STATE);
				}
			}
		}
		finally {
			stop.set(true);
			reinstalls.get(30, TimeUnit.SECONDS);
		}
		assertThat(accepted).as("stale writes accepted while the trigger was re-installed").isZero();
		assertRow(id, "newer", token);
	}

	@Test
	void tokenColumnNameIsCaseInsensitiveAsInSql() {
		String table = PausedHolders.uniqueTable("fencing_trigger_case");
		jdbc.execute("CREATE TABLE " + table + " (id text PRIMARY KEY, fencing_token bigint)");
		try {
			FencingTrigger.install(newerNode.bean(DataSource.class), table, "FENCING_TOKEN");
			jdbc.update("INSERT INTO " + table + " (id, fencing_token) VALUES ('a', 1)");
			jdbc.update("UPDATE " + table + " SET fencing_token = 2 WHERE id = 'a'");
			assertThat(sqlStateOf(catchThrowable(
					() -> jdbc.update("UPDATE " + table + " SET fencing_token = 1 WHERE id = 'a'"))))
				.isEqualTo(FencingTrigger.SQL_STATE);
			assertThat(jdbc.queryForObject("SELECT fencing_token FROM " + table, Long.class)).isEqualTo(2);
		}
		finally {
			jdbc.execute("DROP TABLE " + table);
		}
	}

	@Test
	void installRejectsATokenColumnTheTableDoesNotHave() {
		String table = PausedHolders.uniqueTable("fencing_trigger_column");
		jdbc.execute("CREATE TABLE " + table + " (id text PRIMARY KEY, fencing_token bigint)");
		try {
			assertThatThrownBy(() -> FencingTrigger.install(newerNode.bean(DataSource.class), table, "fence_token"))
				.hasMessageContaining("fence_token")
				.hasMessageContaining(table);
		}
		finally {
			jdbc.execute("DROP TABLE " + table);
		}
	}

	/**
	 * pgjdbc's {@code logServerErrorDetail=false} (recommended to keep data out of logs) leaves the
	 * DETAIL out of the exception message; the rejection must still name both tokens.
	 */
	@Test
	void translationNamesTheTokensWhenTheDriverLeavesOutErrorDetails() {
		String id = newRow();
		long token = newerNode.bean(Writer.class).write(id, "newer", 0);
		TestDatabase database = TestDatabase.get();
		DriverManagerDataSource quiet = new DriverManagerDataSource(database.jdbcUrl(), database.username(),
				database.password());
		Properties driverProperties = new Properties();
		driverProperties.setProperty("logServerErrorDetail", "false");
		quiet.setConnectionProperties(driverProperties);
		Throwable failure = catchThrowable(() -> new JdbcTemplate(quiet)
			.update("UPDATE " + TABLE + " SET note = 'stale', fencing_token = ? WHERE id = ?", token - 1, id));
		assertThat(sqlStateOf(failure)).isEqualTo(FencingTrigger.SQL_STATE);
		assertThat(FencingTrigger.translate(failure)).isNotNull().satisfies((stale) -> {
			assertThat(stale.fencingToken()).isEqualTo(token - 1);
			assertThat(stale.newestToken()).isEqualTo(token);
		});
		assertRow(id, "newer", token);
	}

	private static String newRow() {
		String id = "row-" + UUID.randomUUID();
		jdbc.update("INSERT INTO " + TABLE + " (id, note, fencing_token) VALUES (?, 'initial', 0)", id);
		return id;
	}

	private static void assertRow(String id, String note, long token) {
		assertThat(jdbc.queryForMap("SELECT note, fencing_token FROM " + TABLE + " WHERE id = ?", id))
			.containsEntry("note", note)
			.containsEntry("fencing_token", token);
	}

	private static String sqlStateOf(Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql) {
				return sql.getSQLState();
			}
		}
		throw new AssertionError("No SQLException in " + failure, failure);
	}

	private static String[] append(String[] properties, String property) {
		List<String> all = new ArrayList<>(List.of(properties));
		all.add(property);
		return all.toArray(String[]::new);
	}

	/** Writes a row's note with its lease's token using plain JDBC, after an optional pause. */
	static class Writer {

		private final Pause pause = new Pause();

		private final JdbcTemplate jdbc;

		private final String table;

		Writer(JdbcTemplate jdbc, String table) {
			this.jdbc = jdbc;
			this.table = table;
		}

		/** Where the next {@link #write} stops once armed (a method, since the bean is a class proxy). */
		public Pause pause() {
			return this.pause;
		}

		@DistributedLock(name = "trigger", key = "#id", purpose = Purpose.EFFICIENCY, waitTime = "5s")
		public long write(String id, String note, @FencingToken long token) {
			this.pause.here();
			this.jdbc.update("UPDATE " + this.table + " SET note = ?, fencing_token = ? WHERE id = ?", note, token,
					id);
			return token;
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Writer writer(JdbcTemplate jdbc, @Value("${test.fenced-table}") String table) {
			return new Writer(jdbc, table);
		}

	}

}
