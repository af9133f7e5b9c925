package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import io.leasehold.lock.LockStoreException;

/**
 * Leases as rows of a PostgreSQL table, fencing tokens from a PostgreSQL sequence.
 * <p>
 * The protocol, one statement per step, each its own (implicit) transaction:
 * <ol>
 * <li><b>Acquire</b> is one statement. It first locks the lock's row {@code FOR UPDATE} if its
 * lease has expired by {@code clock_timestamp()} (re-checked on the newest version if another
 * transaction changed it meanwhile); the {@code UPDATE} that takes the row joins that locked row,
 * so the fresh {@code nextval()} in its {@code SET} list is drawn while the row lock is held and
 * is greater than the token of every earlier grant of this lock. Only when the lock has no row
 * at all does an {@code INSERT ... ON CONFLICT DO NOTHING} create it, with a token drawn before
 * any row lock: such a token may only ever create a row. A busy lock costs no write: unlike
 * {@code ON CONFLICT DO UPDATE ... WHERE}, a row lock whose condition is false takes nothing and
 * writes no WAL.</li>
 * <li><b>Release</b> does not delete the row, which would let a concurrent insert use its early
 * drawn token: it sets {@code expires_at} to now, or to
 * {@code acquired_at + minHoldTime} if that is later. It names the token, so a stale holder
 * cannot end a newer holder's lease.</li>
 * <li><b>Hand-over</b> ends the lease named by its token and grants the row to a waiter of the
 * same node in the same statement: like the acquire, it locks the row first (if that token still
 * holds an unexpired lease) and draws the new token while the lock is held. It takes the waiters'
 * registration over (clears it and reports it), so a registration seen by a later hand-over was
 * made since: a caller waits, most often another node's. (The lock manager does not register a
 * caller while its own node holds the lock, as its node's release finds the caller in its queue;
 * it does once that release may be under way, as the release may have read the queue just
 * before the caller joined it.)</li>
 * <li><b>Prepared hand-over</b>: while a lease holds the row and other callers of its node
 * wait, the node draws the token of the lease's successor and records it in the row
 * ({@code successor_token}), in a statement of its own that locks the row first, like a grant,
 * and commits durably. From then on the row says durably who holds the lock next: the node may
 * pass that token to its next caller the moment the lease ends, with no statement in between.
 * The successor then <b>confirms</b> the hand-over: one statement, under the row lock, that moves
 * the row to the successor's token with a lease of its own, takes the waiters' registration over
 * like a hand-over, and draws the token of the successor's own successor. It names both tokens,
 * and the successor token must be greater than the row's: a token drawn under an earlier lease
 * confirms nothing. Its token is greater than every earlier grant's and smaller than every later
 * one's, exactly as if a hand-over statement had drawn it, since no grant can come between the
 * draw and the confirmation: every grant clears {@code successor_token}, and the row stays taken
 * in between.</li>
 * <li><b>Renew</b> moves {@code expires_at} forward, again only for the same token and only
 * while the lease has not expired.</li>
 * <li><b>Clean-up</b> deletes rows expired for longer than a retention far beyond the statement
 * timeout, so no statement that drew an insert's token before the row's last grant can still be
 * running.</li>
 * </ol>
 * Each statement is sent with the connection in auto-commit mode, after a {@code set_config}
 * of its timeouts and {@code synchronous_commit} that lasts for its implicit transaction only:
 * one round trip per step, and nothing leaks into the pooled connection.
 * <p>
 * Grants and renewals commit with {@code synchronous_commit = on}: a token or an expiry is
 * reported only once it survives a crash (and reached a synchronous standby). A release commits
 * with {@code off}, so it neither waits for its WAL flush nor holds up the waiter it notifies:
 * a release lost in a crash leaves the lease as it was, to expire at its old time, which is what
 * a crashed holder leaves too; and a grant that read the released row is written to the WAL
 * after the release, so the flush the grant waits for makes the release durable first. Not so
 * the release of a lease with a minimum hold time: it may move the expiry later, which is a
 * renewal in effect, so it commits with {@code on}.
 * <p>
 * Until a prepared hand-over is confirmed, the row names the lease it ended, which expires at its
 * old time; so the lock manager lets the successor's lease last no longer than that one (nor than
 * its own) until the confirmation lands, and no other node can take the lock while either holder
 * believes it has it. A crash cannot undo the hand-over: the draw that recorded the successor was
 * durable, and the successor's confirmation after the restart finds the row as the draw left it.
 */
