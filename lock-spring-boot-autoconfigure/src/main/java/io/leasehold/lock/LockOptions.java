package io.leasehold.lock;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

/**
 * Immutable settings for one acquisition through {@link LockManager}. {@link #defaults()} sets
 * nothing: every option left unset falls back to {@code leasehold.lock.locks.<name>.*}, then to
 * the global {@code leasehold.lock.*} defaults.
 */
public final class LockOptions {

	/**
	 * The longest duration any option or {@code leasehold.lock.*} duration may have: about 100
	 * years, so that deadlines computed from it in nanoseconds cannot overflow.
	 */
	public static final Duration LONGEST = Duration.ofDays(36_500);

	private static final Duration SHORTEST_LEASE = Duration.ofMillis(1);

	private static final LockOptions DEFAULTS = new LockOptions(null, null, null, null, null);

	private final @Nullable Duration leaseTime;

	private final @Nullable Duration waitTime;

	private final @Nullable Duration minHoldTime;

	private final @Nullable Boolean autoRenew;

	private final @Nullable Purpose purpose;

	private LockOptions(@Nullable Duration leaseTime, @Nullable Duration waitTime, @Nullable Duration minHoldTime,
			@Nullable Boolean autoRenew, @Nullable Purpose purpose) {
		this.leaseTime = leaseTime;
		this.waitTime = waitTime;
		this.minHoldTime = minHoldTime;
		this.autoRenew = autoRenew;
		this.purpose = purpose;
	}

	/** Options that set nothing, so configuration decides everything. */
	public static LockOptions defaults() {
		return DEFAULTS;
	}

	/** How long a grant lasts without renewal; at least a millisecond, the database's precision. */
	public LockOptions withLeaseTime(Duration leaseTime) {
		return new LockOptions(atLeastAMillisecond("leaseTime", leaseTime), this.waitTime, this.minHoldTime, this.autoRenew,
				this.purpose);
	}

	/** How long to wait for a busy lock; zero tries once. */
	public LockOptions withWaitTime(Duration waitTime) {
		return new LockOptions(this.leaseTime, notNegative("waitTime", waitTime), this.minHoldTime, this.autoRenew,
				this.purpose);
	}

	/** Keep the lease at least this long from acquisition, even when released earlier. */
	public LockOptions withMinHoldTime(Duration minHoldTime) {
		return new LockOptions(this.leaseTime, this.waitTime, notNegative("minHoldTime", minHoldTime), this.autoRenew,
				this.purpose);
	}

	/** Whether to renew the lease in the background until it is released. */
	public LockOptions withAutoRenew(boolean autoRenew) {
		return new LockOptions(this.leaseTime, this.waitTime, this.minHoldTime, autoRenew, this.purpose);
	}

	/** Why the lock is taken. */
	public LockOptions withPurpose(Purpose purpose) {
		return new LockOptions(this.leaseTime, this.waitTime, this.minHoldTime, this.autoRenew,
				Objects.requireNonNull(purpose, "purpose must not be null"));
	}

	public Optional<Duration> leaseTime() {
		return Optional.ofNullable(this.leaseTime);
	}

	public Optional<Duration> waitTime() {
		return Optional.ofNullable(this.waitTime);
	}

	public Optional<Duration> minHoldTime() {
		return Optional.ofNullable(this.minHoldTime);
	}

	public Optional<Boolean> autoRenew() {
		return Optional.ofNullable(this.autoRenew);
	}

	public Optional<Purpose> purpose() {
		return Optional.ofNullable(this.purpose);
	}

	private static Duration positive(String option, Duration value) {
		Objects.requireNonNull(value, () -> option + " must not be null");
		if (value.isNegative() || value.isZero()) {
			throw new IllegalArgumentException(option + " must be positive, but was " + value);
		}
		return notTooLong(option, value);
	}

	private static Duration atLeastAMillisecond(String option, Duration value) {
		if (positive(option, value).compareTo(SHORTEST_LEASE) < 0) {
			throw new IllegalArgumentException(option + " must be at least 1 ms (leases are kept to the millisecond),"
					+ " but was " + value);
		}
		return value;
	}

	private static Duration notNegative(String option, Duration value) {
		Objects.requireNonNull(value, () -> option + " must not be null");
		if (value.isNegative()) {
			throw new IllegalArgumentException(option + " must not be negative, but was " + value);
		}
		return notTooLong(option, value);
	}

	private static Duration notTooLong(String option, Duration value) {
		if (value.compareTo(LONGEST) > 0) {
			throw new IllegalArgumentException(option + " must be at most " + LONGEST.toDays() + " days, but was " + value);
		}
		return value;
	}

	@Override
	public boolean equals(Object other) {
		return this == other || (other instanceof LockOptions that && Objects.equals(this.leaseTime, that.leaseTime)
				&& Objects.equals(this.waitTime, that.waitTime) && Objects.equals(this.minHoldTime, that.minHoldTime)
				&& Objects.equals(this.autoRenew, that.autoRenew) && this.purpose == that.purpose);
	}

	@Override
	public int hashCode() {
		return Objects.hash(this.leaseTime, this.waitTime, this.minHoldTime, this.autoRenew, this.purpose);
	}

	@Override
	public String toString() {
		return "LockOptions[leaseTime=" + this.leaseTime + ", waitTime=" + this.waitTime + ", minHoldTime="
				+ this.minHoldTime + ", autoRenew=" + this.autoRenew + ", purpose=" + this.purpose + "]";
	}

}
