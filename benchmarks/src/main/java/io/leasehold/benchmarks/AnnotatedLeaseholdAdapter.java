package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.Set;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.LockNotAcquiredException;

/**
 * Leasehold through the annotated path: a bean method with {@code @DistributedLock} (try once,
 * default purpose) called through its proxy on real application contexts, as an application
 * would. Its API is a callback, so it runs whole cycles only ({@link Session#cycle}): the
 * uncontended and distinct-key scenarios.
 */
final class AnnotatedLeaseholdAdapter implements LockAdapter {

	static final String NAME = "leasehold-annotated";

	private final LeaseholdAdapter leasehold;

	private AnnotatedLeaseholdAdapter(LeaseholdAdapter leasehold) {
		this.leasehold = leasehold;
	}

	static AnnotatedLeaseholdAdapter start(BenchDatabase database, BenchOptions options) throws InterruptedException {
		return new AnnotatedLeaseholdAdapter(LeaseholdAdapter.start(NAME, database, options.nodes, options.poolSize,
				options.leaseholdProperties, false, Set.of(), LeaseholdAdapter.LeaseholdNodeApplication.class,
				AnnotatedConfiguration.class));
	}

	@Override
	public String name() {
		return NAME;
	}

	@Override
	public int nodeCount() {
		return this.leasehold.nodeCount();
	}

	@Override
	public boolean supportsHandles() {
		return false;
	}

	@Override
	public Session open(int node) {
		LockedWork work = this.leasehold.context(node).getBean(LockedWork.class);
		return new Session() {

			@Override
			public Handle acquire(String lockName, Duration waitTime) {
				throw new UnsupportedOperationException("The annotated path runs whole cycles only");
			}

			@Override
			public boolean cycle(String lockName, Duration waitTime, Runnable body) {
				if (!waitTime.isZero()) {
					throw new UnsupportedOperationException("The annotated method tries once");
				}
				try {
					work.run(lockName, body);
					return true;
				}
				catch (LockNotAcquiredException ex) {
					return false;
				}
			}

		};
	}

	@Override
	public StatementCounter statements(int node) {
		return this.leasehold.statements(node);
	}

	@Override
	public boolean issuesFencingTokens() {
		return true;
	}

	@Override
	public void close() {
		this.leasehold.close();
	}

	/**
	 * The bean with the annotated method.
	 */
	public static class LockedWork {

		@DistributedLock(name = "bench-annotated", key = "#key")
		public void run(String key, Runnable body) {
			body.run();
		}

	}

	@Configuration(proxyBeanMethods = false)
	static class AnnotatedConfiguration {

		@Bean
		LockedWork lockedWork() {
			return new LockedWork();
		}

	}

}