public class PostgresLeaseStore implements LeaseStore, AutoCloseable {

	/**
	 * Settings for the statement that follows, local to its implicit transaction; bound as
	 * parameters 1 (statement_timeout) and 2 (lock_timeout), in milliseconds.
	 */
	private static final String SETTINGS = settings("on");

	/**
	 * The release's settings: its commit does not wait for its WAL flush (see the class comment).
	 */
	private static final String RELEASE_SETTINGS = settings("off");

	/**
	 * What both acquire statements start with: the common table expressions {@code locked},
	 * {@code taken} and {@code created}, bound as parameters 3 to 9 by {@link #bindGrant}. A grant
	 * reads the clock once, so its lease lasts exactly the lease time.
	 */
	private static final String GRANT = """
			locked AS MATERIALIZED (
			    SELECT lock_name FROM %1$s
			    WHERE lock_name = ? AND expires_at <= clock_timestamp()
			    FOR UPDATE),
			taken AS (
			    UPDATE %1$s AS lease
			    SET owner_id = ?,
			        fencing_token = nextval('%2$s'),
			        successor_token = NULL,
			        (acquired_at, expires_at) = (SELECT now.at, now.at + ? * interval '1 millisecond'
			                                     FROM (SELECT clock_timestamp() AS at) AS now)
			    FROM locked WHERE lease.lock_name = locked.lock_name
			    RETURNING lease.fencing_token, lease.acquired_at, lease.expires_at),
			created AS (
			    INSERT INTO %1$s (lock_name, owner_id, fencing_token, acquired_at, expires_at)
			    SELECT ?, ?, nextval('%2$s'), now.at, now.at + ? * interval '1 millisecond'
			    FROM (SELECT clock_timestamp() AS at) AS now
			    WHERE NOT EXISTS (SELECT FROM %1$s WHERE lock_name = ?)
			    ON CONFLICT (lock_name) DO NOTHING
			    RETURNING fencing_token, acquired_at, expires_at)""";

	private static final String ACQUIRE = "WITH " + GRANT + """
			,
			waiting AS (
			    SELECT ?::bigint AS for_millis, ?::bigint AS renew_within_millis),
			registered AS (
			    UPDATE %1$s AS lease
			    SET waiters_until = clock_timestamp() + waiting.for_millis * interval '1 millisecond'
			    FROM waiting
			    WHERE lease.lock_name = ? AND waiting.for_millis > 0
			      AND NOT EXISTS (SELECT FROM taken) AND NOT EXISTS (SELECT FROM created)
			      AND lease.expires_at > clock_timestamp()
			      AND (lease.waiters_until IS NULL
			           OR lease.waiters_until < clock_timestamp() + waiting.renew_within_millis * interval '1 millisecond')
			    RETURNING lease.lock_name)
			SELECT fencing_token, acquired_at, expires_at, NULL::bigint AS held_for_millis FROM taken
			UNION ALL
			SELECT fencing_token, acquired_at, expires_at, NULL FROM created
			UNION ALL
			SELECT NULL, NULL, NULL,
			    CASE WHEN waiting.for_millis > 0 AND NOT EXISTS (SELECT FROM registered)
			              AND (lease.waiters_until IS NULL
			                   OR lease.waiters_until < clock_timestamp() + waiting.renew_within_millis * interval '1 millisecond')
			         THEN 0
			         ELSE ceil(extract(epoch FROM lease.expires_at - clock_timestamp()) * 1000)::bigint END
			FROM %1$s AS lease, waiting
			WHERE lease.lock_name = ? AND NOT EXISTS (SELECT FROM taken) AND NOT EXISTS (SELECT FROM created)""";

