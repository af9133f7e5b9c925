package io.leasehold.lock.core;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.task.AsyncTaskExecutor;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.notify.NotifiedWaitStrategy;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * With {@code spring.threads.virtual.enabled=true}, callers of a {@code @DistributedLock} method
 * on virtual threads (from Boot's {@code applicationTaskExecutor}) wait for a busy lock without
 * pinning their carrier threads: while {@value #WAITERS} of them wait, fresh virtual threads still
 * run, and once the holder releases, every waiter gets the lock, one at a time.
 * <p>
 * Meant to run with few carriers and no compensation for pinned ones, as {@code .ci/run} does:
 * {@code -Djdk.virtualThreadScheduler.parallelism=2 -Djdk.virtualThreadScheduler.maxPoolSize=2}.
 * Without those flags the test is still sound on any machine with fewer than {@value #WAITERS}
 * cores: a carrier pinned by a parked virtual thread is not replaced. Compiled with
 * {@code --release 17}, so virtual threads are reached through Spring's executor and reflection.
 * <p>
 * Since JDK 24 (JEP 491) {@code synchronized} no longer pins, so on Java 25 this test catches the
 * remaining causes (blocking in a class initializer or under a native frame); on Java 21 it would
 * also catch a {@code synchronized} block around a blocking call.
 */
@EnabledForJreRange(min = JRE.JAVA_21)
class VirtualThreadTests {

	private static final int WAITERS = 200;

	private static final int ROUNDS = 3;

	/** How long a fresh virtual thread may take to run while the waiters wait. */
	private static final Duration FRESH_THREAD_BOUND = Duration.ofSeconds(5);

	private static final String PINNED_EVENT = "jdk.VirtualThreadPinned";

	private static final Method IS_VIRTUAL = isVirtualMethod();

	/** Its callers run on virtual threads and wait for the lock. */
	private static LockNode node;

	/** Holds the lock while the callers of {@link #node} wait. */
	private static LockNode holder;

	private static AsyncTaskExecutor virtualThreads;

	@BeforeAll
	static void startNodes() throws Exception {
		// a short safety poll, so that waiting heads also query the database from virtual threads
		node = LockNode.start(Config.class, "spring.threads.virtual.enabled=true",
				"leasehold.lock.notify.safety-poll-interval=200ms");
		holder = LockNode.start(Config.class);
		await().atMost(Duration.ofSeconds(10))
			.until(() -> node.bean(NotifiedWaitStrategy.class).isListening()
					&& holder.bean(NotifiedWaitStrategy.class).isListening());
		virtualThreads = node.context().getBean("applicationTaskExecutor", AsyncTaskExecutor.class);
		// Initializes the classes of the locked and the waiting path first: a virtual thread that
		// blocks in a class initializer pins its carrier, once per JVM, whatever the library does.
		Round warmUp = new Round(2);
		warmUp.run();
		assertThat(warmUp.allVirtual()).isTrue();
	}

	@AfterAll
	static void stopNodes() {
		if (node != null) {
			node.close();
		}
		if (holder != null) {
			holder.close();
		}
	}

	@Test
	void waitingCallersOnVirtualThreadsLeaveCarriersFreeAndAreServedOneAtATime() throws Exception {
		for (int round = 0; round < ROUNDS; round++) {
			Round waiters = new Round(WAITERS);
			waiters.run();
			assertThat(waiters.allVirtual()).as("callers ran on virtual threads").isTrue();
		}
	}

	@Test
	void noVirtualThreadIsPinnedInLeaseholdCodeWhileWaitingOrHandingOver() throws Exception {
		Path file = Files.createTempFile("leasehold-virtual-threads", ".jfr");
		try (Recording recording = new Recording()) {
			recording.enable(PINNED_EVENT).withThreshold(Duration.ZERO).withStackTrace();
			recording.start();
			new Round(WAITERS).run();
			// a pin the recording must see, or "no pinned event" would prove nothing
			Future<?> canary = virtualThreads.submit(PinningCanary::initialize);
			canary.get(10, TimeUnit.SECONDS);
			recording.stop();
			recording.dump(file);
			List<RecordedEvent> pinned = RecordingFile.readAllEvents(file)
				.stream()
				.filter((event) -> event.getEventType().getName().equals(PINNED_EVENT))
				.collect(Collectors.toList());
			assertThat(pinned).map(VirtualThreadTests::describe)
				.as("pinned events of the canary")
				.anyMatch((event) -> event.contains(PinningCanary.class.getName() + ".<clinit>"));
			assertThat(pinned).filteredOn((event) -> frames(event).stream().anyMatch(VirtualThreadTests::isLibraryFrame))
				.map(VirtualThreadTests::describe)
				.as("pinned events in Leasehold code")
				.isEmpty();
			assertThat(pinned).filteredOn((event) -> event.getStackTrace().isTruncated())
				.map(VirtualThreadTests::describe)
				.as("pinned events whose stack is cut off, so Leasehold frames may be hidden")
				.isEmpty();
		}
		finally {
			Files.deleteIfExists(file);
		}
	}

	private static List<String> frames(RecordedEvent event) {
		List<String> frames = new ArrayList<>();
		for (RecordedFrame frame : event.getStackTrace().getFrames()) {
			frames.add(frame.getMethod().getType().getName() + "." + frame.getMethod().getName());
		}
		return frames;
	}

	private static String describe(RecordedEvent event) {
		String reason = event.hasField("pinnedReason") ? event.getString("pinnedReason") : "(no reason recorded)";
		return event.getDuration() + " pinned: " + reason + "\n\tat " + String.join("\n\tat ", frames(event));
	}

	/** Leasehold's code, not this test's. */
	private static boolean isLibraryFrame(String frame) {
		return frame.startsWith("io.leasehold.") && !frame.startsWith(VirtualThreadTests.class.getName());
	}

	private static boolean isVirtual(Thread thread) {
		try {
			return (Boolean) IS_VIRTUAL.invoke(thread);
		}
		catch (ReflectiveOperationException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private static Method isVirtualMethod() {
		try {
			return Thread.class.getMethod("isVirtual");
		}
		catch (NoSuchMethodException ex) {
			// before Java 21: the class is disabled
			return null;
		}
	}

	/**
	 * One lock held by {@link #holder} while {@code waiters} callers of {@link #node} queue for
	 * it on virtual threads; then released.
	 */
	static final class Round {

		private final int waiters;

		private final String key = UUID.randomUUID().toString();

		private final AtomicInteger inside = new AtomicInteger();

		private final AtomicInteger mostInside = new AtomicInteger();

		/** Fencing tokens in the order the callers entered the method. */
		private final List<Long> entered = Collections.synchronizedList(new ArrayList<>());

		private final Set<Thread> callers = ConcurrentHashMap.newKeySet();

		private final Set<Thread> platformCallers = ConcurrentHashMap.newKeySet();

		Round(int waiters) {
			this.waiters = waiters;
		}

		void run() throws Exception {
			Guarded guarded = node.bean(Guarded.class);
			DefaultLockManager manager = (DefaultLockManager) node.lockManager();
			String lockName = Guarded.NAME + ":" + this.key;
			Lease held = holder.lockManager().acquire(lockName, LockOptions.defaults());
			List<Future<Long>> calls = new ArrayList<>();
			try {
				for (int i = 0; i < this.waiters; i++) {
					calls.add(virtualThreads.submit(() -> {
						this.callers.add(Thread.currentThread());
						return guarded.run(this.key, this, 0L);
					}));
				}
				await().pollInterval(Duration.ofMillis(5))
					.atMost(Duration.ofSeconds(30))
					.until(() -> manager.waiterCount() == this.waiters && parkedCallers() >= this.waiters - 1);
				// Over a few safety polls of the queue's head, fresh virtual threads still get a carrier.
				long end = System.nanoTime() + Duration.ofMillis(1000).toNanos();
				int checks = 0;
				do {
					checks++;
					CountDownLatch ran = new CountDownLatch(1);
					long before = System.nanoTime();
					virtualThreads.execute(() -> {
						try {
							// parks and mounts again, on whichever carrier is free
							Thread.sleep(1);
						}
						catch (InterruptedException ex) {
							Thread.currentThread().interrupt();
						}
						ran.countDown();
					});
					assertThat(ran.await(FRESH_THREAD_BOUND.toMillis(), TimeUnit.MILLISECONDS))
						.as("a fresh virtual thread ran within %s while %d callers waited (check %d; carriers: %s)",
								FRESH_THREAD_BOUND, this.waiters, checks, carriers())
						.isTrue();
					assertThat(Duration.ofNanos(System.nanoTime() - before)).isLessThan(FRESH_THREAD_BOUND);
					Thread.sleep(20);
				}
				while (System.nanoTime() - end < 0);
				assertThat(this.entered).as("callers that got the lock its holder still held").isEmpty();
				assertThat(calls).noneMatch(Future::isDone);
				assertThat(manager.waiterCount()).isEqualTo(this.waiters);
			}
			finally {
				held.close();
			}
			List<Long> tokens = new ArrayList<>();
			for (Future<Long> call : calls) {
				tokens.add(call.get(60, TimeUnit.SECONDS));
			}
			assertThat(this.mostInside).as("callers inside the locked method at once").hasValue(1);
			assertThat(this.entered).as("fencing tokens in the order the callers entered")
				.hasSize(this.waiters)
				.isSorted()
				.doesNotHaveDuplicates()
				.allSatisfy((token) -> assertThat(token).isGreaterThan(held.fencingToken()));
			assertThat(tokens).containsExactlyInAnyOrderElementsOf(this.entered);
			assertThat(manager.waiterCount()).isZero();
		}

		boolean allVirtual() {
			return this.platformCallers.isEmpty() && this.callers.size() == this.waiters;
		}

		private long parkedCallers() {
			return this.callers.stream()
				.map(Thread::getState)
				.filter((state) -> state == Thread.State.WAITING || state == Thread.State.TIMED_WAITING)
				.count();
		}

		private static String carriers() {
			return "parallelism=" + System.getProperty("jdk.virtualThreadScheduler.parallelism", "default") + ", maxPoolSize="
					+ System.getProperty("jdk.virtualThreadScheduler.maxPoolSize", "default");
		}

	}

	static class Guarded {

		static final String NAME = "virtual-thread";

		@DistributedLock(name = NAME, key = "#key", waitTime = "60s")
		public long run(String key, Round round, @FencingToken long token) throws InterruptedException {
			if (!isVirtual(Thread.currentThread())) {
				round.platformCallers.add(Thread.currentThread());
			}
			round.mostInside.accumulateAndGet(round.inside.incrementAndGet(), Math::max);
			round.entered.add(token);
			// parks: a second caller let in now would be seen inside
			Thread.sleep(1);
			round.inside.decrementAndGet();
			return token;
		}

	}

	/** Blocks in its initializer, which pins the virtual thread that initializes it. */
	static final class PinningCanary {

		static {
			try {
				Thread.sleep(50);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

		static void initialize() {
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Guarded guarded() {
			return new Guarded();
		}

	}

}
