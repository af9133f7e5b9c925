package io.leasehold.lock.core;

/**
 * Counts the events of held leases that no observation covers. Acquisitions and holds are
 * {@link io.micrometer.observation.Observation observations} ({@code leasehold.lock.acquire} and
 * {@code leasehold.lock.hold}), which Micrometer turns into timers and spans.
 */
public interface LockMetrics {

	/** Counts nothing. */
	LockMetrics NONE = new LockMetrics() {
	};

	/**
	 * A held lease was found lost.
	 * @param lock the bounded lock tag: the annotation's name, or a lock name up to its first ':'
	 */
	default void leaseLost(String lock) {
	}

	/**
	 * A renewal was attempted.
	 * @param lock the bounded lock tag
	 * @param succeeded whether the lease was extended
	 */
	default void renewal(String lock, boolean succeeded) {
	}

}
