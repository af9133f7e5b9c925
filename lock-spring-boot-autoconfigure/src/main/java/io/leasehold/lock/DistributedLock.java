package io.leasehold.lock;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Runs the annotated method on one node at a time across every application instance that
 * shares the lease table: the call first takes a lease on {@code name + ":" + key} and releases
 * it when the method returns or throws. The lease's fencing token is available through
 * {@link LockContext#fencingToken()} or a {@link FencingToken @FencingToken} parameter.
 * <p>
 * Durations accept the {@code Duration} formats Spring Boot binds ({@code "30s"},
 * {@code "500ms"}, {@code "PT30S"}); {@code ${...}} placeholders are resolved in the name and in
 * every duration. An empty duration falls back to {@code leasehold.lock.locks.<name>.*}, then to
 * the global {@code leasehold.lock.*} defaults.
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface DistributedLock {

	/** Lock name; {@code ${...}} placeholders are resolved. Also the key of per-lock configuration. */
	String name();

	/** SpEL over the method's arguments ({@code #id}, {@code #p0}, {@code #order.id}); appended to the name. */
	String key() default "";

	/** How long a grant lasts without renewal; empty means from configuration. */
	String leaseTime() default "";

	/** How long to wait for a busy lock; empty means from configuration (default: try once). */
	String waitTime() default "";

	/** Keep the lease at least this long from acquisition, even when the method returns earlier. */
	String minHoldTime() default "";

	/** Why the lock is taken; {@link Purpose#CORRECTNESS} guards commits with the fencing token. */
	Purpose purpose() default Purpose.CORRECTNESS;

	/** What happens when the lock cannot be acquired within the wait time. */
	OnNotAcquired onNotAcquired() default OnNotAcquired.THROW;

}
