package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import org.springframework.context.SmartLifecycle;

/**
 * The node's one dedicated connection that {@code LISTEN}s for lease releases, outside the
 * connection pool, on a daemon thread of its own. Each notification names the released lock and
 * is passed to the {@link ReleaseEvents}. When the connection drops, the listener reconnects
 * with jittered exponential backoff; waiters fall back to polling meanwhile. A cheap query
 * every {@code livenessInterval} finds a connection that died silently.
 */
public class PostgresReleaseListener implements SmartLifecycle {

	private static final Log logger = LogFactory.getLog(PostgresReleaseListener.class);

	private static final int RECEIVE_TIMEOUT_MILLIS = 250;

	private static final long MIN_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

	private final ListenerConnectionFactory connections;

	private final String channel;

	private final ReleaseEvents events;

	private final Duration maxBackoff;

	private final Duration livenessInterval;

	private volatile State state = State.STOPPED;

	private volatile @Nullable Thread thread;

	private volatile @Nullable String lastFailure;

	/**
	 * @param channel a validated identifier: the channel releases are notified on
	 */
	public PostgresReleaseListener(ListenerConnectionFactory connections, String channel, ReleaseEvents events,
			Duration maxBackoff, Duration livenessInterval) {
		this.connections = connections;
		this.channel = channel;
		this.events = events;
		this.maxBackoff = maxBackoff;
		this.livenessInterval = livenessInterval;
	}

	@Override
	public void start() {
		this.state = State.CONNECTING;
		Thread listener = new Thread(this::run, "leasehold-release-listener");
		listener.setDaemon(true);
		this.thread = listener;
		listener.start();
	}

	@Override
	public void stop() {
		Thread listener = this.thread;
		this.thread = null;
		this.state = State.STOPPED;
		if (listener != null) {
			listener.interrupt();
			try {
				listener.join(TimeUnit.SECONDS.toMillis(2));
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	@Override
	public boolean isRunning() {
		return this.thread != null;
	}

	/** Whether the listener is connected and subscribed now. */
	public boolean isListening() {
		return this.state == State.LISTENING;
	}

	public State state() {
		return this.state;
	}

	/** Why the connection last failed, if it ever did. */
	public @Nullable String lastFailure() {
		return this.lastFailure;
	}

	private void run() {
		long backoff = MIN_BACKOFF_NANOS;
		while (this.thread == Thread.currentThread()) {
			try (Connection connection = this.connections.connect()) {
				subscribe(connection);
				backoff = MIN_BACKOFF_NANOS;
				receive(connection);
			}
			catch (SQLException | RuntimeException ex) {
				if (this.thread != Thread.currentThread()) {
					return;
				}
				disconnected(ex);
			}
			try {
				TimeUnit.NANOSECONDS.sleep(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
			}
			catch (InterruptedException ex) {
				return;
			}
			backoff = Math.min(backoff * 2, this.maxBackoff.toNanos());
		}
	}

	private void subscribe(Connection connection) throws SQLException {
		NotificationLatency.reduce(connection);
		connection.setAutoCommit(true);
		try (Statement statement = connection.createStatement()) {
			statement.execute("LISTEN " + this.channel);
		}
		if (this.state != State.LISTENING) {
			logger.info("Listening for lease releases on channel '" + this.channel + "'"
					+ ((this.lastFailure != null) ? " again" : ""));
		}
		this.state = State.LISTENING;
		this.events.listening();
	}

	private void receive(Connection connection) throws SQLException {
		PGConnection notifications = connection.unwrap(PGConnection.class);
		long nextLivenessCheck = System.nanoTime() + this.livenessInterval.toNanos();
		while (this.thread == Thread.currentThread()) {
			PGNotification[] received = notifications.getNotifications(RECEIVE_TIMEOUT_MILLIS);
			if (received != null) {
				for (PGNotification notification : received) {
					this.events.released(notification.getParameter());
				}
			}
			if (System.nanoTime() - nextLivenessCheck >= 0) {
				try (Statement statement = connection.createStatement()) {
					statement.execute("SELECT 1");
				}
				nextLivenessCheck = System.nanoTime() + this.livenessInterval.toNanos();
			}
		}
	}

	private void disconnected(Exception ex) {
		boolean wasListening = this.state == State.LISTENING;
		this.state = State.RECONNECTING;
		this.lastFailure = ex.toString();
		this.events.disconnected();
		if (wasListening) {
			logger.warn("Lost the connection listening for lease releases on channel '" + this.channel
					+ "'; waiters poll until it is back", ex);
		}
		else {
			logger.debug("Could not listen for lease releases on channel '" + this.channel + "'", ex);
		}
	}

	/**
	 * Where the listener stands.
	 */
	public enum State {

		/** Not started, or stopped. */
		STOPPED,

		/** Started and connecting for the first time. */
		CONNECTING,

		/** Connected and subscribed: releases are delivered. */
		LISTENING,

		/** The connection failed; retrying with backoff while waiters poll. */
		RECONNECTING

	}

}
