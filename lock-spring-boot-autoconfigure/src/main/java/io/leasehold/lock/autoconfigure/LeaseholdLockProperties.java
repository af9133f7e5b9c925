package io.leasehold.lock.autoconfigure;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.core.Ordered;

import io.leasehold.lock.store.SqlIdentifier;

/**
 * Configuration properties for Leasehold distributed locks.
 */
@ConfigurationProperties("leasehold.lock")
public class LeaseholdLockProperties implements InitializingBean {

	/**
	 * Whether to enable Leasehold distributed locks.
	 */
	private boolean enabled = true;

	/**
	 * How long a lease lasts without renewal.
	 */
	private Duration leaseTime = Duration.ofSeconds(30);

	/**
	 * How long a caller waits for a busy lock; 0 tries once.
	 */
	private Duration waitTime = Duration.ofSeconds(0);

	/**
	 * Minimum time a lease is held from its acquisition, even when released earlier.
	 */
	private Duration minHoldTime = Duration.ofSeconds(0);

	/**
	 * Whether to renew leases in the background while their holder runs.
	 */
	private boolean autoRenew = true;

	/**
	 * Lease table, optionally schema-qualified.
	 */
	private String tableName = "leasehold_lock";

	/**
	 * Sequence the fencing tokens are drawn from, optionally schema-qualified.
	 */
	private String sequenceName = "leasehold_fencing_token_seq";

	/**
	 * Whether to create the lease table and sequence at start-up when they do not exist.
	 */
	private InitializeSchema initializeSchema = InitializeSchema.ALWAYS;

	/**
	 * Identity of this node in the lease table; defaults to host:pid:random.
	 */
	private @Nullable String ownerId;

	/**
	 * Longest a lease statement may run or wait for a row lock on the server.
	 */
	private Duration statementTimeout = Duration.ofSeconds(5);

	/**
	 * Fraction of the lease time between two renewals of a held lease.
	 */
	private double renewalRatio = 0.33;

	/**
	 * Safety margin by which a lease ends earlier on its holder's clock than in the database.
	 */
	private Duration localExpiryMargin = Duration.ofMillis(100);

	/**
	 * Order of the @DistributedLock advisor; it must be below the transaction advisor's order.
	 */
	private int aspectOrder = Ordered.LOWEST_PRECEDENCE - 100;

	private final Notify notify = new Notify();

	private final Polling polling = new Polling();

	private final Cleanup cleanup = new Cleanup();

	/**
	 * Per-lock settings by lock name (the annotation's name, without the key): lease-time,
	 * wait-time, min-hold-time and auto-renew, each falling back to the global setting.
	 */
	private final Map<String, LockProperties> locks = new LinkedHashMap<>();

	/**
	 * Checks every setting once, when bound, whichever beans the application replaces.
	 * @throws io.leasehold.lock.LockConfigurationException naming the property and its bad value
	 */
	@Override
	public void afterPropertiesSet() {
		SqlIdentifier.validate("leasehold.lock.table-name", this.tableName);
		SqlIdentifier.validate("leasehold.lock.sequence-name", this.sequenceName);
		SqlIdentifier.validateChannel("leasehold.lock.notify.channel", this.notify.channel);
		LockSettingsFactory.checkTimings(this);
		LockSettingsFactory.resolver(this);
	}

	public boolean isEnabled() {
		return this.enabled;
	}

	public void setEnabled(boolean enabled) {
		this.enabled = enabled;
	}

	public Duration getLeaseTime() {
		return this.leaseTime;
	}

	public void setLeaseTime(Duration leaseTime) {
		this.leaseTime = leaseTime;
	}

	public Duration getWaitTime() {
		return this.waitTime;
	}

	public void setWaitTime(Duration waitTime) {
		this.waitTime = waitTime;
	}

	public Duration getMinHoldTime() {
		return this.minHoldTime;
	}

	public void setMinHoldTime(Duration minHoldTime) {
		this.minHoldTime = minHoldTime;
	}

	public boolean isAutoRenew() {
		return this.autoRenew;
	}

	public void setAutoRenew(boolean autoRenew) {
		this.autoRenew = autoRenew;
	}

	public String getTableName() {
		return this.tableName;
	}

	public void setTableName(String tableName) {
		this.tableName = tableName;
	}

	public String getSequenceName() {
		return this.sequenceName;
	}

	public void setSequenceName(String sequenceName) {
		this.sequenceName = sequenceName;
	}

	public InitializeSchema getInitializeSchema() {
		return this.initializeSchema;
	}

	public void setInitializeSchema(InitializeSchema initializeSchema) {
		this.initializeSchema = initializeSchema;
	}

	public @Nullable String getOwnerId() {
		return this.ownerId;
	}

	public void setOwnerId(@Nullable String ownerId) {
		this.ownerId = ownerId;
	}

	public Duration getStatementTimeout() {
		return this.statementTimeout;
	}

	public void setStatementTimeout(Duration statementTimeout) {
		this.statementTimeout = statementTimeout;
	}

	public double getRenewalRatio() {
		return this.renewalRatio;
	}

	public void setRenewalRatio(double renewalRatio) {
		this.renewalRatio = renewalRatio;
	}

	public Duration getLocalExpiryMargin() {
		return this.localExpiryMargin;
	}

	public void setLocalExpiryMargin(Duration localExpiryMargin) {
		this.localExpiryMargin = localExpiryMargin;
	}

	public int getAspectOrder() {
		return this.aspectOrder;
	}

	public void setAspectOrder(int aspectOrder) {
		this.aspectOrder = aspectOrder;
	}

