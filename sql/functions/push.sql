-- What the push daemons do in the database besides presence and the
-- event read (CONTRACT §6, §7): the frames of messages, what a new
-- connection missed, batches of WebSocket sends, delivered marks, and the
-- typing relay. Called by push-daemon/ only.

-- The new_message frame: the message as the REST API shows it (api_message),
-- with the status it has once this push delivers it; a message deleted
-- since shows no content (deleted text is never sent again). Serialized once for
-- all its recipients. PL/pgSQL, so its plan is kept: as SQL with
-- sub-selects it could not be inlined, and each event read parsed and
-- planned it again (0.18 ms a call at 1,000 messages/s).
CREATE OR REPLACE FUNCTION push_message_frame(m message) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF m.status = 'sent' THEN
        m.status := 'delivered';
    END IF;
    IF m.is_deleted THEN
        m.content := '';
    END IF;
    RETURN json_build_object('type', 'new_message',
                             'message', api_message(m))::text;
END
$$;

-- The frames of the messages that events name, with their created_at
-- (one deleted since shows is_deleted and no content, as in a replay or
-- /sync: its event has its place in the stream, whose next cursors pass
-- it): the daemon merges them with a new connection's undelivered
-- messages in created_at order and without duplicates. cursors: the
-- cursor of each message's event, in the order of ids, which its frame
-- carries (CONTRACT §10). The messages are found by primary key (= ANY)
-- whatever the statistics say: the daemon keeps this plan for its whole
-- life (PL/pgSQL), and one made on a new service's empty table would read
-- the table whole at every call as it grew (enable_seqscan = off, as the
-- presence look-ups, sql/functions/presence.sql).
CREATE OR REPLACE FUNCTION push_message_frames(ids uuid[], cursors text[])
RETURNS TABLE (message_id uuid, sender_id uuid, receiver_id uuid,
               created_at text, frame text)
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT m.message_id, m.sender_id, m.receiver_id, api_time(m.created_at),
           stream_frame_with_cursor(push_message_frame(m),
                                    cursors[array_position(ids, m.message_id)])
      FROM message m
     WHERE m.message_id = ANY (ids);
END
$$;

