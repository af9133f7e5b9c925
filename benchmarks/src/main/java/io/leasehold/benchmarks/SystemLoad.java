package io.leasehold.benchmarks;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The machine's load average, printed next to figures measured on a shared machine.
 */
final class SystemLoad {

	private SystemLoad() {
	}

	/** The 1, 5 and 15 minute load averages, e.g. {@code 2.31 1.90 1.75}. */
	static String loadAverage() {
		try {
			String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
			return fields[0] + " " + fields[1] + " " + fields[2];
		}
		catch (IOException | RuntimeException ex) {
			return String.format(Locale.ROOT, "%.2f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
		}
	}

	static int cores() {
		return Runtime.getRuntime().availableProcessors();
	}

}
