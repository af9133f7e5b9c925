package io.leasehold.lock.autoconfigure;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

import javax.sql.DataSource;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.observation.ObservationRegistry;
import org.postgresql.PGConnection;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanDefinition;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.beans.factory.config.EmbeddedValueResolver;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Role;
import org.springframework.core.env.Environment;
import org.springframework.data.relational.core.mapping.event.BeforeConvertCallback;

import io.leasehold.lock.LockManager;
import io.leasehold.lock.actuate.LeaseholdEndpoint;
import io.leasehold.lock.actuate.LeaseholdHealthIndicator;
import io.leasehold.lock.actuate.LeaseholdMetrics;
import io.leasehold.lock.aop.DistributedLockAdvisor;
import io.leasehold.lock.aop.DistributedLockInterceptor;
import io.leasehold.lock.aop.LockedMethods;
import io.leasehold.lock.aop.LockedMethodsValidator;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.core.LeaseRenewer;
import io.leasehold.lock.core.LockMetrics;
import io.leasehold.lock.core.PollingWaitStrategy;
import io.leasehold.lock.core.WaitStrategy;
import io.leasehold.lock.fencing.FencingTokenStamper;
import io.leasehold.lock.guard.CommitGuard;
import io.leasehold.lock.guard.CommitGuardRegistrar;
import io.leasehold.lock.notify.NotifiedWaitStrategy;
import io.leasehold.lock.notify.PostgresReleaseListener;
import io.leasehold.lock.store.LeaseStatementTimeouts;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.store.PostgresLeaseStore;
import io.leasehold.lock.store.PostgresSchema;

/**
 * Auto-configuration for Leasehold distributed locks: a {@link LockManager} on PostgreSQL leases
 * and the {@code @DistributedLock} advisor. Leases live in the {@link LeaseholdDataSource
 * &#64;LeaseholdDataSource} if there is one, else in the application's DataSource.
 */
@AutoConfiguration(after = DataSourceAutoConfiguration.class)
@ConditionalOnBean(DataSource.class)
@ConditionalOnBooleanProperty(name = "leasehold.lock.enabled", matchIfMissing = true)
@EnableConfigurationProperties(LeaseholdLockProperties.class)
public final class LeaseholdLockAutoConfiguration {

	@Bean
	@ConditionalOnMissingBean
	PostgresSchema leaseholdSchema(@LeaseholdDataSource ObjectProvider<DataSource> leaseholdDataSource,
			ObjectProvider<DataSource> dataSource, LeaseholdLockProperties properties) {
		return new PostgresSchema(leaseholdDataSource.getIfAvailable(dataSource::getObject), properties.getTableName(),
				properties.getSequenceName());
	}

	@Bean
	@ConditionalOnMissingBean
	@DependsOnDatabaseInitialization
	LeaseholdSchemaInitializer leaseholdSchemaInitializer(PostgresSchema schema, LeaseholdLockProperties properties) {
		return new LeaseholdSchemaInitializer(schema, properties.getInitializeSchema());
	}

	@Bean
	@ConditionalOnMissingBean
	LeaseStore leaseholdLeaseStore(@LeaseholdDataSource ObjectProvider<DataSource> leaseholdDataSource,
			ObjectProvider<DataSource> dataSource, LeaseholdLockProperties properties) {
		return new PostgresLeaseStore(leaseholdDataSource.getIfAvailable(dataSource::getObject),
				properties.getTableName(), properties.getSequenceName(),
				LeaseStatementTimeouts.of(properties.getStatementTimeout()),
				properties.getNotify().isEnabled() ? properties.getNotify().getChannel() : null);
	}

	@Bean
	@ConditionalOnMissingBean
	WaitStrategy leaseholdWaitStrategy(LeaseholdLockProperties properties) {
		return pollingWaitStrategy(properties);
	}

	@Bean(name = "leaseholdScheduler")
	LeaseScheduler leaseholdScheduler() {
		return new LeaseScheduler(2);
	}

