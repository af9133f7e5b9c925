package io.leasehold.sample;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.web.client.RestClient;


import static org.assertj.core.api.Assertions.assertThat;

/**
 * Starts the sample as a newcomer would, on its embedded PostgreSQL, and uses its REST endpoint.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT, properties = "sample.report.interval=1h")
class SampleApplicationTests {

	@LocalServerPort
	int port;

	@Autowired
	TaskScheduler taskScheduler;

	@Test
	void concurrentDepositsToOneAccountAreAllApplied() throws Exception {
		RestClient client = RestClient.create("http://127.0.0.1:" + this.port);
		ExecutorService executor = Executors.newFixedThreadPool(8);
		try {
			List<CompletableFuture<Account>> deposits = IntStream.range(0, 40)
				.mapToObj((i) -> CompletableFuture.supplyAsync(() -> client.post()
					.uri("/accounts/bob/deposits?amount=5")
					.retrieve()
					.body(Account.class), executor))
				.toList();
			List<Long> tokens = deposits.stream().map(CompletableFuture::join).map(Account::fencingToken).toList();
			assertThat(tokens).doesNotHaveDuplicates();
		}
		finally {
			executor.shutdown();
		}
		Account account = client.get().uri("/accounts/bob").retrieve().body(Account.class);
		assertThat(account).isNotNull();
		assertThat(account.balance()).isEqualTo(200);
	}

	@Test
	void pausedHoldersWriteIsRejectedAndTheNewerHoldersDepositKept() {
		RestClient client = RestClient.create("http://127.0.0.1:" + this.port);
		client.post().uri("/accounts/carol/deposits?amount=10").retrieve().toBodilessEntity();
		PausedHolderDemo.Outcome outcome = client.post()
			.uri("/accounts/carol/paused-holder-demo")
			.retrieve()
			.body(PausedHolderDemo.Outcome.class);
		assertThat(outcome).isNotNull();
		assertThat(outcome.newerHolderToken()).isGreaterThan(outcome.pausedHolderToken());
		assertThat(outcome.pausedHolderWrite()).startsWith("rejected: ");
		assertThat(outcome.balance()).isEqualTo(110);
	}

	@Test
	void applicationKeepsItsOwnTaskScheduler() {
		assertThat(this.taskScheduler.getClass().getName()).doesNotContain("leasehold");
	}

}
