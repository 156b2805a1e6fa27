-- What the push daemons need (CONTRACT §6, §7, §8): presence bookkeeping,
-- delivery, typing relay, and the accounts that may no longer connect.
-- The push_* functions are called by push-daemon/ only.

ALTER TABLE event DROP CONSTRAINT event_kind_check;
ALTER TABLE event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'message_created', 'message_delivered', 'message_read', 'message_deleted',
    'friend_requested', 'friend_accepted', 'friend_removed',
    'user_online', 'user_offline', 'account_disabled', 'account_enabled'));

-- Serves the pruning of old events.
CREATE INDEX event_created_at ON event (created_at);

------------------------------------------------------------------------
-- Accounts that may not open a WebSocket (inactive or deleted). The
-- daemons keep this set in memory, so the handshake needs no query.

CREATE FUNCTION account_state_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM record_event('account_disabled', OLD.account_id, OLD.account_id);
    ELSIF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        PERFORM record_event(CASE WHEN NEW.is_active THEN 'account_enabled'
                                  ELSE 'account_disabled' END,
                             NEW.account_id, NEW.account_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER account_state AFTER UPDATE OF is_active OR DELETE ON account
    FOR EACH ROW EXECUTE FUNCTION account_state_event();

CREATE FUNCTION push_disabled_accounts() RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT account_id FROM account WHERE NOT is_active
$$;

------------------------------------------------------------------------
-- Presence.

-- The friends of an account that are online now, by id.
CREATE FUNCTION online_friends_of(me uuid, timeout_seconds int) RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT friend FROM (
        SELECT CASE WHEN f.sender_id = me THEN f.receiver_id
                    ELSE f.sender_id END AS friend
          FROM friendship f
         WHERE (f.sender_id = me OR f.receiver_id = me)
           AND f.status = 'accepted') fr
     WHERE is_online(friend, timeout_seconds)
     ORDER BY friend
$$;

-- Tells the online friends of an account that it came or went.
CREATE FUNCTION record_presence(account uuid, kind text, timeout_seconds int)
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

-- A daemon starts: its node row, and nothing left of an earlier run.
CREATE FUNCTION push_node_start(node text, timeout_seconds int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    gone uuid;
    n int := 0;
BEGIN
    INSERT INTO presence_node (node_id) VALUES (node)
    ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now();
    FOR gone IN DELETE FROM presence_connection WHERE node_id = node
                RETURNING account_id LOOP
        IF NOT is_online(gone, timeout_seconds) THEN
            n := n + record_presence(gone, 'user_offline', timeout_seconds);
        END IF;
    END LOOP;
    RETURN n;
END
$$;

CREATE FUNCTION push_heartbeat(node text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO presence_node (node_id) VALUES (node)
    ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now()
$$;

-- A connection opens. Answers the online_friends frame, and tells the
-- user's online friends when this is the user's first connection anywhere.
CREATE FUNCTION push_connect(node text, conn bigint, account uuid,
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

CREATE FUNCTION push_disconnect(node text, conn bigint, timeout_seconds int)
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

-- Run by every daemon now and then: takes dead nodes out of the online set
-- (their users' friends hear user_offline) and prunes old events.
CREATE FUNCTION push_reap(timeout_seconds int, keep_events interval)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    dead text;
    gone uuid;
    n int := 0;
BEGIN
    FOR dead IN SELECT node_id FROM presence_node
                 WHERE heartbeat_at < now() - make_interval(secs => timeout_seconds)
                   FOR UPDATE SKIP LOCKED LOOP
        FOR gone IN DELETE FROM presence_connection WHERE node_id = dead
                    RETURNING account_id LOOP
            PERFORM pg_advisory_xact_lock(hashtextextended(gone::text, 7));
            IF NOT is_online(gone, timeout_seconds) THEN
                n := n + record_presence(gone, 'user_offline', timeout_seconds);
            END IF;
        END LOOP;
        DELETE FROM presence_node WHERE node_id = dead;
    END LOOP;
    IF pg_try_advisory_xact_lock(hashtextextended('event-pruning', 7)) THEN
        DELETE FROM event WHERE created_at < now() - keep_events;
    END IF;
    RETURN n;
END
$$;

------------------------------------------------------------------------
-- Delivery.

-- The new_message frame of a message, serialized once for all its
-- recipients. Its status reads "delivered": the frame is a delivery.
CREATE FUNCTION push_message_frame(m message) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('type', 'new_message',
        'message', json_build_object(
            'message_id', m.message_id,
            'sender_id', m.sender_id,
            'receiver_id', m.receiver_id,
            'content', m.content,
            'status', CASE WHEN m.status = 'sent' THEN 'delivered'
                           ELSE m.status::text END,
            'is_deleted', m.is_deleted,
            'created_at', api_time(m.created_at),
            'updated_at', api_time(m.updated_at),
            'read_at', api_time(m.read_at),
            'sender', (SELECT api_public_account(a) FROM account a
                       WHERE a.account_id = m.sender_id),
            'receiver', (SELECT api_public_account(a) FROM account a
                         WHERE a.account_id = m.receiver_id)))::text
$$;

-- Frames of the messages that events name, not deleted.
CREATE FUNCTION push_messages(ids uuid[])
RETURNS TABLE (message_id uuid, sender_id uuid, receiver_id uuid, frame text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, m.sender_id, m.receiver_id, push_message_frame(m)
      FROM message m
     WHERE m.message_id = ANY (ids) AND NOT m.is_deleted
$$;

-- What a user missed while away: undelivered messages, oldest first.
CREATE FUNCTION push_undelivered(account uuid, max_rows int)
RETURNS TABLE (message_id uuid, frame text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, push_message_frame(m)
      FROM message m
     WHERE m.receiver_id = account AND m.status = 'sent' AND NOT m.is_deleted
     ORDER BY m.created_at, m.message_id
     LIMIT max_rows
$$;

-- Marks pushed messages delivered; the first daemon to do so records the
-- message_delivered event for the sender.
CREATE FUNCTION push_mark_delivered(ids uuid[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    m record;
    n int := 0;
BEGIN
    FOR m IN UPDATE message SET status = 'delivered'
              WHERE message_id = ANY (ids) AND status = 'sent'
             RETURNING message_id, sender_id, receiver_id LOOP
        PERFORM record_event('message_delivered', m.receiver_id, m.sender_id,
                             m.message_id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- The events of docs/events.md as rows, for the daemons.
CREATE FUNCTION push_events(horizon xid8)
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    upto xid8 := pg_snapshot_xmin(pg_current_snapshot());
BEGIN
    -- One row at least, so the caller always learns the next horizon.
    RETURN QUERY
        SELECT upto, e.event_id, e.kind, e.actor_id, e.target_id, e.message_id
          FROM event e
         WHERE e.xid >= horizon AND e.xid < upto
        UNION ALL
        SELECT upto, NULL::bigint, NULL::text, NULL::uuid, NULL::uuid, NULL::uuid
         ORDER BY 2 NULLS LAST;
END
$$;

------------------------------------------------------------------------
-- Typing indicators: relayed through NOTIFY to whichever daemon holds the
-- receiver, never stored.

CREATE FUNCTION push_typing(sender uuid, receiver uuid, typing boolean)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF sender = receiver OR NOT are_friends(sender, receiver) THEN
        RETURN false;
    END IF;
    PERFORM pg_notify('chat_typing', receiver::text || ' ' ||
        json_build_object('type', 'typing_indicator', 'user_id', sender,
                          'is_typing', typing)::text);
    RETURN true;
END
$$;

-- A daemon stops (SIGTERM): its connections go, and its node row.
CREATE FUNCTION push_node_stop(node text, timeout_seconds int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    gone uuid;
    n int := 0;
BEGIN
    FOR gone IN DELETE FROM presence_connection WHERE node_id = node
                RETURNING account_id LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(gone::text, 7));
        IF NOT is_online(gone, timeout_seconds) THEN
            n := n + record_presence(gone, 'user_offline', timeout_seconds);
        END IF;
    END LOOP;
    DELETE FROM presence_node WHERE node_id = node;
    RETURN n;
END
$$;
