package io.leasehold.lock.notify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static io.leasehold.lock.notify.NotifyNodes.POLLING_MAX_30S;
import static io.leasehold.lock.notify.NotifyNodes.SAFETY_POLL_30S;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A lease that ends by expiring, not by a release, notifies nobody. The first waiter of each
 * node learned the holder's remaining time from its busy answer and tries again right at the
 * expiry, long before its 30-second safety poll: the new grant follows the old lease's end
 * closely by the database clock.
 */
class CrashedHolderTests {

	/** Far below the 30-second safety poll, yet far above a round trip. */
	private static final Duration MARGIN = Duration.ofMillis(500);

	private static LockNode w1;

	private static LockNode w2;

	private ExecutorService executor;

	@BeforeAll
	static void startNodes() {
		w1 = NotifyNodes.start(NotifyNodes.uniqueName("crash_w1"), NotifyNodes.Config.class, SAFETY_POLL_30S,
				POLLING_MAX_30S);
		w2 = NotifyNodes.start(NotifyNodes.uniqueName("crash_w2"), NotifyNodes.Config.class, SAFETY_POLL_30S,
				POLLING_MAX_30S);
		NotifyNodes.awaitListening(w1, w2);
	}

	@AfterAll
	static void stopNodes() {
		w1.close();
		w2.close();
	}

	/** Threads of their own: an abandoned lease stays on its thread's stack of leases. */
	@BeforeEach
	void startExecutor() {
		this.executor = Executors.newCachedThreadPool();
	}

	@AfterEach
	void stopExecutor() {
		this.executor.shutdownNow();
	}

	@Test
	void waiterGetsTheLockOfACrashedHolderRightAfterItsLeaseExpires() throws Exception {
		String lockName = "crashed-" + UUID.randomUUID();
		try (LockNode crashing = LockNode.start(NotifyNodes.Config.class)) {
			Lease crashed = crashing.lockManager()
				.acquire(lockName, LockOptions.defaults().withLeaseTime(Duration.ofSeconds(2)).withAutoRenew(false));
			// The node loses its database: it can neither renew nor release the lease.
			crashing.bean(DataSource.class).unwrap(HikariDataSource.class).close();

			List<Future<Grant>> waiting = new ArrayList<>();
			for (LockNode node : List.of(w1, w2, w1, w2)) {
				waiting.add(this.executor.submit(() -> {
					try (Lease lease = node.lockManager()
						.acquire(lockName, LockOptions.defaults().withWaitTime(Duration.ofSeconds(10)))) {
						return grant(lockName, lease.fencingToken());
					}
				}));
			}
			NotifyNodes.awaitQueued(w1, lockName, 2);
			NotifyNodes.awaitQueued(w2, lockName, 2);
			Grant before = grant(lockName, crashed.fencingToken());
			assertThat(before.expiresAt()).isEqualTo(crashed.expiresAt());
			assertThat(before.expired()).as("the crashed lease expired before the waiters queued").isFalse();

			List<Grant> grants = results(waiting);
			assertThat(grants).extracting(Grant::fencingToken)
				.doesNotHaveDuplicates()
				.allMatch((token) -> token > crashed.fencingToken());
			Grant first = grants.stream().min(Comparator.comparingLong(Grant::fencingToken)).orElseThrow();
			Duration gap = Duration.between(crashed.expiresAt(), first.acquiredAt());
			System.out.println("From the crashed lease's expiry to the next grant, by the database clock: " + gap);
			assertThat(gap).isGreaterThanOrEqualTo(Duration.ZERO).isLessThan(MARGIN);
		}
	}

	/**
	 * Each holder abandons its lease: the first waiter of the other node, refused by the new
	 * holder's lease, learned its end too and takes the lock when that lease expires.
	 */
	@Test
	void eachAbandonedLeasePassesToTheNextNodeRightAfterItExpires() throws Exception {
		String lockName = "abandoned-" + UUID.randomUUID();
		LockOptions abandoned = LockOptions.defaults().withLeaseTime(Duration.ofSeconds(1)).withAutoRenew(false);
		// On a thread of its own: a waiter on the thread that holds the lease would re-enter it.
		ExecutorService initialHolder = Executors.newSingleThreadExecutor();
		Grant initial;
		try {
			initial = initialHolder.submit(() -> {
				Lease lease = w1.lockManager().acquire(lockName, abandoned);
				return grant(lockName, lease.fencingToken());
			}).get(10, TimeUnit.SECONDS);
		}
		finally {
			initialHolder.shutdown();
		}
		List<Future<Grant>> waiting = new ArrayList<>();
		for (LockNode node : List.of(w1, w2)) {
			waiting.add(this.executor.submit(() -> {
				Lease lease = node.lockManager().acquire(lockName, abandoned.withWaitTime(Duration.ofSeconds(10)));
				return grant(lockName, lease.fencingToken());
			}));
		}
		NotifyNodes.awaitQueued(w1, lockName, 1);
		NotifyNodes.awaitQueued(w2, lockName, 1);
		assertThat(grant(lockName, initial.fencingToken()).expired()).isFalse();

		List<Grant> grants = new ArrayList<>(results(waiting));
		grants.add(initial);
		grants.sort(Comparator.comparingLong(Grant::fencingToken));
		assertThat(grants.get(0)).isEqualTo(initial);
		for (int i = 1; i < grants.size(); i++) {
			Duration gap = Duration.between(grants.get(i - 1).expiresAt(), grants.get(i).acquiredAt());
			assertThat(gap).as("from the end of lease %d to the next grant", i)
				.isGreaterThanOrEqualTo(Duration.ZERO)
				.isLessThan(MARGIN);
		}
	}

	private static List<Grant> results(List<Future<Grant>> waiting) throws Exception {
		List<Grant> grants = new ArrayList<>();
		for (Future<Grant> future : waiting) {
			grants.add(future.get(15, TimeUnit.SECONDS));
		}
		return grants;
	}

	/**
	 * The row of the lease with this token, read from the table once it names the token: a lease
	 * handed over within a node is named there once its hand-over is confirmed, a moment after it
	 * was taken.
	 */
	private static Grant grant(String lockName, long fencingToken) {
		return await().atMost(Duration.ofSeconds(5))
			.ignoreExceptionsInstanceOf(AssertionError.class)
			.until(() -> readGrant(lockName, fencingToken), (grant) -> true);
	}

	private static Grant readGrant(String lockName, long fencingToken) {
		String sql = """
				SELECT acquired_at, expires_at, expires_at <= clock_timestamp()
				FROM leasehold_lock WHERE lock_name = ? AND fencing_token = ?""";
		try (Connection connection = TestDatabase.get().dataSource().getConnection();
				PreparedStatement statement = connection.prepareStatement(sql)) {
			statement.setString(1, lockName);
			statement.setLong(2, fencingToken);
			try (ResultSet rows = statement.executeQuery()) {
				assertThat(rows.next()).as("lease row of token %d", fencingToken).isTrue();
				return new Grant(fencingToken, rows.getObject(1, OffsetDateTime.class).toInstant(),
						rows.getObject(2, OffsetDateTime.class).toInstant(), rows.getBoolean(3));
			}
		}
		catch (SQLException ex) {
			throw new IllegalStateException(ex);
		}
	}

	private record Grant(long fencingToken, Instant acquiredAt, Instant expiresAt, boolean expired) {

	}

}
