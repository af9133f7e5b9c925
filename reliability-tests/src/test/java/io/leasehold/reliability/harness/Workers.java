package io.leasehold.reliability.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;

import org.springframework.util.FileSystemUtils;

import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Fault;

/**
 * The workers of one scenario run: started together, held at a go file until every one is
 * ready, then released at once. Closing kills whatever still runs.
 */
public final class Workers implements AutoCloseable {

	private final Path dir;

	private final Path goFile;

	private final Databases databases;

	private final List<WorkerProcess> workers = new ArrayList<>();

	public Workers(Databases databases, Path dir) throws IOException {
		this.databases = databases;
		this.dir = dir;
		// histories are appended to (a restarted worker goes on in its file): none of an earlier run
		FileSystemUtils.deleteRecursively(dir);
		Files.createDirectories(dir);
		this.goFile = dir.resolve("go");
	}

	public Path dir() {
		return this.dir;
	}

	/** Starts a worker waiting for {@link #go()}, configured by the given customizer. */
	public WorkerProcess start(String id, UnaryOperator<WorkerProcess.Builder> settings) throws IOException {
		WorkerProcess worker = settings.apply(WorkerProcess.builder(id, this.databases, this.dir).goFile(this.goFile))
			.start();
		this.workers.add(worker);
		return worker;
	}

	public List<WorkerProcess> all() {
		return List.copyOf(this.workers);
	}

	public WorkerProcess get(String id) {
		return this.workers.stream().filter((w) -> w.id().equals(id)).findFirst().orElseThrow();
	}

	/** Waits until every worker is ready, then lets them all begin. */
	public void go(Duration readyTimeout) throws IOException, InterruptedException, TimeoutException {
		for (WorkerProcess worker : this.workers) {
			worker.awaitReady(readyTimeout);
		}
		Files.createFile(this.goFile);
	}

	/** Waits for every worker that is still alive to exit by itself. */
	public void awaitExit(Duration timeout) throws InterruptedException, TimeoutException {
		long deadline = System.nanoTime() + timeout.toNanos();
		for (WorkerProcess worker : this.workers) {
			long left = Math.max(1, deadline - System.nanoTime());
			int code = worker.awaitExit(Duration.ofNanos(left));
			boolean signalled = worker.faults()
				.stream()
				.anyMatch((f) -> f.kind() == Fault.Kind.KILL || f.kind() == Fault.Kind.TERM);
			if (code != 0 && !signalled) {
				throw new IllegalStateException("Worker " + worker.id() + " exited with " + code + ":\n" + worker.tail());
			}
		}
	}

	public List<Event> events() {
		List<Event> events = new ArrayList<>();
		this.workers.forEach((worker) -> events.addAll(worker.events()));
		return events;
	}

	public List<Fault> faults() {
		List<Fault> faults = new ArrayList<>();
		this.workers.forEach((worker) -> faults.addAll(worker.faults()));
		return faults;
	}

	@Override
	public void close() {
		this.workers.forEach(WorkerProcess::close);
	}

}
