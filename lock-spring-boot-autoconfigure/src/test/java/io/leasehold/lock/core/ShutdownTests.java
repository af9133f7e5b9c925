package io.leasehold.lock.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.test.util.ReflectionTestUtils;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Closing a node releases every lease it holds at once, whether taken through the annotation
 * or through {@code LockManager}, and stops its scheduler threads.
 */
class ShutdownTests {

	private static final String SCHEDULER_THREAD_PREFIX = "leasehold-scheduler-";

	private static LockNode other;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startOtherNode() {
		other = LockNode.start(Config.class);
	}

	@AfterAll
	static void stopOtherNode() {
		other.close();
	}

	@Test
	void closingANodeReleasesAllItsLeasesAtOnceAndStopsItsSchedulerThreads() throws Exception {
		String key = UUID.randomUUID().toString();
		List<String> annotatedLocks = List.of(BlockingTask.LOCK_NAME + ":" + key + "-1",
				BlockingTask.LOCK_NAME + ":" + key + "-2");
		List<String> managerLocks = List.of("shutdown-manager-" + key + "-1", "shutdown-manager-" + key + "-2");
		LockNode node = LockNode.start(Config.class);
		CountDownLatch finish = new CountDownLatch(1);
		List<CompletableFuture<Void>> annotatedCalls = new ArrayList<>();
		Set<Thread> schedulerThreads;
		// two calls block at once: the common pool may have a single worker (Java 25 on two cores)
		ExecutorService callers = Executors.newFixedThreadPool(2);
		try {
			try {
				BlockingTask task = node.bean(BlockingTask.class);
				CountDownLatch started = new CountDownLatch(2);
				annotatedCalls.add(CompletableFuture.runAsync(() -> task.run(key + "-1", started, finish), callers));
				annotatedCalls.add(CompletableFuture.runAsync(() -> task.run(key + "-2", started, finish), callers));
				assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
				List<Lease> managerLeases = new ArrayList<>();
				for (String lockName : managerLocks) {
					managerLeases.add(node.lockManager().acquire(lockName, LockOptions.defaults()));
				}
				assertThat(((DefaultLockManager) node.lockManager()).heldLeaseCount()).isEqualTo(4);
				for (String lockName : concat(annotatedLocks, managerLocks)) {
					assertThat(other.lockManager().tryAcquire(lockName, LockOptions.defaults())).as(lockName).isEmpty();
				}
				schedulerThreads = schedulerThreadsOf(node);
				assertThat(schedulerThreads).isNotEmpty()
					.allSatisfy((thread) -> assertThat(thread.getName()).startsWith(SCHEDULER_THREAD_PREFIX));
			}
			finally {
				node.close();
			}
			List<Lease> taken = new ArrayList<>();
			try {
				for (String lockName : concat(annotatedLocks, managerLocks)) {
					Optional<Lease> lease = other.lockManager().tryAcquire(lockName, LockOptions.defaults());
					assertThat(lease).as("lock %s after the node holding it closed", lockName).isPresent();
					taken.add(lease.get());
				}
			}
			finally {
				taken.forEach(Lease::close);
				finish.countDown();
			}
			for (Thread thread : schedulerThreads) {
				thread.join(TimeUnit.SECONDS.toMillis(10));
				assertThat(thread.isAlive()).as("%s after its node closed", thread.getName()).isFalse();
			}
			for (CompletableFuture<Void> call : annotatedCalls) {
				assertThat(call).succeedsWithin(Duration.ofSeconds(10));
			}
		}
		finally {
			finish.countDown();
			callers.shutdownNow();
		}
	}

	@Test
	void closingANodeExpiresItsLeaseRowsInTheDatabase() {
		String lockName = "shutdown-rows-" + UUID.randomUUID();
		try (LockNode node = LockNode.start(Config.class)) {
			node.lockManager().acquire(lockName, LockOptions.defaults());
			assertThat(heldInDatabase(lockName)).isTrue();
		}
		assertThat(heldInDatabase(lockName)).isFalse();
	}

