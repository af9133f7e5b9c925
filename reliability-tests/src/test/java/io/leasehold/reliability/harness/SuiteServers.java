package io.leasehold.reliability.harness;

import io.leasehold.reliability.infra.PostgresServer;

/**
 * The two PostgreSQL servers the suite starts itself and the scenarios without database faults
 * share: {@code lockdb} holds the leases, {@code storedb} the protected counter, so a fault in
 * one cannot hide a regression in the other. Started on first use, stopped when the test JVM
 * exits. Scenarios that crash, freeze or fail over a server start their own.
 */
public final class SuiteServers {

	private static PostgresServer lockdb;

	private static PostgresServer storedb;

	private SuiteServers() {
	}

	/**
	 * The shared servers' databases; skips the calling test, with the reason printed, when this
	 * machine cannot run PostgreSQL servers of the suite's own.
	 */
	public static synchronized Databases shared() {
		PostgresServer.assumeAvailable();
		if (lockdb == null) {
			lockdb = PostgresServer.builder("lockdb").start();
			storedb = PostgresServer.builder("storedb").start();
			Runtime.getRuntime().addShutdownHook(new Thread(() -> {
				lockdb.close();
				storedb.close();
			}, "suite-servers-stop"));
		}
		return of(lockdb, storedb);
	}

	/** The shared store server, for scenarios that start a lease server of their own. */
	public static synchronized PostgresServer storedb() {
		shared();
		return storedb;
	}

	/** The databases of servers a scenario started itself. */
	public static Databases of(PostgresServer lockServer, PostgresServer storeServer) {
		return new Databases(lockServer.jdbcUrl("postgres"), storeServer.jdbcUrl("postgres"), PostgresServer.USER);
	}

}
