-- Presence (CONTRACT §8): which accounts have a WebSocket open on any
-- push daemon. The daemons write it; a node whose heartbeat is older than
-- the timeout counts as gone with its connections, and friends hear
-- user_online / user_offline as events.
--
-- The look-ups keep their plans (PL/pgSQL, planned once per database
-- session: as LANGUAGE sql functions that cannot be inlined they were
-- planned at every call, 0.27 ms an is_online, called once a friend at
-- every connect and disconnect). A plan that lives that long must not be
-- made for an empty table: presence_connection is empty whenever the
-- daemons restart, and a plan made then reads the whole table at every
-- call as the connections come back. The look-ups by account therefore go
-- through its index whatever the statistics say (enable_seqscan = off, in
-- functions that set nothing else: a SET clause undoes, when the function
-- returns, every setting made inside it).

-- Whether an account has a connection on a live node.
CREATE OR REPLACE FUNCTION is_online(account uuid, timeout_seconds int)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM presence_connection c
        JOIN presence_node n USING (node_id)
        WHERE c.account_id = account
          AND n.heartbeat_at > now() - make_interval(secs => timeout_seconds));
END
$$;

-- Whether a connection is registered for one of accounts (the check of
-- wake_push_daemons, which sets synchronous_commit for its transaction,
-- so the SET clause goes here).
CREATE OR REPLACE FUNCTION presence_holds_any(accounts uuid[]) RETURNS boolean
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM presence_connection
                    WHERE account_id = ANY (accounts));
END
$$;

-- Which of accounts have a connection registered on a node other than
-- node (the check of wake_other_daemons; the SET clause goes here, as
-- above).
CREATE OR REPLACE FUNCTION presence_held_elsewhere(node text, accounts uuid[])
RETURNS uuid[]
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN ARRAY(SELECT DISTINCT account_id FROM presence_connection
                  WHERE account_id = ANY (accounts)
                    AND node_id IS DISTINCT FROM node);
END
$$;

-- The check of wake_after_sends, for daemons of the release before
-- (events.sql), unchanged: message by message (senders[i] on connection
-- conns[i] of node sent to receivers[i]), each receiver with a connection
-- registered, and each sender with one other than the connection that
-- sent. Drop it with wake_after_sends.
CREATE OR REPLACE FUNCTION presence_woken_by_sends(node text, senders uuid[],
    conns bigint[], receivers uuid[]) RETURNS uuid[]
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN ARRAY(
        SELECT p.account_id FROM presence_connection p
         WHERE p.account_id = ANY (receivers)
        UNION
        SELECT p.account_id
          FROM unnest(senders, conns) s (account, conn)
          JOIN presence_connection p ON p.account_id = s.account
         WHERE (p.node_id = node AND p.connection_id = s.conn) IS NOT TRUE);
END
$$;

-- The friends of an account that are online now, by id.
CREATE OR REPLACE FUNCTION online_friends_of(me uuid, timeout_seconds int)
RETURNS SETOF uuid
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT friend FROM (
        SELECT CASE WHEN f.sender_id = me THEN f.receiver_id
                    ELSE f.sender_id END AS friend
          FROM friendship f
         WHERE (f.sender_id = me OR f.receiver_id = me)
           AND f.status = 'accepted') fr
     WHERE is_online(friend, timeout_seconds)
     ORDER BY friend;
END
$$;

-- GET /chat/friends/online.
CREATE OR REPLACE FUNCTION api_online_friends(me uuid, timeout_seconds int) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('online_friends',
           coalesce(json_agg(friend ORDER BY friend), '[]'))
      FROM (SELECT CASE WHEN f.sender_id = me THEN f.receiver_id
                        ELSE f.sender_id END AS friend
              FROM friendship f
             WHERE (f.sender_id = me OR f.receiver_id = me)
               AND f.status = 'accepted') fr
     WHERE is_online(friend, timeout_seconds)
$$;

