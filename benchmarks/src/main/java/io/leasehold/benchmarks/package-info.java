/**
 * Runnable benchmarks of Leasehold against reference lock implementations.
 */
@NullMarked
package io.leasehold.benchmarks;

import org.jspecify.annotations.NullMarked;
