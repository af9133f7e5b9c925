package io.leasehold.reliability;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.env.Environment;

/**
 * What one worker does, from {@code worker.*} properties (command-line arguments
 * {@code --worker.id=w1} or system properties). The lease itself is configured through
 * {@code spring.datasource.*} and {@code leasehold.lock.*} (lease time, wait time, auto-renew).
 *
 * @param id worker id, written on every event and in the store's log ({@code worker.id})
 * @param history history file ({@code worker.history})
 * @param storeUrl JDBC URL of the store database ({@code worker.store-url}); user from {@code worker.store-user}
 * @param storeUser user for the store database
 * @param locks lock keys; each iteration picks one at random; the lock name is {@code rel:<key>} ({@code worker.locks})
 * @param api {@code manager} (LockManager) or {@code annotation} (@DistributedLock) ({@code worker.api})
 * @param fenced whether the store checks tokens ({@code worker.mode=fenced|unfenced})
 * @param iterations iterations to run, 0 for no limit ({@code worker.iterations})
 * @param duration how long to run, 0 for no limit ({@code worker.duration})
 * @param workMin shortest work time between read and write ({@code worker.work-min})
 * @param workMax longest work time ({@code worker.work-max})
 * @param idle pause after each iteration ({@code worker.idle})
 * @param threads how many threads run iterations side by side ({@code worker.threads}); with more than one,
 * a worker's own callers wait for each other, and its releases hand the lock over among them
 * @param goFile when set, the workload starts once this file exists ({@code worker.go-file})
 */
public record WorkerSettings(String id, Path history, String storeUrl, String storeUser, List<String> locks, String api,
		boolean fenced, long iterations, Duration duration, Duration workMin, Duration workMax, Duration idle,
		int threads, @Nullable Path goFile) {

	/** Lock names are this prefix, a colon and the key, so @DistributedLock(name = PREFIX, key = ...) matches. */
	public static final String PREFIX = "rel";

	public static String lockName(String key) {
		return PREFIX + ":" + key;
	}

	public static WorkerSettings from(Environment env) {
		String mode = env.getProperty("worker.mode", "fenced");
		String api = env.getProperty("worker.api", "manager");
		if (!mode.equals("fenced") && !mode.equals("unfenced")) {
			throw new IllegalArgumentException("worker.mode must be fenced or unfenced, but was " + mode);
		}
		if (!api.equals("manager") && !api.equals("annotation")) {
			throw new IllegalArgumentException("worker.api must be manager or annotation, but was " + api);
		}
		String go = env.getProperty("worker.go-file");
		return new WorkerSettings(env.getRequiredProperty("worker.id"), Path.of(env.getRequiredProperty("worker.history")),
				env.getRequiredProperty("worker.store-url"), env.getProperty("worker.store-user", "postgres"),
				Arrays.stream(env.getProperty("worker.locks", "c1").split(",")).map(String::trim).toList(), api,
				mode.equals("fenced"), env.getProperty("worker.iterations", Long.class, 0L),
				duration(env, "worker.duration", "0s"), duration(env, "worker.work-min", "50ms"),
				duration(env, "worker.work-max", "150ms"), duration(env, "worker.idle", "0s"),
				env.getProperty("worker.threads", Integer.class, 1), (go != null && !go.isBlank()) ? Path.of(go) : null);
	}

	private static Duration duration(Environment env, String name, String fallback) {
		return DurationStyle.detectAndParse(env.getProperty(name, fallback).trim());
	}

}
