package io.leasehold.lock.aop;

import java.time.Duration;
import java.util.UUID;

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
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * {@code leasehold.lock.locks.<name>.*} applies to every call of an annotated method with that
 * name, whatever its key, between the annotation's own attributes and the global defaults.
 */
class PerLockConfigurationTests {

	private static final String PREFIX = "perlock-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static final Duration GLOBAL_LEASE = Duration.ofSeconds(20);

	private static final Duration CONFIGURED_LEASE = Duration.ofSeconds(7);

	private static final Duration ANNOTATED_LEASE = Duration.ofSeconds(3);

	private static final Duration CONFIGURED_WAIT = Duration.ofMillis(800);

	private static LockNode node;

	private static LockNode holder;

	private static ConfiguredService service;

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX, "leasehold.lock.lease-time=20s",
				"leasehold.lock.locks." + PREFIX + "configured.lease-time=7s",
				"leasehold.lock.locks." + PREFIX + "waiting.wait-time=800ms");
		holder = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		service = node.bean(ConfiguredService.class);
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
	void configuredLeaseTimeAppliesToEveryKeyOfTheName() {
		for (int i = 0; i < 3; i++) {
			String key = newKey();
			LeaseSnapshot inside = service.configured(key);
			assertThat(inside.lockName()).isEqualTo(PREFIX + "configured:" + key);
			assertLeaseTime(inside, CONFIGURED_LEASE);
		}
	}

	@Test
	void configuredLeaseTimeAppliesToNameWithoutKey() {
		LeaseSnapshot inside = service.configuredWithoutKey();
		assertThat(inside.lockName()).isEqualTo(PREFIX + "configured");
		assertLeaseTime(inside, CONFIGURED_LEASE);
	}

	@Test
	void annotationLeaseTimeBeatsConfiguredLeaseTime() {
		assertLeaseTime(service.annotated(newKey()), ANNOTATED_LEASE);
	}

	@Test
	void otherNamesUseGlobalLeaseTime() {
		assertLeaseTime(service.unconfigured(newKey()), GLOBAL_LEASE);
	}

	@Test
	void configuredWaitTimeAppliesToAnnotatedMethod() {
		String key = newKey();
		try (Lease held = hold("waiting", key)) {
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.waitsConfigured(key))
				.satisfies((ex) -> assertThat(ex.waited()).isGreaterThanOrEqualTo(CONFIGURED_WAIT));
		}
	}

	@Test
	void annotationWaitTimeBeatsConfiguredWaitTime() {
		String key = newKey();
		try (Lease held = hold("waiting", key)) {
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.triesOnce(key))
				.satisfies((ex) -> assertThat(ex.waited()).isLessThan(CONFIGURED_WAIT));
		}
	}

	/** Remaining time by the local clock, and the grant as the database recorded it. */
	private static void assertLeaseTime(LeaseSnapshot inside, Duration expected) {
		assertThat(Duration.between(inside.takenAt(), inside.expiresAt())).as("expiresAt minus now")
			.isBetween(expected.minusSeconds(1), expected.plusMillis(500));
		assertThat(inside.row()).hasValueSatisfying((row) -> assertThat(row.granted()).as("expires_at - acquired_at")
			.isBetween(expected.minusMillis(100), expected.plusMillis(100)));
	}

	private static Lease hold(String name, String key) {
		return holder.lockManager().acquire(PREFIX + name + ":" + key, LockOptions.defaults());
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(ConfiguredService.class)
	static class Config {

	}

	public static class ConfiguredService {

		@DistributedLock(name = "${test.prefix}configured", key = "#key")
		public LeaseSnapshot configured(String key) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}configured")
		public LeaseSnapshot configuredWithoutKey() {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}configured", key = "#key", leaseTime = "3s")
		public LeaseSnapshot annotated(String key) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}unconfigured", key = "#key")
		public LeaseSnapshot unconfigured(String key) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}waiting", key = "#key")
		public void waitsConfigured(String key) {
		}

		@DistributedLock(name = "${test.prefix}waiting", key = "#key", waitTime = "0s")
		public void triesOnce(String key) {
		}

	}

}
