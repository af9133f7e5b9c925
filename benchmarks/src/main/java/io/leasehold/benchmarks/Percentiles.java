package io.leasehold.benchmarks;

import java.util.Arrays;
import java.util.Locale;

/**
 * Order statistics of a sample of durations in nanoseconds (nearest-rank percentiles).
 */
record Percentiles(int count, long p50, long p90, long p99, long max, double mean) {

	static final Percentiles NONE = new Percentiles(0, 0, 0, 0, 0, 0);

	static Percentiles of(long[] nanos) {
		if (nanos.length == 0) {
			return NONE;
		}
		long[] sorted = nanos.clone();
		Arrays.sort(sorted);
		return new Percentiles(sorted.length, rank(sorted, 0.50), rank(sorted, 0.90), rank(sorted, 0.99),
				sorted[sorted.length - 1], Arrays.stream(sorted).average().orElse(0));
	}

	private static long rank(long[] sorted, double quantile) {
		int index = (int) Math.ceil(quantile * sorted.length) - 1;
		return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
	}

	static String ms(double nanos) {
		return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
	}

	@Override
	public String toString() {
		if (this.count == 0) {
			return "no samples";
		}
		return "p50 " + ms(this.p50) + ", p90 " + ms(this.p90) + ", p99 " + ms(this.p99) + ", max " + ms(this.max)
				+ ", mean " + ms(this.mean) + " (n=" + this.count + ")";
	}

}
