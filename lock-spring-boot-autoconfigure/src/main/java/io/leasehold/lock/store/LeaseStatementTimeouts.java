package io.leasehold.lock.store;

import java.time.Duration;

/**
 * Bounds on one lease statement, from the inside out: the server runs it for at most
 * {@code statementTimeout}; if no answer has come by {@code cancelAfter} the client asks the
 * server to cancel it (which also ends a commit's wait for a synchronous standby, where
 * {@code statement_timeout} no longer applies); and if even that brings no answer (a frozen
 * server answers nothing) the client gives the connection up after {@code networkTimeout}.
 */
public record LeaseStatementTimeouts(Duration statementTimeout, Duration cancelAfter, Duration networkTimeout) {

	private static final Duration MARGIN = Duration.ofSeconds(1);

	public static LeaseStatementTimeouts of(Duration statementTimeout) {
		Duration cancelAfter = statementTimeout.plus(MARGIN);
		return new LeaseStatementTimeouts(statementTimeout, cancelAfter, cancelAfter.plus(MARGIN));
	}

}
