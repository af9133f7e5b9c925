package io.leasehold.lock.aop;

import java.util.Optional;
import java.util.function.Supplier;

import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.util.function.SingletonSupplier;

import io.leasehold.lock.Lease;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.fencing.FencingTrigger;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.OnNotAcquired;
import io.leasehold.lock.core.DefaultLockManager;

/**
 * Runs a {@code @DistributedLock} method under its lease: evaluates the key, acquires (waiting
 * as configured), passes the token to {@code @FencingToken} parameters, runs the method, and
 * releases when it returns or throws. Nothing runs when the key or the acquisition fails.
 */
public class DistributedLockInterceptor implements MethodInterceptor {

	private static final Log logger = LogFactory.getLog(DistributedLockInterceptor.class);

	private final LockedMethods lockedMethods;

	private final LockKeyEvaluator keyEvaluator;

	private final SingletonSupplier<LockManager> lockManager;

	/**
	 * @param lockManager supplies the manager on first use, so creating the advisor early (as
	 * auto-proxying does) does not create the manager and its DataSource early
	 */
	public DistributedLockInterceptor(LockedMethods lockedMethods, Supplier<LockManager> lockManager,
			@Nullable BeanFactory beanFactory) {
		this.lockedMethods = lockedMethods;
		this.keyEvaluator = new LockKeyEvaluator(beanFactory);
		this.lockManager = SingletonSupplier.of(lockManager);
	}

	@Override
	public @Nullable Object invoke(MethodInvocation invocation) throws Throwable {
		Object target = invocation.getThis();
		Class<?> targetClass = (target != null) ? AopUtils.getTargetClass(target) : null;
		Optional<LockedMethod> found = this.lockedMethods.find(invocation.getMethod(), targetClass);
		if (found.isEmpty()) {
			return invocation.proceed();
		}
		LockedMethod lockedMethod = found.get();
		String lockName = lockName(lockedMethod, target, invocation.getArguments());
		Lease lease;
		if (lockedMethod.onNotAcquired() == OnNotAcquired.SKIP) {
			Optional<Lease> acquired = tryAcquire(lockedMethod, lockName);
			if (acquired.isEmpty()) {
				logger.debug("Skipped " + lockedMethod.describe() + ": lock '" + lockName + "' is busy");
				return SkippedResult.of(invocation.getMethod().getReturnType());
			}
			lease = acquired.get();
		}
		else {
			lease = acquire(lockedMethod, lockName);
		}
		try (lease; LockMdc mdc = LockMdc.put(lease)) {
			Object[] arguments = invocation.getArguments();
			for (int index : lockedMethod.fencingTokenParameters()) {
				arguments[index] = lease.fencingToken();
			}
			return invocation.proceed();
		}
		catch (RuntimeException ex) {
			StaleFencingTokenException stale = FencingTrigger.translate(ex);
			throw (stale != null) ? stale : ex;
		}
	}

	/** Settings are configured under the annotation's name; a custom manager only knows the full name. */
	private Optional<Lease> tryAcquire(LockedMethod lockedMethod, String lockName) {
		LockManager manager = this.lockManager.obtain();
		return (manager instanceof DefaultLockManager defaultManager)
				? defaultManager.tryAcquire(lockedMethod.name(), lockName, lockedMethod.options())
				: manager.tryAcquire(lockName, lockedMethod.options());
	}

	private Lease acquire(LockedMethod lockedMethod, String lockName) {
		LockManager manager = this.lockManager.obtain();
		return (manager instanceof DefaultLockManager defaultManager)
				? defaultManager.acquire(lockedMethod.name(), lockName, lockedMethod.options())
				: manager.acquire(lockName, lockedMethod.options());
	}

	private String lockName(LockedMethod lockedMethod, @Nullable Object target, @Nullable Object[] arguments) {
		if (lockedMethod.key() == null) {
			return lockedMethod.name();
		}
		return lockedMethod.name() + ":"
				+ this.keyEvaluator.evaluate(lockedMethod, lockedMethod.key(), target, arguments);
	}

}
