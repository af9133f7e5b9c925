package io.leasehold.benchmarks;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

import org.jspecify.annotations.Nullable;

/**
 * Runs the benchmark of issue 3 item 7: Leasehold against PostgreSQL session advisory locks on
 * one hot lock (scenario A, {@code handoff}) and with waiters idle on a held lock (scenario B,
 * {@code idle}), then compares the figures with the targets. See
 * {@code benchmarks/README.md}.
 */
public final class LeaseholdBenchmarks {

	private static final String LEASEHOLD = "leasehold";

	private LeaseholdBenchmarks() {
	}

	public static void main(String[] args) throws Exception {
		BenchOptions options;
		try {
			options = BenchOptions.parse(args);
		}
		catch (IllegalArgumentException ex) {
			if (!ex.getMessage().isEmpty()) {
				System.err.println(ex.getMessage());
			}
			System.err.print(BenchOptions.USAGE);
			System.exit(2);
			return;
		}
		int exitCode;
		try (BenchDatabase database = BenchDatabase.open(); ServerStatements server = new ServerStatements(database)) {
			exitCode = run(options, database, server, args);
		}
		System.exit(exitCode);
	}

	private static int run(BenchOptions options, BenchDatabase database, ServerStatements server, String[] args)
			throws Exception {
		long runStarted = System.nanoTime();
		String header = header(options, database, server);
		System.out.print(header);
		Map<String, HotLockScenario.Result> hot = new LinkedHashMap<>();
		Map<String, IdleWaitersScenario.Result> idle = new LinkedHashMap<>();
		Report report = new Report();
		boolean cycleErrors = false;
		CycleScenarios cycles = new CycleScenarios(options);
		if (options.scenarios.contains("select1")) {
			report.select1(cycles.select1(database));
		}
		CommitProbe.@Nullable Result commit = null;
		if (options.scenarios.contains("handoff")) {
			commit = new CommitProbe(options).run(database);
			commit.print();
		}
		if (!options.smoke && (options.scenarios.contains("uncontended") || options.scenarios.contains("distinct"))) {
			warmUpEveryAdapter(options, database, cycles);
		}
		for (String name : options.adapters) {
			long started = System.nanoTime();
			try (LockAdapter adapter = Adapters.create(name, database, options)) {
				if (options.scenarios.contains("uncontended")) {
					CycleScenarios.Uncontended result = cycles.uncontended(adapter, "bench-uncontended-" + UUID.randomUUID() + "-");
					result.print();
					report.uncontended(result);
					cycleErrors |= refusedFreeLocks(adapter, result.errors());
				}
				if (options.scenarios.contains("distinct")) {
					CycleScenarios.Distinct result = cycles.distinct(adapter);
					result.print();
					report.distinct(result);
					cycleErrors |= refusedFreeLocks(adapter, result.errors());
				}
				if (options.scenarios.contains("handoff") && adapter.supportsHandles()) {
					HandoffDiagnostics diagnostics = (options.diagnose && adapter instanceof LeaseholdAdapter)
							? new HandoffDiagnostics(database, channel(options)) : null;
					HotLockScenario.Result result = new HotLockScenario(options, server).run(adapter, diagnostics);
					result.print();
					if (diagnostics != null && adapter instanceof LeaseholdAdapter leasehold
							&& leasehold.outcomes() != null) {
						System.out.print(leasehold.outcomes().report());
					}
					hot.put(name, result);
					report.hot(result);
				}
				if (options.scenarios.contains("idle") && adapter.supportsHandles()) {
					IdleWaitersScenario.Result result = new IdleWaitersScenario(options, server).run(adapter);
					result.print();
					idle.put(name, result);
					report.idle(result);
				}
			}
			System.out.printf(Locale.ROOT, "  (%s done in %.1f s)%n", name, (System.nanoTime() - started) / 1e9);
		}
		if (options.scenarios.contains("million")) {
			for (MillionRowsScenario.Result result : new MillionRowsScenario(options).run(database)) {
				report.million(result);
				cycleErrors |= result.empty().errors() > 0 || result.full().errors() > 0;
			}
		}
		if (options.scenarios.contains("guard")) {
			new CommitGuardCostScenario(options.smoke).run(database);
		}
		if (commit != null) {
			report.commit(commit, hot.get(Adapters.REFERENCE));
		}
		printTargets(hot, idle, commit);
		report.print();
		report.printTargets();
		System.out.printf(Locale.ROOT, "%nWhole run: %.0f s%n", (System.nanoTime() - runStarted) / 1e9);
		if (options.docs != null) {
			report.write(java.nio.file.Path.of(options.docs), header,
					"./mvnw -q -pl benchmarks -am package -DskipTests && java -jar benchmarks/target/benchmarks.jar "
							+ String.join(" ", args));
		}
		if (cycleErrors) {
			System.out.println("FAILED: an uncontended or distinct-key acquire did not get its free lock");
		}
		return (correctnessFailures(hot, idle) || cycleErrors) ? 1 : 0;
	}

