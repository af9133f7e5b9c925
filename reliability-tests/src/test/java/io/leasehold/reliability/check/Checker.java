package io.leasehold.reliability.check;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Computes the invariants of issue 7 over the workers' histories, the injected faults and the
 * store's final state. It only measures; the scenario decides what it must show.
 */
public final class Checker {

	private Checker() {
	}

	/**
	 * @param callBound longest a library call (acquire, release) may take, outside the caller's own pauses
	 */
	public static Result check(List<Event> events, List<Fault> faults, StoreState store, Duration callBound) {
		List<Op> ops = Op.join(events);
		Map<String, Long> lastEvent = new HashMap<>();
		events.forEach((e) -> lastEvent.merge(e.worker(), e.wall(), Math::max));

		List<Op> acquires = ops.stream().filter((op) -> op.op().equals("acquire")).toList();
		List<Op> granted = acquires.stream().filter((op) -> op.outcome().equals("ok")).toList();
		List<Op> writes = ops.stream().filter((op) -> op.op().equals("write")).toList();
		List<Op> ackedWrites = writes.stream().filter((op) -> op.outcome().equals("ok")).toList();
		long ambiguousWrites = writes.stream().filter((op) -> op.outcome().equals("info")).count();
		long staleRejected = ops.stream()
			.filter((op) -> (op.op().equals("write") || op.op().equals("read")) && op.outcome().equals("fail"))
			.count();

		// I1: every accepted write is in the log, each added one to the value it read
		Map<String, List<StoreState.LogRow>> logByLock = store.log().stream()
			.collect(Collectors.groupingBy(StoreState.LogRow::lock, LinkedHashMap::new, Collectors.toList()));
		long lostUpdates = 0;
		long acceptedOutOfOrder = 0;
		for (Map.Entry<String, Long> counter : store.counters().entrySet()) {
			List<StoreState.LogRow> rows = logByLock.getOrDefault(counter.getKey(), List.of());
			lostUpdates += Math.max(0, rows.size() - counter.getValue());
			long max = Long.MIN_VALUE;
			for (StoreState.LogRow row : rows) {
				if (row.token() <= max) {
					acceptedOutOfOrder++;
				}
				max = Math.max(max, row.token());
			}
		}
		Set<String> logged = store.log().stream()
			.map((row) -> row.worker() + "/" + row.token() + "/" + row.value())
			.collect(Collectors.toSet());
		long ackedMissing = ackedWrites.stream()
			.filter((op) -> !logged.contains(op.worker() + "/" + op.token() + "/" + op.value()))
			.count();
		long finalTotal = store.counters().values().stream().mapToLong(Long::longValue).sum();

		// I2: tokens unique per lock, and increasing in real-time order
		long tokensReissued = 0;
		long tokenOrderViolations = 0;
		for (List<Op> perLock : byLock(granted).values()) {
			Set<Long> seen = new HashSet<>();
			for (Op op : perLock) {
				if (!seen.add(op.token())) {
					tokensReissued++;
				}
			}
			for (Op earlier : perLock) {
				for (Op later : perLock) {
					if (earlier.completed() < later.invoked() && earlier.token() >= later.token()) {
						tokenOrderViolations++;
					}
				}
			}
		}

		// I3: overlapping holds of one lock by different callers (workers, or threads of one worker)
		List<Hold> holds = holds(granted, ops, faults, lastEvent);
		long overlaps = 0;
		for (int i = 0; i < holds.size(); i++) {
			for (int j = i + 1; j < holds.size(); j++) {
				Hold a = holds.get(i);
				Hold b = holds.get(j);
				if (a.lock().equals(b.lock()) && !a.caller().equals(b.caller()) && a.start() < b.end()
						&& b.start() < a.end()) {
					overlaps++;
				}
			}
		}

		// I4: a write accepted although a newer holder had already read (registered) the counter
		List<Op> reads = ops.stream().filter((op) -> op.is("read", "ok")).toList();
		long staleWritesAccepted = ackedWrites.stream()
			.filter((write) -> reads.stream()
				.anyMatch((read) -> read.lock().equals(write.lock()) && !read.caller().equals(write.caller())
						&& read.token() > write.token() && read.completed() < write.invoked()))
			.count();

		// I5: from the fault on a holder to the next grant of its lock to another worker
		List<Long> takeovers = new ArrayList<>();
		long noTakeover = 0;
		for (Fault fault : faults) {
			if (fault.kind() == Fault.Kind.RESUME) {
				continue;
			}
			Optional<Hold> held = holds.stream()
				.filter((h) -> h.worker().equals(fault.worker()) && h.start() <= fault.wall() && h.end() >= fault.wall())
				.findFirst();
			if (held.isEmpty()) {
				continue;
			}
			Optional<Long> next = granted.stream()
				.filter((op) -> op.lock().equals(held.get().lock()) && !op.worker().equals(fault.worker())
						&& op.completed() > fault.wall())
				.map(Op::completed)
				.min(Comparator.naturalOrder());
			if (next.isPresent()) {
				takeovers.add(next.get() - fault.wall());
			}
			else {
				noTakeover++;
			}
		}

		// I7: library calls within their bound, except while their own JVM was paused
		List<Window> pauses = pauses(faults);
		long boundMicros = callBound.toNanos() / 1000;
		long maxCall = 0;
		long callsOverBound = 0;
		for (Op op : ops) {
			if (!(op.op().equals("acquire") || op.op().equals("release")) || op.completed() == null) {
				continue;
			}
			boolean paused = pauses.stream()
				.anyMatch((p) -> p.worker().equals(op.worker()) && p.from() < op.completed() && op.invoked() < p.to());
			if (paused) {
				continue;
			}
			long took = op.completed() - op.invoked();
			maxCall = Math.max(maxCall, took);
			if (took > boundMicros) {
				callsOverBound++;
			}
		}

		return new Result(acquires.size(), granted.size(), ackedWrites.size(), staleRejected, lostUpdates,
				ops.stream().filter((op) -> op.outcome().equals("info")).count(),
				ops.stream().filter((op) -> op.is("check", "fail")).count(), finalTotal, store.log().size(),
				ambiguousWrites, ackedMissing, acceptedOutOfOrder, tokensReissued, tokenOrderViolations, overlaps,
				staleWritesAccepted, takeovers, noTakeover, maxCall, callsOverBound);
	}

