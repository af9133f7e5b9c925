package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import com.zaxxer.hikari.HikariDataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A sizing floor, not a lock library: the least a <em>server-side hand-over</em> with durable
 * grants costs, measured to decide whether Leasehold should adopt one (issue 3's throughput
 * target). The head waiter of a node registers the node as the lock's successor in the lease
 * row; the holder's release grants the lease to the registered node in its own commit (a fresh
 * token drawn under the row lock, {@code synchronous_commit = on}) and notifies, so the next
 * holder runs after one statement and one notification, with no statement of its own. A release
 * with no successor frees the row and notifies, and the heads of the nodes then race as on the
 * floor. Left out, because a sizing run does not need them: lease expiry and renewal, local
 * deadlines, lost notifications (no safety poll beyond a 100 ms re-check), shutdown.
 */
final class HandoverFloorAdapter implements LockAdapter {

	static final String NAME = "handover-floor";

	private static final String TABLE = "bench_handover_lock";

	private static final String SEQUENCE = TABLE + "_seq";

	private static final String CHANNEL = "bench_handover";

	/** Grants a free or expired lock, or else registers the node as successor if the slot is empty. */
	private static final String ATTEMPT = """
			WITH locked AS MATERIALIZED (
			    SELECT lock_name FROM %1$s WHERE lock_name = ? AND expires_at <= clock_timestamp() FOR UPDATE),
			taken AS (
			    UPDATE %1$s AS lease SET owner_id = ?, fencing_token = nextval('%2$s'), successor = NULL,
			        expires_at = clock_timestamp() + interval '30 seconds'
			    FROM locked WHERE lease.lock_name = locked.lock_name
			    RETURNING lease.fencing_token),
			created AS (
			    INSERT INTO %1$s (lock_name, owner_id, fencing_token, expires_at)
			    SELECT ?, ?, nextval('%2$s'), clock_timestamp() + interval '30 seconds'
			    WHERE NOT EXISTS (SELECT FROM %1$s WHERE lock_name = ?)
			    ON CONFLICT (lock_name) DO NOTHING
			    RETURNING fencing_token),
			registered AS (
			    UPDATE %1$s SET successor = ?
			    WHERE lock_name = ? AND successor IS NULL AND expires_at > clock_timestamp()
			      AND NOT EXISTS (SELECT FROM taken) AND NOT EXISTS (SELECT FROM created)
			    RETURNING lock_name)
			SELECT fencing_token FROM taken
			UNION ALL SELECT fencing_token FROM created
			UNION ALL SELECT 0 FROM registered
			    -- only a grant must be durable: a registration commits without waiting for its flush
			    WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL""".formatted(TABLE, SEQUENCE);

	/**
	 * Ends the lease named by its token: grants it to the registered successor, or frees it. The
	 * decision and every value come from the row as locked, not from the statement's snapshot.
	 */
	private static final String RELEASE = """
			WITH held AS MATERIALIZED (
			    SELECT lock_name, successor FROM %1$s WHERE lock_name = ? AND fencing_token = ? FOR UPDATE),
			ended AS (
			    UPDATE %1$s AS lease SET
			        owner_id = coalesce(held.successor, lease.owner_id),
			        fencing_token = CASE WHEN held.successor IS NULL THEN lease.fencing_token ELSE nextval('%2$s') END,
			        expires_at = clock_timestamp()
			            + CASE WHEN held.successor IS NULL THEN interval '0' ELSE interval '30 seconds' END,
			        successor = NULL
			    FROM held WHERE lease.lock_name = held.lock_name
			    RETURNING lease.lock_name, held.successor, lease.fencing_token)
			SELECT pg_notify('%3$s', lock_name || '|' || coalesce(successor || '|' || fencing_token, ''))
			FROM ended""".formatted(TABLE, SEQUENCE, CHANNEL);

	private final BenchDatabase database;

	private final List<Node> nodes = new ArrayList<>();

