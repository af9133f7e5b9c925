package io.leasehold.lock.notify;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.autoconfigure.LeaseholdLockProperties;
import io.leasehold.lock.core.PollingWaitStrategy;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;

import static io.leasehold.lock.notify.NotifyNodes.POLLING_MAX_30S;
import static io.leasehold.lock.notify.NotifyNodes.SAFETY_POLL_30S;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A release hands the lock to a caller waiting on another node (application context) within
 * milliseconds. Every poll is set to 30 seconds, so only the release notification can wake the
 * waiter in time.
 */
class ReleaseHandOffTests {

	private static final int WARM_UP_HAND_OFFS = 5;

	private static final int HAND_OFFS = 20;

	private static final LockOptions WAIT_10S = LockOptions.defaults().withWaitTime(Duration.ofSeconds(10));

	private static LockNode a;

	private static LockNode b;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		a = NotifyNodes.start(NotifyNodes.uniqueName("handoff_a"), NotifyNodes.Config.class, SAFETY_POLL_30S,
				POLLING_MAX_30S);
		b = NotifyNodes.start(NotifyNodes.uniqueName("handoff_b"), NotifyNodes.Config.class, SAFETY_POLL_30S,
				POLLING_MAX_30S);
		NotifyNodes.awaitListening(a, b);
		executor = Executors.newCachedThreadPool();
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		a.close();
		b.close();
	}

	/**
	 * Nodes take turns holding and waiting; latency runs from the holder's call to release
	 * (whose statement commits durably) to the waiter's acquire returning, after a few warm-up
	 * hand-offs.
	 */
	@Test
	void waiterOnAnotherNodeGetsTheLockWithinMillisecondsOfItsRelease() throws Exception {
		String lockName = "handoff-" + UUID.randomUUID();
		List<Long> latencies = new ArrayList<>();
		List<Long> releaseCalls = new ArrayList<>();
		for (int i = 0; i < WARM_UP_HAND_OFFS + HAND_OFFS; i++) {
			LockNode holderNode = (i % 2 == 0) ? a : b;
			LockNode waiterNode = (i % 2 == 0) ? b : a;
			Lease held = holderNode.lockManager().acquire(lockName, LockOptions.defaults());
			Future<Acquired> waiting = executor.submit(() -> acquireAndRelease(waiterNode, lockName));
			NotifyNodes.awaitQueued(waiterNode, lockName, 1);
			long releasedAt = System.nanoTime();
			held.close();
			long releaseReturnedAt = System.nanoTime();
			Acquired acquired = waiting.get(15, TimeUnit.SECONDS);
			assertThat(acquired.fencingToken()).isGreaterThan(held.fencingToken());
			if (i >= WARM_UP_HAND_OFFS) {
				latencies.add(acquired.atNanos() - releasedAt);
				releaseCalls.add(releaseReturnedAt - releasedAt);
			}
		}
		List<Long> sorted = latencies.stream().sorted().toList();
		Duration p50 = Duration.ofNanos(sorted.get(HAND_OFFS / 2));
		Duration max = Duration.ofNanos(sorted.get(HAND_OFFS - 1));
		System.out.println("Hand-off latencies between two contexts (ms, in order): "
				+ latencies.stream().map((nanos) -> String.format("%.2f", nanos / 1e6)).toList() + "; p50 " + p50
				+ ", max " + max + "; of which the release call itself took (ms): "
				+ releaseCalls.stream().map((nanos) -> String.format("%.2f", nanos / 1e6)).toList());
		assertThat(p50).isLessThan(Duration.ofMillis(10));
		assertThat(max).isLessThan(Duration.ofMillis(500));
	}

	/**
	 * A caller that finds the lock busy joins its node's queue right after; a release whose
	 * notification arrives in between must not be lost, or the caller sleeps until its safety
	 * poll (2 s by default, 30 s here). The pause between the two steps, which any thread may
	 * take when it is descheduled, is made certain by the wait strategy below.
	 */
	@Test
	void releaseNotifiedBetweenABusyAnswerAndJoiningTheQueueStillWakesTheCaller() throws Exception {
		try (LockNode pausing = NotifyNodes.start(NotifyNodes.uniqueName("handoff_pause"), PausingConfig.class,
				SAFETY_POLL_30S, POLLING_MAX_30S)) {
			NotifyNodes.awaitListening(pausing);
			String lockName = "handoff-gap-" + UUID.randomUUID();
			PausingWaitStrategy strategy = pausing.bean(PausingWaitStrategy.class);
			strategy.pauseBeforeJoining(lockName);
			Lease held = a.lockManager().acquire(lockName, LockOptions.defaults());
			// Some caller waits already (registered in the row), so the release will notify.
			assertThat(b.bean(LeaseStore.class)
				.tryAcquire(lockName, "another-waiter", Duration.ofSeconds(30), Duration.ofSeconds(1), Duration.ofSeconds(30))
				.grant()).isEmpty();
			Future<Acquired> waiting = executor
				.submit(() -> acquireAndRelease(pausing, lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(5))));
			assertThat(strategy.busyAnswered.await(10, TimeUnit.SECONDS)).isTrue();
			long releasedAt = System.nanoTime();
			held.close();
			assertThat(strategy.releaseDelivered.await(10, TimeUnit.SECONDS)).isTrue();
			Acquired acquired = waiting.get(15, TimeUnit.SECONDS);
			assertThat(Duration.ofNanos(acquired.atNanos() - releasedAt)).isLessThan(Duration.ofMillis(500));
		}
	}

	private static Acquired acquireAndRelease(LockNode node, String lockName) {
		return acquireAndRelease(node, lockName, WAIT_10S);
	}

	private static Acquired acquireAndRelease(LockNode node, String lockName, LockOptions options) {
		try (Lease lease = node.lockManager().acquire(lockName, options)) {
			return new Acquired(lease.fencingToken(), System.nanoTime());
		}
	}

	private record Acquired(long fencingToken, long atNanos) {

	}

	/**
	 * Holds a caller between its busy answer and its joining the queue until this node has
	 * received the release notification of the lock.
	 */
	static class PausingWaitStrategy extends NotifiedWaitStrategy {

		private volatile String pausedLock;

		final CountDownLatch busyAnswered = new CountDownLatch(1);

		final CountDownLatch releaseDelivered = new CountDownLatch(1);

		PausingWaitStrategy(LeaseholdLockProperties properties) {
			super(properties.getNotify().getSafetyPollInterval(), new PollingWaitStrategy(
					properties.getPolling().getInitialInterval(), properties.getPolling().getMaxInterval()));
		}

		void pauseBeforeJoining(String lockName) {
			this.pausedLock = lockName;
		}

		@Override
		public Waiter join(String lockName, Duration leaseTime) {
			if (lockName.equals(this.pausedLock)) {
				this.busyAnswered.countDown();
				try {
					this.releaseDelivered.await(10, TimeUnit.SECONDS);
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
				}
			}
			return super.join(lockName, leaseTime);
		}

		@Override
		public void released(String lockName) {
			super.released(lockName);
			if (lockName.equals(this.pausedLock)) {
				this.releaseDelivered.countDown();
			}
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class PausingConfig {

		@Bean
		PausingWaitStrategy pausingWaitStrategy(LeaseholdLockProperties properties) {
			return new PausingWaitStrategy(properties);
		}

	}

}
