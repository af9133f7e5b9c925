package io.leasehold.lock.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.beans.factory.config.BeanFactoryPostProcessor;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.store.PostgresSchema;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An application that creates the lease table with its own database initializer (Boot's SQL
 * scripts here; Flyway and Liquibase are ordered by the same mechanism, Spring Boot's database
 * initializer detection) and sets {@code initialize-schema=never} should start on an empty
 * database: Leasehold must check the schema only after the application's initializers ran.
 */
class SchemaInitializationOrderTests {

	private final String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);

	private final String table = "lh_order_" + this.suffix;

	private final String sequence = "lh_order_seq_" + this.suffix;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@TempDir
	Path scripts;

	@AfterEach
	void dropSchema() {
		this.jdbc.execute("DROP TABLE IF EXISTS " + this.table);
		this.jdbc.execute("DROP SEQUENCE IF EXISTS " + this.sequence);
	}

	@Test
	void checksTheSchemaAfterTheApplicationsSqlScriptsCreatedIt() throws IOException {
		try (LockNode node = LockNode.start(Config.class, properties(schemaScript()))) {
			assertLocks(node);
		}
	}

	/** The workaround docs/schema.md gives until the check waits for database initializers. */
	@Test
	void checksTheSchemaAfterTheApplicationsSqlScriptsWhenMadeToDependOnThem() throws IOException {
		try (LockNode node = LockNode.start(new Class<?>[] { Config.class, LeaseholdAfterSqlInit.class },
				properties(schemaScript()))) {
			assertLocks(node);
		}
	}

	private void assertLocks(LockNode node) {
		try (Lease lease = node.lockManager().acquire("order-" + this.suffix, LockOptions.defaults())) {
			assertThat(lease.fencingToken()).isPositive();
		}
	}

	private String[] properties(Path schema) {
		return new String[] { "spring.sql.init.mode=always", "spring.sql.init.schema-locations=" + schema.toUri(),
				"leasehold.lock.initialize-schema=never", "leasehold.lock.table-name=" + this.table,
				"leasehold.lock.sequence-name=" + this.sequence };
	}

	/** The shipped DDL with this test's names, as the application's own schema script. */
	private Path schemaScript() throws IOException {
		Path schema = this.scripts.resolve("schema.sql");
		try (InputStream in = getClass().getClassLoader().getResourceAsStream(PostgresSchema.SCRIPT_LOCATION)) {
			String ddl = new String(in.readAllBytes(), StandardCharsets.UTF_8)
				.replace("leasehold_fencing_token_seq", this.sequence)
				.replace("leasehold_lock", this.table);
			Files.writeString(schema, ddl);
		}
		return schema;
	}

	@Configuration(proxyBeanMethods = false)
	static class LeaseholdAfterSqlInit {

		@Bean
		static BeanFactoryPostProcessor leaseholdSchemaAfterSqlInit() {
			return (beanFactory) -> beanFactory.getBeanDefinition("leaseholdSchemaInitializer")
				.setDependsOn("dataSourceScriptDatabaseInitializer");
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
