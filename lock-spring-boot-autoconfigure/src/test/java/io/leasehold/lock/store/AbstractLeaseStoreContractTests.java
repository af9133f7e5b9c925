package io.leasehold.lock.store;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The contract every {@link LeaseStore} keeps, run against a real database by each concrete
 * store's test through {@link #store()}.
 */
abstract class AbstractLeaseStoreContractTests {

	private static final Duration LONG = Duration.ofSeconds(30);

	private String lock;

	/** The store under test, on a fresh or shared schema. */
	protected abstract LeaseStore store();

	/** Ends the lock's current lease {@code ago} before now by the database clock, as if it had run out. */
	protected abstract void expire(String lockName, Duration ago);

	private void expire(String lockName) {
		expire(lockName, Duration.ofMillis(1));
	}

	@BeforeEach
	void newLockName() {
		this.lock = "contract-" + UUID.randomUUID();
	}

	@Test
	void grantsFreeLockWithExpiryByDatabaseClock() {
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		assertThat(grant.fencingToken()).isPositive();
		assertThat(Duration.between(grant.acquiredAt(), grant.expiresAt())).as("lease time of a new row").isEqualTo(LONG);
		assertThat(store().find(this.lock)).get()
			.satisfies((row) -> {
				assertThat(row.ownerId()).isEqualTo("node-a");
				assertThat(row.fencingToken()).isEqualTo(grant.fencingToken());
				assertThat(row.isHeld()).isTrue();
			});
	}

	@Test
	void refusesLockHeldByAnother() {
		store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		assertThat(store().tryAcquire(this.lock, "node-b", LONG, LONG).grant()).isEmpty();
		assertThat(store().tryAcquire(this.lock, "node-a", LONG, LONG).grant()).as("the same owner is not re-granted").isEmpty();
	}

