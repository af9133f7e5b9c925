package io.leasehold.lock.autoconfigure.diagnostics;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.NoSuchBeanDefinitionException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import io.leasehold.lock.LockManager;

/**
 * Explains why no {@link LockManager} could be injected: Leasehold configures one only when the
 * application has a DataSource and the starter is enabled.
 */
class MissingLockManagerFailureAnalyzer extends AbstractFailureAnalyzer<NoSuchBeanDefinitionException> {

	@Override
	protected @Nullable FailureAnalysis analyze(Throwable rootFailure, NoSuchBeanDefinitionException cause) {
		Class<?> type = cause.getBeanType();
		if (type == null || !LockManager.class.isAssignableFrom(type)) {
			return null;
		}
		return new FailureAnalysis("No " + type.getSimpleName() + " bean: Leasehold configures its lock manager only"
				+ " when the application has a DataSource (to keep its leases in) and leasehold.lock.enabled is not false.",
				"Configure a DataSource for PostgreSQL (spring.datasource.url, or a DataSource bean, optionally qualified"
						+ " with @LeaseholdDataSource), and check that leasehold.lock.enabled is not set to false.",
				cause);
	}

}
