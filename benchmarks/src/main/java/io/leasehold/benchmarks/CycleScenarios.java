package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import com.zaxxer.hikari.HikariDataSource;

/**
 * The scenarios of issue 6 that need no waiting: {@code uncontended} (one thread, acquire+release
 * cycles over a few keys of its own), {@code distinct} (8 threads, each on its own key, spread
 * over the nodes) and the {@code SELECT 1} round trip. Each runs a warm-up, then a window.
 */
final class CycleScenarios {

	/** Keys the uncontended thread rotates over: existing rows, none held when it comes back. */
	static final int UNCONTENDED_KEYS = 16;

	private final BenchOptions options;

	CycleScenarios(BenchOptions options) {
		this.options = options;
	}

	/** Uncontended cycles: latency of the acquire and of the whole cycle. */
	record Uncontended(String adapter, Percentiles acquire, Percentiles cycle, double perSecond, long errors) {

		void print() {
			System.out.println();
			System.out.printf(Locale.ROOT, "== %s: uncontended (1 thread) ==%n", this.adapter);
			System.out.printf(Locale.ROOT, "  cycles/s %.0f, cycle %s%n  acquire  %s%n", this.perSecond,
					micros(this.cycle), micros(this.acquire));
		}

	}

	/** Distinct keys: cycles per second of all threads together. */
	record Distinct(String adapter, int threads, double perSecond, long errors) {

		void print() {
			System.out.println();
			System.out.printf(Locale.ROOT, "== %s: %d threads on distinct keys ==%n  cycles/s %.0f%s%n", this.adapter,
					this.threads, this.perSecond, (this.errors > 0) ? ", errors " + this.errors : "");
		}

	}

	static String micros(Percentiles p) {
		return String.format(Locale.ROOT, "p50 %.0f us, p99 %.0f us, mean %.0f us (n=%d)", p.p50() / 1e3, p.p99() / 1e3,
				p.mean() / 1e3, p.count());
	}

	Uncontended uncontended(LockAdapter adapter, String keyPrefix) throws Exception {
		long warmup = this.options.cycleWarmup.toNanos();
		long window = this.options.cycleWindow.toNanos();
		LongList acquires = new LongList();
		LongList cycles = new LongList();
		long errors = 0;
		try (LockAdapter.Session session = adapter.open(0)) {
			long begin = System.nanoTime();
			long from = begin + warmup;
			long to = from + window;
			int i = 0;
			long counted = 0;
			while (true) {
				long start = System.nanoTime();
				if (start - to >= 0) {
					break;
				}
				String key = keyPrefix + (i++ % UNCONTENDED_KEYS);
				long[] acquired = new long[1];
				if (!session.cycle(key, java.time.Duration.ZERO, () -> acquired[0] = System.nanoTime())) {
					errors++;
					continue;
				}
				long end = System.nanoTime();
				if (start - from >= 0) {
					acquires.add(acquired[0] - start);
					cycles.add(end - start);
					counted++;
				}
			}
			return new Uncontended(adapter.name(), Percentiles.of(acquires.toArray()), Percentiles.of(cycles.toArray()),
					counted / (window / 1e9), errors);
		}
	}

	Distinct distinct(LockAdapter adapter) throws Exception {
		int threads = this.options.distinctThreads;
		String prefix = "bench-distinct-" + UUID.randomUUID() + "-";
		long begin = System.nanoTime() + 50_000_000L;
		long from = begin + this.options.cycleWarmup.toNanos();
		long to = from + this.options.cycleWindow.toNanos();
		long[] counts = new long[threads];
		long[] errors = new long[threads];
		AtomicReference<Throwable> failure = new AtomicReference<>();
		CountDownLatch done = new CountDownLatch(threads);
		List<Thread> all = new ArrayList<>();
		for (int t = 0; t < threads; t++) {
			int index = t;
			LockAdapter.Session session = adapter.open(t % adapter.nodeCount());
			Thread thread = new Thread(() -> {
				String key = prefix + index;
				try (session) {
					while (true) {
						long start = System.nanoTime();
						if (start - to >= 0) {
							break;
						}
						if (!session.cycle(key, java.time.Duration.ZERO, () -> { })) {
							errors[index]++;
							continue;
						}
						if (start - from >= 0) {
							counts[index]++;
						}
					}
				}
				catch (Throwable ex) {
					failure.compareAndSet(null, ex);
					errors[index]++;
				}
				finally {
					done.countDown();
				}
			}, adapter.name() + "-distinct-" + t);
			all.add(thread);
		}
		all.forEach(Thread::start);
		done.await();
		if (failure.get() != null) {
			System.out.println("  first error: " + failure.get());
		}
		long total = 0;
		long errorCount = 0;
		for (int t = 0; t < threads; t++) {
			total += counts[t];
			errorCount += errors[t];
		}
		return new Distinct(adapter.name(), threads, total / (this.options.cycleWindow.toNanos() / 1e9), errorCount);
	}

	/** {@code SELECT 1} through a HikariCP pool of the same size, one thread. */
	Percentiles select1(BenchDatabase database) throws Exception {
		LongList samples = new LongList();
		try (HikariDataSource pool = Pools.pool(database, "select1", this.options.poolSize)) {
			long from = System.nanoTime() + this.options.cycleWarmup.toNanos();
			long to = from + this.options.cycleWindow.toNanos();
			while (true) {
				long start = System.nanoTime();
				if (start - to >= 0) {
					break;
				}
				try (Connection connection = pool.getConnection();
						PreparedStatement statement = connection.prepareStatement("SELECT 1");
						ResultSet rows = statement.executeQuery()) {
					rows.next();
				}
				if (start - from >= 0) {
					samples.add(System.nanoTime() - start);
				}
			}
		}
		Percentiles result = Percentiles.of(samples.toArray());
		System.out.println();
		System.out.println("== SELECT 1 round trip (pooled connection, 1 thread) ==");
		System.out.println("  " + micros(result));
		return result;
	}

}