	@Test
	void grantsExpiredLeaseWithGreaterToken() {
		Grant first = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		expire(this.lock);
		Grant second = store().tryAcquire(this.lock, "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
		assertThat(Duration.between(second.acquiredAt(), second.expiresAt())).as("lease time of a taken-over row")
			.isEqualTo(LONG);
		assertThat(store().find(this.lock).orElseThrow().ownerId()).isEqualTo("node-b");
	}

	@Test
	void releaseFreesLockAtOnceAndKeepsRow() {
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		assertThat(store().release(this.lock, grant.fencingToken(), Duration.ZERO)).isTrue();
		assertThat(store().find(this.lock)).get().satisfies((row) -> assertThat(row.isHeld()).isFalse());
		assertThat(store().tryAcquire(this.lock, "node-b", LONG, LONG).grant()).isPresent();
	}

	@Test
	void releaseIsIdempotent() {
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		assertThat(store().release(this.lock, grant.fencingToken(), Duration.ZERO)).isTrue();
		assertThat(store().release(this.lock, grant.fencingToken(), Duration.ZERO)).isFalse();
	}

	@Test
	void staleHolderCanNeitherReleaseNorRenewNewerLease() {
		Grant stale = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		expire(this.lock);
		Grant current = store().tryAcquire(this.lock, "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(store().release(this.lock, stale.fencingToken(), Duration.ZERO)).isFalse();
		assertThat(store().renew(this.lock, stale.fencingToken(), LONG)).isEmpty();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(current.fencingToken());
		assertThat(row.expiresAt()).isEqualTo(current.expiresAt());
		assertThat(row.isHeld()).isTrue();
	}

	@Test
	void handOverPassesTheLockOnWithAGreaterTokenWithoutFreeingIt() {
		Grant first = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		Duration successorLease = Duration.ofSeconds(45);
		Succession succession = store().handOver(this.lock, first.fencingToken(), "node-a", successorLease)
			.orElseThrow();
		assertThat(succession.othersWaiting()).as("nobody registered").isFalse();
		Grant second = succession.grant();
		assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
		assertThat(Duration.between(second.acquiredAt(), second.expiresAt())).as("the successor's lease time")
			.isEqualTo(successorLease);
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(second.fencingToken());
		assertThat(row.ownerId()).isEqualTo("node-a");
		assertThat(row.isHeld()).isTrue();
		assertThat(store().tryAcquire(this.lock, "node-b", LONG, LONG).grant()).as("never free").isEmpty();
		assertThat(store().release(this.lock, first.fencingToken(), Duration.ZERO)).as("the old token ends nothing")
			.isFalse();
		assertThat(store().renew(this.lock, first.fencingToken(), LONG)).isEmpty();
		assertThat(store().handOver(this.lock, first.fencingToken(), "node-a", LONG)).as("nor hands anything over")
			.isEmpty();
		assertThat(store().release(this.lock, second.fencingToken(), Duration.ZERO)).isTrue();
	}

	@Test
	void handOverOfAnExpiredOrStaleLeaseWritesNothing() {
		Grant stale = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		expire(this.lock);
		assertThat(store().handOver(this.lock, stale.fencingToken(), "node-a", LONG)).as("expired").isEmpty();
		LeaseRow expired = store().find(this.lock).orElseThrow();
		assertThat(expired.fencingToken()).isEqualTo(stale.fencingToken());
		assertThat(expired.isHeld()).isFalse();
		Grant current = store().tryAcquire(this.lock, "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(store().handOver(this.lock, stale.fencingToken(), "node-a", LONG)).as("stale").isEmpty();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(current.fencingToken());
		assertThat(row.ownerId()).isEqualTo("node-b");
		assertThat(row.expiresAt()).isEqualTo(current.expiresAt());
	}

	@Test
	void aConfirmedHandOverGivesTheDrawnTokenTheRowWithALeaseOfItsOwnAndDrawsTheNext() {
		Grant first = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		long drawn = store().drawSuccessorToken(this.lock, first.fencingToken(), LONG).orElseThrow();
		assertThat(drawn).isGreaterThan(first.fencingToken());
		Grant otherLock = store().tryAcquire(this.lock + "-other", "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(store().find(this.lock).orElseThrow().fencingToken()).as("drawing grants nothing")
			.isEqualTo(first.fencingToken());
		Confirmation confirmed = store().confirmHandOver(this.lock, first.fencingToken(), drawn, LONG).orElseThrow();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).as("the drawn token, though the sequence moved on").isEqualTo(drawn)
			.isLessThan(otherLock.fencingToken());
		assertThat(row.ownerId()).isEqualTo("node-a");
		assertThat(row.expiresAt()).isEqualTo(confirmed.expiresAt());
		assertThat(Duration.between(row.acquiredAt(), row.expiresAt())).isEqualTo(LONG);
		assertThat(confirmed.successorToken()).as("its own successor's token").isGreaterThan(otherLock.fencingToken());
		assertThat(store().drawSuccessorToken(this.lock, first.fencingToken(), LONG)).as("the predecessor is gone").isEmpty();

		Confirmation again = store().confirmHandOver(this.lock, first.fencingToken(), drawn, LONG).orElseThrow();
		LeaseRow renewed = store().find(this.lock).orElseThrow();
		assertThat(renewed.fencingToken()).as("confirming again renews").isEqualTo(drawn);
		assertThat(renewed.acquiredAt()).isEqualTo(row.acquiredAt());
		assertThat(renewed.expiresAt()).isEqualTo(again.expiresAt()).isAfter(row.expiresAt());
		assertThat(store().release(this.lock, drawn, Duration.ZERO)).isTrue();
		Grant next = store().tryAcquire(this.lock, "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(next.fencingToken()).isGreaterThan(again.successorToken());
	}

	/**
	 * The draw extends the lease as a renewal would: a renewal waiting for the row lock behind the
	 * draw's commit then finds the lease extended, not expired.
	 */
	@Test
	void drawingASuccessorTokenExtendsTheLeaseButNeverShortensIt() {
		Grant grant = store().tryAcquire(this.lock, "node-a", Duration.ofSeconds(2), LONG).grant().orElseThrow();
		store().drawSuccessorToken(this.lock, grant.fencingToken(), LONG).orElseThrow();
		Instant extended = store().find(this.lock).orElseThrow().expiresAt();
		assertThat(extended).isAfter(grant.expiresAt().plus(LONG).minus(Duration.ofSeconds(3)));
		store().drawSuccessorToken(this.lock, grant.fencingToken(), Duration.ofSeconds(1)).orElseThrow();
		assertThat(store().find(this.lock).orElseThrow().expiresAt()).as("a shorter lease time keeps the expiry")
			.isEqualTo(extended);
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(grant.fencingToken());
	}

	@Test
	void aHandOverIsConfirmedOnlyForTheTokenDrawnUnderTheLeaseItFollows() {
		Grant first = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		long drawn = store().drawSuccessorToken(this.lock, first.fencingToken(), LONG).orElseThrow();
		Grant second = store().handOver(this.lock, first.fencingToken(), "node-a", LONG).orElseThrow().grant();
		assertThat(second.fencingToken()).as("a hand-over statement draws a fresh token").isGreaterThan(drawn);
		assertThat(store().confirmHandOver(this.lock, first.fencingToken(), drawn, LONG)).as("the predecessor is gone")
			.isEmpty();
		assertThat(store().confirmHandOver(this.lock, second.fencingToken(), drawn, LONG))
			.as("a token drawn under an earlier lease").isEmpty();
		long drawnUnderSecond = store().drawSuccessorToken(this.lock, second.fencingToken(), LONG).orElseThrow();
		assertThat(store().confirmHandOver(this.lock, second.fencingToken(), drawnUnderSecond + 1, LONG))
			.as("a token not drawn for the successor").isEmpty();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(second.fencingToken());
		assertThat(Duration.between(row.acquiredAt(), row.expiresAt())).as("the draw extended it, nothing else")
			.isGreaterThanOrEqualTo(LONG)
			.isLessThan(LONG.plusSeconds(5));
	}

	@Test
	void drawingOrConfirmingForAnExpiredOrStaleLeaseWritesNothing() {
		Grant stale = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		long drawn = store().drawSuccessorToken(this.lock, stale.fencingToken(), LONG).orElseThrow();
		expire(this.lock);
		assertThat(store().drawSuccessorToken(this.lock, stale.fencingToken(), LONG)).as("expired").isEmpty();
		assertThat(store().confirmHandOver(this.lock, stale.fencingToken(), drawn, LONG)).as("confirm expired")
			.isEmpty();
		Grant current = store().tryAcquire(this.lock, "node-b", LONG, LONG).grant().orElseThrow();
		assertThat(current.fencingToken()).isGreaterThan(drawn);
		assertThat(store().drawSuccessorToken(this.lock, stale.fencingToken(), LONG)).as("stale").isEmpty();
		assertThat(store().confirmHandOver(this.lock, stale.fencingToken(), drawn, LONG)).as("confirm stale")
			.isEmpty();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.fencingToken()).isEqualTo(current.fencingToken());
		assertThat(row.ownerId()).isEqualTo("node-b");
		assertThat(row.expiresAt()).isEqualTo(current.expiresAt());
	}

	@Test
	void renewMovesExpiryForward() {
		Grant grant = store().tryAcquire(this.lock, "node-a", Duration.ofSeconds(2), LONG).grant().orElseThrow();
		Instant renewed = store().renew(this.lock, grant.fencingToken(), LONG).orElseThrow();
		assertThat(renewed).isAfter(grant.expiresAt());
		assertThat(store().find(this.lock).orElseThrow().expiresAt()).isEqualTo(renewed);
	}

	@Test
	void renewOfExpiredLeaseFails() {
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		expire(this.lock);
		assertThat(store().renew(this.lock, grant.fencingToken(), LONG)).isEmpty();
	}

	@Test
	void releaseHonoursMinimumHoldTime() {
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		assertThat(store().release(this.lock, grant.fencingToken(), Duration.ofMinutes(10))).isTrue();
		LeaseRow row = store().find(this.lock).orElseThrow();
		assertThat(row.expiresAt()).isEqualTo(grant.acquiredAt().plus(Duration.ofMinutes(10)));
		assertThat(store().tryAcquire(this.lock, "node-b", LONG, LONG).grant()).isEmpty();
	}

	@Test
	void releaseAfterMinimumHoldTimeEndsLeaseNow() {
		Duration minHold = Duration.ofMillis(20);
		Grant grant = store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		awaitDatabaseClockPast(grant.acquiredAt().plus(minHold));
		assertThat(store().release(this.lock, grant.fencingToken(), minHold)).isTrue();
		assertThat(store().tryAcquire(this.lock, "node-b", LONG, LONG).grant()).isPresent();
	}

	private void awaitDatabaseClockPast(Instant instant) {
		long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
		while (!store().find(this.lock).orElseThrow().observedAt().isAfter(instant)) {
			assertThat(System.nanoTime() - deadline).as("database clock passes " + instant).isNegative();
		}
	}

	@Test
	void findOfUnknownLockIsEmpty() {
		assertThat(store().find(this.lock)).isEmpty();
	}

	@Test
	void deletesOnlyRowsExpiredLongerThanRetention() {
		store().tryAcquire(this.lock, "node-a", LONG, LONG).grant().orElseThrow();
		expire(this.lock, Duration.ofMinutes(2));
		String held = this.lock + "-held";
		store().tryAcquire(held, "node-a", LONG, LONG).grant().orElseThrow();
		String recent = this.lock + "-recent";
		Grant recentGrant = store().tryAcquire(recent, "node-a", LONG, LONG).grant().orElseThrow();
		store().release(recent, recentGrant.fencingToken(), Duration.ZERO);
		assertThat(store().deleteExpired(Duration.ofMinutes(1))).isPositive();
		assertThat(store().find(this.lock)).isEmpty();
		assertThat(store().find(held)).isPresent();
		assertThat(store().find(recent)).as("expired less than the retention ago").isPresent();
	}

	/**
	 * Many threads as distinct owners take and release a few hot locks: at most one holder per
	 * lock at any time, and each lock's tokens strictly increase in grant order.
	 */
	@Test
	void concurrentOwnersNeverOverlapAndTokensIncreaseThroughGrantsAndHandOvers() throws Exception {
		int threads = 8;
		int iterations = 250;
		List<String> locks = List.of(this.lock + "-0", this.lock + "-1", this.lock + "-2");
		Map<String, AtomicInteger> holders = new ConcurrentHashMap<>();
		Map<String, AtomicLong> lastToken = new ConcurrentHashMap<>();
		locks.forEach((name) -> {
			holders.put(name, new AtomicInteger());
			lastToken.put(name, new AtomicLong());
		});
		AtomicInteger overlaps = new AtomicInteger();
		AtomicInteger backwards = new AtomicInteger();
		AtomicInteger grants = new AtomicInteger();
		CountDownLatch start = new CountDownLatch(1);
		ExecutorService executor = Executors.newFixedThreadPool(threads);
		try {
			List<Future<?>> workers = new ArrayList<>();
			for (int t = 0; t < threads; t++) {
				String owner = "owner-" + t;
				workers.add(executor.submit(() -> {
					start.await();
					for (int i = 0; i < iterations; i++) {
						String name = locks.get(ThreadLocalRandom.current().nextInt(locks.size()));
						Optional<Grant> grant = store().tryAcquire(name, owner, LONG, LONG).grant();
						if (grant.isEmpty()) {
							continue;
						}
						grants.incrementAndGet();
						if (holders.get(name).incrementAndGet() != 1) {
							overlaps.incrementAndGet();
						}
						long token = grant.get().fencingToken();
						if (token <= lastToken.get(name).getAndSet(token)) {
							backwards.incrementAndGet();
						}
						if (ThreadLocalRandom.current().nextBoolean()) {
							// passed on to a successor of the same owner, which the thread plays
							token = store().handOver(name, token, owner, LONG).orElseThrow().grant().fencingToken();
							if (token <= lastToken.get(name).getAndSet(token)) {
								backwards.incrementAndGet();
							}
						}
						holders.get(name).decrementAndGet();
						store().release(name, token, Duration.ZERO);
					}
					return null;
				}));
			}
			start.countDown();
			for (Future<?> worker : workers) {
				worker.get(2, TimeUnit.MINUTES);
			}
		}
		finally {
			executor.shutdownNow();
		}
		assertThat(grants.get()).as("grants").isGreaterThan(threads * iterations / 10);
		assertThat(overlaps.get()).as("overlapping holders").isZero();
		assertThat(backwards.get()).as("tokens not above the previous grant's").isZero();
	}

}
