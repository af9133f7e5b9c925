package io.leasehold.reliability.check;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * An operation: its invoke event joined with its outcome. {@code outcome} is {@code ok},
 * {@code fail} or {@code info}; an operation whose worker never wrote an outcome is {@code info}
 * with no completion time.
 *
 * @param invoked wall-clock microseconds of the invoke
 * @param completed wall-clock microseconds of the outcome, null when there was none
 * @param thread the worker's thread that ran it
 */
public record Op(String worker, long id, String op, String lock, @Nullable Long token, long invoked, String outcome,
		@Nullable Long completed, @Nullable Long value, @Nullable String detail, String thread) {

	/** Who ran it: a caller of the library, one thread of one worker. */
	public String caller() {
		return this.worker + "/" + this.thread;
	}

	public boolean is(String op, String outcome) {
		return this.op.equals(op) && this.outcome.equals(outcome);
	}

	/** Joins invokes with outcomes, per worker; notes are left out. */
	public static List<Op> join(List<Event> events) {
		Map<String, Event> invokes = new HashMap<>();
		Map<String, Event> outcomes = new HashMap<>();
		List<String> order = new ArrayList<>();
		for (Event event : events) {
			if (event.type().equals("note")) {
				continue;
			}
			String key = event.worker() + "#" + event.id();
			if (event.type().equals("invoke")) {
				invokes.put(key, event);
				order.add(key);
			}
			else {
				outcomes.put(key, event);
			}
		}
		List<Op> ops = new ArrayList<>(order.size());
		for (String key : order) {
			Event invoke = invokes.get(key);
			Event outcome = outcomes.get(key);
			Long token = (invoke.token() != null) ? invoke.token() : (outcome != null ? outcome.token() : null);
			ops.add(new Op(invoke.worker(), invoke.id(), invoke.op(), invoke.lock(), token, invoke.wall(),
					(outcome != null) ? outcome.type() : "info", (outcome != null) ? outcome.wall() : null,
					(outcome != null) ? outcome.value() : null, (outcome != null) ? outcome.detail() : null,
					invoke.thread()));
		}
		return ops;
	}

}
