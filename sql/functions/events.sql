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

-- The stream of an account (CONTRACT §10): the events of these kinds
-- whose target it is, the message_created events of its own sends, and
-- the events of the groups it was an active member of when they happened
-- (stream_after). Presence and account events are pushed live but are no
-- part of it.
CREATE OR REPLACE FUNCTION stream_kind(kind text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT kind IN ('message_created', 'message_delivered', 'message_read',
                    'message_deleted', 'friend_requested', 'friend_accepted',
                    'friend_removed', 'group_message',
                    'group_message_deleted', 'group_read', 'group_updated',
                    'group_member_added', 'group_member_left',
                    'group_member_removed')
$$;

-- A cursor: the place of an event in a stream, "h0.h1.id" (decimal, at
-- most 61 characters). A reader that read the transactions from h0 up to
-- h1 (a read of push_stream_events, of stream_after) and handed out the events
-- of that range in event_id order has, after event id, handed out every
-- event below h0 and those of [h0, h1) up to id (docs/events.md). The
-- moment h is the cursor h.h.0: everything below h.
CREATE OR REPLACE FUNCTION stream_cursor(h0 xid8, h1 xid8, id bigint)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT h0::text || '.' || h1::text || '.' || id::text
$$;

-- The place a cursor names, or NULLs when it is not one (malformed, out
-- of range, h0 after h1).
CREATE OR REPLACE FUNCTION stream_position(cursor text,
    OUT h0 xid8, OUT h1 xid8, OUT id bigint)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    parts text[];
BEGIN
    IF cursor IS NULL OR
       cursor !~ '^(0|[1-9][0-9]{0,19})\.(0|[1-9][0-9]{0,19})\.(0|[1-9][0-9]{0,18})$' THEN
        RETURN;
    END IF;
    parts := string_to_array(cursor, '.');
    IF parts[1]::numeric > 18446744073709551615 OR
       parts[2]::numeric > 18446744073709551615 OR
       parts[3]::numeric > 9223372036854775807 OR
       parts[1]::numeric > parts[2]::numeric THEN
        RETURN;
    END IF;
    h0 := parts[1]::xid8; h1 := parts[2]::xid8; id := parts[3]::bigint;
END
$$;

-- The transaction after x.
CREATE OR REPLACE FUNCTION xid8_after(x xid8) RETURNS xid8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (x::text::numeric + 1)::text::xid8
$$;

-- The horizon of a reader of the stream (push_stream_events, /sync, and
-- through the daemon's reads the replays): the transaction below which it
-- has every event. It is the snapshot's xmin (no transaction below it can
-- still commit), but never past the newest event's transaction, or where
-- pruning has reached. Every event is written by a transaction committed
-- to disk (synchronous_commit), so after a crash PostgreSQL hands out
-- only transaction ids above it; the ids of transactions that left
-- nothing on disk (rolled back, or committed without waiting for it) are
-- handed out again after a crash, and a horizon past them would skip the
-- events of their new owners, on a daemon and in every cursor made there.
-- It never moves back: pruning records where it reached.
-- PL/pgSQL keeps its plans for the session; a SQL function with
-- sub-selects is never inlined, and would be parsed and planned at each
-- call (0.28 ms of a 0.54 ms read). STABLE, so it sees the snapshot of
-- the query that calls it.
CREATE OR REPLACE FUNCTION stream_horizon() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN least(pg_snapshot_xmin(pg_current_snapshot()),
                 greatest(xid8_after((SELECT max(xid) FROM event)),
                          (SELECT below FROM event_pruning)));
END
$$;

-- The frame of an event as its audience hears it, without the cursor
-- (stream_frame_with_cursor adds it), or NULL for an event that is no
-- frame (account_disabled, account_enabled). A message shows its state
-- now (push_message_frame; deleted text is never sent again).
CREATE OR REPLACE FUNCTION stream_frame(e event) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE e.kind
    WHEN 'message_created' THEN
        RETURN (SELECT push_message_frame(m) FROM message m
                 WHERE m.message_id = e.message_id);
    WHEN 'message_delivered', 'message_deleted' THEN
        RETURN json_build_object('type', e.kind,
                                 'message_id', e.message_id)::text;
    WHEN 'message_read' THEN
        RETURN json_build_object('type', 'message_read',
                                 'message_id', e.message_id,
                                 'read_by', e.actor_id)::text;
    WHEN 'friend_requested' THEN
        RETURN json_build_object('type', 'friend_request', 'request',
            json_build_object(
                'sender_id', e.actor_id, 'receiver_id', e.target_id,
                'status', 'pending',
                'created_at', api_time(e.created_at),
                'updated_at', api_time(e.created_at),
                'sender', (SELECT api_public_account(a) FROM account a
                            WHERE a.account_id = e.actor_id)))::text;
    WHEN 'friend_accepted', 'friend_removed' THEN
        RETURN json_build_object('type', e.kind, 'user_id', e.actor_id)::text;
    WHEN 'user_online' THEN
        RETURN json_build_object('type', 'friend_online',
                                 'user_id', e.actor_id)::text;
    WHEN 'user_offline' THEN
        RETURN json_build_object('type', 'friend_offline',
                                 'user_id', e.actor_id)::text;
    ELSE
        RETURN NULL;
    END CASE;
END
$$;

-- The frame of an event as account hears it: a group event's may depend
-- on who hears it (group_updated shows the group as that member sees it:
-- group_stream_frame), the others' do not.
CREATE OR REPLACE FUNCTION stream_frame_for(e event, account uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF e.group_id IS NOT NULL THEN
        RETURN group_stream_frame(e, account);
    END IF;
    RETURN stream_frame(e);
END
$$;

-- A frame with its cursor, the last member of the object. A cursor is
-- digits and dots (stream_cursor), so it needs no escaping; with only
-- immutable operators the function is inlined into its callers instead
-- of being planned at each call.
CREATE OR REPLACE FUNCTION stream_frame_with_cursor(frame text, cursor text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT left(frame, -1) || ', "cursor": "' || cursor || '"}'
$$;

-- The daemons' read: the events of the transactions from horizon up to
-- stream_horizon() (next_horizon), in event_id order; or one row of NULLs when there are none, so that the caller
-- always learns next_horizon. Rows of a transaction below that point can
-- no longer appear, so a reader that moves its horizon this way never
-- skips one. held: committed events wait beyond next_horizon (a
-- transaction older than theirs still runs); the daemon reads again
-- shortly, since the notification that announced them may have come
-- already. (max(xid) is one step of a backward index scan; an EXISTS on
-- xid >= next_horizon was planned as a scan of the whole table when it
-- finds nothing, the common case.) Each event of a stream carries its
-- cursor; each that is a frame, its frame, except a message's, which the
-- daemon fetches only when a connection of its wants it (push_message_frames).
-- moment: the cursor of next_horizon, where a connection that opens
-- after this read starts. One SQL statement, inlined into the daemon's
-- prepared query: every daemon calls it at each wake-up. The horizon is
-- computed once per read: OFFSET 0 keeps its subquery from being pulled
-- up, which would put a call of stream_horizon() (a query of the event
-- table each) in every column and join condition that names it, seven
-- times per row (docs/PERFORMANCE.md, "The event read and its horizon").
CREATE OR REPLACE FUNCTION push_stream_events(horizon xid8)
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid, held boolean, cursor text,
               frame text, moment text)
LANGUAGE sql STABLE AS $$
    SELECT h.upto, e.event_id, e.kind, e.actor_id, e.target_id, e.message_id,
           coalesce((SELECT max(w.xid) FROM event w) >= h.upto, false),
           c.cursor,
           CASE WHEN e.kind = 'message_created' THEN NULL
                WHEN c.cursor IS NULL THEN stream_frame(e)
                ELSE stream_frame_with_cursor(stream_frame(e), c.cursor) END,
           stream_cursor(h.upto, h.upto, 0)
      FROM (SELECT stream_horizon() AS upto OFFSET 0) h
      LEFT JOIN event e ON e.xid >= horizon AND e.xid < h.upto
      LEFT JOIN LATERAL (SELECT CASE WHEN stream_kind(e.kind)
                THEN stream_cursor(horizon, h.upto, e.event_id) END AS cursor) c
             ON true
     ORDER BY e.event_id NULLS LAST
$$;

-- The daemon's read (push-daemon/events.c): push_stream_events, with each
-- event's age when read by the database's clock (a metric). The age is
-- a look-up of the event's key, row by row: joined to the event table,
-- the generic plan that the daemon's connection keeps was a hash join over
-- a sequential scan of the whole table at every read.
CREATE OR REPLACE FUNCTION push_stream_read(horizon xid8)
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid, held boolean, cursor text,
               frame text, moment text, age numeric)
LANGUAGE sql STABLE AS $$
    SELECT s.*, (SELECT extract(epoch FROM clock_timestamp() - e.created_at)
                   FROM event e WHERE e.event_id = s.event_id)
      FROM push_stream_events(horizon) s
     ORDER BY s.event_id NULLS LAST
$$;

-- What chat-push of the previous build reads (a rolling upgrade,
-- docs/DEPLOY.md): push_stream_events without the cursors and frames.
-- Drop it in the next release.
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

-- The events of account's stream after the place (h0, h1, after_id) of a
-- cursor, up to transaction upto, in stream order, at most lim, with
-- their cursors: first the rest of the range [h0, h1) that the cursor's
-- reader read, then [h1, upto) as one more read. upto is never below h1
-- for a cursor handed out before (the horizon only grows: docs/events.md).
-- The events of a group come with the spans of the account's membership
-- (group_member_span); those whose target the account is (its own
-- membership's) come as its other events do, once.
CREATE OR REPLACE FUNCTION stream_after(account uuid, h0 xid8, h1 xid8,
    after_id bigint, upto xid8, lim int)
RETURNS TABLE (cursor text, e event)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN (s.t).xid < h1 THEN stream_cursor(h0, h1, (s.t).event_id)
                ELSE stream_cursor(h1, upto, (s.t).event_id) END,
           s.t
      FROM (SELECT t FROM event t
             WHERE t.target_id = account AND t.xid >= h0 AND t.xid < upto
            UNION ALL
            SELECT t FROM event t
             WHERE t.actor_id = account AND t.kind = 'message_created'
               AND t.xid >= h0 AND t.xid < upto
            UNION ALL
            SELECT t FROM group_member_span g
              JOIN event t ON t.group_id = g.group_id
             WHERE g.account_id = account
               AND t.xid >= h0 AND t.xid < upto
               AND t.event_id >= g.began
               AND (g.ended IS NULL OR t.event_id < g.ended)
               AND t.target_id <> account) s
     WHERE stream_kind((s.t).kind)
       AND ((s.t).xid >= h1 OR (s.t).event_id > after_id)
     ORDER BY (s.t).xid >= h1, (s.t).event_id
     LIMIT lim
$$;

-- Why a cursor cannot be followed: 'malformed' (not a cursor, or ahead of
-- the stream: upto, the reader's horizon, is below its h1), 'expired'
-- (pruning may have taken events it needs: sync.retention_days), or NULL
-- when it can.
CREATE OR REPLACE FUNCTION stream_refusal(h0 xid8, h1 xid8, upto xid8)
RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN h0 IS NULL OR h1 > upto THEN 'malformed'
                WHEN h0 < (SELECT below FROM event_pruning) THEN 'expired'
           END
$$;

-- GET /sync (CONTRACT §10): the caller's events after since, at most lim,
-- each the frame a connection would have received, with its cursor; the
-- cursor to go on from; whether more wait. The new messages to the caller
-- that it hands out count as delivered (their senders hear it).
CREATE OR REPLACE FUNCTION api_sync(me uuid, since text, lim int,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    p record;
    upto xid8 := stream_horizon();
    frames json[];
    cursors text[];
    ids uuid[];
    n int;
BEGIN
    events := 0;
    SELECT r.status, r.body INTO status, body FROM caller_refusal(me) r;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    p := stream_position(since);
    CASE stream_refusal(p.h0, p.h1, upto)
    WHEN 'malformed' THEN
        status := 422;
        body := json_build_object('detail', json_build_array(json_build_object(
            'loc', json_build_array('query', 'since'),
            'msg', 'Invalid cursor', 'type', 'value_error')));
        RETURN;
    WHEN 'expired' THEN
        status := 410; body := api_detail('Cursor expired');
        RETURN;
    ELSE
    END CASE;
    SELECT array_agg(a.frame::json ORDER BY a.place)
               FILTER (WHERE a.frame IS NOT NULL AND a.place <= lim),
           array_agg(a.cursor ORDER BY a.place),
           array_agg((a.e).message_id ORDER BY a.place)
               FILTER (WHERE (a.e).kind = 'message_created'
                         AND (a.e).target_id = me AND a.place <= lim)
      INTO frames, cursors, ids
      FROM (SELECT s.*, stream_frame_with_cursor(stream_frame_for(s.e, me),
                                                 s.cursor)
                   AS frame
              FROM stream_after(me, p.h0, p.h1, p.id, upto, lim + 1)
                   WITH ORDINALITY AS s(cursor, e, place)) a;
    -- A frame of a message gone with its account is left out; its
    -- cursor still counts.
    n := coalesce(cardinality(cursors), 0);
    IF ids IS NOT NULL THEN
        events := coalesce(cardinality(push_mark_delivered(ids)), 0);
    END IF;
    status := 200;
    body := json_build_object(
        'events', coalesce(to_json(frames), '[]'::json),
        'cursor', CASE WHEN n > lim THEN cursors[lim]
                       ELSE stream_cursor(upto, upto, 0) END,
        'has_more', n > lim);
END
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

-- The NOTIFY of a wake-up (wake_push_daemons, wake_other_daemons), whose
-- transaction does not wait for the disk (below).
CREATE OR REPLACE FUNCTION push_wake(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM push_notify_accounts(accounts);
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
    PERFORM push_wake(accounts);
END
$$;

-- The wake-up after a daemon's own changes (its batch of WebSocket sends,
-- its delivered marks): as wake_push_daemons, for the accounts with a
-- connection on another node only. The daemon of node reads at once
-- itself when it holds one of them (push-daemon/events.h), rather than
-- have a NOTIFY come back to it: with one daemon, its sends and marks
-- send none. Nothing is missed, as for wake_push_daemons.
CREATE OR REPLACE FUNCTION wake_other_daemons(node text, accounts uuid[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    elsewhere uuid[] := presence_held_elsewhere(node, accounts);
BEGIN
    IF cardinality(elsewhere) > 0 THEN
        PERFORM push_wake(elsewhere);
    END IF;
END
$$;

-- The wake-up that daemons of the release before wake_other_daemons send
-- after their batches of sends, unchanged, so that they keep it through a
-- rolling upgrade (migrations first, then the daemons one at a time):
-- every daemon holding a receiver, or a sender's connection other than
-- the one that sent (presence_woken_by_sends), is woken, the sender's own
-- included. Drop both in the next release.
CREATE OR REPLACE FUNCTION wake_after_sends(node text, senders uuid[],
    conns bigint[], receivers uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    woken uuid[] := presence_woken_by_sends(node, senders, conns, receivers);
BEGIN
    IF cardinality(woken) = 0 THEN
        RETURN;
    END IF;
    PERFORM push_wake(woken);
END
$$;
