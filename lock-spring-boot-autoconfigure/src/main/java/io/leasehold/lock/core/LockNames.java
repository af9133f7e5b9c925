package io.leasehold.lock.core;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * What makes a lock name usable: it is stored as the lease row's primary key and sent as the
 * payload of the release notification, so it must be text PostgreSQL keeps exactly and short
 * enough for its index and for {@code NOTIFY}.
 */
public final class LockNames {

	/** Bytes of UTF-8: well under a btree entry (about 2,700) and a notification payload (8,000). */
	public static final int MAX_BYTES = 1024;

	private LockNames() {
	}

	/**
	 * @throws IllegalArgumentException saying what is wrong with the name
	 */
	public static String check(String lockName) {
		Optional<String> problem = problem(lockName);
		if (problem.isPresent()) {
			throw new IllegalArgumentException("lockName " + quote(lockName) + " is unusable: " + problem.get());
		}
		return lockName;
	}

	/** What is wrong with the name, if anything. */
	public static Optional<String> problem(String lockName) {
		if (lockName == null || lockName.isBlank()) {
			return Optional.of("it must not be empty or blank");
		}
		for (int i = 0; i < lockName.length(); i++) {
			char c = lockName.charAt(i);
			if (c == '\0') {
				return Optional.of("it contains the character U+0000 (NUL) at index " + i
						+ ", which PostgreSQL text cannot hold");
			}
			if (Character.isHighSurrogate(c) && i + 1 < lockName.length()
					&& Character.isLowSurrogate(lockName.charAt(i + 1))) {
				i++;
			}
			else if (Character.isSurrogate(c)) {
				return Optional.of("it contains an unpaired surrogate U+" + Integer.toHexString(c).toUpperCase()
						+ " at index " + i + ", which is not Unicode text and would be stored as '?'");
			}
		}
		if (lockName.length() * 3 <= MAX_BYTES) {
			return Optional.empty(); // no char takes more than 3 bytes in UTF-8 (a pair takes 4)
		}
		int bytes = lockName.getBytes(StandardCharsets.UTF_8).length;
		if (bytes > MAX_BYTES) {
			return Optional.of("it is " + bytes + " bytes in UTF-8, and at most " + MAX_BYTES + " are allowed");
		}
		return Optional.empty();
	}

	private static String quote(String lockName) {
		if (lockName == null) {
			return "null";
		}
		String shown = (lockName.length() > 60) ? lockName.substring(0, 60) + "..." : lockName;
		return "'" + shown.replace("\0", "\\0") + "'";
	}

}
