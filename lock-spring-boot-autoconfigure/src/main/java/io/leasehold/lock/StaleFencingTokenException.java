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
		this(resource, fencingToken, newestToken, null);
	}

	public StaleFencingTokenException(String resource, long fencingToken, long newestToken,
			@Nullable Throwable cause) {
		super("Write to " + resource + " with fencing token " + fencingToken + " was rejected: it has already seen token "
				+ newestToken + " from a newer lease holder; the write was not applied", cause);
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
