package io.leasehold.lock.aop;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.convert.DurationStyle;
import org.springframework.core.MethodParameter;
import org.springframework.core.annotation.AnnotatedMethod;
import org.springframework.expression.Expression;
import org.springframework.expression.ParseException;
import org.springframework.expression.spel.standard.SpelExpressionParser;
import org.springframework.util.StringValueResolver;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;
import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.core.LockNames;

/**
 * Turns a {@code @DistributedLock} annotation into a {@link LockedMethod}, failing with an error
 * that names the method and the attribute when an attribute is invalid.
 */
class LockedMethodParser {

	private final SpelExpressionParser expressionParser = new SpelExpressionParser();

	private final StringValueResolver placeholderResolver;

	LockedMethodParser(StringValueResolver placeholderResolver) {
		this.placeholderResolver = placeholderResolver;
	}

	/**
	 * @param method the method as implemented by the target class
	 * @param annotation the method's {@code @DistributedLock}
	 */
	LockedMethod parse(Method method, DistributedLock annotation) {
		String name = resolve(method, "name", annotation.name());
		if (name.isBlank()) {
			throw invalid(method, "name", annotation.name(), "the lock name must not be empty");
		}
		LockNames.problem(name).ifPresent((problem) -> {
			throw invalid(method, "name", annotation.name(), "the lock name is unusable: " + problem);
		});
		LockOptions options = LockOptions.defaults().withPurpose(annotation.purpose());
		options = withDuration(options, method, "leaseTime", annotation.leaseTime(), LockOptions::withLeaseTime);
		options = withDuration(options, method, "waitTime", annotation.waitTime(), LockOptions::withWaitTime);
		options = withDuration(options, method, "minHoldTime", annotation.minHoldTime(), LockOptions::withMinHoldTime);
		String keySource = annotation.key();
		return new LockedMethod(method, name, parseKey(method, keySource), keySource, options,
				annotation.onNotAcquired(), fencingTokenParameters(method));
	}

	private LockOptions withDuration(LockOptions options, Method method, String attribute, String text,
			DurationSetter setter) {
		if (text.isEmpty()) {
			return options;
		}
		String resolved = resolve(method, attribute, text);
		Duration value;
		try {
			value = DurationStyle.detectAndParse(resolved.trim());
		}
		catch (IllegalArgumentException ex) {
			throw invalid(method, attribute, text,
					"'" + resolved + "' is not a duration; use forms such as \"30s\", \"500ms\", \"PT30S\"");
		}
		try {
			return setter.set(options, value);
		}
		catch (IllegalArgumentException ex) {
			throw invalid(method, attribute, text, ex.getMessage());
		}
	}

	private @Nullable Expression parseKey(Method method, String keySource) {
		if (keySource.isBlank()) {
			return null;
		}
		try {
			return this.expressionParser.parseExpression(keySource);
		}
		catch (ParseException ex) {
			throw invalid(method, "key", keySource, "it is not a valid SpEL expression: " + ex.getMessage());
		}
	}

	/** Finds {@code @FencingToken} on the method's parameters or on those of the methods it implements. */
	private int[] fencingTokenParameters(Method method) {
		List<Integer> indexes = new ArrayList<>();
		MethodParameter[] parameters = new AnnotatedMethod(method).getMethodParameters();
		for (MethodParameter parameter : parameters) {
			if (parameter.hasParameterAnnotation(FencingToken.class)) {
				Class<?> type = parameter.getParameterType();
				if (type != long.class && type != Long.class) {
					throw new LockConfigurationException("@FencingToken on parameter " + parameter.getParameterIndex()
							+ " ('" + method.getParameters()[parameter.getParameterIndex()].getName() + "') of "
							+ method.getDeclaringClass().getName() + "." + method.getName() + " is of type "
							+ type.getName() + "; a fencing token parameter must be long or Long");
				}
				indexes.add(parameter.getParameterIndex());
			}
		}
		return indexes.stream().mapToInt(Integer::intValue).toArray();
	}

	private String resolve(Method method, String attribute, String text) {
		try {
			String resolved = this.placeholderResolver.resolveStringValue(text);
			if (resolved == null) {
				throw invalid(method, attribute, text, "it resolved to null");
			}
			return resolved;
		}
		catch (IllegalArgumentException ex) {
			throw invalid(method, attribute, text, ex.getMessage());
		}
	}

	private static LockConfigurationException invalid(Method method, String attribute, String value, String problem) {
		return new LockConfigurationException("Invalid @DistributedLock(" + attribute + " = \"" + value + "\") on "
				+ method.getDeclaringClass().getName() + "." + method.getName() + ": " + problem);
	}

	@FunctionalInterface
	private interface DurationSetter {

		LockOptions set(LockOptions options, Duration value);

	}

}
