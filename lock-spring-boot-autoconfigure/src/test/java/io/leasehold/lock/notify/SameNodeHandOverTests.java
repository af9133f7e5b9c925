package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.autoconfigure.LeaseholdLockProperties;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static io.leasehold.lock.notify.NotifyNodes.POLLING_MAX_30S;
import static io.leasehold.lock.notify.NotifyNodes.SAFETY_POLL_30S;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;
import static org.awaitility.Awaitility.await;

/**
 * A release whose node has a caller waiting for the lock hands the lock over to that caller: the
 * lock is never free in between, and the caller sends no statement of its own. By default the
 * hand-over is prepared while the holder works, so the lock passes with no statement at all; with
 * {@code leasehold.lock.notify.prepare-hand-overs=false} it passes in the release statement. Every
 * poll is set to 30 seconds, so nothing else can wake a waiter in time.
 */
class SameNodeHandOverTests {

	private static final LockOptions WAIT_10S = LockOptions.defaults().withWaitTime(Duration.ofSeconds(10));

	private static final LockOptions FIVE_MINUTES = LockOptions.defaults().withLeaseTime(Duration.ofMinutes(5));

	/** Prepares its hand-overs, as by default. */
	private static LockNode a;

	private static LockNode b;

	/** Hands over in the release statement. */
	private static LockNode durable;

