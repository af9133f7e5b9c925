package io.leasehold.benchmarks;

import java.util.Set;

/**
 * The implementations the benchmark knows, by name.
 */
final class Adapters {

	static final String REFERENCE = "advisory";

	private Adapters() {
	}

	static LockAdapter create(String name, BenchDatabase database, BenchOptions options) throws Exception {
		return switch (name) {
			case "leasehold" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, Set.of());
			case "leasehold-exp" -> LeaseholdAdapter.start(name, database, options.nodes, options.poolSize,
					options.leaseholdProperties, options.diagnose, options.experiments);
			case "advisory" -> new AdvisoryLockAdapter(database, options.nodes);
			default -> throw new IllegalArgumentException("Unknown adapter '" + name + "' (known: advisory, leasehold, leasehold-exp)");
		};
	}

}
