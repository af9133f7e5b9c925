package io.leasehold.benchmarks;

import java.lang.reflect.Field;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

import org.postgresql.core.BaseConnection;
import org.postgresql.core.PGStream;
import org.postgresql.core.QueryExecutorBase;

import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

import io.leasehold.lock.notify.NotifiedWaitStrategy;
import io.leasehold.lock.notify.PostgresReleaseListener;
import io.leasehold.lock.store.Acquisition;
import io.leasehold.lock.store.LeaseStore;

/**
 * What-if experiments on the {@code leasehold-exp} adapter ({@code --experiments=...}), to
 * measure what a change to the library would gain before anyone makes it. None of them is meant
 * for production; the stock {@code leasehold} adapter never uses them.
 * <ul>
 * <li>{@code fast-notify}: the release listener's connection is patched (by reflection into
 * pgjdbc 42.7 internals) so that {@code getNotifications(timeout)} returns as soon as a
 * notification has been read, instead of first waiting up to 1 ms on the socket for more
 * messages ({@code PGStream.hasMessagePending()}).</li>
 * <li>{@code no-zero-hint}: a busy answer that says the holder's lease has 0 ms left is passed on
 * without that hint. Such an answer comes from the acquire statement's snapshot taken before it
 * waited for the row lock: the lease it describes has already been replaced by a new grant, and
 * the hint makes the waiter retry at once, in vain.</li>
 * </ul>
 */
final class Experiments {

	static final String FAST_NOTIFY = "fast-notify";

	static final String NO_ZERO_HINT = "no-zero-hint";

	private Experiments() {
	}

	/** Makes pgjdbc's {@code hasMessagePending()} answer from its buffer only, never waiting 1 ms. */
	static Connection withoutPendingMessagePeek(Connection connection) throws SQLException {
		try {
			QueryExecutorBase executor = (QueryExecutorBase) connection.unwrap(BaseConnection.class).getQueryExecutor();
			Field streamField = QueryExecutorBase.class.getDeclaredField("pgStream");
			streamField.setAccessible(true);
			PGStream stream = (PGStream) streamField.get(executor);
			Field nextCheck = PGStream.class.getDeclaredField("nextStreamAvailableCheckTime");
			nextCheck.setAccessible(true);
			nextCheck.setLong(stream, Long.MAX_VALUE);
			return connection;
		}
		catch (ReflectiveOperationException | ClassCastException ex) {
			connection.close();
			throw new IllegalStateException("The fast-notify experiment does not fit this pgjdbc version", ex);
		}
	}

	/**
	 * The {@code fast-notify} listener: the library's own listener class on a patched connection.
	 */
	@Configuration(proxyBeanMethods = false)
	@ConditionalOnBooleanProperty("benchmark.experiment.fast-notify")
	static class FastNotifyConfiguration {

		@Bean
		PostgresReleaseListener experimentalReleaseListener(NotifiedWaitStrategy waitStrategy, Environment environment) {
			String url = environment.getRequiredProperty("spring.datasource.url");
			String username = environment.getProperty("spring.datasource.username", "");
			String password = environment.getProperty("spring.datasource.password", "");
			String channel = environment.getProperty("leasehold.lock.notify.channel", "leasehold_lock_released");
			return new PostgresReleaseListener(
					() -> withoutPendingMessagePeek(DriverManager.getConnection(url, username, password)), channel,
					waitStrategy, Duration.ofSeconds(5), Duration.ofSeconds(15));
		}

	}

	/**
	 * The {@code no-zero-hint} store: drops a "0 ms left" hint from busy answers.
	 */
	static final class NoZeroHintLeaseStore extends DelegatingLeaseStore {

		NoZeroHintLeaseStore(LeaseStore delegate) {
			super(delegate);
		}

		@Override
		public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration) {
			Acquisition acquisition = this.delegate.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, waiterRegistration);
			if (acquisition.granted() == null && acquisition.heldFor() != null && acquisition.heldFor().isZero()) {
				return Acquisition.busy(null);
			}
			return acquisition;
		}
	}

}
