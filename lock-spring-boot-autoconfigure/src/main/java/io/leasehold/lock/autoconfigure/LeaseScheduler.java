package io.leasehold.lock.autoconfigure;

import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.beans.factory.DisposableBean;

/**
 * The one scheduler Leasehold's background work shares: lease renewals and clean-up. Its daemon
 * threads stop with the application context.
 */
class LeaseScheduler extends ScheduledThreadPoolExecutor implements DisposableBean {

	private static final AtomicInteger threads = new AtomicInteger();

	LeaseScheduler(int threadCount) {
		super(threadCount, (task) -> {
			Thread thread = new Thread(task, "leasehold-scheduler-" + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
		setRemoveOnCancelPolicy(true);
		setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
	}

	@Override
	public void destroy() throws InterruptedException {
		shutdown();
		if (!awaitTermination(10, TimeUnit.SECONDS)) {
			shutdownNow();
		}
	}

}
