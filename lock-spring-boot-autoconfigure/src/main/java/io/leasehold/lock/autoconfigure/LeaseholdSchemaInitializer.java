package io.leasehold.lock.autoconfigure;

import org.springframework.beans.factory.InitializingBean;

import io.leasehold.lock.autoconfigure.LeaseholdLockProperties.InitializeSchema;
import io.leasehold.lock.store.PostgresSchema;

/**
 * Creates the lease schema at start-up when configured to, then checks it is usable, so a
 * missing table fails the start-up rather than the first locked call.
 */
public class LeaseholdSchemaInitializer implements InitializingBean {

	private final PostgresSchema schema;

	private final InitializeSchema mode;

	public LeaseholdSchemaInitializer(PostgresSchema schema, InitializeSchema mode) {
		this.schema = schema;
		this.mode = mode;
	}

	@Override
	public void afterPropertiesSet() {
		if (this.mode == InitializeSchema.ALWAYS) {
			this.schema.create();
		}
		this.schema.verify();
	}

}
