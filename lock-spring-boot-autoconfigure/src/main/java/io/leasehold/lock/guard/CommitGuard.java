package io.leasehold.lock.guard;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.core.InfrastructureProxy;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.transaction.TransactionExecution;
import org.springframework.transaction.TransactionExecutionListener;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LeaseLostException;
import io.leasehold.lock.LockStoreException;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.store.LeaseDataSource;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;

/**
 * Guards the commits of {@link io.leasehold.lock.Purpose#CORRECTNESS CORRECTNESS} locks. A
 * transaction that begins while its thread holds such leases gets a synchronization that, just
 * before the commit and in the same transaction, locks each lease row {@code FOR SHARE} and
 * checks that it still carries the lease's token and has not expired by the database clock.
 * The row lock keeps anyone from taking the lease over until the commit ends. If a lease is gone,
 * the exception thrown rolls the transaction back and reaches the caller as it is:
 * {@link StaleFencingTokenException} when another holder has taken the lock since, else
 * {@link LeaseLostException}. Only transactions on the lease database are checked.
 */
public class CommitGuard implements TransactionExecutionListener {

	private final DefaultLockManager lockManager;

	private final LeaseStore store;

	private final DataSource leaseDataSource;

	public CommitGuard(DefaultLockManager lockManager, LeaseStore store, DataSource leaseDataSource) {
		this.lockManager = lockManager;
		this.store = store;
		this.leaseDataSource = LeaseDataSource.unwrap(leaseDataSource);
	}

	@Override
	public void afterBegin(TransactionExecution transaction, @Nullable Throwable beginFailure) {
		if (beginFailure == null && TransactionSynchronizationManager.isSynchronizationActive()
				&& !this.lockManager.correctnessLeasesOfCurrentThread().isEmpty()) {
			TransactionSynchronizationManager.registerSynchronization(new GuardSynchronization());
		}
	}

	/**
	 * Checks, in the current transaction, every correctness lease the thread holds.
	 * @throws LeaseLostException when a lease has expired or is gone
	 * @throws StaleFencingTokenException when another holder has taken the lock since
	 */
	void verify() {
		List<Lease> leases = this.lockManager.correctnessLeasesOfCurrentThread();
		Connection connection = leaseDatabaseConnection();
		if (leases.isEmpty() || connection == null) {
			return;
		}
		for (Lease lease : leases) {
			// a lease handed over within the node is named in its row once its hand-over is confirmed
			this.lockManager.awaitConfirmation(lease);
			Optional<LeaseRow> row;
			try {
				row = this.store.lockForCommit(connection, lease.lockName());
			}
			catch (SQLException ex) {
				throw new LockStoreException("Could not confirm lease on lock '" + lease.lockName() + "' (token "
						+ lease.fencingToken() + ") before commit; the transaction was rolled back", ex);
			}
			check(lease, row.orElse(null));
			if (!lease.isValid()) {
				// Held by the database clock still, but past the holder's own deadline: do not bet on it.
				lease.assertValid();
			}
		}
	}

	private static void check(Lease lease, @Nullable LeaseRow row) {
		if (row != null && row.fencingToken() > lease.fencingToken()) {
			throw new StaleFencingTokenException("Commit under lock '" + lease.lockName() + "' (now held by "
					+ row.ownerId() + ")", lease.fencingToken(), row.fencingToken(), null);
		}
		if (row == null || row.fencingToken() != lease.fencingToken()) {
			throw new LeaseLostException(lease.lockName(), lease.fencingToken(),
					"its row is gone at commit; the transaction was rolled back");
		}
		if (!row.isHeld()) {
			throw new LeaseLostException(lease.lockName(), lease.fencingToken(), "it expired at " + row.expiresAt()
					+ " by the database clock, before the commit; the transaction was rolled back");
		}
	}

	/** The connection of the current transaction on the lease database, if it has one. */
	private @Nullable Connection leaseDatabaseConnection() {
		for (Map.Entry<Object, Object> resource : TransactionSynchronizationManager.getResourceMap().entrySet()) {
			Object key = resource.getKey();
			if (key instanceof InfrastructureProxy proxy) {
				key = proxy.getWrappedObject();
			}
			if (key instanceof DataSource dataSource && LeaseDataSource.unwrap(dataSource) == this.leaseDataSource
					&& resource.getValue() instanceof ConnectionHolder holder && holder.isSynchronizedWithTransaction()) {
				return holder.getConnection();
			}
		}
		return null;
	}

	private final class GuardSynchronization implements TransactionSynchronization {

		/** A read-only transaction writes nothing to guard (and may not lock rows). */
		@Override
		public void beforeCommit(boolean readOnly) {
			if (!readOnly) {
				verify();
			}
		}

		@Override
		public int getOrder() {
			// Last before the commit, after other synchronizations flushed their writes.
			return LOWEST_PRECEDENCE;
		}

	}

}
