package io.leasehold.reliability.scenario;

import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Op;
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
 * Scenario 7: the lease database fails over to its streaming standby while three workers
 * contend for two locks. The workers' URL names both servers with
 * {@code targetServerType=primary}, so they reconnect to whichever accepts writes.
 * <ul>
 * <li>Synchronous standby: the primary is killed (-9) and the standby promoted. Every
 * acknowledged grant is on the new primary and tokens keep increasing.</li>
 * <li>Asynchronous standby with lag (its walsender stopped): grants acknowledged by the old
 * primary are missing on the new one and their tokens are handed out again: the documented
 * hazard of asynchronous replication, recorded, not asserted away.</li>
 * <li>Cancelled wait for synchronous replication (the standby's walsender stopped, so every
 * commit waits): the client cancels the wait, PostgreSQL only warns and keeps the commit; the
 * library must fail the acquire, hand out no lease, and undo the grant.</li>
 * </ul>
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FailoverTests {

	private static final Duration RUN = Duration.ofSeconds(9);

	private static final LockdbFaults.Section report = new LockdbFaults.Section("7. Failover to a standby",
			"Three workers (one @DistributedLock), two locks, wait 1 s, statement timeout 1 s, work 30-120 ms; the"
					+ " workers' lease URL names primary and standby (`targetServerType=primary`). The store is on a"
					+ " separate server.",
			"./mvnw -pl reliability-tests verify -Dtest=FailoverTests");

	@BeforeAll
	static void assumeServers() {
		PostgresServer.assumeStandbysAvailable();
	}

	@AfterAll
	static void writeReport() throws IOException {
		report.write();
	}

	@Test
	@Order(1)
	void synchronousStandbyKeepsEveryAcknowledgedGrant() throws Exception {
		try (PostgresServer primary = PostgresServer.builder("lockdb-sync").start();
				PostgresServer standby = primary.createStandby("lockdb_sync_standby", true)) {
			Failover failover = failover("failover-sync", primary, standby, false);
			Checker.Result r = failover.result();
			report.row("synchronous standby", "kill -9 of the primary, promote", r, failover.leftovers());
			report.note("Synchronous standby: " + failover.summary());

			assertThat(failover.acknowledged()).as("grants before the failover").isNotEmpty();
			assertThat(failover.grantsAfter()).as("grants after the failover").isPositive();
			assertThat(failover.missing())
				.as("acknowledged grants missing on the new primary: acknowledged %s, new primary %s",
						failover.acknowledged(), failover.onNewPrimary())
				.isZero();
			failover.firstAfter().forEach((lock, first) -> assertThat(first)
				.as("first token of %s on the new primary exceeds every acknowledged one", lock)
				.isGreaterThan(failover.acknowledged().getOrDefault(lock, 0L)));
			assertThat(failover.leftovers().none()).as("left behind: %s", failover.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	/**
	 * The hazard: what an asynchronous standby lagging behind does to tokens. Asserted is only
	 * that the fault took effect (acknowledged grants are missing on the new primary); the rest
	 * is recorded.
	 */
	@Test
	@Order(2)
	void asynchronousStandbyWithLagLosesGrantsAndReissuesTokens() throws Exception {
		try (PostgresServer primary = PostgresServer.builder("lockdb-async").start();
				PostgresServer standby = primary.createStandby("lockdb_async_standby", false)) {
			Failover failover = failover("failover-async", primary, standby, true);
			Checker.Result r = failover.result();
			report.row("asynchronous standby, lagging (hazard)", "walsender stopped, kill -9 of the primary, promote",
					r, failover.leftovers());
			report.note("Asynchronous standby with lag (the documented hazard): " + failover.summary()
					+ "; tokens granted again: " + r.tokensReissued() + ", pairs out of real-time order: "
					+ r.tokenOrderViolations() + "; lost updates in the fenced store: " + r.lostUpdates()
					+ ", stale writes accepted: " + r.staleWritesAccepted() + ", stale reads or writes rejected: "
					+ r.rejected());

			assertThat(failover.missing()).as("the lag took effect: acknowledged grants missing on the new primary")
				.isPositive();
			assertThat(failover.grantsAfter()).as("grants after the failover").isPositive();
		}
	}

	@Test
	@Order(3)
	void cancelledWaitForSynchronousReplicationHandsOutNoLease() throws Exception {
		// a lease longer than a cancelled acquire takes, so a grant left behind is still in force
		// when the table is read
		Duration lease = Duration.ofSeconds(6);
		Duration run = Duration.ofSeconds(7);
		try (PostgresServer primary = PostgresServer.builder("lockdb-cancel").start();
				PostgresServer standby = primary.createStandby("lockdb_cancel_standby", true)) {
			Databases databases = new Databases(primary.jdbcUrl("postgres"), SuiteServers.storedb().jdbcUrl("postgres"),
					PostgresServer.USER);
			try (ScenarioRun scenario = new ScenarioRun(databases, "failover-cancelled-wait", "c1", "c2")) {
				LockdbFaults.startWorkers(scenario, run, lease, "w1", "w2", "w3");
				scenario.workers().go(Duration.ofSeconds(60));
				LockdbFaults.awaitGrants(scenario, nowMicros(), 4, Duration.ofSeconds(20));
				standby.pauseReplication();
				long pausedAt = nowMicros();
				// the workers stop by themselves while the standby is still paused
				scenario.workers().awaitExit(run.plusSeconds(30));
				long exited = nowMicros();
				List<Event> events = scenario.workers().events();
				Set<String> acknowledged = LockdbFaults.grants(events, (e) -> true)
					.stream()
					.map((e) -> e.lock() + "/" + e.token())
					.collect(Collectors.toSet());
				Map<String, String> inForce = unexpiredLeases(primary);
				long leftInForce = inForce.entrySet()
					.stream()
					.filter((e) -> !acknowledged.contains(e.getKey() + "/" + e.getValue().split(" ")[0]))
					.count();
				standby.resumeReplication();

				Checker.Result r = scenario.check(CALL_BOUND, lease.plusSeconds(3));
				List<Op> ops = Op.join(events);
				long grantedWhilePaused = ops.stream()
					.filter((op) -> op.is("acquire", "ok") && op.invoked() > pausedAt && op.completed() < exited)
					.count();
				List<Op> failedWhilePaused = ops.stream()
					.filter((op) -> op.op().equals("acquire") && !op.outcome().equals("ok") && op.invoked() > pausedAt)
					.toList();
				long notReplicated = failedWhilePaused.stream()
					.filter((op) -> op.detail() != null && op.detail().contains("synchronous replication"))
					.count();
				report.row("synchronous standby, wait cancelled", "walsender stopped for the rest of the run", r,
						scenario.leftovers());
				report.note("Cancelled wait for synchronous replication (6 s lease): acquires invoked while the"
						+ " standby was stopped: " + failedWhilePaused.size() + " failed or ambiguous (" + notReplicated
						+ " reported not replicated), " + grantedWhilePaused + " granted; unacknowledged grants still"
						+ " in force in the primary's table after the workers stopped: " + leftInForce + " (table "
						+ inForce + "); longest call " + LockdbFaults.ms(r.maxCall()) + " ms against a bound of "
						+ CALL_BOUND.toMillis() + " ms");

				assertThat(failedWhilePaused).as("acquires tried while replication stood still").isNotEmpty();
				assertThat(notReplicated).as("acquires failed as not replicated (the fault took effect)").isPositive();
				assertThat(grantedWhilePaused).as("leases handed out while replication stood still").isZero();
				assertThat(r.callsOverBound()).as("calls over %s (longest %d us)", CALL_BOUND, r.maxCall()).isZero();
				assertThat(scenario.leftovers().none()).as("left behind: %s", scenario.leftovers()).isTrue();
				ContentionTests.assertSafe(r);
			}
		}
	}

	private record Failover(Checker.Result result, io.leasehold.reliability.check.Leftovers leftovers,
			Map<String, Long> acknowledged, Map<String, Long> firstAfter, LockdbFaults.LeaseState onNewPrimary,
			long missing, long grantsAfter, String summary) {
	}

	/**
	 * Workers on both servers; after some grants (and, when {@code lag}, more grants with the
	 * standby's walsender stopped) the primary is killed and the standby promoted.
	 */
	private Failover failover(String name, PostgresServer primary, PostgresServer standby, boolean lag)
			throws Exception {
		String url = "jdbc:postgresql://127.0.0.1:" + primary.port() + ",127.0.0.1:" + standby.port()
				+ "/postgres?user=" + PostgresServer.USER + "&targetServerType=primary&hostRecheckSeconds=1";
		Databases databases = new Databases(url, SuiteServers.storedb().jdbcUrl("postgres"), PostgresServer.USER);
		try (ScenarioRun run = new ScenarioRun(databases, name, "c1", "c2")) {
			LockdbFaults.startWorkers(run, RUN, "w1", "w2", "w3");
			run.workers().go(Duration.ofSeconds(60));
			LockdbFaults.awaitGrants(run, nowMicros(), 6, Duration.ofSeconds(20));
			if (lag) {
				standby.pauseReplication();
				// more grants than the 32 sequence values PostgreSQL logs ahead, so the promoted standby's
				// sequence falls behind the acknowledged tokens
				LockdbFaults.awaitGrants(run, nowMicros(), 40, Duration.ofSeconds(20));
			}
			long killedAt = nowMicros();
			primary.kill9();
			long killed = nowMicros();
			// what the new primary starts with, read before promotion lets workers write to it (read
			// after, their first grants could already reach the tokens the lag lost)
			standby.awaitReplayed();
			LockdbFaults.LeaseState onNewPrimary = LockdbFaults.LeaseState.read(standby);
			standby.promote();
			long promoted = nowMicros();
			LockdbFaults.awaitGrants(run, promoted, 6, Duration.ofSeconds(20));

			run.workers().awaitExit(RUN.plusSeconds(30));
			Checker.Result r = run.check(CALL_BOUND, LEASE.plusSeconds(3));
			List<Event> events = run.workers().events();
			Map<String, Long> acknowledged = LockdbFaults.highestAcknowledged(events, killed);
			Map<String, Long> firstAfter = LockdbFaults.lowestGranted(events, killed);
			long missing = onNewPrimary.missing(acknowledged);
			String summary = "primary killed in " + LockdbFaults.ms(killed - killedAt) + " ms, standby promoted in "
					+ LockdbFaults.ms(promoted - killed) + " ms; highest acknowledged tokens " + acknowledged
					+ ", on the standby when promoted " + onNewPrimary.tokens() + " (sequence at "
					+ onNewPrimary.sequenceLastValue() + "), acknowledged grants missing: " + missing
					+ "; first tokens after " + firstAfter + "; first grant per worker after promotion p50/p99/max "
					+ LockdbFaults.percentiles(LockdbFaults.recoveries(run, promoted)) + " ms ("
					+ LockdbFaults.neverRecovered(run, promoted) + " workers none)";
			return new Failover(r, run.leftovers(), acknowledged, firstAfter, onNewPrimary, missing,
					LockdbFaults.grants(events, (e) -> e.wall() > killed).size(), summary);
		}
	}

	/** Lock name to "token owner" of every lease in force by the server's clock, read straight from it. */
	private static Map<String, String> unexpiredLeases(PostgresServer server) throws Exception {
		Map<String, String> leases = new HashMap<>();
		try (Connection connection = server.connect("postgres"); Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery("SELECT lock_name, fencing_token, owner_id FROM leasehold_lock"
						+ " WHERE expires_at > clock_timestamp()")) {
			while (rows.next()) {
				leases.put(rows.getString(1), rows.getLong(2) + " " + rows.getString(3));
			}
		}
		return leases;
	}

}
