package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import org.jspecify.annotations.Nullable;

/**
 * Scenario A: contenders spread over the nodes loop on one hot lock: acquire (waiting up to the
 * lock wait), hold it for a fixed time, release. Critical sections are mutually exclusive, so
 * the contenders can share a sequence of "previous section" facts without further locking: the
 * holder reads them after its acquire returns and overwrites them before it releases.
 * <p>
 * Only sections whose acquire returned inside the measurement window (after the warm-up) are
 * counted.
 */
final class HotLockScenario {

	private final BenchOptions options;

	private final ServerStatements server;

	HotLockScenario(BenchOptions options, ServerStatements server) {
		this.options = options;
		this.server = server;
	}

	Result run(LockAdapter adapter, @Nullable HandoffDiagnostics diagnostics) throws Exception {
		String lockName = "bench-hot-" + UUID.randomUUID();
		int contenders = this.options.contenders;
		Shared shared = new Shared();
		List<Contender> all = new ArrayList<>();
		for (int i = 0; i < contenders; i++) {
			int node = i % adapter.nodeCount();
			all.add(new Contender(i, node, adapter.open(node)));
		}
		CountDownLatch go = new CountDownLatch(1);
		long begin = System.nanoTime() + Duration.ofMillis(100).toNanos();
		long from = begin + this.options.warmup.toNanos();
		long to = from + this.options.duration.toNanos();
		List<Thread> threads = new ArrayList<>();
		for (Contender contender : all) {
			Thread thread = new Thread(() -> contender.loop(lockName, shared, go, from, to),
					adapter.name() + "-contender-" + contender.index);
			thread.start();
			threads.add(thread);
		}
		go.countDown();
		if (diagnostics != null) {
			diagnostics.start(lockName);
		}
		sleepUntil(from);
		String loadBefore = SystemLoad.loadAverage();
		ServerStatements.Reading serverFrom = this.server.read();
		StatementCounter.Snapshot clientFrom = clientTotal(adapter);
		sleepUntil(to);
		ServerStatements.Reading serverTo = this.server.read();
		StatementCounter.Snapshot clientTo = clientTotal(adapter);
		String loadAfter = SystemLoad.loadAverage();
		for (Thread thread : threads) {
			thread.join(this.options.lockWait.toMillis() + 10_000);
			if (thread.isAlive()) {
				throw new IllegalStateException(thread.getName() + " did not finish");
			}
		}
		for (Contender contender : all) {
			contender.session.close();
		}
		if (diagnostics != null) {
			diagnostics.stop();
		}
		double seconds = (serverTo.nanos() - serverFrom.nanos()) / 1e9;
		long[] perContender = all.stream().mapToLong((c) -> c.sections).toArray();
		long sections = 0;
		long sameHolder = 0;
		long sameNode = 0;
		long holdNanos = 0;
		for (Contender contender : all) {
			sections += contender.sections;
			sameHolder += contender.sameHolder;
			sameNode += contender.sameNode;
			holdNanos += contender.holdNanos;
		}
		double mean = (double) sections / contenders;
		long min = all.stream().mapToLong((c) -> c.sections).min().orElse(0);
		long max = all.stream().mapToLong((c) -> c.sections).max().orElse(0);
		return new Result(adapter.name(), contenders, adapter.nodeCount(), seconds, sections, sections / seconds,
				Percentiles.of(LongList.concat(all.stream().map((c) -> c.handoffs).toList())),
				Percentiles.of(LongList.concat(all.stream().map((c) -> c.waits).toList())),
				Percentiles.of(LongList.concat(all.stream().map((c) -> c.releases).toList())), perContender,
				(mean > 0) ? min / mean : 0, (mean > 0) ? max / mean : 0, percent(sameHolder, sections),
				percent(sameNode, sections), shared.overlaps.get(), shared.tokenRegressions.get(),
				all.stream().mapToLong((c) -> c.timeouts).sum(), all.stream().mapToLong((c) -> c.errors).sum(),
				shared.firstError.get(), (sections > 0) ? holdNanos / (double) sections : 0, clientTo.minus(clientFrom),
				this.server.benchTransactions(serverFrom, serverTo), (serverTo.otherXacts() - serverFrom.otherXacts()) / seconds,
				Math.max(serverFrom.otherActiveBackends(), serverTo.otherActiveBackends()), loadBefore, loadAfter,
				(diagnostics != null) ? diagnostics.report(all.stream().map((c) -> c.trace).toList()) : null);
	}

