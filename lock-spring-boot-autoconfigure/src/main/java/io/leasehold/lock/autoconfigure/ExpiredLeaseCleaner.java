package io.leasehold.lock.autoconfigure;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

import org.springframework.context.SmartLifecycle;

import io.leasehold.lock.LeaseholdException;
import io.leasehold.lock.store.LeaseStore;

/**
 * Deletes lease rows that expired longer ago than the retention, at a jittered interval so the
 * nodes of a cluster do not all clean up at once.
 */
class ExpiredLeaseCleaner implements SmartLifecycle {

	private static final Log logger = LogFactory.getLog(ExpiredLeaseCleaner.class);

	private final LeaseStore store;

	private final ScheduledExecutorService scheduler;

	private final Duration interval;

	private final Duration retention;

	private volatile @Nullable ScheduledFuture<?> task;

	ExpiredLeaseCleaner(LeaseStore store, ScheduledExecutorService scheduler, Duration interval, Duration retention) {
		this.store = store;
		this.scheduler = scheduler;
		this.interval = interval;
		this.retention = retention;
	}

	@Override
	public void start() {
		long intervalMillis = this.interval.toMillis();
		long firstRun = ThreadLocalRandom.current().nextLong(intervalMillis / 2, intervalMillis + 1);
		this.task = this.scheduler.scheduleWithFixedDelay(this::clean, firstRun, intervalMillis, TimeUnit.MILLISECONDS);
	}

	void clean() {
		try {
			int deleted = this.store.deleteExpired(this.retention);
			if (deleted > 0) {
				logger.debug("Deleted " + deleted + " lease rows expired more than " + this.retention + " ago");
			}
		}
		catch (LeaseholdException ex) {
			logger.warn("Could not delete expired lease rows; will retry in " + this.interval, ex);
		}
	}

	@Override
	public void stop() {
		ScheduledFuture<?> current = this.task;
		if (current != null) {
			current.cancel(false);
			this.task = null;
		}
	}

	@Override
	public boolean isRunning() {
		return this.task != null;
	}

}
