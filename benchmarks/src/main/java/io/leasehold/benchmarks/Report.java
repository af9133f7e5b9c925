package io.leasehold.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * The figures of one run, by adapter, each also as a ratio to the raw floor of the same run;
 * printed as a table and, with {@code --docs=DIR}, written to {@code DIR/benchmarks.md} with a
 * chart {@code DIR/benchmarks.png} (XChart).
 */
final class Report {

	/** A figure: its column title, unit, and whether more is better. */
	record Figure(String key, String title, String unit, boolean higherIsBetter, boolean charted) {

		String shortTitle() {
			return switch (this.key) {
				case "u.p50" -> "uncontended p50 (less)";
				case "d.rate" -> "distinct keys cycles/s (more)";
				case "h.rate" -> "hot key sections/s (more)";
				case "h.wait99" -> "hot key lock-wait p99 (less)";
				default -> this.title;
			};
		}

	}

	static final List<Figure> FIGURES = List.of(
			new Figure("u.p50", "uncontended cycle p50", "us", false, true),
			new Figure("u.p99", "uncontended cycle p99", "us", false, false),
			new Figure("u.acquire50", "uncontended acquire p50", "us", false, false),
			new Figure("u.rate", "uncontended cycles/s", "/s", true, false),
			new Figure("d.rate", "8 threads distinct keys cycles/s", "/s", true, true),
			new Figure("h.rate", "hot key sections/s", "/s", true, true),
			new Figure("h.handoff50", "hot key hand-off p50", "ms", false, false),
			new Figure("h.handoff99", "hot key hand-off p99", "ms", false, false),
			new Figure("h.wait99", "hot key lock-wait p99", "ms", false, true),
			new Figure("h.same", "hot key same holder", "%", false, false),
			new Figure("h.overlaps", "hot key overlaps", "", false, false),
			new Figure("i.client", "idle: statements/s/node (client, busiest)", "/s", false, false),
			new Figure("i.server", "idle: server xacts/s/node", "/s", false, false),
			new Figure("m.empty", "acquire p50, empty table", "us", false, false),
			new Figure("m.full", "acquire p50, 1M rows", "us", false, false),
			new Figure("m.ratio", "1M rows / empty (acquire p50)", "x", false, false));

	private final Map<String, Map<String, Double>> values = new LinkedHashMap<>();

	private double select1Micros = Double.NaN;

	private @Nullable String commitText;

	void put(String adapter, String key, double value) {
		this.values.computeIfAbsent(adapter, (a) -> new LinkedHashMap<>()).put(key, value);
	}

	void select1(Percentiles p) {
		this.select1Micros = p.p50() / 1e3;
	}

	/** The commit probe, with the ceiling it puts on durable locks when advisory locks ran. */
	void commit(CommitProbe.Result commit, HotLockScenario.@Nullable Result reference) {
		this.commitText = String.format(Locale.ROOT,
				"Commit of a one-row `UPDATE`, one per hold time from one thread on a node's share of connections in turn: p50 %.0f us with"
						+ " `synchronous_commit = on`, %.0f us with `off`%s.",
				commit.durable().p50() / 1e3, commit.notDurable().p50() / 1e3,
				(reference != null) ? "; so a lock that commits one durable grant per hand-off can reach at most about "
						+ commit.ceilingText(reference) + " of advisory locks' hot-key throughput" : "");
	}

	void uncontended(CycleScenarios.Uncontended u) {
		put(u.adapter(), "u.p50", u.cycle().p50() / 1e3);
		put(u.adapter(), "u.p99", u.cycle().p99() / 1e3);
		put(u.adapter(), "u.acquire50", u.acquire().p50() / 1e3);
		put(u.adapter(), "u.rate", u.perSecond());
	}

	void distinct(CycleScenarios.Distinct d) {
		put(d.adapter(), "d.rate", d.perSecond());
	}

