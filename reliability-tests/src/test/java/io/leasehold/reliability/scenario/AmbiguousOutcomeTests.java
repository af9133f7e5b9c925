package io.leasehold.reliability.scenario;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.sql.DataSource;

import io.leasehold.reliability.WorkerSettings;
import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.check.Op;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.WorkerProcess;
import io.leasehold.reliability.infra.FaultyProxy;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 5: the outcome of a lease statement is ambiguous to its sender. w2's lease
 * connections run through a {@link FaultyProxy} that, on the text of one of the library's
 * statements, lets it through and drops every reply until healed: the statement commits, its
 * sender never learns it. In turn: an acquire that the server granted (a phantom holder the
 * client does not know of), a renewal, a release; then a release held back in a blackhole and
 * delivered after another worker took the lock over. No phantom outlives its lease (another
 * worker acquires within lease + margin), the late release does not free the new holder's lease,
 * and the store loses nothing. Then, with w2 on two threads, a hand-over from one thread to the
 * other whose reply is lost: the same holds for the lease it granted.
 */
class AmbiguousOutcomeTests {

	private static final Duration LEASE = Duration.ofSeconds(1);

	private static final Duration MARGIN = Duration.ofMillis(500);

	private static final String LOCK = WorkerSettings.lockName("c1");

	private final Databases databases = SuiteServers.shared();

	@Test
	void committedButUnacknowledgedStatementsLeaveNoPhantomHolder() throws Exception {
		run();
	}

	private void run() throws Exception {
		DataSource lockdb = this.databases.lockDataSource();
		try (FaultyProxy proxy = NetFaults.proxyToLockdb(this.databases);
				ScenarioRun run = new ScenarioRun(this.databases, "ambiguous-outcome", "c1")) {
			NetFaults.startWorkersWithW2ThroughProxy(run, proxy, LEASE, Duration.ofMillis(300), Duration.ofMillis(500),
					1);
			run.workers().go(Duration.ofSeconds(60));
			WorkerProcess w2 = run.workers().get("w2");
			List<String> figures = new ArrayList<>();

			// 1. a granted acquire whose reply is lost: a phantom holder
			NetFaults.Row phantom = null;
			Fault acquireFault = null;
			int busyTries = 0;
			while (phantom == null) {
				assertThat(busyTries).as("w2 sent a granted acquire within 30 tries").isLessThan(30);
				proxy.dropRepliesWhenClientSends(NetFaults.ACQUIRE);
				assertThat(proxy.awaitTriggered(Duration.ofSeconds(20))).as("w2 sent an acquire").isTrue();
				acquireFault = run.fault("w2", Fault.Kind.NETWORK);
				phantom = phantomGrant(lockdb, w2, Duration.ofMillis(300)).orElse(null);
				if (phantom == null) { // the lock was busy: nothing granted, try the next acquire
					busyTries++;
					proxy.heal(); // closes the connection that lost its reply
					awaitOutcome(w2, "acquire", acquireFault.wall(), NetFaults.STATEMENT_BOUND.plusSeconds(1));
				}
			}
			Event phantomTakeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", acquireFault.wall(),
					LEASE.plusSeconds(5));
			Event acquireOutcome = awaitOutcome(w2, "acquire", acquireFault.wall(), NetFaults.STATEMENT_BOUND.plusSeconds(1));
			proxy.heal();
			long acquireTakeover = phantomTakeover.wall() - acquireFault.wall();
			figures.add(busyTries + " acquires that found the lock busy (reply dropped, connection then closed); a"
					+ " granted acquire (token " + phantom.token() + "), reply dropped: w2 saw "
					+ acquireOutcome.type() + " after " + NetFaults.ms(acquireOutcome.wall() - acquireFault.wall())
					+ " ms, w" + phantomTakeover.worker().substring(1) + " acquired (token " + phantomTakeover.token()
					+ ") " + NetFaults.ms(acquireTakeover) + " ms after the grant");
			assertThat(acquireOutcome.type()).as("w2 was not told it holds the phantom lease").isNotEqualTo("ok");
			assertThat(phantomTakeover.token()).as("the takeover's token is above the phantom's")
				.isGreaterThan(phantom.token());
			assertThat(acquireTakeover).as("I5 the phantom holder does not outlive its lease")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);

