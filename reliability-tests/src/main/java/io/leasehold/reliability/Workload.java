package io.leasehold.reliability;

import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockNotAcquiredException;
import io.leasehold.lock.LockOptions;
import org.springframework.context.SmartLifecycle;

/**
 * The fenced counter: acquire, read (registering the token), work, check the lease, write
 * counter+1 conditional on the token, release; every step is an operation in the history. Runs
 * on threads of its own ({@code worker.threads}) from context start until the iterations or the
 * duration are used up, or the context stops (SIGTERM), which interrupts the work and releases
 * the lease.
 */
public class Workload implements SmartLifecycle {

	private final WorkerSettings settings;

	private final LockManager manager;

	private final AnnotatedCounter annotated;

	private final CounterStore store;

	private final History history;

	private final CountDownLatch done;

	private final AtomicLong acquired = new AtomicLong();

	private volatile boolean stopping;

	private volatile boolean stoppedByContext;

	private final List<Thread> threads = new CopyOnWriteArrayList<>();

	public Workload(WorkerSettings settings, LockManager manager, AnnotatedCounter annotated, CounterStore store,
			History history) {
		this.settings = settings;
		this.manager = manager;
		this.annotated = annotated;
		this.store = store;
		this.history = history;
		this.done = new CountDownLatch(settings.threads());
	}

	@Override
	public void start() {
		for (int i = 0; i < this.settings.threads(); i++) {
			Thread worker = new Thread(this::runLoop, "workload-" + this.settings.id() + "-" + i);
			this.threads.add(worker);
			worker.start();
		}
	}

	@Override
	public void stop() {
		this.stoppedByContext = true;
		this.stopping = true;
		if (isRunning()) {
			this.history.note("stopping", "context closing");
			this.threads.forEach(Thread::interrupt);
			try {
				for (Thread worker : this.threads) {
					worker.join(5000);
				}
			}
			catch (InterruptedException ex) {
				Thread.currentThread().interrupt();
			}
		}
	}

	@Override
	public boolean isRunning() {
		return this.threads.stream().anyMatch(Thread::isAlive);
	}

	/** Blocks until every thread of the workload ended by itself or was stopped. */
	public void awaitDone() throws InterruptedException {
		this.done.await();
	}

	public boolean stoppedByContext() {
		return this.stoppedByContext;
	}

	private void runLoop() {
		try {
			awaitGo();
			this.history.note("go", null);
			long deadline = this.settings.duration().isZero() ? Long.MAX_VALUE
					: System.nanoTime() + this.settings.duration().toNanos();
			while (!this.stopping && !Thread.currentThread().isInterrupted()
					&& (this.settings.iterations() == 0 || this.acquired.get() < this.settings.iterations())
					&& System.nanoTime() - deadline < 0) {
				String key = this.settings.locks().get(ThreadLocalRandom.current().nextInt(this.settings.locks().size()));
				boolean held = this.settings.api().equals("annotation") ? iterateAnnotated(key) : iterateManager(key);
				if (held) {
					this.acquired.incrementAndGet();
					sleep(this.settings.idle());
				}
				else {
					sleep(Duration.ofMillis(5)); // a busy lock: do not spin when the wait time is zero
				}
			}
			this.history.note("done", "acquired=" + this.acquired.get());
		}
		catch (InterruptedException ex) {
			this.history.note("done", "interrupted, acquired=" + this.acquired.get());
		}
		catch (RuntimeException | Error ex) {
			this.history.note("crashed", ex.toString());
			throw ex;
		}
		finally {
			this.done.countDown();
		}
	}

	private void awaitGo() throws InterruptedException {
		if (this.settings.goFile() == null) {
			return;
		}
		while (!Files.exists(this.settings.goFile())) {
			Thread.sleep(2);
		}
	}

