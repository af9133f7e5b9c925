package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * Acquire latency with the lease table empty, then holding {@code --million-rows} rows (default
 * 1,000,000, expired leases as a long-lived application leaves them), for Leasehold and the floor,
 * each on a table of its own ({@code leasehold.lock.table-name} for Leasehold, whose clean-up is
 * off so the rows stay). The rows are inserted by one {@code INSERT ... SELECT generate_series},
 * then {@code ANALYZE}d.
 */
final class MillionRowsScenario {

	static final String FLOOR_TABLE = "bench_million_floor_" + ProcessHandle.current().pid();

	static final String LEASEHOLD_TABLE = "bench_million_lease_" + ProcessHandle.current().pid();

	private final BenchOptions options;

	MillionRowsScenario(BenchOptions options) {
		this.options = options;
	}

	record Result(String adapter, long rows, CycleScenarios.Uncontended empty, CycleScenarios.Uncontended full) {

		double ratio() {
			return (double) this.full.acquire().p50() / this.empty.acquire().p50();
		}

		void print() {
			System.out.println();
			System.out.printf(Locale.ROOT, "== %s: acquire latency, lease table empty vs %,d rows ==%n", this.adapter,
					this.rows);
			System.out.println("  empty: acquire " + CycleScenarios.micros(this.empty.acquire()));
			System.out.println("  full : acquire " + CycleScenarios.micros(this.full.acquire()));
			System.out.printf(Locale.ROOT, "  full/empty acquire p50 %.2f, p99 %.2f%n", ratio(),
					(double) this.full.acquire().p99() / this.empty.acquire().p99());
		}

	}

	List<Result> run(BenchDatabase database) throws Exception {
		List<Result> results = new ArrayList<>();
		drop(database, FLOOR_TABLE);
		try (FloorAdapter floor = new FloorAdapter("floor", database, 1, this.options.poolSize, FLOOR_TABLE)) {
			results.add(measure(database, floor, FLOOR_TABLE));
		}
		drop(database, FLOOR_TABLE);
		drop(database, LEASEHOLD_TABLE);
		List<String> properties = new ArrayList<>(this.options.leaseholdProperties);
		properties.add("leasehold.lock.table-name=" + LEASEHOLD_TABLE);
		properties.add("leasehold.lock.sequence-name=" + LEASEHOLD_TABLE + "_seq");
		properties.add("leasehold.lock.cleanup.enabled=false");
		try (LeaseholdAdapter leasehold = LeaseholdAdapter.start("leasehold", database, 1, this.options.poolSize,
				properties, false, java.util.Set.of())) {
			results.add(measure(database, leasehold, LEASEHOLD_TABLE));
		}
		drop(database, LEASEHOLD_TABLE);
		return results;
	}

	private Result measure(BenchDatabase database, LockAdapter adapter, String table) throws Exception {
		CycleScenarios cycles = new CycleScenarios(this.options);
		String prefix = "bench-million-probe-" + UUID.randomUUID() + "-";
		CycleScenarios.Uncontended empty = cycles.uncontended(adapter, prefix);
		long rows = this.options.millionRows;
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			long started = System.nanoTime();
			statement.execute("INSERT INTO " + table + " (lock_name, owner_id, fencing_token, acquired_at, expires_at)"
					+ " SELECT 'bench-million-' || g, 'bench-filler', -g, now() - interval '2 hours', now() - interval '1 hour'"
					+ " FROM generate_series(1, " + rows + ") AS g");
			statement.execute("ANALYZE " + table);
			System.out.printf(Locale.ROOT, "  (%s: %,d rows inserted into %s in %.1f s)%n", adapter.name(), rows, table,
					(System.nanoTime() - started) / 1e9);
		}
		CycleScenarios.Uncontended full = cycles.uncontended(adapter, prefix);
		Result result = new Result(adapter.name(), rows, empty, full);
		result.print();
		return result;
	}

	private static void drop(BenchDatabase database, String table) throws SQLException {
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			statement.execute("DROP TABLE IF EXISTS " + table);
			statement.execute("DROP SEQUENCE IF EXISTS " + table + "_seq");
		}
	}

}
