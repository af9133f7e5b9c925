package io.leasehold.reliability.harness;

import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import io.leasehold.reliability.CounterStore;
import io.leasehold.reliability.WorkerSettings;
import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.check.Leftovers;
import io.leasehold.reliability.check.StoreState;

/**
 * One run of a scenario: fresh counters for the given lock keys, a {@link Workers} group in
 * {@code target/reliability/<name>}, and after the workers are gone the checker's result and
 * what was left behind.
 */
public final class ScenarioRun implements AutoCloseable {

	private final Databases databases;

	private final Workers workers;

	private final List<Fault> faults = new ArrayList<>();

	private Checker.Result result;

	private Leftovers leftovers;

	public ScenarioRun(Databases databases, String name, String... lockKeys) throws Exception {
		this.databases = databases;
		databases.resetLeases();
		CounterStore.prepare(databases.storeDataSource(),
				Arrays.stream(lockKeys).map(WorkerSettings::lockName).toList(), true);
		this.workers = new Workers(databases, Path.of("target", "reliability", name));
	}

	public Workers workers() {
		return this.workers;
	}

	/** Records a fault the controller injected other than a signal (a proxy fault), for the checker. */
	public synchronized Fault fault(String worker, Fault.Kind kind) {
		Fault fault = new Fault(worker, kind, ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()));
		this.faults.add(fault);
		return fault;
	}

	/** Every fault so far: the workers' signals and those recorded with {@link #fault}. */
	public synchronized List<Fault> faults() {
		List<Fault> all = new ArrayList<>(this.workers.faults());
		all.addAll(this.faults);
		return all;
	}

	/**
	 * Checks the run once every worker has exited.
	 * @param callBound longest an acquire or release may take (I7)
	 * @param leftoverWait how long leases of killed workers may take to expire (I6)
	 */
	public Checker.Result check(Duration callBound, Duration leftoverWait) throws SQLException, InterruptedException {
		this.result = Checker.check(this.workers.events(), faults(),
				StoreState.read(this.databases.storeDataSource()), callBound);
		this.leftovers = Leftovers.await(this.databases.lockDataSource(), this.databases.storeDataSource(),
				leftoverWait);
		return this.result;
	}

	public Checker.Result result() {
		return this.result;
	}

	public Leftovers leftovers() {
		return this.leftovers;
	}

	public List<WorkerProcess> all() {
		return this.workers.all();
	}

	@Override
	public void close() {
		this.workers.close();
	}

}
