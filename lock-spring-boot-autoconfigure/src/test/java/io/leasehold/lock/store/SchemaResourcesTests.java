package io.leasehold.lock.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.core.io.ClassPathResource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The DDL for migration tools says exactly what the schema initializer runs, so they cannot drift.
 */
class SchemaResourcesTests {

	@Test
	void flywayMigrationHasTheShippedDdl() throws IOException {
		assertThat(statements("io/leasehold/lock/store/flyway/R__leasehold_lock.sql"))
			.isEqualTo(statements(PostgresSchema.SCRIPT_LOCATION))
			.hasSize(4);
	}

	@Test
	void liquibaseChangelogRunsTheShippedDdl() throws IOException {
		assertThat(read("io/leasehold/lock/store/liquibase/leasehold-changelog.xml"))
			.contains("<sqlFile path=\"classpath:" + PostgresSchema.SCRIPT_LOCATION + "\"");
	}

	private static List<String> statements(String location) throws IOException {
		String withoutComments = read(location).replaceAll("(?m)--.*$", "");
		return Arrays.stream(withoutComments.split(";"))
			.map((statement) -> statement.replaceAll("\\s+", " ").trim())
			.filter((statement) -> !statement.isEmpty())
			.toList();
	}

	private static String read(String location) throws IOException {
		try (InputStream in = new ClassPathResource(location).getInputStream()) {
			return new String(in.readAllBytes(), StandardCharsets.UTF_8);
		}
	}

}