	/**
	 * The grant part of {@link #ACQUIRE} alone, for callers that do not wait: no registration,
	 * no hint, so none of its branches (a busy lock returns no row).
	 */
	private static final String TRY_ONCE = "WITH " + GRANT + """

			SELECT fencing_token, acquired_at, expires_at FROM taken
			UNION ALL
			SELECT fencing_token, acquired_at, expires_at FROM created""";

	/**
	 * Draws the successor's token under the row lock of the lease it follows, so it is greater than
	 * every token granted before; any later grant draws a greater one. It extends the lease as a
	 * renewal would: a renewal that waits for its row lock, behind its commit, finds the lease
	 * extended, not expired.
	 */
	private static final String DRAW_SUCCESSOR_TOKEN = """
			WITH locked AS MATERIALIZED (
			    SELECT lock_name FROM %1$s
			    WHERE lock_name = ? AND fencing_token = ? AND expires_at > clock_timestamp()
			    FOR UPDATE)
			UPDATE %1$s AS lease
			SET successor_token = nextval('%2$s'),
			    expires_at = greatest(lease.expires_at, clock_timestamp() + ? * interval '1 millisecond')
			FROM locked WHERE lease.lock_name = locked.lock_name
			RETURNING lease.successor_token""";

	/**
	 * Ends the lease and grants the row to the successor with a fresh token drawn under the row
	 * lock, durably.
	 */
	private static final String HAND_OVER = """
			WITH locked AS MATERIALIZED (
			    SELECT lock_name, waiters_until FROM %1$s
			    WHERE lock_name = ? AND fencing_token = ? AND expires_at > clock_timestamp()
			    FOR UPDATE)
			UPDATE %1$s AS lease
			SET owner_id = ?,
			    fencing_token = nextval('%2$s'),
			    successor_token = NULL,
			    (acquired_at, expires_at) = (SELECT now.at, now.at + ? * interval '1 millisecond'
			                                 FROM (SELECT clock_timestamp() AS at) AS now),
			    waiters_until = NULL
			FROM locked WHERE lease.lock_name = locked.lock_name
			RETURNING lease.fencing_token, lease.acquired_at, lease.expires_at,
			    coalesce(locked.waiters_until > clock_timestamp(), false)""";

	/**
	 * Confirms a prepared hand-over: the successor's token, drawn while its predecessor held the
	 * row, takes the row over with a full lease, and the token of its own successor is drawn
	 * under the same row lock. A successor that holds the row already (an earlier confirmation
	 * committed, but its answer was lost) is renewed instead.
	 */
	private static final String CONFIRM_HAND_OVER = """
			WITH locked AS MATERIALIZED (
			    SELECT lock_name, waiters_until, fencing_token = ? AS confirmed FROM %1$s
			    WHERE lock_name = ? AND expires_at > clock_timestamp()
			      AND (fencing_token = ? OR (fencing_token = ? AND successor_token = ? AND successor_token > fencing_token))
			    FOR UPDATE)
			UPDATE %1$s AS lease
			SET fencing_token = ?,
			    successor_token = nextval('%2$s'),
			    (acquired_at, expires_at) = (SELECT CASE WHEN locked.confirmed THEN lease.acquired_at ELSE now.at END,
			                                        now.at + ? * interval '1 millisecond'
			                                 FROM (SELECT clock_timestamp() AS at) AS now),
			    waiters_until = NULL
			FROM locked WHERE lease.lock_name = locked.lock_name
			RETURNING lease.expires_at, coalesce(locked.waiters_until > clock_timestamp(), false),
			    lease.successor_token""";

