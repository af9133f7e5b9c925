package io.leasehold.lock.aop;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;

import org.springframework.aop.support.AopUtils;
import org.springframework.core.MethodClassKey;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.util.StringValueResolver;

import io.leasehold.lock.DistributedLock;

/**
 * Finds and caches the {@link LockedMethod} of each method a proxy is called with, so each
 * annotation is resolved and validated once.
 */
public class LockedMethods {

	private final Map<MethodClassKey, Optional<LockedMethod>> cache = new ConcurrentHashMap<>();

	private final LockedMethodParser parser;

	public LockedMethods(StringValueResolver placeholderResolver) {
		this.parser = new LockedMethodParser(placeholderResolver);
	}

	/**
	 * @param method the method a proxy was called with, perhaps declared by an interface
	 * @param targetClass the class of the target bean
	 */
	Optional<LockedMethod> find(Method method, @Nullable Class<?> targetClass) {
		MethodClassKey key = new MethodClassKey(method, targetClass);
		Optional<LockedMethod> found = this.cache.get(key);
		if (found == null) {
			found = this.cache.computeIfAbsent(key, (ignored) -> parse(method, targetClass));
		}
		return found;
	}

	private Optional<LockedMethod> parse(Method method, @Nullable Class<?> targetClass) {
		Method specific = AopUtils.getMostSpecificMethod(method, targetClass);
		DistributedLock annotation = AnnotatedElementUtils.findMergedAnnotation(specific, DistributedLock.class);
		if (annotation == null) {
			annotation = AnnotatedElementUtils.findMergedAnnotation(method, DistributedLock.class);
		}
		return Optional.ofNullable(annotation).map((found) -> this.parser.parse(specific, found));
	}

}
