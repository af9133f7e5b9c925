package io.leasehold.lock.autoconfigure;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.beans.factory.DisposableBean;

/**
 * The one scheduler Leasehold's background work shares: lease renewals and clean-up. Its daemon
 * threads stop with the application context. It is deliberately not a
 * {@link ScheduledExecutorService} bean, which Spring would pick up to run the application's
 * {@code @Scheduled} methods.
 */
final class LeaseScheduler implements DisposableBean {

	private static final AtomicInteger threads = new AtomicInteger();

	private final ScheduledThreadPoolExecutor executor;

	LeaseScheduler(int threadCount) {
		this.executor = new ScheduledThreadPoolExecutor(threadCount, (task) -> {
			Thread thread = new Thread(task, "leasehold-scheduler-" + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		});
		this.executor.setRemoveOnCancelPolicy(true);
		this.executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
	}

	ScheduledExecutorService executor() {
		return this.executor;
	}

	@Override
	public void destroy() throws InterruptedException {
		this.executor.shutdown();
		if (!this.executor.awaitTermination(10, TimeUnit.SECONDS)) {
			this.executor.shutdownNow();
		}
	}

}
