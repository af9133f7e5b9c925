package io.leasehold.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.Purpose;

/**
 * Scenario C ({@code guard}): what the commit guard of CORRECTNESS locks costs per commit. One
 * node runs small transactions (one insert) inside a held lease, in alternating blocks with
 * EFFICIENCY and CORRECTNESS leases, and times the transaction (begin to commit) only.
 */
final class CommitGuardCostScenario {

	private static final int BLOCK = 200;

	private final int blocks;

	CommitGuardCostScenario(boolean smoke) {
		this.blocks = smoke ? 2 : 10;
	}

	void run(BenchDatabase database) {
		List<String> properties = new ArrayList<>(List.of(database.datasourceProperties()));
		properties.add("spring.main.banner-mode=off");
		properties.add("logging.level.root=WARN");
		try (ConfigurableApplicationContext context = new SpringApplicationBuilder(Config.class)
			.web(WebApplicationType.NONE)
			.properties(properties.toArray(String[]::new))
			.run()) {
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			jdbc.execute("CREATE TABLE IF NOT EXISTS bench_guarded_write (id bigserial PRIMARY KEY, payload text)");
			LockManager locks = context.getBean(LockManager.class);
			TransactionTemplate transactions = context.getBean(TransactionTemplate.class);
			LongList efficiency = new LongList();
			LongList correctness = new LongList();
			for (int block = 0; block < this.blocks; block++) {
				time(locks, transactions, jdbc, Purpose.EFFICIENCY, efficiency);
				time(locks, transactions, jdbc, Purpose.CORRECTNESS, correctness);
			}
			jdbc.execute("DROP TABLE bench_guarded_write");
			Percentiles plain = Percentiles.of(efficiency.toArray());
			Percentiles guarded = Percentiles.of(correctness.toArray());
			System.out.printf(Locale.ROOT, "%n[C] commit guard: %d transactions of one insert per purpose, inside a held lease%n",
					efficiency.size());
			System.out.printf(Locale.ROOT, "  EFFICIENCY (no guard) : p50 %s, p99 %s, mean %s%n",
					Percentiles.ms(plain.p50()), Percentiles.ms(plain.p99()), Percentiles.ms(plain.mean()));
			System.out.printf(Locale.ROOT, "  CORRECTNESS (guarded) : p50 %s, p99 %s, mean %s%n",
					Percentiles.ms(guarded.p50()), Percentiles.ms(guarded.p99()), Percentiles.ms(guarded.mean()));
			System.out.printf(Locale.ROOT, "  guard cost per commit : p50 %+.3f ms, mean %+.3f ms (one SELECT ... FOR SHARE)%n",
					(guarded.p50() - plain.p50()) / 1e6, (guarded.mean() - plain.mean()) / 1e6);
		}
	}

	private static void time(LockManager locks, TransactionTemplate transactions, JdbcTemplate jdbc, Purpose purpose,
			LongList times) {
		String lockName = "bench-guard-" + UUID.randomUUID();
		try (Lease lease = locks.acquire(lockName, LockOptions.defaults().withPurpose(purpose))) {
			for (int i = 0; i < BLOCK; i++) {
				long start = System.nanoTime();
				transactions.executeWithoutResult((status) -> jdbc
					.update("INSERT INTO bench_guarded_write (payload) VALUES (?)", lease.lockName()));
				times.add(System.nanoTime() - start);
			}
		}
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
