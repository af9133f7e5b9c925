package io.leasehold.lock.aop;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

import org.jspecify.annotations.Nullable;

/**
 * What a method returns when {@code onNotAcquired = SKIP} skipped its body: an empty optional,
 * the zero value of a primitive, otherwise {@code null}.
 */
final class SkippedResult {

	private SkippedResult() {
	}

	static @Nullable Object of(Class<?> returnType) {
		if (returnType == Optional.class) {
			return Optional.empty();
		}
		if (returnType == OptionalInt.class) {
			return OptionalInt.empty();
		}
		if (returnType == OptionalLong.class) {
			return OptionalLong.empty();
		}
		if (returnType == OptionalDouble.class) {
			return OptionalDouble.empty();
		}
		if (!returnType.isPrimitive() || returnType == void.class) {
			return null;
		}
		if (returnType == boolean.class) {
			return false;
		}
		if (returnType == char.class) {
			return '\0';
		}
		if (returnType == byte.class) {
			return (byte) 0;
		}
		if (returnType == short.class) {
			return (short) 0;
		}
		if (returnType == int.class) {
			return 0;
		}
		if (returnType == long.class) {
			return 0L;
		}
		if (returnType == float.class) {
			return 0f;
		}
		return 0d;
	}

}
