package io.leasehold.reliability.harness;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.postgresql.ds.PGSimpleDataSource;

/**
 * Where a scenario's two databases are: {@code lockdb} holds the leases, {@code storedb} the
 * protected counter. {@link #local()} uses two databases on the machine's PostgreSQL
 * (127.0.0.1:5432); the suite's own servers plug in through the canonical constructor.
 *
 * @param lockUrl JDBC URL of the lease database, as the workers' {@code spring.datasource.url}
 * @param storeUrl JDBC URL of the store database
 * @param user database user for both
 */
public record Databases(String lockUrl, String storeUrl, String user) {

	public static final String LOCAL_SERVER = "jdbc:postgresql://127.0.0.1:5432/";

	/** {@code rel_lockdb} and {@code rel_storedb} on 127.0.0.1:5432, created when missing. */
	public static Databases local() {
		try (Connection admin = DriverManager.getConnection(LOCAL_SERVER + "postgres", "postgres", "");
				Statement statement = admin.createStatement()) {
			for (String name : new String[] { "rel_lockdb", "rel_storedb" }) {
				try (ResultSet rows = statement.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + name + "'")) {
					if (!rows.next()) {
						statement.execute("CREATE DATABASE " + name);
					}
				}
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException("PostgreSQL on 127.0.0.1:5432 is needed for the reliability scenarios", ex);
		}
		return new Databases(LOCAL_SERVER + "rel_lockdb", LOCAL_SERVER + "rel_storedb", "postgres");
	}

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
