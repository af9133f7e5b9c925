package io.leasehold.reliability.scenario;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import io.leasehold.reliability.WorkerApplication;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.Workers;
import io.leasehold.reliability.infra.FaultyProxy;

/**
 * Shared pieces of the scenarios that put a {@link FaultyProxy} between one worker and lockdb:
 * markers that pick the library's lease statements out of the traffic, the worker settings
 * that route every lease connection (pool and listener) through the proxy, and queries of the
 * lease table as the controller sees it.
 */
final class NetFaults {

	/** Text of the acquire statement only (PostgresLeaseStore): the hand-over locks a live lease instead. */
	static final String ACQUIRE = "AND expires_at <= clock_timestamp()";

	/**
	 * Text of the hand-over statement, and of the confirmation of a prepared hand-over: both take
	 * the waiters' registration over. (A worker whose hand-overs are prepared sends hand-over
	 * statements only when a hand-over could not be prepared.)
	 */
	static final String HAND_OVER = "waiters_until = NULL";

	/** Text of the confirmation of a prepared hand-over only. */
	static final String CONFIRM = "AS confirmed";

	/** Text of the renew statement only: the acquire sets expires_at after other columns. */
	static final String RENEW = "SET expires_at = clock_timestamp() +";

	/** Text of the release statement only (with or without the notification). */
	static final String RELEASE = "SET expires_at = greatest(";

	/**
	 * A lease statement with {@code statement-timeout} 1 s: the client cancels it after 2 s and
	 * gives its connection up after 3 s; 0.5 s slack.
	 */
	static final Duration STATEMENT_BOUND = Duration.ofMillis(3500);

	/**
	 * I7: a lease call, {@code close()} included, may also wait the pool's connection timeout for
	 * a connection while the lease database cannot be reached; it does not wait for a renewal in
	 * flight.
	 */
	static final Duration CALL_BOUND = STATEMENT_BOUND.plus(WorkerApplication.POOL_TIMEOUT);

	private static final Pattern PORT = Pattern.compile("^jdbc:postgresql://[^:/]+:(\\d+)/");

	private NetFaults() {
	}

	/**
	 * Starts three workers on lock c1 with a 1 s statement timeout and renewal on: w1 with
	 * {@code @DistributedLock}, w2 and w3 with {@code LockManager}. w2 contends without pause and
	 * its lease connections go through {@code proxy}; the others idle 500 ms between iterations.
	 * @param w2Threads how many threads of w2 run iterations
	 */
	static void startWorkersWithW2ThroughProxy(ScenarioRun run, FaultyProxy proxy, Duration lease, Duration workMin,
			Duration workMax, int w2Threads) throws IOException {
		startWorkersWithW2ThroughProxy(run, proxy, lease, workMin, workMax, w2Threads, Map.of());
	}

	/** As above, with {@code w2Properties} set on w2 as well. */
	static void startWorkersWithW2ThroughProxy(ScenarioRun run, FaultyProxy proxy, Duration lease, Duration workMin,
			Duration workMax, int w2Threads, Map<String, String> w2Properties) throws IOException {
		for (String id : new String[] { "w1", "w2", "w3" }) {
			run.workers().start(id, (w) -> {
				w.annotation(id.equals("w1"))
					.threads(id.equals("w2") ? w2Threads : 1)
					.locks("c1")
					.leaseTime(lease)
					.autoRenew(true)
					.waitTime(Duration.ofSeconds(1))
					.work(workMin, workMax)
					.idle(id.equals("w2") ? Duration.ZERO : Duration.ofMillis(500))
					.duration(Duration.ofSeconds(60))
					.set("leasehold.lock.statement-timeout", "1s");
				if (id.equals("w2")) {
					w2Properties.forEach(w::set);
					return w.set("spring.datasource.url", lockUrlThrough(proxy));
				}
				return w;
			});
		}
	}

	/** A proxy in front of the scenario's lockdb server. */
	static FaultyProxy proxyToLockdb(Databases databases) {
		Matcher port = PORT.matcher(databases.lockUrl());
		if (!port.find()) {
			throw new IllegalStateException("No port in " + databases.lockUrl());
		}
		return new FaultyProxy(Integer.parseInt(port.group(1)));
	}

	/**
	 * The lease DataSource URL through the proxy. {@code prepareThreshold=0} keeps the driver
	 * from switching to named server-side statements after five runs, which would send the SQL
	 * text (and with it the markers) only once per connection.
	 */
	static String lockUrlThrough(FaultyProxy proxy) {
		return proxy.jdbcUrl("postgres") + "&prepareThreshold=0";
	}

	static long nowMicros() {
		return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
	}

	/** A lease row as lockdb has it now. */
	record Row(String owner, long token, Instant acquiredAt, Instant expiresAt, Instant observedAt) {

		boolean live() {
			return this.expiresAt.isAfter(this.observedAt);
		}

	}

	static Optional<Row> row(DataSource lockdb, String lock) throws SQLException {
		try (Connection connection = lockdb.getConnection();
				PreparedStatement statement = connection.prepareStatement("SELECT owner_id, fencing_token, acquired_at,"
						+ " expires_at, clock_timestamp() FROM leasehold_lock WHERE lock_name = ?")) {
			statement.setString(1, lock);
			try (ResultSet rows = statement.executeQuery()) {
				if (!rows.next()) {
					return Optional.empty();
				}
				return Optional.of(new Row(rows.getString(1), rows.getLong(2), instant(rows, 3), instant(rows, 4),
						instant(rows, 5)));
			}
		}
	}

	private static Instant instant(ResultSet rows, int column) throws SQLException {
		return rows.getObject(column, java.time.OffsetDateTime.class).toInstant();
	}

	/**
	 * Waits for the server to grant the lock to {@code owner} with a token above {@code above};
	 * empty when it does not within the timeout (the statement found the lock busy).
	 */
	static Optional<Row> awaitGrant(DataSource lockdb, String lock, String owner, long above, Duration timeout)
			throws SQLException, InterruptedException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (System.nanoTime() - deadline < 0) {
			Optional<Row> row = row(lockdb, lock);
			if (row.isPresent() && row.get().owner().equals(owner) && row.get().token() > above) {
				return row;
			}
			Thread.sleep(5);
		}
		return Optional.empty();
	}

	/** Highest token lockdb has granted for the lock so far (0 when none). */
	static long currentToken(DataSource lockdb, String lock) throws SQLException {
		return row(lockdb, lock).map(Row::token).orElse(0L);
	}

	/** The first grant of the lock to a worker other than {@code worker} that completed after {@code afterWall}. */
	static Optional<Event> nextGrantElsewhere(List<Event> events, String worker, long afterWall) {
		return events.stream()
			.filter((e) -> e.is("ok", "acquire") && !e.worker().equals(worker) && e.wall() > afterWall)
			.min(Comparator.comparingLong(Event::wall));
	}

	/** Waits for {@link #nextGrantElsewhere}; fails when none comes within the timeout. */
	static Event awaitGrantElsewhere(Workers workers, String worker, long afterWall, Duration timeout)
			throws InterruptedException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (System.nanoTime() - deadline < 0) {
			Optional<Event> next = nextGrantElsewhere(workers.events(), worker, afterWall);
			if (next.isPresent()) {
				return next.get();
			}
			Thread.sleep(5);
		}
		throw new AssertionError("No worker other than " + worker + " acquired within " + timeout);
	}

	static String ms(long micros) {
		return String.format(java.util.Locale.ROOT, "%.0f", micros / 1000.0);
	}

}
