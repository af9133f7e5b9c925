package io.leasehold.lock.store;

import java.time.Instant;

/**
 * A row of the lease table as the database saw it at {@code observedAt}, its own clock.
 */
public record LeaseRow(String lockName, String ownerId, long fencingToken, Instant acquiredAt, Instant expiresAt,
		Instant observedAt) {

	public boolean isHeld() {
		return this.expiresAt.isAfter(this.observedAt);
	}

	/** Describes the holder for an error message: who, since when and until when. */
	public String describe() {
		if (!isHeld()) {
			return "the lease row is free now (last holder " + this.ownerId + " with token " + this.fencingToken
					+ ", expired " + this.expiresAt + " by the database clock)";
		}
		return "held by " + this.ownerId + " with token " + this.fencingToken + " since " + this.acquiredAt + " until "
				+ this.expiresAt + " by the database clock";
	}

}
