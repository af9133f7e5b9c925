package io.leasehold.reliability.scenario;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Leftovers;
import io.leasehold.reliability.check.Op;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.infra.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.leasehold.reliability.scenario.LockdbFaults.CALL_BOUND;
import static io.leasehold.reliability.scenario.LockdbFaults.LEASE;
import static io.leasehold.reliability.scenario.LockdbFaults.nowMicros;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 8: the lease database is frozen (SIGSTOP of the postmaster and every backend: the
 * connections stay open, nothing answers) for twice the lease while three workers contend for
 * two locks. Every acquire and release must return within its configured bound (I7: wait time
 * plus the pool's connection timeout plus statement timeout plus 2 s), and after the thaw each
 * lock has one holder at a time again and no update is lost.
 */
class FrozenDatabaseTests {

	private static final Duration RUN = Duration.ofSeconds(10);

	private static final Duration FREEZE = LEASE.multipliedBy(2);

	private static final LockdbFaults.Section report = new LockdbFaults.Section("8. PostgreSQL frozen (SIGSTOP)",
			"Three workers (one @DistributedLock), two locks, 2 s lease renewed every 660 ms, wait 1 s, statement"
					+ " timeout 1 s, pool connection timeout 1.5 s, work 30-120 ms. After at least 6 grants every process of the lease database"
					+ " gets SIGSTOP for 4 s (twice the lease), then SIGCONT. Bound on a call (I7): wait 1 s +"
					+ " pool 1.5 s + statement timeout 1 s + 2 s = " + CALL_BOUND.toMillis() + " ms.",
			"./mvnw -pl reliability-tests verify -Dtest=FrozenDatabaseTests");

	@BeforeAll
	static void assumeServers() {
		PostgresServer.assumeAvailable();
	}

	@AfterAll
	static void writeReport() throws IOException {
		report.write();
	}

	@Test
	void oneHolderPerLockAndNoLostUpdateAcrossAFreeze() throws Exception {
		Frozen frozen = run("frozen-lockdb");
		Checker.Result r = frozen.result();
		assertThat(frozen.inFlight()).as("calls caught by the freeze (the fault took effect)").isPositive();
		assertThat(frozen.unfinished()).as("calls that never returned").isZero();
		assertThat(frozen.grantedWhileFrozen()).as("leases granted while the database was frozen").isZero();
		assertThat(frozen.grantsAfterThaw()).as("grants after the thaw").isPositive();
		assertThat(r.overlaps()).as("I3 holders of one lock overlapping").isZero();
		assertThat(frozen.leftovers().none()).as("left behind: %s", frozen.leftovers()).isTrue();
		ContentionTests.assertSafe(r);
	}

	/**
	 * I7. Measured: calls caught by the freeze return only when the server thaws (4.1-4.2 s for
	 * a 4 s freeze, about 6 s for a 9 s freeze), not by the 3 s after which the client should give
	 * the connection up. Thread dumps taken during the freeze show why: the caller's
	 * {@code PgStatement.execute} has timed out but waits in {@code killTimerTask} for the
	 * connection lock, held while the watchdog's {@code cancel()} sends a cancel request to the
	 * frozen server (connect succeeds, the reply never comes); another caller waits in Hikari's
	 * {@code isValid()} check on borrow (validation timeout 5 s).
	 */
	@Test
	void everyCallReturnsWithinItsBoundWhileTheDatabaseIsFrozen() throws Exception {
		Frozen frozen = run("frozen-lockdb-bound");
		assertThat(frozen.inFlight()).as("calls caught by the freeze (the fault took effect)").isPositive();
		assertThat(frozen.result().callsOverBound()).as("I7 calls over %s; longest %d us", CALL_BOUND,
				frozen.result().maxCall())
			.isZero();
	}

	private record Frozen(Checker.Result result, Leftovers leftovers, long inFlight,
			long unfinished, long grantedWhileFrozen, long grantsAfterThaw) {
	}

	private Frozen run(String name) throws Exception {
		try (PostgresServer lockdb = PostgresServer.builder("lockdb-frozen").start();
				ScenarioRun run = new ScenarioRun(SuiteServers.of(lockdb, SuiteServers.storedb()), name, "c1", "c2")) {
			LockdbFaults.startWorkers(run, RUN, "w1", "w2", "w3");
			run.workers().go(Duration.ofSeconds(60));
			LockdbFaults.awaitGrants(run, nowMicros(), 6, Duration.ofSeconds(20));
			long frozenAt = nowMicros();
			lockdb.freeze();
			long frozen = nowMicros();
			Thread.sleep(FREEZE.toMillis()); // the fault's duration, not a wait for something to happen
			long thawing = nowMicros(); // processes resume one by one from here on
			lockdb.thaw();
			long thawed = nowMicros();
			LockdbFaults.awaitGrants(run, thawed, 6, Duration.ofSeconds(20));

			run.workers().awaitExit(RUN.plusSeconds(30));
			Checker.Result r = run.check(CALL_BOUND, LEASE.plusSeconds(3));
			List<Op> duringFreeze = Op.join(run.workers().events())
				.stream()
				.filter((op) -> (op.op().equals("acquire") || op.op().equals("release")) && op.invoked() < thawed
						&& (op.completed() == null || op.completed() > frozen))
				.toList();
			long longestDuringFreeze = duringFreeze.stream()
				.filter((op) -> op.completed() != null)
				.mapToLong((op) -> op.completed() - op.invoked())
				.max()
				.orElse(0);
			long unfinished = duringFreeze.stream().filter((op) -> op.completed() == null).count();
			long grantedDuringFreeze = duringFreeze.stream()
				.filter((op) -> op.is("acquire", "ok") && op.invoked() > frozen && op.completed() < thawing)
				.count();
			report.row(name.equals("frozen-lockdb") ? "fenced, renewal on" : "fenced, renewal on (I7 rerun)",
					"lockdb SIGSTOP for 4 s", r, run.leftovers());
			report.note("Frozen " + LockdbFaults.ms(thawed - frozenAt) + " ms. Acquires and releases in flight"
					+ " during the freeze: " + duringFreeze.size() + " (" + unfinished + " never returned), longest "
					+ LockdbFaults.ms(longestDuringFreeze) + " ms against a bound of " + CALL_BOUND.toMillis()
					+ " ms; granted while frozen: " + grantedDuringFreeze + "; holders that found their lease lost: "
					+ r.leaseLostReported() + "; first grant per worker after the thaw p50/p99/max "
					+ LockdbFaults.percentiles(LockdbFaults.recoveries(run, thawed)) + " ms ("
					+ LockdbFaults.neverRecovered(run, thawed) + " workers none)");

			return new Frozen(r, run.leftovers(), duringFreeze.size(), unfinished, grantedDuringFreeze,
					LockdbFaults.grants(run.workers().events(), (e) -> e.wall() > thawed).size());
		}
	}

}
