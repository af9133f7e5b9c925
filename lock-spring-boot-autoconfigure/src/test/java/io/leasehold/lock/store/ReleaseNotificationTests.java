package io.leasehold.lock.store;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A release notifies only while some caller has registered that it waits for the lock: an
 * uncontended lock costs its release no notification, and so no listener on any node wakes.
 * Notifications of different transactions arrive in commit order, so once a later control
 * release's notification is in, one of an earlier release would be too.
 */
class ReleaseNotificationTests {

	private static final String TABLE = "notify_test_lock";

	private static final String SEQUENCE = "notify_test_token_seq";

	private static final String CHANNEL = "notify_test_" + UUID.randomUUID().toString().replace("-", "");

	private static final Duration LEASE = Duration.ofSeconds(30);

	private static final Duration ROW_LOCK_WAIT = Duration.ofSeconds(1);

	private static final Duration REGISTRATION = Duration.ofSeconds(15);

	private static PostgresLeaseStore store;

	private static Connection listener;

	@BeforeAll
	static void start() throws SQLException {
		TestDatabase database = TestDatabase.get();
		new PostgresSchema(database.dataSource(), TABLE, SEQUENCE).create();
		store = new PostgresLeaseStore(database.dataSource(), TABLE, SEQUENCE,
				LeaseStatementTimeouts.of(Duration.ofSeconds(5)), CHANNEL);
		listener = DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
		try (Statement statement = listener.createStatement()) {
			statement.execute("LISTEN " + CHANNEL);
		}
	}

	@AfterAll
	static void stop() throws SQLException {
		listener.close();
		store.close();
	}

	@Test
	void releaseOfALockNobodyWaitsForSendsNoNotification() throws SQLException {
		String uncontended = unique("uncontended");
		acquireAndRelease(uncontended);
		assertNothingNotifiedBeforeAControl();
	}

	@Test
	void busyAttemptThatWaitsMakesTheReleaseNotify() throws SQLException {
		String lock = unique("waited-for");
		Grant held = grant(lock);
		Acquisition busy = store.tryAcquire(lock, "waiter", LEASE, ROW_LOCK_WAIT, REGISTRATION);
		assertThat(busy.grant()).isEmpty();
		assertThat(busy.heldFor()).isGreaterThan(LEASE.minusSeconds(5));

		assertThat(store.release(lock, held.fencingToken(), Duration.ZERO)).isTrue();
		assertThat(notifiedUntil(lock)).containsExactly(lock);
	}

	@Test
	void releasingNodeWithCallersOfItsOwnWaitingNotifiesWithoutARegistration() throws SQLException {
		String lock = unique("queued-here");
		Grant held = grant(lock);
		assertThat(store.release(lock, held.fencingToken(), Duration.ZERO, true)).isTrue();
		assertThat(notifiedUntil(lock)).containsExactly(lock);
	}

	@Test
	void busyAttemptThatDoesNotWaitRegistersNothing() throws SQLException {
		String lock = unique("not-waited-for");
		Grant held = grant(lock);
		assertThat(store.tryAcquire(lock, "quitter", LEASE, ROW_LOCK_WAIT).grant()).isEmpty();
		assertThat(store.release(lock, held.fencingToken(), Duration.ZERO)).isTrue();

		assertNothingNotifiedBeforeAControl();
	}

	@Test
	void registrationOutlivesHandOffsUntilItLapses() throws SQLException, InterruptedException {
		String lock = unique("lapsing");
		Grant first = grant(lock);
		assertThat(store.tryAcquire(lock, "waiter", LEASE, ROW_LOCK_WAIT, Duration.ofMillis(600)).grant()).isEmpty();
		store.release(lock, first.fencingToken(), Duration.ZERO);
		Grant second = grant(lock);
		store.release(lock, second.fencingToken(), Duration.ZERO);
		assertThat(notifiedUntil(lock)).containsExactly(lock, lock);

		Grant third = grant(lock);
		Thread.sleep(700); // the registration has lapsed by the database clock: nobody renewed it
		store.release(lock, third.fencingToken(), Duration.ZERO);
		assertNothingNotifiedBeforeAControl();
	}

