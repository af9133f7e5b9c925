package io.leasehold.benchmarks;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

import io.leasehold.lock.store.Acquisition;
import io.leasehold.lock.store.Confirmation;
import io.leasehold.lock.store.LeaseRow;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.store.Succession;

/**
 * A {@link LeaseStore} that passes every call on; wrappers override what they observe or change.
 */
abstract class DelegatingLeaseStore implements LeaseStore {

	protected final LeaseStore delegate;

	DelegatingLeaseStore(LeaseStore delegate) {
		this.delegate = delegate;
	}

	@Override
	public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout) {
		return this.delegate.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout);
	}

	@Override
	public Acquisition tryAcquire(String lockName, String ownerId, Duration leaseTime, Duration rowLockTimeout,
			Duration waiterRegistration) {
		return this.delegate.tryAcquire(lockName, ownerId, leaseTime, rowLockTimeout, waiterRegistration);
	}

	@Override
	public Optional<Instant> renew(String lockName, long fencingToken, Duration leaseTime) {
		return this.delegate.renew(lockName, fencingToken, leaseTime);
	}

	@Override
	public boolean release(String lockName, long fencingToken, Duration minHoldTime, boolean waitersHere) {
		return this.delegate.release(lockName, fencingToken, minHoldTime, waitersHere);
	}

	@Override
	public OptionalLong drawSuccessorToken(String lockName, long fencingToken, Duration leaseTime) {
		return this.delegate.drawSuccessorToken(lockName, fencingToken, leaseTime);
	}

	@Override
	public Optional<Succession> handOver(String lockName, long fencingToken, String ownerId, Duration leaseTime) {
		return this.delegate.handOver(lockName, fencingToken, ownerId, leaseTime);
	}

	@Override
	public Optional<Confirmation> confirmHandOver(String lockName, long predecessorToken, long successorToken,
			Duration leaseTime) {
		return this.delegate.confirmHandOver(lockName, predecessorToken, successorToken, leaseTime);
	}

	@Override
	public Optional<LeaseRow> lockForCommit(Connection connection, String lockName) throws SQLException {
		return this.delegate.lockForCommit(connection, lockName);
	}

	@Override
	public List<LeaseRow> findAll(int limit) {
		return this.delegate.findAll(limit);
	}

	@Override
	public Optional<LeaseRow> find(String lockName) {
		return this.delegate.find(lockName);
	}

	@Override
	public int deleteExpired(Duration retention) {
		return this.delegate.deleteExpired(retention);
	}

}
