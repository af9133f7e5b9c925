package io.leasehold.lock.autoconfigure;

import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.springframework.beans.factory.DisposableBean;

/**
 * The scheduler Leasehold's background work shares: lease renewals and clean-up; and, apart, so
 * that a slow commit there never delays a renewal, the threads that prepare and confirm
 * hand-overs. Its daemon threads stop with the application context. It is deliberately not a
 * {@link ScheduledExecutorService} bean, which Spring would pick up to run the application's
 * {@code @Scheduled} methods.
 */
final class LeaseScheduler implements DisposableBean {

	private static final AtomicInteger threads = new AtomicInteger();

	private final ScheduledThreadPoolExecutor executor;

	private final ThreadPoolExecutor handOvers;

	LeaseScheduler(int threadCount) {
		this.executor = new ScheduledThreadPoolExecutor(threadCount, daemon("leasehold-scheduler-"));
		this.executor.setRemoveOnCancelPolicy(true);
		this.executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
		this.handOvers = new ThreadPoolExecutor(threadCount, threadCount, 0, TimeUnit.MILLISECONDS,
				new LinkedBlockingQueue<>(), daemon("leasehold-hand-over-"));
	}

	private static ThreadFactory daemon(String prefix) {
		return (task) -> {
			Thread thread = new Thread(task, prefix + threads.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		};
	}

	ScheduledExecutorService executor() {
		return this.executor;
	}

	/** Where hand-overs are prepared and confirmed. */
	Executor handOverExecutor() {
		return this.handOvers;
	}

	@Override
	public void destroy() throws InterruptedException {
		this.handOvers.shutdown();
		this.executor.shutdown();
		if (!this.handOvers.awaitTermination(10, TimeUnit.SECONDS)) {
			this.handOvers.shutdownNow();
		}
		if (!this.executor.awaitTermination(10, TimeUnit.SECONDS)) {
			this.executor.shutdownNow();
		}
	}

}
