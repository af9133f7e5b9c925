package io.leasehold.lock.actuate;

import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.LongTaskTimer;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The meters docs/metrics.md documents exist with the documented names, types and tags, on a
 * node with the Actuator on the class path (Spring Boot's default observation handler turns the
 * observations into timers and long task timers).
 */
class LeaseholdMetricsTests {

	private static LockNode node;

	private static MeterRegistry meters;

	private static LockManager locks;

	@BeforeAll
	static void startNode() {
		node = LockNode.start(Config.class);
		meters = node.bean(MeterRegistry.class);
		locks = node.lockManager();
	}

	@AfterAll
	static void stopNode() {
		node.close();
	}

	@Test
	void acquisitionIsTimedByBoundedLockNameAndOutcome() throws Exception {
		String tag = uniqueTag();
		try (Lease lease = locks.acquire(tag + ":key-1", LockOptions.defaults())) {
			// busy: tried once; timed out: waited and gave up; both from another thread
			assertThat(CompletableFuture.supplyAsync(() -> locks.tryAcquire(tag + ":key-1", LockOptions.defaults()))
				.get(10, TimeUnit.SECONDS)).isEmpty();
			assertThat(CompletableFuture
				.supplyAsync(() -> locks.tryAcquire(tag + ":key-1",
						LockOptions.defaults().withWaitTime(Duration.ofMillis(50))))
				.get(10, TimeUnit.SECONDS)).isEmpty();
		}
		assertThat(acquireTimer(tag, "acquired").count()).isEqualTo(1);
		assertThat(acquireTimer(tag, "busy").count()).isEqualTo(1);
		Timer timedOut = acquireTimer(tag, "timed-out");
		assertThat(timedOut.count()).isEqualTo(1);
		assertThat(timedOut.totalTime(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(50);
		// the key never becomes a tag: one timer per outcome for the lock, whatever the key
		assertThat(meters.find("leasehold.lock.acquire").tag("lock", tag).timers()).hasSize(3)
			.allSatisfy((timer) -> assertThat(timer.getId().getTag("error")).isEqualTo("none"));
		assertThat(meters.find("leasehold.lock.acquire").tagKeys("lock.name").meters()).isEmpty();
		assertThat(meters.find("leasehold.lock.acquire").tagKeys("fencing.token").meters()).isEmpty();
	}

	@Test
	void waitingCallerIsAnActiveAcquisitionAndAWaiter() throws Exception {
		String tag = uniqueTag();
		Lease lease = locks.acquire(tag, LockOptions.defaults());
		double waitersBefore = gauge("leasehold.lock.waiters");
		CompletableFuture<Optional<Lease>> waiter = CompletableFuture
			.supplyAsync(() -> locks.tryAcquire(tag, LockOptions.defaults().withWaitTime(Duration.ofSeconds(30))));
		LongTaskTimer active = meters.get("leasehold.lock.acquire.active").tag("lock", tag).longTaskTimer();
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			assertThat(active.activeTasks()).isEqualTo(1);
			assertThat(gauge("leasehold.lock.waiters")).isEqualTo(waitersBefore + 1);
		});
		lease.close();
		Lease second = waiter.get(10, TimeUnit.SECONDS).orElseThrow();
		assertThat(active.activeTasks()).isZero();
		assertThat(gauge("leasehold.lock.waiters")).isEqualTo(waitersBefore);
		second.close();
		assertThat(acquireTimer(tag, "acquired").count()).isEqualTo(2);
	}

	@Test
	void holdIsTimedFromGrantToReleaseByLockPurposeAndOutcome() {
		String tag = uniqueTag();
		double heldBefore = gauge("leasehold.lock.leases.held");
		Lease lease = locks.acquire(tag + ":a", LockOptions.defaults().withPurpose(Purpose.EFFICIENCY));
		LongTaskTimer active = meters.get("leasehold.lock.hold.active")
			.tags("lock", tag, "purpose", "efficiency")
			.longTaskTimer();
		assertThat(active.activeTasks()).isEqualTo(1);
		assertThat(gauge("leasehold.lock.leases.held")).isEqualTo(heldBefore + 1);
		lease.close();
		assertThat(active.activeTasks()).isZero();
		assertThat(gauge("leasehold.lock.leases.held")).isEqualTo(heldBefore);
		Timer hold = meters.get("leasehold.lock.hold")
			.tags("lock", tag, "purpose", "efficiency", "outcome", "released", "error", "none")
			.timer();
		assertThat(hold.count()).isEqualTo(1);
		try (Lease correctness = locks.acquire(tag + ":b", LockOptions.defaults())) {
			assertThat(correctness.isValid()).isTrue();
		}
		assertThat(meters.get("leasehold.lock.hold")
			.tags("lock", tag, "purpose", "correctness", "outcome", "released")
			.timer()
			.count()).isEqualTo(1);
	}

