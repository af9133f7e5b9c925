/**
 * Storage-side fencing: JDBC reads and writes held to fencing-token order, and a trigger that
 * holds every writer of a table to it.
 */
@NullMarked
package io.leasehold.lock.fencing;

import org.jspecify.annotations.NullMarked;
