package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.core.PollingWaitStrategy;
import io.leasehold.lock.core.WaitStrategy;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code leasehold.lock.notify.enabled=false}, for applications behind a transaction-mode
 * pooler: no listener connection, waiters poll with backoff and still get the lock soon after
 * its release, and a release notifies nobody. A node with notifications on, on the same
 * channel, is the control.
 */
class NotificationsDisabledTests {

	private static final Duration POLLING_MAX = Duration.ofMillis(100);

	private static final String CHANNEL = NotifyNodes.uniqueName("lh_disabled_channel");

	private static final String DEFAULT_CHANNEL = "leasehold_lock_released";

	private static String offName;

	private static String onName;

	private static LockNode off;

	private static LockNode on;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		offName = NotifyNodes.uniqueName("notify_off");
		off = NotifyNodes.start(offName, new Class<?>[] { NotifyNodes.Config.class, StatementCounting.class },
				"leasehold.lock.notify.enabled=false", "leasehold.lock.notify.channel=" + CHANNEL,
				"leasehold.lock.polling.initial-interval=10ms",
				"leasehold.lock.polling.max-interval=" + POLLING_MAX.toMillis() + "ms");
		onName = NotifyNodes.uniqueName("notify_on");
		on = NotifyNodes.start(onName, NotifyNodes.Config.class, "leasehold.lock.notify.channel=" + CHANNEL);
		NotifyNodes.awaitListening(on);
		executor = Executors.newCachedThreadPool();
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		off.close();
		on.close();
	}

	@Test
	void noListenerConnectsAndWaitersPoll() {
		assertThat(off.context().getBeansOfType(PostgresReleaseListener.class)).isEmpty();
		assertThat(off.context().getBeansOfType(NotifiedWaitStrategy.class)).isEmpty();
		assertThat(off.bean(WaitStrategy.class)).isExactlyInstanceOf(PollingWaitStrategy.class);
		assertThat(NotifyNodes.backendPids(offName)).isNotEmpty();
		assertThat(NotifyNodes.listenerPids(offName)).isEmpty();
		assertThat(on.bean(WaitStrategy.class)).isInstanceOf(NotifiedWaitStrategy.class);
		assertThat(NotifyNodes.listenerPids(onName)).hasSize(1);
	}

	@Test
	void waiterGetsTheLockWithinAPollingIntervalOfItsRelease() throws Exception {
		String lockName = "notify-off-wait-" + UUID.randomUUID();
		for (int i = 0; i < 5; i++) {
			Lease held = on.lockManager().acquire(lockName, LockOptions.defaults());
			long before = StatementCounting.statements(off);
			Future<long[]> waiting = executor.submit(() -> {
				try (Lease lease = off.lockManager()
					.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)))) {
					return new long[] { lease.fencingToken(), System.nanoTime() };
				}
			});
			// refused four times: by now the waiter polls with backoff
			await().pollInterval(Duration.ofMillis(1))
				.atMost(Duration.ofSeconds(5))
				.until(() -> StatementCounting.statements(off) >= before + 4);
			long releasedAt = System.nanoTime();
			held.close();
			long[] acquired = waiting.get(15, TimeUnit.SECONDS);
			assertThat(acquired[0]).isGreaterThan(held.fencingToken());
			assertThat(Duration.ofNanos(acquired[1] - releasedAt)).isLessThan(POLLING_MAX.plusMillis(200));
		}
	}

	/**
	 * Notifications from different transactions arrive in commit order, so once the control
	 * release's notification is in, any notification of the earlier release would be too.
	 */
	@Test
	void releaseNotifiesTheLockNameOnlyWhenNotificationsAreEnabled() throws Exception {
		TestDatabase database = TestDatabase.get();
		try (Connection connection = DriverManager.getConnection(database.jdbcUrl(), database.username(),
				database.password()); Statement statement = connection.createStatement()) {
			statement.execute("LISTEN " + CHANNEL);
			statement.execute("LISTEN " + DEFAULT_CHANNEL);
			String silent = "notify-off-silent-" + UUID.randomUUID();
			String notified = "notify-on-control-" + UUID.randomUUID();
			// Both locks have a waiter registered in their row, so only the setting decides.
			Lease silentHeld = off.lockManager().acquire(silent, LockOptions.defaults());
			Lease notifiedHeld = on.lockManager().acquire(notified, LockOptions.defaults());
			for (String lockName : List.of(silent, notified)) {
				assertThat(on.bean(LeaseStore.class)
					.tryAcquire(lockName, "waiter", Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofSeconds(30))
					.grant()).isEmpty();
			}
			silentHeld.close();
			notifiedHeld.close();

			PGConnection notifications = connection.unwrap(PGConnection.class);
			List<PGNotification> received = new ArrayList<>();
			long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
			while (received.stream().noneMatch((notification) -> notification.getParameter().equals(notified))
					&& System.nanoTime() - deadline < 0) {
				PGNotification[] batch = notifications.getNotifications(100);
				if (batch != null) {
					received.addAll(List.of(batch));
				}
			}
			assertThat(received).anySatisfy((notification) -> {
				assertThat(notification.getName()).isEqualTo(CHANNEL);
				assertThat(notification.getParameter()).isEqualTo(notified);
			});
			assertThat(received).noneMatch((notification) -> notification.getParameter().equals(silent));
		}
	}

}
