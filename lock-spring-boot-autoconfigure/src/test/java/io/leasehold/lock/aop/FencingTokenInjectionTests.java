package io.leasehold.lock.aop;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/**
 * {@code @FencingToken} parameters of an annotated method receive the lease's token, the same one
 * {@link LockContext#fencingToken()} returns inside the call and the lease row records.
 */
class FencingTokenInjectionTests {

	private static final String PREFIX = "tokens-" + UUID.randomUUID().toString().substring(0, 8) + "-";

	private static LockNode node;

	private static LockNode other;

	private static TokenService service;

	@BeforeAll
	static void startNodes() {
		node = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		other = LockNode.start(Config.class, "test.prefix=" + PREFIX);
		service = node.bean(TokenService.class);
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
	void primitiveParameterReceivesLeaseTokenWhateverCallerPassed() {
		for (long passed : new long[] { -1L, 0L, 1L, Long.MAX_VALUE }) {
			String key = newKey();
			Observed observed = service.primitive(key, passed);
			assertThat(observed.lockName()).isEqualTo(PREFIX + "tokens:" + key);
			assertThat(observed.injected()).isPositive().isNotEqualTo(passed);
			assertTokenIsTheLeases(observed);
		}
	}

	@Test
	void boxedParameterReceivesLeaseTokenWhateverCallerPassed() {
		for (Long passed : new Long[] { null, -1L, 0L, Long.MAX_VALUE }) {
			Observed observed = service.boxed(passed, newKey());
			assertThat(observed.injected()).isPositive().isNotEqualTo(passed);
			assertTokenIsTheLeases(observed);
		}
	}

	@Test
	void everyFencingTokenParameterReceivesTheToken() {
		long[] tokens = service.twoTokens(newKey(), -5L, null);
		assertThat(tokens[0]).isPositive().isEqualTo(tokens[1]).isEqualTo(tokens[2]);
	}

	@Test
	void parameterAnnotatedOnInterfaceMethodReceivesLeaseToken() {
		Observed observed = node.bean(InterfaceTokens.class).work(newKey(), -1L);
		assertThat(observed.injected()).isPositive();
		assertTokenIsTheLeases(observed);
	}

	@Test
	void tokensIncreaseAcrossCallsOnOneAndManyNodes() {
		String key = newKey();
		TokenService onOther = other.bean(TokenService.class);
		List<Long> tokens = new ArrayList<>();
		for (int i = 0; i < 10; i++) {
			tokens.add(service.primitive(key, 0L).injected());
			tokens.add(service.boxed(null, key).injected());
			tokens.add(onOther.primitive(key, 0L).injected());
		}
		assertThat(tokens).doesNotHaveDuplicates().isSorted();
	}

	@Test
	void fencingTokenOutsideLockedCallThrows() {
		assertThat(LockContext.current()).isEmpty();
		assertThatIllegalStateException().isThrownBy(LockContext::fencingToken)
			.withMessageContaining(Thread.currentThread().getName());
	}

	@Test
	void contextIsEmptyAgainAfterLockedCallReturns() {
		service.primitive(newKey(), 0L);
		assertThat(LockContext.current()).isEmpty();
		assertThatIllegalStateException().isThrownBy(LockContext::fencingToken);
	}

	@Test
	void contextIsEmptyAgainAfterLockedCallThrows() {
		String key = newKey();
		assertThatExceptionOfType(IllegalArgumentException.class).isThrownBy(() -> service.failing(key, 0L))
			.withMessage("failed with token in context");
		assertThat(LockContext.current()).isEmpty();
		assertThatIllegalStateException().isThrownBy(LockContext::fencingToken);
		assertThat(LeaseTable.isHeld(PREFIX + "failing:" + key)).isFalse();
	}

	private static void assertTokenIsTheLeases(Observed observed) {
		assertThat(observed.contextToken()).isEqualTo(observed.injected());
		assertThat(observed.leaseToken()).isEqualTo(observed.injected());
		assertThat(observed.rowToken()).isEqualTo(observed.injected());
	}

	private static String newKey() {
		return UUID.randomUUID().toString();
	}

	record Observed(String lockName, long injected, long contextToken, long leaseToken, long rowToken) {

		static Observed inside(long injected) {
			LeaseSnapshot lease = LeaseSnapshot.current();
			long rowToken = lease.row().orElseThrow().fencingToken();
			return new Observed(lease.lockName(), injected, LockContext.fencingToken(), lease.fencingToken(), rowToken);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import({ TokenService.class, InterfaceTokensService.class })
	static class Config {

	}

	public interface InterfaceTokens {

		@DistributedLock(name = "${test.prefix}interface", key = "#key")
		Observed work(String key, @FencingToken long token);

	}

	public static class InterfaceTokensService implements InterfaceTokens {

		@Override
		public Observed work(String key, long token) {
			return Observed.inside(token);
		}

	}

	public static class TokenService {

		@DistributedLock(name = "${test.prefix}tokens", key = "#key")
		public Observed primitive(String key, @FencingToken long token) {
			return Observed.inside(token);
		}

		@DistributedLock(name = "${test.prefix}tokens", key = "#key")
		public Observed boxed(@FencingToken Long token, String key) {
			return Observed.inside(token);
		}

		@DistributedLock(name = "${test.prefix}two", key = "#key")
		public long[] twoTokens(String key, @FencingToken long first, @FencingToken Long second) {
			return new long[] { first, second, LockContext.fencingToken() };
		}

		@DistributedLock(name = "${test.prefix}failing", key = "#key")
		public void failing(String key, @FencingToken long token) {
			if (token == LockContext.fencingToken()) {
				throw new IllegalArgumentException("failed with token in context");
			}
		}

	}

}