	/**
	 * Runs uncontended cycles of every adapter, unrecorded, before anything is measured: the
	 * JIT-compiled code, the pools' and the server's caches are then warm for all of them, not
	 * only for the adapters measured after the first (which came out up to 1.5x slower).
	 */
	private static void warmUpEveryAdapter(BenchOptions options, BenchDatabase database, CycleScenarios cycles)
			throws Exception {
		long started = System.nanoTime();
		for (String name : options.adapters) {
			try (LockAdapter adapter = Adapters.create(name, database, options)) {
				cycles.uncontended(adapter, "bench-warmup-" + UUID.randomUUID() + "-");
			}
		}
		System.out.printf(Locale.ROOT, "%n(every adapter warmed up with uncontended cycles, unrecorded, in %.1f s)%n",
				(System.nanoTime() - started) / 1e9);
	}

	/** Whether refusals of free locks fail the run: not for a library that may refuse them. */
	private static boolean refusedFreeLocks(LockAdapter adapter, long refusals) {
		if (refusals > 0 && adapter.mayRefuseFreeLocks()) {
			System.out.printf(Locale.ROOT, "  (%s refused %,d attempts on free locks: its own behaviour, reported as"
					+ " errors, not a failure of the run)%n", adapter.name(), refusals);
			return false;
		}
		return refusals > 0;
	}

	private static String header(BenchOptions options, BenchDatabase database, ServerStatements server)
			throws Exception {
		StringBuilder out = new StringBuilder();
		out.append("Leasehold benchmark (issues 3 and 6)" + (options.smoke ? " -- SMOKE MODE, figures meaningless" : "")).append('\n');
		out.append("  database : " + database.jdbcUrl() + " (" + database.source() + ")").append('\n');
		out.append("  server   : " + database.serverSettings()).append('\n');
		out.append("  counting : server transactions " + server.method()).append('\n');
		out.append("  machine  : " + SystemLoad.cores() + " cores, load average " + SystemLoad.loadAverage()
				+ ", Java " + System.getProperty("java.version") + ", " + System.getProperty("os.name") + " "
				+ System.getProperty("os.arch")).append('\n');
		out.append(String.format(Locale.ROOT,
				"  settings : scenarios %s, adapters %s; A: %d contenders, hold %s (%s), warm-up %s, window %s;"
						+ " B: %d waiters, settle %s, window %s; %d nodes, pool %d per node; lock wait %s%s%s%n",
				options.scenarios, options.adapters, options.contenders, options.hold,
				options.spin ? "busy-spin" : "parkNanos", options.warmup, options.duration, options.waiters,
				options.idleSettle, options.idleWindow, options.nodes, options.poolSize, options.lockWait,
				options.leaseholdProperties.isEmpty() ? "" : "; Leasehold " + options.leaseholdProperties,
				options.experiments.isEmpty() ? "" : "; leasehold-exp experiments " + options.experiments));
		out.append(String.format(Locale.ROOT, "  cycles   : warm-up %s, window %s, %d threads on distinct keys; million: %,d rows%n",
				options.cycleWarmup, options.cycleWindow, options.distinctThreads, options.millionRows));
		return out.toString();
	}

	private static String channel(BenchOptions options) {
		String channel = "leasehold_lock_released";
		for (String property : options.leaseholdProperties) {
			if (property.startsWith("leasehold.lock.notify.channel=")) {
				channel = property.substring(property.indexOf('=') + 1);
			}
		}
		if (!channel.matches("[a-z_][a-z0-9_]*")) {
			throw new IllegalArgumentException("Cannot diagnose channel " + channel);
		}
		return channel;
	}

	private static void printTargets(Map<String, HotLockScenario.Result> hot,
			Map<String, IdleWaitersScenario.Result> idle, CommitProbe.@Nullable Result commit) {
		boolean any = false;
		for (String name : new String[] { LEASEHOLD, Adapters.UNPREPARED, "leasehold-exp" }) {
			if (hot.containsKey(name) || idle.containsKey(name)) {
				printTargets(name, hot.get(name), hot.get(Adapters.REFERENCE), idle.get(name), commit);
				any = true;
			}
		}
		if (!any) {
			System.out.println();
			System.out.println("(leasehold not run: no targets to compare)");
		}
	}