	@Bean
	@ConditionalOnMissingBean
	LeaseRenewer leaseholdLeaseRenewer(LeaseScheduler leaseholdScheduler, LeaseholdLockProperties properties) {
		return new LeaseRenewer(leaseholdScheduler.executor(), leaseholdScheduler.handOverExecutor(),
				properties.getRenewalRatio());
	}

	@Bean
	@ConditionalOnMissingBean(LockManager.class)
	DefaultLockManager leaseholdLockManager(LeaseStore store, WaitStrategy waitStrategy, LeaseRenewer renewer,
			ObjectProvider<LeaseholdSchemaInitializer> schemaInitializer, LeaseholdLockProperties properties,
			ObjectProvider<ObservationRegistry> observationRegistry, ObjectProvider<LockMetrics> metrics) {
		schemaInitializer.getIfAvailable(); // the schema is ready before the first lease
		String ownerId = (properties.getOwnerId() != null) ? properties.getOwnerId() : defaultOwnerId();
		DefaultLockManager manager = new DefaultLockManager(store, LockSettingsFactory.resolver(properties),
				waitStrategy, renewer, ownerId, properties.getLocalExpiryMargin());
		observationRegistry.ifAvailable(manager::setObservationRegistry);
		metrics.ifAvailable(manager::setMetrics);
		manager.setPrepareHandOvers(properties.getNotify().isEnabled() && properties.getNotify().isPrepareHandOvers());
		return manager;
	}

	@Bean
	@ConditionalOnBean(DefaultLockManager.class)
	@ConditionalOnMissingBean
	CommitGuard leaseholdCommitGuard(DefaultLockManager lockManager, LeaseStore store,
			@LeaseholdDataSource ObjectProvider<DataSource> leaseholdDataSource, ObjectProvider<DataSource> dataSource) {
		return new CommitGuard(lockManager, store, leaseholdDataSource.getIfAvailable(dataSource::getObject));
	}

	@Bean
	static CommitGuardRegistrar leaseholdCommitGuardRegistrar(ObjectProvider<CommitGuard> commitGuard) {
		return new CommitGuardRegistrar(commitGuard);
	}

	@Bean
	@ConditionalOnMissingBean
	@ConditionalOnBooleanProperty(name = "leasehold.lock.cleanup.enabled", matchIfMissing = true)
	ExpiredLeaseCleaner leaseholdExpiredLeaseCleaner(LeaseStore store, LeaseScheduler leaseholdScheduler,
			LeaseholdLockProperties properties) {
		return new ExpiredLeaseCleaner(store, leaseholdScheduler.executor(), properties.getCleanup().getInterval(),
				properties.getCleanup().getRetention());
	}

	private static PollingWaitStrategy pollingWaitStrategy(LeaseholdLockProperties properties) {
		return new PollingWaitStrategy(properties.getPolling().getInitialInterval(),
				properties.getPolling().getMaxInterval());
	}

	private static String defaultOwnerId() {
		String host;
		try {
			host = InetAddress.getLocalHost().getHostName();
		}
		catch (UnknownHostException ex) {
			host = "unknown-host";
		}
		return host + ":" + ProcessHandle.current().pid() + ":"
				+ HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
	}

