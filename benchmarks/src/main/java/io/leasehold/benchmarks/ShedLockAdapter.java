package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import com.zaxxer.hikari.HikariDataSource;
import net.javacrumbs.shedlock.core.ClockProvider;
import net.javacrumbs.shedlock.core.LockConfiguration;
import net.javacrumbs.shedlock.core.SimpleLock;
import net.javacrumbs.shedlock.provider.jdbctemplate.JdbcTemplateLockProvider;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * ShedLock's {@link JdbcTemplateLockProvider} with database time ({@code usingDbTime()}), one
 * provider per node on its own pool, on a table of its own ({@code bench_shedlock}). ShedLock has
 * no wait: a contender polls with a short sleep until its wait time is over. No fencing token.
 */
final class ShedLockAdapter implements LockAdapter {

	static final String TABLE = "bench_shedlock";

	private final List<HikariDataSource> pools = new ArrayList<>();

	private final List<StatementCounter> counters = new ArrayList<>();

	private final List<JdbcTemplateLockProvider> providers = new ArrayList<>();

	ShedLockAdapter(BenchDatabase database, int nodeCount, int poolSize) throws SQLException {
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			statement.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " (name VARCHAR(64) NOT NULL,"
					+ " lock_until TIMESTAMP NOT NULL, locked_at TIMESTAMP NOT NULL, locked_by VARCHAR(255) NOT NULL,"
					+ " PRIMARY KEY (name))");
		}
		for (int i = 0; i < nodeCount; i++) {
			StatementCounter counter = new StatementCounter(ShedLockAdapter::classify);
			HikariDataSource pool = Pools.pool(database, "shedlock-node-" + i, poolSize);
			this.pools.add(pool);
			this.counters.add(counter);
			this.providers.add(new JdbcTemplateLockProvider(JdbcTemplateLockProvider.Configuration.builder()
				.withJdbcTemplate(new JdbcTemplate(new CountingDataSource(pool, counter)))
				.withTableName(TABLE)
				.usingDbTime()
				.build()));
		}
	}

	@Override
	public String name() {
		return "shedlock";
	}

	@Override
	public int nodeCount() {
		return this.pools.size();
	}

	@Override
	public Session open(int node) {
		JdbcTemplateLockProvider provider = this.providers.get(node);
		return (lockName, waitTime) -> {
			long deadline = System.nanoTime() + waitTime.toNanos();
			while (true) {
				Optional<SimpleLock> lock = provider
					.lock(new LockConfiguration(ClockProvider.now(), lockName, Duration.ofSeconds(30), Duration.ZERO));
				if (lock.isPresent()) {
					SimpleLock held = lock.get();
					return new Handle() {

						@Override
						public long token() {
							return -1;
						}

						@Override
						public void release() {
							held.unlock();
						}

					};
				}
				if (System.nanoTime() - deadline >= 0) {
					return null;
				}
				Thread.sleep(FloorAdapter.POLL.toMillis());
			}
		};
	}

	@Override
	public StatementCounter statements(int node) {
		return this.counters.get(node);
	}

	@Override
	public boolean issuesFencingTokens() {
		return false;
	}

	@Override
	public void close() {
		for (HikariDataSource pool : this.pools) {
			pool.close();
		}
	}

	static String classify(String sql) {
		String text = sql.trim().toUpperCase(java.util.Locale.ROOT);
		if (text.startsWith("INSERT")) {
			return "insert";
		}
		if (text.startsWith("UPDATE") && text.contains("LOCKED_BY =") && text.contains("LOCK_UNTIL <=")) {
			return "update";
		}
		if (text.startsWith("UPDATE")) {
			return "unlock";
		}
		return "other: " + text.substring(0, Math.min(30, text.length()));
	}

}