	private static void printTargets(String name, HotLockScenario.@Nullable Result lease,
			HotLockScenario.@Nullable Result reference, IdleWaitersScenario.@Nullable Result leaseIdle,
			CommitProbe.@Nullable Result commit) {
		System.out.println();
		System.out.println("== Issue 3 targets: " + name + ", with advisory locks of the same run as reference ==");
		if (lease != null) {
			target("hand-off p50 <= 2 ms", Percentiles.ms(lease.handoff().p50()), lease.handoff().p50() <= 2_000_000);
			target("hand-off p99 <= 20 ms", Percentiles.ms(lease.handoff().p99()), lease.handoff().p99() <= 20_000_000);
			target("no contender below 1/4 of the mean share",
					String.format(Locale.ROOT, "min/mean %.2f", lease.minShare()), lease.minShare() >= 0.25);
			if (reference != null && reference.lockWait().p99() > 0 && reference.perSecond() > 0) {
				double waitRatio = (double) lease.lockWait().p99() / reference.lockWait().p99();
				double throughputRatio = lease.perSecond() / reference.perSecond();
				target("lock-wait p99 <= 3x advisory",
						String.format(Locale.ROOT, "%s vs %s = %.2fx", Percentiles.ms(lease.lockWait().p99()),
								Percentiles.ms(reference.lockWait().p99()), waitRatio),
						waitRatio <= 3);
				target("throughput >= 80% of advisory", String.format(Locale.ROOT, "%.0f/s vs %.0f/s = %.0f%%",
						lease.perSecond(), reference.perSecond(), 100 * throughputRatio), throughputRatio >= 0.8);
				if (commit != null) {
					System.out.println("  estimated ceiling of a lock with one durable commit per hand-off, on this disk: "
							+ commit.ceilingText(reference));
				}
				System.out.printf(Locale.ROOT,
						"  ratios %s/advisory: throughput %.2f, lock-wait p99 %.2f, hand-off p50 %.2f, hand-off p99 %.2f%n",
						name, throughputRatio, waitRatio, ratio(lease.handoff().p50(), reference.handoff().p50()),
						ratio(lease.handoff().p99(), reference.handoff().p99()));
			}
			else {
				System.out.println("  (advisory locks not run: no ratio targets)");
			}
			System.out.printf(Locale.ROOT, "  same holder: %s %.1f%%%s%n", name, lease.sameHolderPercent(),
					(reference != null) ? String.format(Locale.ROOT, ", advisory %.1f%%", reference.sameHolderPercent()) : "");
		}
		if (leaseIdle != null) {
			target("idle <= 1 statement/s/node (client, busiest node)",
					String.format(Locale.ROOT, "%.2f/s", leaseIdle.worstNodeClientPerSecond()),
					leaseIdle.worstNodeClientPerSecond() <= 1);
			target("idle <= 1 statement/s/node (server xacts / nodes)",
					String.format(Locale.ROOT, "%.2f/s", leaseIdle.serverPerSecondPerNode()),
					leaseIdle.serverPerSecondPerNode() <= 1);
		}
	}

	private static double ratio(long value, long reference) {
		return (reference > 0) ? (double) value / reference : Double.NaN;
	}

	private static void target(String name, String measured, boolean met) {
		System.out.printf(Locale.ROOT, "  %-52s %-36s %s%n", name, measured, met ? "PASS" : "MISS");
	}

	private static boolean correctnessFailures(Map<String, HotLockScenario.Result> hot,
			Map<String, IdleWaitersScenario.Result> idle) {
		boolean failed = false;
		for (HotLockScenario.Result result : hot.values()) {
			if (result.overlaps() > 0 || result.tokenRegressions() > 0 || result.errors() > 0 || result.sections() == 0) {
				System.out.println("FAILED: " + result.adapter() + " hot lock: overlaps " + result.overlaps()
						+ ", token regressions " + result.tokenRegressions() + ", errors " + result.errors()
						+ ", sections " + result.sections());
				failed = true;
			}
		}
		for (IdleWaitersScenario.Result result : idle.values()) {
			if (!result.allServed()) {
				System.out.println("FAILED: " + result.adapter() + " idle waiters: served " + result.served() + " of "
						+ result.waiters() + ", overlaps " + result.overlaps() + ", error " + result.firstError());
				failed = true;
			}
		}
		return failed;
	}

}
