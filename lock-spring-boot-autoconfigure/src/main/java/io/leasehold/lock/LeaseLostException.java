package io.leasehold.lock;

/**
 * A lease ended before its holder released it: it expired, was taken over by another node, or
 * could not be confirmed. Work done under it since may have overlapped with another holder.
 */
public class LeaseLostException extends LeaseholdException {

	private final String lockName;

	private final long fencingToken;

	public LeaseLostException(String lockName, long fencingToken, String reason) {
		super("Lease on lock '" + lockName + "' with fencing token " + fencingToken + " is no longer held (" + reason
				+ "); another node may hold the lock, so the integrity of the data it protects may be compromised"
				+ " unless writes are fenced with the token");
		this.lockName = lockName;
		this.fencingToken = fencingToken;
	}

	public String lockName() {
		return this.lockName;
	}

	public long fencingToken() {
		return this.fencingToken;
	}

}
