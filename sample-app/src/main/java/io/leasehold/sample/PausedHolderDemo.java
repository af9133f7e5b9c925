package io.leasehold.sample;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import javax.sql.DataSource;

import org.springframework.boot.ApplicationArguments;
import org.springframework.boot.ApplicationRunner;
import org.springframework.stereotype.Component;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.StaleFencingTokenException;
import io.leasehold.lock.fencing.FencingTrigger;

/**
 * Shows what fencing is for. Holder A takes an account's lock with a one-second lease and no
 * renewal, reads the account, and "pauses" (as in a long GC) while holder B waits out A's lease,
 * takes the lock and deposits. Then A wakes up and saves what it computed from its stale read:
 * the account table's trigger sees that B's newer token has touched the row, and rejects A's write.
 */
@Component
class PausedHolderDemo implements ApplicationRunner {

	private final LockManager lockManager;

	private final AccountService accounts;

	private final DataSource dataSource;

	PausedHolderDemo(LockManager lockManager, AccountService accounts, DataSource dataSource) {
		this.lockManager = lockManager;
		this.accounts = accounts;
		this.dataSource = dataSource;
	}

	/** Holds every writer of the account table to token order, even one that bypasses Leasehold. */
	@Override
	public void run(ApplicationArguments args) {
		FencingTrigger.install(this.dataSource, "account", "fencing_token");
	}

	Outcome run(String accountId) {
		LockOptions shortLease = LockOptions.defaults()
			.withLeaseTime(Duration.ofSeconds(1))
			.withAutoRenew(false)
			.withPurpose(Purpose.EFFICIENCY);
		try (Lease holderA = this.lockManager.acquire("account:" + accountId, shortLease)) {
			Optional<Account> staleRead = this.accounts.find(accountId);
			Account holderB = CompletableFuture.supplyAsync(() -> this.accounts.deposit(accountId, 100)).join();
			try {
				this.accounts.save(staleRead, accountId, 1);
				return new Outcome(holderA.fencingToken(), holderB.fencingToken(), "accepted: the update of B was lost",
						balance(accountId));
			}
			catch (RuntimeException ex) {
				StaleFencingTokenException stale = FencingTrigger.translate(ex);
				if (stale == null) {
					throw ex;
				}
				return new Outcome(holderA.fencingToken(), holderB.fencingToken(), "rejected: " + stale.getMessage(),
						balance(accountId));
			}
		}
	}

	private long balance(String accountId) {
		return this.accounts.find(accountId).map(Account::balance).orElse(0L);
	}

	/** What happened to the paused holder's write. */
	record Outcome(long pausedHolderToken, long newerHolderToken, String pausedHolderWrite, long balance) {
	}

}
