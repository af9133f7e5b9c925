package io.leasehold.lock.test;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import io.leasehold.lock.LockManager;

/**
 * One application instance ("node") in a test: its own Spring Boot context, DataSource pool and
 * lock manager, on the shared test database.
 */
public final class LockNode implements AutoCloseable {

	private final ConfigurableApplicationContext context;

	private LockNode(ConfigurableApplicationContext context) {
		this.context = context;
	}

	/**
	 * Starts a node from the given configuration classes (which should enable
	 * auto-configuration) and extra properties.
	 */
	public static LockNode start(Class<?>[] configurations, String... properties) {
		List<String> all = new ArrayList<>(List.of(TestDatabase.get().datasourceProperties()));
		all.add("spring.datasource.hikari.maximum-pool-size=8");
		all.add("spring.main.banner-mode=off");
		all.addAll(List.of(properties));
		SpringApplication application = new SpringApplicationBuilder(configurations)
			.web(WebApplicationType.NONE)
			.properties(all.toArray(String[]::new))
			.build();
		return new LockNode(application.run());
	}

	public static LockNode start(Class<?> configuration, String... properties) {
		return start(new Class<?>[] { configuration }, properties);
	}

	public LockManager lockManager() {
		return this.context.getBean(LockManager.class);
	}

	public <T> T bean(Class<T> type) {
		return this.context.getBean(type);
	}

	public ConfigurableApplicationContext context() {
		return this.context;
	}

	@Override
	public void close() {
		this.context.close();
	}

}
