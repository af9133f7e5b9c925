/**
 * Distributed locks on PostgreSQL leases with fencing tokens: the annotation, the programmatic
 * {@link io.leasehold.lock.LockManager} and the exceptions users see.
 */
@NullMarked
package io.leasehold.lock;

import org.jspecify.annotations.NullMarked;