	private static final String RENEW = """
			UPDATE %1$s
			SET expires_at = clock_timestamp() + ? * interval '1 millisecond'
			WHERE lock_name = ? AND fencing_token = ? AND expires_at > clock_timestamp()
			RETURNING expires_at""";

	private static final String RELEASE = """
			UPDATE %1$s
			SET expires_at = greatest(clock_timestamp(), acquired_at + ? * interval '1 millisecond')
			WHERE lock_name = ? AND fencing_token = ? AND expires_at > clock_timestamp()
			RETURNING expires_at""";

	/**
	 * Release that also notifies listeners, in the same transaction, when the lease ends now and
	 * a node has registered that its callers wait for the lock, or the releasing node has some.
	 */
	private static final String RELEASE_AND_NOTIFY = """
			WITH released AS (
			    UPDATE %1$s
			    SET expires_at = greatest(clock_timestamp(), acquired_at + ? * interval '1 millisecond')
			    WHERE lock_name = ? AND fencing_token = ? AND expires_at > clock_timestamp()
			    RETURNING lock_name, expires_at, waiters_until)
			SELECT expires_at,
			    CASE WHEN expires_at <= clock_timestamp() AND (waiters_until > clock_timestamp() OR ?)
			         THEN pg_notify(?, lock_name) END
			FROM released""";

	private static final String FIND = """
			SELECT lock_name, owner_id, fencing_token, acquired_at, expires_at, clock_timestamp() AS observed_at
			FROM %1$s WHERE lock_name = ?""";

	/** Run in the caller's transaction, as its own settings stand. */
	private static final String LOCK_FOR_COMMIT = """
			SELECT lock_name, owner_id, fencing_token, acquired_at, expires_at, clock_timestamp() AS observed_at
			FROM %1$s WHERE lock_name = ? FOR SHARE""";

	private static final String FIND_ALL = """
			SELECT lock_name, owner_id, fencing_token, acquired_at, expires_at, clock_timestamp() AS observed_at
			FROM %1$s ORDER BY lock_name LIMIT ?""";

	private static final String DELETE_EXPIRED = """
			DELETE FROM %1$s
			WHERE lock_name IN (
			    SELECT lock_name FROM %1$s
			    WHERE expires_at < clock_timestamp() - ? * interval '1 millisecond'
			    LIMIT 1000 FOR UPDATE SKIP LOCKED)
			AND expires_at < clock_timestamp() - ? * interval '1 millisecond'
			RETURNING lock_name""";

	private static final String NOT_REPLICATED = "canceling wait for synchronous replication";

	private final DataSource dataSource;

	private final LeaseStatementTimeouts timeouts;

	private final StatementWatchdog watchdog;

	private final String acquireSql;

	private final String tryOnceSql;

	private final String handOverSql;

	private final String drawSuccessorTokenSql;

	private final String confirmHandOverSql;

	private final String renewSql;

	private final String releaseSql;

	/** The release of a lease with a minimum hold time, which may extend it: durable, as a renewal. */
	private final String holdingReleaseSql;

	private final @Nullable String releaseChannel;

	private final String findSql;

	private final String deleteExpiredSql;

	private final String lockForCommitSql;

	private final String findAllSql;

	/**
	 * @param tableName a validated, optionally schema-qualified table name
	 * @param sequenceName a validated, optionally schema-qualified sequence name
	 */
	public PostgresLeaseStore(DataSource dataSource, String tableName, String sequenceName,
			LeaseStatementTimeouts timeouts) {
		this(dataSource, tableName, sequenceName, timeouts, null);
	}

