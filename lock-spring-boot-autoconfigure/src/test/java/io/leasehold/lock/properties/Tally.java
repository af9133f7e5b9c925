package io.leasehold.lock.properties;

import java.util.Map;
import java.util.TreeMap;

import org.quicktheories.QuickTheory;

/**
 * How often each outcome came up in a property, printed when the class is done, so that a run
 * shows which kinds of input were accepted and which refused; and the bounded settings every
 * property here runs with.
 */
final class Tally {

	/** Shrink cycles of a falsified property: each cycle runs the property against the database. */
	private static final int SHRINK_CYCLES = 10;

	private final String title;

	private final Map<String, Integer> counts = new TreeMap<>();

	Tally(String title) {
		this.title = title;
	}

	/**
	 * QuickTheories with a bounded number of examples and shrink cycles. The seed is random; a
	 * falsified property prints it, and {@code -DQT_SEED=<seed>} replays it.
	 */
	static QuickTheory qt(int examples) {
		return QuickTheory.qt().withExamples(examples).withShrinkCycles(SHRINK_CYCLES);
	}

	synchronized void collect(String outcome) {
		this.counts.merge(outcome, 1, Integer::sum);
	}

	synchronized void print() {
		StringBuilder report = new StringBuilder(this.title).append(':');
		this.counts.forEach((outcome, count) -> report.append("\n  ").append(count).append("  ").append(outcome));
		System.out.println(report);
		this.counts.clear();
	}

}
