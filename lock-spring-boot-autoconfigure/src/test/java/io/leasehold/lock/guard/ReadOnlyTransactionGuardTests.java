package io.leasehold.lock.guard;

import java.util.UUID;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.Purpose;
import io.leasehold.lock.test.LockNode;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Read-only transactions inside CORRECTNESS locked calls: they write nothing, so there is nothing
 * for the commit guard to protect, and PostgreSQL refuses its {@code FOR SHARE} in them.
 */
class ReadOnlyTransactionGuardTests {

	private static LockNode node;

	@BeforeAll
	static void startNode() {
		node = LockNode.start(Config.class);
	}

	@AfterAll
	static void stopNode() {
		node.close();
	}

	@Test
	void readOnlyTransactionInsideEfficiencyLockCommits() {
		assertThat(node.bean(Reader.class).readEfficiently("efficient-" + UUID.randomUUID())).isOne();
	}

	@Test
	void readOnlyTransactionInsideCorrectnessLockCommits() {
		assertThat(node.bean(Reader.class).read("correct-" + UUID.randomUUID())).isOne();
	}

	static class Reader {

		private final JdbcTemplate jdbc;

		Reader(JdbcTemplate jdbc) {
			this.jdbc = jdbc;
		}

		@DistributedLock(name = "read-only", key = "#id")
		@Transactional(readOnly = true)
		public int read(String id) {
			return this.jdbc.queryForObject("SELECT 1", Integer.class);
		}

		@DistributedLock(name = "read-only", key = "#id", purpose = Purpose.EFFICIENCY)
		@Transactional(readOnly = true)
		public int readEfficiently(String id) {
			return this.jdbc.queryForObject("SELECT 1", Integer.class);
		}

	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

		@Bean
		Reader reader(JdbcTemplate jdbc) {
			return new Reader(jdbc);
		}

	}

}