	/**
	 * @param releaseChannel the channel a release that ends a lease notifies with the lock's
	 * name, or {@code null} not to notify
	 */
	public PostgresLeaseStore(DataSource dataSource, String tableName, String sequenceName,
			LeaseStatementTimeouts timeouts, @Nullable String releaseChannel) {
		this.dataSource = LeaseDataSource.unwrap(dataSource);
		this.timeouts = timeouts;
		this.watchdog = new StatementWatchdog(timeouts.cancelAfter());
		String table = SqlIdentifier.validate("leasehold.lock.table-name", tableName);
		String sequence = SqlIdentifier.validate("leasehold.lock.sequence-name", sequenceName);
		this.acquireSql = SETTINGS + ACQUIRE.formatted(table, sequence);
		this.tryOnceSql = SETTINGS + TRY_ONCE.formatted(table, sequence);
		this.handOverSql = SETTINGS + HAND_OVER.formatted(table, sequence);
		this.drawSuccessorTokenSql = SETTINGS + DRAW_SUCCESSOR_TOKEN.formatted(table, sequence);
		this.confirmHandOverSql = SETTINGS + CONFIRM_HAND_OVER.formatted(table, sequence);
		this.renewSql = SETTINGS + RENEW.formatted(table);
		this.releaseChannel = releaseChannel;
		String release = ((releaseChannel != null) ? RELEASE_AND_NOTIFY : RELEASE).formatted(table);
		this.releaseSql = RELEASE_SETTINGS + release;
		this.holdingReleaseSql = SETTINGS + release;
		this.findSql = SETTINGS + FIND.formatted(table);
		this.deleteExpiredSql = SETTINGS + DELETE_EXPIRED.formatted(table);
		this.lockForCommitSql = LOCK_FOR_COMMIT.formatted(table);
		this.findAllSql = SETTINGS + FIND_ALL.formatted(table);
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * A busy answer that registered a waiter, or found one registered for long enough, is a
	 * promise that the holder's release will notify. If the registration was needed but found
	 * the lease just released (its row changed under the statement), the answer says "no time
	 * left" so the caller tries again at once rather than wait for a notification that was never
	 * sent.
	 */
	@Override
	public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration) {
		long registerMillis = (this.releaseChannel != null) ? waiterRegistration.toMillis() : 0;
		return execute("acquire", lockName, this.acquireSql, rowLockTimeout, (statement) -> {
			bindGrant(statement, lockName, ownerId, leaseTime);
			statement.setLong(10, registerMillis);
			// renewed once less than two thirds remain: a waiter tries again well before that runs out
			statement.setLong(11, registerMillis * 2 / 3);
			statement.setString(12, lockName);
			statement.setString(13, lockName);
		}, PostgresLeaseStore::acquisition, undoGrant(lockName));
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * A statement of its own that leaves out everything a waiting caller needs: the cheapest
	 * acquire, for the callers that try once (the default wait time).
	 */
	@Override
	public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout) {
		return execute("acquire", lockName, this.tryOnceSql, rowLockTimeout,
				(statement) -> bindGrant(statement, lockName, ownerId, leaseTime),
				(rows) -> rows.next() ? Acquisition.of(grant(rows)) : Acquisition.busy(null), undoGrant(lockName));
	}

	/** The settings preamble of a statement, committing with the given {@code synchronous_commit}. */
	private static String settings(String synchronousCommit) {
		return "SELECT set_config('statement_timeout', ?, true), set_config('lock_timeout', ?, true),"
				+ " set_config('synchronous_commit', '" + synchronousCommit + "', true); ";
	}

	private static void bindGrant(PreparedStatement statement, String lockName, String ownerId, Duration leaseTime)
			throws SQLException {
		statement.setString(3, lockName);
		statement.setString(4, ownerId);
		statement.setLong(5, leaseTime.toMillis());
		statement.setString(6, lockName);
		statement.setString(7, ownerId);
		statement.setLong(8, leaseTime.toMillis());
		statement.setString(9, lockName);
	}

