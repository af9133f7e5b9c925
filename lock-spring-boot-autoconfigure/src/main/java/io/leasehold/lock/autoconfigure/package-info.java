/**
 * Spring Boot auto-configuration of Leasehold: properties, schema set-up and the beans.
 */
@NullMarked
package io.leasehold.lock.autoconfigure;

import org.jspecify.annotations.NullMarked;
