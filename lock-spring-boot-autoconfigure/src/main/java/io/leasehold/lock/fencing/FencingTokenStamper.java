package io.leasehold.lock.fencing;

import org.springframework.core.Ordered;
import org.springframework.data.relational.core.mapping.event.BeforeConvertCallback;

import io.leasehold.lock.LockContext;

/**
 * Stamps a {@link FencedAggregate} saved inside a locked call with the innermost lease's token.
 * Outside a locked call the aggregate keeps the token it has.
 */
public class FencingTokenStamper implements BeforeConvertCallback<FencedAggregate<?>>, Ordered {

	@Override
	public FencedAggregate<?> onBeforeConvert(FencedAggregate<?> aggregate) {
		return LockContext.current()
			.<FencedAggregate<?>>map((lease) -> aggregate.withFencingToken(lease.fencingToken()))
			.orElse(aggregate);
	}

	@Override
	public int getOrder() {
		return Ordered.LOWEST_PRECEDENCE;
	}

}
