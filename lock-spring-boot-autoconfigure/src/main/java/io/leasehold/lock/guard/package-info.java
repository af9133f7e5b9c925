/**
 * Guarded commits for correctness locks: a transaction commits only while its thread's leases
 * still hold, checked in the same transaction.
 */
@NullMarked
package io.leasehold.lock.guard;

import org.jspecify.annotations.NullMarked;
