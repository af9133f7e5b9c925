package io.leasehold.lock.fencing;

import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.jdbc.core.simple.JdbcClient;

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

	private static final Pattern TOKENS = Pattern.compile("token=(-?\\d+) newest=(-?\\d+)");

	private static final Pattern TABLE = Pattern.compile("stale fencing token \\S+ for (\\S+):");

	private FencingTrigger() {
	}

	/**
	 * Creates (or replaces) the trigger on the table; idempotent.
	 * @param table a plain or schema-qualified table name
	 * @param tokenColumn the {@code bigint} column holding the row's highest token
	 */
	public static void install(DataSource dataSource, String table, String tokenColumn) {
		String checkedTable = SqlIdentifier.validate("table name", table);
		String column = SqlIdentifier.validateColumn("fencing token column", tokenColumn);
		String trigger = "leasehold_fence_" + column;
		JdbcClient jdbc = JdbcClient.create(dataSource);
		jdbc.sql(FUNCTION).update();
		jdbc.sql("DROP TRIGGER IF EXISTS " + trigger + " ON " + checkedTable).update();
		jdbc.sql("CREATE TRIGGER " + trigger + " BEFORE UPDATE ON " + checkedTable
				+ " FOR EACH ROW EXECUTE FUNCTION leasehold_reject_stale_token('" + column + "')").update();
	}

	/**
	 * The failure as a {@link StaleFencingTokenException} if the trigger rejected a write
	 * somewhere in its causes (however the data access layer wrapped it), else {@code null}.
	 */
	public static @Nullable StaleFencingTokenException translate(@Nullable Throwable failure) {
		for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
			if (cause instanceof SQLException sql && SQL_STATE.equals(sql.getSQLState())) {
				Matcher tokens = TOKENS.matcher(String.valueOf(sql.getMessage()));
				long token = tokens.find() ? Long.parseLong(tokens.group(1)) : -1;
				long newest = (token != -1) ? Long.parseLong(tokens.group(2)) : -1;
				return new StaleFencingTokenException(resource(sql), token, newest, failure);
			}
		}
		return null;
	}

	private static String resource(SQLException rejection) {
		Matcher table = TABLE.matcher(String.valueOf(rejection.getMessage()));
		return table.find() ? "table " + table.group(1) : "a fenced table";
	}

}
