package io.leasehold.lock.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockStoreException;

/**
 * Creates the lease table and token sequence, and checks at start-up that they are usable.
 */
public class PostgresSchema {

	/** The DDL with the default names, shipped for users who manage the schema themselves. */
	public static final String SCRIPT_LOCATION = "io/leasehold/lock/store/schema-postgresql.sql";

	static final String DEFAULT_TABLE = "leasehold_lock";

	static final String DEFAULT_SEQUENCE = "leasehold_fencing_token_seq";

	private static final Pattern DEFAULT_NAMES = Pattern
		.compile("\\b(" + DEFAULT_TABLE + "|" + DEFAULT_SEQUENCE + ")\\b");

	/** The newest columns and their types: a table created by an older DDL lacks them. */
	private static final List<Column> NEWER_COLUMNS = List.of(new Column("waiters_until", "timestamptz"),
			new Column("successor_token", "bigint"));

	/** Serializes concurrent start-ups: CREATE ... IF NOT EXISTS can still collide in the catalog. */
	private static final long DDL_ADVISORY_LOCK = 0x4c65617365686f6cL;

	private final DataSource dataSource;

	private final String tableName;

	private final String sequenceName;

	public PostgresSchema(DataSource dataSource, String tableName, String sequenceName) {
		this.dataSource = LeaseDataSource.unwrap(dataSource);
		this.tableName = SqlIdentifier.validate("leasehold.lock.table-name", tableName);
		this.sequenceName = SqlIdentifier.validate("leasehold.lock.sequence-name", sequenceName);
	}

	public String tableName() {
		return this.tableName;
	}

	/** Runs the shipped DDL with the configured names; does nothing to objects that exist. */
	public void create() {
		if (exists()) {
			return; // nothing to do, and no CREATE privilege needed
		}
		String ddl = DEFAULT_NAMES.matcher(script())
			.replaceAll((match) -> Matcher.quoteReplacement(match.group().equals(DEFAULT_TABLE) ? this.tableName : this.sequenceName));
		try (Connection connection = this.dataSource.getConnection()) {
			boolean autoCommit = connection.getAutoCommit();
			connection.setAutoCommit(false);
			try (Statement statement = connection.createStatement()) {
				statement.execute("SELECT pg_advisory_xact_lock(" + DDL_ADVISORY_LOCK + ")");
				statement.execute(ddl);
				connection.commit();
			}
			catch (SQLException ex) {
				connection.rollback();
				throw ex;
			}
			finally {
				connection.setAutoCommit(autoCommit);
			}
		}
		catch (SQLException ex) {
			throw new LockStoreException("Could not create the lease table '" + this.tableName + "' and sequence '"
					+ this.sequenceName + "' (SQLState " + ex.getSQLState() + ": " + ex.getMessage()
					+ "); create them with " + SCRIPT_LOCATION + " and set leasehold.lock.initialize-schema=never", ex);
		}
	}

