package io.leasehold.lock.store;

import javax.sql.DataSource;

import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;

/**
 * The DataSource lease statements get their connections from: never one that hands out the
 * caller's transactional connection, since a lease must commit on its own.
 */
public final class LeaseDataSource {

	private LeaseDataSource() {
	}

	public static DataSource unwrap(DataSource dataSource) {
		DataSource current = dataSource;
		while (current instanceof TransactionAwareDataSourceProxy proxy && proxy.getTargetDataSource() != null) {
			current = proxy.getTargetDataSource();
		}
		return current;
	}

}
