package io.leasehold.lock.aop;

import java.io.IOException;
import java.lang.reflect.UndeclaredThrowableException;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Lease;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * What a locked method throws reaches its caller unchanged, and the lease is released either way;
 * {@code LockManager.callWithLock} wraps checked exceptions as it documents.
 */
class ExceptionPropagationTests {

	private static final String PREFIX = "errors-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static LockNode node;

	private static LockNode other;

	private static FailingService service;

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		other = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		service = node.bean(FailingService.class);
	}

	@AfterAll
	static void stopNodes() {
		if (node != null) {
			node.close();
		}
		if (other != null) {
			other.close();
		}
	}

	@Test
	void checkedExceptionOfAnnotatedMethodPropagatesUnchangedAndLeaseIsReleased() {
		String key = newKey();
		IOException failure = new IOException("disk full " + key);
		AtomicReference<Lease> held = new AtomicReference<>();
		assertThatExceptionOfType(IOException.class).isThrownBy(() -> service.failChecked(key, failure, held))
			.isSameAs(failure);
		assertReleased(PREFIX + "checked:" + key, held.get());
	}

	@Test
	void uncheckedExceptionOfAnnotatedMethodPropagatesUnchangedAndLeaseIsReleased() {
		String key = newKey();
		IllegalStateException failure = new IllegalStateException("rejected " + key);
		AtomicReference<Lease> held = new AtomicReference<>();
		assertThatExceptionOfType(IllegalStateException.class)
			.isThrownBy(() -> service.failUnchecked(key, failure, held))
			.isSameAs(failure);
		assertReleased(PREFIX + "unchecked:" + key, held.get());
	}

	@Test
	void errorOfAnnotatedMethodPropagatesUnchangedAndLeaseIsReleased() {
		String key = newKey();
		AssertionError failure = new AssertionError("broken " + key);
		AtomicReference<Lease> held = new AtomicReference<>();
		assertThatExceptionOfType(AssertionError.class).isThrownBy(() -> service.failUnchecked(key, failure, held))
			.isSameAs(failure);
		assertReleased(PREFIX + "unchecked:" + key, held.get());
	}

	@Test
	void callWithLockWrapsCheckedExceptionAndReleases() {
		String lockName = PREFIX + "programmatic-" + newKey();
		IOException failure = new IOException("disk full");
		AtomicReference<Lease> held = new AtomicReference<>();
		assertThatExceptionOfType(UndeclaredThrowableException.class)
			.isThrownBy(() -> node.lockManager().callWithLock(lockName, LockOptions.defaults(), (lease) -> {
				held.set(lease);
				assertThat(LeaseTable.isHeld(lockName)).isTrue();
				throw failure;
			}))
			.satisfies((ex) -> assertThat(ex.getCause()).isSameAs(failure));
		assertReleased(lockName, held.get());
	}

	@Test
	void callWithLockRethrowsUncheckedExceptionUnchangedAndReleases() {
		String lockName = PREFIX + "programmatic-" + newKey();
		IllegalArgumentException failure = new IllegalArgumentException("bad input");
		AtomicReference<Lease> held = new AtomicReference<>();
		assertThatExceptionOfType(IllegalArgumentException.class)
			.isThrownBy(() -> node.lockManager().callWithLock(lockName, LockOptions.defaults(), (lease) -> {
				held.set(lease);
				throw failure;
			}))
			.isSameAs(failure);
		assertReleased(lockName, held.get());
	}

	private static void assertReleased(String lockName, Lease held) {
		assertThat(held).as("lease seen inside").isNotNull();
		assertThat(held.lockName()).isEqualTo(lockName);
		assertThat(held.isValid()).isFalse();
		assertThat(LockContext.current()).isEmpty();
		assertThat(LeaseTable.isHeld(lockName)).isFalse();
		Optional<Lease> next = other.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(next).as("another node acquires at once").hasValueSatisfying((lease) -> {
			assertThat(lease.fencingToken()).isGreaterThan(held.fencingToken());
			lease.close();
		});
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(FailingService.class)
	static class Config {

	}

	public static class FailingService {

		@DistributedLock(name = "${test.prefix}checked", key = "#key")
		public void failChecked(String key, IOException failure, AtomicReference<Lease> held) throws IOException {
			held.set(LockContext.current().orElseThrow());
			assertThat(LeaseTable.isHeld(held.get().lockName())).isTrue();
			throw failure;
		}

		@DistributedLock(name = "${test.prefix}unchecked", key = "#key")
		public void failUnchecked(String key, Throwable failure, AtomicReference<Lease> held) {
			held.set(LockContext.current().orElseThrow());
			assertThat(LeaseTable.isHeld(held.get().lockName())).isTrue();
			if (failure instanceof RuntimeException runtime) {
				throw runtime;
			}
			throw (Error) failure;
		}

	}

}
