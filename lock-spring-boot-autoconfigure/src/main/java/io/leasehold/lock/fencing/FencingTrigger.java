package io.leasehold.lock.fencing;

import java.sql.SQLException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.store.SqlIdentifier;

/**
 * Installs a PostgreSQL trigger that holds every writer of a table to token order, including
 * writers that do not use Leasehold: an update that lowers the row's fencing token, or clears it,
 * fails with SQLState {@value #SQL_STATE}, and nothing is written. A writer must set the token
 * column on each update to be checked; an update that leaves it as it was passes, and deletes are
 * not checked.
 */
public final class FencingTrigger {

	/** The SQLState of a write the trigger rejected. */
	public static final String SQL_STATE = "LHFT1";

	private static final String FUNCTION = """
			CREATE OR REPLACE FUNCTION leasehold_reject_stale_token() RETURNS trigger LANGUAGE plpgsql AS $fence$
			DECLARE
			    old_token bigint := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
			    new_token bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
			BEGIN
			    IF new_token IS NULL OR new_token < old_token THEN
			        RAISE EXCEPTION 'stale fencing token % for %.%: the row has already seen token %',
			            new_token, TG_TABLE_SCHEMA, TG_TABLE_NAME, old_token
			            USING ERRCODE = 'LHFT1', DETAIL = format('token=%s newest=%s', new_token, old_token);
			    END IF;
			    RETURN NEW;
			END
			$fence$""";

	/** The main message, which the driver always includes (unlike the detail). */
	private static final Pattern MESSAGE = Pattern
		.compile("stale fencing token (-?\\d+) for (\\S+): the row has already seen token (-?\\d+)");

	private static final long DDL_ADVISORY_LOCK = 0x4c65617365666eL;

	private FencingTrigger() {
	}

	/**
	 * Creates (or replaces) the trigger on the table, in one transaction, so that no write slips
	 * through while it is replaced; idempotent, and safe for several nodes at once. Needs
	 * PostgreSQL 14 or later.
	 * @param table a plain or schema-qualified table name
	 * @param tokenColumn the {@code bigint} column holding the row's highest token
	 * @throws LockConfigurationException when the table has no such {@code bigint} column
	 */
	public static void install(DataSource dataSource, String table, String tokenColumn) {
		String checkedTable = SqlIdentifier.validate("table name", table);
		// Unquoted names fold to lower case in SQL, and so does the trigger's lookup of the column.
		String column = SqlIdentifier.validateColumn("fencing token column", tokenColumn).toLowerCase(Locale.ROOT);
		TransactionTemplate transaction = new TransactionTemplate(new DataSourceTransactionManager(dataSource));
		transaction.executeWithoutResult((status) -> {
			JdbcClient jdbc = JdbcClient.create(dataSource);
			jdbc.sql("SELECT pg_advisory_xact_lock(" + DDL_ADVISORY_LOCK + ")").query().singleValue();
			String type = jdbc.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
					+ " WHERE attrelid = ?::regclass AND attname = ? AND NOT attisdropped")
				.params(checkedTable, column)
				.query(String.class)
				.optional()
				.orElseThrow(() -> new LockConfigurationException(
						"Cannot fence table " + checkedTable + ": it has no column " + column));
			if (!type.equals("bigint")) {
				throw new LockConfigurationException("Cannot fence table " + checkedTable + ": its column " + column
						+ " is " + type + ", not bigint");
			}
			jdbc.sql(FUNCTION).update();
			jdbc.sql("CREATE OR REPLACE TRIGGER leasehold_fence_" + column + " BEFORE UPDATE ON " + checkedTable
					+ " FOR EACH ROW EXECUTE FUNCTION leasehold_reject_stale_token('" + column + "')")
				.update();
		});
	}

	/**
	 * The failure as a {@link StaleFencingTokenException} if the trigger rejected a write
	 * somewhere in its causes (however the data access layer wrapped it), else {@code null}.
	 */
	public static @Nullable StaleFencingTokenException translate(@Nullable Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql && SQL_STATE.equals(sql.getSQLState())) {
				Matcher message = MESSAGE.matcher(String.valueOf(sql.getMessage()));
				if (message.find()) {
					return new StaleFencingTokenException("Write to table " + message.group(2),
							Long.parseLong(message.group(1)), Long.parseLong(message.group(3)), failure);
				}
				return new StaleFencingTokenException("Write to a fenced table", -1, -1, failure);
			}
		}
		return null;
	}


}
