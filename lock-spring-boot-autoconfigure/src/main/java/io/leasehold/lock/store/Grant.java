package io.leasehold.lock.store;

import java.time.Instant;

/**
 * A lease the database granted: the fresh fencing token and the lease's times by the database
 * clock.
 */
public record Grant(long fencingToken, Instant acquiredAt, Instant expiresAt) {

}
