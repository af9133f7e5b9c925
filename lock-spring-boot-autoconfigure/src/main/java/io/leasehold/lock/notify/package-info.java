/**
 * Waking waiters on release: the PostgreSQL LISTEN connection and the per-lock queues of waiters
 * it wakes.
 */
@NullMarked
package io.leasehold.lock.notify;

import org.jspecify.annotations.NullMarked;
