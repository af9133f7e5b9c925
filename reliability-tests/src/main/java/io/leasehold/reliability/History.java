package io.leasehold.reliability;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * A worker's history: one JSON object per line, written straight to the file (no buffer) so a
 * killed worker leaves every event it wrote. Operations are an {@code invoke} followed by one of
 * {@code ok}, {@code fail} (known not to have taken effect) or {@code info} (outcome unknown); an
 * invoke without an outcome also counts as unknown. Notes ({@code note}) mark the worker's life
 * cycle: start, ready, done, stop.
 * <p>
 * Fields: {@code type, op, id} (operation id, unique per worker), {@code worker, pid, lock,
 * token, value, detail, wall} (microseconds since the epoch) and {@code mono}
 * ({@code System.nanoTime()} of this JVM).
 */
public final class History implements AutoCloseable {

	private static final JsonMapper JSON = JsonMapper.builder().build();

	private final OutputStream out;

	private final String worker;

	private final long pid = ProcessHandle.current().pid();

	private final AtomicLong ids = new AtomicLong();

	public History(Path file, String worker) {
		this.worker = worker;
		try {
			Path parent = file.toAbsolutePath().getParent();
			if (parent != null) {
				Files.createDirectories(parent);
			}
			this.out = new FileOutputStream(file.toFile(), true);
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot open history " + file, ex);
		}
	}

	/** Records the start of an operation and returns its id. */
	public long invoke(String op, String lock, @Nullable Long token) {
		long id = this.ids.incrementAndGet();
		write("invoke", op, id, lock, token, null, null);
		return id;
	}

	public void ok(long id, String op, String lock, @Nullable Long token, @Nullable Long value, @Nullable String detail) {
		write("ok", op, id, lock, token, value, detail);
	}

	public void fail(long id, String op, String lock, @Nullable Long token, String detail) {
		write("fail", op, id, lock, token, null, detail);
	}

	public void info(long id, String op, String lock, @Nullable Long token, String detail) {
		write("info", op, id, lock, token, null, detail);
	}

	public void note(String what, @Nullable String detail) {
		write("note", what, 0, "", null, null, detail);
	}

	private synchronized void write(String type, String op, long id, String lock, @Nullable Long token,
			@Nullable Long value, @Nullable String detail) {
		Map<String, Object> event = new LinkedHashMap<>();
		event.put("type", type);
		event.put("op", op);
		event.put("id", id);
		event.put("worker", this.worker);
		event.put("thread", Thread.currentThread().getName());
		event.put("pid", this.pid);
		event.put("lock", lock);
		if (token != null) {
			event.put("token", token);
		}
		if (value != null) {
			event.put("value", value);
		}
		if (detail != null) {
			event.put("detail", detail);
		}
		event.put("wall", ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now()));
		event.put("mono", System.nanoTime());
		try {
			this.out.write((JSON.writeValueAsString(event) + "\n").getBytes(StandardCharsets.UTF_8));
			this.out.flush();
		}
		catch (IOException ex) {
			throw new UncheckedIOException("Cannot write history", ex);
		}
	}

	@Override
	public synchronized void close() {
		try {
			this.out.close();
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

}