	void hot(HotLockScenario.Result r) {
		put(r.adapter(), "h.rate", r.perSecond());
		put(r.adapter(), "h.handoff50", r.handoff().p50() / 1e6);
		put(r.adapter(), "h.handoff99", r.handoff().p99() / 1e6);
		put(r.adapter(), "h.wait99", r.lockWait().p99() / 1e6);
		put(r.adapter(), "h.same", r.sameHolderPercent());
		put(r.adapter(), "h.overlaps", r.overlaps());
	}

	void idle(IdleWaitersScenario.Result r) {
		put(r.adapter(), "i.client", r.worstNodeClientPerSecond());
		put(r.adapter(), "i.server", r.serverPerSecondPerNode());
	}

	void million(MillionRowsScenario.Result r) {
		put(r.adapter(), "m.empty", r.empty().acquire().p50() / 1e3);
		put(r.adapter(), "m.full", r.full().acquire().p50() / 1e3);
		put(r.adapter(), "m.ratio", r.ratio());
	}

	double get(String adapter, String key) {
		Map<String, Double> figures = this.values.get(adapter);
		Double value = (figures != null) ? figures.get(key) : null;
		return (value != null) ? value : Double.NaN;
	}

	/** The value over the floor's value of the same run. */
	double ratio(String adapter, String key) {
		double floor = get(Adapters.FLOOR, key);
		double value = get(adapter, key);
		return (floor != 0 && !Double.isNaN(floor)) ? value / floor : Double.NaN;
	}

	private List<Figure> presentFigures() {
		List<Figure> present = new ArrayList<>();
		for (Figure figure : FIGURES) {
			for (String adapter : this.values.keySet()) {
				if (!Double.isNaN(get(adapter, figure.key()))) {
					present.add(figure);
					break;
				}
			}
		}
		return present;
	}

	static String format(double value, String unit) {
		if (Double.isNaN(value)) {
			return "-";
		}
		if (unit.equals("x") || (Math.abs(value) < 10 && value != Math.rint(value))) {
			return String.format(Locale.ROOT, "%.2f", value);
		}
		return String.format(Locale.ROOT, "%,.0f", value);
	}

	/** Markdown table: one row per figure, one column per adapter, "value (ratio to floor)". */
	String table() {
		List<String> adapters = new ArrayList<>(this.values.keySet());
		StringBuilder out = new StringBuilder();
		out.append("| figure |");
		adapters.forEach((a) -> out.append(' ').append(a).append(" |"));
		out.append("\n|---|");
		adapters.forEach((a) -> out.append("---:|"));
		out.append('\n');
		for (Figure figure : presentFigures()) {
			out.append("| ").append(figure.title()).append(figure.unit().isEmpty() || figure.unit().equals("x") ? "" : " (" + figure.unit() + ")")
				.append(figure.higherIsBetter() ? " ↑" : " ↓").append(" |");
			for (String adapter : adapters) {
				double value = get(adapter, figure.key());
				double ratio = ratio(adapter, figure.key());
				out.append(' ').append(format(value, figure.unit()));
				if (!Double.isNaN(value) && !Double.isNaN(ratio) && !adapter.equals(Adapters.FLOOR)
						&& !figure.key().equals("h.overlaps")) {
					out.append(String.format(Locale.ROOT, " (%.2fx)", ratio));
				}
				out.append(" |");
			}
			out.append('\n');
		}
		return out.toString();
	}

	void print() {
		System.out.println();
		System.out.println("== Summary: each figure, and in brackets its ratio to the floor of this run ==");
		if (!Double.isNaN(this.select1Micros)) {
			System.out.printf(Locale.ROOT, "SELECT 1 round trip p50: %.0f us%n", this.select1Micros);
		}
		if (this.commitText != null) {
			System.out.println(this.commitText.replace("`", ""));
		}
		System.out.print(table());
	}

