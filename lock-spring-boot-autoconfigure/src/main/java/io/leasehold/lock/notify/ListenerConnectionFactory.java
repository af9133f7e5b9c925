package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Opens the listener's dedicated connection, which should not come from (and then hold a slot
 * of) the application's connection pool.
 */
@FunctionalInterface
public interface ListenerConnectionFactory {

	Connection connect() throws SQLException;

}
