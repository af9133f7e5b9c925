package io.leasehold.lock.core;

import java.time.Duration;

import io.leasehold.lock.Purpose;

/**
 * The settings one acquisition runs with, after falling back from the call's options to the
 * lock's configuration and the global defaults.
 */
public record LockSettings(Duration leaseTime, Duration waitTime, Duration minHoldTime, boolean autoRenew,
		Purpose purpose) {

}
