package io.leasehold.reliability.scenario;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.WorkerProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 3: a holder stopped gracefully (SIGTERM) releases its lease at once, so a waiter
 * takes over well before the lease would expire; a holder killed (SIGKILL) leaves its lease to
 * expire, and a waiter takes over within lease + margin. Four workers: w2 (LockManager) is
 * terminated, then w3 (LockManager) killed, then w1 ({@code @DistributedLock}) terminated; w4
 * (LockManager) runs to the end.
 */
class KilledHolderTests {

	private static final Duration LEASE = Duration.ofSeconds(2);

	private static final Duration MARGIN = Duration.ofMillis(500);

	/** A graceful stop must hand the lock over far sooner than the lease would expire. */
	private static final Duration PROMPT = Duration.ofMillis(700);

	/**
	 * The shortest work under the lock. With 200 ms, a CI run once signalled a holder that had
	 * already released (the read's event reached the controller late), so the fault hit no hold.
	 */
	private static final Duration WORK_MIN = Duration.ofMillis(400);

	private final Databases databases = SuiteServers.shared();

	@Test
	void terminatedHolderReleasesAtOnceKilledHolderExpires() throws Exception {
		try (ScenarioRun run = new ScenarioRun(this.databases, "killed-holder", "c1")) {
			for (String id : new String[] { "w1", "w2", "w3", "w4" }) {
				run.workers()
					.start(id, (w) -> w.annotation(id.equals("w1"))
						.locks("c1")
						.leaseTime(LEASE)
						.autoRenew(true)
						.waitTime(Duration.ofSeconds(3))
						.work(WORK_MIN, Duration.ofMillis(700))
						.duration(Duration.ofSeconds(12)));
			}
			run.workers().go(Duration.ofSeconds(60));
			Handover term2 = signalWhileHolding(run, "w2", WorkerProcess::terminate);
			Handover kill3 = signalWhileHolding(run, "w3", WorkerProcess::kill);
			Handover term1 = signalWhileHolding(run, "w1", WorkerProcess::terminate);
			run.workers().awaitExit(Duration.ofSeconds(30));
			Checker.Result r = run.check(Duration.ofSeconds(9), LEASE.plusSeconds(3));
			new ScenarioReport("3. Holder killed (SIGKILL) versus stopped (SIGTERM)",
					"Four workers, one lock, 2 s lease renewed every 660 ms, work 400-700 ms. While holding the"
							+ " lock, a LockManager worker gets SIGTERM, another SIGKILL, then the @DistributedLock"
							+ " worker SIGTERM. Takeover is timed from the signal: SIGTERM " + ms(term2.micros) + " ms and "
							+ ms(term1.micros) + " ms, SIGKILL " + ms(kill3.micros) + " ms.",
					"./mvnw -pl reliability-tests verify -Dtest=KilledHolderTests")
				.row("fenced, renewal on", "SIGTERM, SIGKILL, SIGTERM of the holder", r, run.leftovers())
				.write();

			assertThat(term2.micros).as("takeover after SIGTERM (LockManager)").isLessThan(PROMPT.toNanos() / 1000);
			assertThat(term1.micros).as("takeover after SIGTERM (@DistributedLock)")
				.isLessThan(PROMPT.toNanos() / 1000);
			assertThat(kill3.micros).as("takeover after SIGKILL")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);
			for (String graceful : List.of("w1", "w2")) {
				WorkerProcess worker = run.workers().get(graceful);
				long token = (graceful.equals("w1") ? term1 : term2).token;
				assertThat(worker.events()).as("%s released token %d before exiting", graceful, token)
					.anyMatch((e) -> e.is("ok", "release") && e.token() == token);
			}
			assertThat(r.takeovers()).hasSize(3);
			assertThat(r.callsOverBound()).isZero();
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	private record Handover(long token, long micros) {
	}

	@FunctionalInterface
	private interface Signal {

		Fault send(WorkerProcess worker) throws Exception;

	}

	/**
	 * Waits until the worker holds the lock (a new read under it succeeded; work follows for at
	 * least {@link #WORK_MIN}, time enough for the signal to arrive while it holds even on a loaded
	 * machine), signals it, and times the next grant elsewhere.
	 */
	private static Handover signalWhileHolding(ScenarioRun run, String id, Signal signal) throws Exception {
		WorkerProcess worker = run.workers().get(id);
		long now = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
		Event read = worker.awaitEvent((e) -> e.is("ok", "read") && e.wall() > now, Duration.ofSeconds(15));
		Fault fault = signal.send(worker);
		worker.awaitExit(Duration.ofSeconds(15));
		Event next = null;
		long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
		while (next == null && System.nanoTime() - deadline < 0) {
			next = run.workers()
				.events()
				.stream()
				.filter((e) -> e.is("ok", "acquire") && !e.worker().equals(id) && e.wall() > fault.wall())
				.min((a, b) -> Long.compare(a.wall(), b.wall()))
				.orElse(null);
			Thread.sleep(5);
		}
		assertThat(next).as("another worker acquired after %s of %s", fault.kind(), id).isNotNull();
		return new Handover(read.token(), next.wall() - fault.wall());
	}

	private static String ms(long micros) {
		return String.format(java.util.Locale.ROOT, "%.0f", micros / 1000.0);
	}

}
