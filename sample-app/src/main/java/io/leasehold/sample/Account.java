package io.leasehold.sample;

import org.springframework.data.annotation.Id;

import io.leasehold.lock.fencing.FencedAggregate;

/**
 * An account, a Spring Data JDBC aggregate that keeps the fencing token it was last written with.
 */
public record Account(@Id String id, long balance, long fencingToken)
		implements FencedAggregate<Account> {

	static Account open(String id) {
		return new Account(id, 0, 0);
	}

	Account deposit(long amount) {
		return new Account(this.id, this.balance + amount, this.fencingToken);
	}

	@Override
	public Account withFencingToken(long fencingToken) {
		return new Account(this.id, this.balance, fencingToken);
	}

}
