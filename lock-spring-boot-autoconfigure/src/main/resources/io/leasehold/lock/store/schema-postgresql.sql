-- Leasehold lease table and fencing-token sequence for PostgreSQL. Idempotent: safe to run again.
-- With other names, replace leasehold_lock and leasehold_fencing_token_seq and set
-- leasehold.lock.table-name and leasehold.lock.sequence-name to match.

-- CACHE 1 keeps tokens increasing in the order they are drawn, across all connections; a larger
-- cache hands each session its own block of values and tokens would go backwards.
CREATE SEQUENCE IF NOT EXISTS leasehold_fencing_token_seq AS bigint CACHE 1 NO CYCLE;

-- One row per lock name. Released leases are expired, not deleted; rows are deleted only long
-- after they expired. No index on expires_at, so acquire, renew and release stay HOT updates.
CREATE TABLE IF NOT EXISTS leasehold_lock (
    lock_name       text        NOT NULL PRIMARY KEY,
    owner_id        text        NOT NULL,
    fencing_token   bigint      NOT NULL,
    acquired_at     timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    waiters_until   timestamptz,
    successor_token bigint
) WITH (fillfactor = 80);

-- Added in 0.1.0: until when nodes wait for the lock, so a release notifies only if someone listens.
ALTER TABLE leasehold_lock ADD COLUMN IF NOT EXISTS waiters_until timestamptz;
-- Also added in 0.1.0: a token drawn for the next holder on the holder's node, so its hand-over need
-- not wait for a flush of its own.
ALTER TABLE leasehold_lock ADD COLUMN IF NOT EXISTS successor_token bigint;
