package io.leasehold.lock.notify;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Callers idle on a held lock cost the database almost nothing: with the default safety poll,
 * each node sends at most one statement per second while they wait, however many there are.
 * Statements are counted through each node's DataSource; the listener's own connection (one
 * liveness query every 15 seconds) is not.
 */
class IdleWaitingCostTests {

	private static final Duration WINDOW = Duration.ofSeconds(5);

	private static List<LockNode> nodes;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		Class<?>[] configurations = { NotifyNodes.Config.class, StatementCounting.class };
		nodes = List.of(NotifyNodes.start(NotifyNodes.uniqueName("idle_a"), configurations),
				NotifyNodes.start(NotifyNodes.uniqueName("idle_b"), configurations));
		NotifyNodes.awaitListening(nodes.toArray(LockNode[]::new));
		executor = Executors.newCachedThreadPool();
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		nodes.forEach(LockNode::close);
	}

	@Test
	void idleWaitersCostAtMostOneStatementPerSecondPerNodeWhateverTheirNumber() throws Exception {
		long[] fewWaiters = statementsWhileIdle(1);
		long[] manyWaiters = statementsWhileIdle(16);
		System.out.println("Statements per node in " + WINDOW + " idle: 2 waiters " + Arrays.toString(fewWaiters)
				+ ", 32 waiters " + Arrays.toString(manyWaiters));
		for (int node = 0; node < nodes.size(); node++) {
			assertThat(fewWaiters[node]).as("node %d, 2 waiters", node).isLessThanOrEqualTo(WINDOW.toSeconds());
			assertThat(manyWaiters[node]).as("node %d, 32 waiters", node)
				.isLessThanOrEqualTo(WINDOW.toSeconds())
				.isLessThanOrEqualTo(fewWaiters[node] + 2);
		}
	}

	/**
	 * Statements each node sends while {@code waitersPerNode} callers per node wait for a lock
	 * held by the first node, from when all of them queue until {@link #WINDOW} later.
	 */
	private static long[] statementsWhileIdle(int waitersPerNode) throws Exception {
		String lockName = "idle-" + UUID.randomUUID();
		Lease held = nodes.get(0).lockManager().acquire(lockName, LockOptions.defaults());
		List<Future<?>> waiting = new ArrayList<>();
		for (LockNode node : nodes) {
			for (int i = 0; i < waitersPerNode; i++) {
				waiting.add(executor.submit(() -> {
					node.lockManager()
						.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(60)))
						.close();
					return null;
				}));
			}
		}
		for (LockNode node : nodes) {
			NotifyNodes.awaitQueued(node, lockName, waitersPerNode);
		}
		long[] before = counts();
		TimeUnit.NANOSECONDS.sleep(WINDOW.toNanos()); // the measurement window, not an ordering
		long[] after = counts();
		assertThat(waiting).noneMatch(Future::isDone);
		held.close();
		for (Future<?> future : waiting) {
			future.get(30, TimeUnit.SECONDS);
		}
		long[] idle = new long[nodes.size()];
		for (int node = 0; node < idle.length; node++) {
			idle[node] = after[node] - before[node];
		}
		return idle;
	}

	private static long[] counts() {
		return nodes.stream().mapToLong(StatementCounting::statements).toArray();
	}

}