	private static StatementCounter.Snapshot clientTotal(LockAdapter adapter) {
		StatementCounter.Snapshot total = StatementCounter.Snapshot.empty();
		for (int node = 0; node < adapter.nodeCount(); node++) {
			total = total.plus(adapter.statements(node).snapshot());
		}
		return total;
	}

	private static double percent(long part, long whole) {
		return (whole > 0) ? 100.0 * part / whole : 0;
	}

	static void sleepUntil(long nanos) throws InterruptedException {
		long remaining;
		while ((remaining = nanos - System.nanoTime()) > 0) {
			Thread.sleep(Math.max(1, remaining / 1_000_000));
		}
	}

	/**
	 * What the holder of a section leaves for the next one.
	 */
	private static final class Shared {

		final AtomicInteger inCriticalSection = new AtomicInteger();

		final AtomicLong overlaps = new AtomicLong();

		final AtomicLong tokenRegressions = new AtomicLong();

		final AtomicReference<String> firstError = new AtomicReference<>();

		/** Just before the previous holder called release; 0 before the first section. */
		volatile long lastReleaseStart;

		volatile int lastHolder = -1;

		volatile int lastNode = -1;

		volatile long lastToken = Long.MIN_VALUE;

	}

	private final class Contender {

		final int index;

		final int node;

		final LockAdapter.Session session;

		final LongList waits = new LongList();

		final LongList handoffs = new LongList();

		final LongList releases = new LongList();

		/** Per measured section: release start, release end, next acquire return, for diagnostics. */
		final SectionTrace trace = new SectionTrace();

		long sections;

		long sameHolder;

		long sameNode;

		long holdNanos;

		long timeouts;

		long errors;

		Contender(int index, int node, LockAdapter.Session session) {
			this.index = index;
			this.node = node;
			this.session = session;
		}

		void loop(String lockName, Shared shared, CountDownLatch go, long from, long to) {
			try {
				go.await();
			}
			catch (InterruptedException ex) {
				return;
			}
			Duration lockWait = HotLockScenario.this.options.lockWait;
			long hold = HotLockScenario.this.options.hold.toNanos();
			boolean spin = HotLockScenario.this.options.spin;
			while (System.nanoTime() - to < 0) {
				long called = System.nanoTime();
				LockAdapter.Handle handle;
				try {
					handle = this.session.acquire(lockName, lockWait);
				}
				catch (Exception ex) {
					failed(shared, ex);
					continue;
				}
				long acquired = System.nanoTime();
				if (handle == null) {
					this.timeouts++;
					continue;
				}
				if (shared.inCriticalSection.incrementAndGet() != 1) {
					shared.overlaps.incrementAndGet();
				}
				long previousRelease = shared.lastReleaseStart;
				int previousHolder = shared.lastHolder;
				int previousNode = shared.lastNode;
				long previousToken = shared.lastToken;
				shared.lastHolder = this.index;
				shared.lastNode = this.node;
				if (handle.token() >= 0) {
					if (handle.token() <= previousToken) {
						shared.tokenRegressions.incrementAndGet();
					}
					shared.lastToken = handle.token();
				}
				boolean measured = acquired - from >= 0 && acquired - to < 0;
				if (measured) {
					this.sections++;
					this.waits.add(acquired - called);
					if (previousRelease != 0) {
						this.handoffs.add(acquired - previousRelease);
					}
					if (previousHolder == this.index) {
						this.sameHolder++;
					}
					if (previousNode == this.node) {
						this.sameNode++;
					}
					this.trace.acquired.add(acquired);
				}
				long held = System.nanoTime();
				long until = held + hold;
				long remaining;
				while ((remaining = until - System.nanoTime()) > 0) {
					if (spin) {
						Thread.onSpinWait();
					}
					else {
						LockSupport.parkNanos(remaining);
					}
				}
				shared.inCriticalSection.decrementAndGet();
				long releaseStart = System.nanoTime();
				if (measured) {
					this.holdNanos += releaseStart - held;
				}
				shared.lastReleaseStart = releaseStart;
				try {
					handle.release();
				}
				catch (Exception ex) {
					failed(shared, ex);
				}
				long releaseEnd = System.nanoTime();
				if (measured) {
					this.releases.add(releaseEnd - releaseStart);
					this.trace.releaseStart.add(releaseStart);
					this.trace.releaseEnd.add(releaseEnd);
				}
			}
		}

