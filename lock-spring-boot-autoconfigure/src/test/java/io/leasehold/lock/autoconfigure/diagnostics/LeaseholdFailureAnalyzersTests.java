package io.leasehold.lock.autoconfigure.diagnostics;

import java.io.IOException;
import java.net.URL;
import java.util.Collections;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.NoSuchBeanDefinitionException;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.core.io.UrlResource;
import org.springframework.core.io.support.PropertiesLoaderUtils;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Each start-up failure Leasehold raises gets an analysis that states the cause and the fix.
 */
class LeaseholdFailureAnalyzersTests {

	@Test
	void analyzersAreRegistered() throws IOException {
		StringBuilder registered = new StringBuilder();
		for (URL factories : Collections.list(getClass().getClassLoader().getResources("META-INF/spring.factories"))) {
			registered.append(PropertiesLoaderUtils.loadProperties(new UrlResource(factories))
				.getProperty(FailureAnalyzer.class.getName(), ""));
		}
		assertThat(registered.toString()).contains(LockConfigurationFailureAnalyzer.class.getName(),
				LockStoreFailureAnalyzer.class.getName(), MissingLockManagerFailureAnalyzer.class.getName());
	}

	@Test
	void badIdentifierIsExplainedWithThePropertyAndTheFix() {
		FailureAnalysis analysis = analyzeStartUp("leasehold.lock.table-name=bad-name");
		assertThat(analysis.getDescription()).contains("leasehold.lock.table-name").contains("bad-name");
		assertThat(analysis.getAction()).contains("leasehold.lock");
	}

	@Test
	void badDurationIsExplainedWithTheProperty() {
		FailureAnalysis analysis = analyzeStartUp("leasehold.lock.lease-time=0s");
		assertThat(analysis.getDescription()).contains("leasehold.lock.lease-time");
	}

	@Test
	void missingTableWithInitializeSchemaNeverIsExplainedWithTheDdl() {
		FailureAnalysis analysis = analyzeStartUp("leasehold.lock.initialize-schema=never",
				"leasehold.lock.table-name=missing_" + suffix());
		assertThat(analysis.getDescription()).contains("does not exist");
		assertThat(analysis.getAction()).contains("schema-postgresql.sql").contains("initialize-schema=always");
	}

	@Test
	void missingPrivilegesAreExplainedWithTheGrants() {
		JdbcTemplate admin = new JdbcTemplate(TestDatabase.get().dataSource());
		String role = "leasehold_norights_" + suffix();
		admin.execute("CREATE ROLE " + role + " LOGIN");
		try {
			// The default table exists (other tests created it); this user may not touch it.
			new JdbcTemplate(TestDatabase.get().dataSource())
				.execute("CREATE TABLE IF NOT EXISTS leasehold_lock (lock_name text PRIMARY KEY, owner_id text NOT NULL,"
						+ " fencing_token bigint NOT NULL, acquired_at timestamptz NOT NULL, expires_at timestamptz NOT NULL)");
			admin.execute("CREATE SEQUENCE IF NOT EXISTS leasehold_fencing_token_seq CACHE 1");
			FailureAnalysis analysis = analyzeStartUp("leasehold.lock.initialize-schema=never",
					"spring.datasource.username=" + role, "spring.datasource.password=");
			assertThat(analysis.getDescription()).contains("lacks privileges")
				.contains("SELECT on leasehold_lock")
				.contains("USAGE on sequence leasehold_fencing_token_seq")
				.contains("GRANT SELECT, INSERT, UPDATE, DELETE ON leasehold_lock");
			assertThat(analysis.getAction()).contains("Grant");
		}
		finally {
			admin.execute("DROP ROLE " + role);
		}
	}

	@Test
	void unreachableDatabaseIsExplained() {
		LockStoreException failure = new LockStoreException("Could not create the lease table", null);
		FailureAnalysis analysis = new LockStoreFailureAnalyzer().analyze(failure);
		assertThat(analysis.getDescription()).contains("lease database");
		assertThat(analysis.getAction()).contains("spring.datasource").contains("@LeaseholdDataSource");
	}

	@Test
	void missingLockManagerIsExplainedWithTheDataSource() {
		FailureAnalysis analysis = new MissingLockManagerFailureAnalyzer()
			.analyze(new NoSuchBeanDefinitionException(LockManager.class));
		assertThat(analysis.getDescription()).contains("DataSource");
		assertThat(analysis.getAction()).contains("spring.datasource.url").contains("leasehold.lock.enabled");
		assertThat(new MissingLockManagerFailureAnalyzer().analyze(new NoSuchBeanDefinitionException(String.class)))
			.isNull();
	}

	private static FailureAnalysis analyzeStartUp(String... properties) {
		Throwable failure = catchThrowable(() -> LockNode.start(Config.class, properties).close());
		assertThat(failure).isNotNull();
		Throwable root = NestedExceptionUtils.getMostSpecificCause(failure);
		assertThat(root).isInstanceOf(LockConfigurationException.class);
		return new LockConfigurationFailureAnalyzer().analyze(failure);
	}

	private static String suffix() {
		return HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
