/**
 * Where leases live: the store contract and its PostgreSQL implementation and schema.
 */
@NullMarked
package io.leasehold.lock.store;

import org.jspecify.annotations.NullMarked;
