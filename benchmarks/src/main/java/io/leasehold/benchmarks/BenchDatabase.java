package io.leasehold.benchmarks;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.jspecify.annotations.Nullable;

/**
 * The PostgreSQL database the benchmark runs in: {@code LEASEHOLD_BENCH_JDBC_URL} (default
 * {@value #DEFAULT_URL}, user {@code LEASEHOLD_BENCH_JDBC_USER} default {@code postgres},
 * password {@code LEASEHOLD_BENCH_JDBC_PASSWORD} default empty). The database is created when it
 * is missing, so nothing else runs in it and its transaction counters are the benchmark's own.
 * When the server cannot be reached, an embedded PostgreSQL (io.zonky) is started instead.
 */
final class BenchDatabase implements AutoCloseable {

	static final String DEFAULT_URL = "jdbc:postgresql://127.0.0.1:5432/leasehold_bench";

	private static final Pattern URL = Pattern.compile("(jdbc:postgresql://[^/]*/)([^?]*)(\\?.*)?");

	private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]*");

	private final String jdbcUrl;

	private final String username;

	private final String password;

	private final String source;

	private final @Nullable EmbeddedPostgres embedded;

	private BenchDatabase(String jdbcUrl, String username, String password, String source,
			@Nullable EmbeddedPostgres embedded) {
		this.jdbcUrl = jdbcUrl;
		this.username = username;
		this.password = password;
		this.source = source;
		this.embedded = embedded;
	}

	static BenchDatabase open() throws IOException, SQLException {
		String url = env("LEASEHOLD_BENCH_JDBC_URL", DEFAULT_URL);
		String user = env("LEASEHOLD_BENCH_JDBC_USER", "postgres");
		String password = env("LEASEHOLD_BENCH_JDBC_PASSWORD", "");
		String source = (System.getenv("LEASEHOLD_BENCH_JDBC_URL") != null) ? "LEASEHOLD_BENCH_JDBC_URL" : "default URL";
		try {
			ensureDatabase(url, user, password);
			return new BenchDatabase(url, user, password, source, null);
		}
		catch (SQLException ex) {
			if (ex.getSQLState() == null || !ex.getSQLState().startsWith("08")) {
				throw ex;
			}
			System.out.println("PostgreSQL at " + url + " is unreachable (" + ex.getMessage()
					+ "); starting an embedded PostgreSQL");
		}
		EmbeddedPostgres embedded = EmbeddedPostgres.builder().start();
		String embeddedUrl = embedded.getJdbcUrl("postgres", "leasehold_bench");
		ensureDatabase(embeddedUrl, "postgres", "");
		return new BenchDatabase(embeddedUrl, "postgres", "", "embedded PostgreSQL (io.zonky)", embedded);
	}

	/** Connects, creating the database first if it does not exist. */
	private static void ensureDatabase(String url, String user, String password) throws SQLException {
		try (Connection connection = DriverManager.getConnection(url, user, password)) {
			return;
		}
		catch (SQLException ex) {
			if (!"3D000".equals(ex.getSQLState())) {
				throw ex;
			}
		}
		Matcher matcher = URL.matcher(url);
		if (!matcher.matches() || !IDENTIFIER.matcher(matcher.group(2)).matches()) {
			throw new SQLException("Database of " + url + " does not exist and its name cannot be created safely");
		}
		try (Connection connection = DriverManager.getConnection(maintenanceUrl(url), user, password);
				Statement statement = connection.createStatement()) {
			statement.execute("CREATE DATABASE " + matcher.group(2));
			System.out.println("Created database " + matcher.group(2));
		}
		catch (SQLException ex) {
			if (!"42P04".equals(ex.getSQLState())) {
				throw ex;
			}
		}
	}

	/** The same server's {@code postgres} database. */
	static String maintenanceUrl(String url) {
		Matcher matcher = URL.matcher(url);
		if (!matcher.matches()) {
			throw new IllegalArgumentException("Not a PostgreSQL JDBC URL: " + url);
		}
		return matcher.group(1) + "postgres" + ((matcher.group(3) != null) ? matcher.group(3) : "");
	}

	String jdbcUrl() {
		return this.jdbcUrl;
	}

	String username() {
		return this.username;
	}

	String password() {
		return this.password;
	}

	String source() {
		return this.source;
	}

	/** The database's name as PostgreSQL knows it. */
	String databaseName() throws SQLException {
		try (Connection connection = connect(); Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery("SELECT current_database()")) {
			rows.next();
			return rows.getString(1);
		}
	}

	Connection connect() throws SQLException {
		return DriverManager.getConnection(this.jdbcUrl, this.username, this.password);
	}

	/** Server settings worth printing next to figures. */
	Map<String, String> serverSettings() throws SQLException {
		Map<String, String> settings = new LinkedHashMap<>();
		try (Connection connection = connect(); Statement statement = connection.createStatement()) {
			try (ResultSet rows = statement.executeQuery("SELECT version()")) {
				rows.next();
				settings.put("version", rows.getString(1).replaceAll(" on .*", ""));
			}
			for (String name : new String[] { "fsync", "synchronous_commit", "wal_sync_method", "max_connections" }) {
				try (ResultSet rows = statement.executeQuery("SHOW " + name)) {
					rows.next();
					settings.put(name, rows.getString(1));
				}
			}
		}
		return settings;
	}

	/** Spring Boot properties that point a context's DataSource at this database. */
	String[] datasourceProperties() {
		return new String[] { "spring.datasource.url=" + this.jdbcUrl, "spring.datasource.username=" + this.username,
				"spring.datasource.password=" + this.password };
	}

	private static String env(String name, String fallback) {
		String value = System.getenv(name);
		return (value != null && !value.isBlank()) ? value : fallback;
	}

	@Override
	public void close() throws IOException {
		if (this.embedded != null) {
			this.embedded.close();
		}
	}

}