	public Notify getNotify() {
		return this.notify;
	}

	public Polling getPolling() {
		return this.polling;
	}

	public Cleanup getCleanup() {
		return this.cleanup;
	}

	public Map<String, LockProperties> getLocks() {
		return this.locks;
	}

	/**
	 * Whether the starter creates its schema.
	 */
	public enum InitializeSchema {

		/** Create the table and sequence when they do not exist. */
		ALWAYS,

		/** Never run DDL; check at start-up that the table and sequence exist. */
		NEVER

	}

	/**
	 * Waking waiters when a lease is released, through PostgreSQL LISTEN/NOTIFY.
	 */
	public static class Notify {

		/**
		 * Whether releases notify waiters; turn off behind a transaction-mode connection pooler.
		 */
		private boolean enabled = true;

		/**
		 * Channel releases are notified on; a lower-case identifier.
		 */
		private String channel = "leasehold_lock_released";

		/**
		 * Interval at which the first waiter of a lock on each node tries it anyway, with jitter.
		 */
		private Duration safetyPollInterval = Duration.ofSeconds(5);

		/**
		 * Longest pause between two attempts to reconnect the listener connection.
		 */
		private Duration maxReconnectBackoff = Duration.ofSeconds(5);

		/**
		 * Whether a hand-over between two callers of one node is prepared while the holder works:
		 * the successor's token is drawn and recorded in the lock's row durably, so the lock
		 * passes at once when the holder releases it, and the successor confirms the hand-over in
		 * the background. Off, each hand-over is a durable statement between the two holders.
		 * Ignored when notifications are disabled.
		 */
		private boolean prepareHandOvers = true;

		public boolean isEnabled() {
			return this.enabled;
		}

		public void setEnabled(boolean enabled) {
			this.enabled = enabled;
		}

		public String getChannel() {
			return this.channel;
		}

		public void setChannel(String channel) {
			this.channel = channel;
		}

		public Duration getSafetyPollInterval() {
			return this.safetyPollInterval;
		}

		public void setSafetyPollInterval(Duration safetyPollInterval) {
			this.safetyPollInterval = safetyPollInterval;
		}

		public Duration getMaxReconnectBackoff() {
			return this.maxReconnectBackoff;
		}

		public void setMaxReconnectBackoff(Duration maxReconnectBackoff) {
			this.maxReconnectBackoff = maxReconnectBackoff;
		}

		public boolean isPrepareHandOvers() {
			return this.prepareHandOvers;
		}

		public void setPrepareHandOvers(boolean prepareHandOvers) {
			this.prepareHandOvers = prepareHandOvers;
		}

	}

	/**
	 * How waiters poll a busy lock.
	 */
	public static class Polling {

		/**
		 * Longest pause after the first failed attempt; pauses double up to max-interval.
		 */
		private Duration initialInterval = Duration.ofMillis(10);

		/**
		 * Longest pause between two attempts on a busy lock.
		 */
		private Duration maxInterval = Duration.ofMillis(500);

		public Duration getInitialInterval() {
			return this.initialInterval;
		}

		public void setInitialInterval(Duration initialInterval) {
			this.initialInterval = initialInterval;
		}

		public Duration getMaxInterval() {
			return this.maxInterval;
		}

		public void setMaxInterval(Duration maxInterval) {
			this.maxInterval = maxInterval;
		}

	}

	/**
	 * Deletion of rows whose leases ended long ago.
	 */
	public static class Cleanup {

		/**
		 * Whether to delete rows of long-expired leases periodically.
		 */
		private boolean enabled = true;

		/**
		 * Time between two clean-up runs.
		 */
		private Duration interval = Duration.ofHours(1);

		/**
		 * How long after its expiry a lease row is kept.
		 */
		private Duration retention = Duration.ofDays(1);

		public boolean isEnabled() {
			return this.enabled;
		}

		public void setEnabled(boolean enabled) {
			this.enabled = enabled;
		}

		public Duration getInterval() {
			return this.interval;
		}

		public void setInterval(Duration interval) {
			this.interval = interval;
		}

		public Duration getRetention() {
			return this.retention;
		}

		public void setRetention(Duration retention) {
			this.retention = retention;
		}

	}

	/**
	 * Settings of one lock; unset values fall back to the global settings.
	 */
	public static class LockProperties {

		/**
		 * How long a lease of this lock lasts without renewal.
		 */
		private @Nullable Duration leaseTime;

		/**
		 * How long a caller waits for this lock when it is busy.
		 */
		private @Nullable Duration waitTime;

		/**
		 * Minimum time a lease of this lock is held from its acquisition.
		 */
		private @Nullable Duration minHoldTime;

		/**
		 * Whether to renew leases of this lock in the background.
		 */
		private @Nullable Boolean autoRenew;

		public @Nullable Duration getLeaseTime() {
			return this.leaseTime;
		}

		public void setLeaseTime(@Nullable Duration leaseTime) {
			this.leaseTime = leaseTime;
		}

		public @Nullable Duration getWaitTime() {
			return this.waitTime;
		}

		public void setWaitTime(@Nullable Duration waitTime) {
			this.waitTime = waitTime;
		}

		public @Nullable Duration getMinHoldTime() {
			return this.minHoldTime;
		}

		public void setMinHoldTime(@Nullable Duration minHoldTime) {
			this.minHoldTime = minHoldTime;
		}

		public @Nullable Boolean getAutoRenew() {
			return this.autoRenew;
		}

		public void setAutoRenew(@Nullable Boolean autoRenew) {
			this.autoRenew = autoRenew;
		}

	}

}
