package io.leasehold.reliability.harness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import io.leasehold.reliability.check.Checker;
import io.leasehold.reliability.check.Leftovers;

/**
 * One scenario's figures as a Markdown section, appended to
 * {@code target/reliability-report.md} (the source of docs/reliability.md). One row per run.
 */
public final class ScenarioReport {

	public static final Path FILE = Path.of("target", "reliability-report.md");

	private static final String HEADER = """
			| run | faults | attempted | acquired | completed | rejected (stale) | lost | ambiguous | lease lost seen | overlaps | stale accepted | tokens reissued / out of order | takeover p50 / p99 / max (ms) | longest call (ms) | left behind |
			|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
			""";

	/** The first section written by this JVM starts a new report. */
	private static boolean started;

	private final String title;

	private final String description;

	private final String command;

	private final List<String> rows = new ArrayList<>();

	public ScenarioReport(String title, String description, String command) {
		this.title = title;
		this.description = description;
		this.command = command;
	}

	public ScenarioReport row(String run, String faults, Checker.Result r, Leftovers left) {
		this.rows.add("| " + run + " | " + faults + " | " + r.attempted() + " | " + r.acquired() + " | " + r.completed()
				+ " | " + r.rejected() + " | " + r.lostUpdates() + " | " + r.ambiguous() + " | " + r.leaseLostReported()
				+ " | " + r.overlaps() + " | " + r.staleWritesAccepted() + " | " + r.tokensReissued() + " / "
				+ r.tokenOrderViolations() + " | " + takeover(r) + " | " + ms(r.maxCall()) + " | "
				+ (left.none() ? "none" : left.leases() + " leases, " + (left.lockConnections() + left.storeConnections())
						+ " connections")
				+ " |");
		return this;
	}

	/** Appends the section; call once per scenario, after its runs. */
	public void write() throws IOException {
		Files.createDirectories(FILE.getParent());
		synchronized (ScenarioReport.class) {
			if (!started) {
				Files.writeString(FILE, "# Reliability suite: measured figures\n", StandardCharsets.UTF_8);
				started = true;
			}
		}
		String section = "\n## " + this.title + "\n\n" + this.description + "\n\nCommand: `" + this.command + "`\n\n"
				+ HEADER + String.join("\n", this.rows) + "\n";
		Files.writeString(FILE, section, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
	}

	private static String takeover(Checker.Result r) {
		if (r.takeovers().isEmpty()) {
			return "n/a";
		}
		return ms(r.takeoverPercentile(50)) + " / " + ms(r.takeoverPercentile(99)) + " / " + ms(r.takeoverMax())
				+ ((r.noTakeover() > 0) ? " (" + r.noTakeover() + " never)" : "");
	}

	private static String ms(long micros) {
		return String.format(java.util.Locale.ROOT, "%.1f", micros / 1000.0);
	}

}
