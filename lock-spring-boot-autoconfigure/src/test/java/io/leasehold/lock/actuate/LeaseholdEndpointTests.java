package io.leasehold.lock.actuate;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import org.springframework.boot.actuate.endpoint.EndpointId;
import org.springframework.boot.actuate.endpoint.InvocationContext;
import org.springframework.boot.actuate.endpoint.OperationType;
import org.springframework.boot.actuate.endpoint.SecurityContext;
import org.springframework.boot.actuate.endpoint.jmx.ExposableJmxEndpoint;
import org.springframework.boot.actuate.endpoint.jmx.JmxEndpointsSupplier;
import org.springframework.boot.actuate.endpoint.jmx.JmxOperation;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.actuate.LeaseholdEndpoint.LeaseDescriptor;
import io.leasehold.lock.actuate.LeaseholdEndpoint.LeasesDescriptor;
import io.leasehold.lock.actuate.LeaseholdEndpoint.ReleaseDescriptor;
import io.leasehold.lock.core.DefaultLockManager;
import io.leasehold.lock.store.LeaseStore;
import io.leasehold.lock.test.LockNode;
import io.leasehold.lock.test.TestDatabase;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

/**
 * The {@code leasehold} Actuator endpoint and health indicator as docs/endpoint.md describes
 * them. Without a web server on the test class path, operations are invoked on the beans, and
 * through the Actuator's own operation discovery (the one its JMX and web exposure build on) to
 * check which operations the configured access lets through.
 */
class LeaseholdEndpointTests {

	private static final String SUFFIX = UUID.randomUUID().toString().replace("-", "").substring(0, 12);

	private static final String OWNER = "endpoint-node-" + SUFFIX;

	/** Its own table, so that the read operation lists a handful of rows, and so it can be dropped. */
	private static final String TABLE = "lh_endpoint_" + SUFFIX;

	private static final String SEQUENCE = "lh_endpoint_seq_" + SUFFIX;

	private static LockNode node;

	private static LeaseholdEndpoint endpoint;