		private void failed(Shared shared, Exception ex) {
			this.errors++;
			shared.firstError.compareAndSet(null, ex.toString());
			LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
		}

	}

	/**
	 * Timestamps of one contender's measured sections.
	 */
	static final class SectionTrace {

		final LongList acquired = new LongList();

		final LongList releaseStart = new LongList();

		final LongList releaseEnd = new LongList();

	}

	/**
	 * The figures of one run.
	 * @param handoff from just before the previous holder called release to this holder's acquire returning
	 * @param lockWait how long each acquire call blocked
	 * @param release how long each release call took
	 * @param minShare the fewest sections of a contender, over the mean
	 */
	record Result(String adapter, int contenders, int nodes, double seconds, long sections, double perSecond,
			Percentiles handoff, Percentiles lockWait, Percentiles release, long[] perContender, double minShare,
			double maxShare, double sameHolderPercent, double sameNodePercent, long overlaps, long tokenRegressions,
			long timeouts, long errors, @Nullable String firstError, double meanHoldNanos,
			StatementCounter.Snapshot clientStatements, long serverTransactions, double otherDatabasesPerSecond,
			int otherActiveBackends, String loadBefore, String loadAfter, @Nullable String diagnostics) {

		void print() {
			System.out.printf(Locale.ROOT, "%n[A] hot lock, %s: %d contenders on %d nodes, %.1f s measured%n",
					this.adapter, this.contenders, this.nodes, this.seconds);
			System.out.printf(Locale.ROOT, "  critical sections/s : %.0f (%d sections, mean hold %s)%n",
					this.perSecond, this.sections, Percentiles.ms(this.meanHoldNanos));
			System.out.println("  hand-off            : " + this.handoff);
			System.out.println("  lock wait           : " + this.lockWait);
			System.out.println("  release call        : " + this.release);
			System.out.printf(Locale.ROOT, "  fairness            : per contender %s, min/mean %.2f, max/mean %.2f%n",
					Arrays.toString(this.perContender), this.minShare, this.maxShare);
			System.out.printf(Locale.ROOT, "  same holder         : %.1f%% of sections (same node %.1f%%)%n",
					this.sameHolderPercent, this.sameNodePercent);
			System.out.printf(Locale.ROOT, "  overlapping sections: %d%s%n", this.overlaps,
					(this.overlaps == 0) ? "" : "   <-- MUTUAL EXCLUSION VIOLATED");
			if (this.tokenRegressions > 0) {
				System.out.println("  token regressions   : " + this.tokenRegressions + "   <-- FENCING ORDER VIOLATED");
			}
			System.out.printf(Locale.ROOT, "  acquire timeouts    : %d, errors: %d%s%n", this.timeouts, this.errors,
					(this.firstError != null) ? " (first: " + this.firstError + ")" : "");
			System.out.printf(Locale.ROOT, "  statements/section  : %.2f client %s, %.2f server transactions%n",
					perSection(this.clientStatements.total()), perSectionByKind(), perSection(this.serverTransactions));
			System.out.println("  statement time      : " + meanTimeByKind());
			System.out.printf(Locale.ROOT, "  machine             : load average %s -> %s; other databases %.0f xact/s, up to %d active backends%n",
					this.loadBefore, this.loadAfter, this.otherDatabasesPerSecond, this.otherActiveBackends);
			if (this.diagnostics != null) {
				System.out.print(this.diagnostics);
			}
		}

		private double perSection(long count) {
			return (this.sections > 0) ? (double) count / this.sections : 0;
		}

		private String meanTimeByKind() {
			StringBuilder text = new StringBuilder();
			this.clientStatements.byKind().keySet().forEach((kind) -> {
				if (text.length() > 0) {
					text.append(", ");
				}
				text.append(kind).append(" mean ").append(Percentiles.ms(this.clientStatements.meanNanos(kind)));
			});
			return text.toString();
		}

		private String perSectionByKind() {
			StringBuilder text = new StringBuilder("(");
			this.clientStatements.byKind().forEach((kind, count) -> {
				if (text.length() > 1) {
					text.append(", ");
				}
				text.append(kind).append(' ').append(String.format(Locale.ROOT, "%.2f", perSection(count)));
			});
			return text.append(')').toString();
		}

	}

}
