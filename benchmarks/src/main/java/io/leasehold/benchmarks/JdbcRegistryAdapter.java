package io.leasehold.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.zaxxer.hikari.HikariDataSource;

import org.springframework.integration.jdbc.lock.DefaultLockRepository;
import org.springframework.integration.jdbc.lock.JdbcLockRegistry;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

/**
 * Spring Integration's {@link JdbcLockRegistry} with a {@link DefaultLockRepository} per node (its
 * own client id and pool, a time to live of 60 s), on table {@code BENCH_INT_LOCK} created from the
 * {@code schema-postgresql.sql} shipped in the spring-integration-jdbc jar. Waiting is the
 * registry's own ({@code tryLock(time)}: it retries the database every 100 ms by default). No
 * fencing token.
 */
final class JdbcRegistryAdapter implements LockAdapter {

	static final String PREFIX = "BENCH_INT_";

	static final java.time.Duration TIME_TO_LIVE = java.time.Duration.ofSeconds(60);

	private final List<HikariDataSource> pools = new ArrayList<>();

	private final List<StatementCounter> counters = new ArrayList<>();

	private final List<DefaultLockRepository> repositories = new ArrayList<>();

	private final List<JdbcLockRegistry> registries = new ArrayList<>();

	JdbcRegistryAdapter(BenchDatabase database, int nodeCount, int poolSize) throws SQLException, IOException {
		createTable(database);
		for (int i = 0; i < nodeCount; i++) {
			StatementCounter counter = new StatementCounter(JdbcRegistryAdapter::classify);
			HikariDataSource pool = Pools.pool(database, "jdbc-registry-node-" + i, poolSize);
			CountingDataSource dataSource = new CountingDataSource(pool, counter);
			DefaultLockRepository repository = new DefaultLockRepository(dataSource, UUID.randomUUID().toString());
			repository.setPrefix(PREFIX);
			// the default time to live (10 s) is shorter than the idle scenario's hold, and the
			// registry does not renew: the lock would expire under its holder
			repository.setTimeToLive((int) TIME_TO_LIVE.toMillis());
			repository.setTransactionManager(new DataSourceTransactionManager(dataSource));
			repository.afterPropertiesSet();
			repository.afterSingletonsInstantiated();
			repository.start();
			this.pools.add(pool);
			this.counters.add(counter);
			this.repositories.add(repository);
			this.registries.add(new JdbcLockRegistry(repository, TIME_TO_LIVE));
		}
	}

	private static void createTable(BenchDatabase database) throws SQLException, IOException {
		String script;
		try (InputStream in = DefaultLockRepository.class.getResourceAsStream("/org/springframework/integration/jdbc/schema-postgresql.sql")) {
			if (in == null) {
				throw new IOException("schema-postgresql.sql not found in spring-integration-jdbc");
			}
			script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
		}
		Matcher matcher = Pattern.compile("CREATE TABLE INT_LOCK\\s*\\(.*?\\);", Pattern.DOTALL).matcher(script);
		if (!matcher.find()) {
			throw new IOException("No INT_LOCK table in schema-postgresql.sql");
		}
		String ddl = matcher.group().replace("CREATE TABLE INT_LOCK", "CREATE TABLE IF NOT EXISTS " + PREFIX + "LOCK")
			.replace("INT_LOCK_PK", PREFIX + "LOCK_PK")
			.replaceAll(";$", "");
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			statement.execute(ddl);
		}
	}

	@Override
	public String name() {
		return "jdbc-registry";
	}

	@Override
	public int nodeCount() {
		return this.pools.size();
	}

	@Override
	public Session open(int node) {
		JdbcLockRegistry registry = this.registries.get(node);
		return (lockName, waitTime) -> {
			Lock lock = registry.obtain(lockName);
			if (!lock.tryLock(waitTime.toMillis(), TimeUnit.MILLISECONDS)) {
				return null;
			}
			return new Handle() {

				@Override
				public long token() {
					return -1;
				}

				@Override
				public void release() {
					lock.unlock();
				}

			};
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

	/** Measured: 6.9 million refusals on free distinct keys in one loaded run, none alone. */
	@Override
	public boolean mayRefuseFreeLocks() {
		return true;
	}

	@Override
	public void close() {
		for (DefaultLockRepository repository : this.repositories) {
			repository.stop();
			repository.close();
		}
		for (HikariDataSource pool : this.pools) {
			pool.close();
		}
	}

	static String classify(String sql) {
		String text = sql.trim().toUpperCase(Locale.ROOT);
		int space = text.indexOf(' ');
		return (space > 0) ? text.substring(0, space).toLowerCase(Locale.ROOT) : text.toLowerCase(Locale.ROOT);
	}


}
