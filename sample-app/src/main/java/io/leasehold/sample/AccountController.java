package io.leasehold.sample;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import io.leasehold.sample.AccountService.Account;

/**
 * {@code POST /accounts/{id}/deposits?amount=10} deposits under the account's lock;
 * {@code GET /accounts/{id}} shows the balance and the fencing token of the last write.
 */
@RestController
class AccountController {

	private final AccountService accounts;

	AccountController(AccountService accounts) {
		this.accounts = accounts;
	}

	@PostMapping("/accounts/{id}/deposits")
	Account deposit(@PathVariable String id, @RequestParam long amount) {
		return this.accounts.deposit(id, amount, 0);
	}

	@GetMapping("/accounts/{id}")
	ResponseEntity<Account> account(@PathVariable String id) {
		return ResponseEntity.of(this.accounts.find(id));
	}

}
