package io.leasehold.reliability.harness;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

import io.leasehold.reliability.WorkerApplication;
import io.leasehold.reliability.check.Event;
import io.leasehold.reliability.check.Fault;
import io.leasehold.reliability.check.HistoryReader;

/**
 * A worker JVM ({@link WorkerApplication}) started directly with {@link ProcessBuilder}, so
 * {@link #pid()} is the JVM's own; signals go through {@code kill} started the same way. Its
 * stdout and stderr go to {@code <dir>/<id>.out}, its history to {@code <dir>/<id>.jsonl}.
 * Every signal sent is kept as a {@link Fault} for the checker.
 */
public final class WorkerProcess implements AutoCloseable {

	private final String id;

	private final Process process;

	private final Path history;

	private final Path output;

	private final List<Fault> faults = new ArrayList<>();

	private WorkerProcess(String id, Process process, Path history, Path output) {
		this.id = id;
		this.process = process;
		this.history = history;
		this.output = output;
	}

	public static Builder builder(String id, Databases databases, Path dir) {
		return new Builder(id, databases, dir);
	}

	public String id() {
		return this.id;
	}

	public long pid() {
		return this.process.pid();
	}

	public Path history() {
		return this.history;
	}

	public Path output() {
		return this.output;
	}

	public boolean isAlive() {
		return this.process.isAlive();
	}

	public synchronized List<Fault> faults() {
		return List.copyOf(this.faults);
	}

