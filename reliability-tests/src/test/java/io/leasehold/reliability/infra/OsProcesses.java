package io.leasehold.reliability.infra;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Signals and process trees on Linux, read from {@code /proc} and sent with {@code kill}
 * (started directly, no shell).
 */
final class OsProcesses {

	private OsProcesses() {
	}

	/** Whether this JVM runs as root (initdb and postgres refuse to). */
	static boolean isRoot() {
		return "root".equals(System.getProperty("user.name"));
	}

	/** Every live descendant of {@code pid} (children, their children, ...), read from /proc. */
	static List<Long> descendants(long pid) {
		Map<Long, List<Long>> childrenByParent = new HashMap<>();
		try (DirectoryStream<Path> entries = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
			for (Path entry : entries) {
				long child = Long.parseLong(entry.getFileName().toString());
				long parent = parentOf(entry);
				if (parent > 0) {
					childrenByParent.computeIfAbsent(parent, p -> new ArrayList<>()).add(child);
				}
			}
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot list /proc", ex);
		}
		List<Long> result = new ArrayList<>();
		Deque<Long> todo = new ArrayDeque<>(List.of(pid));
		while (!todo.isEmpty()) {
			for (long child : childrenByParent.getOrDefault(todo.pop(), List.of())) {
				result.add(child);
				todo.push(child);
			}
		}
		return result;
	}

	/** The parent pid from /proc/PID/stat, or -1 when the process is gone. */
	private static long parentOf(Path procEntry) {
		try {
			String stat = Files.readString(procEntry.resolve("stat"), StandardCharsets.UTF_8);
			// "pid (comm) state ppid ...": comm may contain spaces and parentheses
			String[] afterComm = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
			return Long.parseLong(afterComm[1]);
		}
		catch (IOException | RuntimeException ex) {
			return -1;
		}
	}

	/** Whether the process is gone or a zombie (dead, holding nothing, not yet reaped). */
	static boolean isDead(long pid) {
		String state = state(pid);
		return state == null || state.equals("Z") || state.equals("X");
	}

	/** Whether the process is stopped by a signal (state T). */
	static boolean isStopped(long pid) {
		return "T".equals(state(pid));
	}

	/** The one-letter state from /proc/PID/stat, or null when the process is gone. */
	static String state(long pid) {
		try {
			String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
			return stat.substring(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
		}
		catch (IOException | RuntimeException ex) {
			return null;
		}
	}

	static void stop(Collection<Long> pids) {
		signal("STOP", pids);
	}

	static void cont(Collection<Long> pids) {
		signal("CONT", pids);
	}

	static void kill(Collection<Long> pids) {
		signal("KILL", pids);
	}

	/** Sends a signal; pids that are already gone are ignored. */
	static void signal(String signal, Collection<Long> pids) {
		if (pids.isEmpty()) {
			return;
		}
		List<String> command = new ArrayList<>(List.of("kill", "-" + signal));
		pids.forEach(pid -> command.add(Long.toString(pid)));
		// exit status 1 when some pid no longer exists: that is fine here
		run(command, 10, true);
	}

	/**
	 * Runs a command (no shell), output merged, and returns its output; fails on a non-zero
	 * exit unless told otherwise.
	 */
	static String run(List<String> command, int timeoutSeconds, boolean ignoreExitCode) {
		Path output = null;
		try {
			output = Files.createTempFile("leasehold-cmd", ".log");
			Process process = new ProcessBuilder(command).redirectErrorStream(true)
				.redirectOutput(output.toFile()).start();
			process.getOutputStream().close();
			if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
				process.destroyForcibly();
				throw new IllegalStateException("timed out after " + timeoutSeconds + " s: " + command + ":\n"
						+ Files.readString(output));
			}
			String text = Files.readString(output);
			if (process.exitValue() != 0 && !ignoreExitCode) {
				throw new IllegalStateException("exit " + process.exitValue() + " from " + command + ":\n" + text);
			}
			return text;
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot run " + command, ex);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("interrupted running " + command, ex);
		}
		finally {
			if (output != null) {
				try {
					Files.deleteIfExists(output);
				}
				catch (IOException ignored) {
					// a temp file left behind is harmless
				}
			}
		}
	}

}