	/** Issue 6's targets for Leasehold, as lines "target | measured | PASS/MISS". */
	List<String[]> targets() {
		List<String[]> rows = new ArrayList<>();
		String lh = "leasehold";
		target(rows, "uncontended cycle p50 <= 1.2x floor", ratio(lh, "u.p50"), (r) -> r <= 1.2);
		target(rows, "annotated uncontended cycle p50 <= 1.3x floor", ratio("leasehold-annotated", "u.p50"), (r) -> r <= 1.3);
		for (String other : new String[] { "shedlock", "jdbc-registry" }) {
			for (String key : new String[] { "u.rate", "d.rate", "h.rate" }) {
				double mine = get(lh, key);
				double theirs = get(other, key);
				target(rows, "throughput (" + key + ") >= " + other, mine / theirs, (r) -> r >= 1);
			}
		}
		target(rows, "hot lock-wait p99 <= 1/10 of jdbc-registry", get(lh, "h.wait99") / get("jdbc-registry", "h.wait99"),
				(r) -> r <= 0.1);
		target(rows, "hot lock-wait p99 <= 3x advisory", get(lh, "h.wait99") / get("advisory", "h.wait99"), (r) -> r <= 3);
		target(rows, "hot hand-off p50 <= 2 ms", get(lh, "h.handoff50"), (r) -> r <= 2);
		target(rows, "idle <= 1 statement/s/node (client)", get(lh, "i.client"), (r) -> r <= 1);
		target(rows, "idle <= 1 statement/s/node (server)", get(lh, "i.server"), (r) -> r <= 1);
		target(rows, "acquire with 1M rows <= 1.5x empty", get(lh, "m.ratio"), (r) -> r <= 1.5);
		return rows;
	}

	private static void target(List<String[]> rows, String name, double measured,
			java.util.function.DoublePredicate met) {
		if (Double.isNaN(measured) || Double.isInfinite(measured)) {
			return;
		}
		rows.add(new String[] { name, String.format(Locale.ROOT, "%.2f", measured), met.test(measured) ? "PASS" : "MISS" });
	}

	void printTargets() {
		System.out.println();
		System.out.println("== Issue 6 targets (leasehold) ==");
		for (String[] row : targets()) {
			System.out.printf(Locale.ROOT, "  %-52s %10s  %s%n", row[0], row[1], row[2]);
		}
	}

	/** Marks the start of the hand-written part of {@code benchmarks.md}, which regeneration keeps. */
	static final String HAND_WRITTEN = "<!-- hand-written below: kept when the figures are regenerated -->";

	/** Writes {@code benchmarks.md} and {@code benchmarks.png} into the directory. */
	void write(Path directory, String header, String command) throws IOException {
		Files.createDirectories(directory);
		Path chart = directory.resolve("benchmarks.png");
		writeChart(chart);
		StringBuilder md = new StringBuilder();
		md.append("# Benchmarks: Leasehold and the alternatives\n\n");
		md.append("Generated by the `benchmarks` module (see `benchmarks/README.md`) in one run; every figure of an\n")
			.append("implementation is followed by its ratio to the raw floor measured in the same run, so compare\n")
			.append("ratios rather than absolute figures across machines. ↑ = more is better, ↓ = less is better.\n\n");
		md.append("## Command\n\n```sh\n").append(command).append("\n```\n\n");
		md.append("## Machine and settings\n\n```\n").append(header).append("```\n\n");
		md.append("## Figures\n\n");
		if (!Double.isNaN(this.select1Micros)) {
			md.append(String.format(Locale.ROOT, "`SELECT 1` round trip (pooled connection, one thread): p50 %.0f us.%n%n",
					this.select1Micros));
		}
		if (this.commitText != null) {
			md.append(this.commitText).append("\n\n");
		}
		md.append(table()).append('\n');
		md.append("![ratio to the raw floor](benchmarks.png)\n\n");
		md.append("## Issue 6 targets (Leasehold)\n\n| target | measured | |\n|---|---:|---|\n");
		for (String[] row : targets()) {
			md.append("| ").append(row[0]).append(" | ").append(row[1]).append(" | ").append(row[2]).append(" |\n");
		}
		md.append('\n').append(NOTES);
		Path file = directory.resolve("benchmarks.md");
		md.append(handWritten(file));
		Files.writeString(file, md.toString(), StandardCharsets.UTF_8);
		System.out.println("Wrote " + directory.resolve("benchmarks.md") + " and " + chart);
	}

