package io.leasehold.lock.notify;

/**
 * What a release listener reports to the waiters of its node.
 */
public interface ReleaseEvents {

	/** The listener is (again) subscribed; releases may have been missed while it was not. */
	void listening();

	/** A lease on {@code lockName} has just been released. */
	void released(String lockName);

	/** The listener lost its connection; releases go unnoticed until it is back. */
	void disconnected();

}
