package io.leasehold.lock.fencing;

/**
 * A Spring Data JDBC aggregate that keeps the fencing token it was last written with (a
 * {@code bigint} column, conventionally {@code fencing_token}). Saved inside a locked call, it is
 * stamped with the current lease's token; with {@link FencingTrigger} installed on its table, the
 * save is rejected with {@link io.leasehold.lock.StaleFencingTokenException} when the stored row
 * has seen a newer token. Records implement it with their accessor and a wither:
 * <pre class="code">
 * record Account(&#64;Id String id, long balance, long fencingToken) implements FencedAggregate&lt;Account&gt; {
 *     public Account withFencingToken(long token) { return new Account(id, balance, token); }
 * }
 * </pre>
 * @param <T> the aggregate type
 */
public interface FencedAggregate<T extends FencedAggregate<T>> {

	/** The token the aggregate was last written with. */
	long fencingToken();

	/** The aggregate carrying another token: a copy, or this instance changed. */
	T withFencingToken(long fencingToken);

}
