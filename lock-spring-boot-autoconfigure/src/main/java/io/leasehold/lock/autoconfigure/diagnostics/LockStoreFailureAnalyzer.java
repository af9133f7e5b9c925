package io.leasehold.lock.autoconfigure.diagnostics;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

import io.leasehold.lock.LockStoreException;

/**
 * Explains a start-up failure to reach, set up or check the lease database.
 */
class LockStoreFailureAnalyzer extends AbstractFailureAnalyzer<LockStoreException> {

	@Override
	protected FailureAnalysis analyze(Throwable rootFailure, LockStoreException cause) {
		return new FailureAnalysis("Leasehold could not use its lease database: " + cause.getMessage(),
				"Check that PostgreSQL is running and reachable with the settings of the DataSource Leasehold uses"
						+ " (spring.datasource.*, or the bean qualified with @LeaseholdDataSource), and that its user may"
						+ " create the lease table (or set leasehold.lock.initialize-schema=never and create it yourself).",
				cause);
	}

}
