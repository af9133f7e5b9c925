package io.leasehold.lock;

/**
 * Why a lock is taken, which decides what a lost lease may cost.
 */
public enum Purpose {

	/** The lock saves duplicate work; a lost lease costs at most a duplicate run. */
	EFFICIENCY,

	/** The lock protects shared state; writes must be fenced with the lease's token. */
	CORRECTNESS

}
