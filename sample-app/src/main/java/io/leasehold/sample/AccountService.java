package io.leasehold.sample;

import java.util.Optional;

import org.springframework.data.jdbc.core.JdbcAggregateTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import io.leasehold.lock.DistributedLock;

/**
 * Deposits to an account run one at a time per account across all nodes (a CORRECTNESS lock,
 * the default). The lease is taken before the transaction begins and released after it
 * commits; the commit is guarded (it goes through only while the lease holds), and the saved
 * aggregate carries the lease's fencing token, which the table's trigger checks.
 */
@Service
public class AccountService {

	private final AccountRepository accounts;

	private final JdbcAggregateTemplate aggregates;

	AccountService(AccountRepository accounts, JdbcAggregateTemplate aggregates) {
		this.accounts = accounts;
		this.aggregates = aggregates;
	}

	@DistributedLock(name = "account", key = "#accountId", waitTime = "2s")
	@Transactional
	public Account deposit(String accountId, long amount) {
		return save(this.accounts.findById(accountId), accountId, amount);
	}

	/** Inserts a new account or updates the one read; either way stamped with the lease's token. */
	Account save(Optional<Account> read, String accountId, long amount) {
		return read.map((account) -> this.aggregates.update(account.deposit(amount)))
			.orElseGet(() -> this.aggregates.insert(Account.open(accountId).deposit(amount)));
	}

	public Optional<Account> find(String accountId) {
		return this.accounts.findById(accountId);
	}

}