			// 2. a renewal whose reply is lost
			proxy.dropRepliesWhenClientSends(NetFaults.RENEW);
			assertThat(proxy.awaitTriggered(Duration.ofSeconds(20))).as("w2 renewed").isTrue();
			Fault renewFault = run.fault("w2", Fault.Kind.NETWORK);
			long renewedToken = lastAcquired(w2, renewFault.wall());
			Event renewTakeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", renewFault.wall(),
					LEASE.plusSeconds(5));
			Thread.sleep(NetFaults.STATEMENT_BOUND.toMillis()); // the fault's length: a call in flight has given up by then
			proxy.heal();
			Event renewRelease = w2.awaitEvent((e) -> e.op().equals("release") && !e.type().equals("invoke")
					&& e.token() == renewedToken, Duration.ofSeconds(40));
			long renewReleaseMicros = callMicros(w2, renewRelease);
			long renewTakeoverMicros = renewTakeover.wall() - renewFault.wall();
			figures.add("a renewal of token " + renewedToken + ", replies dropped for 3.5 s: w"
					+ renewTakeover.worker().substring(1) + " acquired " + NetFaults.ms(renewTakeoverMicros)
					+ " ms after the renewal; w2's close() took " + NetFaults.ms(renewReleaseMicros) + " ms");
			assertThat(renewTakeoverMicros).as("I5 takeover after a renewal with a lost reply")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);

			// 3. a release whose reply is lost
			proxy.dropRepliesWhenClientSends(NetFaults.RELEASE);
			assertThat(proxy.awaitTriggered(Duration.ofSeconds(20))).as("w2 released").isTrue();
			Fault releaseFault = run.fault("w2", Fault.Kind.NETWORK);
			Event releaseTakeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", releaseFault.wall(),
					LEASE.plusSeconds(5));
			Event releaseOutcome = awaitOutcome(w2, "release", releaseFault.wall(), NetFaults.STATEMENT_BOUND.plusSeconds(1));
			proxy.heal();
			long releaseTakeoverMicros = releaseTakeover.wall() - releaseFault.wall();
			figures.add("release of token " + releaseOutcome.token() + ", reply dropped: w2's close() returned ("
					+ releaseOutcome.type() + ") after " + NetFaults.ms(releaseOutcome.wall() - releaseFault.wall())
					+ " ms, w" + releaseTakeover.worker().substring(1) + " acquired "
					+ NetFaults.ms(releaseTakeoverMicros) + " ms after the release was sent");
			assertThat(releaseTakeoverMicros).as("I5 takeover after a release with a lost reply")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);

			// 4. a release held back until another worker holds the lock, then delivered
			proxy.switchWhenClientSends(NetFaults.RELEASE, FaultyProxy.Mode.BLACKHOLE);
			assertThat(proxy.awaitTriggered(Duration.ofSeconds(20))).as("w2 released").isTrue();
			Fault lateFault = run.fault("w2", Fault.Kind.NETWORK);
			Event newHolder = NetFaults.awaitGrantElsewhere(run.workers(), "w2", lateFault.wall(), LEASE.plusSeconds(5));
			proxy.heal();
			Event lateOutcome = awaitOutcome(w2, "release", lateFault.wall(), NetFaults.STATEMENT_BOUND.plusSeconds(1));
			NetFaults.Row afterLate = NetFaults.row(lockdb, LOCK).orElseThrow();
			figures.add("release of token " + lateOutcome.token() + " held back "
					+ NetFaults.ms(NetFaults.nowMicros() - lateFault.wall()) + " ms, delivered while w"
					+ newHolder.worker().substring(1) + " held token " + newHolder.token() + ": the row then had token "
					+ afterLate.token() + ", " + (afterLate.live() ? "live" : "expired"));
			boolean newHolderReleased = run.workers()
				.get(newHolder.worker())
				.events()
				.stream()
				.anyMatch((e) -> e.is("invoke", "release") && e.token() == newHolder.token()
						&& e.wall() < lateOutcome.wall());
			if (!newHolderReleased) {
				assertThat(afterLate.token()).as("the late release left the new holder's row").isEqualTo(newHolder.token());
				assertThat(afterLate.live()).as("the late release did not end the new holder's lease: %s", afterLate)
					.isTrue();
			}

			Checker.Result r = stopAndCheck(run);
			new ScenarioReport("5. Ambiguous outcome: committed, reply lost",
					"Three workers, one lock, 1 s lease renewed every 330 ms, statement timeout 1 s, work 300-500 ms."
							+ " w2's lease connections run through a TCP proxy which, on the text of a lease statement,"
							+ " forwards it and then drops every reply until healed. Ambiguous statements, in order: "
							+ String.join("; ", figures) + ". The workers then get SIGTERM. Renewals are not"
							+ " operations of the history, and the library's close() reports a release whose reply"
							+ " was lost as done, so the history's ambiguous count shows only the acquire.",
					"./mvnw -pl reliability-tests verify -Dtest=AmbiguousOutcomeTests")
				.row("fenced, renewal on", "lost replies to a granted acquire, a renewal, a release; a late release",
						r, run.leftovers())
				.write();

			assertThat(r.ambiguous()).as("the phantom acquire is recorded as ambiguous").isPositive();
			assertThat(r.overlaps()).as("I3 no two holders at once").isZero();
			// I7, the close() during the lost renewal included
			assertThat(Op.join(run.workers().events())
				.stream()
				.filter((op) -> (op.op().equals("acquire") || op.op().equals("release")) && op.completed() != null)
				.filter((op) -> op.completed() - op.invoked() > NetFaults.CALL_BOUND.toNanos() / 1000)
				.toList()).as("I7 calls over %s", NetFaults.CALL_BOUND).isEmpty();
			assertThat(renewReleaseMicros).as("I7 close() while a renewal's reply is lost")
				.isLessThanOrEqualTo(NetFaults.CALL_BOUND.toNanos() / 1000);
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	/**
	 * w2 runs two threads, so its releases hand the lock over from one to the other, each in a
	 * hand-over statement (prepared hand-overs, which send none, are off); the reply to one
	 * hand-over is lost. Its thread gives up on the statement within the bound and w2 never learns
	 * the token it granted; another worker takes over once that lease runs out.
	 */
	@Test
	void handOverWhoseReplyIsLostLeavesNoPhantomHolder() throws Exception {
		DataSource lockdb = this.databases.lockDataSource();
		try (FaultyProxy proxy = NetFaults.proxyToLockdb(this.databases);
				ScenarioRun run = new ScenarioRun(this.databases, "ambiguous-hand-over", "c1")) {
			NetFaults.startWorkersWithW2ThroughProxy(run, proxy, LEASE, Duration.ofMillis(100), Duration.ofMillis(200),
					2, Map.of("leasehold.lock.notify.prepare-hand-overs", "false"));
			run.workers().go(Duration.ofSeconds(60));
			WorkerProcess w2 = run.workers().get("w2");
			proxy.dropRepliesWhenClientSends(NetFaults.HAND_OVER);
			assertThat(proxy.awaitTriggered(Duration.ofSeconds(30))).as("w2 handed the lock over").isTrue();
			Fault fault = run.fault("w2", Fault.Kind.NETWORK);
			NetFaults.Row phantom = phantomGrant(lockdb, w2, Duration.ofMillis(500)).orElseThrow(
					() -> new AssertionError("the hand-over granted w2 a lease it was not told of"));
			Event takeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", fault.wall(), LEASE.plusSeconds(5));
			Event releaseOutcome = awaitOutcome(w2, "release", fault.wall(), NetFaults.CALL_BOUND.plusSeconds(1));
			proxy.heal();
			long takeoverMicros = takeover.wall() - fault.wall();
			Checker.Result r = stopAndCheck(run);
			new ScenarioReport("5b. Ambiguous outcome of a hand-over",
					"As above, w2 on two threads, work 100-200 ms, hand-overs not prepared"
							+ " (prepare-hand-overs=false), so each is a statement. w2's release of token " + releaseOutcome.token()
							+ " handed the lock over to its other thread (token " + phantom.token() + "), reply dropped:"
							+ " close() returned (" + releaseOutcome.type() + ") after "
							+ NetFaults.ms(releaseOutcome.wall() - fault.wall()) + " ms, w"
							+ takeover.worker().substring(1) + " acquired (token " + takeover.token() + ") "
							+ NetFaults.ms(takeoverMicros) + " ms after the hand-over was sent.",
					"./mvnw -pl reliability-tests verify -Dtest=AmbiguousOutcomeTests")
				.row("fenced, renewal on", "lost reply to a hand-over", r, run.leftovers())
				.write();
			assertThat(takeover.token()).as("the takeover's token is above the phantom's").isGreaterThan(phantom.token());
			assertThat(takeoverMicros).as("I5 the phantom holder does not outlive its lease")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);
			assertThat(r.overlaps()).as("I3 no two holders at once").isZero();
			assertThat(r.callsOverBound()).as("I7 calls over %s", NetFaults.CALL_BOUND).isZero();
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	/**
	 * w2 runs two threads with prepared hand-overs (the default): the lock passes from one to the
	 * other with no statement, and the successor confirms the hand-over in the background. The
	 * reply to one confirmation is lost, after it committed. The successor's release waits for the
	 * confirmation at most until its lease's local deadline, then releases its token; another
	 * worker gets the lock within the lease time, and no two holders overlap.
	 */
	@Test
	void confirmationWhoseReplyIsLostLeavesNoPhantomHolder() throws Exception {
		DataSource lockdb = this.databases.lockDataSource();
		try (FaultyProxy proxy = NetFaults.proxyToLockdb(this.databases);
				ScenarioRun run = new ScenarioRun(this.databases, "ambiguous-confirmation", "c1")) {
			NetFaults.startWorkersWithW2ThroughProxy(run, proxy, LEASE, Duration.ofMillis(100), Duration.ofMillis(200),
					2);
			run.workers().go(Duration.ofSeconds(60));
			WorkerProcess w2 = run.workers().get("w2");
			proxy.dropRepliesWhenClientSends(NetFaults.CONFIRM);
			assertThat(proxy.awaitTriggered(Duration.ofSeconds(30))).as("w2 confirmed a hand-over").isTrue();
			Fault fault = run.fault("w2", Fault.Kind.NETWORK);
			NetFaults.Row confirmed = NetFaults.row(lockdb, LOCK).orElseThrow();
			assertThat(confirmed.owner()).as("the confirmation committed: the row names w2's successor").isEqualTo("w2");
			Event takeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", fault.wall(), LEASE.plusSeconds(5));
			Event releaseOutcome = w2.awaitEvent((e) -> e.op().equals("release") && !e.type().equals("invoke")
					&& e.token() == confirmed.token(), NetFaults.CALL_BOUND.plusSeconds(2));
			proxy.heal();
			long takeoverMicros = takeover.wall() - fault.wall();
			long closeMicros = callMicros(w2, releaseOutcome);
			Checker.Result r = stopAndCheck(run);
			new ScenarioReport("5c. Ambiguous outcome of a hand-over's confirmation",
					"As 5b, with prepared hand-overs (the default): the lock passed from one of w2's threads to the"
							+ " other with no statement, and the successor's confirmation (token " + confirmed.token()
							+ ") committed, reply dropped: the successor's close() took " + NetFaults.ms(closeMicros)
							+ " ms (" + releaseOutcome.type() + "; it waits for the confirmation's first attempt at"
							+ " most until the lease's local deadline), w" + takeover.worker().substring(1)
							+ " acquired (token " + takeover.token() + ") " + NetFaults.ms(takeoverMicros)
							+ " ms after the confirmation was sent.",
					"./mvnw -pl reliability-tests verify -Dtest=AmbiguousOutcomeTests")
				.row("fenced, renewal on", "lost reply to a confirmation", r, run.leftovers())
				.write();
			assertThat(w2.events()).as("w2 was told the token it confirmed")
				.anyMatch((e) -> e.is("ok", "acquire") && e.token() == confirmed.token());
			assertThat(takeover.token()).as("the takeover's token is above the successor's")
				.isGreaterThan(confirmed.token());
			assertThat(takeoverMicros).as("I5 the lock is taken over within the confirmed lease")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);
			assertThat(r.overlaps()).as("I3 no two holders at once").isZero();
			assertThat(r.callsOverBound()).as("I7 calls over %s", NetFaults.CALL_BOUND).isZero();
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	/** A grant to w2 that its history does not show as acquired: the server granted, w2 was not told. */
	private static Optional<NetFaults.Row> phantomGrant(DataSource lockdb, WorkerProcess w2, Duration timeout)
			throws Exception {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (System.nanoTime() - deadline < 0) {
			Optional<NetFaults.Row> row = NetFaults.row(lockdb, LOCK);
			if (row.isPresent() && row.get().owner().equals("w2") && row.get().live()) {
				long token = row.get().token();
				if (w2.events().stream().noneMatch((e) -> e.is("ok", "acquire") && e.token() == token)) {
					return row;
				}
			}
			Thread.sleep(5);
		}
		return Optional.empty();
	}

	/** Terminates every worker (SIGTERM), waits for them to exit, and checks the run's history. */
	private static Checker.Result stopAndCheck(ScenarioRun run) throws Exception {
		for (WorkerProcess worker : run.all()) {
			worker.terminate();
		}
		run.workers().awaitExit(Duration.ofSeconds(30));
		return run.check(NetFaults.CALL_BOUND, Duration.ofSeconds(5));
	}

	/** How long the worker's call that ended with {@code outcome} took, from its invocation (microseconds). */
	private static long callMicros(WorkerProcess worker, Event outcome) {
		return outcome.wall() - worker.events()
			.stream()
			.filter((e) -> e.is("invoke", outcome.op()) && e.id() == outcome.id())
			.findFirst()
			.orElseThrow()
			.wall();
	}

	/** The outcome of the worker's last operation {@code op} invoked before {@code wall}. */
	private static Event awaitOutcome(WorkerProcess worker, String op, long wall, Duration timeout) throws Exception {
		Event invoke = worker.events()
			.stream()
			.filter((e) -> e.is("invoke", op) && e.wall() <= wall)
			.max(Comparator.comparingLong(Event::wall))
			.orElseThrow(() -> new AssertionError(worker.id() + " invoked no " + op + " before the fault"));
		return worker.awaitEvent((e) -> e.op().equals(op) && e.id() == invoke.id() && !e.type().equals("invoke"),
				timeout);
	}

	/** The token of the worker's last grant before {@code wall}. */
	private static long lastAcquired(WorkerProcess worker, long wall) {
		return worker.events()
			.stream()
			.filter((e) -> e.is("ok", "acquire") && e.wall() <= wall)
			.max(Comparator.comparingLong(Event::wall))
			.map(Event::token)
			.orElseThrow();
	}

}
