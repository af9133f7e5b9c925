package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Command-line options. Positional arguments name the scenarios ({@code handoff}, {@code idle},
 * {@code all}); {@code --name=value} options tune them; {@code --leasehold.*=value} is passed to
 * every Leasehold node as a Spring Boot property.
 */
final class BenchOptions {

	Set<String> scenarios = new LinkedHashSet<>();

	List<String> adapters = new ArrayList<>(List.of("floor", "advisory", "leasehold", "leasehold-annotated", "shedlock", "jdbc-registry"));

	boolean smoke;

	boolean diagnose;

	int nodes = 2;

	int poolSize = 10;

	int contenders = 8;

	int waiters = 32;

	Duration hold = Duration.ofMillis(1);

	boolean spin;

	Duration warmup = Duration.ofSeconds(2);

	Duration duration = Duration.ofSeconds(10);

	Duration lockWait = Duration.ofSeconds(30);

	Duration idleSettle = Duration.ofSeconds(11);

	Duration idleWindow = Duration.ofSeconds(10);

	Duration cycleWarmup = Duration.ofSeconds(3);

	Duration cycleWindow = Duration.ofSeconds(3);

	int distinctThreads = 8;

	long millionRows = 1_000_000;

	@Nullable String docs;

	List<String> leaseholdProperties = new ArrayList<>();

	Set<String> experiments = new LinkedHashSet<>();

	static final List<String> ALL = List.of("select1", "uncontended", "distinct", "handoff", "idle", "million");

	static final String USAGE = """
			Usage: java -jar benchmarks/target/benchmarks.jar [handoff] [idle] [all] [options]
			  handoff              scenario A: contenders on one hot lock, each holding it briefly
			  idle                 scenario B: waiters idle on a lock held for the whole window
			  guard                scenario C: what the commit guard of CORRECTNESS locks costs per commit
			  uncontended          one thread, acquire+release cycles (latency p50/p99, cycles/s)
			  distinct             8 threads, each on its own key (cycles/s)
			  select1              SELECT 1 round trip through a pool
			  million              acquire latency, lease table empty vs --million-rows rows (floor, leasehold)
			  all                  all of them but guard (the default)
			Options:
			  --smoke              everything in a few seconds (short windows), for CI; exits 1 on
			                       overlapping critical sections, errors or unserved waiters (free locks
			                       JdbcLockRegistry refuses are reported, not failed)
			  --adapters=a,b       implementations to run, in order (default floor,advisory,leasehold,
			                       leasehold-annotated,shedlock,jdbc-registry; also known: leasehold-exp,
			                       handover-floor)
			  --cycle-window=3s    uncontended/distinct/select1 window  --cycle-warmup=3s  their warm-up
			  --million-rows=1000000  rows of the million scenario
			  --docs=DIR           write DIR/benchmarks.md and DIR/benchmarks.png (chart) from this run
			  --duration=10s       scenario A measurement window      --warmup=2s   its warm-up
			  --contenders=8       scenario A threads, spread over the nodes
			  --hold=1ms           scenario A critical section        --spin        busy-spin instead of parkNanos
			  --lock-wait=30s      how long each acquire may wait
			  --waiters=32         scenario B waiters, spread over the nodes
			  --idle-window=10s    scenario B measurement window      --idle-settle=11s before it starts
			  --nodes=2            Leasehold application contexts     --pool-size=10  HikariCP pool per node
			  --diagnose           scenario A: break Leasehold's hand-off down (own LISTEN connection)
			                       and sample pg_stat_activity wait events
			  --leasehold.x=y      a Leasehold property for every node, e.g. --leasehold.lock.notify.enabled=false
			  --experiments=a,b    also run adapter leasehold-exp: Leasehold with what-if changes, to size a fix
			                       before making it (fast-notify, no-zero-hint; see Experiments.java)
			Database: LEASEHOLD_BENCH_JDBC_URL (default %s, user postgres),
			LEASEHOLD_BENCH_JDBC_USER, LEASEHOLD_BENCH_JDBC_PASSWORD; embedded PostgreSQL if unreachable.
			""".formatted(BenchDatabase.DEFAULT_URL);

