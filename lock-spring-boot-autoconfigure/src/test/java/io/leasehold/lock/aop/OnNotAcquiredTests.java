package io.leasehold.lock.aop;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.OnNotAcquired;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * What an annotated method does when its lock is busy: {@code SKIP} returns an empty result
 * without running the body, {@code THROW} raises {@link LockNotAcquiredException}, and a wait
 * time lets the call run once the holder releases.
 */
class OnNotAcquiredTests {

	private static final String PREFIX = "busy-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static final String HOLDER = PREFIX + "holder";

	private static LockNode node;

	private static LockNode holder;

	private static BusyService service;

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX, "leasehold.lock.owner-id=" + PREFIX + "node");
		holder = LockNode.start(Config.class, "test.prefix=" + PREFIX, "leasehold.lock.owner-id=" + HOLDER);
		service = node.bean(BusyService.class);
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
	void skipReturnsNullForReferenceTypeWithoutRunningBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			assertThat(service.reference(key)).isNull();
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.reference(key)).isEqualTo("ran");
		assertThat(service.runs(key)).isOne();
	}

	@Test
	void skipReturnsEmptyOptionalWithoutRunningBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			assertThat(service.optional(key)).isEmpty();
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.optional(key)).contains("ran");
	}

	@Test
	void skipReturnsZeroForIntWithoutRunningBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			assertThat(service.primitiveInt(key)).isZero();
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.primitiveInt(key)).isEqualTo(42);
	}

	@Test
	void skipReturnsZeroForLongWithoutRunningBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			assertThat(service.primitiveLong(key)).isZero();
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.primitiveLong(key)).isEqualTo(42L);
	}

	@Test
	void skipReturnsFalseForBooleanWithoutRunningBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			assertThat(service.primitiveBoolean(key)).isFalse();
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.primitiveBoolean(key)).isTrue();
	}

	@Test
	void skipOfVoidMethodDoesNotRunBody() {
		String key = newKey();
		try (Lease held = hold("skip", key)) {
			service.nothing(key);
		}
		assertThat(service.runs(key)).isZero();
		service.nothing(key);
		assertThat(service.runs(key)).isOne();
	}

	@Test
	void throwRaisesLockNotAcquiredExceptionNamingLockAndHolderWithoutRunningBody() {
		String key = newKey();
		String lockName = PREFIX + "throw:" + key;
		try (Lease held = hold("throw", key)) {
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.throwing(key))
				.satisfies((ex) -> {
					assertThat(ex.lockName()).isEqualTo(lockName);
					assertThat(ex.getMessage()).contains(lockName).contains(HOLDER);
				});
		}
		assertThat(service.runs(key)).isZero();
		assertThat(service.throwing(key)).isEqualTo("ran");
	}

	@Test
	void throwIsTheDefault() {
		String key = newKey();
		try (Lease held = hold("default", key)) {
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.byDefault(key))
				.satisfies((ex) -> assertThat(ex.lockName()).isEqualTo(PREFIX + "default:" + key));
		}
		assertThat(service.runs(key)).isZero();
	}

	@Test
	void withWaitTimeCallWaitsAndRunsOnceHolderReleases() throws Exception {
		for (int i = 0; i < 5; i++) {
			String key = newKey();
			Lease held = hold("wait", key);
			AtomicReference<LeaseSnapshot> result = new AtomicReference<>();
			AtomicReference<Throwable> failure = new AtomicReference<>();
			Thread caller = new Thread(() -> {
				try {
					result.set(service.waiting(key));
				}
				catch (Throwable ex) {
					failure.set(ex);
				}
			}, "waiting-caller-" + i);
			caller.start();
			long releaseStarted;
			try {
				awaitWaiting(caller);
				assertThat(service.runs(key)).isZero();
			}
			finally {
				releaseStarted = System.nanoTime();
				held.close();
			}
			caller.join(TimeUnit.SECONDS.toMillis(10));
			assertThat(caller.isAlive()).isFalse();
			assertThat(failure.get()).isNull();
			assertThat(service.runs(key)).isOne();
			assertThat(service.lastStartNanos(key)).as("body started after the release").isGreaterThan(releaseStarted);
			assertThat(result.get().fencingToken()).isGreaterThan(held.fencingToken());
			assertThat(result.get().lockName()).isEqualTo(PREFIX + "wait:" + key);
		}
	}

	@Test
	void skipWithWaitTimeWaitsThenReturnsEmptyResult() {
		String key = newKey();
		try (Lease held = hold("skip-wait", key)) {
			long start = System.nanoTime();
			assertThat(service.skipAfterWaiting(key)).isEmpty();
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
		}
		assertThat(service.runs(key)).isZero();
	}

	/** The caller is waiting once it sleeps between two attempts on the busy lock. */
	private static void awaitWaiting(Thread caller) throws InterruptedException {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (caller.getState() != Thread.State.TIMED_WAITING) {
			assertThat(caller.isAlive()).as("caller still waiting").isTrue();
			assertThat(System.nanoTime()).as("caller started waiting").isLessThan(deadline);
			Thread.sleep(1);
		}
	}

	private static Lease hold(String name, String key) {
		return holder.lockManager().acquire(PREFIX + name + ":" + key, LockOptions.defaults());
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(BusyService.class)
	static class Config {

	}

	public static class BusyService {

		private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

		private final Map<String, Long> lastStart = new ConcurrentHashMap<>();

		int runs(String key) {
			AtomicInteger count = this.runs.get(key);
			return (count != null) ? count.get() : 0;
		}

		long lastStartNanos(String key) {
			return this.lastStart.get(key);
		}

		private void ran(String key) {
			this.lastStart.put(key, System.nanoTime());
			this.runs.computeIfAbsent(key, (ignored) -> new AtomicInteger()).incrementAndGet();
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public String reference(String key) {
			ran(key);
			return "ran";
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public Optional<String> optional(String key) {
			ran(key);
			return Optional.of("ran");
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public int primitiveInt(String key) {
			ran(key);
			return 42;
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public long primitiveLong(String key) {
			ran(key);
			return 42L;
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public boolean primitiveBoolean(String key) {
			ran(key);
			return true;
		}

		@DistributedLock(name = "${test.prefix}skip", key = "#key", onNotAcquired = OnNotAcquired.SKIP)
		public void nothing(String key) {
			ran(key);
		}

		@DistributedLock(name = "${test.prefix}throw", key = "#key", onNotAcquired = OnNotAcquired.THROW)
		public String throwing(String key) {
			ran(key);
			return "ran";
		}

		@DistributedLock(name = "${test.prefix}default", key = "#key")
		public String byDefault(String key) {
			ran(key);
			return "ran";
		}

		@DistributedLock(name = "${test.prefix}wait", key = "#key", waitTime = "20s")
		public LeaseSnapshot waiting(String key) {
			ran(key);
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}skip-wait", key = "#key", waitTime = "300ms",
				onNotAcquired = OnNotAcquired.SKIP)
		public Optional<String> skipAfterWaiting(String key) {
			ran(key);
			return Optional.of("ran");
		}

	}

}