	@Test
	void leasesGrantedWhileTheNodeShutsDownAreReleasedToo() throws Exception {
		int workers = 4;
		for (int cycle = 0; cycle < 5; cycle++) {
			String prefix = "shutdown-race-" + UUID.randomUUID() + "-";
			LockNode node = LockNode.start(Config.class);
			String ownerId = ((DefaultLockManager) node.lockManager()).ownerId();
			ExecutorService executor = Executors.newFixedThreadPool(workers);
			List<CompletableFuture<Lease>> calls = new ArrayList<>();
			try {
				CountDownLatch running = new CountDownLatch(workers);
				for (int w = 0; w < workers; w++) {
					String workerPrefix = prefix + w + "-";
					calls.add(CompletableFuture.supplyAsync(() -> acquireUntilShutDown(node, workerPrefix, running),
							executor));
				}
				assertThat(running.await(10, TimeUnit.SECONDS)).isTrue();
				node.close();
				List<String> stillHeld = new ArrayList<>();
				for (CompletableFuture<Lease> call : calls) {
					Lease last = call.get(10, TimeUnit.SECONDS);
					if (last != null) {
						stillHeld.add(last.lockName());
					}
				}
				assertThat(this.jdbc.queryForList(
						"SELECT lock_name FROM leasehold_lock WHERE owner_id = ? AND expires_at > clock_timestamp()",
						String.class, ownerId))
					.as("locks still held by node %s after it closed (cycle %d); its callers still had %s", ownerId,
							cycle, stillHeld)
					.isEmpty();
			}
			finally {
				executor.shutdownNow();
			}
		}
	}

	/**
	 * Takes one lock after another, releasing the previous one, until the node refuses: then
	 * returns the lease it is still working under, as a caller that was mid-way would.
	 */
	private static Lease acquireUntilShutDown(LockNode node, String prefix, CountDownLatch running) {
		Lease current = null;
		for (int i = 0;; i++) {
			Lease next;
			try {
				next = node.lockManager().acquire(prefix + i, LockOptions.defaults());
			}
			catch (RuntimeException ex) {
				return current;
			}
			if (current != null) {
				current.close();
			}
			current = next;
			if (i == 20) {
				running.countDown();
			}
		}
	}

	private boolean heldInDatabase(String lockName) {
		return this.jdbc.queryForObject(
				"SELECT count(*) FROM leasehold_lock WHERE lock_name = ? AND expires_at > clock_timestamp()",
				Integer.class, lockName) == 1;
	}

	/** The threads of the node's Leasehold scheduler: started and captured by tasks that meet at a barrier. */
	private static Set<Thread> schedulerThreadsOf(LockNode node) throws Exception {
		ScheduledExecutorService scheduler = (ScheduledExecutorService) ReflectionTestUtils
			.getField(node.context().getBean("leaseholdScheduler"), "executor");
		int threads = ((ThreadPoolExecutor) scheduler).getCorePoolSize();
		Set<Thread> seen = ConcurrentHashMap.newKeySet();
		CyclicBarrier barrier = new CyclicBarrier(threads);
		List<Future<?>> tasks = new ArrayList<>();
		for (int i = 0; i < threads; i++) {
			tasks.add(scheduler.submit(() -> {
				seen.add(Thread.currentThread());
				barrier.await(10, TimeUnit.SECONDS);
				return null;
			}));
		}
		for (Future<?> task : tasks) {
			task.get(10, TimeUnit.SECONDS);
		}
		return seen;
	}

	private static List<String> concat(List<String> first, List<String> second) {
		List<String> all = new ArrayList<>(first);
		all.addAll(second);
		return all;
	}

	static class BlockingTask {

		static final String LOCK_NAME = "shutdown-annotated";

		@DistributedLock(name = LOCK_NAME, key = "#key")
		public void run(String key, CountDownLatch started, CountDownLatch finish) {
			started.countDown();
			try {
				finish.await(30, TimeUnit.SECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		BlockingTask blockingTask() {
			return new BlockingTask();
		}

	}

}
