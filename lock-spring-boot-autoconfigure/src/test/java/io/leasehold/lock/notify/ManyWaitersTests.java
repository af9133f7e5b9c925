package io.leasehold.lock.notify;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static io.leasehold.lock.notify.NotifyNodes.POLLING_MAX_30S;
import static io.leasehold.lock.notify.NotifyNodes.SAFETY_POLL_30S;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * 32 callers on two nodes wait for one lock, each to run one short critical section: all are
 * served, one at a time, with fencing tokens rising in the order the sections ran, and each node
 * serves its own callers in the order they arrived. Across nodes the order is whichever node's
 * head wins each race for the row; the test prints it.
 */
class ManyWaitersTests {

	private static final int THREADS_PER_NODE = 16;

	private static final LockOptions WAIT = LockOptions.defaults().withWaitTime(Duration.ofSeconds(60));

	private static List<LockNode> nodes;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		nodes = List.of(
				NotifyNodes.start(NotifyNodes.uniqueName("many_a"), NotifyNodes.Config.class, SAFETY_POLL_30S,
						POLLING_MAX_30S),
				NotifyNodes.start(NotifyNodes.uniqueName("many_b"), NotifyNodes.Config.class, SAFETY_POLL_30S,
						POLLING_MAX_30S));
		NotifyNodes.awaitListening(nodes.toArray(LockNode[]::new));
		executor = Executors.newFixedThreadPool(2 * THREADS_PER_NODE);
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		nodes.forEach(LockNode::close);
	}

	@Test
	void allWaitersAreServedOneAtATimeAndEachNodeServesItsOwnInArrivalOrder() throws Exception {
		String lockName = "many-" + UUID.randomUUID();
		AtomicInteger inside = new AtomicInteger();
		AtomicInteger mostInside = new AtomicInteger();
		List<Section> sections = Collections.synchronizedList(new ArrayList<>());
		List<Future<?>> waiting = new ArrayList<>();
		Lease held = nodes.get(0).lockManager().acquire(lockName, LockOptions.defaults());
		for (int caller = 0; caller < 2 * THREADS_PER_NODE; caller++) {
			int node = caller % 2;
			int id = caller;
			waiting.add(executor.submit(() -> {
				try (Lease lease = nodes.get(node).lockManager().acquire(lockName, WAIT)) {
					mostInside.accumulateAndGet(inside.incrementAndGet(), Math::max);
					sections.add(new Section(id, node, lease.fencingToken()));
					Thread.sleep(1);
					inside.decrementAndGet();
				}
				return null;
			}));
			// the next caller arrives only once this one queues
			NotifyNodes.awaitQueued(nodes.get(node), lockName, caller / 2 + 1);
		}
		held.close();
		for (Future<?> future : waiting) {
			future.get(30, TimeUnit.SECONDS);
		}

		System.out.println("Nodes in the order their callers were served: "
				+ sections.stream().map((section) -> (section.node() == 0) ? "A" : "B").collect(Collectors.joining()));
		assertThat(mostInside).hasValue(1);
		assertThat(sections).extracting(Section::caller)
			.containsExactlyInAnyOrderElementsOf(IntStream.range(0, 2 * THREADS_PER_NODE).boxed().toList());
		List<Long> tokens = sections.stream().map(Section::fencingToken).toList();
		for (int i = 1; i < tokens.size(); i++) {
			assertThat(tokens.get(i)).as("token of section %d", i).isGreaterThan(tokens.get(i - 1));
		}
		assertThat(tokens.get(0)).isGreaterThan(held.fencingToken());
		for (int node = 0; node < 2; node++) {
			int current = node;
			assertThat(sections.stream().filter((section) -> section.node() == current).map(Section::caller).toList())
				.as("callers of node %d in the order they were served", node)
				.isSorted();
		}
	}

	private record Section(int caller, int node, long fencingToken) {

	}

}
