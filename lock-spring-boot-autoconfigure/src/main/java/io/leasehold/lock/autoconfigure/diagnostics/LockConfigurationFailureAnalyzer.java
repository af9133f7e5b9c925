package io.leasehold.lock.autoconfigure.diagnostics;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import io.leasehold.lock.LockConfigurationException;

/**
 * Explains a start-up failure caused by Leasehold's configuration: a bad identifier or
 * duration, a bad {@code @DistributedLock} attribute or method, a missing table or sequence, or
 * missing privileges. The exception's message names what is wrong; the action says how to fix it.
 */
class LockConfigurationFailureAnalyzer extends AbstractFailureAnalyzer<LockConfigurationException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, LockConfigurationException cause) {
		return new FailureAnalysis("Leasehold could not start its distributed locks: " + cause.getMessage(),
				action(cause.getMessage()), cause);
	}

	private static String action(String message) {
		if (message.contains("does not exist")) {
			return "Create the lease table and sequence with the DDL shipped in the jar"
					+ " (io/leasehold/lock/store/schema-postgresql.sql, or the Flyway and Liquibase resources next to it),"
					+ " or let Leasehold create them with leasehold.lock.initialize-schema=always.";
		}
		if (message.contains("lacks privileges")) {
			return "Grant the database user the privileges named above, or run the application as a user that has them.";
		}
		if (message.contains("CACHE")) {
			return "Run the ALTER SEQUENCE statement named above, so fencing tokens are handed out in order.";
		}
		if (message.contains("@DistributedLock") || message.contains("@FencingToken")) {
			return "Correct the annotated method or attribute named above. Leasehold checks locked methods at"
					+ " start-up so that no method runs without the lock it asks for.";
		}
		return "Correct the property named above in your configuration (application.properties or"
				+ " application.yml, prefix leasehold.lock).";
	}

}
