package io.leasehold.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

import javax.sql.DataSource;

import org.jspecify.annotations.Nullable;

import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

import io.leasehold.lock.Lease;
import io.leasehold.lock.LockManager;
import io.leasehold.lock.LockOptions;
import io.leasehold.lock.notify.PostgresReleaseListener;
import io.leasehold.lock.store.LeaseStore;

/**
 * Leasehold through its programmatic {@link LockManager}: each node is a real Spring Boot
 * application context with the starter's auto-configuration, its own HikariCP pool and its own
 * release listener. The pool's DataSource is wrapped to count the statements the node sends.
 */
final class LeaseholdAdapter implements LockAdapter {

	private final String name;

	private final List<Node> nodes;

	private final RecordingLeaseStore.@Nullable Outcomes outcomes;

	private LeaseholdAdapter(String name, List<Node> nodes, RecordingLeaseStore.@Nullable Outcomes outcomes) {
		this.name = name;
		this.nodes = nodes;
		this.outcomes = outcomes;
	}

	/**
	 * Starts the nodes and waits until each listens for releases.
	 * @param extraProperties {@code name=value} pairs added to every node, e.g. from the command line
	 * @param recordOutcomes whether to record what each acquire statement answers (diagnostics)
	 * @param experiments names of {@link Experiments} to apply; empty for the stock library
	 */
	static LeaseholdAdapter start(String name, BenchDatabase database, int nodeCount, int poolSize,
			List<String> extraProperties, boolean recordOutcomes, Set<String> experiments) throws InterruptedException {
		return start(name, database, nodeCount, poolSize, extraProperties, recordOutcomes, experiments,
				LeaseholdNodeApplication.class);
	}

	/** As above, with the application's configuration classes ({@link LeaseholdNodeApplication} and more). */
	static LeaseholdAdapter start(String name, BenchDatabase database, int nodeCount, int poolSize,
			List<String> extraProperties, boolean recordOutcomes, Set<String> experiments, Class<?>... sources)
			throws InterruptedException {
		RecordingLeaseStore.Outcomes outcomes = recordOutcomes ? new RecordingLeaseStore.Outcomes() : null;
		List<Node> nodes = new ArrayList<>();
		for (int i = 0; i < nodeCount; i++) {
			nodes.add(Node.start(database, i, poolSize, extraProperties, outcomes, experiments, sources));
		}
		LeaseholdAdapter adapter = new LeaseholdAdapter(name, nodes, outcomes);
		for (Node node : nodes) {
			node.awaitListening(Duration.ofSeconds(10));
		}
		return adapter;
	}

	@Override
	public String name() {
		return this.name;
	}

	@Override
	public int nodeCount() {
		return this.nodes.size();
	}

	@Override
	public Session open(int node) {
		LockManager manager = this.nodes.get(node).lockManager;
		ConcurrentMap<Duration, LockOptions> options = new ConcurrentHashMap<>();
		return (lockName, waitTime) -> {
			Optional<Lease> lease = manager.tryAcquire(lockName,
					options.computeIfAbsent(waitTime, LockOptions.defaults()::withWaitTime));
			return lease.map(LeaseHandle::new).orElse(null);
		};
	}

	@Override
	public StatementCounter statements(int node) {
		return this.nodes.get(node).counter;
	}

	@Override
	public boolean issuesFencingTokens() {
		return true;
	}

	/** What the acquire statements answered, when recorded. */
	RecordingLeaseStore.@Nullable Outcomes outcomes() {
		return this.outcomes;
	}

	/** The node's application context, for diagnostics. */
	ConfigurableApplicationContext context(int node) {
		return this.nodes.get(node).context;
	}

	@Override
	public void close() {
		for (Node node : this.nodes) {
			node.context.close();
		}
	}

