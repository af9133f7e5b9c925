package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.jspecify.annotations.Nullable;

/**
 * Scenario B: one holder (on node 0) holds a lock while waiters spread over the nodes wait for
 * it. After the waiters have settled, the statements each node sends during the window are
 * counted at the client, and the benchmark database's transactions at the server. Then the
 * holder releases and every waiter must be served in turn, never two at once.
 */
final class IdleWaitersScenario {

	private final BenchOptions options;

	private final ServerStatements server;

	IdleWaitersScenario(BenchOptions options, ServerStatements server) {
		this.options = options;
		this.server = server;
	}

	Result run(LockAdapter adapter) throws Exception {
		String lockName = "bench-idle-" + UUID.randomUUID();
		int nodes = adapter.nodeCount();
		Duration waitTime = this.options.idleSettle.plus(this.options.idleWindow).plus(this.options.lockWait);
		LockAdapter.Session holderSession = adapter.open(0);
		LockAdapter.Handle holder = holderSession.acquire(lockName, Duration.ofSeconds(5));
		if (holder == null) {
			throw new IllegalStateException("The holder could not take the fresh lock " + lockName);
		}
		AtomicInteger inCriticalSection = new AtomicInteger();
		AtomicLong overlaps = new AtomicLong();
		AtomicLong served = new AtomicLong();
		AtomicLong timeouts = new AtomicLong();
		AtomicLong lastServedAt = new AtomicLong();
		AtomicReference<String> firstError = new AtomicReference<>();
		CountDownLatch calling = new CountDownLatch(this.options.waiters);
		List<Thread> threads = new ArrayList<>();
		for (int i = 0; i < this.options.waiters; i++) {
			LockAdapter.Session session = adapter.open(i % nodes);
			Thread thread = new Thread(() -> {
				try (session) {
					calling.countDown();
					LockAdapter.Handle handle = session.acquire(lockName, waitTime);
					if (handle == null) {
						timeouts.incrementAndGet();
						return;
					}
					if (inCriticalSection.incrementAndGet() != 1) {
						overlaps.incrementAndGet();
					}
					served.incrementAndGet();
					lastServedAt.set(System.nanoTime());
					inCriticalSection.decrementAndGet();
					handle.release();
				}
				catch (Exception ex) {
					firstError.compareAndSet(null, ex.toString());
				}
			}, adapter.name() + "-waiter-" + i);
			thread.start();
			threads.add(thread);
		}
		calling.await();
		Thread.sleep(this.options.idleSettle.toMillis());
		String loadBefore = SystemLoad.loadAverage();
		List<StatementCounter.Snapshot> clientFrom = snapshots(adapter);
		ServerStatements.Reading serverFrom = this.server.read();
		Thread.sleep(this.options.idleWindow.toMillis());
		ServerStatements.Reading serverTo = this.server.read();
		List<StatementCounter.Snapshot> clientTo = snapshots(adapter);
		String loadAfter = SystemLoad.loadAverage();
		double seconds = (serverTo.nanos() - serverFrom.nanos()) / 1e9;
		long releasedAt = System.nanoTime();
		boolean servedBeforeRelease = served.get() > 0;
		holder.release();
		holderSession.close();
		for (Thread thread : threads) {
			thread.join(waitTime.toMillis() + 10_000);
		}
		List<StatementCounter.Snapshot> perNode = new ArrayList<>();
		for (int node = 0; node < nodes; node++) {
			perNode.add(clientTo.get(node).minus(clientFrom.get(node)));
		}
		long drainNanos = (served.get() > 0) ? lastServedAt.get() - releasedAt : 0;
		return new Result(adapter.name(), this.options.waiters, nodes, seconds, perNode,
				this.server.benchTransactions(serverFrom, serverTo), served.get(), servedBeforeRelease, overlaps.get(),
				timeouts.get(), firstError.get(), drainNanos, (serverTo.otherXacts() - serverFrom.otherXacts()) / seconds,
				loadBefore, loadAfter);
	}

	private static List<StatementCounter.Snapshot> snapshots(LockAdapter adapter) {
		List<StatementCounter.Snapshot> snapshots = new ArrayList<>();
		for (int node = 0; node < adapter.nodeCount(); node++) {
			snapshots.add(adapter.statements(node).snapshot());
		}
		return snapshots;
	}

	/**
	 * The figures of one run.
	 * @param clientStatements per node, the statements sent during the window
	 * @param serverTransactions the benchmark database's transactions during the window
	 * @param drainNanos from the holder's release to the last waiter served
	 */
	record Result(String adapter, int waiters, int nodes, double seconds, List<StatementCounter.Snapshot> clientStatements,
			long serverTransactions, long served, boolean servedBeforeRelease, long overlaps, long timeouts,
			@Nullable String firstError, long drainNanos, double otherDatabasesPerSecond, String loadBefore,
			String loadAfter) {

		/** Client statements per second of the busiest node. */
		double worstNodeClientPerSecond() {
			return this.clientStatements.stream().mapToLong(StatementCounter.Snapshot::total).max().orElse(0)
					/ this.seconds;
		}

		/** Server transactions per second, divided evenly over the nodes. */
		double serverPerSecondPerNode() {
			return this.serverTransactions / this.seconds / this.nodes;
		}

		boolean allServed() {
			return this.served == this.waiters && !this.servedBeforeRelease && this.overlaps == 0
					&& this.firstError == null;
		}

		void print() {
			System.out.printf(Locale.ROOT, "%n[B] idle waiters, %s: %d waiters on %d nodes, lock held, %.1f s measured%n",
					this.adapter, this.waiters, this.nodes, this.seconds);
			for (int node = 0; node < this.nodes; node++) {
				StatementCounter.Snapshot counts = this.clientStatements.get(node);
				System.out.printf(Locale.ROOT, "  node %d, client      : %.2f statements/s %s%s%n", node,
						counts.total() / this.seconds, counts.byKind(), (node == 0) ? " (node of the holder)" : "");
			}
			System.out.printf(Locale.ROOT, "  server              : %.2f transactions/s in the database = %.2f per node%n",
					this.serverTransactions / this.seconds, serverPerSecondPerNode());
			System.out.printf(Locale.ROOT, "  after release       : %d of %d waiters served in %s, overlaps %d, timeouts %d%s%s%n",
					this.served, this.waiters, Percentiles.ms(this.drainNanos), this.overlaps, this.timeouts,
					this.servedBeforeRelease ? ", SOME SERVED WHILE THE LOCK WAS HELD" : "",
					(this.firstError != null) ? ", first error: " + this.firstError : "");
			System.out.printf(Locale.ROOT, "  machine             : load average %s -> %s; other databases %.0f xact/s%n",
					this.loadBefore, this.loadAfter, this.otherDatabasesPerSecond);
		}

	}

}
