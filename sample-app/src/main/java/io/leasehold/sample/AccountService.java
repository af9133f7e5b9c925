package io.leasehold.sample;

import java.util.Optional;

import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.FencingToken;

/**
 * Deposits to an account run one at a time per account across all nodes. The lease is taken
 * before the transaction begins and released after it commits; each write records the lease's
 * fencing token, and is refused if the row has already seen a newer one.
 */
@Service
public class AccountService {

	private final JdbcClient jdbc;

	AccountService(JdbcClient jdbc) {
		this.jdbc = jdbc;
	}

	@DistributedLock(name = "account", key = "#accountId", waitTime = "2s")
	@Transactional
	public Account deposit(String accountId, long amount, @FencingToken long token) {
		this.jdbc.sql("INSERT INTO account (id, balance, fencing_token) VALUES (:id, 0, 0) ON CONFLICT (id) DO NOTHING")
			.param("id", accountId)
			.update();
		int updated = this.jdbc.sql("""
				UPDATE account SET balance = balance + :amount, fencing_token = :token
				WHERE id = :id AND fencing_token < :token""")
			.param("amount", amount)
			.param("token", token)
			.param("id", accountId)
			.update();
		if (updated == 0) {
			throw new IllegalStateException("Account " + accountId + " has seen a newer fencing token than " + token);
		}
		return find(accountId).orElseThrow();
	}

	public Optional<Account> find(String accountId) {
		return this.jdbc.sql("SELECT id, balance, fencing_token FROM account WHERE id = :id")
			.param("id", accountId)
			.query(Account.class)
			.optional();
	}

	public record Account(String id, long balance, long fencingToken) {
	}

}
