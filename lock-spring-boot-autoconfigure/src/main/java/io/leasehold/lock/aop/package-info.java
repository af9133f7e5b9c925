/**
 * The {@code @DistributedLock} advisor: finding and validating annotated methods, evaluating
 * keys, and running each call under its lease.
 */
@NullMarked
package io.leasehold.lock.aop;

import org.jspecify.annotations.NullMarked;