	/**
	 * Checks that the table and the sequence exist and that the sequence hands out tokens in
	 * order across connections.
	 * @throws LockConfigurationException naming what is missing or wrong and how to fix it
	 */
	public void verify() {
		try (Connection connection = this.dataSource.getConnection(); Statement statement = connection.createStatement()) {
			if (!exists(statement, "to_regclass('" + this.tableName + "')")) {
				throw missing("table", this.tableName, "leasehold.lock.table-name");
			}
			if (!exists(statement, "to_regclass('" + this.sequenceName + "')")) {
				throw missing("sequence", this.sequenceName, "leasehold.lock.sequence-name");
			}
			List<Column> lacking = missingColumns(statement);
			if (!lacking.isEmpty()) {
				throw new LockConfigurationException("The lease table '" + this.tableName + "' lacks the column(s) "
						+ lacking.stream().map(Column::name).collect(Collectors.joining(", "))
						+ " (added in Leasehold 0.1.0); run: "
						+ lacking.stream().map((column) -> column.addTo(this.tableName)).collect(Collectors.joining(" "))
						+ " (as in the DDL in " + SCRIPT_LOCATION + ")");
			}
			String missing = missingPrivileges(statement);
			if (!missing.isEmpty()) {
				throw new LockConfigurationException("The database user lacks privileges Leasehold needs at run time: "
						+ missing + "; grant them with: GRANT SELECT, INSERT, UPDATE, DELETE ON " + this.tableName
						+ " TO <user>; GRANT USAGE ON SEQUENCE " + this.sequenceName + " TO <user>");
			}
			try (ResultSet rows = statement.executeQuery("SELECT seqcache FROM pg_catalog.pg_sequence"
					+ " WHERE seqrelid = to_regclass('" + this.sequenceName + "')")) {
				if (rows.next() && rows.getLong(1) > 1) {
					throw new LockConfigurationException("Sequence '" + this.sequenceName + "' has CACHE "
							+ rows.getLong(1) + ": each connection would draw tokens from its own block, so fencing"
							+ " tokens could go backwards; run ALTER SEQUENCE " + this.sequenceName + " CACHE 1");
				}
			}
		}
		catch (SQLException ex) {
			throw new LockStoreException("Could not check the lease table '" + this.tableName + "' (SQLState "
					+ ex.getSQLState() + ": " + ex.getMessage() + ")", ex);
		}
	}

	private boolean exists() {
		try (Connection connection = this.dataSource.getConnection(); Statement statement = connection.createStatement()) {
			return exists(statement, "to_regclass('" + this.tableName + "')")
					&& exists(statement, "to_regclass('" + this.sequenceName + "')")
					&& missingColumns(statement).isEmpty();
		}
		catch (SQLException ex) {
			return false;
		}
	}

	private List<Column> missingColumns(Statement statement) throws SQLException {
		List<Column> missing = new ArrayList<>();
		for (Column column : NEWER_COLUMNS) {
			if (!isTrue(statement, "EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('"
					+ this.tableName + "') AND attname = '" + column.name() + "' AND NOT attisdropped)")) {
				missing.add(column);
			}
		}
		return missing;
	}

	private String missingPrivileges(Statement statement) throws SQLException {
		List<String> missing = new ArrayList<>();
		for (String privilege : List.of("SELECT", "INSERT", "UPDATE", "DELETE")) {
			if (!isTrue(statement, "has_table_privilege('" + this.tableName + "', '" + privilege + "')")) {
				missing.add(privilege + " on " + this.tableName);
			}
		}
		if (!isTrue(statement, "has_sequence_privilege('" + this.sequenceName + "', 'USAGE')")) {
			missing.add("USAGE on sequence " + this.sequenceName);
		}
		return String.join(", ", missing);
	}

	private static boolean isTrue(Statement statement, String condition) throws SQLException {
		try (ResultSet rows = statement.executeQuery("SELECT " + condition)) {
			return rows.next() && rows.getBoolean(1);
		}
	}

	private static boolean exists(Statement statement, String regclass) throws SQLException {
		try (ResultSet rows = statement.executeQuery("SELECT " + regclass + " IS NOT NULL")) {
			return rows.next() && rows.getBoolean(1);
		}
	}

	private static LockConfigurationException missing(String kind, String name, String property) {
		return new LockConfigurationException("The lease " + kind + " '" + name + "' (" + property
				+ ") does not exist: create it with the DDL in " + SCRIPT_LOCATION
				+ " or set leasehold.lock.initialize-schema=always");
	}

	static String script() {
		try (InputStream in = PostgresSchema.class.getClassLoader().getResourceAsStream(SCRIPT_LOCATION)) {
			if (in == null) {
				throw new IllegalStateException("Missing " + SCRIPT_LOCATION + " on the class path");
			}
			return new String(in.readAllBytes(), StandardCharsets.UTF_8);
		}
		catch (IOException ex) {
			throw new IllegalStateException("Could not read " + SCRIPT_LOCATION, ex);
		}
	}

	/** A column added after the table's first DDL. */
	private record Column(String name, String type) {

		String addTo(String tableName) {
			return "ALTER TABLE " + tableName + " ADD COLUMN IF NOT EXISTS " + this.name + " " + this.type + ";";
		}

	}

}
