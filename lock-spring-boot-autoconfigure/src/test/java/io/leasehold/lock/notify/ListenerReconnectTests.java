package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static io.leasehold.lock.notify.NotifyNodes.POLLING_MAX_30S;
import static io.leasehold.lock.notify.NotifyNodes.SAFETY_POLL_30S;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The listener's connection dies while callers wait: they still get the lock once it is
 * released, and the listener comes back by itself, after which a hand-off is as fast as before.
 * The listener's backend is found in {@code pg_stat_activity} by the waiting node's own
 * application name and killed with {@code pg_terminate_backend}.
 */
class ListenerReconnectTests {

	private static final LockOptions WAIT_20S = LockOptions.defaults().withWaitTime(Duration.ofSeconds(20));

	private static final Duration FAST = Duration.ofMillis(500);

	private static LockNode holder;

	private static String waiterName;

	private static LockNode waiter;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		holder = LockNode.start(NotifyNodes.Config.class);
		waiterName = NotifyNodes.uniqueName("reconnect");
		waiter = NotifyNodes.start(waiterName, NotifyNodes.Config.class, SAFETY_POLL_30S, POLLING_MAX_30S);
		NotifyNodes.awaitListening(waiter);
		executor = Executors.newCachedThreadPool();
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		holder.close();
		waiter.close();
	}

	@Test
	void waitersGetTheLockAndTheListenerComesBackAfterItsBackendIsTerminated() throws Exception {
		String lockName = "reconnect-" + UUID.randomUUID();
		PostgresReleaseListener listener = NotifyNodes.listener(waiter);
		assertThat(listener.lastFailure()).isNull();
		Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
		List<Future<Acquired>> waiting = startWaiters(waiter, lockName, 4);
		NotifyNodes.awaitQueued(waiter, lockName, 4);

		List<Integer> before = NotifyNodes.listenerPids(waiterName);
		assertThat(before).hasSize(1);
		assertThat(NotifyNodes.terminate(before.get(0))).isTrue();

		await().atMost(Duration.ofSeconds(5)).until(() -> listener.lastFailure() != null);
		await().pollInterval(Duration.ofMillis(10)).atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
			assertThat(listener.isListening()).isTrue();
			assertThat(NotifyNodes.listenerPids(waiterName)).hasSize(1).doesNotContain(before.get(0));
		});
		assertThat(waiting).noneMatch(Future::isDone);
		assertThat(NotifyNodes.queued(waiter, lockName)).isEqualTo(4);

		long releasedAt = System.nanoTime();
		held.close();
		List<Acquired> acquired = results(waiting);
		assertThat(acquired).extracting(Acquired::fencingToken)
			.doesNotHaveDuplicates()
			.allMatch((token) -> token > held.fencingToken());
		long first = acquired.stream().mapToLong(Acquired::atNanos).min().orElseThrow();
		assertThat(Duration.ofNanos(first - releasedAt)).isLessThan(FAST);
		assertHandOffIsFast(waiter, lockName);
	}

	/**
	 * The waiting node's role may not log in for a while, so its listener cannot reconnect; the
	 * pool's connections, opened before, keep working. The release notification is lost, and
	 * the waiters must find the free lock by polling.
	 */
	@Test
	void waitersPollWhileTheListenerCannotReconnectAndHandOffIsFastOnceItIsBack() throws Exception {
		String role = NotifyNodes.uniqueName("lh_reconnect_role");
		String applicationName = NotifyNodes.uniqueName("reconnect_role");
		execute("CREATE ROLE " + role + " LOGIN PASSWORD 'leasehold'",
				"GRANT SELECT, INSERT, UPDATE, DELETE ON leasehold_lock TO " + role,
				"GRANT USAGE, SELECT ON SEQUENCE leasehold_fencing_token_seq TO " + role);
		try (LockNode node = NotifyNodes.start(applicationName, NotifyNodes.Config.class,
				"spring.datasource.username=" + role, "spring.datasource.password=leasehold",
				"spring.datasource.hikari.maximum-pool-size=4", "spring.datasource.hikari.minimum-idle=4",
				"leasehold.lock.initialize-schema=never", "leasehold.lock.cleanup.enabled=false", SAFETY_POLL_30S,
				"leasehold.lock.polling.initial-interval=10ms", "leasehold.lock.polling.max-interval=250ms",
				"leasehold.lock.notify.max-reconnect-backoff=500ms")) {
			NotifyNodes.awaitListening(node);
			HikariDataSource pool = node.bean(DataSource.class).unwrap(HikariDataSource.class);
			await().atMost(Duration.ofSeconds(10)).until(() -> pool.getHikariPoolMXBean().getTotalConnections() == 4);
			PostgresReleaseListener listener = NotifyNodes.listener(node);
			String lockName = "reconnect-role-" + UUID.randomUUID();
			Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
			List<Future<Acquired>> waiting = startWaiters(node, lockName, 3);
			NotifyNodes.awaitQueued(node, lockName, 3);

			execute("ALTER ROLE " + role + " NOLOGIN");
			List<Integer> listenerPids = NotifyNodes.listenerPids(applicationName);
			assertThat(listenerPids).hasSize(1);
			assertThat(NotifyNodes.terminate(listenerPids.get(0))).isTrue();
			await().atMost(Duration.ofSeconds(5))
				.until(() -> listener.state() == PostgresReleaseListener.State.RECONNECTING);
			assertThat(NotifyNodes.waitStrategy(node).isListening()).isFalse();

			long releasedAt = System.nanoTime();
			held.close();
			List<Acquired> acquired = results(waiting);
			long first = acquired.stream().mapToLong(Acquired::atNanos).min().orElseThrow();
			long last = acquired.stream().mapToLong(Acquired::atNanos).max().orElseThrow();
			assertThat(Duration.ofNanos(first - releasedAt)).isLessThan(Duration.ofSeconds(1));
			assertThat(Duration.ofNanos(last - releasedAt)).isLessThan(Duration.ofSeconds(3));
			assertThat(acquired).extracting(Acquired::fencingToken)
			.doesNotHaveDuplicates()
			.allMatch((token) -> token > held.fencingToken());
			assertThat(listener.state()).isEqualTo(PostgresReleaseListener.State.RECONNECTING);
			await().atMost(Duration.ofSeconds(5))
				.untilAsserted(() -> assertThat(listener.lastFailure()).contains("not permitted to log in"));

			execute("ALTER ROLE " + role + " LOGIN");
			await().atMost(Duration.ofSeconds(5)).until(listener::isListening);
			assertThat(NotifyNodes.listenerPids(applicationName)).hasSize(1);
			assertHandOffIsFast(node, lockName);
		}
		finally {
			execute("DROP OWNED BY " + role, "DROP ROLE " + role);
		}
	}

	/** A caller on the node gets the lock within {@link #FAST} of its release by another node. */
	private static void assertHandOffIsFast(LockNode node, String lockName) throws Exception {
		Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
		List<Future<Acquired>> waiting = startWaiters(node, lockName, 1);
		NotifyNodes.awaitQueued(node, lockName, 1);
		long releasedAt = System.nanoTime();
		held.close();
		Acquired acquired = results(waiting).get(0);
		assertThat(Duration.ofNanos(acquired.atNanos() - releasedAt)).isLessThan(FAST);
	}

	private static List<Future<Acquired>> startWaiters(LockNode node, String lockName, int count) {
		List<Future<Acquired>> waiting = new ArrayList<>();
		for (int i = 0; i < count; i++) {
			waiting.add(executor.submit(() -> {
				try (Lease lease = node.lockManager().acquire(lockName, WAIT_20S)) {
					return new Acquired(lease.fencingToken(), System.nanoTime());
				}
			}));
		}
		return waiting;
	}

	private static List<Acquired> results(List<Future<Acquired>> waiting) throws Exception {
		List<Acquired> acquired = new ArrayList<>();
		for (Future<Acquired> future : waiting) {
			acquired.add(future.get(25, TimeUnit.SECONDS));
		}
		return acquired;
	}

	private static void execute(String... sql) {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				Statement statement = connection.createStatement()) {
			for (String each : sql) {
				statement.execute(each);
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private record Acquired(long fencingToken, long atNanos) {

	}

}
