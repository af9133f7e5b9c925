package io.leasehold.lock.core;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;

class LockManagerSmokeTests {

	@Test
	void acquiresAndReleases() {
		try (LockNode a = LockNode.start(Config.class); LockNode b = LockNode.start(Config.class)) {
			String name = "smoke-" + System.nanoTime();
			Lease lease = a.lockManager().acquire(name, LockOptions.defaults());
			assertThat(lease.isValid()).isTrue();
			Optional<Lease> other = b.lockManager().tryAcquire(name, LockOptions.defaults());
			assertThat(other).isEmpty();
			lease.close();
			Optional<Lease> next = b.lockManager()
				.tryAcquire(name, LockOptions.defaults().withWaitTime(Duration.ofSeconds(1)));
			assertThat(next).isPresent();
			assertThat(next.get().fencingToken()).isGreaterThan(lease.fencingToken());
			next.get().close();
		}
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