	private static ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		a = NotifyNodes.start(NotifyNodes.uniqueName("same_a"),
				new Class<?>[] { NotifyNodes.Config.class, StatementCounting.class }, SAFETY_POLL_30S, POLLING_MAX_30S,
				"leasehold.lock.cleanup.enabled=false");
		b = NotifyNodes.start(NotifyNodes.uniqueName("same_b"), NotifyNodes.Config.class, SAFETY_POLL_30S,
				POLLING_MAX_30S);
		durable = NotifyNodes.start(NotifyNodes.uniqueName("same_durable"),
				new Class<?>[] { NotifyNodes.Config.class, StatementCounting.class }, SAFETY_POLL_30S, POLLING_MAX_30S,
				"leasehold.lock.cleanup.enabled=false", "leasehold.lock.notify.prepare-hand-overs=false");
		NotifyNodes.awaitListening(a, b, durable);
		executor = Executors.newCachedThreadPool();
	}

	@AfterAll
	static void stopNodes() {
		executor.shutdownNow();
		a.close();
		b.close();
		durable.close();
	}

	/** Not prepared, the hand-over is the release statement, which draws a fresh token. */
	@Test
	void callerWaitingOnTheSameNodeGetsTheLockFromTheReleaseStatementAlone() throws Exception {
		handOverRounds(durable, false);
	}

	/**
	 * Prepared, the hand-over passes the token drawn while the holder worked at once: the waiter
	 * gets the lock while another transaction keeps its row locked, and the only statement is the
	 * successor's confirmation, which follows.
	 */
	@Test
	void callerWaitingOnTheSameNodeGetsThePreparedTokenWithNoStatementInBetween() throws Exception {
		handOverRounds(a, true);
	}

	private static void handOverRounds(LockNode node, boolean prepared) throws Exception {
		String lockName = "same-node-" + UUID.randomUUID();
		for (int i = 0; i < 20; i++) {
			// long enough that the hand-over always leaves the successor enough of its lease
			Lease held = node.lockManager().acquire(lockName, FIVE_MINUTES);
			CountDownLatch acquired = new CountDownLatch(1);
			CountDownLatch done = new CountDownLatch(1);
			Future<Long> waiter = executor.submit(() -> {
				try (Lease lease = node.lockManager().acquire(lockName, WAIT_10S)) {
					acquired.countDown();
					done.await(10, TimeUnit.SECONDS);
					return lease.fencingToken();
				}
			});
			NotifyNodes.awaitQueued(node, lockName, 1);
			NotifyNodes.awaitHeadAsleep(node, lockName);
			long drawn = prepared ? awaitSuccessorTokenDrawn(node, lockName, held) : 0;
			long before = StatementCounting.statements(node);
			if (prepared) {
				try (Connection blocker = lockRowElsewhere(lockName)) {
					held.close();
					assertThat(acquired.await(10, TimeUnit.SECONDS))
						.as("the waiter got the lock while another transaction locked its row").isTrue();
					assertThat(column(lockName, "fencing_token", Long.class)).as("the row until the confirmation")
						.isEqualTo(held.fencingToken());
				}
				await().atMost(Duration.ofSeconds(10))
					.until(() -> column(lockName, "fencing_token", Long.class) == drawn
							&& node.bean(DefaultLockManager.class).hasSuccessorToken(lockName));
			}
			else {
				held.close();
				assertThat(acquired.await(10, TimeUnit.SECONDS)).as("the waiter got the lock").isTrue();
			}
			long statements = StatementCounting.statements(node) - before;
			LeaseRow row = node.bean(LeaseStore.class).find(lockName).orElseThrow();
			Long successorToken = column(lockName, "successor_token", Long.class);
			done.countDown();
			long token = waiter.get(10, TimeUnit.SECONDS);
			assertThat(statements).as(prepared ? "statements from the release to the successor's confirmation"
					: "statements from the release to the waiter's grant").isEqualTo(1);
			assertThat(token).isGreaterThan(held.fencingToken());
			if (prepared) {
				assertThat(token).as("the token drawn for the successor while the holder worked").isEqualTo(drawn);
				assertThat(successorToken).as("the confirmation drew the next one").isGreaterThan(token);
			}
			else {
				assertThat(successorToken).as("no token drawn ahead").isNull();
			}
			assertThat(row.fencingToken()).isEqualTo(token);
			assertThat(row.ownerId()).isEqualTo(node.bean(DefaultLockManager.class).ownerId());
		}
	}

	/**
	 * Until its confirmation lands, the row names the lease a prepared successor followed, so the
	 * successor's lease lasts no longer than that one; the confirmation gives it its own.
	 */
	@Test
	void aPreparedSuccessorLastsNoLongerThanTheLeaseItFollowedUntilItsConfirmationLands() throws Exception {
		String lockName = "same-node-inherited-" + UUID.randomUUID();
		for (int i = 0; i < 5; i++) {
			Lease held = a.lockManager().acquire(lockName, FIVE_MINUTES);
			Future<Lease> waiter = executor.submit(() -> a.lockManager().acquire(lockName, FIVE_MINUTES.withWaitTime(
					Duration.ofSeconds(10))));
			long drawn = awaitPreparedFor(lockName, held);
			Lease successor;
			try (Connection blocker = lockRowElsewhere(lockName)) {
				held.close();
				successor = waiter.get(10, TimeUnit.SECONDS);
				assertThat(successor.fencingToken()).isEqualTo(drawn);
				assertThat(successor.expiresAt()).as("the expiry of the lease it followed").isEqualTo(held.expiresAt());
				assertThat(successor.isValid()).isTrue();
			}
			try (successor) {
				await().atMost(Duration.ofSeconds(10)).until(() -> successor.expiresAt().isAfter(held.expiresAt()));
				LeaseRow row = a.bean(LeaseStore.class).find(lockName).orElseThrow();
				assertThat(row.fencingToken()).isEqualTo(drawn);
				assertThat(successor.expiresAt()).as("its own five minutes").isEqualTo(row.expiresAt());
				assertThat(Duration.between(row.acquiredAt(), row.expiresAt())).isEqualTo(Duration.ofMinutes(5));
			}
		}
	}

	/**
	 * A successor asking for a shorter lease than the one it follows keeps its own: its lease,
	 * not renewed, ends on time although the lease it followed had far longer to go.
	 */
	@Test
	void aSuccessorAskingForAShorterLeaseThanItsPredecessorsKeepsItsOwn() throws Exception {
		String lockName = "same-node-shorter-" + UUID.randomUUID();
		Lease held = a.lockManager().acquire(lockName, LockOptions.defaults().withLeaseTime(Duration.ofSeconds(60)));
		Future<Lease> waiter = executor.submit(() -> a.lockManager()
			.acquire(lockName, WAIT_10S.withLeaseTime(Duration.ofSeconds(1)).withAutoRenew(false)));
		long drawn = awaitPreparedFor(lockName, held);
		held.close();
		try (Lease successor = waiter.get(10, TimeUnit.SECONDS)) {
			assertThat(successor.fencingToken()).isEqualTo(drawn);
			await().atMost(Duration.ofSeconds(5)).until(() -> column(lockName, "fencing_token", Long.class) == drawn);
			LeaseRow row = a.bean(LeaseStore.class).find(lockName).orElseThrow();
			assertThat(Duration.between(row.acquiredAt(), row.expiresAt())).as("its own 1 s lease")
				.isEqualTo(Duration.ofSeconds(1));
			await().atMost(Duration.ofSeconds(5)).until(() -> !successor.isValid());
			assertThat(column(lockName, "expires_at", Timestamp.class).toInstant()).as("not renewed")
				.isEqualTo(row.expiresAt());
		}
	}

	/**
	 * A successor that would keep less than half its own lease time by lasting no longer than the
	 * lease it follows is handed the lock in a statement instead: a fresh token, a full lease.
	 */
	@Test
	void aSuccessorThatWouldKeepTooLittleOfItsLeaseGetsAFreshTokenAndAFullLease() throws Exception {
		String lockName = "same-node-full-lease-" + UUID.randomUUID();
		Lease held = a.lockManager().acquire(lockName, LockOptions.defaults().withLeaseTime(Duration.ofSeconds(10)));
		Future<Lease> waiter = executor.submit(() -> a.lockManager()
			.acquire(lockName, WAIT_10S.withLeaseTime(Duration.ofSeconds(30))));
		long drawn = awaitPreparedFor(lockName, held);
		held.close();
		try (Lease successor = waiter.get(10, TimeUnit.SECONDS)) {
			LeaseRow row = a.bean(LeaseStore.class).find(lockName).orElseThrow();
			assertThat(successor.fencingToken()).isGreaterThan(drawn).isEqualTo(row.fencingToken());
			assertThat(successor.expiresAt()).as("its own 30 s lease").isEqualTo(row.expiresAt())
				.isAfter(held.expiresAt());
		}
	}

	/**
	 * A successor that ends its lease before its confirmation lands (another transaction keeps the
	 * row locked) releases the lock once it has landed: the lock is free for another node at once.
	 */
	@Test
	void aSuccessorReleasedBeforeItsConfirmationLandsLeavesTheLockFree() throws Exception {
		String lockName = "same-node-early-release-" + UUID.randomUUID();
		for (int i = 0; i < 5; i++) {
			Lease held = a.lockManager().acquire(lockName, FIVE_MINUTES);
			CountDownLatch acquired = new CountDownLatch(1);
			Future<Long> waiter = executor.submit(() -> {
				try (Lease lease = a.lockManager().acquire(lockName, FIVE_MINUTES.withWaitTime(Duration.ofSeconds(10)))) {
					acquired.countDown();
					return lease.fencingToken();
				}
			});
			long drawn = awaitPreparedFor(lockName, held);
			try (Connection blocker = lockRowElsewhere(lockName)) {
				held.close();
				assertThat(acquired.await(10, TimeUnit.SECONDS)).isTrue();
				// its release waits for the confirmation, which waits for the row
				assertThatExceptionOfType(TimeoutException.class)
					.isThrownBy(() -> waiter.get(300, TimeUnit.MILLISECONDS));
			}
			assertThat(waiter.get(10, TimeUnit.SECONDS)).isEqualTo(drawn);
			assertThat(a.bean(DefaultLockManager.class).heldLeaseCount()).isZero();
			Optional<Lease> other = b.lockManager().tryAcquire(lockName, LockOptions.defaults());
			assertThat(other).as("the lock is free for another node at once").isPresent();
			other.get().close();
		}
		assertThat(a.bean(DefaultLockManager.class).leasesLost()).as("leases found lost").isZero();
	}

	/**
	 * If the row no longer names the lease a prepared successor followed when its confirmation
	 * lands (here another transaction takes the lock over while keeping the row locked, as if that
	 * lease had expired), the successor's lease turns invalid at once and is counted lost, and
	 * its release leaves the new holder's lease alone.
	 */
	@Test
	void aPreparedSuccessorWhoseConfirmationFindsTheLockTakenOverTurnsInvalidAtOnce() throws Exception {
		String lockName = "same-node-taken-over-" + UUID.randomUUID();
		DefaultLockManager manager = a.bean(DefaultLockManager.class);
		Lease held = a.lockManager().acquire(lockName, FIVE_MINUTES);
		Future<Lease> waiter = executor.submit(() -> a.lockManager()
			.acquire(lockName, FIVE_MINUTES.withWaitTime(Duration.ofSeconds(10))));
		long drawn = awaitPreparedFor(lockName, held);
		long lostBefore = manager.leasesLost();
		Lease successor;
		try (Connection blocker = lockRowElsewhere(lockName)) {
			held.close();
			successor = waiter.get(10, TimeUnit.SECONDS);
			assertThat(successor.fencingToken()).isEqualTo(drawn);
			assertThat(successor.isValid()).isTrue();
			takeOver(blocker, lockName);
			blocker.commit();
		}
		try (successor) {
			await().atMost(Duration.ofSeconds(10)).until(() -> !successor.isValid());
			assertThatExceptionOfType(LeaseLostException.class).isThrownBy(successor::assertValid);
			assertThat(manager.leasesLost()).isEqualTo(lostBefore + 1);
		}
		LeaseRow row = a.bean(LeaseStore.class).find(lockName).orElseThrow();
		assertThat(row.ownerId()).as("the new holder's lease, left alone").isEqualTo("intruder");
		assertThat(row.fencingToken()).isGreaterThan(drawn);
		assertThat(row.isHeld()).isTrue();
	}

	/**
	 * The registration in the lock's row asks the holder's release to notify; a caller queued on
	 * the holder's own node needs none, since its node's release finds it in the queue. Written
	 * anyway, it would tell the holder's node that another node waits, and make it release the
	 * lock and wait its courtesy instead of handing it over.
	 */
	@Test
	void callerWaitingBehindAHolderOfItsOwnNodeDoesNotRegisterInTheLocksRow() throws Exception {
		String lockName = "same-node-unregistered-" + UUID.randomUUID();
		for (int i = 0; i < 5; i++) {
			long heldToken;
			Future<Long> sameNode;
			Future<Long> otherNode;
			try (Lease held = a.lockManager().acquire(lockName, LockOptions.defaults())) {
				heldToken = held.fencingToken();
				sameNode = sleepingWaiter(a, lockName);
				assertThat(waitersUntil(lockName)).as("registration by a caller of the holder's node").isNull();
				otherNode = sleepingWaiter(b, lockName);
				assertThat(waitersUntil(lockName)).as("registration by a caller of another node").isNotNull();
			}
			assertThat(sameNode.get(10, TimeUnit.SECONDS)).isGreaterThan(heldToken);
			assertThat(otherNode.get(10, TimeUnit.SECONDS)).isGreaterThan(heldToken);
		}
	}

	/** The same once the holder has kept its lease past its first lease time by renewing it. */
	@Test
	void callerWaitingBehindARenewedHolderOfItsOwnNodeDoesNotRegisterEither() throws Exception {
		String lockName = "same-node-renewed-" + UUID.randomUUID();
		Future<Long> sameNode;
		LockOptions oneSecondLease = LockOptions.defaults().withLeaseTime(Duration.ofSeconds(1));
		try (Lease held = a.lockManager().acquire(lockName, oneSecondLease)) {
			Instant firstExpiry = expiresAt(lockName);
			await().atMost(Duration.ofSeconds(10)).until(() -> expiresAt(lockName).isAfter(firstExpiry.plusSeconds(1)));
			assertThat(held.isValid()).isTrue();
			sameNode = sleepingWaiter(a, lockName);
			assertThat(waitersUntil(lockName)).as("registration by a caller of the holder's node").isNull();
		}
		assertThat(sameNode.get(10, TimeUnit.SECONDS)).isPositive();
	}

	/**
	 * Two callers of one node taking turns: each release hands the lock over to the other, so
	 * the lock is never free and no release is notified. A release can only go out when the
	 * next caller has not yet gone to sleep (after its one attempt) as the 20 ms section ends;
	 * before callers stopped registering behind their own node, every other turn went out.
	 */
	@Test
	void twoCallersOfOneNodeTakingTurnsHandTheLockOverWithoutReleasingIt() throws Exception {
		takeTurns(a);
	}

	/** The same when the hand-overs are release statements. */
	@Test
	void twoCallersOfOneNodeTakingTurnsHandTheLockOverInTheirReleaseStatements() throws Exception {
		takeTurns(durable);
	}

	private static void takeTurns(LockNode node) throws Exception {
		String lockName = "same-node-turns-" + UUID.randomUUID();
		String channel = node.bean(LeaseholdLockProperties.class).getNotify().getChannel();
		AtomicInteger inside = new AtomicInteger();
		AtomicInteger overlaps = new AtomicInteger();
		int sectionsEach = 20;
		TestDatabase database = TestDatabase.get();
		try (Connection listening = DriverManager.getConnection(database.jdbcUrl(), database.username(),
				database.password())) {
			try (Statement listen = listening.createStatement()) {
				listen.execute("LISTEN " + channel);
			}
			List<Future<?>> callers = new ArrayList<>();
			for (int i = 0; i < 2; i++) {
				callers.add(executor.submit(() -> {
					for (int j = 0; j < sectionsEach; j++) {
						try (Lease lease = node.lockManager().acquire(lockName, WAIT_10S)) {
							section(inside, overlaps, 20);
						}
					}
					return null;
				}));
			}
			for (Future<?> caller : callers) {
				caller.get(30, TimeUnit.SECONDS);
			}
			int releasesNotified = 0;
			PGNotification[] received;
			do {
				received = listening.unwrap(PGConnection.class).getNotifications(200);
				for (PGNotification notification : (received != null) ? received : new PGNotification[0]) {
					releasesNotified += notification.getParameter().equals(lockName) ? 1 : 0;
				}
			}
			while (received != null && received.length > 0);
			assertThat(releasesNotified).as("releases notified in %d sections", 2 * sectionsEach)
				.isLessThanOrEqualTo(3);
		}
		assertThat(overlaps).hasValue(0);
	}

	/**
	 * Without a limit on hand-overs in a row, callers of one node that keep taking a lock would
	 * never free it, and another node's caller would wait until its safety poll (30 s here).
	 */
	@Test
	void anotherNodesCallerIsServedWhileCallersOfOneNodeKeepHandingTheLockOver() throws Exception {
		String lockName = "same-node-busy-" + UUID.randomUUID();
		AtomicBoolean stop = new AtomicBoolean();
		AtomicInteger inside = new AtomicInteger();
		AtomicInteger overlaps = new AtomicInteger();
		AtomicInteger sectionsOfA = new AtomicInteger();
		List<Future<?>> busyCallers = new ArrayList<>();
		for (int i = 0; i < 3; i++) {
			busyCallers.add(executor.submit(() -> {
				while (!stop.get()) {
					try (Lease lease = a.lockManager().acquire(lockName, WAIT_10S)) {
						section(inside, overlaps);
						sectionsOfA.incrementAndGet();
					}
				}
				return null;
			}));
		}
		try {
			await().atMost(Duration.ofSeconds(10)).until(() -> sectionsOfA.get() >= 10);
			for (int i = 0; i < 20; i++) {
				long start = System.nanoTime();
				try (Lease lease = b.lockManager().acquire(lockName, WAIT_10S)) {
					Duration waited = Duration.ofNanos(System.nanoTime() - start);
					assertThat(waited).as("wait of the other node's caller").isLessThan(Duration.ofSeconds(2));
					section(inside, overlaps);
				}
				Thread.sleep(3);
			}
		}
		finally {
			stop.set(true);
		}
		for (Future<?> caller : busyCallers) {
			caller.get(15, TimeUnit.SECONDS); // each waited at most its 10 s every time
		}
		assertThat(overlaps).hasValue(0);
	}

	/**
	 * The waiter promised the lock gives up while the hand-over waits for the row (another
	 * transaction locks it): the releasing node releases the grant nobody took, and notifies the
	 * other node's caller whose registration the hand-over took over.
	 */
	@Test
	void grantHandedOverToACallerThatGaveUpIsReleasedAndOtherNodesAreNotified() throws Exception {
		String lockName = "same-node-gone-" + UUID.randomUUID();
		Lease held = durable.lockManager().acquire(lockName, LockOptions.defaults());
		Future<Optional<Lease>> waiter = executor.submit(() -> {
			Optional<Lease> lease = durable.lockManager().tryAcquire(lockName,
					LockOptions.defaults().withWaitTime(Duration.ofMillis(500)));
			lease.ifPresent(Lease::close);
			return lease;
		});
		Future<Long> otherNode = executor.submit(() -> {
			try (Lease lease = b.lockManager().acquire(lockName, WAIT_10S)) {
				return System.nanoTime();
			}
		});
		NotifyNodes.awaitQueued(durable, lockName, 1);
		NotifyNodes.awaitHeadAsleep(durable, lockName);
		NotifyNodes.awaitQueued(b, lockName, 1);
		NotifyNodes.awaitHeadAsleep(b, lockName);
		Future<?> release;
		long committed;
		try (Connection blocker = lockRowElsewhere(lockName)) {
			release = executor.submit(held::close);
			NotifyNodes.awaitHeadPromised(durable, lockName);
			assertThat(waiter.get(10, TimeUnit.SECONDS)).as("the waiter gave up").isEmpty();
			blocker.commit();
			committed = System.nanoTime();
		}
		release.get(10, TimeUnit.SECONDS);
		assertThat(durable.bean(DefaultLockManager.class).heldLeaseCount()).isZero();
		long otherAcquired = otherNode.get(15, TimeUnit.SECONDS);
		assertThat(Duration.ofNanos(otherAcquired - committed)).as("the other node's caller got the lock")
			.isLessThan(Duration.ofSeconds(2));
	}

	/**
	 * The node shuts down while a hand-over statement runs (another transaction holds the row):
	 * the grant it makes is released, not left to a caller that will not take it.
	 */
	@Test
	void shutdownDuringAHandOverLeavesNoLeaseBehind() throws Exception {
		String lockName = "same-node-shutdown-" + UUID.randomUUID();
		LockNode closing = NotifyNodes.start(NotifyNodes.uniqueName("same_c"), NotifyNodes.Config.class,
				SAFETY_POLL_30S, POLLING_MAX_30S, "leasehold.lock.notify.prepare-hand-overs=false");
		Future<Object> shutdown;
		try {
			NotifyNodes.awaitListening(closing);
			Lease held = closing.lockManager().acquire(lockName, LockOptions.defaults());
			executor.submit(() -> closing.lockManager().tryAcquire(lockName, WAIT_10S).ifPresent(Lease::close));
			NotifyNodes.awaitQueued(closing, lockName, 1);
			NotifyNodes.awaitHeadAsleep(closing, lockName);
			try (Connection blocker = lockRowElsewhere(lockName)) {
				executor.submit(held::close);
				NotifyNodes.awaitHeadPromised(closing, lockName);
				shutdown = executor.submit(() -> {
					closing.bean(DefaultLockManager.class).destroy();
					return null;
				});
				// shutdown waits for the hand-over in flight, as for any acquisition
				assertThatExceptionOfType(TimeoutException.class)
					.isThrownBy(() -> shutdown.get(300, TimeUnit.MILLISECONDS));
				blocker.commit();
			}
			shutdown.get(20, TimeUnit.SECONDS);
		}
		finally {
			closing.close();
		}
		Optional<Lease> other = b.lockManager().tryAcquire(lockName, LockOptions.defaults());
		assertThat(other).as("the lock is free for another node at once").isPresent();
		other.get().close();
	}

	/** A caller of the node waiting for the lock, asleep at the head of its node's queue; it answers its token. */
	private static Future<Long> sleepingWaiter(LockNode node, String lockName) {
		Future<Long> waiter = executor.submit(() -> {
			try (Lease lease = node.lockManager().acquire(lockName, WAIT_10S)) {
				return lease.fencingToken();
			}
		});
		NotifyNodes.awaitQueued(node, lockName, 1);
		NotifyNodes.awaitHeadAsleep(node, lockName);
		return waiter;
	}

	private static Instant expiresAt(String lockName) {
		return a.bean(LeaseStore.class).find(lockName).orElseThrow().expiresAt();
	}

	private static @Nullable Timestamp waitersUntil(String lockName) throws Exception {
		return column(lockName, "waiters_until", Timestamp.class);
	}

	/**
	 * Waits until a caller sleeps in node a's queue behind the holder, and the
	 * holder's successor token is drawn; answers the token.
	 */
	private static long awaitPreparedFor(String lockName, Lease holder) throws Exception {
		NotifyNodes.awaitQueued(a, lockName, 1);
		NotifyNodes.awaitHeadAsleep(a, lockName);
		return awaitSuccessorTokenDrawn(a, lockName, holder);
	}

	/** Waits until the holder's node has drawn the token of the holder's successor, and answers it. */
	private static long awaitSuccessorTokenDrawn(LockNode node, String lockName, Lease holder) throws Exception {
		await().atMost(Duration.ofSeconds(10))
			.until(() -> node.bean(DefaultLockManager.class).hasSuccessorToken(lockName));
		Long drawn = column(lockName, "successor_token", Long.class);
		assertThat(drawn).isNotNull().isGreaterThan(holder.fencingToken());
		return drawn;
	}

	/** A connection of the test's own: its statements are not counted as the nodes'. */
	private static Connection connect() throws Exception {
		TestDatabase database = TestDatabase.get();
		return DriverManager.getConnection(database.jdbcUrl(), database.username(), database.password());
	}

	private static <T> @Nullable T column(String lockName, String column, Class<T> type) throws Exception {
		String table = a.bean(LeaseholdLockProperties.class).getTableName();
		try (Connection connection = connect();
				PreparedStatement statement = connection
					.prepareStatement("SELECT " + column + " FROM " + table + " WHERE lock_name = ?")) {
			statement.setString(1, lockName);
			try (ResultSet rows = statement.executeQuery()) {
				assertThat(rows.next()).isTrue();
				return rows.getObject(1, type);
			}
		}
	}

	/** Grants the lock to another holder with a fresh token, in the transaction of {@code connection}. */
	private static void takeOver(Connection connection, String lockName) throws Exception {
		LeaseholdLockProperties properties = a.bean(LeaseholdLockProperties.class);
		try (PreparedStatement statement = connection.prepareStatement("UPDATE " + properties.getTableName()
				+ " SET owner_id = 'intruder', fencing_token = nextval('" + properties.getSequenceName()
				+ "'), successor_token = NULL, expires_at = clock_timestamp() + interval '1 minute'"
				+ " WHERE lock_name = ?")) {
			statement.setString(1, lockName);
			assertThat(statement.executeUpdate()).isOne();
		}
	}

	/**
	 * A transaction of the test's own that holds the lock's row {@code FOR UPDATE} until it ends:
	 * every statement on the row waits for it.
	 */
	private static Connection lockRowElsewhere(String lockName) throws Exception {
		Connection connection = connect();
		connection.setAutoCommit(false);
		lockRow(connection, lockName);
		return connection;
	}

	private static void lockRow(Connection connection, String lockName) throws Exception {
		String table = a.bean(LeaseholdLockProperties.class).getTableName();
		try (PreparedStatement statement = connection
			.prepareStatement("SELECT 1 FROM " + table + " WHERE lock_name = ? FOR UPDATE")) {
			statement.setString(1, lockName);
			assertThat(statement.executeQuery().next()).isTrue();
		}
	}

	private static void section(AtomicInteger inside, AtomicInteger overlaps) throws InterruptedException {
		section(inside, overlaps, 2);
	}

	private static void section(AtomicInteger inside, AtomicInteger overlaps, long millis)
			throws InterruptedException {
		if (inside.incrementAndGet() != 1) {
			overlaps.incrementAndGet();
		}
		Thread.sleep(millis);
		inside.decrementAndGet();
	}

}
