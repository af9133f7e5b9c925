package io.leasehold.lock.fencing;

import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What the fencing tests share: properties for a node whose leases run out quickly (no renewal),
 * waiting for a lease to expire by the database clock, bounded latch waits, and a pause point a
 * holder stops at as it would in a long GC.
 */
final class PausedHolders {

	/** Leases of 400ms that are not renewed, so a paused holder loses its lease. */
	static final String[] SHORT_LEASES = { "leasehold.lock.lease-time=400ms", "leasehold.lock.auto-renew=false",
			"leasehold.lock.local-expiry-margin=0ms" };

	private PausedHolders() {
	}

	/** A table name no other test (or helper run) uses. */
	static String uniqueTable(String prefix) {
		return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
	}

	static JdbcTemplate jdbc() {
		return new JdbcTemplate(TestDatabase.get().dataSource());
	}

	/** Waits until the lock's lease has expired by the database clock (at most 10 seconds). */
	static void awaitExpiry(String lockName) {
		JdbcTemplate jdbc = jdbc();
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
		while (Boolean.TRUE.equals(jdbc.queryForObject(
				"SELECT coalesce(bool_or(expires_at > clock_timestamp()), false) FROM leasehold_lock WHERE lock_name = ?",
				Boolean.class, lockName))) {
			assertThat(System.nanoTime() - deadline).as("lease of " + lockName + " expires").isNegative();
			LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
		}
	}

	static void await(CountDownLatch latch) {
		try {
			assertThat(latch.await(10, TimeUnit.SECONDS)).as("latch released within 10s").isTrue();
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
			throw new IllegalStateException(ex);
		}
	}

	/**
	 * A point in a holder's code where it stops, once armed, until resumed. Unarmed, it lets
	 * callers pass.
	 */
	static final class Pause {

		private volatile CountDownLatch reached = new CountDownLatch(1);

		private volatile CountDownLatch resume = new CountDownLatch(1);

		private volatile boolean armed;

		/** The next caller to reach the pause point stops there. */
		void arm() {
			this.reached = new CountDownLatch(1);
			this.resume = new CountDownLatch(1);
			this.armed = true;
		}

		void here() {
			if (this.armed) {
				this.armed = false;
				CountDownLatch resumed = this.resume;
				this.reached.countDown();
				await(resumed);
			}
		}

		void awaitReached() {
			await(this.reached);
		}

		void resume() {
			this.resume.countDown();
		}

	}

}
