package io.leasehold.lock.aop;

import org.aopalliance.aop.Advice;

import org.springframework.aop.Pointcut;
import org.springframework.aop.support.AbstractPointcutAdvisor;
import org.springframework.aop.support.annotation.AnnotationMatchingPointcut;

import io.leasehold.lock.DistributedLock;

/**
 * Applies {@link DistributedLockInterceptor} to methods annotated with
 * {@link DistributedLock @DistributedLock}, on the class or on an interface it implements. An
 * advisor rather than an aspect, so it works with or without AspectJ on the class path; its order
 * should put it outside the transaction advisor, so the lease is taken before a transaction
 * begins and released after it ends.
 */
public class DistributedLockAdvisor extends AbstractPointcutAdvisor {

	private final Pointcut pointcut = new AnnotationMatchingPointcut(null, DistributedLock.class, true);

	private final DistributedLockInterceptor interceptor;

	public DistributedLockAdvisor(DistributedLockInterceptor interceptor, int order) {
		this.interceptor = interceptor;
		setOrder(order);
	}

	@Override
	public Pointcut getPointcut() {
		return this.pointcut;
	}

	@Override
	public Advice getAdvice() {
		return this.interceptor;
	}

}
