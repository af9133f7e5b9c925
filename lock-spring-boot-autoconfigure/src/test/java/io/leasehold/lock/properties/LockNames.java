package io.leasehold.lock.properties;

import java.util.List;
import java.util.Random;

import org.quicktheories.core.Gen;
import org.quicktheories.generators.Generate;

import static org.quicktheories.api.Pair.of;
import static org.quicktheories.generators.SourceDSL.lists;

/**
 * Generators of awkward lock names and keys: unicode from every plane, SQL metacharacters and
 * quotes, NUL and other control characters, every kind of whitespace, empty, and very long.
 */
final class LockNames {

	/** Fragments an SQL statement or a log line could mistake for syntax. */
	private static final List<String> SQL = List.of("'", "''", "\"", ";", "--", "/*", "*/", "%", "_", "\\", "$$",
			"$1", "?", ":", "::text", "' OR '1'='1", "'); DROP TABLE leasehold_lock; --", "E'\\x00'", "\\N",
			"${x}", "#{x}", "#root", "*", "%s", "\\u0000", "NULL", "null");

	private static final List<String> WHITESPACE = List.of(" ", "\t", "\n", "\r\n", "\u000B", "\f", "\u00A0",
			"\u2003", "\u3000", "\u2028", "\uFEFF", "\u200B", "\u180E");

	private static final String LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

	private static final String PLAIN = LETTERS + "0123456789-_.:/";

	private LockNames() {
	}

	/** One fragment of a name: a mix that reaches every class of character. */
	static Gen<String> fragment() {
		return Generate.frequency(List.of(of(3, textOf(Generate.pick(chars(PLAIN)), 12)),
				// Any UTF-16 unit at all, unpaired surrogates included.
				of(2, textOf(Generate.characters(Character.MIN_VALUE, Character.MAX_VALUE), 8)),
				of(2, Generate.pick(SQL)), of(2, Generate.pick(WHITESPACE)), of(2, supplementary()),
				of(1, Generate.pick(List.of("\u0000", "\u0001", "\u001B[31m", "\u007F", "\u0085"))),
				of(1, Generate.pick(List.of("e\u0301", "\u00E9", "I", "i", "\u0130", "\u0131", "\u00DF", "SS", "\uFB01",
						"fi", "\u212B", "\u00C5", "\u202E", "\u0627\u0644\u0639\u0631\u0628\u064A\u0629")))));
	}

	/** Characters outside the Basic Multilingual Plane (emoji, CJK extension B), as surrogate pairs. */
	static Gen<String> supplementary() {
		Gen<String> assigned = Generate.range(Character.MIN_SUPPLEMENTARY_CODE_POINT, Character.MAX_CODE_POINT)
			.map((codePoint) -> Character.toString(assignedFrom(codePoint)));
		return joined(assigned, 1, 3);
	}

	/** The first assigned code point from the given one on, wrapping round to the emoji. */
	private static int assignedFrom(int codePoint) {
		for (int candidate = codePoint; candidate <= Character.MAX_CODE_POINT; candidate++) {
			if (Character.getType(candidate) != Character.UNASSIGNED) {
				return candidate;
			}
		}
		return 0x1F600;
	}

	/** Names of 0 to about 60 characters made of {@link #fragment() fragments}. */
	static Gen<String> shortNames() {
		return joined(fragment(), 0, 6);
	}

	/**
	 * Names of one to forty thousand characters: repetitive ones (which PostgreSQL compresses) and
	 * random ones (which it cannot).
	 */
	static Gen<String> longNames() {
		Gen<Integer> lengths = Generate.range(1_000, 40_000, 1_000);
		Gen<String> units = joined(Generate.pick(chars(LETTERS)).map((c) -> String.valueOf(c)), 1, 4);
		Gen<String> repeated = units.zip(lengths,
				(unit, length) -> unit.repeat(length / unit.length() + 1).substring(0, length));
		Gen<String> random = lengths.map((length) -> randomText(length));
		return Generate.oneOf(repeated, random);
	}

	private static String randomText(int length) {
		StringBuilder text = new StringBuilder(length);
		Random random = new Random(length);
		while (text.length() < length) {
			text.append((char) ('!' + random.nextInt(0x3000)));
		}
		return text.toString();
	}

	/** Any name: mostly short awkward ones, some very long. */
	static Gen<String> names() {
		return Generate.frequency(of(9, shortNames()), of(1, longNames()));
	}

	private static Gen<String> textOf(Gen<Character> characters, int maxLength) {
		return joined(characters.map((c) -> String.valueOf(c)), 0, maxLength);
	}

	private static Gen<String> joined(Gen<String> parts, int min, int max) {
		return lists().of(parts).ofSizeBetween(min, max).map((list) -> String.join("", list));
	}

	private static List<Character> chars(String text) {
		return text.chars().mapToObj((c) -> (char) c).toList();
	}

}