	/**
	 * What follows {@link #HAND_WRITTEN} in the existing document: the analysis written after a
	 * run, kept when the figures are regenerated (and to be revised against them).
	 */
	private static String handWritten(Path file) throws IOException {
		if (!Files.exists(file)) {
			return "";
		}
		String existing = Files.readString(file, StandardCharsets.UTF_8);
		int marker = existing.indexOf(HAND_WRITTEN);
		return (marker < 0) ? "" : "\n" + existing.substring(marker);
	}

	private void writeChart(Path file) throws IOException {
		System.setProperty("java.awt.headless", "true");
		CategoryChart chart = new CategoryChartBuilder().width(1200).height(560)
			.title("Ratio to the raw floor of the same run (floor = 1)")
			.xAxisTitle("")
			.yAxisTitle("ratio to floor")
			.build();
		chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
		chart.getStyler().setSeriesColors(new java.awt.Color[] { new java.awt.Color(0x4c72b0), new java.awt.Color(0x8c8c8c),
				new java.awt.Color(0xc44e52), new java.awt.Color(0xdd8452), new java.awt.Color(0x55a868),
				new java.awt.Color(0x8172b3), new java.awt.Color(0x937860) });
		chart.getStyler().setYAxisLogarithmic(true);
		chart.getStyler().setYAxisDecimalPattern("0.##");
		List<String> categories = new ArrayList<>();
		List<Figure> charted = new ArrayList<>();
		for (Figure figure : presentFigures()) {
			if (figure.charted()) {
				charted.add(figure);
				categories.add(figure.shortTitle());
			}
		}
		for (String adapter : this.values.keySet()) {
			List<Double> ratios = new ArrayList<>();
			boolean any = false;
			for (Figure figure : charted) {
				double ratio = ratio(adapter, figure.key());
				boolean usable = !Double.isNaN(ratio) && !Double.isInfinite(ratio) && ratio > 0;
				ratios.add(usable ? ratio : 0.0001);
				any |= usable;
			}
			if (any && !charted.isEmpty()) {
				chart.addSeries(adapter, categories, ratios);
			}
		}
		if (charted.isEmpty() || chart.getSeriesMap().isEmpty()) {
			return;
		}
		chart.getStyler().setYAxisMin(0.01);
		BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
	}

	static final String NOTES = """
			## How to read it

			* **floor**: one single-statement acquire (lock an expired row `FOR UPDATE`, draw the token
			  with `nextval` under that row lock, or insert the missing row) and one single-statement
			  release, each its own transaction committed with `synchronous_commit = on`; it waits by
			  polling every 2 ms. It pays a WAL flush per acquire and per release. Leasehold's release
			  does not wait for its flush (the next grant's flush covers it; see the README), so its
			  cycle can come out below the floor's: compare the acquire rows for the grant alone.
			* **advisory**: `pg_advisory_lock` on a dedicated connection per contender; no WAL, no token.
			* **leasehold**: the programmatic `LockManager`, two Spring Boot nodes with the starter's
			  defaults (release notifications, hand-over to a waiter of the same node, lease renewal).
			* **shedlock**: ShedLock's `JdbcTemplateLockProvider` with `usingDbTime()`; no wait of its
			  own, so contenders poll every 2 ms.
			* **jdbc-registry**: Spring Integration's `JdbcLockRegistry` with `DefaultLockRepository`
			  (its own table from `schema-postgresql.sql`, time to live 60 s: the default 10 s expired
			  under the idle scenario's holder, as the registry does not renew); waits by polling every
			  100 ms (its default) once the node-local lock is its own.
			* **leasehold-annotated**: a bean method with `@DistributedLock` (try once) called through its
			  proxy; uncontended and distinct-key scenarios only.
			* Hot key: 8 contenders over 2 nodes, 1 ms hold. Idle: 32 waiters on a held lock, statements
			  per second per node. 1M rows: acquire latency of one thread, table empty vs 1,000,000
			  expired rows (Leasehold and floor only).
			""";

}
