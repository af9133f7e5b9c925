package io.leasehold.lock.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several nodes (independent application contexts on one database), several threads each,
 * contending for one lock through {@code LockManager} and through an annotated method: no two
 * critical sections overlap, and no update of a shared unsynchronized counter is lost.
 */
class MutualExclusionTests {

	private static final int NODES = 3;

	private static final int THREADS_PER_NODE = 3;

	private static final int ITERATIONS_PER_THREAD = 60;

	private static final int CRITICAL_SECTIONS = NODES * THREADS_PER_NODE * ITERATIONS_PER_THREAD;

	private static final LockOptions WAIT = LockOptions.defaults().withWaitTime(Duration.ofSeconds(60));

	private static final List<LockNode> nodes = new ArrayList<>();

	private static ExecutorService executor;

	private static final CriticalSection section = new CriticalSection();

	@BeforeAll
	static void startNodes() {
		for (int i = 0; i < NODES; i++) {
			nodes.add(LockNode.start(Config.class, "leasehold.lock.polling.initial-interval=1ms",
					"leasehold.lock.polling.max-interval=10ms"));
		}
		executor = Executors.newFixedThreadPool(NODES * THREADS_PER_NODE);
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		nodes.forEach(LockNode::close);
	}

	@BeforeEach
	void resetSection() {
		section.reset();
	}

	@Test
	void callWithLockRunsOneCriticalSectionAtATimeAcrossNodes() throws Exception {
		String lockName = "mutex-manager-" + UUID.randomUUID();
		runContended((node, thread, iteration) -> node.lockManager().callWithLock(lockName, WAIT, (lease) -> {
			section.run(lease.fencingToken());
			return null;
		}));
		assertNoOverlap();
	}

	@Test
	void annotatedMethodRunsOneCriticalSectionAtATimeAcrossNodes() throws Exception {
		String key = UUID.randomUUID().toString();
		runContended((node, thread, iteration) -> node.bean(Worker.class).critical(key, section, 0));
		assertNoOverlap();
	}

	@Test
	void annotatedCallsAndLockManagerCallsOnTheSameLockExcludeEachOther() throws Exception {
		String key = UUID.randomUUID().toString();
		String lockName = Worker.LOCK_NAME + ":" + key;
		runContended((node, thread, iteration) -> {
			if ((thread + iteration) % 2 == 0) {
				node.bean(Worker.class).critical(key, section, 0);
			}
			else {
				node.lockManager().callWithLock(lockName, WAIT, (lease) -> {
					section.run(lease.fencingToken());
					return null;
				});
			}
		});
		assertNoOverlap();
	}

	private void assertNoOverlap() {
		assertThat(section.overlaps.get()).as("critical sections that overlapped another").isZero();
		assertThat(section.counter).as("unsynchronized counter incremented in every critical section")
			.isEqualTo(CRITICAL_SECTIONS);
		assertThat(section.entered.get()).isEqualTo(CRITICAL_SECTIONS);
		assertThat(section.tokenMismatches.get()).as("critical sections whose LockContext token was not the lease's")
			.isZero();
		for (LockNode node : nodes) {
			assertThat(((DefaultLockManager) node.lockManager()).heldLeaseCount()).isZero();
		}
	}

	private void runContended(ContendedCall call) throws Exception {
		CountDownLatch start = new CountDownLatch(1);
		List<Future<?>> futures = new ArrayList<>();
		for (LockNode node : nodes) {
			for (int t = 0; t < THREADS_PER_NODE; t++) {
				int thread = t;
				futures.add(executor.submit((Callable<Void>) () -> {
					start.await();
					for (int i = 0; i < ITERATIONS_PER_THREAD; i++) {
						call.run(node, thread, i);
					}
					return null;
				}));
			}
		}
		start.countDown();
		for (Future<?> future : futures) {
			future.get(90, TimeUnit.SECONDS);
		}
	}

	@FunctionalInterface
	interface ContendedCall {

		void run(LockNode node, int thread, int iteration) throws Exception;

	}

	/** What must not run twice at once: shared by all nodes of this JVM. */
	static final class CriticalSection {

		final AtomicInteger inside = new AtomicInteger();

		final AtomicInteger overlaps = new AtomicInteger();

		final AtomicInteger entered = new AtomicInteger();

		final AtomicInteger tokenMismatches = new AtomicInteger();

		/** Deliberately not atomic or volatile: concurrent increments would lose updates. */
		int counter;

		void reset() {
			this.inside.set(0);
			this.overlaps.set(0);
			this.entered.set(0);
			this.tokenMismatches.set(0);
			this.counter = 0;
		}

		void run(long token) {
			if (this.inside.incrementAndGet() != 1) {
				this.overlaps.incrementAndGet();
			}
			this.entered.incrementAndGet();
			if (LockContext.fencingToken() != token) {
				this.tokenMismatches.incrementAndGet();
			}
			int before = this.counter;
			Thread.yield();
			this.counter = before + 1;
			this.inside.decrementAndGet();
		}

	}

	static class Worker {

		static final String LOCK_NAME = "mutex-annotated";

		@DistributedLock(name = LOCK_NAME, key = "#key", waitTime = "60s")
		public void critical(String key, CriticalSection section, @FencingToken long token) {
			section.run(token);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Worker worker() {
			return new Worker();
		}

	}

}