	static BenchOptions parse(String[] args) {
		BenchOptions options = new BenchOptions();
		for (String arg : args) {
			if (!arg.startsWith("--")) {
				switch (arg) {
					case "handoff", "idle", "guard", "uncontended", "distinct", "select1", "million" -> options.scenarios.add(arg);
					case "all" -> options.scenarios.addAll(ALL);
					default -> throw new IllegalArgumentException("Unknown scenario '" + arg + "'");
				}
				continue;
			}
			String name = arg.substring(2);
			String value = null;
			int equals = name.indexOf('=');
			if (equals >= 0) {
				value = name.substring(equals + 1);
				name = name.substring(0, equals);
			}
			if (name.startsWith("leasehold.")) {
				options.leaseholdProperties.add(name + "=" + required(name, value));
				continue;
			}
			switch (name) {
				case "smoke" -> options.smoke = true;
				case "diagnose" -> options.diagnose = true;
				case "spin" -> options.spin = true;
				case "help" -> throw new IllegalArgumentException("");
				case "adapters" -> options.adapters = List.of(required(name, value).split(","));
				case "experiments" -> {
					for (String experiment : required(name, value).split(",")) {
						if (!List.of(Experiments.FAST_NOTIFY, Experiments.NO_ZERO_HINT).contains(experiment)) {
							throw new IllegalArgumentException("Unknown experiment '" + experiment + "'");
						}
						options.experiments.add(experiment);
					}
				}
				case "nodes" -> options.nodes = Integer.parseInt(required(name, value));
				case "pool-size" -> options.poolSize = Integer.parseInt(required(name, value));
				case "contenders" -> options.contenders = Integer.parseInt(required(name, value));
				case "waiters" -> options.waiters = Integer.parseInt(required(name, value));
				case "hold" -> options.hold = duration(name, value);
				case "warmup" -> options.warmup = duration(name, value);
				case "duration" -> options.duration = duration(name, value);
				case "lock-wait" -> options.lockWait = duration(name, value);
				case "idle-settle" -> options.idleSettle = duration(name, value);
				case "idle-window" -> options.idleWindow = duration(name, value);
				case "cycle-window" -> options.cycleWindow = duration(name, value);
				case "cycle-warmup" -> options.cycleWarmup = duration(name, value);
				case "distinct-threads" -> options.distinctThreads = Integer.parseInt(required(name, value));
				case "million-rows" -> options.millionRows = Long.parseLong(required(name, value));
				case "docs" -> options.docs = required(name, value);
				default -> throw new IllegalArgumentException("Unknown option '--" + name + "'");
			}
		}
		if (options.scenarios.isEmpty()) {
			options.scenarios.addAll(ALL);
		}
		if (!options.experiments.isEmpty() && !options.adapters.contains("leasehold-exp")) {
			options.adapters = new ArrayList<>(options.adapters);
			options.adapters.add("leasehold-exp");
		}
		if (options.smoke) {
			options.warmup = Duration.ofMillis(300);
			options.duration = Duration.ofMillis(1500);
			options.idleSettle = Duration.ofMillis(500);
			options.idleWindow = Duration.ofMillis(1500);
			options.cycleWarmup = Duration.ofMillis(200);
			options.cycleWindow = Duration.ofMillis(500);
			options.millionRows = Math.min(options.millionRows, 10_000);
		}
		return options;
	}

	private static String required(String name, String value) {
		if (value == null || value.isEmpty()) {
			throw new IllegalArgumentException("Option --" + name + " needs a value");
		}
		return value;
	}

	/** {@code 10s}, {@code 500ms}, {@code 2m}, or an ISO-8601 duration. */
	static Duration duration(String name, String value) {
		String text = required(name, value).trim().toLowerCase(Locale.ROOT);
		try {
			if (text.endsWith("ms")) {
				return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
			}
			if (text.endsWith("us")) {
				return Duration.ofNanos(Long.parseLong(text.substring(0, text.length() - 2)) * 1000);
			}
			if (text.endsWith("s")) {
				return Duration.ofMillis(Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1000));
			}
			if (text.endsWith("m")) {
				return Duration.ofMinutes(Long.parseLong(text.substring(0, text.length() - 1)));
			}
			return Duration.parse(value);
		}
		catch (RuntimeException ex) {
			throw new IllegalArgumentException("Option --" + name + " is not a duration: " + value);
		}
	}

}
