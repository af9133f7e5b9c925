package io.leasehold.lock.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import io.leasehold.lock.LockConfigurationException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.autoconfigure.LeaseholdLockProperties.LockProperties;
import io.leasehold.lock.core.LockSettings;
import io.leasehold.lock.core.LockSettingsResolver;

/**
 * Checks the configured durations once, at start-up, naming the property and the bad value, and
 * turns them into the settings resolver.
 */
final class LockSettingsFactory {

	/** Below PostgreSQL's limit for {@code statement_timeout}, with room for the client's margins. */
	private static final Duration LONGEST_STATEMENT = Duration.ofDays(24);

	private static final Duration SHORTEST_STATEMENT = Duration.ofMillis(100);

	private LockSettingsFactory() {
	}

	static LockSettingsResolver resolver(LeaseholdLockProperties properties) {
		LockSettings defaults = new LockSettings(leaseTime("leasehold.lock.lease-time", properties.getLeaseTime()),
				notNegative("leasehold.lock.wait-time", properties.getWaitTime()),
				notNegative("leasehold.lock.min-hold-time", properties.getMinHoldTime()), properties.isAutoRenew(),
				Purpose.CORRECTNESS);
		Map<String, LockOptions> perLock = new LinkedHashMap<>();
		properties.getLocks().forEach((name, lock) -> perLock.put(name, options(name, lock)));
		return new LockSettingsResolver(defaults, perLock);
	}

	static void checkTimings(LeaseholdLockProperties properties) {
		Duration statementTimeout = positive("leasehold.lock.statement-timeout", properties.getStatementTimeout());
		if (statementTimeout.compareTo(SHORTEST_STATEMENT) < 0) {
			throw invalid("leasehold.lock.statement-timeout", statementTimeout,
					"it must be at least " + SHORTEST_STATEMENT.toMillis() + " ms: a lease statement is a round trip and"
							+ " a commit");
		}
		if (statementTimeout.compareTo(LONGEST_STATEMENT) > 0) {
			throw invalid("leasehold.lock.statement-timeout", statementTimeout,
					"it must be at most " + LONGEST_STATEMENT.toDays() + " days (PostgreSQL's statement_timeout holds"
							+ " at most 2^31 - 1 milliseconds)");
		}
		notNegative("leasehold.lock.local-expiry-margin", properties.getLocalExpiryMargin());
		positive("leasehold.lock.polling.initial-interval", properties.getPolling().getInitialInterval());
		Duration maxInterval = positive("leasehold.lock.polling.max-interval", properties.getPolling().getMaxInterval());
		if (maxInterval.compareTo(properties.getPolling().getInitialInterval()) < 0) {
			throw invalid("leasehold.lock.polling.max-interval", maxInterval,
					"it must not be below leasehold.lock.polling.initial-interval");
		}
		positive("leasehold.lock.cleanup.interval", properties.getCleanup().getInterval());
		positive("leasehold.lock.notify.safety-poll-interval", properties.getNotify().getSafetyPollInterval());
		positive("leasehold.lock.notify.max-reconnect-backoff", properties.getNotify().getMaxReconnectBackoff());
		Duration retention = notNegative("leasehold.lock.cleanup.retention", properties.getCleanup().getRetention());
		Duration minimum = properties.getStatementTimeout().multipliedBy(10).plusMinutes(1);
		if (retention.compareTo(minimum) < 0) {
			throw invalid("leasehold.lock.cleanup.retention", retention, "it must be at least " + minimum
					+ " (a minute plus ten statement timeouts), so no acquisition that began before a row's last"
					+ " grant can still be running when the row is deleted");
		}
		double ratio = properties.getRenewalRatio();
		if (!(ratio > 0 && ratio <= 0.9)) {
			throw new LockConfigurationException("Invalid value " + ratio
					+ " for property 'leasehold.lock.renewal-ratio': it must be above 0 and at most 0.9");
		}
	}

	private static LockOptions options(String name, LockProperties lock) {
		String prefix = "leasehold.lock.locks." + name + ".";
		LockOptions options = LockOptions.defaults();
		if (lock.getLeaseTime() != null) {
			options = options.withLeaseTime(leaseTime(prefix + "lease-time", lock.getLeaseTime()));
		}
		if (lock.getWaitTime() != null) {
			options = options.withWaitTime(notNegative(prefix + "wait-time", lock.getWaitTime()));
		}
		if (lock.getMinHoldTime() != null) {
			options = options.withMinHoldTime(notNegative(prefix + "min-hold-time", lock.getMinHoldTime()));
		}
		if (lock.getAutoRenew() != null) {
			options = options.withAutoRenew(lock.getAutoRenew());
		}
		return options;
	}

	private static Duration positive(String property, @Nullable Duration value) {
		if (value == null || value.isNegative() || value.isZero()) {
			throw invalid(property, value, "it must be positive");
		}
		return notTooLong(property, value);
	}

	private static Duration leaseTime(String property, @Nullable Duration value) {
		if (positive(property, value).toNanos() < 1_000_000) {
			throw invalid(property, value, "it must be at least 1ms (leases are kept to the millisecond)");
		}
		return value;
	}

	private static Duration notNegative(String property, @Nullable Duration value) {
		if (value == null || value.isNegative()) {
			throw invalid(property, value, "it must not be negative");
		}
		return notTooLong(property, value);
	}

	private static Duration notTooLong(String property, Duration value) {
		if (value.compareTo(LockOptions.LONGEST) > 0) {
			throw invalid(property, value, "it must be at most " + LockOptions.LONGEST.toDays() + " days");
		}
		return value;
	}

	private static LockConfigurationException invalid(String property, @Nullable Duration value, String problem) {
		return new LockConfigurationException(
				"Invalid value '" + value + "' for property '" + property + "': " + problem);
	}

}
