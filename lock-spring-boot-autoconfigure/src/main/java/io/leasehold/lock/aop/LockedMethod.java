package io.leasehold.lock.aop;

import java.lang.reflect.Method;

import org.jspecify.annotations.Nullable;

import org.springframework.expression.Expression;

import io.leasehold.lock.LockOptions;
import io.leasehold.lock.OnNotAcquired;

/**
 * A {@code @DistributedLock} method's attributes, resolved and validated once: placeholders
 * replaced, durations parsed, the key expression parsed.
 *
 * @param method the annotated method, named in errors
 * @param name the lock name, also the key of per-lock configuration
 * @param key the parsed key expression, or {@code null} for a lock without a key
 * @param keySource the key expression as written, named in errors
 * @param options the durations and purpose set on the annotation
 * @param fencingTokenParameters indexes of the {@code @FencingToken} parameters
 */
record LockedMethod(Method method, String name, @Nullable Expression key, String keySource, LockOptions options,
		OnNotAcquired onNotAcquired, int[] fencingTokenParameters) {

	String describe() {
		return this.method.getDeclaringClass().getName() + "." + this.method.getName();
	}

}
