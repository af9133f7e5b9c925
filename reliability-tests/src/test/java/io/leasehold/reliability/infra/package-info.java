/**
 * Fault-injection infrastructure for the controller: PostgreSQL instances the suite starts,
 * kills, freezes and fails over itself ({@link io.leasehold.reliability.infra.PostgresServer}),
 * and an in-JVM TCP proxy that cuts, blackholes or drops replies
 * ({@link io.leasehold.reliability.infra.FaultyProxy}).
 */
package io.leasehold.reliability.infra;
