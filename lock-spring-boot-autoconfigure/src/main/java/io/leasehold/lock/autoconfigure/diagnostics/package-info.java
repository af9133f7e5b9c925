/**
 * Start-up failure analysis: what went wrong with Leasehold's set-up, and how to fix it.
 */
@NullMarked
package io.leasehold.lock.autoconfigure.diagnostics;

import org.jspecify.annotations.NullMarked;
