package io.leasehold.lock.notify;

import java.lang.reflect.Field;
import java.sql.Connection;
import java.sql.SQLException;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.PGStream;
import org.postgresql.core.QueryExecutorBase;

/**
 * Makes pgjdbc hand over a notification as soon as it has read it. After each notification,
 * {@code getNotifications} asks the socket whether more messages are pending and waits up to
 * 1 ms for an answer ({@code PGStream.hasMessagePending}); on a hot lock that millisecond is most
 * of a hand-off. Telling the stream that its next check is never due makes it consider only what
 * it has already buffered; a message still on its way is read by the next, blocking, call. pgjdbc
 * offers no public switch for this, so the field is set by reflection; if that fails (another
 * pgjdbc version), the listener works as it is, a millisecond slower.
 */
final class NotificationLatency {

	private static final Log logger = LogFactory.getLog(NotificationLatency.class);

	private NotificationLatency() {
	}

	static void reduce(Connection connection) {
		try {
			BaseConnection pgConnection = connection.unwrap(BaseConnection.class);
			Field streamField = QueryExecutorBase.class.getDeclaredField("pgStream");
			streamField.setAccessible(true);
			PGStream stream = (PGStream) streamField.get(pgConnection.getQueryExecutor());
			Field nextCheck = PGStream.class.getDeclaredField("nextStreamAvailableCheckTime");
			nextCheck.setAccessible(true);
			nextCheck.setLong(stream, Long.MAX_VALUE);
		}
		catch (ReflectiveOperationException | RuntimeException | SQLException | LinkageError ex) {
			logger.debug("Cannot shorten pgjdbc's wait after each notification; hand-offs take about 1 ms longer", ex);
		}
	}

}
