package io.leasehold.lock;

import org.jspecify.annotations.Nullable;

/**
 * A store rejected a write because it has already seen a newer fencing token: the writer's lease
 * ended and another holder has written since. The rejected write was not applied.
 */
public class StaleFencingTokenException extends LeaseholdException {

	private final long fencingToken;

	private final long newestToken;

	public StaleFencingTokenException(String resource, long fencingToken, long newestToken) {
		this("Write to " + resource, fencingToken, newestToken, null);
	}

	/**
	 * @param access what was refused, such as {@code "Write to table account"} or
	 * {@code "Read of row 42 of account"}
	 */
	public StaleFencingTokenException(String access, long fencingToken, long newestToken, @Nullable Throwable cause) {
		super(access + " with fencing token " + fencingToken + " was rejected: it has already seen token " + newestToken
				+ " from a newer lease holder; nothing was applied", cause);
		this.fencingToken = fencingToken;
		this.newestToken = newestToken;
	}

	/** The token the rejected write carried. */
	public long fencingToken() {
		return this.fencingToken;
	}

	/** The newest token the store had seen. */
	public long newestToken() {
		return this.newestToken;
	}

}
