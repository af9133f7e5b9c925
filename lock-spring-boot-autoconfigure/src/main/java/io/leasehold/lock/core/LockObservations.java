package io.leasehold.lock.core;

import java.util.Locale;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import org.jspecify.annotations.Nullable;

import io.leasehold.lock.Lease;

/**
 * The observations of lock waits and holds: {@code leasehold.lock.acquire} from the call to its
 * outcome, and {@code leasehold.lock.hold} from the grant to the release. Their low-cardinality
 * tags are bounded ({@code lock} is the annotation's name, never its key); the full lock name and
 * the token are high-cardinality, for traces only.
 */
final class LockObservations {

	static final String ACQUIRE = "leasehold.lock.acquire";

	static final String HOLD = "leasehold.lock.hold";

	private final ObservationRegistry registry;

	LockObservations(ObservationRegistry registry) {
		this.registry = registry;
	}

	/** The bounded tag of a lock: its configuration name up to the first ':'. */
	static String tag(String configName) {
		int colon = configName.indexOf(':');
		return (colon < 0) ? configName : configName.substring(0, colon);
	}

	Observation startAcquire(String tag, String lockName) {
		return Observation.createNotStarted(ACQUIRE, this.registry)
			.contextualName("lock wait " + tag)
			.lowCardinalityKeyValue("lock", tag)
			.highCardinalityKeyValue("lock.name", lockName)
			.start();
	}

	void endAcquire(Observation acquire, Outcome outcome, @Nullable Lease lease, @Nullable Throwable failure) {
		acquire.lowCardinalityKeyValue("outcome", outcome.tag);
		if (lease != null) {
			acquire.highCardinalityKeyValue("fencing.token", Long.toString(lease.fencingToken()));
		}
		if (failure != null) {
			acquire.error(failure);
		}
		acquire.stop();
	}

	Observation startHold(String tag, Lease lease, LockSettings settings) {
		return Observation.createNotStarted(HOLD, this.registry)
			.contextualName("lock hold " + tag)
			.lowCardinalityKeyValue("lock", tag)
			.lowCardinalityKeyValue("purpose", settings.purpose().name().toLowerCase(Locale.ROOT))
			.highCardinalityKeyValue("lock.name", lease.lockName())
			.highCardinalityKeyValue("fencing.token", Long.toString(lease.fencingToken()))
			.start();
	}

	void endHold(Observation hold, boolean lost) {
		hold.lowCardinalityKeyValue("outcome", lost ? "lost" : "released");
		hold.stop();
	}

	/**
	 * How an acquisition ended.
	 */
	enum Outcome {

		ACQUIRED("acquired"), BUSY("busy"), TIMED_OUT("timed-out"), ERROR("error");

		private final String tag;

		Outcome(String tag) {
			this.tag = tag;
		}

	}

}
