package io.leasehold.lock.fencing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.util.Assert;

import io.leasehold.lock.LockContext;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.store.SqlIdentifier;

/**
 * Reads and writes rows of a table whose rows remember the highest fencing token that touched
 * them (a {@code bigint} column, {@code fencing_token} by default), so that a holder whose lease
 * ended cannot overwrite the work of a newer holder.
 * <p>
 * Checking the token on writes alone does not protect a read-modify-write: if the new holder
 * reads, then the stale holder writes (its token is still the highest the row has seen), the new
 * holder's write overwrites it and one update is lost. So {@link #read} registers the caller's
 * token on the row as it reads it; from then on the stale holder's write is rejected. Every
 * statement joins the caller's Spring transaction, if any. Without an explicit token, the
 * innermost lease of the current thread ({@link LockContext#fencingToken()}) is used.
 */
public final class FencedTable {

	private final JdbcClient jdbc;

	private final String table;

	private final String keyColumn;

	private final String tokenColumn;

	private FencedTable(JdbcClient jdbc, String table, String keyColumn, String tokenColumn) {
		this.jdbc = jdbc;
		this.table = SqlIdentifier.validate("table name", table);
		this.keyColumn = SqlIdentifier.validateColumn("key column", keyColumn);
		this.tokenColumn = SqlIdentifier.validateColumn("fencing token column", tokenColumn);
	}

	/** A table keyed by {@code keyColumn}, with its tokens in {@code fencing_token}. */
	public static FencedTable of(DataSource dataSource, String table, String keyColumn) {
		return new FencedTable(JdbcClient.create(dataSource), table, keyColumn, "fencing_token");
	}

	/** The same table with its tokens in another column. */
	public FencedTable withTokenColumn(String tokenColumn) {
		return new FencedTable(this.jdbc, this.table, this.keyColumn, tokenColumn);
	}

	/** Like {@link #read(Object, long, RowMapper)} with the current thread's innermost lease's token. */
	public <T> Optional<T> read(Object key, RowMapper<T> mapper) {
		return read(key, LockContext.fencingToken(), mapper);
	}

	/**
	 * Reads the row and registers the token on it in one statement, so that no holder with an
	 * older token can write it from then on (the registration commits with the caller's
	 * transaction).
	 * @return the row, or empty when there is none
	 * @throws StaleFencingTokenException when the row has already seen a newer token
	 */
	public <T> Optional<T> read(Object key, long token, RowMapper<T> mapper) {
		Optional<T> row = this.jdbc
			.sql("UPDATE " + this.table + " SET " + this.tokenColumn + " = ? WHERE " + this.keyColumn + " = ? AND "
					+ notNewerThanParameter() + " RETURNING *")
			.params(token, key, token)
			.query(mapper)
			.optional();
		if (row.isEmpty()) {
			rejectIfNewer(key, token, "Read of");
		}
		return row;
	}

	/** Like {@link #update(Object, long, Map)} with the current thread's innermost lease's token. */
	public boolean update(Object key, Map<String, ?> columns) {
		return update(key, LockContext.fencingToken(), columns);
	}

	/**
	 * Writes the columns if the row has seen no newer token, and records the token.
	 * @return whether the row exists (and was written)
	 * @throws StaleFencingTokenException when the row has already seen a newer token; nothing was
	 * written
	 */
	public boolean update(Object key, long token, Map<String, ?> columns) {
		Map<String, ?> values = checked(columns);
		List<Object> params = new ArrayList<>(values.values());
		params.add(token);
		params.add(key);
		params.add(token);
		int updated = this.jdbc
			.sql("UPDATE " + this.table + " SET " + assignments(values.keySet(), "?") + ", " + this.tokenColumn
					+ " = ? WHERE " + this.keyColumn + " = ? AND " + notNewerThanParameter())
			.params(params)
			.update();
		if (updated == 0) {
			rejectIfNewer(key, token, "Write to");
		}
		return updated > 0;
	}

	/** Like {@link #upsert(Object, long, Map)} with the current thread's innermost lease's token. */
	public void upsert(Object key, Map<String, ?> columns) {
		upsert(key, LockContext.fencingToken(), columns);
	}

	/**
	 * Inserts the row, or writes the columns of the existing row if it has seen no newer token.
	 * Needs a unique constraint on the key column.
	 * @throws StaleFencingTokenException when the row has already seen a newer token; nothing was
	 * written
	 */
	public void upsert(Object key, long token, Map<String, ?> columns) {
		Map<String, ?> values = checked(columns);
		List<Object> params = new ArrayList<>();
		params.add(key);
		params.addAll(values.values());
		params.add(token);
		String columnList = String.join(", ", values.keySet());
		String placeholders = values.keySet().stream().map((column) -> "?").collect(Collectors.joining(", "));
		int written = this.jdbc
			.sql("INSERT INTO " + this.table + " AS fenced (" + this.keyColumn + ", " + columnList + ", "
					+ this.tokenColumn + ") VALUES (?, " + placeholders + ", ?) ON CONFLICT (" + this.keyColumn
					+ ") DO UPDATE SET " + assignments(values.keySet(), null) + ", " + this.tokenColumn + " = excluded."
					+ this.tokenColumn + " WHERE fenced." + this.tokenColumn + " IS NULL OR fenced." + this.tokenColumn
					+ " <= excluded." + this.tokenColumn)
			.params(params)
			.update();
		if (written == 0) {
			rejectIfNewer(key, token, "Write to");
		}
	}

	/** A row that has seen no token yet (a column added later) takes any. */
	private String notNewerThanParameter() {
		return "(" + this.tokenColumn + " IS NULL OR " + this.tokenColumn + " <= ?)";
	}

	private void rejectIfNewer(Object key, long token, String access) {
		Optional<Long> newest = this.jdbc
			.sql("SELECT " + this.tokenColumn + " FROM " + this.table + " WHERE " + this.keyColumn + " = ?")
			.param(key)
			.query(Long.class)
			.optional();
		if (newest.isPresent() && newest.get() > token) {
			throw new StaleFencingTokenException(access + " row " + key + " of " + this.table, token, newest.get(),
					null);
		}
	}

	private static Map<String, ?> checked(Map<String, ?> columns) {
		Assert.notEmpty(columns, "columns must not be empty");
		Map<String, Object> checked = new LinkedHashMap<>();
		columns.forEach((column, value) -> checked.put(SqlIdentifier.validateColumn("column", column), value));
		return checked;
	}

	/** {@code a = ?, b = ?}, or {@code a = excluded.a, ...} when no placeholder is given. */
	private static String assignments(Iterable<String> columns, @Nullable String placeholder) {
		List<String> assignments = new ArrayList<>();
		for (String column : columns) {
			assignments.add(column + " = " + ((placeholder != null) ? placeholder : "excluded." + column));
		}
		return String.join(", ", assignments);
	}

}