	/** Names the kind of a Leasehold statement from its SQL. */
	static String classify(String sql) {
		String text = sql.replaceAll("\\s+", " ");
		if (text.contains("ON CONFLICT")) {
			return "acquire";
		}
		if (text.contains("pg_notify") || text.contains("greatest(clock_timestamp(), acquired_at")) {
			return "release";
		}
		if (text.contains("SET successor_token")) {
			return "draw";
		}
		if (text.contains("AS confirmed")) {
			return "confirm";
		}
		if (text.contains("WITH locked")) {
			return "hand-over";
		}
		if (text.startsWith("SELECT set_config") && text.contains("UPDATE") && text.contains("SET expires_at")) {
			return "renew";
		}
		if (text.contains("DELETE FROM")) {
			return "clean-up";
		}
		if (text.contains("SELECT lock_name, owner_id")) {
			return "find";
		}
		return "other: " + text.substring(0, Math.min(40, text.length()));
	}

	private record LeaseHandle(Lease lease) implements Handle {

		@Override
		public long token() {
			return this.lease.fencingToken();
		}

		@Override
		public void release() {
			this.lease.close();
		}

	}

	private record Node(ConfigurableApplicationContext context, LockManager lockManager,
			@Nullable PostgresReleaseListener listener, StatementCounter counter) {

		static Node start(BenchDatabase database, int index, int poolSize, List<String> extraProperties,
				RecordingLeaseStore.@Nullable Outcomes outcomes, Set<String> experiments, Class<?>... sources) {
			StatementCounter counter = new StatementCounter(LeaseholdAdapter::classify);
			List<String> properties = new ArrayList<>(List.of(database.datasourceProperties()));
			properties.add("spring.datasource.hikari.maximum-pool-size=" + poolSize);
			properties.add("spring.datasource.hikari.pool-name=leasehold-node-" + index);
			properties.add("spring.main.banner-mode=off");
			properties.add("spring.main.log-startup-info=false");
			properties.add("logging.level.root=WARN");
			properties.add("leasehold.lock.owner-id=bench-node-" + index + "-" + ProcessHandle.current().pid());
			properties.addAll(extraProperties);
			if (experiments.contains(Experiments.FAST_NOTIFY)) {
				properties.add("benchmark.experiment.fast-notify=true");
			}
			boolean noZeroHint = experiments.contains(Experiments.NO_ZERO_HINT);
			ConfigurableApplicationContext context = new SpringApplicationBuilder(sources)
				.web(WebApplicationType.NONE)
				.properties(properties.toArray(String[]::new))
				.initializers((applicationContext) -> applicationContext.getBeanFactory()
					.addBeanPostProcessor(new CountingPostProcessor(counter, outcomes, noZeroHint)))
				.run();
			return new Node(context, context.getBean(LockManager.class),
					context.getBeanProvider(PostgresReleaseListener.class).getIfAvailable(), counter);
		}

		void awaitListening(Duration timeout) throws InterruptedException {
			if (this.listener == null) {
				return;
			}
			long deadline = System.nanoTime() + timeout.toNanos();
			while (!this.listener.isListening()) {
				if (System.nanoTime() - deadline > 0) {
					throw new IllegalStateException("The release listener of a Leasehold node is not listening: "
							+ this.listener.state() + ", last failure " + this.listener.lastFailure());
				}
				Thread.sleep(10);
			}
		}

	}

	/**
	 * The node's application.
	 */
	@Configuration(proxyBeanMethods = false)
	@EnableAutoConfiguration
	@Import(Experiments.FastNotifyConfiguration.class)
	static class LeaseholdNodeApplication {

	}

	/**
	 * Wraps the node's DataSource to count statements and, for diagnostics, its lease store.
	 */
	private record CountingPostProcessor(StatementCounter counter, RecordingLeaseStore.@Nullable Outcomes outcomes,
			boolean noZeroHint) implements BeanPostProcessor {

		@Override
		public Object postProcessAfterInitialization(Object bean, String beanName) {
			if (bean instanceof DataSource dataSource && !(bean instanceof CountingDataSource)) {
				return new CountingDataSource(dataSource, this.counter);
			}
			if (bean instanceof LeaseStore store && (this.outcomes != null || this.noZeroHint)) {
				LeaseStore wrapped = (this.outcomes != null) ? new RecordingLeaseStore(store, this.outcomes) : store;
				return this.noZeroHint ? new Experiments.NoZeroHintLeaseStore(wrapped) : wrapped;
			}
			return bean;
		}

	}

}
