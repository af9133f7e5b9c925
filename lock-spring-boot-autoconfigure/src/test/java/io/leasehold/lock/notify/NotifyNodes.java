package io.leasehold.lock.notify;

import java.lang.reflect.Field;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.awaitility.Awaitility.await;

/**
 * Nodes for the notification tests, and what the tests observe of them: whether their listener
 * is subscribed, how many callers queue for a lock, and the listener's backend in
 * {@code pg_stat_activity} (each node's connections carry an {@code ApplicationName} of their
 * own, set in the JDBC URL, which the listener's connection derived from the pool inherits; one
 * set in {@code spring.datasource.hikari.data-source-properties} would not reach the listener,
 * which is derived from the pool's URL and credentials only).
 */
final class NotifyNodes {

	/**
	 * The safety poll and polling far beyond every bound the tests assert: only a release
	 * notification (or the holder's expiry hint) can wake a waiter in time.
	 */
	static final String SAFETY_POLL_30S = "leasehold.lock.notify.safety-poll-interval=30s";

	static final String POLLING_MAX_30S = "leasehold.lock.polling.max-interval=30s";

	/**
	 * A node's pool and its listener share the application name; only the listener runs
	 * {@code LISTEN} and, every 15 seconds, {@code SELECT 1}.
	 */
	private static final String LISTENER_PIDS = """
			SELECT pid FROM pg_stat_activity
			WHERE application_name = ? AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')""";

	private NotifyNodes() {
	}

	/** A name no other node or test run uses, short enough for {@code application_name}. */
	static String uniqueName(String prefix) {
		return prefix + "_" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());
	}

	/** The test database's URL with an {@code ApplicationName} for every connection made with it. */
	static String urlProperty(String applicationName) {
		String url = TestDatabase.get().jdbcUrl();
		return "spring.datasource.url=" + url + (url.contains("?") ? "&" : "?") + "ApplicationName=" + applicationName;
	}

	static LockNode start(String applicationName, Class<?> configuration, String... properties) {
		return start(applicationName, new Class<?>[] { configuration }, properties);
	}

	static LockNode start(String applicationName, Class<?>[] configurations, String... properties) {
		List<String> all = new ArrayList<>();
		all.add(urlProperty(applicationName));
		all.addAll(List.of(properties));
		return LockNode.start(configurations, all.toArray(String[]::new));
	}

	static PostgresReleaseListener listener(LockNode node) {
		return node.bean(PostgresReleaseListener.class);
	}

	static NotifiedWaitStrategy waitStrategy(LockNode node) {
		return node.bean(NotifiedWaitStrategy.class);
	}

	/** Waits until the nodes' listeners are subscribed and their waiters know it. */
	static void awaitListening(LockNode... nodes) {
		for (LockNode node : nodes) {
			await().pollInterval(Duration.ofMillis(5))
				.atMost(Duration.ofSeconds(10))
				.until(() -> listener(node).isListening() && waitStrategy(node).isListening());
		}
	}

	/**
	 * How many of the node's callers queue for the lock now. Read from the wait strategy's
	 * private queues: the only exact signal that a caller is waiting rather than about to.
	 */
	static int queued(LockNode node, String lockName) {
		return inQueue(node, lockName, 0, (waiters) -> waiters.size());
	}

	/**
	 * Waits until the first of the node's callers queued for the lock sleeps, so that a release
	 * of its node can hand the lock over to it.
	 */
	static void awaitHeadAsleep(LockNode node, String lockName) {
		awaitHead(node, lockName, "parked");
	}

	/** Waits until the first caller queued for the lock has been promised it by a releasing holder. */
	static void awaitHeadPromised(LockNode node, String lockName) {
		awaitHead(node, lockName, "promised");
	}

	private static void awaitHead(LockNode node, String lockName, String flag) {
		await().pollInterval(Duration.ofMillis(1)).atMost(Duration.ofSeconds(10)).until(() -> inQueue(node, lockName,
				false, (waiters) -> {
					Object head = waiters.peekFirst();
					return head != null && field(head.getClass(), flag).getBoolean(head);
				}));
	}

	/** Reads the node's queue for the lock under its lock, or answers {@code none} when there is none. */
	private static <T> T inQueue(LockNode node, String lockName, T none, QueueReader<T> reader) {
		try {
			Map<?, ?> queues = (Map<?, ?>) field(NotifiedWaitStrategy.class, "queues").get(waitStrategy(node));
			Object queue = queues.get(lockName);
			if (queue == null) {
				return none;
			}
			ReentrantLock lock = (ReentrantLock) field(queue.getClass(), "lock").get(queue);
			lock.lock();
			try {
				return reader.read((ArrayDeque<?>) field(queue.getClass(), "waiters").get(queue));
			}
			finally {
				lock.unlock();
			}
		}
		catch (ReflectiveOperationException ex) {
			throw new IllegalStateException("NotifiedWaitStrategy's queues changed shape", ex);
		}
	}

	@FunctionalInterface
	private interface QueueReader<T> {

		T read(ArrayDeque<?> waiters) throws ReflectiveOperationException;

	}

	static void awaitQueued(LockNode node, String lockName, int count) {
		await().pollInterval(Duration.ofMillis(1))
			.atMost(Duration.ofSeconds(10))
			.until(() -> queued(node, lockName) == count);
	}

	private static Field field(Class<?> type, String name) throws NoSuchFieldException {
		Field field = type.getDeclaredField(name);
		field.setAccessible(true);
		return field;
	}

	/**
	 * The backends of the listeners connected with this application name: those whose last
	 * query was the {@code LISTEN}, or the listener's liveness check.
	 */
	static List<Integer> listenerPids(String applicationName) {
		return query(LISTENER_PIDS, applicationName);
	}

	/** The backends connected with this application name, whatever they run. */
	static List<Integer> backendPids(String applicationName) {
		return query("SELECT pid FROM pg_stat_activity WHERE application_name = ?", applicationName);
	}

	static boolean terminate(int pid) {
		return !query("SELECT pid FROM (SELECT ? AS pid) p WHERE pg_terminate_backend(pid)", pid).isEmpty();
	}

	private static List<Integer> query(String sql, Object parameter) {
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				PreparedStatement statement = connection.prepareStatement(sql)) {
			statement.setObject(1, parameter);
			List<Integer> pids = new ArrayList<>();
			try (ResultSet rows = statement.executeQuery()) {
				while (rows.next()) {
					pids.add(rows.getInt(1));
				}
			}
			return pids;
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
