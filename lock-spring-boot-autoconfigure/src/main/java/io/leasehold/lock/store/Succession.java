package io.leasehold.lock.store;

/**
 * A lease handed over to a caller of the releasing node.
 *
 * @param grant the successor's lease
 * @param othersWaiting whether a caller had registered in the lock's row that it waits (the
 * hand-over takes the registration over: the node must notify when it frees the lock)
 */
public record Succession(Grant grant, boolean othersWaiting) {

}
