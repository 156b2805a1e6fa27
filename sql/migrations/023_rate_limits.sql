-- Rate limits of CONTRACT §12 that every process must see alike: one
-- token bucket per kind of request and key (an account, an address, or
-- both), taken from inside the statements they limit (sql/functions/
-- limits.sql). Unlogged: the counts are worth nothing after a crash, and
-- a send should not pay a WAL record for them. Rows are updated in place
-- (no indexed column changes: HOT updates), and pruned once full again.
CREATE UNLOGGED TABLE rate_bucket (
    kind        text NOT NULL,
    key         text NOT NULL,
    tokens      float8 NOT NULL,
    at          timestamptz NOT NULL,
    -- When the bucket is full again, as if untouched: prunable after.
    full_at     timestamptz NOT NULL,
    -- Whether the last take got its token.
    granted     boolean NOT NULL,
    PRIMARY KEY (kind, key)
) WITH (fillfactor = 50);
