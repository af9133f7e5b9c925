package io.leasehold.lock.store;

import java.util.regex.Pattern;

import io.leasehold.lock.LockConfigurationException;

/**
 * A table or sequence name checked before it is written into SQL: one or two dot-separated
 * unquoted PostgreSQL identifiers, so nothing but a name can reach a statement.
 */
public final class SqlIdentifier {

	private static final Pattern PART = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

	private static final Pattern CHANNEL = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

	private SqlIdentifier() {
	}

	/**
	 * Returns the name if it is valid.
	 * @param property the configuration property the name came from, named in the error
	 * @throws LockConfigurationException when the name is not a plain, optionally schema-qualified
	 * identifier
	 */
	public static String validate(String property, String name) {
		String[] parts = name.split("\\.", -1);
		boolean valid = parts.length <= 2;
		for (String part : parts) {
			valid = valid && PART.matcher(part).matches();
		}
		if (!valid) {
			throw new LockConfigurationException("Invalid value '" + name + "' for property '" + property
					+ "': expected an unquoted identifier of at most 63 letters, digits, '_' or '$', not starting with"
					+ " a digit, optionally qualified by a schema ('schema.name')");
		}
		return name;
	}

	/**
	 * Returns the column name if it is one plain, unqualified identifier.
	 * @param what what the column is for, named in the error
	 * @throws LockConfigurationException when it is not
	 */
	public static String validateColumn(String what, String name) {
		if (!PART.matcher(name).matches()) {
			throw new LockConfigurationException("Invalid " + what + " '" + name + "': expected an unquoted"
					+ " identifier of at most 63 letters, digits, '_' or '$', not starting with a digit");
		}
		return name;
	}

	/**
	 * Returns the notification channel name if it is valid: lower case, since {@code LISTEN}
	 * folds an unquoted name to lower case while {@code pg_notify} does not.
	 * @throws LockConfigurationException when it is not a lower-case identifier
	 */
	public static String validateChannel(String property, String name) {
		if (!CHANNEL.matcher(name).matches()) {
			throw new LockConfigurationException("Invalid value '" + name + "' for property '" + property
					+ "': expected a lower-case identifier of at most 63 letters, digits or '_', not starting with a"
					+ " digit");
		}
		return name;
	}

}
