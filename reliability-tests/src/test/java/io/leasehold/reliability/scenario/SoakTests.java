package io.leasehold.reliability.scenario;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.harness.Databases;
import io.leasehold.reliability.harness.ScenarioReport;
import io.leasehold.reliability.harness.ScenarioRun;
import io.leasehold.reliability.harness.SuiteServers;
import io.leasehold.reliability.harness.WorkerProcess;
import io.leasehold.reliability.infra.FaultyProxy;
import io.leasehold.reliability.infra.PostgresServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.springframework.boot.convert.DurationStyle;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The soak run (not CI): three worker slots (one {@code @DistributedLock}, two
 * {@code LockManager}) of two threads each, on two locks, each slot's lease connections through its own proxy, on a
 * lockdb and storedb of the run's own. Every 1-3 s one random fault: SIGSTOP for 0.5-3 s, SIGKILL
 * or SIGTERM (the slot restarts with a new worker), a proxy cut, blackhole or dropped replies for
 * 0.5-3 s, kill -9 and restart of lockdb, or lockdb frozen (SIGSTOP) for 2 s. At the end every
 * fault is healed, the workers get SIGTERM, and the same invariants as the CI scenarios are
 * checked (I1, I2, I4, I6); the figures go to {@code target/reliability-report.md}.
 * <p>
 * Run it with one command (here for 30 minutes):
 * <pre>
 * ./mvnw -pl reliability-tests verify -Dtest=SoakTests -Dreliability.soak=30m
 * </pre>
 * Without {@code -Dreliability.soak} it is skipped, with the reason printed.
 */
class SoakTests {

	private static final Duration LEASE = Duration.ofSeconds(1);

	@Test
	void randomFaultsKeepEveryInvariant() throws Exception {
		String spec = System.getProperty("reliability.soak", "");
		if (spec.isBlank()) {
			String reason = "Soak run skipped: give its length with -Dreliability.soak=<duration>, e.g. 30m";
			System.out.println(reason);
			Assumptions.abort(reason);
		}
		Duration length = DurationStyle.detectAndParse(spec.trim());
		PostgresServer.assumeAvailable();
		try (PostgresServer lockServer = PostgresServer.builder("soak-lockdb").start();
				PostgresServer storeServer = PostgresServer.builder("soak-storedb").start()) {
			Databases databases = SuiteServers.of(lockServer, storeServer);
			Map<String, FaultyProxy> proxies = new LinkedHashMap<>();
			Map<String, String> current = new LinkedHashMap<>();
			Map<String, Integer> counts = new TreeMap<>();
			try (ScenarioRun run = new ScenarioRun(databases, "soak", "c1", "c2")) {
				for (String slot : new String[] { "w1", "w2", "w3" }) {
					proxies.put(slot, NetFaults.proxyToLockdb(databases));
					current.put(slot, start(run, slot, 0, proxies.get(slot)).id());
				}
				run.workers().go(Duration.ofSeconds(60));
				ThreadLocalRandom random = ThreadLocalRandom.current();
				long deadline = System.nanoTime() + length.toNanos();
				int generation = 0;
				while (System.nanoTime() - deadline < 0) {
					Thread.sleep(1000 + random.nextLong(2000)); // time between faults
					String slot = "w" + (1 + random.nextInt(3));
					WorkerProcess worker = run.workers().get(current.get(slot));
					FaultyProxy proxy = proxies.get(slot);
					if (!worker.isAlive()) {
						// It exited on its own: one that starts while lockdb is down fails its start-up.
						counts.merge("worker exited on its own, restarted", 1, Integer::sum);
						current.put(slot, start(run, slot, ++generation, proxy).id());
						continue;
					}
					long hold = 500 + random.nextLong(2500);
					String kind = switch (random.nextInt(9)) {
						case 0, 1 -> "pause";
						case 2 -> "kill";
						case 3 -> "term";
						case 4 -> "cut";
						case 5 -> "blackhole";
						case 6 -> "drop replies";
						case 7 -> "lockdb kill -9";
						default -> "lockdb freeze";
					};
					counts.merge(kind, 1, Integer::sum);
					switch (kind) {
						case "pause" -> {
							worker.pause();
							Thread.sleep(hold);
							worker.resume();
						}
						case "kill", "term" -> {
							if (kind.equals("kill")) {
								worker.kill();
							}
							else {
								worker.terminate();
							}
							worker.awaitExit(Duration.ofSeconds(30));
							current.put(slot, start(run, slot, ++generation, proxy).id());
						}
						case "cut", "blackhole", "drop replies" -> {
							switch (kind) {
								case "cut" -> proxy.cut();
								case "blackhole" -> proxy.blackhole();
								default -> proxy.dropReplies();
							}
							run.fault(worker.id(), Fault.Kind.NETWORK);
							Thread.sleep(hold);
							proxy.heal();
						}
						case "lockdb kill -9" -> {
							lockServer.kill9();
							lockServer.restart();
						}
						default -> {
							lockServer.freeze();
							Thread.sleep(2 * LEASE.toMillis());
							lockServer.thaw();
						}
					}
				}
				proxies.values().forEach(FaultyProxy::heal);
				for (WorkerProcess worker : run.all()) {
					if (worker.isAlive()) {
						worker.terminate();
					}
				}
				run.workers().awaitExit(Duration.ofSeconds(60));
				Checker.Result r = run.check(Duration.ofSeconds(10), Duration.ofSeconds(10));
				new ScenarioReport("Soak run", "Three worker slots, two locks, 1 s lease renewed every 330 ms, statement"
						+ " timeout 1 s, for " + length + ". Faults injected: " + counts + ". Workers started: "
						+ run.all().size() + ".", "./mvnw -pl reliability-tests verify -Dtest=SoakTests -Dreliability.soak=30m")
					.row("fenced, renewal on", "random mix, one every 1-3 s", r, run.leftovers())
					.write();
				assertThat(r.acquired()).as("the workers made progress").isPositive();
				assertThat(run.leftovers().none()).as("left behind: %s", run.leftovers()).isTrue();
				ContentionTests.assertSafe(r);
			}
			finally {
				proxies.values().forEach(FaultyProxy::close);
			}
		}
	}

	private static WorkerProcess start(ScenarioRun run, String slot, int generation, FaultyProxy proxy)
			throws Exception {
		return run.workers()
			.start(slot + "-" + generation, (w) -> w.annotation(slot.equals("w1"))
				.threads(2)
				.locks("c1", "c2")
				.leaseTime(LEASE)
				.autoRenew(true)
				.waitTime(Duration.ofSeconds(1))
				.work(Duration.ofMillis(100), Duration.ofMillis(400))
				.set("leasehold.lock.owner-id", slot + "-" + generation)
				.set("leasehold.lock.statement-timeout", "1s")
				.set("spring.datasource.url", NetFaults.lockUrlThrough(proxy)));
	}

}