	/** Waits for the worker's ready line; fails with its output when it exits or times out first. */
	public WorkerProcess awaitReady(Duration timeout) throws IOException, InterruptedException, TimeoutException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (System.nanoTime() - deadline < 0) {
			if (Files.exists(this.output)) {
				for (String line : Files.readAllLines(this.output)) {
					if (line.startsWith(WorkerApplication.READY + " ")) {
						return this;
					}
				}
			}
			if (!this.process.isAlive()) {
				throw new IllegalStateException("Worker " + this.id + " exited with " + this.process.exitValue()
						+ " before it was ready:\n" + tail());
			}
			Thread.sleep(20);
		}
		throw new TimeoutException("Worker " + this.id + " not ready within " + timeout + ":\n" + tail());
	}

	/** The history so far (a killed worker's last line may be cut short and is skipped). */
	public List<Event> events() {
		return HistoryReader.read(this.history);
	}

	/** Waits until the history holds an event the condition accepts, polling the file every 2 ms. */
	public Event awaitEvent(Predicate<Event> condition, Duration timeout) throws InterruptedException, TimeoutException {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (System.nanoTime() - deadline < 0) {
			Optional<Event> found = events().stream().filter(condition).findFirst();
			if (found.isPresent()) {
				return found.get();
			}
			Thread.sleep(2);
		}
		throw new TimeoutException("Worker " + this.id + ": no matching event within " + timeout);
	}

	/** SIGSTOP: the JVM freezes, its TCP connections stay open. */
	public Fault pause() throws IOException, InterruptedException {
		return signal("STOP", Fault.Kind.PAUSE);
	}

	/** SIGCONT. */
	public Fault resume() throws IOException, InterruptedException {
		return signal("CONT", Fault.Kind.RESUME);
	}

	/** SIGKILL: no shutdown hook runs, leases are left to expire. */
	public Fault kill() throws IOException, InterruptedException {
		return signal("KILL", Fault.Kind.KILL);
	}

	/** SIGTERM: Spring closes the context, which stops the workload and releases the leases. */
	public Fault terminate() throws IOException, InterruptedException {
		return signal("TERM", Fault.Kind.TERM);
	}

	private Fault signal(String signal, Fault.Kind kind) throws IOException, InterruptedException {
		Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid())).redirectErrorStream(true).start();
		long wall = ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
		if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
			throw new IllegalStateException("kill -" + signal + " " + pid() + " failed: "
					+ new String(kill.getInputStream().readAllBytes()));
		}
		Fault fault = new Fault(this.id, kind, wall);
		synchronized (this) {
			this.faults.add(fault);
		}
		return fault;
	}

	/** Waits for the JVM to exit and returns its exit code. */
	public int awaitExit(Duration timeout) throws InterruptedException, TimeoutException {
		if (!this.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
			throw new TimeoutException("Worker " + this.id + " still running after " + timeout);
		}
		return this.process.exitValue();
	}

	/** The last lines of the worker's output, for failure messages. */
	public String tail() {
		try {
			List<String> lines = Files.exists(this.output) ? Files.readAllLines(this.output) : List.of();
			return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
		}
		catch (IOException ex) {
			return "(cannot read " + this.output + ": " + ex + ")";
		}
	}

	/** Kills the JVM if it still runs (resuming it first, so a paused JVM does not linger). */
	@Override
	public void close() {
		if (this.process.isAlive()) {
			this.process.destroyForcibly();
			try {
				new ProcessBuilder("kill", "-CONT", Long.toString(pid())).start().waitFor(2, TimeUnit.SECONDS);
				this.process.waitFor(10, TimeUnit.SECONDS);
			}
			catch (IOException ex) {
				// already gone
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	/** Settings of one worker; see {@link io.leasehold.reliability.WorkerSettings} for their meaning. */
	public static final class Builder {

		private final String id;

		private final Path dir;

		private final Map<String, String> arguments = new LinkedHashMap<>();

		private final List<String> jvmOptions = new ArrayList<>(
				List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx192m", "-Xss512k"));

		private Builder(String id, Databases databases, Path dir) {
			this.id = id;
			this.dir = dir;
			this.arguments.put("worker.id", id);
			this.arguments.put("worker.history", dir.resolve(id + ".jsonl").toString());
			this.arguments.put("worker.store-url", databases.storeUrl());
			this.arguments.put("worker.store-user", databases.user());
			this.arguments.put("spring.datasource.url", databases.lockUrl());
			this.arguments.put("spring.datasource.username", databases.user());
		}

		/** {@code LockManager} (the default) or {@code @DistributedLock}. */
		public Builder annotation(boolean annotation) {
			return set("worker.api", annotation ? "annotation" : "manager");
		}

		public Builder fenced(boolean fenced) {
			return set("worker.mode", fenced ? "fenced" : "unfenced");
		}

		public Builder locks(String... keys) {
			return set("worker.locks", String.join(",", keys));
		}

		public Builder leaseTime(Duration leaseTime) {
			return set("leasehold.lock.lease-time", leaseTime.toMillis() + "ms");
		}

		public Builder waitTime(Duration waitTime) {
			return set("leasehold.lock.wait-time", waitTime.toMillis() + "ms");
		}

		public Builder autoRenew(boolean autoRenew) {
			return set("leasehold.lock.auto-renew", Boolean.toString(autoRenew));
		}

		public Builder iterations(long iterations) {
			return set("worker.iterations", Long.toString(iterations));
		}

		public Builder duration(Duration duration) {
			return set("worker.duration", duration.toMillis() + "ms");
		}

		public Builder work(Duration min, Duration max) {
			set("worker.work-min", min.toMillis() + "ms");
			return set("worker.work-max", max.toMillis() + "ms");
		}

		/** How many threads of the worker run iterations side by side. */
		public Builder threads(int threads) {
			return set("worker.threads", Integer.toString(threads));
		}

		public Builder idle(Duration idle) {
			return set("worker.idle", idle.toMillis() + "ms");
		}

		/** The workload starts once this file exists (see {@link Workers#go()}). */
		public Builder goFile(Path goFile) {
			return set("worker.go-file", goFile.toString());
		}

		/** Any Spring property, e.g. {@code spring.datasource.url} to route the lease connection through a proxy. */
		public Builder set(String property, String value) {
			this.arguments.put(property, value);
			return this;
		}

		public Builder jvmOption(String option) {
			this.jvmOptions.add(option);
			return this;
		}

		public WorkerProcess start() throws IOException {
			Files.createDirectories(this.dir);
			Path output = this.dir.resolve(this.id + ".out");
			Path history = Path.of(this.arguments.get("worker.history"));
			Files.deleteIfExists(history);
			List<String> command = new ArrayList<>();
			command.add(javaExecutable());
			command.addAll(this.jvmOptions);
			command.add("-cp");
			command.add(System.getProperty("java.class.path"));
			command.add(WorkerApplication.class.getName());
			this.arguments.forEach((key, value) -> command.add("--" + key + "=" + value));
			Process process = new ProcessBuilder(command).redirectErrorStream(true)
				.redirectOutput(output.toFile())
				.start();
			return new WorkerProcess(this.id, process, history, output);
		}

		private static String javaExecutable() {
			return ProcessHandle.current().info().command()
				.filter((command) -> command.endsWith("java"))
				.orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
		}

	}

}
