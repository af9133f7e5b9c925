package io.leasehold.reliability.infra;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL instance the suite starts and controls itself: its own data directory under
 * {@code target/pg}, its own loopback port, and {@code postgres} started directly from this JVM
 * (not through pg_ctl or a shell), so {@link #pid()} is the postmaster and this JVM reaps it.
 *
 * <p>Faults: {@link #kill9()} (the postmaster and every backend, SIGKILL), {@link #freeze()} /
 * {@link #thaw()} (SIGSTOP/SIGCONT of the postmaster and all its children), streaming standbys
 * ({@link #createStandby}, {@link #promote()}) and replication lag
 * ({@link #pauseReplication()}: SIGSTOP of the primary's walsender for this standby).
 *
 * <p>Binaries: see {@link PgBinaries}. When none exist, {@link #assumeAvailable()} skips the
 * calling test with the reason. As root, initdb and postgres run as user {@code postgres}.
 */
public final class PostgresServer implements AutoCloseable {

	/** The superuser; every instance trusts it on loopback. */
	public static final String USER = "postgres";

	private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

	private static final AtomicInteger SEQUENCE = new AtomicInteger();

	private static final Object TEMPLATE_LOCK = new Object();

	/** Instances not yet closed: killed by a shutdown hook, so a crashed test leaves no server. */
	private static final java.util.Set<PostgresServer> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

	static {
		Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(server -> {
			try {
				server.kill9();
			}
			catch (RuntimeException ex) {
				// best effort at exit
			}
		}), "postgres-server-reaper"));
	}

	private final String name;

	private final PgBinaries binaries;

	private final Path home;

	private final Path dataDir;

	private final Path logFile;

	private final PostgresServer primary;

	private final List<String> synchronousStandbys = new ArrayList<>();

	private volatile int port;

	private volatile Process postmaster;

	private volatile List<Long> frozen = List.of();

	private volatile long pausedWalSender = -1;

	private volatile boolean standby;

	private boolean startedBefore;

	private PostgresServer(String name, PgBinaries binaries, PostgresServer primary) {
		this.name = name;
		this.binaries = binaries;
		this.primary = primary;
		this.home = workRoot().resolve(name + "-" + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet());
		this.dataDir = this.home.resolve("data");
		this.logFile = this.home.resolve("postgres.log");
		this.port = freePort();
		LIVE.add(this);
	}

	/** {@code <module>/target/pg}: instance homes, the initdb template, extracted binaries. */
	static Path workRoot() {
		String basedir = System.getProperty("basedir");
		Path module = basedir != null ? Path.of(basedir) : Path.of("").toAbsolutePath();
		if (!module.getFileName().toString().equals("reliability-tests")
				&& Files.isDirectory(module.resolve("reliability-tests"))) {
			module = module.resolve("reliability-tests");
		}
		return module.resolve("target").resolve("pg").toAbsolutePath();
	}

	/** Skips the calling test, with the reason printed, when no PostgreSQL binaries exist. */
	public static void assumeAvailable() {
		Object lookup = PgBinaries.lookup();
		if (lookup instanceof String reason) {
			System.out.println("SKIPPED (no PostgreSQL server): " + reason);
		}
		Assumptions.assumeTrue(lookup instanceof PgBinaries, () -> "no PostgreSQL server: " + lookup);
	}

	/** Which server binaries the suite runs, and their version, for the report. */
	public static String binariesDescription() {
		Object lookup = PgBinaries.lookup();
		if (!(lookup instanceof PgBinaries binaries)) {
			return "none (" + lookup + ")";
		}
		String where = " (" + binaries.source() + ", " + binaries.bin() + ")";
		try {
			Process process = new ProcessBuilder(binaries.tool("postgres").toString(), "--version").redirectErrorStream(true)
				.start();
			String version = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
			process.waitFor();
			return version + where;
		}
		catch (IOException | InterruptedException ex) {
			if (ex instanceof InterruptedException) {
				Thread.currentThread().interrupt();
			}
			return "version unknown" + where;
		}
	}

	/** Skips the calling test, with the reason printed, when standbys cannot be made. */
	public static void assumeStandbysAvailable() {
		assumeAvailable();
		PgBinaries binaries = (PgBinaries) PgBinaries.lookup();
		boolean ok = binaries.has("pg_basebackup") && binaries.has("pg_ctl");
		String reason = "the " + binaries.source() + " PostgreSQL binaries in " + binaries.bin()
				+ " have no pg_basebackup/pg_ctl: no standbys";
		if (!ok) {
			System.out.println("SKIPPED: " + reason);
		}
		Assumptions.assumeTrue(ok, reason);
	}

	/** A new instance (initialised, not started). Call {@link #assumeAvailable()} first in tests. */
	public static Builder builder(String name) {
		return new Builder(name);
	}

	/** Settings written to postgresql.conf at init. */
	public static final class Builder {

		private final String name;

		private final Map<String, String> settings = new LinkedHashMap<>();

		private Builder(String name) {
			if (!name.matches("[A-Za-z0-9_-]+")) {
				throw new IllegalArgumentException("instance name must match [A-Za-z0-9_-]+: " + name);
			}
			this.name = name;
			this.settings.put("listen_addresses", "'127.0.0.1'");
			this.settings.put("unix_socket_directories", "''");
			this.settings.put("max_connections", "100");
			this.settings.put("shared_buffers", "'16MB'");
			this.settings.put("fsync", "on");
			this.settings.put("synchronous_commit", "on");
			this.settings.put("wal_level", "replica");
			this.settings.put("max_wal_senders", "10");
			this.settings.put("max_replication_slots", "10");
			this.settings.put("hot_standby", "on");
			this.settings.put("wal_retrieve_retry_interval", "'200ms'");
			// crash recovery and a fresh standby fsync the data directory first: one syncfs(), not a walk
			this.settings.put("recovery_init_sync_method", "syncfs");
			this.settings.put("logging_collector", "off");
			this.settings.put("log_line_prefix", "'%m [%p] %a '");
			this.settings.put("log_min_messages", "warning");
		}

		/** A postgresql.conf line; the value as it would appear there (strings quoted). */
		public Builder setting(String key, String value) {
			this.settings.put(key, value);
			return this;
		}

		/** {@code synchronous_commit} on the server (off loses acknowledged commits on kill -9). */
		public Builder synchronousCommit(boolean on) {
			return setting("synchronous_commit", on ? "on" : "off");
		}

		/** Initialises the data directory (from a per-run initdb template), not started. */
		public PostgresServer init() {
			Object lookup = PgBinaries.lookup();
			if (!(lookup instanceof PgBinaries binaries)) {
				throw new IllegalStateException("no PostgreSQL server: " + lookup);
			}
			PostgresServer server = new PostgresServer(this.name, binaries, null);
			server.initFromTemplate(this.settings);
			return server;
		}

		/** Initialises and starts; returns once it accepts connections. */
		public PostgresServer start() {
			PostgresServer server = init();
			server.start();
			return server;
		}

	}

	public String name() {
		return this.name;
	}

	public int port() {
		return this.port;
	}

	public Path dataDir() {
		return this.dataDir;
	}

	public Path logFile() {
		return this.logFile;
	}

	/** The postmaster's pid; fails when not running. */
	public long pid() {
		Process process = this.postmaster;
		if (process == null || !process.isAlive()) {
			throw new IllegalStateException(this.name + " is not running");
		}
		return process.pid();
	}

	public boolean isRunning() {
		Process process = this.postmaster;
		return process != null && process.isAlive();
	}

	public boolean isFrozen() {
		return !this.frozen.isEmpty();
	}

	/** Whether this instance is a standby that has not been promoted. */
	public boolean isStandby() {
		return this.standby;
	}

	/** {@code jdbc:postgresql://127.0.0.1:<port>/<database>?user=postgres}. */
	public String jdbcUrl(String database) {
		return "jdbc:postgresql://127.0.0.1:" + this.port + "/" + database + "?user=" + USER;
	}

	/** A new connection (caller closes it); connect timeout 5 s, no socket timeout. */
	public Connection connect(String database) throws SQLException {
		Properties properties = new Properties();
		properties.setProperty("connectTimeout", "5");
		return DriverManager.getConnection(jdbcUrl(database), properties);
	}

	public void createDatabase(String database) {
		execute("postgres", "CREATE DATABASE \"" + database.replace("\"", "\"\"") + "\"");
	}

	/** Runs one statement (auto-commit) in {@code database}. */
	public void execute(String database, String sql) {
		try (Connection connection = connect(database); Statement statement = connection.createStatement()) {
			statement.execute(sql);
		}
		catch (SQLException ex) {
			throw new IllegalStateException(this.name + ": " + sql + ": " + ex.getMessage(), ex);
		}
	}

	/**
	 * Starts the postmaster on this instance's port; returns once it accepts connections. On the
	 * first start only, a port taken meanwhile by someone else is replaced by another free one.
	 */
	public synchronized void start() {
		for (int attempt = 1;; attempt++) {
			try {
				startOnce();
				this.startedBefore = true;
				return;
			}
			catch (IllegalStateException ex) {
				boolean portTaken = logTail().contains("could not create any TCP/IP sockets");
				if (this.startedBefore || !portTaken || attempt == 3) {
					throw ex;
				}
				this.port = freePort();
				appendConf("postgresql.conf", Map.of("port", Integer.toString(this.port)));
			}
		}
	}

	private void startOnce() {
		if (isRunning()) {
			throw new IllegalStateException(this.name + " is already running (pid " + this.postmaster.pid() + ")");
		}
		try {
			appendLog("---- start " + java.time.Instant.now() + " on port " + this.port);
			ProcessBuilder builder = new ProcessBuilder(PgBinaries.asPostgresUser(
					List.of(this.binaries.tool("postgres").toString(), "-D", this.dataDir.toString())))
				.directory(this.home.toFile())
				.redirectErrorStream(true)
				.redirectOutput(Redirect.appendTo(this.logFile.toFile()));
			builder.environment().put("LC_ALL", "C");
			this.postmaster = builder.start();
			this.postmaster.getOutputStream().close();
		}
		catch (IOException ex) {
			throw new IllegalStateException(this.name + ": cannot start postgres", ex);
		}
		long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
		while (true) {
			if (!this.postmaster.isAlive()) {
				throw new IllegalStateException(this.name + ": postgres exited with " + this.postmaster.exitValue()
						+ " during start; log " + this.logFile + ":\n" + logTail());
			}
			try (Connection connection = connectQuickly()) {
				return;
			}
			catch (SQLException notYet) {
				if (System.nanoTime() > deadline) {
					throw new IllegalStateException(this.name + ": not accepting connections after "
							+ START_TIMEOUT + "; last error " + notYet.getMessage() + "; log:\n" + logTail());
				}
				sleep(50);
			}
		}
	}

	/** Fast shutdown (SIGINT), thawing first; kill -9 if it does not finish in 30 s. */
	public synchronized void stop() {
		if (!isRunning()) {
			return;
		}
		thaw();
		resumeReplicationQuietly();
		OsProcesses.signal("INT", List.of(this.postmaster.pid()));
		if (!waitFor(this.postmaster, Duration.ofSeconds(30))) {
			kill9();
			return;
		}
		waitUntilPortFree();
	}

	/**
	 * SIGKILL of the postmaster and then of every remaining backend of this instance; returns
	 * once all are gone and the port is free. Committed (flushed) data survives; with
	 * {@code synchronous_commit=off} the last acknowledged commits may not.
	 */
	public synchronized void kill9() {
		Process process = this.postmaster;
		if (process == null || !process.isAlive()) {
			return;
		}
		long pid = process.pid();
		// stopped first, so it cannot fork a backend we would miss
		OsProcesses.stop(List.of(pid));
		awaitStopped(List.of(pid));
		List<Long> children = OsProcesses.descendants(pid);
		OsProcesses.kill(List.of(pid));
		OsProcesses.kill(children);
		waitFor(process, Duration.ofSeconds(10));
		await(() -> children.stream().allMatch(OsProcesses::isDead), Duration.ofSeconds(10),
				"backends of " + this.name + " still alive after SIGKILL: " + children);
		this.frozen = List.of();
		this.pausedWalSender = -1;
		waitUntilPortFree();
	}

	/** Stop (fast) if running, then start on the same data directory and port. */
	public synchronized void restart() {
		stop();
		start();
	}

	/**
	 * SIGSTOP of the postmaster and all its children: connections stay open, nothing answers.
	 * Idempotent.
	 */
	public synchronized void freeze() {
		if (isFrozen()) {
			return;
		}
		long pid = pid();
		// the postmaster first, and really stopped (delivery is asynchronous), so it cannot fork
		// a backend we would miss
		OsProcesses.stop(List.of(pid));
		awaitStopped(List.of(pid));
		List<Long> all = new ArrayList<>(List.of(pid));
		all.addAll(OsProcesses.descendants(pid));
		this.frozen = List.copyOf(all);
		OsProcesses.stop(all);
		awaitStopped(all);
	}

	/** SIGCONT of everything {@link #freeze()} stopped. Idempotent. */
	public synchronized void thaw() {
		List<Long> pids = this.frozen;
		if (pids.isEmpty()) {
			return;
		}
		OsProcesses.cont(pids);
		this.frozen = List.of();
	}

	/**
	 * A streaming standby of this running instance ({@code pg_basebackup -R -X stream -C -S
	 * <slot>}), started and streaming when this returns. When {@code synchronous}, this primary
	 * lists it in {@code synchronous_standby_names} and the method waits until it is the sync
	 * standby; the standby's own copy of that setting is cleared, so a promoted standby does not
	 * wait for a standby of its own on every commit.
	 */
	public synchronized PostgresServer createStandby(String standbyName, boolean synchronous) {
		if (!this.binaries.has("pg_basebackup")) {
			throw new IllegalStateException("no pg_basebackup in " + this.binaries.bin());
		}
		PostgresServer standby = new PostgresServer(standbyName, this.binaries, this);
		try {
			Files.createDirectories(standby.dataDir);
			Files.setPosixFilePermissions(standby.dataDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot create " + standby.dataDir, ex);
		}
		PgBinaries.chownToPostgres(standby.home);
		String conninfo = "host=127.0.0.1 port=" + this.port + " user=" + USER + " application_name=" + standbyName;
		OsProcesses.run(PgBinaries.asPostgresUser(List.of(this.binaries.tool("pg_basebackup").toString(),
				"-D", standby.dataDir.toString(), "-R", "-X", "stream", "-C", "-S", standby.slotName(),
				"--checkpoint=fast", "--no-sync", "-d", conninfo)), 120, false);
		standby.appendConf("postgresql.conf", Map.of("port", Integer.toString(standby.port)));
		standby.appendConf("postgresql.auto.conf", Map.of("synchronous_standby_names", "''"));
		standby.standby = true;
		standby.start();
		await(() -> "streaming".equals(replicationState(standbyName, "state")), START_TIMEOUT,
				standbyName + " not streaming from " + this.name);
		if (synchronous) {
			this.synchronousStandbys.add(standbyName);
			applySynchronousStandbys();
			await(() -> "sync".equals(replicationState(standbyName, "sync_state")), START_TIMEOUT,
					standbyName + " did not become the synchronous standby of " + this.name);
		}
		return standby;
	}

	/**
	 * Replaces this primary's {@code synchronous_standby_names} ({@code FIRST 1 (...)} of the
	 * given standbys; none: asynchronous) and reloads. Commits wait for a listed standby, so clear
	 * it before closing the only synchronous standby of a primary that keeps running.
	 */
	public synchronized void setSynchronousStandbys(String... standbyNames) {
		this.synchronousStandbys.clear();
		this.synchronousStandbys.addAll(List.of(standbyNames));
		applySynchronousStandbys();
	}

	/**
	 * Waits until this standby has replayed all the WAL it received: the state a promotion starts
	 * from, readable before anyone can write to it.
	 */
	public synchronized void awaitReplayed() {
		if (!this.standby) {
			throw new IllegalStateException(this.name + " is not a standby");
		}
		await(() -> Boolean.TRUE.equals(
				queryValue("SELECT coalesce(pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn(), true)")),
				START_TIMEOUT, this.name + " has not replayed the WAL it received");
	}

	/** {@code pg_ctl promote} of this standby; returns once it accepts writes. */
	public synchronized void promote() {
		if (!this.standby) {
			throw new IllegalStateException(this.name + " is not a standby");
		}
		resumeReplicationQuietly();
		OsProcesses.run(PgBinaries.asPostgresUser(List.of(this.binaries.tool("pg_ctl").toString(), "promote",
				"-D", this.dataDir.toString(), "-w", "-t", "60")), 70, false);
		await(() -> Boolean.FALSE.equals(queryValue("SELECT pg_is_in_recovery()")), START_TIMEOUT,
				this.name + " still in recovery after pg_ctl promote");
		this.standby = false;
	}

	/**
	 * Replication lag for this standby: SIGSTOP of the primary's walsender that serves it. With
	 * a synchronous standby, commits on the primary then wait. Undo with
	 * {@link #resumeReplication()}.
	 */
	public synchronized void pauseReplication() {
		if (this.primary == null) {
			throw new IllegalStateException(this.name + " is not a standby");
		}
		if (this.pausedWalSender > 0) {
			return;
		}
		Object pid = this.primary.queryValue(
				"SELECT pid FROM pg_stat_replication WHERE application_name = '" + this.name + "'");
		if (!(pid instanceof Number walSender)) {
			throw new IllegalStateException("no walsender on " + this.primary.name + " for " + this.name);
		}
		this.pausedWalSender = walSender.longValue();
		OsProcesses.stop(List.of(walSender.longValue()));
		awaitStopped(List.of(walSender.longValue()));
	}

	/** SIGCONT of the walsender {@link #pauseReplication()} stopped. */
	public synchronized void resumeReplication() {
		resumeReplicationQuietly();
	}

	/** Stops (thawing first) and deletes the data directory; the log stays for post-mortems. */
	@Override
	public synchronized void close() {
		try {
			stop();
		}
		finally {
			if (isRunning()) {
				kill9();
			}
			LIVE.remove(this);
			deleteRecursively(this.dataDir);
		}
	}

	@Override
	public String toString() {
		return "PostgresServer[" + this.name + " 127.0.0.1:" + this.port + (this.standby ? " standby" : "") + "]";
	}

	private void resumeReplicationQuietly() {
		long walSender = this.pausedWalSender;
		if (walSender > 0) {
			OsProcesses.cont(List.of(walSender));
			this.pausedWalSender = -1;
		}
	}

	private String slotName() {
		return this.name.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
	}

	private void applySynchronousStandbys() {
		String names = this.synchronousStandbys.stream().map(n -> "\"" + n + "\"").reduce((a, b) -> a + ", " + b)
			.map(list -> "FIRST 1 (" + list + ")").orElse("");
		execute("postgres", "ALTER SYSTEM SET synchronous_standby_names = '" + names + "'");
		execute("postgres", "SELECT pg_reload_conf()");
	}

	private String replicationState(String applicationName, String column) {
		Object value = queryValue("SELECT " + column + " FROM pg_stat_replication WHERE application_name = '"
				+ applicationName + "'");
		return value == null ? null : value.toString();
	}

	private Object queryValue(String sql) {
		try (Connection connection = connect("postgres"); Statement statement = connection.createStatement();
				ResultSet rows = statement.executeQuery(sql)) {
			return rows.next() ? rows.getObject(1) : null;
		}
		catch (SQLException ex) {
			return null;
		}
	}

	private Connection connectQuickly() throws SQLException {
		Properties properties = new Properties();
		properties.setProperty("connectTimeout", "2");
		properties.setProperty("socketTimeout", "5");
		return DriverManager.getConnection(jdbcUrl("postgres"), properties);
	}

	private void initFromTemplate(Map<String, String> settings) {
		Path template = template(this.binaries);
		try {
			Files.createDirectories(this.home);
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot create " + this.home, ex);
		}
		OsProcesses.run(List.of("cp", "-a", template.toString(), this.dataDir.toString()), 60, false);
		Map<String, String> all = new LinkedHashMap<>(settings);
		all.put("port", Integer.toString(this.port));
		appendConf("postgresql.conf", all);
	}

	/** An initdb'd data directory, made once per binaries and reused (copied) by every instance. */
	private static Path template(PgBinaries binaries) {
		synchronized (TEMPLATE_LOCK) {
			String key = Integer.toHexString(binaries.bin().toString().hashCode());
			Path template = workRoot().resolve("template-" + key);
			Path data = template.resolve("data");
			Path marker = template.resolve(".complete");
			if (Files.exists(marker)) {
				return data;
			}
			deleteRecursively(template);
			try {
				Files.createDirectories(template);
			}
			catch (IOException ex) {
				throw new IllegalStateException("cannot create " + template, ex);
			}
			PgBinaries.chownToPostgres(template);
			OsProcesses.run(PgBinaries.asPostgresUser(List.of(binaries.tool("initdb").toString(), "-D",
					data.toString(), "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync",
					"--no-instructions")), 120, false);
			try {
				Files.createFile(marker);
			}
			catch (IOException ex) {
				throw new IllegalStateException("cannot create " + marker, ex);
			}
			return data;
		}
	}

	private void appendConf(String file, Map<String, String> settings) {
		StringBuilder lines = new StringBuilder("\n# leasehold reliability-tests\n");
		settings.forEach((key, value) -> lines.append(key).append(" = ").append(value).append('\n'));
		try {
			Files.writeString(this.dataDir.resolve(file), lines, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot write " + file + " of " + this.name, ex);
		}
	}

	private void appendLog(String line) throws IOException {
		Files.createDirectories(this.home);
		Files.writeString(this.logFile, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
				StandardOpenOption.APPEND);
	}

	private String logTail() {
		try {
			List<String> lines = Files.readAllLines(this.logFile, StandardCharsets.UTF_8);
			return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
		}
		catch (IOException ex) {
			return "(no log: " + ex.getMessage() + ")";
		}
	}

	private void waitUntilPortFree() {
		await(() -> portFree(this.port), Duration.ofSeconds(10), "port " + this.port + " of " + this.name + " still bound");
	}

	private static boolean portFree(int port) {
		try (ServerSocket socket = new ServerSocket()) {
			socket.setReuseAddress(true);
			socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
			return true;
		}
		catch (IOException ex) {
			return false;
		}
	}

	private static int freePort() {
		try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
			return socket.getLocalPort();
		}
		catch (IOException ex) {
			throw new IllegalStateException("no free loopback port", ex);
		}
	}

	private void awaitStopped(List<Long> pids) {
		await(() -> pids.stream().allMatch(p -> OsProcesses.isStopped(p) || OsProcesses.isDead(p)),
				Duration.ofSeconds(10), "processes of " + this.name + " not stopped after SIGSTOP: " + pids);
	}

	private static boolean waitFor(Process process, Duration timeout) {
		try {
			return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("interrupted", ex);
		}
	}

	private static void await(BooleanSupplier condition, Duration timeout, String failure) {
		long deadline = System.nanoTime() + timeout.toNanos();
		while (!condition.getAsBoolean()) {
			if (System.nanoTime() > deadline) {
				throw new IllegalStateException(failure + " (waited " + timeout + ")");
			}
			sleep(20);
		}
	}

	private static void sleep(long millis) {
		try {
			Thread.sleep(millis);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("interrupted", ex);
		}
	}

	private static void deleteRecursively(Path path) {
		if (Files.exists(path)) {
			OsProcesses.run(List.of("rm", "-rf", path.toString()), 60, true);
		}
	}

}
