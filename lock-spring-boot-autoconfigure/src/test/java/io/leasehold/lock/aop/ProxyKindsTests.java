package io.leasehold.lock.aop;

import java.util.Optional;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.aop.support.AopUtils;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code @DistributedLock} takes the lock through class-based (CGLIB) proxies and through JDK
 * interface proxies, whether the annotation sits on the class, on the interface, or on the
 * implementation of an interface method.
 */
class ProxyKindsTests {

	private static final String PREFIX = "proxies-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static LockNode classProxies;

	private static LockNode interfaceProxies;

	@BeforeAll
	static void startNodes() {
		classProxies = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		interfaceProxies = LockNode.start(Config.class, "test.prefix=" + PREFIX, "spring.aop.proxy-target-class=false");
	}

	@AfterAll
	static void stopNodes() {
		if (classProxies != null) {
			classProxies.close();
		}
		if (interfaceProxies != null) {
			interfaceProxies.close();
		}
	}

	@Test
	void annotatedClassMethodThroughClassProxyTakesLock() {
		ClassLocked service = classProxies.bean(ClassLocked.class);
		assertThat(AopUtils.isCglibProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "class:" + key);
	}

	@Test
	void annotatedClassMethodWithoutInterfaceTakesLockWhenInterfaceProxiesArePreferred() {
		ClassLocked service = interfaceProxies.bean(ClassLocked.class);
		assertThat(AopUtils.isCglibProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "class:" + key);
	}

	@Test
	void annotatedInterfaceMethodThroughJdkProxyTakesLock() {
		InterfaceLocked service = interfaceProxies.bean(InterfaceLocked.class);
		assertThat(AopUtils.isJdkDynamicProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "interface:" + key);
	}

	@Test
	void annotatedInterfaceMethodThroughClassProxyTakesLock() {
		InterfaceLocked service = classProxies.bean(InterfaceLocked.class);
		assertThat(AopUtils.isCglibProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "interface:" + key);
	}

	@Test
	void annotatedImplementationOfInterfaceMethodThroughJdkProxyTakesLock() {
		ImplementationLocked service = interfaceProxies.bean(ImplementationLocked.class);
		assertThat(AopUtils.isJdkDynamicProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "implementation:" + key);
	}

	@Test
	void annotatedImplementationOfInterfaceMethodThroughClassProxyTakesLock() {
		ImplementationLocked service = classProxies.bean(ImplementationLocked.class);
		assertThat(AopUtils.isCglibProxy(service)).isTrue();
		String key = newKey();
		assertTakesLock(service.work(key), PREFIX + "implementation:" + key);
	}

	@Test
	void interfaceProxiesTakeLockWithoutTransactionManagement() {
		try (LockNode node = LockNode.start(Config.class, "test.prefix=" + PREFIX, "spring.aop.proxy-target-class=false",
				"spring.autoconfigure.exclude="
						+ "org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration,"
						+ "org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration")) {
			InterfaceLocked service = node.bean(InterfaceLocked.class);
			assertThat(AopUtils.isJdkDynamicProxy(service)).isTrue();
			String key = newKey();
			assertTakesLock(service.work(key), PREFIX + "interface:" + key);
		}
	}

	private static void assertTakesLock(Optional<LeaseSnapshot> inside, String lockName) {
		assertThat(inside).as("LockContext inside the method").hasValueSatisfying((lease) -> {
			assertThat(lease.lockName()).isEqualTo(lockName);
			assertThat(lease.row()).hasValueSatisfying((row) -> {
				assertThat(row.held()).isTrue();
				assertThat(row.fencingToken()).isEqualTo(lease.fencingToken());
			});
		});
		assertThat(LeaseTable.isHeld(lockName)).isFalse();
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import({ ClassLocked.class, InterfaceLockedService.class, ImplementationLockedService.class })
	static class Config {

	}

	public static class ClassLocked {

		@DistributedLock(name = "${test.prefix}class", key = "#key")
		public Optional<LeaseSnapshot> work(String key) {
			return LeaseSnapshot.capture();
		}

	}

	public interface InterfaceLocked {

		@DistributedLock(name = "${test.prefix}interface", key = "#key")
		Optional<LeaseSnapshot> work(String key);

	}

	public static class InterfaceLockedService implements InterfaceLocked {

		@Override
		public Optional<LeaseSnapshot> work(String key) {
			return LeaseSnapshot.capture();
		}

	}

	public interface ImplementationLocked {

		Optional<LeaseSnapshot> work(String key);

	}

	public static class ImplementationLockedService implements ImplementationLocked {

		@Override
		@DistributedLock(name = "${test.prefix}implementation", key = "#key")
		public Optional<LeaseSnapshot> work(String key) {
			return LeaseSnapshot.capture();
		}

	}

}
