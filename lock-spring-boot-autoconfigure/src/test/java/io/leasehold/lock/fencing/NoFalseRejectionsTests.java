package io.leasehold.lock.fencing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Holders that keep their leases are never rejected: two nodes with two threads each run many
 * locked, transactional read-modify-write increments through {@link FencedTable}, on a table
 * with the {@link FencingTrigger} and with the commit guard of CORRECTNESS locks, and every
 * increment lands.
 */
class NoFalseRejectionsTests {

	private static final String TABLE = PausedHolders.uniqueTable("no_false_rejections");

	private static final int ROWS = 4;

	private static final int THREADS_PER_NODE = 2;

	private static final int INCREMENTS_PER_THREAD = 90;

	private static LockNode first;

	private static LockNode second;

	private static JdbcTemplate jdbc;

	@BeforeAll
	static void startNodes() {
		jdbc = PausedHolders.jdbc();
		jdbc.execute("CREATE TABLE " + TABLE
				+ " (id text PRIMARY KEY, counter integer NOT NULL, fencing_token bigint NOT NULL)");
		FencingTrigger.install(TestDatabase.get().dataSource(), TABLE, "fencing_token");
		first = LockNode.start(Config.class, "test.fenced-table=" + TABLE);
		second = LockNode.start(Config.class, "test.fenced-table=" + TABLE);
	}

	@AfterAll
	static void stopNodes() {
		if (first != null) {
			first.close();
		}
		if (second != null) {
			second.close();
		}
		jdbc.execute("DROP TABLE IF EXISTS " + TABLE);
	}

	@Test
	void lockedReadModifyWriteIncrementsAllLandWithoutRejection() throws Exception {
		String prefix = "counter-" + UUID.randomUUID() + "-";
		for (int row = 0; row < ROWS; row++) {
			jdbc.update("INSERT INTO " + TABLE + " (id, counter, fencing_token) VALUES (?, 0, 0)", prefix + row);
		}
		LockNode[] nodes = { first, second };
		int threads = nodes.length * THREADS_PER_NODE;
		ExecutorService executor = Executors.newFixedThreadPool(threads);
		CyclicBarrier start = new CyclicBarrier(threads);
		List<Future<?>> workers = new ArrayList<>();
		try {
			for (int thread = 0; thread < threads; thread++) {
				Counters counters = nodes[thread % nodes.length].bean(Counters.class);
				int offset = thread;
				workers.add(executor.submit(() -> {
					start.await(10, TimeUnit.SECONDS);
					for (int i = 0; i < INCREMENTS_PER_THREAD; i++) {
						counters.increment(prefix + ((i + offset) % ROWS));
					}
					return null;
				}));
			}
			for (Future<?> worker : workers) {
				assertThat(worker).succeedsWithin(Duration.ofSeconds(60));
			}
		}
		finally {
			executor.shutdownNow();
		}
		List<Map<String, Object>> rows = jdbc.queryForList(
				"SELECT counter, fencing_token FROM " + TABLE + " WHERE id LIKE ? ORDER BY id", prefix + "%");
		assertThat(rows).hasSize(ROWS);
		int perRow = threads * INCREMENTS_PER_THREAD / ROWS;
		assertThat(rows).allSatisfy((row) -> {
			assertThat(row.get("counter")).isEqualTo(perRow);
			assertThat((Long) row.get("fencing_token")).isPositive();
		});
		for (LockNode node : nodes) {
			assertThat(node.bean(DefaultLockManager.class).leasesLost()).isZero();
		}
	}

	/** One increment: the token is registered on the read, checked on the write and at commit. */
	static class Counters {

		private final FencedTable table;

		Counters(FencedTable table) {
			this.table = table;
		}

		@DistributedLock(name = "fenced-counter", key = "#id", waitTime = "30s")
		@Transactional
		public void increment(String id) {
			int counter = this.table.read(id, (row, index) -> row.getInt("counter")).orElseThrow();
			assertThat(this.table.update(id, Map.of("counter", counter + 1))).isTrue();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Counters counters(DataSource dataSource, @Value("${test.fenced-table}") String table) {
			return new Counters(FencedTable.of(dataSource, table, "id"));
		}

	}

}
