package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;

import io.leasehold.lock.store.Acquisition;
import io.leasehold.lock.store.LeaseStore;

/**
 * Diagnostics only ({@code --diagnose}): wraps a node's {@link LeaseStore} to record what each
 * acquire statement answered (granted, or busy with the holder's remaining lease time), and how
 * soon the same thread tries again after a busy answer. Nothing is changed.
 */
final class RecordingLeaseStore extends DelegatingLeaseStore {

	private final Outcomes outcomes;

	private final ThreadLocal<long[]> lastBusy = ThreadLocal.withInitial(() -> new long[] { 0, -1 });

	RecordingLeaseStore(LeaseStore delegate, Outcomes outcomes) {
		super(delegate);
		this.outcomes = outcomes;
	}

	@Override
	public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration) {
		long start = System.nanoTime();
		long[] previous = this.lastBusy.get();
		if (previous[0] != 0) {
			(previous[1] == 0 ? this.outcomes.retryAfterZeroHint : this.outcomes.retryAfterOtherBusy)
				.add(start - previous[0]);
			previous[0] = 0;
		}
		Acquisition acquisition;
		try {
			acquisition = this.delegate.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, waiterRegistration);
		}
		catch (RuntimeException ex) {
			this.outcomes.failed.increment();
			throw ex;
		}
		long end = System.nanoTime();
		if (acquisition.granted() != null) {
			this.outcomes.granted.increment();
			this.outcomes.grantedNanos.add(end - start);
		}
		else {
			Duration heldFor = acquisition.heldFor();
			if (heldFor == null) {
				this.outcomes.busyNoRow.increment();
			}
			else if (heldFor.isZero()) {
				this.outcomes.busyZeroHint.increment();
			}
			else {
				this.outcomes.busyWithHint.increment();
			}
			this.outcomes.busyNanos.add(end - start);
			previous[0] = end;
			previous[1] = (heldFor != null) ? heldFor.toMillis() : -1;
		}
		return acquisition;
	}

	/**
	 * What the acquire statements of the nodes answered.
	 */
	static final class Outcomes {

		final LongAdder granted = new LongAdder();

		final LongAdder grantedNanos = new LongAdder();

		final LongAdder busyWithHint = new LongAdder();

		final LongAdder busyZeroHint = new LongAdder();

		final LongAdder busyNoRow = new LongAdder();

		final LongAdder busyNanos = new LongAdder();

		final LongAdder failed = new LongAdder();

		final SyncLongList retryAfterZeroHint = new SyncLongList();

		final SyncLongList retryAfterOtherBusy = new SyncLongList();

		String report() {
			long busy = this.busyWithHint.sum() + this.busyZeroHint.sum() + this.busyNoRow.sum();
			return String.format(Locale.ROOT, """
					  acquire statements (whole run, both nodes, from a recording LeaseStore):
					    granted %d (mean %s), busy %d (mean %s): holder's lease > 0 left %d, holder's lease 0 left %d, no row %d; failed %d
					    next attempt of the same thread after a busy answer saying 0 left : %s
					    next attempt of the same thread after any other busy answer       : %s
					""", this.granted.sum(), Percentiles.ms(mean(this.grantedNanos, this.granted.sum())), busy,
					Percentiles.ms(mean(this.busyNanos, busy)), this.busyWithHint.sum(), this.busyZeroHint.sum(),
					this.busyNoRow.sum(), this.failed.sum(), Percentiles.of(this.retryAfterZeroHint.toArray()),
					Percentiles.of(this.retryAfterOtherBusy.toArray()));
		}

		private static double mean(LongAdder nanos, long count) {
			return (count > 0) ? (double) nanos.sum() / count : 0;
		}

	}

	static final class SyncLongList {

		private final LongList list = new LongList();

		synchronized void add(long value) {
			this.list.add(value);
		}

		synchronized long[] toArray() {
			return this.list.toArray();
		}

	}

}
