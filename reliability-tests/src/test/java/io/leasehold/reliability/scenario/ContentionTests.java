package io.leasehold.reliability.scenario;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.stream.Stream;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.WorkerProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 1: three workers (one {@code @DistributedLock}, two {@code LockManager}) of two
 * threads each contend for one hot lock whose lease is shorter than the work, so leases run out
 * under their holders; a release whose worker has a thread waiting hands the lock over to it.
 * Fenced, the store rejects every overtaken holder and no update is lost; unfenced (the negative
 * control) updates are lost; with renewal on, nothing is overtaken at all.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ContentionTests {

	private static final Duration RUN = Duration.ofSeconds(4);

	private static final Duration WAIT = Duration.ofSeconds(1);

	private static final Duration CALL_BOUND = WAIT.plusSeconds(6); // wait time + statement timeout (5 s) + the cancel 1 s later

	private static final ScenarioReport report = new ScenarioReport("1. Contention with leases overrun",
			"Three workers of two threads, one lock, work 100-250 ms per iteration. Renewal off: a 150 ms lease runs out under"
					+ " most holders. Renewal on: a 300 ms lease renewed every 100 ms.",
			"./mvnw -pl reliability-tests verify -Dtest=ContentionTests");

	private final Databases databases = SuiteServers.shared();

	@AfterAll
	static void writeReport() throws Exception {
		report.write();
	}

	@Test
	@Order(1)
	void fencedStoreRejectsEveryOvertakenHolder() throws Exception {
		Checker.Result r = run("contention-fenced", true, false, Duration.ofMillis(150), "fenced, renewal off");
		assertThat(r.overlaps()).as("leases overran (the fault took effect)").isPositive();
		assertThat(r.rejected()).as("stale reads or writes rejected").isPositive();
		assertSafe(r);
	}

	@Test
	@Order(2)
	void unfencedControlLosesUpdates() throws Exception {
		Checker.Result r = run("contention-unfenced", false, false, Duration.ofMillis(150),
				"unfenced (negative control), renewal off");
		assertThat(r.overlaps()).isPositive();
		assertThat(r.lostUpdates()).as("lost updates without fencing").isPositive();
		assertThat(r.staleWritesAccepted()).isPositive();
	}

	@Test
	@Order(3)
	void renewedLeasesAreNeverOvertaken() throws Exception {
		Checker.Result r = run("contention-renewed", true, true, Duration.ofMillis(300), "fenced, renewal on");
		assertThat(r.overlaps()).isZero();
		assertThat(r.rejected()).isZero();
		assertThat(r.leaseLostReported()).isZero();
		assertSafe(r);
	}

	private Checker.Result run(String name, boolean fenced, boolean renew, Duration lease, String label)
			throws Exception {
		try (ScenarioRun run = new ScenarioRun(this.databases, name, "c1")) {
			for (String id : new String[] { "w1", "w2", "w3" }) {
				run.workers()
					.start(id, (w) -> w.annotation(id.equals("w1"))
						.threads(2)
						// logs each hand-over, counted below
						.set("logging.level.io.leasehold.lock.core.DefaultLockManager", "DEBUG")
						.fenced(fenced)
						.locks("c1")
						.leaseTime(lease)
						.autoRenew(renew)
						.waitTime(WAIT)
						.work(Duration.ofMillis(100), Duration.ofMillis(250))
						.duration(RUN));
			}
			run.workers().go(Duration.ofSeconds(60));
			run.workers().awaitExit(RUN.plusSeconds(30));
			Checker.Result r = run.check(CALL_BOUND, Duration.ofSeconds(5));
			report.row(label, "none (leases overrun by design)", r, run.leftovers());
			assertThat(r.acquired()).as("every worker got the lock").isGreaterThan(6);
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			assertThat(r.callsOverBound()).isZero();
			if (renew) {
				// without renewal most leases have run out by their release, which then hands nothing over
				assertThat(handOvers(run)).as("releases that handed the lock over to the worker's other thread")
					.isPositive();
			}
			return r;
		}
	}

	private static long handOvers(ScenarioRun run) throws IOException {
		long handOvers = 0;
		for (WorkerProcess worker : run.all()) {
			try (Stream<String> lines = Files.lines(worker.output())) {
				handOvers += lines.filter((line) -> line.contains("Handed lock")).count();
			}
		}
		return handOvers;
	}

	static void assertSafe(Checker.Result r) {
		assertThat(r.lostUpdates()).as("I1 lost updates").isZero();
		assertThat(r.ackedMissing()).as("I1 acknowledged writes missing").isZero();
		assertThat(r.counterMatchesAcknowledged()).as("I1 counter %d vs acknowledged %d", r.finalCounter(), r.completed())
			.isTrue();
		assertThat(r.acceptedOutOfOrder()).as("I1 write accepted below an earlier token").isZero();
		assertThat(r.tokensReissued()).as("I2 tokens reissued").isZero();
		assertThat(r.tokenOrderViolations()).as("I2 tokens out of real-time order").isZero();
		assertThat(r.staleWritesAccepted()).as("I4 stale writes accepted").isZero();
	}

}
