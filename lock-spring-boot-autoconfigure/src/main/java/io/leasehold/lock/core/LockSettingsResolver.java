package io.leasehold.lock.core;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import io.leasehold.lock.LockOptions;

/**
 * Applies the precedence of a lock's settings: the call's options (or annotation), then the
 * per-lock configuration {@code leasehold.lock.locks.<name>.*}, then the global defaults.
 */
public class LockSettingsResolver {

	private final LockSettings defaults;

	private final Map<String, LockOptions> perLock;

	/**
	 * @param defaults the global defaults
	 * @param perLock per-lock settings by lock name (without a key); unset options fall back
	 */
	public LockSettingsResolver(LockSettings defaults, Map<String, LockOptions> perLock) {
		this.defaults = defaults;
		this.perLock = Map.copyOf(perLock);
	}

	/**
	 * @param configName the name settings are configured under: the annotation's {@code name},
	 * or the lock name given to {@link io.leasehold.lock.LockManager}
	 */
	public LockSettings resolve(String configName, LockOptions options) {
		LockOptions configured = this.perLock.getOrDefault(configName, LockOptions.defaults());
		return new LockSettings(
				pick(options, configured, LockOptions::leaseTime).orElse(this.defaults.leaseTime()),
				pick(options, configured, LockOptions::waitTime).orElse(this.defaults.waitTime()),
				pick(options, configured, LockOptions::minHoldTime).orElse(this.defaults.minHoldTime()),
				pick(options, configured, LockOptions::autoRenew).orElse(this.defaults.autoRenew()),
				pick(options, configured, LockOptions::purpose).orElse(this.defaults.purpose()));
	}

	private static <T> Optional<T> pick(LockOptions options, LockOptions configured,
			Function<LockOptions, Optional<T>> option) {
		return option.apply(options).or(() -> option.apply(configured));
	}

}