-- Tells the online friends of an account that it came or went.
CREATE OR REPLACE FUNCTION record_presence(account uuid, kind text, timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int := 0;
    friend uuid;
BEGIN
    FOR friend IN SELECT online_friends_of(account, timeout_seconds) LOOP
        PERFORM record_event(kind, account, friend);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- Deletes the connections of nodes; the online friends of each account
-- left with no connection hear user_offline. Answers the events recorded.
-- One call for all the nodes of a transaction: the locks are taken in
-- order across them.
CREATE OR REPLACE FUNCTION presence_drop_nodes(nodes text[], timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    gone uuid;
    n int := 0;
BEGIN
    FOR gone IN WITH dropped AS (
                    DELETE FROM presence_connection WHERE node_id = ANY (nodes)
                    RETURNING account_id)
                SELECT DISTINCT account_id FROM dropped ORDER BY account_id LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(gone::text, 7));
        IF NOT is_online(gone, timeout_seconds) THEN
            n := n + record_presence(gone, 'user_offline', timeout_seconds);
        END IF;
    END LOOP;
    RETURN n;
END
$$;

-- A daemon starts: its node row, and nothing left of an earlier run.
CREATE OR REPLACE FUNCTION push_node_start(node text, timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO presence_node (node_id) VALUES (node)
    ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now();
    RETURN presence_drop_nodes(ARRAY[node], timeout_seconds);
END
$$;

-- A daemon stops (SIGTERM): its connections go, and its node row.
CREATE OR REPLACE FUNCTION push_node_stop(node text, timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    n := presence_drop_nodes(ARRAY[node], timeout_seconds);
    DELETE FROM presence_node WHERE node_id = node;
    RETURN n;
END
$$;

-- A daemon's heartbeat. Answers NULL when the node row was gone: push_reap
-- took the daemon for dead (it stalled longer than the timeout) and
-- dropped its connections, so the daemon registers them again
-- (push-daemon/presence.c); meanwhile its users looked offline to their
-- friends, and wake-ups for them were not sent.
CREATE OR REPLACE FUNCTION push_heartbeat_found(node text) RETURNS boolean
LANGUAGE sql AS $$
    UPDATE presence_node SET heartbeat_at = now()
     WHERE node_id = node
    RETURNING true
$$;

-- Run by every daemon now and then: takes dead nodes out of the online set
-- (their users' friends hear user_offline) and prunes the events older
-- than keep_events (sync.retention_days), recording the transaction below
-- which events may be gone (event_pruning: older cursors have expired),
-- and the spans of membership that held only those.
CREATE OR REPLACE FUNCTION push_reap(timeout_seconds int, keep_events interval)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    dead text[];
    n int;
    pruned xid8;
BEGIN
    dead := ARRAY(SELECT node_id FROM presence_node
                   WHERE heartbeat_at < now() - make_interval(secs => timeout_seconds)
                     FOR UPDATE SKIP LOCKED);
    n := presence_drop_nodes(dead, timeout_seconds);
    DELETE FROM presence_node WHERE node_id = ANY (dead);
    IF pg_try_advisory_xact_lock(hashtextextended('event-pruning', 7)) THEN
        WITH gone AS (
            DELETE FROM event WHERE created_at < now() - keep_events
            RETURNING xid)
        SELECT max(xid) INTO pruned FROM gone;
        IF pruned IS NOT NULL THEN
            UPDATE event_pruning
               SET below = greatest(below, xid8_after(pruned));
            -- A membership's span that ended before the oldest event kept
            -- holds none of them: the events of its group take their ids
            -- under the group's lock, in commit order, but for group_read,
            -- which takes no lock; only one open for longer than the
            -- retention could fall in a span pruned.
            DELETE FROM group_member_span
             WHERE ended < (SELECT min(event_id) FROM event);
        END IF;
        PERFORM rate_prune();
    END IF;
    RETURN n;
END
$$;

-- A connection opens. Answers the online_friends frame, and tells the
-- user's online friends when this is the user's first connection anywhere.
CREATE OR REPLACE FUNCTION push_connect(node text, conn bigint, account uuid,
    timeout_seconds int, OUT frame text, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    was_online boolean;
BEGIN
    -- One connect or disconnect of an account at a time, across daemons,
    -- so that exactly one of them sees the first or the last connection.
    PERFORM pg_advisory_xact_lock(hashtextextended(account::text, 7));
    was_online := is_online(account, timeout_seconds);
    INSERT INTO presence_connection (node_id, connection_id, account_id)
    VALUES (node, conn, account);
    events := 0;
    IF NOT was_online THEN
        events := record_presence(account, 'user_online', timeout_seconds);
    END IF;
    SELECT json_build_object('type', 'online_friends',
               'friends', coalesce(json_agg(f), '[]'))::text
      INTO frame
      FROM online_friends_of(account, timeout_seconds) f;
END
$$;

-- New connections registered in a batch (push-daemon/welcome.c): a
-- daemon that many clients reach at once registers hundreds per round
-- trip. batch: a JSON array of {"conn": connection id, "account": account id}.
-- Answers a row per connection: its online_friends frame, or NULL when the
-- account no longer exists. Accounts are taken in id order, so that the
-- advisory locks of two daemons' batches cannot deadlock.
CREATE OR REPLACE FUNCTION push_connect_many(node text, batch json, timeout_seconds int)
RETURNS TABLE (conn bigint, frame text, events int)
LANGUAGE plpgsql AS $$
DECLARE
    item json;
BEGIN
    FOR item IN SELECT value FROM json_array_elements(batch)
                 ORDER BY value->>'account', (value->>'conn')::bigint LOOP
        conn := (item->>'conn')::bigint;
        frame := NULL;
        events := 0;
        IF EXISTS (SELECT 1 FROM account
                    WHERE account_id = (item->>'account')::uuid) THEN
            SELECT c.frame, c.events INTO frame, events
              FROM push_connect(node, conn, (item->>'account')::uuid,
                                timeout_seconds) c;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- A connection closes; the user's online friends hear user_offline when
-- it was the user's last connection anywhere. Answers the events recorded.
CREATE OR REPLACE FUNCTION push_disconnect(node text, conn bigint, timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    account uuid;
BEGIN
    SELECT account_id INTO account FROM presence_connection
     WHERE node_id = node AND connection_id = conn;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(account::text, 7));
    DELETE FROM presence_connection WHERE node_id = node AND connection_id = conn;
    IF is_online(account, timeout_seconds) THEN
        RETURN 0;
    END IF;
    RETURN record_presence(account, 'user_offline', timeout_seconds);
END
$$;

-- Connections of a node closed (push-daemon/presence.c sends the ends it
-- has not seen written, in one call). Accounts are taken in id order, as in
-- push_connect_many, so that the advisory locks cannot deadlock. An id with
-- no row left is passed over. Answers the events recorded.
CREATE OR REPLACE FUNCTION push_disconnect_many(node text, conns bigint[],
    timeout_seconds int)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    conn bigint;
    n int := 0;
BEGIN
    FOR conn IN SELECT connection_id FROM presence_connection
                 WHERE node_id = node AND connection_id = ANY (conns)
                 ORDER BY account_id, connection_id LOOP
        n := n + push_disconnect(node, conn, timeout_seconds);
    END LOOP;
    RETURN n;
END
$$;
