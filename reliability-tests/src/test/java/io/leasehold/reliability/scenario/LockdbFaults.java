package io.leasehold.reliability.scenario;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Leftovers;
import io.leasehold.reliability.WorkerApplication;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.WorkerProcess;
import io.leasehold.reliability.infra.PostgresServer;

/**
 * What scenarios 6-8 (faults of the lease database itself) share: the workers' settings, the
 * tokens acknowledged before a fault and granted after it, what the lease database holds right
 * after it recovered, and recovery times.
 */
final class LockdbFaults {

	/** Short lease, renewed every ~660 ms; the statement timeout bounds each lease statement. */
	static final Duration LEASE = Duration.ofSeconds(2);

	static final Duration WAIT = Duration.ofSeconds(1);

	static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(1);

	/**
	 * I7: the longest an acquire or release may take by the configuration: the wait time, plus
	 * the pool's timeout for a connection, plus the statement timeout, plus the 2 s after which the
	 * client cancels and then gives the connection up (LeaseStatementTimeouts).
	 */
	static final Duration CALL_BOUND = WAIT.plus(WorkerApplication.POOL_TIMEOUT).plus(STATEMENT_TIMEOUT).plusSeconds(2);

	private LockdbFaults() {
	}

	/** Starts a worker of the usual shape: w1 uses {@code @DistributedLock}, the others {@code LockManager}. */
	static void startWorkers(ScenarioRun run, Duration duration, String... ids) throws Exception {
		startWorkers(run, duration, LEASE, ids);
	}

	static void startWorkers(ScenarioRun run, Duration duration, Duration lease, String... ids) throws Exception {
		startWorkers(run, duration, lease, UnaryOperator.identity(), ids);
	}

	/** @param more further settings of every worker */
	static void startWorkers(ScenarioRun run, Duration duration, Duration lease,
			UnaryOperator<WorkerProcess.Builder> more, String... ids) throws Exception {
		for (String id : ids) {
			run.workers()
				.start(id, (w) -> more.apply(w).annotation(id.equals("w1"))
					.locks("c1", "c2")
					.leaseTime(lease)
					.autoRenew(true)
					.waitTime(WAIT)
					.set("leasehold.lock.statement-timeout", STATEMENT_TIMEOUT.toMillis() + "ms")
					.work(Duration.ofMillis(30), Duration.ofMillis(120))
					.duration(duration));
		}
	}

	static long nowMicros() {
		return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
	}