	@Test
	void registrationNeededOnALeaseReleasedMeanwhileAsksForAnImmediateRetry() throws Exception {
		String lock = unique("raced");
		Grant held = grant(lock);
		// A release in progress locks the row: the registering attempt waits for it, then finds
		// the lease ended, registers nothing, and must not let its caller sleep on a busy answer.
		try (Connection releaser = TestDatabase.get().dataSource().getConnection()) {
			releaser.setAutoCommit(false);
			try (PreparedStatement release = releaser
				.prepareStatement("UPDATE " + TABLE + " SET expires_at = clock_timestamp() WHERE lock_name = ?")) {
				release.setString(1, lock);
				assertThat(release.executeUpdate()).isOne();
			}
			CompletableFuture<Acquisition> attempt = CompletableFuture
				.supplyAsync(() -> store.tryAcquire(lock, "waiter", LEASE, Duration.ofSeconds(10), REGISTRATION));
			Awaitility.await().atMost(Duration.ofSeconds(10)).until(ReleaseNotificationTests::aLeaseStatementWaitsForARowLock);
			releaser.commit();

			Acquisition answer = attempt.get(10, TimeUnit.SECONDS);
			assertThat(answer.grant()).isEmpty();
			assertThat(answer.heldFor()).isEqualTo(Duration.ZERO);
		}
		assertThat(store.tryAcquire(lock, "waiter", LEASE, ROW_LOCK_WAIT).grant()).isPresent();
	}

	@Test
	void attemptThatLosesTheRaceToCreateTheRowAsksForAnImmediateRetry() throws Exception {
		String lock = unique("created-meanwhile");
		// Another node's insert of the lock's first row is in flight: the attempt's snapshot cannot
		// see the row, its own insert waits for that one and then gives way. It has nothing to
		// register on, and must not let its caller sleep until the safety poll.
		try (Connection creator = TestDatabase.get().dataSource().getConnection()) {
			creator.setAutoCommit(false);
			try (PreparedStatement insert = creator.prepareStatement("INSERT INTO " + TABLE
					+ " (lock_name, owner_id, fencing_token, acquired_at, expires_at)"
					+ " VALUES (?, 'creator', nextval('" + SEQUENCE + "'), clock_timestamp(), clock_timestamp() + interval '30 seconds')")) {
				insert.setString(1, lock);
				assertThat(insert.executeUpdate()).isOne();
			}
			CompletableFuture<Acquisition> attempt = CompletableFuture
				.supplyAsync(() -> store.tryAcquire(lock, "waiter", LEASE, Duration.ofSeconds(10), REGISTRATION));
			Awaitility.await().atMost(Duration.ofSeconds(10)).until(ReleaseNotificationTests::aLeaseStatementWaitsForARowLock);
			creator.commit();

			Acquisition answer = attempt.get(10, TimeUnit.SECONDS);
			assertThat(answer.grant()).isEmpty();
			assertThat(answer.heldFor()).isEqualTo(Duration.ZERO);
		}
	}

	private static boolean aLeaseStatementWaitsForARowLock() throws SQLException {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				PreparedStatement statement = connection.prepareStatement("SELECT count(*) FROM pg_stat_activity"
						+ " WHERE wait_event_type = 'Lock' AND query LIKE ?")) {
			// the start of the statement: pg_stat_activity keeps only its first 1,024 bytes
			statement.setString(1, "%WITH locked AS MATERIALIZED%" + TABLE + "%");
			try (ResultSet rows = statement.executeQuery()) {
				return rows.next() && rows.getInt(1) > 0;
			}
		}
	}

	/**
	 * Releases a control lock that has a waiter registered: its notification comes after any of
	 * the releases before it, so it must be the only one received.
	 */
	private static void assertNothingNotifiedBeforeAControl() throws SQLException {
		String control = unique("control");
		Grant held = grant(control);
		registerWaiter(control);
		assertThat(store.release(control, held.fencingToken(), Duration.ZERO)).isTrue();
		assertThat(notifiedUntil(control)).containsExactly(control);
	}

	private static void acquireAndRelease(String lock) {
		Grant held = grant(lock);
		assertThat(store.release(lock, held.fencingToken(), Duration.ZERO)).isTrue();
	}

	private static Grant grant(String lock) {
		return store.tryAcquire(lock, "holder", LEASE, ROW_LOCK_WAIT).grant().orElseThrow();
	}

	private static void registerWaiter(String lock) {
		assertThat(store.tryAcquire(lock, "waiter", LEASE, ROW_LOCK_WAIT, REGISTRATION).grant()).isEmpty();
	}

	/** The lock names notified on the channel, up to and including the first of {@code last}. */
	private static List<String> notifiedUntil(String last) throws SQLException {
		PGConnection notifications = listener.unwrap(PGConnection.class);
		List<String> received = new ArrayList<>();
		long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
		while (!received.contains(last) && System.nanoTime() - deadline < 0) {
			PGNotification[] batch = notifications.getNotifications(100);
			if (batch != null) {
				for (PGNotification notification : batch) {
					received.add(notification.getParameter());
				}
			}
		}
		return received;
	}

	private static String unique(String prefix) {
		return "notify-" + prefix + "-" + UUID.randomUUID();
	}

}
