package io.leasehold.lock.core;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fencing tokens of one lock increase strictly in the order the lock is granted: across many
 * contended hand-offs between nodes, and across a node's restart or crash.
 */
class FencingTokenOrderTests {

	private static final int NODES = 3;

	private static final int THREADS_PER_NODE = 2;

	private static final int CROSS_NODE_HAND_OFFS = 10_000;

	private static final LockOptions WAIT = LockOptions.defaults().withWaitTime(Duration.ofSeconds(30));

	private static final List<LockNode> nodes = new ArrayList<>();

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNodes() {
		for (int i = 0; i < NODES; i++) {
			nodes.add(LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=1ms",
					"leasehold.lock.polling.max-interval=5ms"));
		}
	}

	@AfterAll
	static void stopNodes() {
		nodes.forEach(LockNode::close);
	}

	@Test
	void tokensStrictlyIncreaseOverTenThousandContendedHandOffsBetweenNodes() throws Exception {
		String lockName = "fencing-hot-" + UUID.randomUUID();
		List<Grant> grants = Collections.synchronizedList(new ArrayList<>(CROSS_NODE_HAND_OFFS * 2));
		AtomicInteger crossNodeHandOffs = new AtomicInteger();
		AtomicInteger inside = new AtomicInteger();
		AtomicInteger overlaps = new AtomicInteger();
		AtomicBoolean done = new AtomicBoolean();
		ExecutorService executor = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);
		try {
			CountDownLatch start = new CountDownLatch(1);
			List<Future<?>> futures = new ArrayList<>();
			for (int n = 0; n < NODES; n++) {
				int nodeIndex = n;
				LockNode node = nodes.get(n);
				for (int t = 0; t < THREADS_PER_NODE; t++) {
					futures.add(executor.submit((Callable<Void>) () -> {
						start.await();
						while (!done.get()) {
							int granted = node.lockManager().callWithLock(lockName, WAIT, (lease) -> {
								if (inside.incrementAndGet() != 1) {
									overlaps.incrementAndGet();
								}
								int count = grants.size();
								if (count > 0 && grants.get(count - 1).node() != nodeIndex
										&& crossNodeHandOffs.incrementAndGet() >= CROSS_NODE_HAND_OFFS) {
									done.set(true);
								}
								grants.add(new Grant(lease.fencingToken(), nodeIndex, Thread.currentThread().getName()));
								inside.decrementAndGet();
								return count + 1;
							});
							// Let a waiter take the lock before trying again, so the lock changes hands.
							long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
							while (grants.size() == granted && !done.get() && System.nanoTime() < until) {
								LockSupport.parkNanos(50_000);
							}
						}
						return null;
					}));
				}
			}
			start.countDown();
			for (Future<?> future : futures) {
				future.get(100, TimeUnit.SECONDS);
			}
		}
		finally {
			executor.shutdownNow();
		}
		List<Grant> inOrder = List.copyOf(grants);
		List<String> backwards = new ArrayList<>();
		for (int i = 1; i < inOrder.size(); i++) {
			if (inOrder.get(i).token() <= inOrder.get(i - 1).token()) {
				backwards.add("grant " + i + ": " + inOrder.get(i - 1) + " then " + inOrder.get(i));
			}
		}
		assertThat(overlaps.get()).as("grants that overlapped another").isZero();
		assertThat(crossNodeHandOffs.get()).isGreaterThanOrEqualTo(CROSS_NODE_HAND_OFFS);
		assertThat(inOrder.stream().map(Grant::node).distinct()).hasSize(NODES);
		assertThat(backwards).as("tokens that did not increase, of %d grants", inOrder.size()).isEmpty();
	}

	@Test
	void tokensKeepIncreasingAcrossANodeRestart() {
		String lockName = "fencing-restart-" + UUID.randomUUID();
		long lastToken = 0;
		try (LockNode first = LockNode.start(Config.class)) {
			for (int i = 0; i < 5; i++) {
				try (Lease lease = first.lockManager().acquire(lockName, LockOptions.defaults())) {
					assertThat(lease.fencingToken()).isGreaterThan(lastToken);
					lastToken = lease.fencingToken();
				}
			}
			Lease held = first.lockManager().acquire(lockName, LockOptions.defaults());
			assertThat(held.fencingToken()).isGreaterThan(lastToken);
			lastToken = held.fencingToken();
		}
		try (LockNode restarted = LockNode.start(Config.class)) {
			try (Lease lease = restarted.lockManager().acquire(lockName, LockOptions.defaults())) {
				assertThat(lease.fencingToken()).isGreaterThan(lastToken);
			}
		}
	}

	@Test
	void nodeTakingOverFromACrashedNodeWaitsForItsLeaseToExpireAndGetsAGreaterToken() {
		String lockName = "fencing-crash-" + UUID.randomUUID();
		Lease crashed;
		try (LockNode first = LockNode.start(Config.class, "leasehold.lock.lease-time=1s")) {
			crashed = first.lockManager().acquire(lockName, LockOptions.defaults());
			// The node loses its database before it can release the lease, as when its process dies.
			((HikariDataSource) first.context().getBean(DataSource.class)).close();
		}
		assertThat(heldBy(lockName)).isEqualTo(crashed.fencingToken());
		try (Lease lease = nodes.get(0)
			.lockManager()
			.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)))) {
			assertThat(lease.fencingToken()).isGreaterThan(crashed.fencingToken());
			Instant acquiredAt = this.jdbc.queryForObject("SELECT acquired_at FROM leasehold_lock WHERE lock_name = ?",
					Timestamp.class, lockName)
				.toInstant();
			assertThat(acquiredAt).isAfterOrEqualTo(crashed.expiresAt());
		}
	}

	/** The token of the lease that holds the lock now, by the database clock, or 0. */
	private long heldBy(String lockName) {
		List<Long> tokens = this.jdbc.queryForList(
				"SELECT fencing_token FROM leasehold_lock WHERE lock_name = ? AND expires_at > clock_timestamp()",
				Long.class, lockName);
		return tokens.isEmpty() ? 0 : tokens.get(0);
	}

	record Grant(long token, int node, String thread) {

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
