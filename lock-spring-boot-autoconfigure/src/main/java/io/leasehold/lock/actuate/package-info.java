/**
 * Operating Leasehold: meters, the {@code leasehold} Actuator endpoint and the health indicator.
 */
@NullMarked
package io.leasehold.lock.actuate;

import org.jspecify.annotations.NullMarked;
