package io.leasehold.lock.aop;

import java.time.Duration;
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
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * How {@code @DistributedLock} turns its name and key into the lock it takes: SpEL keys over the
 * arguments and beans, {@code name + ":" + key}, placeholders, and the exclusion that follows.
 */
class DistributedLockKeyTests {

	private static final String PREFIX = "keys-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static final String OWNER = PREFIX + "node";

	private static final String OTHER_OWNER = PREFIX + "other";

	private static final int ITERATIONS = 20;

	private static LockNode node;

	private static LockNode other;

	private static KeyedService service;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		String[] common = { "test.prefix=" + PREFIX, "test.placeholder.name=" + PREFIX + "resolved",
				"test.placeholder.lease-time=7s", "test.placeholder.wait-time=300ms" };
		node = LockNode.start(Config.class, with(common, "leasehold.lock.owner-id=" + OWNER));
		other = LockNode.start(Config.class, with(common, "leasehold.lock.owner-id=" + OTHER_OWNER));
		service = node.bean(KeyedService.class);
		executor = Executors.newFixedThreadPool(2);
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
	void keyReferencingParameterByNameIsAppendedToName() {
		String id = newKey();
		LeaseSnapshot inside = service.byName(id);
		assertThat(inside.lockName()).isEqualTo(PREFIX + "by-name:" + id);
		assertRowHeldByNode(inside);
	}

	@Test
	void keyReferencingParametersByIndexWithPIsAppendedToName() {
		String id = newKey();
		LeaseSnapshot inside = service.byIndexP("eu", id);
		assertThat(inside.lockName()).isEqualTo(PREFIX + "by-p:eu/" + id);
		assertRowHeldByNode(inside);
	}

	@Test
	void keyReferencingParametersByIndexWithAIsAppendedToName() {
		String id = newKey();
		LeaseSnapshot inside = service.byIndexA(id, 42);
		assertThat(inside.lockName()).isEqualTo(PREFIX + "by-a:" + id + "#42");
		assertRowHeldByNode(inside);
	}

	@Test
	void keyReferencingNestedPropertiesIsAppendedToName() {
		String id = newKey();
		LeaseSnapshot inside = service.byNestedProperty(new Order(id, new Customer("c-7")));
		assertThat(inside.lockName()).isEqualTo(PREFIX + "nested:c-7/" + id);
		assertRowHeldByNode(inside);
	}

	@Test
	void keyReferencingBeanIsAppendedToName() {
		String id = newKey();
		LeaseSnapshot inside = service.byBeanReference(id);
		assertThat(inside.lockName()).isEqualTo(PREFIX + "bean:tenant-a:" + id);
		assertRowHeldByNode(inside);
	}

	@Test
	void nameWithoutKeyIsTheLockName() {
		LeaseSnapshot inside = service.withoutKey();
		assertThat(inside.lockName()).isEqualTo(PREFIX + "no-key");
		assertRowHeldByNode(inside);
	}

	@Test
	void placeholderInNameIsResolved() {
		String id = newKey();
		LeaseSnapshot inside = service.withPlaceholders(id);
		assertThat(inside.lockName()).isEqualTo(PREFIX + "resolved:" + id);
		assertRowHeldByNode(inside);
	}

	@Test
	void placeholderInLeaseTimeIsResolved() {
		LeaseSnapshot inside = service.withPlaceholders(newKey());
		assertThat(Duration.between(inside.takenAt(), inside.expiresAt())).isBetween(Duration.ofMillis(6000),
				Duration.ofMillis(7500));
		assertThat(inside.row()).hasValueSatisfying(
				(row) -> assertThat(row.granted()).isBetween(Duration.ofMillis(6900), Duration.ofMillis(7100)));
	}

	@Test
	void placeholderInWaitTimeIsResolved() {
		String id = newKey();
		try (Lease held = other.lockManager().acquire(PREFIX + "resolved:" + id, LockOptions.defaults())) {
			long start = System.nanoTime();
			assertThatExceptionOfType(LockNotAcquiredException.class).isThrownBy(() -> service.withPlaceholders(id))
				.satisfies((ex) -> assertThat(ex.waited()).isGreaterThanOrEqualTo(Duration.ofMillis(300)));
			assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
		}
	}

