package io.leasehold.lock.aop;

import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.autoconfigure.aop.AopAutoConfiguration;
import org.springframework.boot.autoconfigure.context.PropertyPlaceholderAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.EnableTransactionManagement;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.autoconfigure.LeaseholdLockAutoConfiguration;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Bad input gets a clear error naming the method and the attribute, and nothing runs (DESIGN
 * 3.10): reported at start-up where it can be, otherwise before the lock is taken.
 */
class BadInputTests {

	private static final AtomicInteger BODY_RUNS = new AtomicInteger();

	private final String lockName = "bad-input-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong());

	private final ApplicationContextRunner contextRunner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(PropertyPlaceholderAutoConfiguration.class,
				DataSourceAutoConfiguration.class, DataSourceTransactionManagerAutoConfiguration.class,
				TransactionAutoConfiguration.class, AopAutoConfiguration.class, LeaseholdLockAutoConfiguration.class))
		.withPropertyValues(TestDatabase.get().datasourceProperties())
		.withPropertyValues("spring.datasource.hikari.maximum-pool-size=4", "test.lock-name=" + this.lockName);

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeEach
	void resetBodyRuns() {
		BODY_RUNS.set(0);
	}

	// --- annotation attributes, at start-up

	@Test
	void unparsableLeaseTimeFailsStartUp() {
		assertStartUpFails(UnparsableLeaseTime.class, UnparsableLeaseTime.class.getName() + ".work",
				"leaseTime = \"thirty\"", "not a duration");
	}

	@Test
	void unparsableWaitTimeFailsStartUp() {
		assertStartUpFails(UnparsableWaitTime.class, UnparsableWaitTime.class.getName() + ".work",
				"waitTime = \"5 minutes\"", "not a duration");
	}

	@Test
	void unparsableMinHoldTimeFailsStartUp() {
		assertStartUpFails(UnparsableMinHoldTime.class, UnparsableMinHoldTime.class.getName() + ".work",
				"minHoldTime = \"1x\"", "not a duration");
	}

	@Test
	void zeroLeaseTimeFailsStartUp() {
		assertStartUpFails(ZeroLeaseTime.class, ZeroLeaseTime.class.getName() + ".work", "leaseTime = \"0s\"",
				"positive");
	}

	@Test
	void negativeWaitTimeFailsStartUp() {
		assertStartUpFails(NegativeWaitTime.class, NegativeWaitTime.class.getName() + ".work",
				"waitTime = \"-1s\"", "negative");
	}

	@Test
	void unresolvablePlaceholderInLeaseTimeFailsStartUp() {
		assertStartUpFails(UnresolvableLeaseTime.class, UnresolvableLeaseTime.class.getName() + ".work",
				"leaseTime = \"${no.such.lease-time}\"", "no.such.lease-time");
	}

	@Test
	void unresolvablePlaceholderInNameFailsStartUp() {
		assertStartUpFails(UnresolvableName.class, UnresolvableName.class.getName() + ".work",
				"name = \"${no.such.lock-name}\"", "no.such.lock-name");
		assertThat(rowsStartingWith("${no.such.lock-name}")).isZero();
	}

	@Test
	void unresolvablePlaceholderInNameFailsStartUpWithoutPlaceholderConfigurer() {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class, AopAutoConfiguration.class,
					LeaseholdLockAutoConfiguration.class))
			.withPropertyValues(TestDatabase.get().datasourceProperties())
			.withBean(UnresolvableName.class)
			.run((context) -> assertThat(rootCause(context.getStartupFailure())).isInstanceOf(LockConfigurationException.class)
				.hasMessageContainingAll(UnresolvableName.class.getName() + ".work", "name = \"${no.such.lock-name}\"",
						"no.such.lock-name"));
		assertThat(rowsStartingWith("${no.such.lock-name}")).isZero();
	}

	@Test
	void blankNameFailsStartUp() {
		assertStartUpFails(BlankName.class, BlankName.class.getName() + ".work", "name = \" \"", "empty");
	}

	@Test
	void keyThatDoesNotParseFailsStartUp() {
		assertStartUpFails(UnparsableKey.class, UnparsableKey.class.getName() + ".work", "key = \"#order.id +\"",
				"not a valid SpEL expression");
	}

	@Test
	void fencingTokenOnStringParameterFailsStartUp() {
		assertStartUpFails(StringFencingToken.class, "@FencingToken", StringFencingToken.class.getName() + ".work",
				"'token'", "java.lang.String", "long or Long");
	}

	@Test
	void fencingTokenOnIntParameterFailsStartUp() {
		assertStartUpFails(IntFencingToken.class, "@FencingToken", IntFencingToken.class.getName() + ".work",
				"'token'", "is of type int", "long or Long");
	}

	// --- methods Spring cannot intercept, at start-up

	@Test
	void finalMethodOnClassProxiedBeanFailsStartUp() {
		assertStartUpFails(FinalMethod.class, FinalMethod.class.getName() + ".work", "would not take the lock",
				"final");
	}

	@Test
	void privateMethodFailsStartUp() {
		assertStartUpFails(PrivateMethod.class, PrivateMethod.class.getName() + ".work", "would not take the lock",
				"private");
	}

	@Test
	void staticMethodFailsStartUp() {
		assertStartUpFails(StaticMethod.class, StaticMethod.class.getName() + ".work", "would not take the lock",
				"static");
	}

	@Test
	void methodMissingFromTheInterfaceOfJdkProxiedBeanFailsStartUp() {
		this.contextRunner.withPropertyValues("spring.aop.proxy-target-class=false")
			.withBean(InterfaceWorker.class)
			.run((context) -> assertThat(rootCause(context.getStartupFailure())).isInstanceOf(LockConfigurationException.class)
				.hasMessageContainingAll(InterfaceWorker.class.getName() + ".extra", "would not take the lock",
						"interface", "spring.aop.proxy-target-class=true"));
		assertNothingRan();
	}

	@Test
	void methodDeclaredOnTheInterfaceOfJdkProxiedBeanTakesTheLock() {
		this.contextRunner.withPropertyValues("spring.aop.proxy-target-class=false")
			.withBean(InterfaceDeclaredWorker.class)
			.run((context) -> {
				assertThat(context).hasNotFailed();
				Worker worker = context.getBean(Worker.class);
				assertThat(worker).isNotInstanceOf(InterfaceDeclaredWorker.class);
				assertThat(worker.work()).isEqualTo(this.lockName);
			});
	}

	@Test
	void lockOrderedInsideTheTransactionFailsStartUp() {
		this.contextRunner.withUserConfiguration(TransactionOrderConfiguration.class)
			.withBean(TransactionalWorker.class)
			.withPropertyValues("leasehold.lock.aspect-order=200")
			.run((context) -> assertThat(rootCause(context.getStartupFailure())).isInstanceOf(LockConfigurationException.class)
				.hasMessageContainingAll(TransactionalWorker.class.getName() + ".work", "would not take the lock",
						"transaction", "leasehold.lock.aspect-order"));
		assertNothingRan();
	}

	@Test
	void lockOrderedOutsideTheTransactionWrapsIt() {
		this.contextRunner.withUserConfiguration(TransactionOrderConfiguration.class)
			.withBean(TransactionalWorker.class)
			.withPropertyValues("leasehold.lock.aspect-order=50")
			.run((context) -> {
				assertThat(context).hasNotFailed();
				assertThat(context.getBean(TransactionalWorker.class).work()).isTrue();
			});
	}

	@Test
	void defaultAspectOrderWrapsBootsTransactionAdvisor() {
		this.contextRunner.withBean(TransactionalWorker.class).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(TransactionalWorker.class).work()).isTrue();
		});
	}

	// --- lock keys, at call time

	@Test
	void unparsableDurationOfLazyBeanFailsTheFirstCallWithoutRunningIt() {
		this.contextRunner
			.withBean("lazyWorker", UnparsableLeaseTime.class, UnparsableLeaseTime::new,
					(definition) -> definition.setLazyInit(true))
			.run((context) -> {
				assertThat(context).hasNotFailed();
				UnparsableLeaseTime worker = context.getBean(UnparsableLeaseTime.class);
				assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(worker::work)
					.withMessageContainingAll(UnparsableLeaseTime.class.getName() + ".work", "leaseTime = \"thirty\"");
				assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
			});
		assertNothingRan();
	}

	@Test
	void keyOfAnOrderWithAnIdTakesTheLock() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			assertThat(context).hasNotFailed();
			assertThat(context.getBean(KeyedWorker.class).process(new Order("42"))).isEqualTo(this.lockName + ":42");
		});
	}

	@Test
	void keyThatThrowsFailsTheCallWithoutRunningIt() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			KeyedWorker worker = context.getBean(KeyedWorker.class);
			assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(() -> worker.process(null))
				.withMessageContainingAll("\"#order.id\"", KeyedWorker.class.getName() + ".process",
						"name = \"" + this.lockName + "\"", "did not run");
			assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
		});
		assertNothingRan();
	}

	@Test
	void keyThatYieldsNullFailsTheCallWithoutRunningIt() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			KeyedWorker worker = context.getBean(KeyedWorker.class);
			assertThatExceptionOfType(LockConfigurationException.class)
				.isThrownBy(() -> worker.process(new Order(null)))
				.withMessageContainingAll("\"#order.id\"", KeyedWorker.class.getName() + ".process", "null",
						"did not run");
			assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
		});
		assertNothingRan();
	}

	@Test
	void keyThatYieldsAnEmptyStringFailsTheCallWithoutRunningIt() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			KeyedWorker worker = context.getBean(KeyedWorker.class);
			assertThatExceptionOfType(LockConfigurationException.class).isThrownBy(() -> worker.process(new Order("")))
				.withMessageContainingAll("\"#order.id\"", KeyedWorker.class.getName() + ".process", "empty string");
			assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
		});
		assertNothingRan();
	}

	@Test
	void keyWhoseMethodThrowsFailsTheCallNamingTheMethodAndKey() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			KeyedWorker worker = context.getBean(KeyedWorker.class);
			assertThatExceptionOfType(LockConfigurationException.class)
				.isThrownBy(() -> worker.processChecked(new Order(null)))
				.withMessageContainingAll("\"#order.checkedId()\"", KeyedWorker.class.getName() + ".processChecked",
						"did not run")
				.withRootCauseInstanceOf(IllegalStateException.class);
			assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
		});
		assertNothingRan();
	}

	@Test
	void keyWhoseMethodThrowsDoesNotRunTheMethod() {
		this.contextRunner.withBean(KeyedWorker.class).run((context) -> {
			KeyedWorker worker = context.getBean(KeyedWorker.class);
			assertThatThrownBy(() -> worker.processChecked(new Order(null))).hasMessageContaining("order has no id");
			assertNoLeaseHeld(context.getBean(DefaultLockManager.class));
		});
		assertNothingRan();
	}

	// --- the programmatic API

	@Test
	void lockOptionsRejectNullZeroAndNegativeValuesNamingTheOption() {
		LockOptions defaults = LockOptions.defaults();
		assertThatThrownBy(() -> defaults.withLeaseTime(null))
			.isInstanceOfAny(NullPointerException.class, IllegalArgumentException.class)
			.hasMessageContaining("leaseTime");
		assertThatIllegalArgumentException().isThrownBy(() -> defaults.withLeaseTime(Duration.ZERO))
			.withMessageContainingAll("leaseTime", "positive");
		assertThatIllegalArgumentException().isThrownBy(() -> defaults.withLeaseTime(Duration.ofSeconds(-1)))
			.withMessageContainingAll("leaseTime", "positive");
		assertThatThrownBy(() -> defaults.withWaitTime(null))
			.isInstanceOfAny(NullPointerException.class, IllegalArgumentException.class)
			.hasMessageContaining("waitTime");
		assertThatIllegalArgumentException().isThrownBy(() -> defaults.withWaitTime(Duration.ofMillis(-1)))
			.withMessageContainingAll("waitTime", "negative");
		assertThatThrownBy(() -> defaults.withMinHoldTime(null))
			.isInstanceOfAny(NullPointerException.class, IllegalArgumentException.class)
			.hasMessageContaining("minHoldTime");
		assertThatIllegalArgumentException().isThrownBy(() -> defaults.withMinHoldTime(Duration.ofNanos(-1)))
			.withMessageContainingAll("minHoldTime", "negative");
		assertThatThrownBy(() -> defaults.withPurpose(null))
			.isInstanceOfAny(NullPointerException.class, IllegalArgumentException.class)
			.hasMessageContaining("purpose");
		assertThat(LockOptions.defaults()).as("rejected values changed nothing").isEqualTo(defaults);
		assertThat(defaults.leaseTime()).isEmpty();
	}

	@Test
	void lockOptionsAcceptZeroWaitAndHoldTimesAndTheSmallestLeaseTime() {
		assertThatNoException().isThrownBy(() -> LockOptions.defaults()
			.withWaitTime(Duration.ZERO)
			.withMinHoldTime(Duration.ZERO)
			.withLeaseTime(Duration.ofMillis(1)));
		// the database keeps leases to the millisecond: a shorter one would be granted already expired
		assertThatIllegalArgumentException().isThrownBy(() -> LockOptions.defaults().withLeaseTime(Duration.ofNanos(999_999)))
			.withMessageContaining("leaseTime must be at least 1 ms");
	}

	@Test
	void lockManagerRejectsBlankLockNameWithoutRunningTheAction() {
		this.contextRunner.run((context) -> {
			LockManager manager = context.getBean(LockManager.class);
			for (String blank : new String[] { "", " ", "\t\n" }) {
				assertThatIllegalArgumentException().isThrownBy(() -> manager.acquire(blank, LockOptions.defaults()))
					.withMessageContaining("lockName");
				assertThatIllegalArgumentException().isThrownBy(() -> manager.tryAcquire(blank, LockOptions.defaults()))
					.withMessageContaining("lockName");
				AtomicBoolean ran = new AtomicBoolean();
				assertThatIllegalArgumentException()
					.isThrownBy(() -> manager.callWithLock(blank, LockOptions.defaults(), (lease) -> ran.getAndSet(true)))
					.withMessageContaining("lockName");
				assertThat(ran).isFalse();
			}
			assertThatIllegalArgumentException().isThrownBy(() -> manager.acquire(null, LockOptions.defaults()))
				.withMessageContaining("lockName");
			assertThatIllegalArgumentException().isThrownBy(() -> manager.acquire(this.lockName, null))
				.withMessageContaining("options");
			assertNoLeaseHeld((DefaultLockManager) manager);
			assertThat(this.jdbc.queryForObject("SELECT count(*) FROM leasehold_lock WHERE btrim(lock_name) = ''",
					Integer.class))
				.isZero();
		});
		assertThat(rowsStartingWith(this.lockName)).isZero();
	}

	// --- helpers

	private void assertStartUpFails(Class<?> beanClass, String... expectedInMessage) {
		this.contextRunner.withBean(beanClass)
			.run((context) -> assertThat(rootCause(context.getStartupFailure())).isInstanceOf(LockConfigurationException.class)
				.hasMessageContainingAll(expectedInMessage));
		assertNothingRan();
	}

	/** The deepest cause of a start-up failure: what the user reads first in the log. */
	private static Throwable rootCause(Throwable failure) {
		assertThat(failure).as("start-up failure").isNotNull();
		Throwable cause = failure;
		while (cause.getCause() != null) {
			cause = cause.getCause();
		}
		return cause;
	}

	/** No body ran and no lease row carries this test's lock name. */
	private void assertNothingRan() {
		assertThat(BODY_RUNS).as("method bodies run").hasValue(0);
		assertThat(rowsStartingWith(this.lockName)).as("lease rows of " + this.lockName).isZero();
	}

	private static void assertNoLeaseHeld(DefaultLockManager manager) {
		assertThat(manager.heldLeaseCount()).isZero();
		assertThat(LockContext.current()).isEmpty();
	}

	private int rowsStartingWith(String prefix) {
		return this.jdbc.queryForObject("SELECT count(*) FROM leasehold_lock WHERE starts_with(lock_name, ?)",
				Integer.class, prefix);
	}

	private static void ran() {
		BODY_RUNS.incrementAndGet();
	}

	// --- beans with bad input

	static class UnparsableLeaseTime {

		@DistributedLock(name = "${test.lock-name}", leaseTime = "thirty")
		public void work() {
			ran();
		}

	}

	static class UnparsableWaitTime {

		@DistributedLock(name = "${test.lock-name}", waitTime = "5 minutes")
		public void work() {
			ran();
		}

	}

	static class UnparsableMinHoldTime {

		@DistributedLock(name = "${test.lock-name}", minHoldTime = "1x")
		public void work() {
			ran();
		}

	}

	static class ZeroLeaseTime {

		@DistributedLock(name = "${test.lock-name}", leaseTime = "0s")
		public void work() {
			ran();
		}

	}

	static class NegativeWaitTime {

		@DistributedLock(name = "${test.lock-name}", waitTime = "-1s")
		public void work() {
			ran();
		}

	}

	static class UnresolvableLeaseTime {

		@DistributedLock(name = "${test.lock-name}", leaseTime = "${no.such.lease-time}")
		public void work() {
			ran();
		}

	}

	static class UnresolvableName {

		@DistributedLock(name = "${no.such.lock-name}")
		public void work() {
			ran();
		}

	}

	static class BlankName {

		@DistributedLock(name = " ")
		public void work() {
			ran();
		}

	}

	static class UnparsableKey {

		@DistributedLock(name = "${test.lock-name}", key = "#order.id +")
		public void work(Order order) {
			ran();
		}

	}

	static class StringFencingToken {

		@DistributedLock(name = "${test.lock-name}")
		public void work(@FencingToken String token) {
			ran();
		}

	}

	static class IntFencingToken {

		@DistributedLock(name = "${test.lock-name}")
		public void work(@FencingToken int token) {
			ran();
		}

	}

	static class FinalMethod {

		@DistributedLock(name = "${test.lock-name}")
		public final void work() {
			ran();
		}

	}

	static class PrivateMethod {

		public void call() {
			work();
		}

		@DistributedLock(name = "${test.lock-name}")
		private void work() {
			ran();
		}

	}

	static class StaticMethod {

		@DistributedLock(name = "${test.lock-name}")
		public static void work() {
			ran();
		}

	}

	interface Worker {

		String work();

	}

	static class InterfaceWorker implements Worker {

		@Override
		public String work() {
			return "";
		}

		@DistributedLock(name = "${test.lock-name}")
		public void extra() {
			ran();
		}

	}

	static class InterfaceDeclaredWorker implements Worker {

		@Override
		@DistributedLock(name = "${test.lock-name}")
		public String work() {
			return LockContext.current().orElseThrow().lockName();
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableTransactionManagement(order = 100)
	static class TransactionOrderConfiguration {

	}

	static class TransactionalWorker {

		/** @return whether the lock was held and the transaction active inside the call */
		@Transactional
		@DistributedLock(name = "${test.lock-name}")
		public boolean work() {
			return LockContext.current().isPresent() && TransactionSynchronizationManager.isActualTransactionActive();
		}

	}

	public static class Order {

		private final String id;

		public Order(String id) {
			this.id = id;
		}

		public String getId() {
			return this.id;
		}

		public String checkedId() {
			if (this.id == null) {
				throw new IllegalStateException("order has no id");
			}
			return this.id;
		}

	}

	static class KeyedWorker {

		@DistributedLock(name = "${test.lock-name}", key = "#order.id")
		public String process(Order order) {
			ran();
			return LockContext.current().orElseThrow().lockName();
		}

		@DistributedLock(name = "${test.lock-name}", key = "#order.checkedId()")
		public String processChecked(Order order) {
			ran();
			return LockContext.current().orElseThrow().lockName();
		}

	}

}
