package io.leasehold.lock.store;

import java.time.Duration;

/**
 * Bounds on one lease statement, from the inside out: the server runs it for at most
 * {@code statementTimeout}; if no answer has come {@code cancelAfterSeconds} later the client
 * asks the server to cancel it (which also ends a commit's wait for a synchronous standby, where
 * {@code statement_timeout} no longer applies); and if even that brings no answer (a frozen
 * server answers nothing) the client gives the connection up after {@code networkTimeout}.
 */
public record LeaseStatementTimeouts(Duration statementTimeout, int cancelAfterSeconds, Duration networkTimeout) {

	public static LeaseStatementTimeouts of(Duration statementTimeout) {
		int cancelAfterSeconds = (int) Math.min(Integer.MAX_VALUE - 1,
				(statementTimeout.toMillis() + 999) / 1000 + 1);
		return new LeaseStatementTimeouts(statementTimeout, cancelAfterSeconds,
				Duration.ofSeconds(cancelAfterSeconds + 1L));
	}

}
