package io.leasehold.sample;

import java.time.Duration;
import java.util.Optional;

import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.context.SmartLifecycle;
import org.springframework.stereotype.Component;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;

/**
 * Leader election on a lease: one instance holds {@code sample-leader} for as long as it runs
 * (renewed in the background); the others wait to take over. Visible in
 * {@code /actuator/leasehold} and {@code /actuator/health}.
 */
@Component
class Leadership implements SmartLifecycle {

	private static final Logger logger = LoggerFactory.getLogger(Leadership.class);

	private final LockManager lockManager;

	private volatile @Nullable Thread candidate;

	private volatile @Nullable Lease leadership;

	Leadership(LockManager lockManager) {
		this.lockManager = lockManager;
	}

	@Override
	public void start() {
		Thread thread = new Thread(this::campaign, "sample-leader-election");
		thread.setDaemon(true);
		this.candidate = thread;
		thread.start();
	}

	private void campaign() {
		LockOptions options = LockOptions.defaults()
			.withWaitTime(Duration.ofSeconds(30))
			.withPurpose(Purpose.EFFICIENCY);
		while (this.candidate == Thread.currentThread() && this.leadership == null) {
			Optional<Lease> lease = this.lockManager.tryAcquire("sample-leader", options);
			lease.ifPresent((granted) -> {
				this.leadership = granted;
				logger.info("This instance leads, with fencing token {}", granted.fencingToken());
			});
		}
	}

	boolean isLeader() {
		Lease lease = this.leadership;
		return lease != null && lease.isValid();
	}

	@Override
	public void stop() {
		this.candidate = null;
		Lease lease = this.leadership;
		if (lease != null) {
			lease.close();
			this.leadership = null;
		}
	}

	@Override
	public boolean isRunning() {
		return this.candidate != null;
	}

}
