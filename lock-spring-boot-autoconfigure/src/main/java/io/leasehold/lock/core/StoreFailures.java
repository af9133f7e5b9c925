package io.leasehold.lock.core;

import java.sql.SQLException;

import org.jspecify.annotations.Nullable;

import io.leasehold.lock.LockStoreException;

/**
 * Classifies a failed acquire statement by its SQLState: a row lock that stayed taken means the
 * lock is busy; a lost connection, a serialization failure, a cancelled statement or a server
 * shutting down may pass, so it is retried while the caller's wait time lasts; anything else is
 * surfaced at once.
 */
final class StoreFailures {

	private StoreFailures() {
	}

	/** {@code lock_not_available}: the lock's row stayed locked for the whole lock timeout. */
	static boolean isRowLockTimeout(LockStoreException ex) {
		return "55P03".equals(sqlState(ex));
	}

	/** Connection exceptions, transaction rollbacks, query cancelled, operator intervention. */
	static boolean isTransient(LockStoreException ex) {
		String state = sqlState(ex);
		return state != null && (state.startsWith("08") || state.startsWith("40") || state.equals("57014")
				|| state.startsWith("57P"));
	}

	private static @Nullable String sqlState(LockStoreException ex) {
		return (ex.getCause() instanceof SQLException sql) ? sql.getSQLState() : null;
	}

}
