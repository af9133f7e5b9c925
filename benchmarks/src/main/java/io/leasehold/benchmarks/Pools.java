package io.leasehold.benchmarks;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * HikariCP pools for the adapters that are not Spring Boot applications: the same pool size as
 * Leasehold's nodes, the same database.
 */
final class Pools {

	private Pools() {
	}

	static HikariDataSource pool(BenchDatabase database, String name, int size) {
		HikariConfig config = new HikariConfig();
		config.setJdbcUrl(database.jdbcUrl());
		config.setUsername(database.username());
		config.setPassword(database.password());
		config.setMaximumPoolSize(size);
		config.setPoolName(name);
		return new HikariDataSource(config);
	}

}