	private boolean iterateManager(String key) throws InterruptedException {
		String lock = WorkerSettings.lockName(key);
		long acquire = this.history.invoke("acquire", lock, null);
		Optional<Lease> granted;
		try {
			granted = this.manager.tryAcquire(lock, LockOptions.defaults());
		}
		catch (RuntimeException ex) {
			this.history.info(acquire, "acquire", lock, null, ex.toString());
			return false;
		}
		if (granted.isEmpty()) {
			this.history.fail(acquire, "acquire", lock, null, "busy");
			return false;
		}
		Lease lease = granted.get();
		long token = lease.fencingToken();
		this.history.ok(acquire, "acquire", lock, token, null, null);
		try {
			body(lock, token, lease);
		}
		finally {
			long release = this.history.invoke("release", lock, token);
			try {
				lease.close();
				this.history.ok(release, "release", lock, token, null, null);
			}
			catch (RuntimeException ex) {
				this.history.info(release, "release", lock, token, ex.toString());
			}
		}
		return true;
	}

	private boolean iterateAnnotated(String key) throws InterruptedException {
		String lock = WorkerSettings.lockName(key);
		long acquire = this.history.invoke("acquire", lock, null);
		long[] release = { 0, 0 }; // operation id, token
		try {
			this.annotated.increment(key, 0L, (token) -> {
				this.history.ok(acquire, "acquire", lock, token, null, null);
				Lease lease = LockContext.current(lock).orElseThrow();
				try {
					body(lock, token, lease);
				}
				finally {
					release[1] = token;
					release[0] = this.history.invoke("release", lock, token);
				}
			});
		}
		catch (LockNotAcquiredException ex) {
			this.history.fail(acquire, "acquire", lock, null, "busy");
			return false;
		}
		catch (InterruptedException ex) {
			if (release[0] != 0) {
				this.history.ok(release[0], "release", lock, release[1], null, null);
			}
			throw ex;
		}
		catch (Exception ex) {
			if (release[0] == 0) {
				this.history.info(acquire, "acquire", lock, null, ex.toString());
				return false;
			}
			this.history.info(release[0], "release", lock, release[1], ex.toString());
			return true;
		}
		this.history.ok(release[0], "release", lock, release[1], null, null);
		return true;
	}

	/** Read (registering the token), work, check the lease, write; the write is tried even when the lease is gone. */
	private void body(String lock, long token, Lease lease) throws InterruptedException {
		long read = this.history.invoke("read", lock, token);
		CounterStore.Read value;
		try {
			value = this.store.read(lock, token);
		}
		catch (SQLException | RuntimeException ex) {
			this.history.info(read, "read", lock, token, ex.toString());
			return;
		}
		if (this.settings.fenced() && value.maxToken() > token) {
			this.history.fail(read, "read", lock, token, "stale: store has registered token " + value.maxToken());
			return;
		}
		this.history.ok(read, "read", lock, token, value.value(), "max_token=" + value.maxToken());
		long min = this.settings.workMin().toNanos();
		long max = Math.max(min, this.settings.workMax().toNanos());
		sleep(Duration.ofNanos(min + ((max > min) ? ThreadLocalRandom.current().nextLong(max - min + 1) : 0)));
		long check = this.history.invoke("check", lock, token);
		if (lease.isValid()) {
			this.history.ok(check, "check", lock, token, null, null);
		}
		else {
			this.history.fail(check, "check", lock, token, "lease lost: " + lease);
		}
		long write = this.history.invoke("write", lock, token);
		try {
			if (this.store.write(lock, token, value.value() + 1, this.settings.id())) {
				this.history.ok(write, "write", lock, token, value.value() + 1, null);
			}
			else {
				this.history.fail(write, "write", lock, token, "stale: rejected by the store");
			}
		}
		catch (SQLException | RuntimeException ex) {
			this.history.info(write, "write", lock, token, ex.toString());
		}
	}

	private static void sleep(Duration duration) throws InterruptedException {
		if (!duration.isZero() && !duration.isNegative()) {
			TimeUnit.NANOSECONDS.sleep(duration.toNanos());
		}
	}

}
