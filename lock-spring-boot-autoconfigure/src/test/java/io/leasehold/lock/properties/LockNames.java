package io.leasehold.lock.properties;

import java.util.List;
import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Tuple;

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

	private LockNames() {
	}

	/** One fragment of a name: a mix that reaches every class of character. */
	static Arbitrary<String> fragment() {
		return Arbitraries.frequencyOf(Tuple.of(3, Arbitraries.strings().alpha().numeric().withChars("-_.:/").ofMaxLength(12)),
				Tuple.of(2, Arbitraries.strings().all().ofMaxLength(8)), Tuple.of(2, Arbitraries.of(SQL)),
				Tuple.of(2, Arbitraries.of(WHITESPACE)), Tuple.of(2, supplementary()),
				Tuple.of(1, Arbitraries.of("\u0000", "\u0001", "\u001B[31m", "\u007F", "\u0085")),
				Tuple.of(1, Arbitraries.of("e\u0301", "\u00E9", "I", "i", "\u0130", "\u0131", "\u00DF", "SS", "\uFB01", "fi",
						"\u212B", "\u00C5", "\u202E", "\u0627\u0644\u0639\u0631\u0628\u064A\u0629")));
	}

	/** Characters outside the Basic Multilingual Plane (emoji, CJK extension B), as surrogate pairs. */
	static Arbitrary<String> supplementary() {
		return Arbitraries.integers().between(Character.MIN_SUPPLEMENTARY_CODE_POINT, Character.MAX_CODE_POINT)
			.filter((codePoint) -> Character.getType(codePoint) != Character.UNASSIGNED)
			.map(Character::toString)
			.list()
			.ofMinSize(1)
			.ofMaxSize(3)
			.map((parts) -> String.join("", parts));
	}

	/** Names of 0 to about 60 characters made of {@link #fragment() fragments}. */
	static Arbitrary<String> shortNames() {
		return fragment().list().ofMaxSize(6).map((parts) -> String.join("", parts));
	}

	/**
	 * Names of one to forty thousand characters: repetitive ones (which PostgreSQL compresses) and
	 * random ones (which it cannot).
	 */
	static Arbitrary<String> longNames() {
		Arbitrary<Integer> lengths = Arbitraries.integers().between(1_000, 40_000).shrinkTowards(1_000);
		Arbitrary<String> repeated = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(4)
			.flatMap((unit) -> lengths.map((length) -> unit.repeat(length / unit.length() + 1).substring(0, length)));
		Arbitrary<String> random = lengths.map((length) -> randomText(length));
		return Arbitraries.oneOf(repeated, random);
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
	static Arbitrary<String> names() {
		return Arbitraries.frequencyOf(Tuple.of(9, shortNames()), Tuple.of(1, longNames()));
	}

}