	/** Waits until the workers together have acquired at least {@code count} leases after {@code since}. */
	static void awaitGrants(ScenarioRun run, long since, int count, Duration timeout) throws InterruptedException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (grants(run.workers().events(), (e) -> e.wall() > since).size() < count) {
			if (System.nanoTime() - deadline > 0) {
				throw new AssertionError("fewer than " + count + " grants within " + timeout + " after the fault");
			}
			Thread.sleep(10);
		}
	}

	/** The acknowledged grants (ok acquire events) the condition accepts. */
	static List<Event> grants(List<Event> events, Predicate<Event> condition) {
		return events.stream().filter((e) -> e.is("ok", "acquire") && condition.test(e)).toList();
	}

	/** Highest acknowledged token per lock among the grants acknowledged up to {@code until}. */
	static Map<String, Long> highestAcknowledged(List<Event> events, long until) {
		Map<String, Long> highest = new HashMap<>();
		grants(events, (e) -> e.wall() <= until).forEach((e) -> highest.merge(e.lock(), e.token(), Math::max));
		return highest;
	}

	/** Lowest token per lock among the grants acknowledged after {@code after}. */
	static Map<String, Long> lowestGranted(List<Event> events, long after) {
		Map<String, Long> lowest = new HashMap<>();
		grants(events, (e) -> e.wall() > after).forEach((e) -> lowest.merge(e.lock(), e.token(), Math::min));
		return lowest;
	}

	/**
	 * The lease table (lock name to the highest token its row records: the holder's, or the
	 * successor's of a prepared hand-over) and the sequence's last value, read straight from the
	 * server.
	 */
	record LeaseState(Map<String, Long> tokens, long sequenceLastValue) {

		static LeaseState read(PostgresServer server) throws SQLException {
			Properties bounded = new Properties();
			bounded.setProperty("connectTimeout", "5");
			bounded.setProperty("socketTimeout", "10");
			Map<String, Long> tokens = new HashMap<>();
			try (Connection connection = java.sql.DriverManager.getConnection(server.jdbcUrl("postgres"), bounded);
					Statement statement = connection.createStatement()) {
				try (ResultSet rows = statement.executeQuery(
						"SELECT lock_name, greatest(fencing_token, successor_token) FROM leasehold_lock")) {
					while (rows.next()) {
						tokens.put(rows.getString(1), rows.getLong(2));
					}
				}
				try (ResultSet rows = statement.executeQuery("SELECT last_value FROM leasehold_fencing_token_seq")) {
					rows.next();
					return new LeaseState(tokens, rows.getLong(1));
				}
			}
		}

		/** Acknowledged grants whose token is neither in the table (or overtaken there) nor below the sequence. */
		long missing(Map<String, Long> acknowledged) {
			return acknowledged.entrySet()
				.stream()
				.filter((e) -> this.tokens.getOrDefault(e.getKey(), Long.MIN_VALUE) < e.getValue()
						|| this.sequenceLastValue < e.getValue())
				.count();
		}

	}

	/**
	 * Per worker, the time from {@code from} to its first grant after it (microseconds); a worker
	 * that got none is left out and counted by {@link #neverRecovered}.
	 */
	static List<Long> recoveries(ScenarioRun run, long from) {
		List<Long> times = new ArrayList<>();
		run.all().forEach((worker) -> grants(worker.events(), (e) -> e.wall() > from).stream()
			.map(Event::wall)
			.min(Comparator.naturalOrder())
			.ifPresent((first) -> times.add(first - from)));
		return times;
	}

	static long neverRecovered(ScenarioRun run, long from) {
		return run.all().size() - recoveries(run, from).size();
	}

	/** p50 / p99 / max in milliseconds. */
	static String percentiles(List<Long> micros) {
		if (micros.isEmpty()) {
			return "n/a";
		}
		List<Long> sorted = micros.stream().sorted().toList();
		return ms(at(sorted, 50)) + " / " + ms(at(sorted, 99)) + " / " + ms(sorted.get(sorted.size() - 1));
	}

	static long at(List<Long> sorted, double percentile) {
		int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
		return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
	}

	static String ms(long micros) {
		return String.format(Locale.ROOT, "%.0f", micros / 1000.0);
	}

	/**
	 * A scenario's rows and measured notes, collected over its runs and written as one
	 * {@link ScenarioReport} section, the notes after the description.
	 */
	static final class Section {

		private final String title;

		private final String description;

		private final String command;

		private final List<Object[]> rows = new ArrayList<>();

		private final List<String> notes = new ArrayList<>();

		Section(String title, String description, String command) {
			this.title = title;
			this.description = description;
			this.command = command;
		}

		synchronized void row(String run, String faults, Checker.Result r, Leftovers left) {
			this.rows.add(new Object[] { run, faults, r, left });
		}

		synchronized void note(String note) {
			this.notes.add(note);
		}

		synchronized void write() throws java.io.IOException {
			if (this.rows.isEmpty()) {
				return;
			}
			StringBuilder text = new StringBuilder(this.description);
			this.notes.forEach((note) -> text.append("\n\n- ").append(note));
			ScenarioReport report = new ScenarioReport(this.title, text.toString(), this.command);
			this.rows.forEach((row) -> report.row((String) row[0], (String) row[1], (Checker.Result) row[2],
					(Leftovers) row[3]));
			report.write();
		}

	}

}
