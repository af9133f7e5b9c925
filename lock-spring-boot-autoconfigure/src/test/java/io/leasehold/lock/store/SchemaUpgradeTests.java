package io.leasehold.lock.store;

import java.util.UUID;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A lease table created by the first DDL, before columns were added to it: the check names what
 * is missing and the statement that adds it, and the shipped DDL, run again, adds it.
 */
class SchemaUpgradeTests {

	private final JdbcTemplate admin = new JdbcTemplate(TestDatabase.get().dataSource());

	private final String schema = "lh_upgrade_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

	private final String table = this.schema + ".leasehold_lock";

	private final String sequence = this.schema + ".leasehold_fencing_token_seq";

	@BeforeEach
	void createTableOfTheFirstDdl() {
		this.admin.execute("CREATE SCHEMA " + this.schema);
		this.admin.execute("CREATE SEQUENCE " + this.sequence + " AS bigint CACHE 1 NO CYCLE");
		this.admin.execute("CREATE TABLE " + this.table + " (lock_name text NOT NULL PRIMARY KEY,"
				+ " owner_id text NOT NULL, fencing_token bigint NOT NULL, acquired_at timestamptz NOT NULL,"
				+ " expires_at timestamptz NOT NULL) WITH (fillfactor = 80)");
	}

	@AfterEach
	void dropSchema() {
		this.admin.execute("DROP SCHEMA " + this.schema + " CASCADE");
	}

	@Test
	void checkNamesTheMissingColumnsAndHowToAddThem() {
		PostgresSchema schema = new PostgresSchema(TestDatabase.get().dataSource(), this.table, this.sequence);
		assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(schema::verify)
			.withMessageContaining("lacks the column(s) waiters_until, successor_token")
			.withMessageContaining("ALTER TABLE " + this.table + " ADD COLUMN IF NOT EXISTS waiters_until timestamptz;")
			.withMessageContaining("ALTER TABLE " + this.table + " ADD COLUMN IF NOT EXISTS successor_token bigint;");
	}

	@Test
	void shippedDdlAddsTheMissingColumnsToAnExistingTable() {
		PostgresSchema schema = new PostgresSchema(TestDatabase.get().dataSource(), this.table, this.sequence);
		this.admin.update("INSERT INTO " + this.table + " VALUES ('kept', 'node', 1, clock_timestamp(), clock_timestamp())");
		schema.create();
		schema.verify();
		assertThat(this.admin.queryForObject("SELECT count(*) FROM " + this.table + " WHERE lock_name = 'kept'"
				+ " AND waiters_until IS NULL AND successor_token IS NULL", Long.class))
			.as("the existing row, with the new columns empty")
			.isEqualTo(1);
	}

}
