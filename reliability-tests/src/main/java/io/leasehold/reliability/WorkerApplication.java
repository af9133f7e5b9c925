package io.leasehold.reliability;

import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import com.zaxxer.hikari.HikariDataSource;
import io.leasehold.lock.LockManager;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * A worker JVM of the fault suite: a Spring Boot application without a web server that runs the
 * {@link Workload} and writes its {@link History}. Configured by arguments such as
 * {@code --worker.id=w1 --worker.history=... --worker.store-url=... --spring.datasource.url=...
 * --leasehold.lock.lease-time=500ms}. Prints {@code READY <id> <pid>} once started; SIGTERM
 * closes the context, which stops the workload and releases every lease.
 */
@SpringBootConfiguration
@EnableAutoConfiguration
public class WorkerApplication {

	public static final String READY = "READY";

	@Bean
	WorkerSettings workerSettings(Environment env) {
		return WorkerSettings.from(env);
	}

	@Bean(destroyMethod = "close")
	History history(WorkerSettings settings) {
		History history = new History(settings.history(), settings.id());
		history.note("start", "api=" + settings.api() + " fenced=" + settings.fenced() + " locks=" + settings.locks());
		return history;
	}

	/** The store's pool is not a DataSource bean: that would switch off the lease DataSource's auto-configuration. */
	@Bean(destroyMethod = "close")
	CounterStore counterStore(WorkerSettings settings) {
		HikariDataSource dataSource = new HikariDataSource();
		dataSource.setJdbcUrl(settings.storeUrl());
		dataSource.setUsername(settings.storeUser());
		dataSource.setMaximumPoolSize(2);
		dataSource.setMinimumIdle(1);
		dataSource.setPoolName("store");
		dataSource.addDataSourceProperty("ApplicationName", "rel-" + settings.id() + "-store");
		return new CounterStore(dataSource, settings.fenced());
	}

	@Bean
	AnnotatedCounter annotatedCounter() {
		return new AnnotatedCounter();
	}

	@Bean
	Workload workload(WorkerSettings settings, LockManager manager, AnnotatedCounter counter, CounterStore store,
			History history) {
		return new Workload(settings, manager, counter, store, history);
	}

	/** The pool's connection timeout: part of the bound on every lease call (I7). */
	public static final Duration POOL_TIMEOUT = Duration.ofMillis(1500);

	public static void main(String[] args) throws InterruptedException, SQLException {
		SpringApplication application = new SpringApplication(WorkerApplication.class);
		Map<String, Object> defaults = new LinkedHashMap<>();
		defaults.put("spring.main.web-application-type", "none");
		defaults.put("spring.main.banner-mode", "off");
		defaults.put("logging.level.root", "WARN");
		defaults.put("spring.datasource.username", "postgres");
		defaults.put("spring.datasource.hikari.maximum-pool-size", "4");
		// Bounds how long a lease call waits for a connection while lockdb is unreachable
		// (HikariCP's defaults: 30 s, and 5 s to validate an idle connection).
		defaults.put("spring.datasource.hikari.connection-timeout", Long.toString(POOL_TIMEOUT.toMillis()));
		defaults.put("spring.datasource.hikari.validation-timeout", "1000");
		defaults.put("spring.datasource.hikari.data-source-properties.ApplicationName", "rel-${worker.id}-lock");
		defaults.put("leasehold.lock.owner-id", "${worker.id}");
		application.setDefaultProperties(defaults);
		ConfigurableApplicationContext context = application.run(args);
		WorkerSettings settings = context.getBean(WorkerSettings.class);
		context.getBean(History.class).note("ready", null);
		System.out.println(READY + " " + settings.id() + " " + ProcessHandle.current().pid());
		System.out.flush();
		Workload workload = context.getBean(Workload.class);
		workload.awaitDone();
		if (!workload.stoppedByContext()) {
			System.exit(SpringApplication.exit(context));
		}
	}

}
