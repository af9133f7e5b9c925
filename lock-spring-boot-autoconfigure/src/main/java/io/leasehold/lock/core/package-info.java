/**
 * The lease engine: acquiring with waiting, re-entry, renewal, local deadlines and release.
 */
@NullMarked
package io.leasehold.lock.core;

import org.jspecify.annotations.NullMarked;
