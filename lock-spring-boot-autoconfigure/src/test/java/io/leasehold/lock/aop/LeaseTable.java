package io.leasehold.lock.aop;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Optional;

import io.leasehold.lock.test.TestDatabase;

/**
 * Reads lease rows of the default table from a connection of the test's own pool, so what it sees
 * is what any other session of the database sees.
 */
final class LeaseTable {

	private LeaseTable() {
	}

	static Optional<Row> find(String lockName) {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				PreparedStatement statement = connection.prepareStatement("""
						SELECT owner_id, fencing_token, acquired_at, expires_at, expires_at > clock_timestamp()
						FROM leasehold_lock WHERE lock_name = ?""")) {
			statement.setString(1, lockName);
			try (ResultSet rows = statement.executeQuery()) {
				if (!rows.next()) {
					return Optional.empty();
				}
				return Optional.of(new Row(rows.getString(1), rows.getLong(2),
						rows.getObject(3, OffsetDateTime.class).toInstant(),
						rows.getObject(4, OffsetDateTime.class).toInstant(), rows.getBoolean(5)));
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Could not read the lease row of '" + lockName + "'", ex);
		}
	}

	/** Whether the lock's row exists and has not expired by the database clock. */
	static boolean isHeld(String lockName) {
		return find(lockName).map(Row::held).orElse(false);
	}

	/**
	 * @param held whether {@code expires_at} is after the database's {@code clock_timestamp()}
	 */
	record Row(String ownerId, long fencingToken, Instant acquiredAt, Instant expiresAt, boolean held) {

		/** The lease time the row was granted or last renewed with, by the database clock. */
		Duration granted() {
			return Duration.between(this.acquiredAt, this.expiresAt);
		}

	}

}
