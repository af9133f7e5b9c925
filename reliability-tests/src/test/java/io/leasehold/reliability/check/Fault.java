package io.leasehold.reliability.check;

/**
 * A fault the controller injected into one worker, with the wall-clock time (microseconds
 * since the epoch) at which the signal was sent.
 */
public record Fault(String worker, Kind kind, long wall) {

	public enum Kind {

		PAUSE, RESUME, KILL, TERM,

		/** A network fault on the worker's lease connections (cut, blackhole, a dropped or held reply). */
		NETWORK

	}

}
