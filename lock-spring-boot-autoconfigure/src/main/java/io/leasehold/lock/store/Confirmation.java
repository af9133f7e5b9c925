package io.leasehold.lock.store;

import java.time.Instant;

/**
 * A prepared hand-over, confirmed: the successor holds the lock's row with a lease of its own.
 *
 * @param expiresAt when the successor's lease expires by the database clock
 * @param othersWaiting whether a caller had registered in the lock's row that it waits (the
 * confirmation takes the registration over: the node must notify when it frees the lock)
 * @param successorToken the token drawn for the successor's own successor
 */
public record Confirmation(Instant expiresAt, boolean othersWaiting, long successorToken) {

}