	@Test
	void renewalsAreCountedBySuccess() {
		String tag = uniqueTag();
		try (Lease lease = locks.acquire(tag, LockOptions.defaults().withLeaseTime(Duration.ofMillis(600)))) {
			await().atMost(Duration.ofSeconds(10))
				.untilAsserted(() -> assertThat(counter("leasehold.lock.renewals", "lock", tag, "result", "success"))
					.isGreaterThanOrEqualTo(2));
			assertThat(lease.isValid()).isTrue();
		}
		assertThat(meters.find("leasehold.lock.renewals").tags("lock", tag, "result", "failure").counter()).isNull();
	}

	@Test
	void leaseEndedByAnOperatorIsCountedAsLostWhenItsHolderReleasesIt() {
		String tag = uniqueTag();
		Lease lease = locks.acquire(tag, LockOptions.defaults().withAutoRenew(false));
		assertThat(node.bean(LeaseStore.class).release(tag, lease.fencingToken(), Duration.ZERO)).isTrue();
		assertThat(meters.find("leasehold.lock.leases.lost").tag("lock", tag).counter()).isNull();
		lease.close();
		assertThat(counter("leasehold.lock.leases.lost", "lock", tag)).isEqualTo(1);
		assertThat(meters.get("leasehold.lock.hold").tags("lock", tag, "outcome", "lost").timer().count())
			.isEqualTo(1);
		assertThat(meters.find("leasehold.lock.hold").tags("lock", tag, "outcome", "released").timer()).isNull();
	}

	@Test
	void leaseFoundGoneByARenewalIsCountedAsLostAndAsAFailedRenewal() {
		String tag = uniqueTag();
		Lease lease = locks.acquire(tag, LockOptions.defaults().withLeaseTime(Duration.ofMillis(900)));
		assertThat(node.bean(LeaseStore.class).release(tag, lease.fencingToken(), Duration.ZERO)).isTrue();
		await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
			assertThat(counter("leasehold.lock.leases.lost", "lock", tag)).isEqualTo(1);
			assertThat(counter("leasehold.lock.renewals", "lock", tag, "result", "failure")).isEqualTo(1);
		});
		assertThat(lease.isValid()).isFalse();
		lease.close();
		// found lost once, counted once
		assertThat(counter("leasehold.lock.leases.lost", "lock", tag)).isEqualTo(1);
		assertThat(meters.get("leasehold.lock.hold").tags("lock", tag, "outcome", "lost").timer().count())
			.isEqualTo(1);
	}

	@Test
	void everyDocumentedMeterHasItsDocumentedType() {
		String tag = uniqueTag();
		try (Lease lease = locks.acquire(tag, LockOptions.defaults())) {
			assertThat(lease.isValid()).isTrue();
		}
		assertThat(meters.get("leasehold.lock.acquire").tag("lock", tag).meter()).isInstanceOf(Timer.class);
		assertThat(meters.get("leasehold.lock.acquire.active").tag("lock", tag).meter())
			.isInstanceOf(LongTaskTimer.class);
		assertThat(meters.get("leasehold.lock.hold").tag("lock", tag).meter()).isInstanceOf(Timer.class);
		assertThat(meters.get("leasehold.lock.hold.active").tag("lock", tag).meter()).isInstanceOf(LongTaskTimer.class);
		assertThat(meters.get("leasehold.lock.leases.held").meter()).isInstanceOf(Gauge.class);
		assertThat(meters.get("leasehold.lock.waiters").meter()).isInstanceOf(Gauge.class);
		assertThat(meters.getMeters()).map(Meter::getId)
			.filteredOn((id) -> id.getName().startsWith("leasehold."))
			.map(Meter.Id::getName)
			.allSatisfy((name) -> assertThat(name).isIn("leasehold.lock.acquire", "leasehold.lock.acquire.active",
					"leasehold.lock.hold", "leasehold.lock.hold.active", "leasehold.lock.leases.held",
					"leasehold.lock.waiters", "leasehold.lock.leases.lost", "leasehold.lock.renewals"));
	}

	@Test
	void observationsCanBeTurnedOffByNameWhileTheOtherMetersRemain() {
		try (LockNode quiet = LockNode.start(Config.class, "management.observations.enable.leasehold.lock=false")) {
			MeterRegistry quietMeters = quiet.bean(MeterRegistry.class);
			String tag = uniqueTag();
			try (Lease lease = quiet.lockManager().acquire(tag, LockOptions.defaults())) {
				assertThat(quietMeters.get("leasehold.lock.leases.held").gauge().value()).isEqualTo(1);
			}
			assertThat(quietMeters.find("leasehold.lock.acquire").meters()).isEmpty();
			assertThat(quietMeters.find("leasehold.lock.hold").meters()).isEmpty();
		}
	}

	private static Timer acquireTimer(String tag, String outcome) {
		return meters.get("leasehold.lock.acquire").tags("lock", tag, "outcome", outcome).timer();
	}

	private static double gauge(String name) {
		return meters.get(name).gauge().value();
	}

	private static double counter(String name, String... tags) {
		Counter counter = meters.find(name).tags(tags).counter();
		return (counter != null) ? counter.count() : 0;
	}

	private static String uniqueTag() {
		return "metrics-" + UUID.randomUUID();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
