package io.leasehold.lock.aop;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.BeanFactory;
import org.springframework.context.expression.BeanFactoryResolver;
import org.springframework.context.expression.MethodBasedEvaluationContext;
import org.springframework.core.DefaultParameterNameDiscoverer;
import org.springframework.core.ParameterNameDiscoverer;
import org.springframework.expression.EvaluationException;
import org.springframework.expression.Expression;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.core.LockNames;

/**
 * Evaluates a lock key over the call's arguments, as {@code @Cacheable} keys are: arguments by
 * name ({@code #id}, needs {@code -parameters}), by index ({@code #p0}, {@code #a0}), and beans
 * ({@code @bean}).
 */
class LockKeyEvaluator {

	private final ParameterNameDiscoverer parameterNames = new DefaultParameterNameDiscoverer();

	private final @Nullable BeanFactory beanFactory;

	LockKeyEvaluator(@Nullable BeanFactory beanFactory) {
		this.beanFactory = beanFactory;
	}

	/**
	 * @throws LockConfigurationException when the expression fails or yields {@code null} or an
	 * empty string
	 */
	String evaluate(LockedMethod lockedMethod, Expression key, Object target, @Nullable Object[] arguments) {
		MethodBasedEvaluationContext context = new MethodBasedEvaluationContext(target, lockedMethod.method(),
				arguments, this.parameterNames);
		if (this.beanFactory != null) {
			context.setBeanResolver(new BeanFactoryResolver(this.beanFactory));
		}
		Object value;
		try {
			value = key.getValue(context);
		}
		catch (EvaluationException ex) {
			throw invalidKey(lockedMethod, "it failed: " + ex.getMessage(), ex);
		}
		catch (RuntimeException ex) {
			// SpEL rethrows what a method called by the expression threw, unwrapped.
			throw invalidKey(lockedMethod, "a method it calls threw " + ex, ex);
		}
		String text = text(lockedMethod, value);
		if (text == null || text.isEmpty()) {
			throw invalidKey(lockedMethod, "it yielded " + ((value == null) ? "null"
					: (text == null) ? "a " + value.getClass().getName() + " whose toString() returned null"
							: "an empty string")
					+ " (an argument referenced by name needs the class compiled with -parameters;"
					+ " #p0 or #a0 work without)", null);
		}
		LockNames.problem(lockedMethod.name() + ":" + text).ifPresent((problem) -> {
			throw invalidKey(lockedMethod, "the lock name it makes is unusable: " + problem, null);
		});
		return text;
	}

	private static @Nullable String text(LockedMethod lockedMethod, @Nullable Object value) {
		if (value == null) {
			return null;
		}
		try {
			return value.toString();
		}
		catch (RuntimeException ex) {
			throw invalidKey(lockedMethod, "toString() of the " + value.getClass().getName() + " it yielded threw " + ex,
					ex);
		}
	}

	private static LockConfigurationException invalidKey(LockedMethod lockedMethod, String problem,
			@Nullable Throwable cause) {
		String message = "Lock key \"" + lockedMethod.keySource() + "\" of @DistributedLock(name = \""
				+ lockedMethod.name() + "\") on " + lockedMethod.describe() + " is unusable: " + problem
				+ "; the method did not run";
		return (cause != null) ? new LockConfigurationException(message, cause)
				: new LockConfigurationException(message);
	}

}
