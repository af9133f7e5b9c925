package io.leasehold.benchmarks;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * Counts the statements one node sends (one per {@code execute*} call, that is one round trip),
 * in total and by kind, and the time spent in them; the kind is derived from the SQL text by the
 * adapter's classifier.
 */
public final class StatementCounter {

	private final LongAdder total = new LongAdder();

	private final Map<String, Kind> byKind = new ConcurrentHashMap<>();

	private final Map<String, String> kindOfSql = new ConcurrentHashMap<>();

	private final Function<String, String> classifier;

	public StatementCounter(Function<String, String> classifier) {
		this.classifier = classifier;
	}

	void count(String sql, long nanos) {
		this.total.increment();
		String kind = this.kindOfSql.computeIfAbsent(sql, this.classifier);
		Kind counts = this.byKind.computeIfAbsent(kind, (k) -> new Kind());
		counts.count.increment();
		counts.nanos.add(nanos);
	}

	public Snapshot snapshot() {
		Map<String, Long> kinds = new TreeMap<>();
		Map<String, Long> nanos = new TreeMap<>();
		this.byKind.forEach((kind, counts) -> {
			kinds.put(kind, counts.count.sum());
			nanos.put(kind, counts.nanos.sum());
		});
		return new Snapshot(this.total.sum(), kinds, nanos);
	}

	private static final class Kind {

		final LongAdder count = new LongAdder();

		final LongAdder nanos = new LongAdder();

	}

	/**
	 * Counts at one moment, and the total time spent in each kind of statement.
	 */
	public record Snapshot(long total, Map<String, Long> byKind, Map<String, Long> nanosByKind) {

		public Snapshot minus(Snapshot earlier) {
			Map<String, Long> kinds = new TreeMap<>();
			Map<String, Long> nanos = new TreeMap<>();
			this.byKind.forEach((kind, count) -> {
				long delta = count - earlier.byKind.getOrDefault(kind, 0L);
				if (delta != 0) {
					kinds.put(kind, delta);
					nanos.put(kind, this.nanosByKind.getOrDefault(kind, 0L) - earlier.nanosByKind.getOrDefault(kind, 0L));
				}
			});
			return new Snapshot(this.total - earlier.total, kinds, nanos);
		}

		public Snapshot plus(Snapshot other) {
			Map<String, Long> kinds = new TreeMap<>(this.byKind);
			other.byKind.forEach((kind, count) -> kinds.merge(kind, count, Long::sum));
			Map<String, Long> nanos = new TreeMap<>(this.nanosByKind);
			other.nanosByKind.forEach((kind, sum) -> nanos.merge(kind, sum, Long::sum));
			return new Snapshot(this.total + other.total, kinds, nanos);
		}

		/** The mean time of one statement of the kind, in nanoseconds. */
		public double meanNanos(String kind) {
			long count = this.byKind.getOrDefault(kind, 0L);
			return (count > 0) ? (double) this.nanosByKind.getOrDefault(kind, 0L) / count : 0;
		}

		static Snapshot empty() {
			return new Snapshot(0, Map.of(), Map.of());
		}

	}

}