	HandoverFloorAdapter(BenchDatabase database, int nodeCount, int poolSize) throws SQLException {
		this.database = database;
		try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
			statement.execute("DROP TABLE IF EXISTS " + TABLE);
			statement.execute("CREATE TABLE " + TABLE + " (lock_name text PRIMARY KEY, owner_id text NOT NULL,"
					+ " fencing_token bigint NOT NULL, expires_at timestamptz NOT NULL, successor text)"
					+ " WITH (fillfactor = 80)");
			statement.execute("CREATE SEQUENCE IF NOT EXISTS " + SEQUENCE);
		}
		for (int i = 0; i < nodeCount; i++) {
			this.nodes.add(new Node(NAME + "-node-" + i, poolSize));
		}
	}

	@Override
	public String name() {
		return NAME;
	}

	@Override
	public int nodeCount() {
		return this.nodes.size();
	}

	@Override
	public Session open(int node) {
		Node target = this.nodes.get(node);
		return (lockName, waitTime) -> {
			long token = target.acquire(lockName, waitTime);
			return (token < 0) ? null : new Held(target, lockName, token);
		};
	}

	@Override
	public StatementCounter statements(int node) {
		return this.nodes.get(node).counter;
	}

	@Override
	public boolean issuesFencingTokens() {
		return true;
	}

	@Override
	public void close() throws Exception {
		for (Node node : this.nodes) {
			node.close();
		}
	}

	static String classify(String sql) {
		return sql.contains("registered AS") ? "attempt" : sql.contains("ended AS") ? "release" : "other";
	}

	private record Held(Node node, String lockName, long token) implements Handle {

		@Override
		public void release() throws SQLException {
			this.node.release(this.lockName, this.token);
		}

	}

	/** A waiter of a node, in its lock's queue: given a token by a grant or a hand-over. */
	private static final class Waiter {

		long token = -1;

		boolean shouldAttempt = true;

	}

	/** One application instance: a pool, a listener connection, and per lock a queue of waiters. */
	private final class Node implements AutoCloseable {

		private final String id;

		private final HikariDataSource pool;

		private final StatementCounter counter = new StatementCounter(HandoverFloorAdapter::classify);

		private final CountingDataSource dataSource;

		private final Connection listener;

		private final Thread dispatcher;

		private final ReentrantLock lock = new ReentrantLock();

		private final Condition changed = this.lock.newCondition();

		private final Map<String, ArrayDeque<Waiter>> queues = new HashMap<>();

		private volatile boolean running = true;

		Node(String id, int poolSize) throws SQLException {
			this.id = id;
			this.pool = Pools.pool(HandoverFloorAdapter.this.database, id, poolSize);
			this.dataSource = new CountingDataSource(this.pool, this.counter);
			this.listener = Experiments.withoutPendingMessagePeek(HandoverFloorAdapter.this.database.connect());
			try (Statement statement = this.listener.createStatement()) {
				statement.execute("LISTEN " + CHANNEL);
			}
			this.dispatcher = new Thread(this::dispatch, id + "-listener");
			this.dispatcher.setDaemon(true);
			this.dispatcher.start();
		}

		long acquire(String lockName, Duration waitTime) throws Exception {
			long deadline = System.nanoTime() + waitTime.toNanos();
			Waiter me = new Waiter();
			this.lock.lock();
			try {
				this.queues.computeIfAbsent(lockName, (name) -> new ArrayDeque<>()).add(me);
				ArrayDeque<Waiter> queue = this.queues.get(lockName);
				while (true) {
					if (me.token >= 0) { // handed over by a release
						queue.remove(me);
						wakeNextHead(lockName, queue);
						return me.token;
					}
					if (queue.peek() == me && me.shouldAttempt) {
						me.shouldAttempt = false;
						this.lock.unlock();
						long token;
						try {
							token = attempt(lockName);
						}
						finally {
							this.lock.lock();
						}
						if (token > 0 && me.token < 0) {
							me.token = token;
						}
						if (me.token >= 0) {
							queue.remove(me);
							wakeNextHead(lockName, queue);
							return me.token;
						}
						// registered (0) or busy (-1): a notification makes the head try again,
						// also one that arrived during this attempt
						continue;
					}
					long left = deadline - System.nanoTime();
					if (left <= 0) {
						queue.remove(me);
						wakeNextHead(lockName, queue);
						return -1;
					}
					if (!this.changed.await(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS)) {
						me.shouldAttempt = true; // a re-check, in case a notification was missed
					}
				}
			}
			finally {
				this.lock.unlock();
			}
		}

		/** @return the token of a grant, 0 when registered as successor, -1 when busy */
		private long attempt(String lockName) throws SQLException {
			try (Connection connection = this.dataSource.getConnection();
					PreparedStatement statement = connection.prepareStatement(ATTEMPT)) {
				statement.setString(1, lockName);
				statement.setString(2, this.id);
				statement.setString(3, lockName);
				statement.setString(4, this.id);
				statement.setString(5, lockName);
				statement.setString(6, this.id);
				statement.setString(7, lockName);
				try (ResultSet rows = statement.executeQuery()) {
					return rows.next() ? rows.getLong(1) : -1;
				}
			}
			catch (SQLException ex) {
				if ("23505".equals(ex.getSQLState())) {
					return -1; // lost the race to create the row
				}
				throw ex;
			}
		}

		void release(String lockName, long token) throws SQLException {
			try (Connection connection = this.dataSource.getConnection();
					PreparedStatement statement = connection.prepareStatement(RELEASE)) {
				statement.setString(1, lockName);
				statement.setLong(2, token);
				statement.executeQuery().close();
			}
		}

		private void wakeNextHead(String lockName, ArrayDeque<Waiter> queue) {
			Waiter head = queue.peek();
			if (head == null) {
				this.queues.remove(lockName);
			}
			else {
				head.shouldAttempt = true;
				this.changed.signalAll();
			}
		}

		private void dispatch() {
			PGConnection notifications;
			try {
				notifications = this.listener.unwrap(PGConnection.class);
			}
			catch (SQLException ex) {
				throw new IllegalStateException(ex);
			}
			while (this.running) {
				try {
					PGNotification[] received = notifications.getNotifications(100);
					if (received != null) {
						for (PGNotification notification : received) {
							notified(notification.getParameter());
						}
					}
				}
				catch (SQLException ex) {
					if (this.running) {
						System.out.println("  " + this.id + " listener failed: " + ex);
					}
					return;
				}
			}
		}

		/** {@code lock|} when freed, {@code lock|node|token} when handed over to a node. */
		private void notified(String payload) throws SQLException {
			String[] parts = payload.split("\\|", -1);
			String lockName = parts[0];
			boolean handedHere = parts.length == 3 && parts[1].equals(this.id);
			this.lock.lock();
			try {
				ArrayDeque<Waiter> queue = this.queues.get(lockName);
				Waiter head = (queue != null) ? queue.peek() : null;
				if (handedHere && head != null) {
					head.token = Long.parseLong(parts[2]);
					this.changed.signalAll();
					return;
				}
				if (!handedHere) {
					if (head != null) {
						head.shouldAttempt = true; // freed, or the successor slot is empty again
						this.changed.signalAll();
					}
					return;
				}
			}
			finally {
				this.lock.unlock();
			}
			release(lockName, Long.parseLong(parts[2])); // handed to a node whose waiters all left
		}

		@Override
		public void close() throws Exception {
			this.running = false;
			this.dispatcher.join(1000);
			this.listener.close();
			this.pool.close();
		}

	}

}
