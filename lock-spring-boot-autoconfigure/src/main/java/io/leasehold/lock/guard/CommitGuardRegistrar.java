package io.leasehold.lock.guard;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.transaction.ConfigurableTransactionManager;

/**
 * Adds the {@link CommitGuard} to every transaction manager that takes listeners, including
 * those an application defines itself (Spring Boot adds listener beans only to the transaction
 * managers it creates).
 */
public class CommitGuardRegistrar implements BeanPostProcessor {

	private final ObjectProvider<CommitGuard> commitGuard;

	public CommitGuardRegistrar(ObjectProvider<CommitGuard> commitGuard) {
		this.commitGuard = commitGuard;
	}

	@Override
	public Object postProcessAfterInitialization(Object bean, String beanName) {
		if (bean instanceof ConfigurableTransactionManager transactionManager) {
			CommitGuard guard = this.commitGuard.getIfAvailable();
			if (guard != null && !transactionManager.getTransactionExecutionListeners().contains(guard)) {
				transactionManager.addListener(guard);
			}
		}
		return bean;
	}

}
