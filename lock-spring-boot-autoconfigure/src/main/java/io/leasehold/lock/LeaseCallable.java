package io.leasehold.lock;

/**
 * Work run while a lease is held.
 * @param <T> the result type
 */
@FunctionalInterface
public interface LeaseCallable<T> {

	T call(Lease lease) throws Exception;

}
