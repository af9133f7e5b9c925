package io.leasehold.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The implementations the benchmark knows, by name.
 */
final class Adapters {

	static final String REFERENCE = "advisory";

	static final String FLOOR = "floor";

	/** Leasehold with {@code leasehold.lock.notify.prepare-hand-overs=false}: each hand-over a statement. */
	static final String UNPREPARED = "leasehold-unprepared";

	private Adapters() {
	}

	private static List<String> with(List<String> properties, String property) {
		List<String> all = new ArrayList<>(properties);
		all.add(property);
		return all;
	}

	static LockAdapter create(String name, BenchDatabase database, BenchOptions options) throws Exception {
		return switch (name) {
			case "leasehold" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, Set.of());
			case UNPREPARED -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					with(options.leaseholdProperties, "leasehold.lock.notify.prepare-hand-overs=false"),
					options.diagnose, Set.of());
			case "leasehold-exp" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, options.experiments);
			case "advisory" -> new AdvisoryLockAdapter(database, options.nodes);
			case FLOOR -> new FloorAdapter(FLOOR, database, options.nodes, options.poolSize, "bench_floor_lock");
			case AnnotatedLeaseholdAdapter.NAME -> AnnotatedLeaseholdAdapter.start(database, options);
			case "shedlock" -> new ShedLockAdapter(database, options.nodes, options.poolSize);
			case "jdbc-registry" -> new JdbcRegistryAdapter(database, options.nodes, options.poolSize);
			case HandoverFloorAdapter.NAME -> new HandoverFloorAdapter(database, options.nodes, options.poolSize);
			default -> throw new IllegalArgumentException("Unknown adapter '" + name + "' (known: floor, advisory, leasehold, leasehold-unprepared, leasehold-annotated, shedlock, jdbc-registry, leasehold-exp, handover-floor)");
		};
	}

}
