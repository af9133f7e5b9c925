/**
 * Worker side of the fault suite: the programs the controller starts as separate JVMs, and the
 * history they write (one JSON line per event, flushed per line).
 */
package io.leasehold.reliability;