	@Test
	void differentKeysAreLockedIndependently() throws Exception {
		for (int i = 0; i < ITERATIONS; i++) {
			String first = newKey();
			String second = newKey();
			CountDownLatch bothEntered = new CountDownLatch(2);
			CountDownLatch release = new CountDownLatch(1);
			Future<?> a = executor.submit(() -> service.holdUntilReleased(first, bothEntered, release));
			Future<?> b = executor.submit(() -> service.holdUntilReleased(second, bothEntered, release));
			boolean bothInside = bothEntered.await(10, TimeUnit.SECONDS);
			assertThat(LeaseTable.isHeld(PREFIX + "blocking:" + first)).isTrue();
			assertThat(LeaseTable.isHeld(PREFIX + "blocking:" + second)).isTrue();
			release.countDown();
			a.get(10, TimeUnit.SECONDS);
			b.get(10, TimeUnit.SECONDS);
			assertThat(bothInside).as("both keys held at once (iteration %d)", i).isTrue();
		}
	}

	@Test
	void sameKeyExcludesOtherThreadsAndNodes() throws Exception {
		for (int i = 0; i < ITERATIONS; i++) {
			String key = newKey();
			String lockName = PREFIX + "blocking:" + key;
			CountDownLatch entered = new CountDownLatch(1);
			CountDownLatch release = new CountDownLatch(1);
			Future<?> holder = executor.submit(() -> service.holdUntilReleased(key, entered, release));
			try {
				assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
				CountDownLatch notEntered = new CountDownLatch(1);
				assertThatExceptionOfType(LockNotAcquiredException.class)
					.isThrownBy(() -> service.holdUntilReleased(key, notEntered, release))
					.satisfies((ex) -> assertThat(ex.lockName()).isEqualTo(lockName));
				assertThatExceptionOfType(LockNotAcquiredException.class)
					.isThrownBy(() -> other.bean(KeyedService.class).holdUntilReleased(key, notEntered, release))
					.satisfies((ex) -> assertThat(ex.lockName()).isEqualTo(lockName));
				assertThat(notEntered.getCount()).as("bodies run while the key was held").isOne();
			}
			finally {
				release.countDown();
				holder.get(10, TimeUnit.SECONDS);
			}
			CountDownLatch enteredAfter = new CountDownLatch(1);
			other.bean(KeyedService.class).holdUntilReleased(key, enteredAfter, release);
			assertThat(enteredAfter.getCount()).isZero();
		}
	}

	private static void assertRowHeldByNode(LeaseSnapshot inside) {
		assertThat(inside.row()).as("lease row of '%s'", inside.lockName()).hasValueSatisfying((row) -> {
			assertThat(row.held()).isTrue();
			assertThat(row.ownerId()).isEqualTo(OWNER);
			assertThat(row.fencingToken()).isEqualTo(inside.fencingToken());
		});
		assertThat(LeaseTable.isHeld(inside.lockName())).as("held after the call returned").isFalse();
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	private static String[] with(String[] common, String... more) {
		String[] all = new String[common.length + more.length];
		System.arraycopy(common, 0, all, 0, common.length);
		System.arraycopy(more, 0, all, common.length, more.length);
		return all;
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(KeyedService.class)
	static class Config {

		@Bean
		Tenants tenants() {
			return new Tenants("tenant-a");
		}

	}

	public static class Tenants {

		private final String current;

		Tenants(String current) {
			this.current = current;
		}

		public String current() {
			return this.current;
		}

	}

	public static class Customer {

		private final String id;

		public Customer(String id) {
			this.id = id;
		}

		public String getId() {
			return this.id;
		}

	}

	public static class Order {

		private final String id;

		private final Customer customer;

		public Order(String id, Customer customer) {
			this.id = id;
			this.customer = customer;
		}

		public String getId() {
			return this.id;
		}

		public Customer getCustomer() {
			return this.customer;
		}

	}

	public static class KeyedService {

		@DistributedLock(name = "${test.prefix}by-name", key = "#id")
		public LeaseSnapshot byName(String id) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}by-p", key = "#p0 + '/' + #p1")
		public LeaseSnapshot byIndexP(String region, String id) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}by-a", key = "#a0 + '#' + #a1")
		public LeaseSnapshot byIndexA(String id, int number) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}nested", key = "#order.customer.id + '/' + #order.id")
		public LeaseSnapshot byNestedProperty(Order order) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}bean", key = "@tenants.current() + ':' + #id")
		public LeaseSnapshot byBeanReference(String id) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}no-key")
		public LeaseSnapshot withoutKey() {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.placeholder.name}", key = "#id", leaseTime = "${test.placeholder.lease-time}",
				waitTime = "${test.placeholder.wait-time}")
		public LeaseSnapshot withPlaceholders(String id) {
			return LeaseSnapshot.current();
		}

		@DistributedLock(name = "${test.prefix}blocking", key = "#id")
		public void holdUntilReleased(String id, CountDownLatch entered, CountDownLatch release) {
			entered.countDown();
			try {
				release.await(10, TimeUnit.SECONDS);
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}

	}

}
