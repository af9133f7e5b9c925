package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Where a hand-off's time goes (scenario A with {@code --diagnose}): a LISTEN connection of its
 * own records when each release notification reaches a client, so a hand-off splits into the
 * release statement plus the notification's delivery by the server, and what follows on the
 * node: the node's own listener handing the notification over (with stock pgjdbc about 1 ms
 * later, see {@link Experiments}), the wake-up, and the next holder's acquire statement. The
 * diagnostics connection is patched like the {@code fast-notify} experiment so that it sees
 * notifications as soon as they arrive. A second thread samples {@code pg_stat_activity} for the wait events of the
 * benchmark database's busy backends (from the {@code postgres} database, so the samples do not
 * count as the benchmark's transactions).
 */
final class HandoffDiagnostics {

	private static final String SAMPLE = """
			SELECT coalesce(wait_event_type || ':' || wait_event, 'running'), count(*)
			FROM pg_stat_activity
			WHERE datname = ? AND state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
			GROUP BY 1""";

	private final BenchDatabase database;

	private final String channel;

	private final LongList notified = new LongList();

	private final Map<String, Long> waitEvents = new TreeMap<>();

	private final AtomicLong samples = new AtomicLong();

	private volatile boolean running;

	private final List<Thread> threads = new ArrayList<>();

	private volatile String lockName = "";

	HandoffDiagnostics(BenchDatabase database, String channel) {
		this.database = database;
		this.channel = channel;
	}

	void start(String lockName) throws SQLException, InterruptedException {
		this.lockName = lockName;
		this.running = true;
		// Patched like the fast-notify experiment, so that its timestamps show when the server
		// delivered a notification, not pgjdbc's extra 1 ms wait for further messages.
		Connection listener = Experiments.withoutPendingMessagePeek(this.database.connect());
		try (Statement statement = listener.createStatement()) {
			statement.execute("LISTEN " + this.channel);
		}
		Thread listening = new Thread(() -> listen(listener), "diagnostics-listener");
		listening.setDaemon(true);
		listening.start();
		this.threads.add(listening);
		String databaseName = this.database.databaseName();
		Connection sampler = DriverManager.getConnection(BenchDatabase.maintenanceUrl(this.database.jdbcUrl()),
				this.database.username(), this.database.password());
		Thread sampling = new Thread(() -> sample(sampler, databaseName), "diagnostics-sampler");
		sampling.setDaemon(true);
		sampling.start();
		this.threads.add(sampling);
	}

	void stop() throws InterruptedException {
		this.running = false;
		for (Thread thread : this.threads) {
			thread.join(2000);
		}
	}

	private void listen(Connection connection) {
		try (connection) {
			PGConnection notifications = connection.unwrap(PGConnection.class);
			while (this.running) {
				PGNotification[] received = notifications.getNotifications(100);
				long now = System.nanoTime();
				if (received != null) {
					for (PGNotification notification : received) {
						if (this.lockName.equals(notification.getParameter())) {
							synchronized (this.notified) {
								this.notified.add(now);
							}
						}
					}
				}
			}
		}
		catch (SQLException ex) {
			System.out.println("  (diagnostics listener failed: " + ex + ")");
		}
	}

	private void sample(Connection connection, String databaseName) {
		try (connection; PreparedStatement statement = connection.prepareStatement(SAMPLE)) {
			statement.setString(1, databaseName);
			while (this.running) {
				try (ResultSet rows = statement.executeQuery()) {
					synchronized (this.waitEvents) {
						while (rows.next()) {
							this.waitEvents.merge(rows.getString(1), rows.getLong(2), Long::sum);
						}
					}
				}
				this.samples.incrementAndGet();
				Thread.sleep(2);
			}
		}
		catch (SQLException | InterruptedException ex) {
			System.out.println("  (diagnostics sampler failed: " + ex + ")");
		}
	}

	/** The breakdown of the measured hand-offs, given every contender's section timestamps. */
	String report(List<HotLockScenario.SectionTrace> traces) {
		long[] releaseStarts = LongList.concat(traces.stream().map((t) -> t.releaseStart).toList());
		long[] acquires = LongList.concat(traces.stream().map((t) -> t.acquired).toList());
		long[] notifications;
		synchronized (this.notified) {
			notifications = this.notified.toArray();
		}
		Arrays.sort(releaseStarts);
		Arrays.sort(acquires);
		Arrays.sort(notifications);
		LongList untilNotified = new LongList();
		LongList notifiedToAcquired = new LongList();
		int missed = 0;
		for (long releaseStart : releaseStarts) {
			int next = firstAfter(acquires, releaseStart);
			if (next >= acquires.length) {
				continue;
			}
			int notification = firstAfter(notifications, releaseStart);
			if (notification >= notifications.length || notifications[notification] > acquires[next]) {
				missed++;
				continue;
			}
			untilNotified.add(notifications[notification] - releaseStart);
			notifiedToAcquired.add(acquires[next] - notifications[notification]);
		}
		StringBuilder text = new StringBuilder();
		text.append("  diagnostics (hand-off = release call start -> next acquire returns):\n");
		text.append("    release start -> notification reaches a client : ")
			.append(Percentiles.of(untilNotified.toArray()))
			.append('\n');
		text.append("    notification  -> next acquire returns         : ")
			.append(Percentiles.of(notifiedToAcquired.toArray()))
			.append('\n');
		text.append("    hand-offs whose next acquire returned before any notification: ").append(missed).append('\n');
		long sampleCount = Math.max(1, this.samples.get());
		text.append(String.format(Locale.ROOT, "    busy backends of the benchmark database (%d samples of pg_stat_activity):%n",
				sampleCount));
		synchronized (this.waitEvents) {
			long total = this.waitEvents.values().stream().mapToLong(Long::longValue).sum();
			text.append(String.format(Locale.ROOT, "      mean %.2f busy backends per sample%n", (double) total / sampleCount));
			this.waitEvents.entrySet()
				.stream()
				.sorted(Map.Entry.<String, Long>comparingByValue().reversed())
				.forEach((entry) -> text.append(String.format(Locale.ROOT, "      %-32s %5.1f%% of busy samples%n",
						entry.getKey(), 100.0 * entry.getValue() / Math.max(1, total))));
		}
		return text.toString();
	}

	private static int firstAfter(long[] sorted, long value) {
		int index = Arrays.binarySearch(sorted, value);
		if (index < 0) {
			return -index - 1;
		}
		while (index < sorted.length && sorted[index] <= value) {
			index++;
		}
		return index;
	}

}
