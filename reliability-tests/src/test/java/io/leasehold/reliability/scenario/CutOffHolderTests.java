package io.leasehold.reliability.scenario;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.check.Leftovers;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.WorkerProcess;
import io.leasehold.reliability.infra.FaultyProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 4: a holder is cut off from lockdb while the store stays reachable. Every lease
 * connection of w2 (its pool and its listener connection) goes through a {@link FaultyProxy};
 * its store connection does not. Its work (1.3-1.5 s) is longer than the 1 s lease, which
 * renewal keeps alive, so the cut takes effect mid-work: the renewals fail, the lease turns
 * invalid by its local deadline (DESIGN.md 3.12), the holder reports it lost, and the store
 * rejects its write because another worker took over and registered its newer token. After the
 * cut heals the holder does not act on its old lease and acquires anew. Done once with a cut
 * (connections closed, new ones refused) and once with a blackhole (connections open, nothing
 * forwarded).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CutOffHolderTests {

	private static final Duration LEASE = Duration.ofSeconds(1);

	private static final Duration MARGIN = Duration.ofMillis(500);

	/** How long the holder stays cut off. */
	private static final Duration OUTAGE = LEASE.multipliedBy(3);

	private static final ScenarioReport report = new ScenarioReport("4. Holder cut off from lockdb",
			"Three workers, one lock, 1 s lease renewed every 330 ms, statement timeout 1 s, work 1.3-1.5 s (longer"
					+ " than the lease, so only renewal keeps it). w2's lease connections (pool and listener) run"
					+ " through a TCP proxy, its store connection does not. While w2 holds the lock, the proxy cuts"
					+ " (closes every connection, refuses new ones) or blackholes (forwards nothing) for 3 s, then"
					+ " heals. Takeover is timed from the fault.",
			"./mvnw -pl reliability-tests verify -Dtest=CutOffHolderTests");

	private final Databases databases = SuiteServers.shared();

	@AfterAll
	static void writeReport() throws Exception {
		report.write();
	}

	@Test
	@Order(1)
	void cutOffHolderStopsByItsDeadline() throws Exception {
		Checker.Result r = run("cut-off-cut", "cut", FaultyProxy::cut, OUTAGE);
		report.row("fenced, renewal on, cut", "cut of w2's lease connections for 3 s while it holds", r,
				this.leftovers);
	}

	@Test
	@Order(2)
	void blackholedHolderStopsByItsDeadline() throws Exception {
		Checker.Result r = run("cut-off-blackhole", "blackhole", FaultyProxy::blackhole, OUTAGE);
		report.row("fenced, renewal on, blackhole", "blackhole of w2's lease connections for 3 s while it holds", r,
				this.leftovers);
	}

	/**
	 * I7 for a holder cut off longer than its calls may take: its {@code Lease.close()} returns
	 * within the statement timeout's bound (statement 1 s, cancel 1 s later, connection given up
	 * 1 s after that) plus the pool's connection timeout, however long the cut lasts; it does not
	 * wait for a renewal stuck the same way.
	 */
	@Test
	@Order(3)
	void releaseOfCutOffHolderReturnsWithinStatementTimeout() throws Exception {
		Checker.Result r = run("cut-off-long", "cut", FaultyProxy::cut, Duration.ofSeconds(8));
		assertThat(r.maxCall()).as("longest acquire or release (µs) while cut off for 8 s")
			.isLessThanOrEqualTo(NetFaults.CALL_BOUND.toNanos() / 1000);
	}

	private Leftovers leftovers;

	private Checker.Result run(String name, String label, Consumer<FaultyProxy> fault, Duration outage)
			throws Exception {
		try (FaultyProxy proxy = NetFaults.proxyToLockdb(this.databases);
				ScenarioRun run = new ScenarioRun(this.databases, name, "c1")) {
			for (String id : new String[] { "w1", "w2", "w3" }) {
				run.workers().start(id, (w) -> {
					w.annotation(id.equals("w1"))
						.locks("c1")
						.leaseTime(LEASE)
						.autoRenew(true)
						.waitTime(Duration.ofSeconds(1))
						.work(Duration.ofMillis(1300), Duration.ofMillis(1500))
						.idle(id.equals("w2") ? Duration.ZERO : Duration.ofMillis(1500)) // lets w2 in soon
						.duration(Duration.ofSeconds(11).plus(outage))
						.set("leasehold.lock.statement-timeout", "1s");
					return id.equals("w2") ? w.set("spring.datasource.url", NetFaults.lockUrlThrough(proxy)) : w;
				});
			}
			run.workers().go(Duration.ofSeconds(60));
			WorkerProcess w2 = run.workers().get("w2");
			long since = NetFaults.nowMicros();
			Event read = w2.awaitEvent((e) -> e.is("ok", "read") && e.wall() > since, Duration.ofSeconds(10));
			long token = read.token();
			fault.accept(proxy);
			Fault cut = run.fault("w2", Fault.Kind.NETWORK);
			Event takeover = NetFaults.awaitGrantElsewhere(run.workers(), "w2", cut.wall(), LEASE.plusSeconds(5));
			Event write = w2.awaitEvent((e) -> e.op().equals("write") && !e.type().equals("invoke")
					&& e.token() == token, Duration.ofSeconds(10));
			long healAt = cut.wall() + outage.toNanos() / 1000;
			Thread.sleep(Math.max(0, (healAt - NetFaults.nowMicros()) / 1000)); // the outage's length
			proxy.heal();
			long healed = NetFaults.nowMicros();
			Event again = w2.awaitEvent((e) -> e.is("ok", "acquire") && e.wall() > healed, Duration.ofSeconds(15));
			run.workers().awaitExit(Duration.ofSeconds(30));
			Checker.Result r = run.check(NetFaults.CALL_BOUND, Duration.ofSeconds(5));
			this.leftovers = run.leftovers();

			List<Event> events = w2.events();
			assertThat(takeover.wall() - cut.wall()).as("I5 takeover after the %s", label)
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);
			assertThat(events).as("w2 reports its lease (token %d) lost while cut off", token)
				.anyMatch((e) -> e.is("fail", "check") && e.token() == token);
			assertThat(events).as("w2 never finds its cut-off lease (token %d) valid after the fault", token)
				.noneMatch((e) -> e.is("ok", "check") && e.token() == token && e.wall() > cut.wall());
			assertThat(write.type()).as("the store rejects w2's write with token %d: %s", token, write).isEqualTo("fail");
			assertThat(again.token()).as("after the heal w2 holds only a new lease").isGreaterThan(takeover.token());
			assertThat(events).as("after the heal w2 does not use its old lease (token %d)", token)
				.noneMatch((e) -> !e.type().equals("fail") && !e.op().equals("release") && e.token() != null
						&& e.token() == token && e.wall() > healed);
			assertThat(r.takeovers()).as("the checker saw the takeover").isNotEmpty();
			// I7 is not asserted here: see releaseOfCutOffHolderReturnsWithinStatementTimeout (library bug)
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
			return r;
		}
	}

}