	private final JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());

	@BeforeAll
	static void startNode() {
		node = LockNode.start(Config.class, "leasehold.lock.owner-id=" + OWNER, "leasehold.lock.table-name=" + TABLE,
				"leasehold.lock.sequence-name=" + SEQUENCE, "leasehold.lock.lease-time=30s",
				"management.endpoint.leasehold.access=unrestricted", "spring.jmx.enabled=true",
				"spring.jmx.unique-names=true", "management.endpoints.jmx.exposure.include=leasehold,health");
		endpoint = node.bean(LeaseholdEndpoint.class);
	}

	@AfterAll
	static void stopNode() {
		node.close();
		JdbcTemplate jdbc = new JdbcTemplate(TestDatabase.get().dataSource());
		jdbc.execute("DROP TABLE IF EXISTS " + TABLE);
		jdbc.execute("DROP SEQUENCE IF EXISTS " + SEQUENCE);
	}

	@Test
	void readListsALeaseThisNodeHoldsWithItsRemainingTimeByTheDatabaseClock() {
		String name = "endpoint-read-" + UUID.randomUUID();
		try (Lease lease = node.lockManager().acquire(name, LockOptions.defaults())) {
			LeasesDescriptor leases = endpoint.leases();
			assertThat(leases.node()).isEqualTo(OWNER).isEqualTo(node.bean(DefaultLockManager.class).ownerId());
			LeaseDescriptor described = find(leases, name);
			assertThat(described.owner()).isEqualTo(OWNER);
			assertThat(described.token()).isEqualTo(lease.fencingToken());
			assertThat(described.held()).isTrue();
			assertThat(described.heldByThisNode()).isTrue();
			assertThat(described.expires()).isEqualTo(lease.expiresAt());
			assertThat(Duration.between(described.acquired(), described.expires())).isEqualTo(Duration.ofSeconds(30));
			assertThat(described.remaining()).isPositive().isLessThanOrEqualTo(Duration.ofSeconds(30));
		}
		LeaseDescriptor released = find(endpoint.leases(), name);
		assertThat(released.held()).isFalse();
		assertThat(released.heldByThisNode()).isFalse();
		assertThat(released.remaining()).isZero();
	}

	@Test
	void readTellsLeasesOfOtherNodesFromThoseOfThisNode() {
		String name = "endpoint-other-" + UUID.randomUUID();
		LeaseStore store = node.bean(LeaseStore.class);
		long token = store.tryAcquire(name, "some-other-node", Duration.ofSeconds(30), Duration.ofSeconds(1))
			.granted()
			.fencingToken();
		try {
			LeaseDescriptor described = find(endpoint.leases(), name);
			assertThat(described.owner()).isEqualTo("some-other-node");
			assertThat(described.token()).isEqualTo(token);
			assertThat(described.held()).isTrue();
			assertThat(described.heldByThisNode()).isFalse();
			assertThat(described.remaining()).isPositive();
		}
		finally {
			store.release(name, token, Duration.ZERO);
		}
	}

	@Test
	void writeReleasesALeaseByNameAndTokenAndItsHolderFindsItLost() throws Exception {
		String name = "endpoint-write-" + UUID.randomUUID();
		DefaultLockManager manager = node.bean(DefaultLockManager.class);
		long lostBefore = manager.leasesLost();
		Lease lease = manager.acquire(name, LockOptions.defaults().withAutoRenew(false));
		ReleaseDescriptor wrongToken = endpoint.release(name, lease.fencingToken() + 1);
		assertThat(wrongToken).isEqualTo(new ReleaseDescriptor(name, lease.fencingToken() + 1, false));
		assertThat(find(endpoint.leases(), name).held()).isTrue();
		ReleaseDescriptor released = endpoint.release(name, lease.fencingToken());
		assertThat(released).isEqualTo(new ReleaseDescriptor(name, lease.fencingToken(), true));
		assertThat(find(endpoint.leases(), name).held()).isFalse();
		assertThat(endpoint.release(name, lease.fencingToken()).released()).isFalse();
		// the lock is free for another caller now (on another thread: this one would re-enter its
		// lease); the former holder learns it lost the lease when it releases it
		long nextToken = CompletableFuture.supplyAsync(() -> {
			try (Lease next = manager.tryAcquire(name, LockOptions.defaults()).orElseThrow()) {
				return next.fencingToken();
			}
		}).get(10, TimeUnit.SECONDS);
		assertThat(nextToken).isGreaterThan(lease.fencingToken());
		lease.close();
		assertThat(manager.leasesLost()).isEqualTo(lostBefore + 1);
	}

	@Test
	void actuatorOperationsReadAndReleaseWithUnrestrictedAccess() {
		ExposableJmxEndpoint leasehold = actuatorEndpoint(node);
		assertThat(leasehold.getOperations()).extracting(JmxOperation::getName, JmxOperation::getType)
			.containsExactlyInAnyOrder(tuple("leases", OperationType.READ),
					tuple("release", OperationType.WRITE));
		String name = "endpoint-actuator-" + UUID.randomUUID();
		Lease lease = node.lockManager().acquire(name, LockOptions.defaults().withAutoRenew(false));
		try {
			Object read = operation(leasehold, "leases").invoke(context(Map.of()));
			assertThat(read).isInstanceOfSatisfying(LeasesDescriptor.class,
					(leases) -> assertThat(find(leases, name).heldByThisNode()).isTrue());
			// arguments arrive as strings from the web and JMX; the Actuator converts the token
			Object released = operation(leasehold, "release")
				.invoke(context(Map.of("name", name, "token", Long.toString(lease.fencingToken()))));
			assertThat(released).isEqualTo(new ReleaseDescriptor(name, lease.fencingToken(), true));
		}
		finally {
			lease.close();
		}
	}

	@Test
	void healthIsUpWithTheTableAndTheListenerState() {
		LeaseholdHealthIndicator health = node.bean(LeaseholdHealthIndicator.class);
		await().atMost(Duration.ofSeconds(10))
			.untilAsserted(() -> assertThat(health.health(true).getDetails()).containsEntry("listener", "listening"));
		Health up = health.health(true);
		assertThat(up.getStatus()).isEqualTo(Status.UP);
		assertThat(up.getDetails()).containsOnlyKeys("table", "listener", "node", "heldLeases")
			.containsEntry("table", TABLE)
			.containsEntry("listener", "listening")
			.containsEntry("node", node.bean(DefaultLockManager.class).ownerId());
	}

	@Test
	void defaultAccessIsReadOnlyAndHealthIsDownWhenTheTableIsMissing() {
		String suffix = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
		String table = "lh_health_" + suffix;
		String sequence = "lh_health_seq_" + suffix;
		try (LockNode readOnly = LockNode.start(Config.class, "leasehold.lock.table-name=" + table,
				"leasehold.lock.sequence-name=" + sequence, "leasehold.lock.notify.enabled=false",
				"spring.jmx.enabled=true", "spring.jmx.unique-names=true",
				"management.endpoints.jmx.exposure.include=leasehold,health")) {
			assertThat(actuatorEndpoint(readOnly).getOperations()).extracting(JmxOperation::getName)
				.containsExactly("leases");
			LeaseholdHealthIndicator health = readOnly.bean(LeaseholdHealthIndicator.class);
			assertThat(health.health(true).getStatus()).isEqualTo(Status.UP);
			// without notifications there is no listener, so no listener detail
			assertThat(health.health(true).getDetails()).containsOnlyKeys("table", "node", "heldLeases")
				.containsEntry("table", table);
			this.jdbc.execute("DROP TABLE " + table);
			Health down = health.health(true);
			assertThat(down.getStatus()).isEqualTo(Status.DOWN);
			assertThat(down.getDetails()).containsOnlyKeys("error");
			assertThat((String) down.getDetails().get("error")).contains("The lease table '" + table + "'")
				.contains("does not exist");
		}
		finally {
			this.jdbc.execute("DROP TABLE IF EXISTS " + table);
			this.jdbc.execute("DROP SEQUENCE IF EXISTS " + sequence);
		}
	}

	private static LeaseDescriptor find(LeasesDescriptor leases, String name) {
		List<LeaseDescriptor> matching = leases.leases().stream().filter((lease) -> lease.name().equals(name)).toList();
		assertThat(matching).as("leases named %s", name).hasSize(1);
		return matching.get(0);
	}

	private static ExposableJmxEndpoint actuatorEndpoint(LockNode node) {
		return node.bean(JmxEndpointsSupplier.class)
			.getEndpoints()
			.stream()
			.filter((endpoint) -> endpoint.getEndpointId().equals(EndpointId.of("leasehold")))
			.findFirst()
			.orElseThrow();
	}

	private static JmxOperation operation(ExposableJmxEndpoint endpoint, String name) {
		return endpoint.getOperations().stream().filter((operation) -> operation.getName().equals(name)).findFirst()
			.orElseThrow();
	}

	private static InvocationContext context(Map<String, Object> arguments) {
		return new InvocationContext(SecurityContext.NONE, arguments);
	}

	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	static class Config {

	}

}
