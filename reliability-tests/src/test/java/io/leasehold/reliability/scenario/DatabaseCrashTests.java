package io.leasehold.reliability.scenario;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.infra.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static io.leasehold.reliability.scenario.LockdbFaults.CALL_BOUND;
import static io.leasehold.reliability.scenario.LockdbFaults.LEASE;
import static io.leasehold.reliability.scenario.LockdbFaults.nowMicros;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 6: the lease database is killed (SIGKILL of the postmaster and every backend) while
 * three workers contend for two locks, and restarted on the same data directory. Every grant a
 * worker was told about must survive the crash, the first token granted after the restart must
 * exceed every acknowledged one, and the store loses no update.
 *
 * <p>Run twice: with the server's {@code synchronous_commit=on}, and with {@code off}, where
 * PostgreSQL may lose the last acknowledged commits in a crash. The library sets
 * {@code synchronous_commit = on} for each lease statement itself (DESIGN.md 3.11), so the
 * same invariants are asserted; a control row the controller commits with the server's default
 * just before the kill shows whether the setting lost anything.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DatabaseCrashTests {

	private static final Duration RUN = Duration.ofSeconds(8);

	private static final String PREPARED_ROWS = "SELECT count(*) FROM leasehold_lock WHERE successor_token > fencing_token";

	private static final LockdbFaults.Section report = new LockdbFaults.Section("6. PostgreSQL killed (-9) and restarted",
			"Three workers (one @DistributedLock), two locks, 2 s lease renewed every 660 ms, wait 1 s, statement"
					+ " timeout 1 s, work 30-120 ms. After at least 8 grants the lease database's postmaster and"
					+ " every backend get SIGKILL; it is restarted at once on the same data directory (crash"
					+ " recovery). The store is on a separate server. The third run gives each worker two threads,"
					+ " so that hand-overs between them are prepared (the default), with the WAL writer slowed to"
					+ " 10 s so that the crash can lose whatever commits without its flush.",
			"./mvnw -pl reliability-tests verify -Dtest=DatabaseCrashTests");

	@BeforeAll
	static void assumeServers() {
		PostgresServer.assumeAvailable();
	}

	@AfterAll
	static void writeReport() throws IOException {
		report.write();
	}

	@Test
	@Order(1)
	void acknowledgedGrantsSurviveACrash() throws Exception {
		Crash crash = run("crash-sync-on", true, false);
		assertSafeAcrossCrash(crash);
	}

	/**
	 * The server's {@code synchronous_commit=off}: the library's own {@code SET LOCAL
	 * synchronous_commit = on} must keep every acknowledged grant anyway.
	 */
	@Test
	@Order(2)
	void acknowledgedGrantsSurviveACrashWithServerSynchronousCommitOff() throws Exception {
		Crash crash = run("crash-sync-off", false, false);
		assertSafeAcrossCrash(crash);
	}

	/**
	 * Two threads per worker: hand-overs between a worker's threads are prepared, so a successor
	 * holds the lock before the row names it, as the successor of the lease it follows; the WAL
	 * writer is slowed so a crash loses whatever did not wait for its flush. Every acknowledged
	 * grant is still in the row after the restart, as holder or as prepared successor, and no
	 * token is handed out twice or out of order, no update is lost, and no two holders overlap.
	 */
	@Test
	@Order(3)
	void preparedHandOversStaySafeAcrossACrash() throws Exception {
		Crash crash = run("crash-prepared-hand-overs", true, true);
		assertThat(crash.successorTokensDrawn()).as("locks whose next token was drawn ahead").isPositive();
		assertSafeAcrossCrash(crash);
		assertThat(crash.result().overlaps()).as("I3 overlapping holders").isZero();
	}

	private record Crash(Checker.Result result, Map<String, Long> acknowledged, Map<String, Long> firstAfter,
			LockdbFaults.LeaseState afterRestart, long missing, long grantsAfter, boolean controlRowKept,
			long successorTokensDrawn) {
	}

	private Crash run(String name, boolean synchronousCommit, boolean twoThreadsEach) throws Exception {
		try (PostgresServer lockdb = PostgresServer.builder("lockdb-" + name)
			.synchronousCommit(synchronousCommit)
			// commits that skip their flush are flushed by this writer: make the window of loss wide
			.setting("wal_writer_delay", (synchronousCommit && !twoThreadsEach) ? "'200ms'" : "'10s'")
			.start()) {
			Databases databases = SuiteServers.of(lockdb, SuiteServers.storedb());
			lockdb.execute("postgres", "CREATE TABLE crash_control (id int)");
			try (ScenarioRun run = new ScenarioRun(databases, name, "c1", "c2")) {
				LockdbFaults.startWorkers(run, RUN, LEASE,
						twoThreadsEach ? (w) -> w.threads(2) : UnaryOperator.identity(),
						"w1", "w2", "w3");
				run.workers().go(Duration.ofSeconds(60));
				long started = nowMicros();
				LockdbFaults.awaitGrants(run, started, 8, Duration.ofSeconds(20));
				// a lock whose row records its next holder: a hand-over under way is prepared
				long successorTokensDrawn = twoThreadsEach ? awaitPositive(lockdb, PREPARED_ROWS, Duration.ofSeconds(10))
						: count(lockdb, PREPARED_ROWS);

				lockdb.execute("postgres", "INSERT INTO crash_control VALUES (1)");
				long killedAt = nowMicros();
				lockdb.kill9();
				long killed = nowMicros();
				lockdb.start();
				long restarted = nowMicros();
				LockdbFaults.LeaseState afterRestart = LockdbFaults.LeaseState.read(lockdb);
				boolean controlRowKept = count(lockdb, "SELECT count(*) FROM crash_control") > 0;
				LockdbFaults.awaitGrants(run, restarted, 6, Duration.ofSeconds(20));

				run.workers().awaitExit(RUN.plusSeconds(30));
				Checker.Result r = run.check(CALL_BOUND, LEASE.plusSeconds(3));
				List<Event> events = run.workers().events();
				Map<String, Long> acknowledged = LockdbFaults.highestAcknowledged(events, killed);
				Map<String, Long> firstAfter = LockdbFaults.lowestGranted(events, killed);
				long missing = afterRestart.missing(acknowledged);
				List<Long> recoveries = LockdbFaults.recoveries(run, restarted);
				String label = "server synchronous_commit=" + (synchronousCommit ? "on" : "off")
						+ (twoThreadsEach ? ", two threads per worker, prepared hand-overs" : "");
				report.row(label, "kill -9 of lockdb, restart", r, run.leftovers());
				report.note(new StringBuilder(label).append(": down ")
					.append(LockdbFaults.ms(restarted - killedAt))
					.append(" ms (kill ")
					.append(LockdbFaults.ms(killed - killedAt))
					.append(" ms); highest acknowledged tokens before the kill ")
					.append(acknowledged)
					.append(", in the table right after the restart ")
					.append(afterRestart.tokens())
					.append(" (sequence at ")
					.append(afterRestart.sequenceLastValue())
					.append("), acknowledged grants missing: ")
					.append(missing)
					.append("; first tokens after ")
					.append(firstAfter)
					.append("; control row committed with the server default just before the kill ")
					.append(controlRowKept ? "kept" : "LOST")
					.append("; first grant per worker after the restart p50/p99/max ")
					.append(LockdbFaults.percentiles(recoveries))
					.append(" ms (")
					.append(LockdbFaults.neverRecovered(run, restarted))
					.append(" workers none)")
					.toString());
				assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
				return new Crash(r, acknowledged, firstAfter, afterRestart, missing,
						LockdbFaults.grants(events, (e) -> e.wall() > killed).size(), controlRowKept,
						successorTokensDrawn);
			}
		}
	}

	private static void assertSafeAcrossCrash(Crash crash) {
		assertThat(crash.acknowledged()).as("grants before the kill").isNotEmpty();
		assertThat(crash.grantsAfter()).as("grants after the restart").isPositive();
		assertThat(crash.missing()).as("acknowledged grants missing after the restart: acknowledged %s, table %s",
				crash.acknowledged(), crash.afterRestart())
			.isZero();
		crash.firstAfter().forEach((lock, first) -> assertThat(first)
			.as("first token of %s after the restart exceeds every acknowledged one", lock)
			.isGreaterThan(crash.acknowledged().getOrDefault(lock, 0L)));
		ContentionTests.assertSafe(crash.result());
	}

	/** Polls the count every 10 ms until it is positive, at most {@code timeout}; answers the last count. */
	private static long awaitPositive(PostgresServer server, String sql, Duration timeout) throws Exception {
		long deadline = System.nanoTime() + timeout.toNanos();
		long count = count(server, sql);
		while (count == 0 && System.nanoTime() - deadline < 0) {
			Thread.sleep(10);
			count = count(server, sql);
		}
		return count;
	}

	private static long count(PostgresServer server, String sql) throws Exception {
		try (var connection = server.connect("postgres"); var statement = connection.createStatement();
				var rows = statement.executeQuery(sql)) {
			rows.next();
			return rows.getLong(1);
		}
	}

}
