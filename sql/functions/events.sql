-- The event stream (docs/events.md): every change a connected client
-- must hear of is an event row, written in the change's transaction; the
-- push daemons read the rows in transaction order and are woken by a
-- NOTIFY once the change has committed.

-- One event of the change being made, in its transaction.
CREATE OR REPLACE FUNCTION record_event(kind text, actor uuid, target uuid,
    message uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event (kind, actor_id, target_id, message_id)
    VALUES (kind, actor, target, message);
END
$$;

-- The daemons' read: the events of every transaction older than the
-- oldest one still running (next_horizon), from horizon on, in event_id
-- order; or one row of NULLs when there are none, so that the caller
-- always learns next_horizon. Rows of a transaction below that point can
-- no longer appear, so a reader that moves its horizon this way never
-- skips one. held: committed events wait beyond next_horizon (a
-- transaction older than theirs still runs); the daemon reads again
-- shortly, since the notification that announced them may have come
-- already. (max(xid) is one step of a backward index scan; an EXISTS on
-- xid >= next_horizon was planned as a scan of the whole table when it
-- finds nothing, the common case.) One SQL statement, inlined into the
-- daemon's prepared query: every daemon calls it at each wake-up.
CREATE OR REPLACE FUNCTION push_events(horizon xid8)
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid, held boolean)
LANGUAGE sql STABLE AS $$
    SELECT h.upto, e.event_id, e.kind, e.actor_id, e.target_id, e.message_id,
           coalesce((SELECT max(w.xid) FROM event w) >= h.upto, false)
      FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS upto) h
      LEFT JOIN event e ON e.xid >= horizon AND e.xid < h.upto
     ORDER BY e.event_id NULLS LAST
$$;

-- The chat_events notification of a change concerning accounts: their ids
-- separated by spaces, or '' (every daemon reads) when they would not fit
-- in a NOTIFY payload (under 8000 bytes).
CREATE OR REPLACE FUNCTION push_notify_accounts(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    SELECT string_agg(DISTINCT a::text, ' ') INTO payload
      FROM unnest(accounts) a;
    IF payload IS NULL OR length(payload) > 7900 THEN
        payload := '';
    END IF;
    PERFORM pg_notify('chat_events', payload);
END
$$;

-- The wake-up after a change: a NOTIFY in a transaction of its own, sent
-- once the change committed, naming the accounts concerned (NULL: every
-- daemon reads). It stores nothing a crash could lose but the wake-up
-- itself, which the daemons' periodic read covers, so it does not wait
-- for the disk (synchronous_commit off): a NOTIFY holds a lock global to
-- the database from its commit until the commit record is on disk.
--
-- Nobody is woken when no connection is registered for the accounts
-- named (a daemon only has work when it holds one of them). Nothing is
-- missed that way: a connection whose registration (push_connect) this
-- does not see commits that registration after the change, and its
-- daemon welcomes it only after an event read that began after the
-- registration was answered (push-daemon/welcome.c), so that read, and
-- the welcome's query of undelivered messages after it, see the change.
CREATE OR REPLACE FUNCTION wake_push_daemons(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(accounts) > 0 AND NOT presence_holds_any(accounts) THEN
        RETURN;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM push_notify_accounts(accounts);
END
$$;