-- What chat-push of the previous build calls instead of
-- push_message_frames (a rolling upgrade, docs/DEPLOY.md): frames without
-- a cursor. Drop it in the next release.
CREATE OR REPLACE FUNCTION push_messages(ids uuid[])
RETURNS TABLE (message_id uuid, sender_id uuid, receiver_id uuid,
               created_at text, frame text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, m.sender_id, m.receiver_id, api_time(m.created_at),
           push_message_frame(m)
      FROM message m
     WHERE m.message_id = ANY (ids) AND NOT m.is_deleted
$$;

-- What a new connection gets after online_friends: the messages to the
-- account still undelivered, and those whose message_created event the
-- daemon has not read yet (horizon: its event horizon): another daemon
-- may already have marked them delivered, and they must come here in
-- their place in time. snapshot_xmax: every event of a transaction below
-- it was visible to this query; once the daemon's event horizon passes
-- it, no event can repeat a message of this answer. An undelivered
-- message is unread, which is what message_unread_by_receiver holds.
CREATE OR REPLACE FUNCTION push_undelivered(account uuid, max_rows int,
    horizon xid8)
RETURNS TABLE (message_id uuid, created_at text, frame text,
               snapshot_xmax text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, api_time(m.created_at), push_message_frame(m),
           pg_snapshot_xmax(pg_current_snapshot())::text
      FROM message m
     WHERE m.message_id IN (
               SELECT u.message_id FROM message u
                WHERE u.receiver_id = account AND u.read_at IS NULL
                  AND u.status = 'sent' AND NOT u.is_deleted
               UNION
               SELECT e.message_id FROM event e
                WHERE e.xid >= horizon AND e.kind = 'message_created'
                  AND e.target_id = account)
       AND NOT m.is_deleted
     ORDER BY m.created_at, m.message_id
     LIMIT max_rows
$$;

-- The undelivered messages of several accounts (push_undelivered for each),
-- rows grouped by account.
CREATE OR REPLACE FUNCTION push_undelivered_many(accounts uuid[], max_rows int,
    horizon xid8)
RETURNS TABLE (account uuid, message_id uuid, created_at text, frame text,
               snapshot_xmax text)
LANGUAGE sql STABLE AS $$
    SELECT a, u.message_id, u.created_at, u.frame, u.snapshot_xmax
      FROM (SELECT DISTINCT unnest(accounts) AS a) accs,
           LATERAL push_undelivered(accs.a, max_rows, horizon) u
     ORDER BY a, u.created_at, u.message_id
$$;

-- What connections that opened with `since` (CONTRACT §10) get after
-- online_friends: for each account and its cursor, the events of its
-- stream after the cursor up to upto (the daemon's event horizon, from
-- which it pushes events live), at most max_rows an account, each with
-- its frame and cursor; or, for a cursor that cannot be followed, one row
-- with refusal ('malformed' or 'expired', stream_refusal), the cursor
-- of upto, and the resync_required frame carrying it. Rows grouped by connection (conns, the daemon's ids of the
-- connections, go with accounts and sinces), in stream order. message_id and
-- receiver_id: a new_message's, which is delivered when written to a
-- connection of its receiver.
CREATE OR REPLACE FUNCTION push_replay_many(conns bigint[], accounts uuid[],
    sinces text[], upto xid8, max_rows int)
RETURNS TABLE (conn bigint, refusal text, cursor text, frame text,
               message_id uuid, receiver_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT q.conn, r.refusal, coalesce(ev.cursor, stream_cursor(upto, upto, 0)),
           CASE WHEN r.refusal IS NULL
                THEN stream_frame_with_cursor(stream_frame_for(ev.e, q.account),
                                              ev.cursor)
                ELSE json_build_object('type', 'resync_required', 'cursor',
                                       stream_cursor(upto, upto, 0))::text END,
           CASE WHEN (ev.e).kind = 'message_created' THEN (ev.e).message_id END,
           CASE WHEN (ev.e).kind = 'message_created' THEN (ev.e).target_id END
      FROM unnest(conns, accounts, sinces)
           WITH ORDINALITY AS q(conn, account, since, place)
     CROSS JOIN LATERAL stream_position(q.since) p
     CROSS JOIN LATERAL (SELECT stream_refusal(p.h0, p.h1, upto) AS refusal) r
      LEFT JOIN LATERAL stream_after(q.account, p.h0, p.h1, p.id, upto, max_rows)
                WITH ORDINALITY AS ev(cursor, e, n) ON r.refusal IS NULL
     WHERE r.refusal IS NOT NULL OR ev.cursor IS NOT NULL
     ORDER BY q.place, ev.n
$$;

-- A batch of WebSocket sends, each through api_send_message (key: 't:'
-- and the request's temp_id, or null), answered in the batch's order. The batch is read once into arrays in conversation
-- order: two batches that lock the same conversations take them in the
-- same order, so they cannot deadlock. It stores and answers only: the
-- daemon then wakes the others (wake_push_daemons) after the commit, so
-- that the commits of many batches do not queue on NOTIFY's lock.
CREATE OR REPLACE FUNCTION push_send_batch(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
DECLARE
    places int[];
    senders uuid[];
    receivers uuid[];
    contents text[];
    keys text[];
    statuses int[];
    bodies json[];
    counts int[];
    i int;
BEGIN
    -- In conversation order: two batches that lock the same conversations
    -- take them in the same order, so they cannot deadlock.
    SELECT array_agg(place ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(sender ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(receiver ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(content ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(key ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place)
      INTO places, senders, receivers, contents, keys
      FROM (SELECT e.place::int AS place,
                   (e.value->>'sender')::uuid AS sender,
                   (e.value->>'receiver')::uuid AS receiver,
                   e.value->>'content' AS content,
                   e.value->>'key' AS key
              FROM json_array_elements(batch) WITH ORDINALITY
                   AS e(value, place)) items;
    IF places IS NULL THEN
        RETURN;
    END IF;
    -- The senders' rate buckets before any conversation (limits.sql).
    PERFORM rate_lock('send', senders::text[]);
    FOR i IN 1 .. cardinality(places) LOOP
        SELECT r.status, r.body, r.events INTO status, body, events
          FROM api_send_message(senders[i], receivers[i], contents[i],
                                keys[i]) r;
        statuses[places[i]] := status;
        bodies[places[i]] := body;
        counts[places[i]] := events;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(statuses, bodies, counts);
END
$$;

-- Marks the messages of ids still "sent" delivered, records
-- message_delivered for each, and answers their senders (one a message;
-- NULL when none was marked): the accounts the daemon then wakes. By
-- primary key whatever the statistics say, as push_message_frames.
CREATE OR REPLACE FUNCTION push_mark_delivered(ids uuid[]) RETURNS uuid[]
LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    senders uuid[];
BEGIN
    WITH marked AS (
        UPDATE message SET status = 'delivered'
         WHERE message_id = ANY (ids) AND status = 'sent'
        RETURNING message_id, sender_id, receiver_id),
    recorded AS (
        INSERT INTO event (kind, actor_id, target_id, message_id)
        SELECT 'message_delivered', receiver_id, sender_id, message_id
          FROM marked
        RETURNING target_id)
    SELECT array_agg(target_id) INTO senders FROM recorded;
    RETURN senders;
END
$$;

-- Typing indicators: to a friend only, relayed through NOTIFY to
-- whichever daemon holds the receiver, never stored. Like a wake-up
-- (wake_push_daemons), its transaction does not wait for the disk: a
-- NOTIFY holds a lock global to the database from its commit until its
-- commit record is on disk, so a typing client would hold back every
-- other wake-up for a flush at each of its frames.
CREATE OR REPLACE FUNCTION push_typing(sender uuid, receiver uuid, typing boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF sender = receiver OR NOT are_friends(sender, receiver) THEN
        RETURN false;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_notify('chat_typing', receiver::text || ' ' ||
        json_build_object('type', 'typing_indicator', 'user_id', sender,
                          'is_typing', typing)::text);
    RETURN true;
END
$$;
