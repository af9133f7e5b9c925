package io.leasehold.reliability.harness;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.postgresql.ds.PGSimpleDataSource;

/**
 * Where a scenario's two databases are: {@code lockdb} holds the leases, {@code storedb} the
 * protected counter, on servers the suite started itself ({@link SuiteServers}).
 *
 * @param lockUrl JDBC URL of the lease database, as the workers' {@code spring.datasource.url}
 * @param storeUrl JDBC URL of the store database
 * @param user database user for both
 */
public record Databases(String lockUrl, String storeUrl, String user) {

	public DataSource lockDataSource() {
		return dataSource(this.lockUrl);
	}

	public DataSource storeDataSource() {
		return dataSource(this.storeUrl);
	}

	private DataSource dataSource(String url) {
		PGSimpleDataSource dataSource = new PGSimpleDataSource();
		dataSource.setUrl(url);
		dataSource.setUser(this.user);
		dataSource.setApplicationName("rel-controller");
		return dataSource;
	}

	/** Expires every lease left by an earlier run (the sequence stays, so tokens keep increasing). */
	public void resetLeases() {
		try (Connection connection = lockDataSource().getConnection(); Statement statement = connection.createStatement()) {
			statement.execute("DO $$ BEGIN IF to_regclass('leasehold_lock') IS NOT NULL THEN DELETE FROM leasehold_lock;"
					+ " END IF; END $$");
		}
		catch (SQLException ex) {
			throw new IllegalStateException("Cannot reset the lease table", ex);
		}
	}

}
