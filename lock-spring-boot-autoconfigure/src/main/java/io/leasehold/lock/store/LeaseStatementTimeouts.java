package io.leasehold.lock.store;

import java.time.Duration;

/**
 * Bounds on one lease statement: how long the server may run it and wait for a row lock, and how
 * long the client waits for an answer before it gives the connection up (a frozen server answers
 * nothing, not even a cancel).
 */
public record LeaseStatementTimeouts(Duration statementTimeout, Duration networkTimeout) {

	public static LeaseStatementTimeouts of(Duration statementTimeout) {
		return new LeaseStatementTimeouts(statementTimeout, statementTimeout.plusSeconds(1));
	}

}
