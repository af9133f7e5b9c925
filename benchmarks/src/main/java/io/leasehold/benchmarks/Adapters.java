package io.leasehold.benchmarks;

import java.util.Set;

/**
 * The implementations the benchmark knows, by name.
 */
final class Adapters {

	static final String REFERENCE = "advisory";

	static final String FLOOR = "floor";

	private Adapters() {
	}

	static LockAdapter create(String name, BenchDatabase database, BenchOptions options) throws Exception {
		return switch (name) {
			case "leasehold" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, Set.of());
			case "leasehold-exp" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, options.experiments);
			case "advisory" -> new AdvisoryLockAdapter(database, options.nodes);
			case FLOOR -> new FloorAdapter(FLOOR, database, options.nodes, options.poolSize, "bench_floor_lock");
			case AnnotatedLeaseholdAdapter.NAME -> AnnotatedLeaseholdAdapter.start(database, options);
			case "shedlock" -> new ShedLockAdapter(database, options.nodes, options.poolSize);
			case "jdbc-registry" -> new JdbcRegistryAdapter(database, options.nodes, options.poolSize);
			case HandoverFloorAdapter.NAME -> new HandoverFloorAdapter(database, options.nodes, options.poolSize);
			default -> throw new IllegalArgumentException("Unknown adapter '" + name + "' (known: floor, advisory, leasehold, leasehold-annotated, shedlock, jdbc-registry, leasehold-exp, handover-floor)");
		};
	}

}
