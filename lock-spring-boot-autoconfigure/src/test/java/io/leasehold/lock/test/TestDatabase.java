package io.leasehold.lock.test;

import java.io.IOException;
import java.io.UncheckedIOException;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The PostgreSQL the tests run against, started once per JVM and shared: the JDBC URL in
 * {@code LEASEHOLD_TEST_JDBC_URL} if set, else a Testcontainers PostgreSQL when a Docker engine
 * is reachable, else an embedded PostgreSQL.
 */
public final class TestDatabase {

	private static volatile TestDatabase instance;

	private final String jdbcUrl;

	private final String username;

	private final String password;

	private final String source;

	private TestDatabase(String jdbcUrl, String username, String password, String source) {
		this.jdbcUrl = jdbcUrl;
		this.username = username;
		this.password = password;
		this.source = source;
	}

	public static TestDatabase get() {
		TestDatabase database = instance;
		if (database == null) {
			synchronized (TestDatabase.class) {
				database = instance;
				if (database == null) {
					database = start();
					instance = database;
					System.out.println("Leasehold tests use PostgreSQL from " + database.source + ": " + database.jdbcUrl);
				}
			}
		}
		return database;
	}

	private static TestDatabase start() {
		String url = System.getenv("LEASEHOLD_TEST_JDBC_URL");
		if (url != null && !url.isBlank()) {
			return new TestDatabase(url, env("LEASEHOLD_TEST_JDBC_USER", "postgres"),
					env("LEASEHOLD_TEST_JDBC_PASSWORD", ""), "LEASEHOLD_TEST_JDBC_URL");
		}
		if (dockerAvailable()) {
			PostgreSQLContainer container = new PostgreSQLContainer("postgres:16-alpine");
			container.start();
			return new TestDatabase(container.getJdbcUrl(), container.getUsername(), container.getPassword(),
					"Testcontainers");
		}
		try {
			EmbeddedPostgres embedded = EmbeddedPostgres.builder().start();
			Runtime.getRuntime().addShutdownHook(new Thread(() -> {
				try {
					embedded.close();
				}
				catch (IOException ex) {
					// the JVM is exiting
				}
			}));
			// Not getJdbcUrl(..): it puts the user in the URL, where it would override the username of
			// tests that connect as another role.
			return new TestDatabase("jdbc:postgresql://localhost:" + embedded.getPort() + "/postgres", "postgres", "",
					"embedded PostgreSQL");
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Could not start an embedded PostgreSQL", ex);
		}
	}

	private static boolean dockerAvailable() {
		try {
			return DockerClientFactory.instance().isDockerAvailable();
		}
		catch (RuntimeException ex) {
			return false;
		}
	}

	private static String env(String name, String fallback) {
		String value = System.getenv(name);
		return (value != null) ? value : fallback;
	}

	public String jdbcUrl() {
		return this.jdbcUrl;
	}

	public String username() {
		return this.username;
	}

	public String password() {
		return this.password;
	}

	/** Spring Boot properties that point a context's DataSource at this database. */
	public String[] datasourceProperties() {
		return new String[] { "spring.datasource.url=" + this.jdbcUrl, "spring.datasource.username=" + this.username,
				"spring.datasource.password=" + this.password };
	}

	/** A new small pool on this database; the caller closes it. */
	public HikariDataSource newDataSource(int poolSize) {
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl(this.jdbcUrl);
		config.setUsername(this.username);
		config.setPassword(this.password);
		config.setMaximumPoolSize(poolSize);
		return new HikariDataSource(config);
	}

	/** A shared pool for test assertions. */
	public DataSource dataSource() {
		return Shared.DATA_SOURCE;
	}

	private static final class Shared {

		static final HikariDataSource DATA_SOURCE = get().newDataSource(4);

	}

}