	/**
	 * A grant not confirmed by synchronous replication is released and the acquire fails; a busy
	 * answer stands, since what it may have written (a waiter's registration) costs at most a
	 * notification if lost.
	 */
	private NotDurableHandler<Acquisition> undoGrant(String lockName) {
		return new NotDurableHandler<>() {

			@Override
			public boolean mustBeDurable(Acquisition acquisition) {
				return acquisition.grant().isPresent();
			}

			@Override
			public void undo(Acquisition acquisition) {
				acquisition.grant().ifPresent((granted) -> release(lockName, granted.fencingToken(), Duration.ZERO));
			}

		};
	}

	/**
	 * The granted row, or the holder's row as the statement's snapshot saw it. A snapshot row
	 * that had already expired means the statement lost a race to a grant it could not see: the
	 * hint "no time left" makes the waiter look again at once, which costs a read, not a write.
	 */
	private static Acquisition acquisition(ResultSet rows) throws SQLException {
		if (!rows.next()) {
			// The row was being created by another statement that the snapshot could not see:
			// look again at once, now that it is there (and register, if waiting).
			return Acquisition.busy(Duration.ZERO);
		}
		long heldForMillis = rows.getLong(4);
		if (!rows.wasNull()) {
			return Acquisition.busy(Duration.ofMillis(Math.max(0, heldForMillis)));
		}
		return Acquisition.of(grant(rows));
	}

