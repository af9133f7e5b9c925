package io.leasehold.reliability;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collection;

import javax.sql.DataSource;

/**
 * The protected resource: one counter row per lock name in the store database, and an
 * append-only log of every accepted write, written in the write's transaction.
 * <p>
 * Fenced protocol (DESIGN.md section 4): the read registers the holder's token
 * ({@code max_token = greatest(max_token, token)}); the write succeeds only while the row's
 * highest registered token is still the writer's own, so a holder whose token was overtaken
 * between its read and its write is rejected. Unfenced: plain read, plain write.
 */
public final class CounterStore implements AutoCloseable {

	public static final String DDL = """
			CREATE TABLE IF NOT EXISTS counter (
			    name      text   PRIMARY KEY,
			    value     bigint NOT NULL DEFAULT 0,
			    max_token bigint NOT NULL DEFAULT 0
			);
			CREATE TABLE IF NOT EXISTS counter_log (
			    id         bigserial   PRIMARY KEY,
			    name       text        NOT NULL,
			    worker     text        NOT NULL,
			    token      bigint      NOT NULL,
			    value      bigint      NOT NULL,
			    written_at timestamptz NOT NULL DEFAULT clock_timestamp()
			);
			""";

	private static final String READ_FENCED = """
			UPDATE counter SET max_token = greatest(max_token, ?) WHERE name = ? RETURNING value, max_token""";

	private static final String READ_PLAIN = "SELECT value, max_token FROM counter WHERE name = ?";

	private static final String WRITE_FENCED = "UPDATE counter SET value = ? WHERE name = ? AND max_token = ?";

	private static final String WRITE_PLAIN = "UPDATE counter SET value = ? WHERE name = ?";

	private static final String APPEND = "INSERT INTO counter_log (name, worker, token, value) VALUES (?, ?, ?, ?)";

	private final DataSource dataSource;

	private final boolean fenced;

	/** Uses the given pool, and closes it on {@link #close()} when it is closeable. */
	public CounterStore(DataSource dataSource, boolean fenced) {
		this.dataSource = dataSource;
		this.fenced = fenced;
	}

	@Override
	public void close() throws Exception {
		if (this.dataSource instanceof AutoCloseable closeable) {
			closeable.close();
		}
	}

	/** Creates the tables and one zeroed counter per name; drops what a previous run left when {@code reset}. */
	public static void prepare(DataSource dataSource, Collection<String> names, boolean reset) throws SQLException {
		try (Connection connection = dataSource.getConnection(); Statement statement = connection.createStatement()) {
			if (reset) {
				statement.execute("DROP TABLE IF EXISTS counter, counter_log");
			}
			statement.execute(DDL);
			try (PreparedStatement insert = connection
				.prepareStatement("INSERT INTO counter (name) VALUES (?) ON CONFLICT DO NOTHING")) {
				for (String name : names) {
					insert.setString(1, name);
					insert.executeUpdate();
				}
			}
		}
	}

	/** The value read and the highest token the row had registered, including this reader's. */
	public record Read(long value, long maxToken) {
	}

	public Read read(String name, long token) throws SQLException {
		try (Connection connection = this.dataSource.getConnection()) {
			PreparedStatement statement;
			if (this.fenced) {
				statement = connection.prepareStatement(READ_FENCED);
				statement.setLong(1, token);
				statement.setString(2, name);
			}
			else {
				statement = connection.prepareStatement(READ_PLAIN);
				statement.setString(1, name);
			}
			try (statement; ResultSet rows = statement.executeQuery()) {
				if (!rows.next()) {
					throw new SQLException("No counter row '" + name + "'");
				}
				return new Read(rows.getLong(1), rows.getLong(2));
			}
		}
	}

	/**
	 * Writes {@code value} and appends it to the log in one transaction.
	 * @return false when the store rejected the token (fenced mode only)
	 */
	public boolean write(String name, long token, long value, String worker) throws SQLException {
		try (Connection connection = this.dataSource.getConnection()) {
			connection.setAutoCommit(false);
			try {
				int updated;
				try (PreparedStatement update = connection.prepareStatement(this.fenced ? WRITE_FENCED : WRITE_PLAIN)) {
					update.setLong(1, value);
					update.setString(2, name);
					if (this.fenced) {
						update.setLong(3, token);
					}
					updated = update.executeUpdate();
				}
				if (updated != 1) {
					connection.rollback();
					return false;
				}
				try (PreparedStatement append = connection.prepareStatement(APPEND)) {
					append.setString(1, name);
					append.setString(2, worker);
					append.setLong(3, token);
					append.setLong(4, value);
					append.executeUpdate();
				}
				connection.commit();
				return true;
			}
			catch (SQLException | RuntimeException ex) {
				try {
					connection.rollback();
				}
				catch (SQLException suppressed) {
					ex.addSuppressed(suppressed);
				}
				throw ex;
			}
		}
	}

}
