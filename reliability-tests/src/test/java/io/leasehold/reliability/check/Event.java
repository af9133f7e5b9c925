package io.leasehold.reliability.check;

import org.jspecify.annotations.Nullable;

/**
 * One line of a worker's history (see {@link io.leasehold.reliability.History}).
 *
 * @param type {@code invoke}, {@code ok}, {@code fail}, {@code info} or {@code note}
 * @param op operation ({@code acquire, read, check, write, release}) or, for a note, what happened
 * @param id operation id, unique per worker (0 for notes)
 * @param wall wall-clock time in microseconds since the epoch
 * @param mono the worker JVM's {@code System.nanoTime()}
 * @param thread the worker's thread that wrote it
 */
public record Event(String type, String op, long id, String worker, long pid, String lock, @Nullable Long token,
		@Nullable Long value, @Nullable String detail, long wall, long mono, String thread) {

	public boolean is(String type, String op) {
		return this.type.equals(type) && this.op.equals(op);
	}

}