	private static Grant grant(ResultSet rows) throws SQLException {
		return new Grant(rows.getLong(1), instant(rows, 2), instant(rows, 3));
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * Durable, as a grant: a token not confirmed by synchronous replication is not returned.
	 */
	@Override
	public OptionalLong drawSuccessorToken(String lockName, long fencingToken, Duration leaseTime) {
		return execute("draw successor token", lockName, this.drawSuccessorTokenSql, this.timeouts.statementTimeout(),
				(statement) -> {
					statement.setString(3, lockName);
					statement.setLong(4, fencingToken);
					statement.setLong(5, leaseTime.toMillis());
				}, (rows) -> rows.next() ? OptionalLong.of(rows.getLong(1)) : OptionalLong.empty(), null);
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * Durable, as a grant: a hand-over not confirmed by synchronous replication is released and
	 * fails.
	 */
	@Override
	public Optional<Succession> handOver(String lockName, long fencingToken, String ownerId, Duration leaseTime) {
		return execute("hand over", lockName, this.handOverSql, this.timeouts.statementTimeout(), (statement) -> {
			statement.setString(3, lockName);
			statement.setLong(4, fencingToken);
			statement.setString(5, ownerId);
			statement.setLong(6, leaseTime.toMillis());
		}, (rows) -> rows.next() ? Optional.of(new Succession(grant(rows), rows.getBoolean(4)))
				: Optional.<Succession>empty(), new NotDurableHandler<>() {

			@Override
			public boolean mustBeDurable(Optional<Succession> handedOver) {
				return handedOver.isPresent();
			}

			@Override
			public void undo(Optional<Succession> handedOver) {
				handedOver.ifPresent((succession) -> release(lockName, succession.grant().fencingToken(), Duration.ZERO,
						true));
			}

		});
	}

	/**
	 * {@inheritDoc}
	 * <p>
	 * Durable, as a renewal: one not confirmed by synchronous replication fails.
	 */
	@Override
	public Optional<Confirmation> confirmHandOver(String lockName, long predecessorToken, long successorToken,
			Duration leaseTime) {
		return execute("confirm hand-over", lockName, this.confirmHandOverSql, this.timeouts.statementTimeout(),
				(statement) -> {
					statement.setLong(3, successorToken);
					statement.setString(4, lockName);
					statement.setLong(5, successorToken);
					statement.setLong(6, predecessorToken);
					statement.setLong(7, successorToken);
					statement.setLong(8, successorToken);
					statement.setLong(9, leaseTime.toMillis());
				}, (rows) -> rows.next()
						? Optional.of(new Confirmation(instant(rows, 1), rows.getBoolean(2), rows.getLong(3)))
						: Optional.<Confirmation>empty(),
				null);
	}

	@Override
	public Optional<Instant> renew(String lockName, long fencingToken, Duration leaseTime) {
		return execute("renew", lockName, this.renewSql, this.timeouts.statementTimeout(), (statement) -> {
			statement.setLong(3, leaseTime.toMillis());
			statement.setString(4, lockName);
			statement.setLong(5, fencingToken);
		}, (rows) -> rows.next() ? Optional.of(instant(rows, 1)) : Optional.<Instant>empty(), null);
	}

	@Override
	public boolean release(String lockName, long fencingToken, Duration minHoldTime, boolean waitersHere) {
		String sql = minHoldTime.isZero() ? this.releaseSql : this.holdingReleaseSql;
		return execute("release", lockName, sql, this.timeouts.statementTimeout(), (statement) -> {
			statement.setLong(3, minHoldTime.toMillis());
			statement.setString(4, lockName);
			statement.setLong(5, fencingToken);
			if (this.releaseChannel != null) {
				statement.setBoolean(6, waitersHere);
				statement.setString(7, this.releaseChannel);
			}
		}, ResultSet::next, null);
	}

	@Override
	public Optional<LeaseRow> lockForCommit(Connection connection, String lockName) throws SQLException {
		try (PreparedStatement statement = connection.prepareStatement(this.lockForCommitSql)) {
			statement.setString(1, lockName);
			try (ResultSet rows = statement.executeQuery()) {
				return rows.next() ? Optional.of(leaseRow(rows)) : Optional.empty();
			}
		}
	}

	/** The DataSource leases live in: the guard checks transactions on it. */
	public DataSource dataSource() {
		return this.dataSource;
	}

	@Override
	public List<LeaseRow> findAll(int limit) {
		return execute("list", "*", this.findAllSql, this.timeouts.statementTimeout(),
				(statement) -> statement.setInt(3, limit), (rows) -> {
					List<LeaseRow> all = new ArrayList<>();
					while (rows.next()) {
						all.add(leaseRow(rows));
					}
					return all;
				}, null);
	}

	@Override
	public Optional<LeaseRow> find(String lockName) {
		return execute("read", lockName, this.findSql, this.timeouts.statementTimeout(),
				(statement) -> statement.setString(3, lockName),
				(rows) -> rows.next() ? Optional.of(leaseRow(rows)) : Optional.<LeaseRow>empty(),
				null);
	}

	@Override
	public int deleteExpired(Duration retention) {
		return execute("clean up", "*", this.deleteExpiredSql, this.timeouts.statementTimeout(), (statement) -> {
			statement.setLong(3, retention.toMillis());
			statement.setLong(4, retention.toMillis());
		}, (rows) -> {
			int deleted = 0;
			while (rows.next()) {
				deleted++;
			}
			return deleted;
		}, null);
	}

	/**
	 * Runs one statement on a connection of its own in auto-commit mode and maps the result of
	 * its lease part. A commit that PostgreSQL reports as not replicated (it only warns, and keeps
	 * the commit locally) is a failure: the effect is undone with {@code onNotDurable} when given,
	 * and an exception thrown.
	 */
	private <T> T execute(String operation, String lockName, String sql, Duration rowLockTimeout, Binder binder,
			RowsMapper<T> mapper, @Nullable NotDurableHandler<T> onNotDurable) {
		T result;
		boolean replicated;
		try (Connection connection = this.dataSource.getConnection()) {
			ConnectionState original = ConnectionState.prepare(connection, this.timeouts.networkTimeout());
			StatementWatchdog.Watch watch = this.watchdog.watch(connection);
			boolean aborted = false;
			try (PreparedStatement statement = connection.prepareStatement(sql)) {
				statement.setString(1, Long.toString(this.timeouts.statementTimeout().toMillis()));
				statement.setString(2, Long.toString(
						Math.max(1, Math.min(rowLockTimeout.toMillis(), this.timeouts.statementTimeout().toMillis()))));
				binder.bind(statement);
				result = mapper.map(queryResult(statement));
				replicated = !warnedNotReplicated(statement.getWarnings())
						&& !warnedNotReplicated(connection.getWarnings());
			}
			finally {
				aborted = watch.finish();
				if (!aborted) {
					original.restore(connection);
				}
			}
		}
		catch (SQLException ex) {
			throw new LockStoreException("Could not " + operation + " lease on lock '" + lockName
					+ "': the lease database failed (SQLState " + ex.getSQLState() + ": " + ex.getMessage() + ")", ex);
		}
		if (!replicated && (onNotDurable == null || onNotDurable.mustBeDurable(result))) {
			if (onNotDurable != null) {
				undo(onNotDurable, result);
			}
			throw new LockStoreException("Could not " + operation + " lease on lock '" + lockName
					+ "': its commit was not confirmed by synchronous replication, so it could be lost in a failover",
					null);
		}
		return result;
	}

	/** Stops the watchdog of statements in flight. */
	@Override
	public void close() {
		this.watchdog.close();
	}

	private static <T> void undo(NotDurableHandler<T> onNotDurable, T result) {
		try {
			onNotDurable.undo(result);
		}
		catch (LockStoreException ex) {
			// The grant stays until it expires; the acquisition fails either way.
		}
	}

	/** The result set of the lease statement, which follows the one of the settings. */
	private static ResultSet queryResult(PreparedStatement statement) throws SQLException {
		if (!statement.execute() || !statement.getMoreResults()) {
			throw new SQLException("Lease statement returned no result set");
		}
		return statement.getResultSet();
	}

	private static boolean warnedNotReplicated(@Nullable SQLWarning warning) {
		for (SQLWarning current = warning; current != null; current = current.getNextWarning()) {
			if (current.getMessage() != null && current.getMessage().contains(NOT_REPLICATED)) {
				return true;
			}
		}
		return false;
	}

	private static LeaseRow leaseRow(ResultSet rows) throws SQLException {
		return new LeaseRow(rows.getString(1), rows.getString(2), rows.getLong(3), instant(rows, 4), instant(rows, 5),
				instant(rows, 6));
	}

	private static Instant instant(ResultSet rows, int column) throws SQLException {
		return rows.getObject(column, OffsetDateTime.class).toInstant();
	}

	/**
	 * What a pooled connection looked like before a lease statement changed it, restored before
	 * the connection goes back, unless the connection broke.
	 */
	private record ConnectionState(boolean autoCommit, int networkTimeout) {

		static ConnectionState prepare(Connection connection, Duration networkTimeout) throws SQLException {
			ConnectionState original = new ConnectionState(connection.getAutoCommit(), connection.getNetworkTimeout());
			connection.setNetworkTimeout(Runnable::run, (int) networkTimeout.toMillis());
			if (!original.autoCommit) {
				connection.setAutoCommit(true);
			}
			return original;
		}

		void restore(Connection connection) throws SQLException {
			if (connection.isClosed()) {
				return;
			}
			connection.clearWarnings();
			if (!this.autoCommit) {
				connection.setAutoCommit(false);
			}
			connection.setNetworkTimeout(Runnable::run, this.networkTimeout);
		}

	}

	@FunctionalInterface
	private interface Binder {

		void bind(PreparedStatement statement) throws SQLException;

	}

	@FunctionalInterface
	private interface RowsMapper<T> {

		T map(ResultSet rows) throws SQLException;

	}

	/** What to do about a result whose commit synchronous replication did not confirm. */
	private interface NotDurableHandler<T> {

		/** Whether losing this result in a failover matters; if not, it stands. */
		boolean mustBeDurable(T result);

		/** Undoes its effect, best effort. */
		void undo(T result);

	}

}
