package io.leasehold.lock.aop;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A thread re-entering a lock it holds reuses its lease; leases of different locks nest in
 * {@link LockContext} innermost first; and a lease leaves its holder's context when it is closed,
 * from whichever thread.
 */
class ReentrancyTests {

	private static final String PREFIX = "reentry-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static LockNode node;

	private static LockNode other;

	private static LockManager lockManager;

	private static OuterService outer;

	private static InnerService inner;

	private static OtherLockService otherLock;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		other = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		lockManager = node.lockManager();
		outer = node.bean(OuterService.class);
		inner = node.bean(InnerService.class);
		otherLock = node.bean(OtherLockService.class);
		executor = Executors.newSingleThreadExecutor();
	}

	@AfterAll
	static void stopNodes() {
		if (executor != null) {
			executor.shutdownNow();
		}
		if (node != null) {
			node.close();
		}
		if (other != null) {
			other.close();
		}
	}

	@Test
	void annotatedCallReenteringSameLockThroughAnotherBeanReusesLeaseAndToken() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		long start = System.nanoTime();
		Observations seen = outer.run(key, () -> {
			LeaseSnapshot outerLease = LeaseSnapshot.current();
			LeaseSnapshot innerLease = inner.run(key, LeaseSnapshot::current);
			LeaseSnapshot innerWaiting = inner.runWaiting(key, LeaseSnapshot::current);
			return new Observations(outerLease, innerLease, innerWaiting);
		});
		assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
		assertThat(seen.outer().lockName()).isEqualTo(lockName);
		for (LeaseSnapshot reentry : new LeaseSnapshot[] { seen.inner(), seen.innerWaiting() }) {
			assertThat(reentry.lockName()).isEqualTo(lockName);
			assertThat(reentry.fencingToken()).isEqualTo(seen.outer().fencingToken());
			assertThat(reentry.row()).hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(seen.outer().fencingToken());
			});
		}
	}

	@Test
	void closingReentryDoesNotReleaseOuterLease() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		Lease outerLease = outer.run(key, () -> {
			Lease held = LockContext.current().orElseThrow();
			inner.run(key, () -> null);
			assertThat(held.isValid()).isTrue();
			assertThat(LockContext.current()).containsSame(held);
			assertThat(LeaseTable.find(lockName)).hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(held.fencingToken());
			});
			assertThat(other.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
			return held;
		});
		assertThat(outerLease.isValid()).isFalse();
		try (Lease next = other.lockManager().acquire(lockName, LockOptions.defaults())) {
			assertThat(next.fencingToken()).isGreaterThan(outerLease.fencingToken());
		}
	}

	@Test
	void lockManagerInsideAnnotatedCallReusesLeaseAndItsCloseKeepsOuterLease() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		outer.run(key, () -> {
			Lease held = LockContext.current().orElseThrow();
			Lease again = lockManager.acquire(lockName, LockOptions.defaults());
			assertThat(again.fencingToken()).isEqualTo(held.fencingToken());
			assertThat(again.lockName()).isEqualTo(lockName);
			assertThat(LockContext.current()).containsSame(again);
			Optional<Lease> tried = lockManager.tryAcquire(lockName, LockOptions.defaults());
			assertThat(tried).hasValueSatisfying(
					(lease) -> assertThat(lease.fencingToken()).isEqualTo(held.fencingToken()));
			tried.get().close();
			again.close();
			assertThat(again.isValid()).isFalse();
			assertThat(held.isValid()).isTrue();
			assertThat(LockContext.current()).containsSame(held);
			assertThat(LeaseTable.isHeld(lockName)).isTrue();
			assertThat(other.lockManager().tryAcquire(lockName, LockOptions.defaults())).isEmpty();
			return null;
		});
		assertThat(LockContext.current()).isEmpty();
		assertThat(LeaseTable.isHeld(lockName)).isFalse();
	}

	@Test
	void callWithLockInsideAnnotatedCallReusesLease() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		outer.run(key, () -> {
			long token = LockContext.fencingToken();
			long innerToken = lockManager.callWithLock(lockName, LockOptions.defaults(), Lease::fencingToken);
			assertThat(innerToken).isEqualTo(token);
			assertThat(LeaseTable.isHeld(lockName)).isTrue();
			return null;
		});
	}

	@Test
	void anotherThreadOfSameNodeDoesNotReenter() throws Exception {
		String key = newKey();
		outer.run(key, () -> {
			assertThatExceptionOfType(ExecutionException.class)
				.isThrownBy(() -> executor.submit(() -> inner.run(key, () -> "ran")).get(10, TimeUnit.SECONDS))
				.withCauseInstanceOf(LockNotAcquiredException.class);
			return null;
		});
	}

	@Test
	void leasesOfDifferentLocksNestInnermostFirst() {
		String outerName = PREFIX + "shared:" + newKey();
		String middleKey = newKey();
		String middleName = PREFIX + "other:" + middleKey;
		String innerName = PREFIX + "programmatic-" + newKey();
		outer.run(outerName.substring((PREFIX + "shared:").length()), () -> {
			Lease outerLease = LockContext.current().orElseThrow();
			otherLock.run(middleKey, () -> {
				Lease middleLease = LockContext.current().orElseThrow();
				assertThat(middleLease.lockName()).isEqualTo(middleName);
				assertThat(middleLease.fencingToken()).isGreaterThan(outerLease.fencingToken());
				assertThat(LockContext.fencingToken()).isEqualTo(middleLease.fencingToken());
				assertThat(LockContext.current(outerName)).containsSame(outerLease);
				assertThat(LockContext.current(middleName)).containsSame(middleLease);
				try (Lease innerLease = lockManager.acquire(innerName, LockOptions.defaults())) {
					assertThat(LockContext.current()).containsSame(innerLease);
					assertThat(LockContext.fencingToken()).isEqualTo(innerLease.fencingToken());
					assertThat(LockContext.current(middleName)).containsSame(middleLease);
					assertThat(LockContext.current(outerName)).containsSame(outerLease);
				}
				assertThat(LockContext.current()).containsSame(middleLease);
				assertThat(LockContext.current(innerName)).isEmpty();
				return null;
			});
			assertThat(LockContext.current()).containsSame(outerLease);
			assertThat(LockContext.current(middleName)).isEmpty();
			assertThat(LockContext.fencingToken()).isEqualTo(outerLease.fencingToken());
			return null;
		});
		assertThat(LockContext.current()).isEmpty();
		assertThat(LockContext.current(outerName)).isEmpty();
	}

	@Test
	void leaseClosedFromAnotherThreadLeavesHolderContext() throws Exception {
		String lockName = PREFIX + "closed-elsewhere-" + newKey();
		Lease lease = executor.submit(() -> lockManager.acquire(lockName, LockOptions.defaults()))
			.get(10, TimeUnit.SECONDS);
		assertThat(executor.submit(() -> LockContext.current()).get(10, TimeUnit.SECONDS)).containsSame(lease);
		lease.close();
		assertThat(lease.isValid()).isFalse();
		assertThat(executor.submit(() -> LockContext.current()).get(10, TimeUnit.SECONDS)).isEmpty();
		assertThat(executor.submit(() -> LockContext.current(lockName)).get(10, TimeUnit.SECONDS)).isEmpty();
		assertThat(other.lockManager().tryAcquire(lockName, LockOptions.defaults()))
			.hasValueSatisfying(Lease::close);
	}

	@Test
	void annotatedLeaseClosedFromAnotherThreadLeavesHolderContextAndCallCompletes() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		String result = outer.run(key, () -> {
			Lease held = LockContext.current().orElseThrow();
			try {
				executor.submit((Runnable) held::close).get(10, TimeUnit.SECONDS);
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
			assertThat(held.isValid()).isFalse();
			assertThat(LockContext.current()).isEmpty();
			assertThat(LockContext.current(lockName)).isEmpty();
			assertThat(LeaseTable.isHeld(lockName)).isFalse();
			assertThat(other.lockManager().tryAcquire(lockName, LockOptions.defaults()))
				.hasValueSatisfying(Lease::close);
			return "completed";
		});
		assertThat(result).isEqualTo("completed");
		assertThat(LockContext.current()).isEmpty();
	}

	@Test
	void reentryClosedFromAnotherThreadLeavesOuterLeaseInHolderContext() {
		String key = newKey();
		String lockName = PREFIX + "shared:" + key;
		outer.run(key, () -> {
			Lease held = LockContext.current().orElseThrow();
			Lease again = lockManager.acquire(lockName, LockOptions.defaults());
			assertThat(LockContext.current()).containsSame(again);
			try {
				executor.submit((Runnable) again::close).get(10, TimeUnit.SECONDS);
			}
			catch (Exception ex) {
				throw new IllegalStateException(ex);
			}
			assertThat(LockContext.current()).containsSame(held);
			assertThat(held.isValid()).isTrue();
			assertThat(LeaseTable.isHeld(lockName)).isTrue();
			return null;
		});
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	record Observations(LeaseSnapshot outer, LeaseSnapshot inner, LeaseSnapshot innerWaiting) {

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import({ OuterService.class, InnerService.class, OtherLockService.class })
	static class Config {

	}

	public static class OuterService {

		@DistributedLock(name = "${test.prefix}shared", key = "#key")
		public <T> T run(String key, Supplier<T> body) {
			return body.get();
		}

	}

	public static class InnerService {

		@DistributedLock(name = "${test.prefix}shared", key = "#key", waitTime = "0s")
		public <T> T run(String key, Supplier<T> body) {
			return body.get();
		}

		@DistributedLock(name = "${test.prefix}shared", key = "#key", waitTime = "20s")
		public <T> T runWaiting(String key, Supplier<T> body) {
			return body.get();
		}

	}

	public static class OtherLockService {

		@DistributedLock(name = "${test.prefix}other", key = "#key")
		public <T> T run(String key, Supplier<T> body) {
			return body.get();
		}

	}

}
