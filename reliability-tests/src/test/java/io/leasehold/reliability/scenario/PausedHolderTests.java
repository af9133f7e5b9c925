package io.leasehold.reliability.scenario;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.WorkerProcess;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 2: a holder is frozen with SIGSTOP between its read and its write, for three lease
 * times (its renewals cannot run). Others take the lock within lease + margin; on waking the
 * holder finds its lease invalid, and the store rejects its write. Done once for a
 * {@code LockManager} worker and once for the {@code @DistributedLock} worker.
 */
class PausedHolderTests {

	private static final Duration LEASE = Duration.ofMillis(500);

	private static final Duration MARGIN = Duration.ofMillis(500);

	private static final Duration PAUSE = LEASE.multipliedBy(3);

	private final Databases databases = SuiteServers.shared();

	@Test
	void pausedHolderIsOvertakenAndItsWriteRejected() throws Exception {
		try (ScenarioRun run = new ScenarioRun(this.databases, "paused-holder", "c1")) {
			for (String id : new String[] { "w1", "w2", "w3" }) {
				run.workers()
					.start(id, (w) -> w.annotation(id.equals("w1"))
						.locks("c1")
						.leaseTime(LEASE)
						.autoRenew(true)
						.waitTime(Duration.ofSeconds(1))
						.work(Duration.ofMillis(150), Duration.ofMillis(250))
						.duration(Duration.ofSeconds(7)));
			}
			run.workers().go(Duration.ofSeconds(60));
			long pausedW2 = pauseBetweenReadAndWrite(run.workers().get("w2"));
			long pausedW1 = pauseBetweenReadAndWrite(run.workers().get("w1"));
			run.workers().awaitExit(Duration.ofSeconds(30));
			Checker.Result r = run.check(Duration.ofSeconds(7), Duration.ofSeconds(5));
			new ScenarioReport("2. Holder paused past its lease",
					"Three workers, one lock, 500 ms lease renewed every 165 ms, work 150-250 ms. A LockManager"
							+ " holder, then the @DistributedLock holder, is frozen (SIGSTOP) between its read and"
							+ " its write for 1.5 s, then resumed (SIGCONT). Takeover is timed from the SIGSTOP.",
					"./mvnw -pl reliability-tests verify -Dtest=PausedHolderTests")
				.row("fenced, renewal on", "2 × SIGSTOP 1.5 s between read and write", r, run.leftovers())
				.write();

			for (var paused : List.of(new long[] { 2, pausedW2 }, new long[] { 1, pausedW1 })) {
				String worker = "w" + paused[0];
				long token = paused[1];
				List<Event> events = run.workers().get(worker).events();
				assertThat(events).as("%s reports its lease lost on waking (token %d)", worker, token)
					.anyMatch((e) -> e.is("fail", "check") && e.token() == token);
				assertThat(events).as("the store rejects %s's write (token %d)", worker, token)
					.anyMatch((e) -> e.is("fail", "write") && e.token() == token);
			}
			assertThat(r.overlaps()).as("the pauses took effect").isPositive();
			assertThat(r.takeovers()).as("one takeover per pause that hit a holder").hasSizeGreaterThanOrEqualTo(2);
			assertThat(r.takeoverMax()).as("takeover within lease + margin")
				.isLessThanOrEqualTo(LEASE.plus(MARGIN).toNanos() / 1000);
			assertThat(r.callsOverBound()).isZero();
			assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
			ContentionTests.assertSafe(r);
		}
	}

	/**
	 * Freezes the worker after one of its reads and before the write that follows it (retrying
	 * with its next read when the signal came too late), keeps it frozen for {@link #PAUSE}, and
	 * returns the token it held.
	 */
	private static long pauseBetweenReadAndWrite(WorkerProcess worker) throws Exception {
		for (int attempt = 0; attempt < 5; attempt++) {
			long afterWall = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
			Event read = worker.awaitEvent((e) -> e.is("ok", "read") && e.wall() > afterWall, Duration.ofSeconds(10));
			worker.pause();
			boolean wrote = worker.events()
				.stream()
				.anyMatch((e) -> e.is("invoke", "write") && read.token().equals(e.token()));
			if (wrote) { // too late: the write already began
				worker.resume();
				continue;
			}
			Thread.sleep(PAUSE.toMillis()); // the fault's length, not a wait for an outcome
			worker.resume();
			worker.awaitEvent((e) -> e.op().equals("write") && !e.type().equals("invoke") && read.token().equals(e.token()),
					Duration.ofSeconds(10));
			return read.token();
		}
		throw new AssertionError("Could not pause " + worker.id() + " between a read and its write");
	}

}
