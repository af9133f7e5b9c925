package io.leasehold.sample;

import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;


/**
 * {@code POST /accounts/{id}/deposits?amount=10} deposits under the account's lock;
 * {@code GET /accounts/{id}} shows the balance and the fencing token of the last write;
 * {@code POST /accounts/{id}/paused-holder-demo} shows a paused holder's write being rejected.
 */
@RestController
class AccountController {

	private final AccountService accounts;

	private final PausedHolderDemo pausedHolderDemo;

	AccountController(AccountService accounts, PausedHolderDemo pausedHolderDemo) {
		this.accounts = accounts;
		this.pausedHolderDemo = pausedHolderDemo;
	}

	@PostMapping("/accounts/{id}/deposits")
	Account deposit(@PathVariable String id, @RequestParam long amount) {
		return this.accounts.deposit(id, amount);
	}

	/** Runs the paused-holder demonstration on the account and tells what happened. */
	@PostMapping("/accounts/{id}/paused-holder-demo")
	PausedHolderDemo.Outcome pausedHolderDemo(@PathVariable String id) {
		return this.pausedHolderDemo.run(id);
	}

	@GetMapping("/accounts/{id}")
	ResponseEntity<Account> account(@PathVariable String id) {
		return ResponseEntity.of(this.accounts.find(id));
	}

}