	/**
	 * Waiters woken by PostgreSQL notifications of releases, polling only as a safety net.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(PGConnection.class)
	@ConditionalOnBooleanProperty(name = "leasehold.lock.notify.enabled", matchIfMissing = true)
	static class NotifyConfiguration {

		@Bean
		@ConditionalOnMissingBean(WaitStrategy.class)
		NotifiedWaitStrategy leaseholdWaitStrategy(LeaseholdLockProperties properties) {
			return new NotifiedWaitStrategy(properties.getNotify().getSafetyPollInterval(),
					pollingWaitStrategy(properties));
		}

		@Bean
		@ConditionalOnBean(NotifiedWaitStrategy.class)
		@ConditionalOnMissingBean
		PostgresReleaseListener leaseholdReleaseListener(NotifiedWaitStrategy waitStrategy,
				@LeaseholdDataSource ObjectProvider<DataSource> leaseholdDataSource,
				ObjectProvider<DataSource> dataSource, LeaseholdLockProperties properties) {
			return new PostgresReleaseListener(
					ListenerConnections.outsidePool(leaseholdDataSource.getIfAvailable(dataSource::getObject)),
					properties.getNotify().getChannel(), waitStrategy, properties.getNotify().getMaxReconnectBackoff(),
					Duration.ofSeconds(15));
		}

	}

	/**
	 * Meters of leases lost, renewals, held leases and waiters.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(MeterBinder.class)
	static class MetricsConfiguration {

		@Bean
		@ConditionalOnMissingBean
		LeaseholdMetrics leaseholdMetrics(ObjectProvider<DefaultLockManager> lockManager) {
			return new LeaseholdMetrics(lockManager);
		}

	}

	/**
	 * The {@code leasehold} Actuator endpoint.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(Endpoint.class)
	static class EndpointConfiguration {

		@Bean
		@ConditionalOnMissingBean
		LeaseholdEndpoint leaseholdEndpoint(LeaseStore store, ObjectProvider<DefaultLockManager> lockManager) {
			return new LeaseholdEndpoint(store, lockManager);
		}

	}

	/**
	 * The {@code leasehold} health indicator.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(AbstractHealthIndicator.class)
	@ConditionalOnEnabledHealthIndicator("leasehold")
	static class HealthConfiguration {

		@Bean
		@ConditionalOnMissingBean(name = "leaseholdHealthIndicator")
		LeaseholdHealthIndicator leaseholdHealthIndicator(PostgresSchema schema,
				ObjectProvider<PostgresReleaseListener> listener, ObjectProvider<DefaultLockManager> lockManager) {
			return new LeaseholdHealthIndicator(schema, listener.getIfAvailable(), lockManager.getIfAvailable());
		}

	}

	/**
	 * Stamps fenced Spring Data JDBC aggregates with the current lease's token.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnClass(BeforeConvertCallback.class)
	static class SpringDataFencingConfiguration {

		@Bean
		@ConditionalOnMissingBean
		FencingTokenStamper leaseholdFencingTokenStamper() {
			return new FencingTokenStamper();
		}

	}

	/**
	 * The advisor and what it needs, as infrastructure beans: auto-proxying creates them before
	 * the application's beans, so they reach the lock manager only on the first locked call.
	 */
	@Configuration(proxyBeanMethods = false)
	@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
	@Import(AutoProxyRegistrar.class)
	static class DistributedLockAdvisorConfiguration {

		@Bean
		@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
		static LockedMethods leaseholdLockedMethods(ConfigurableListableBeanFactory beanFactory,
				Environment environment) {
			// Strict on ${...} even without a placeholder configurer; the embedded resolver adds #{...}.
			EmbeddedValueResolver embedded = new EmbeddedValueResolver(beanFactory);
			return new LockedMethods(
					(value) -> embedded.resolveStringValue(environment.resolveRequiredPlaceholders(value)));
		}

		@Bean
		@Role(BeanDefinition.ROLE_INFRASTRUCTURE)
		static DistributedLockAdvisor leaseholdDistributedLockAdvisor(LockedMethods leaseholdLockedMethods,
				ObjectProvider<LockManager> lockManager, ConfigurableListableBeanFactory beanFactory,
				Environment environment) {
			int order = environment.getProperty("leasehold.lock.aspect-order", Integer.class,
					new LeaseholdLockProperties().getAspectOrder());
			return new DistributedLockAdvisor(
					new DistributedLockInterceptor(leaseholdLockedMethods, lockManager::getObject, beanFactory), order);
		}

		@Bean
		static LockedMethodsValidator leaseholdLockedMethodsValidator(ConfigurableListableBeanFactory beanFactory,
				LockedMethods leaseholdLockedMethods, DistributedLockAdvisor leaseholdDistributedLockAdvisor) {
			return new LockedMethodsValidator(beanFactory, leaseholdLockedMethods, leaseholdDistributedLockAdvisor);
		}

	}

}
