package io.leasehold.lock.autoconfigure;

import javax.sql.DataSource;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

import org.springframework.boot.jdbc.DataSourceBuilder;
import org.springframework.jdbc.datasource.SimpleDriverDataSource;

import io.leasehold.lock.notify.ListenerConnectionFactory;

/**
 * Opens the release listener's connection with the same URL and credentials as the lease
 * DataSource, but outside its pool, so the listener never takes a slot the application needs.
 */
final class ListenerConnections {

	private static final Log logger = LogFactory.getLog(ListenerConnections.class);

	private ListenerConnections() {
	}

	static ListenerConnectionFactory outsidePool(DataSource dataSource) {
		try {
			DataSource direct = DataSourceBuilder.derivedFrom(dataSource).type(SimpleDriverDataSource.class).build();
			return direct::getConnection;
		}
		catch (RuntimeException ex) {
			logger.info("Cannot derive a connection outside the pool from " + dataSource.getClass().getName()
					+ " (" + ex.getMessage() + "); the release listener keeps one pooled connection");
			return dataSource::getConnection;
		}
	}

}