	private record Hold(String worker, String caller, String lock, long token, long start, long end) {
	}

	/** From the grant to the release's invoke; a holder that never released holds until it died or its history ends. */
	private static List<Hold> holds(List<Op> granted, List<Op> ops, List<Fault> faults, Map<String, Long> lastEvent) {
		Map<String, Long> releases = new HashMap<>();
		ops.stream()
			.filter((op) -> op.op().equals("release"))
			.forEach((op) -> releases.put(op.worker() + "/" + op.token(), op.invoked()));
		Map<String, Long> killed = new HashMap<>();
		faults.stream().filter((f) -> f.kind() == Fault.Kind.KILL).forEach((f) -> killed.put(f.worker(), f.wall()));
		List<Hold> holds = new ArrayList<>();
		for (Op grant : granted) {
			Long end = releases.get(grant.worker() + "/" + grant.token());
			if (end == null) {
				end = killed.getOrDefault(grant.worker(), lastEvent.get(grant.worker()));
			}
			holds.add(new Hold(grant.worker(), grant.caller(), grant.lock(), grant.token(), grant.completed(), end));
		}
		return holds;
	}

	private record Window(String worker, long from, long to) {
	}

	/** Every SIGSTOP ... SIGCONT window; one never resumed lasts to the end. */
	private static List<Window> pauses(List<Fault> faults) {
		List<Window> windows = new ArrayList<>();
		Map<String, Long> open = new HashMap<>();
		for (Fault fault : faults.stream().sorted(Comparator.comparingLong(Fault::wall)).toList()) {
			if (fault.kind() == Fault.Kind.PAUSE) {
				open.put(fault.worker(), fault.wall());
			}
			else if (fault.kind() == Fault.Kind.RESUME && open.containsKey(fault.worker())) {
				windows.add(new Window(fault.worker(), open.remove(fault.worker()), fault.wall()));
			}
		}
		open.forEach((worker, from) -> windows.add(new Window(worker, from, Long.MAX_VALUE)));
		return windows;
	}

	private static Map<String, List<Op>> byLock(Collection<Op> ops) {
		return ops.stream().collect(Collectors.groupingBy(Op::lock, LinkedHashMap::new, Collectors.toList()));
	}

	/**
	 * What one run showed. Times are in microseconds.
	 *
	 * @param attempted acquire calls
	 * @param acquired acquire calls that returned a lease
	 * @param completed writes the store acknowledged
	 * @param rejected reads or writes the store refused as stale
	 * @param lostUpdates accepted writes the counter does not reflect (I1)
	 * @param ambiguous operations whose outcome is unknown
	 * @param leaseLostReported holders that found their lease invalid before writing
	 * @param finalCounter sum of the counters at the end
	 * @param loggedWrites rows in the store's log of accepted writes
	 * @param ambiguousWrites writes with unknown outcome
	 * @param ackedMissing acknowledged writes missing from the store's log (I1)
	 * @param acceptedOutOfOrder accepted writes whose token was not above every earlier accepted one (I1)
	 * @param tokensReissued grants of a token already granted for the same lock (I2)
	 * @param tokenOrderViolations pairs of grants where the later one got a token not above the earlier (I2)
	 * @param overlaps pairs of holds of one lock by two workers that overlap in time (I3)
	 * @param staleWritesAccepted writes accepted after a newer holder had read the counter (I4)
	 * @param takeovers time from each fault on a holder to the next grant of its lock to another worker (I5)
	 * @param noTakeover faults on a holder after which no other worker got its lock (I5)
	 * @param maxCall longest acquire or release outside its own worker's pauses (I7)
	 * @param callsOverBound calls longer than the bound (I7)
	 */
	public record Result(long attempted, long acquired, long completed, long rejected, long lostUpdates,
			long ambiguous, long leaseLostReported, long finalCounter, long loggedWrites, long ambiguousWrites,
			long ackedMissing, long acceptedOutOfOrder, long tokensReissued, long tokenOrderViolations, long overlaps,
			long staleWritesAccepted, List<Long> takeovers, long noTakeover, long maxCall, long callsOverBound) {

		/** I1: the counter equals the acknowledged writes, up to writes whose outcome is unknown. */
		public boolean counterMatchesAcknowledged() {
			return this.finalCounter >= this.completed && this.finalCounter <= this.completed + this.ambiguousWrites;
		}

		public long takeoverPercentile(double percentile) {
			if (this.takeovers.isEmpty()) {
				return -1;
			}
			List<Long> sorted = this.takeovers.stream().sorted().toList();
			int index = (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1;
			return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
		}

		public long takeoverMax() {
			return this.takeovers.stream().mapToLong(Long::longValue).max().orElse(-1);
		}

	}

}
