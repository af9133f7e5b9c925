package io.leasehold.lock.store;

import java.time.Duration;
import java.util.Optional;

import org.jspecify.annotations.Nullable;

/**
 * The answer to an acquire statement: a grant, or a busy lock and, when the statement saw it,
 * how long the holder's lease had left by the database clock (a hint: the holder may release
 * earlier, or renew).
 */
public record Acquisition(@Nullable Grant granted, @Nullable Duration heldFor) {

	public static Acquisition of(Grant grant) {
		return new Acquisition(grant, null);
	}

	public static Acquisition busy(@Nullable Duration heldFor) {
		return new Acquisition(null, heldFor);
	}

	public Optional<Grant> grant() {
		return Optional.ofNullable(this.granted);
	}

}
