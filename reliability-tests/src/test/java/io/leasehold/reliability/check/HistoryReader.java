package io.leasehold.reliability.check;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads history files. A line that does not parse can only be the last one, cut short when the
 * worker was killed while writing it; it is skipped. A read racing with the worker's appends can
 * also see a line that is not complete yet followed by complete ones: such a read is tried again.
 */
public final class HistoryReader {

	private static final JsonMapper JSON = JsonMapper.builder().build();

	/** How often a read that saw a line not yet complete is tried again, 10 ms apart. */
	private static final int ATTEMPTS = 20;

	private HistoryReader() {
	}

	public static List<Event> read(Path file) {
		for (int attempt = 1;; attempt++) {
			try {
				return readOnce(file);
			}
			catch (IllegalStateException ex) {
				if (attempt == ATTEMPTS) {
					throw ex;
				}
				pause();
			}
		}
	}

	private static void pause() {
		try {
			Thread.sleep(10);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException("Interrupted while reading a history", ex);
		}
	}

	private static List<Event> readOnce(Path file) {
		if (!Files.exists(file)) {
			return List.of();
		}
		List<String> lines;
		try {
			lines = Files.readAllLines(file);
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
		List<Event> events = new ArrayList<>(lines.size());
		for (int i = 0; i < lines.size(); i++) {
			String line = lines.get(i);
			if (line.isBlank()) {
				continue;
			}
			try {
				JsonNode node = JSON.readTree(line);
				events.add(new Event(node.get("type").asString(), node.get("op").asString(), node.get("id").asLong(),
						node.get("worker").asString(), node.get("pid").asLong(), node.get("lock").asString(),
						node.has("token") ? node.get("token").asLong() : null,
						node.has("value") ? node.get("value").asLong() : null,
						node.has("detail") ? node.get("detail").asString() : null, node.get("wall").asLong(),
						node.get("mono").asLong(), node.has("thread") ? node.get("thread").asString() : ""));
			}
			catch (JacksonException | NullPointerException ex) {
				if (i != lines.size() - 1) {
					throw new IllegalStateException(file + ": line " + (i + 1) + " is not an event: " + line, ex);
				}
			}
		}
		return events;
	}

}
