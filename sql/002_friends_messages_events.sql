-- Friends, messages, presence and the event stream (CONTRACT §4, §5, §8;
-- docs/events.md). The api_* functions hold each endpoint's rules and
-- return (status, body, events): the HTTP status, the JSON body, and how
-- many events they recorded (the caller then sends NOTIFY after commit).

CREATE FUNCTION api_detail(detail text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('detail', detail)
$$;

------------------------------------------------------------------------
-- Friendships: one row per pair of accounts, whoever asked first.

CREATE TYPE friendship_status AS ENUM ('pending', 'accepted', 'rejected');

CREATE TABLE friendship (
    sender_id    uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    receiver_id  uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    status       friendship_status NOT NULL DEFAULT 'pending',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender_id, receiver_id),
    CHECK (sender_id <> receiver_id)
);

-- Serves the friendship check of every send, history and search: a pair
-- is found by (least, greatest) whichever way the request went.
CREATE UNIQUE INDEX friendship_pair_key ON friendship
    (least(sender_id, receiver_id), greatest(sender_id, receiver_id));
-- Serves the friends list and pending requests of the receiving side (the
-- primary key serves the sending side).
CREATE INDEX friendship_receiver ON friendship (receiver_id, status);

CREATE TRIGGER friendship_updated_at BEFORE UPDATE ON friendship
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION api_friendship(f friendship) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'sender_id', f.sender_id,
        'receiver_id', f.receiver_id,
        'status', f.status,
        'created_at', api_time(f.created_at),
        'updated_at', api_time(f.updated_at))
$$;

CREATE FUNCTION are_friends(a uuid, b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM friendship
        WHERE least(sender_id, receiver_id) = least(a, b)
          AND greatest(sender_id, receiver_id) = greatest(a, b)
          AND status = 'accepted')
$$;

------------------------------------------------------------------------
-- Messages.

CREATE TYPE message_status AS ENUM ('sent', 'delivered', 'read');

CREATE TABLE message (
    message_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sender_id    uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    receiver_id  uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    content      text NOT NULL CHECK (content <> ''),
    status       message_status NOT NULL DEFAULT 'sent',
    is_deleted   boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at      timestamptz
);

-- Serves history: one conversation, newest first, deleted ones left out;
-- a page costs skip + limit index entries whatever the conversation's length.
CREATE INDEX message_conversation ON message
    (least(sender_id, receiver_id), greatest(sender_id, receiver_id),
     created_at DESC, message_id DESC)
    WHERE NOT is_deleted;
-- Serves search: case-insensitive substring of the content (ILIKE).
CREATE INDEX message_content_trgm ON message USING gin (content gin_trgm_ops);
-- Serves the unread count.
CREATE INDEX message_unread ON message (receiver_id)
    WHERE status <> 'read' AND NOT is_deleted;
-- Serves the push daemon's undelivered messages, oldest first.
CREATE INDEX message_undelivered ON message (receiver_id, created_at)
    WHERE status = 'sent' AND NOT is_deleted;

CREATE TRIGGER message_updated_at BEFORE UPDATE ON message
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Per conversation: the number of messages not deleted (history's total,
-- without counting the rows), and a row to lock so that the sends of one
-- conversation take their created_at in commit order.
CREATE TABLE conversation (
    low_id         uuid NOT NULL,
    high_id        uuid NOT NULL,
    message_count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (low_id, high_id),
    CHECK (low_id < high_id)
);

-- Message of CONTRACT §2, the seed's REST response.
CREATE FUNCTION api_message(m message) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'message_id', m.message_id,
        'sender_id', m.sender_id,
        'receiver_id', m.receiver_id,
        'content', m.content,
        'status', m.status,
        'is_deleted', m.is_deleted,
        'created_at', api_time(m.created_at),
        'updated_at', api_time(m.updated_at),
        'read_at', api_time(m.read_at),
        'sender', (SELECT api_public_account(a) FROM account a
                   WHERE a.account_id = m.sender_id),
        'receiver', (SELECT api_public_account(a) FROM account a
                     WHERE a.account_id = m.receiver_id))
$$;

------------------------------------------------------------------------
-- Presence (CONTRACT §8): written by the push daemons. A node whose
-- heartbeat is older than the timeout counts as gone with its connections.

CREATE TABLE presence_node (
    node_id       text PRIMARY KEY,
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE presence_connection (
    node_id        text NOT NULL REFERENCES presence_node ON DELETE CASCADE,
    connection_id  bigint NOT NULL,
    account_id     uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    connected_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, connection_id)
);

CREATE INDEX presence_connection_account ON presence_connection (account_id);

CREATE FUNCTION is_online(account uuid, timeout_seconds int) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM presence_connection c
        JOIN presence_node n USING (node_id)
        WHERE c.account_id = account
          AND n.heartbeat_at > now() - make_interval(secs => timeout_seconds))
$$;

------------------------------------------------------------------------
-- Events: every change a connected client must hear of. See docs/events.md
-- for how a reader finds them without gaps.

CREATE TABLE event (
    event_id    bigserial PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind        text NOT NULL CHECK (kind IN (
                    'message_created', 'message_delivered', 'message_read',
                    'message_deleted', 'friend_requested', 'friend_accepted',
                    'friend_removed')),
    actor_id    uuid NOT NULL,
    target_id   uuid NOT NULL,
    message_id  uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Serves the readers' query by transaction id.
CREATE INDEX event_xid ON event (xid);

CREATE FUNCTION record_event(kind text, actor uuid, target uuid,
    message uuid DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO event (kind, actor_id, target_id, message_id)
    VALUES (kind, actor, target, message)
$$;

-- The events committed by every transaction older than the oldest one
-- still running, from horizon on, and the next horizon. Rows of a
-- transaction below that point can no longer appear, so a reader that
-- moves its horizon this way never skips one.
CREATE FUNCTION events_since(horizon xid8, OUT next_horizon xid8,
    OUT events json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    next_horizon := pg_snapshot_xmin(pg_current_snapshot());
    SELECT coalesce(json_agg(json_build_object(
               'event_id', e.event_id, 'kind', e.kind,
               'actor_id', e.actor_id, 'target_id', e.target_id,
               'message_id', e.message_id) ORDER BY e.event_id), '[]')
      INTO events
      FROM event e
     WHERE e.xid >= horizon AND e.xid < next_horizon;
END
$$;

------------------------------------------------------------------------
-- Friends endpoints (CONTRACT §4).

CREATE FUNCTION api_friend_request(me uuid, other uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    f friendship;
BEGIN
    events := 0;
    IF me = other THEN
        status := 400; body := api_detail('Cannot send friend request to yourself');
        RETURN;
    END IF;
    PERFORM 1 FROM account WHERE account_id = other;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
        RETURN;
    END IF;
    SELECT * INTO f FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, other)
       AND greatest(sender_id, receiver_id) = greatest(me, other)
       FOR UPDATE;
    IF FOUND AND f.status = 'accepted' THEN
        status := 400; body := api_detail('Already friends');
        RETURN;
    ELSIF FOUND AND f.status = 'pending' THEN
        status := 400; body := api_detail('Friend request already pending');
        RETURN;
    ELSIF FOUND THEN
        -- A rejected request may be made again, by either side.
        UPDATE friendship SET sender_id = me, receiver_id = other,
               status = 'pending', created_at = now()
         WHERE sender_id = f.sender_id AND receiver_id = f.receiver_id
        RETURNING * INTO f;
    ELSE
        BEGIN
            INSERT INTO friendship (sender_id, receiver_id)
            VALUES (me, other) RETURNING * INTO f;
        EXCEPTION WHEN unique_violation THEN
            -- The other side asked at the same moment.
            status := 400; body := api_detail('Friend request already pending');
            RETURN;
        END;
    END IF;
    PERFORM record_event('friend_requested', me, other);
    status := 201; body := api_friendship(f); events := 1;
END
$$;

CREATE FUNCTION api_friend_answer(me uuid, requester uuid, accept boolean,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    f friendship;
BEGIN
    events := 0;
    UPDATE friendship
       SET status = CASE WHEN accept THEN 'accepted'::friendship_status
                         ELSE 'rejected'::friendship_status END
     WHERE sender_id = requester AND receiver_id = me AND friendship.status = 'pending'
    RETURNING * INTO f;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Friend request not found');
        RETURN;
    END IF;
    IF accept THEN
        PERFORM record_event('friend_accepted', me, requester);
        events := 1;
    END IF;
    status := 200; body := api_friendship(f);
END
$$;

CREATE FUNCTION api_friend_remove(me uuid, friend uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
BEGIN
    events := 0;
    DELETE FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, friend)
       AND greatest(sender_id, receiver_id) = greatest(me, friend)
       AND friendship.status = 'accepted';
    IF NOT FOUND THEN
        status := 404; body := api_detail('Friend not found');
        RETURN;
    END IF;
    PERFORM record_event('friend_removed', me, friend);
    status := 200; body := api_detail('Friend removed'); events := 1;
END
$$;

CREATE FUNCTION api_friends(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(api_public_account(a)
                    ORDER BY lower(a.username), a.username), '[]')
      FROM friendship f
      JOIN account a ON a.account_id =
           CASE WHEN f.sender_id = me THEN f.receiver_id ELSE f.sender_id END
     WHERE (f.sender_id = me OR f.receiver_id = me) AND f.status = 'accepted'
$$;

CREATE FUNCTION api_friend_requests(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object(
               'sender_id', f.sender_id,
               'receiver_id', f.receiver_id,
               'status', f.status,
               'created_at', api_time(f.created_at),
               'updated_at', api_time(f.updated_at),
               'sender', api_public_account(a))
           ORDER BY f.created_at, f.sender_id), '[]')
      FROM friendship f JOIN account a ON a.account_id = f.sender_id
     WHERE f.receiver_id = me AND f.status = 'pending'
$$;

CREATE FUNCTION api_friend_status(me uuid, other uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    f friendship;
    word text := 'none';
BEGIN
    events := 0;
    PERFORM 1 FROM account WHERE account_id = other;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
        RETURN;
    END IF;
    SELECT * INTO f FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, other)
       AND greatest(sender_id, receiver_id) = greatest(me, other);
    IF FOUND AND f.status = 'accepted' THEN
        word := 'friends';
    ELSIF FOUND AND f.status = 'pending' THEN
        word := CASE WHEN f.sender_id = me THEN 'request_sent'
                     ELSE 'request_received' END;
    END IF;
    status := 200; body := json_build_object('status', word);
END
$$;

------------------------------------------------------------------------
-- Chat endpoints (CONTRACT §5).

CREATE FUNCTION api_send_message(me uuid, receiver uuid, body_text text,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    m message;
BEGIN
    events := 0;
    IF me = receiver THEN
        status := 400; body := api_detail('Cannot send message to yourself');
        RETURN;
    END IF;
    PERFORM 1 FROM account WHERE account_id = receiver;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Receiver not found');
        RETURN;
    END IF;
    -- FOR SHARE: a removal of the friendship waits for this send, or this
    -- send waits for the removal and then finds no friendship.
    PERFORM 1 FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, receiver)
       AND greatest(sender_id, receiver_id) = greatest(me, receiver)
       AND friendship.status = 'accepted'
       FOR SHARE;
    IF NOT FOUND THEN
        status := 403; body := api_detail('Not friends with recipient');
        RETURN;
    END IF;
    -- Lock the conversation first: created_at is then taken in commit order.
    INSERT INTO conversation (low_id, high_id, message_count)
    VALUES (least(me, receiver), greatest(me, receiver), 1)
    ON CONFLICT (low_id, high_id)
    DO UPDATE SET message_count = conversation.message_count + 1;
    INSERT INTO message (sender_id, receiver_id, content)
    VALUES (me, receiver, body_text) RETURNING * INTO m;
    PERFORM record_event('message_created', me, receiver, m.message_id);
    status := 201; body := api_message(m); events := 1;
END
$$;

CREATE FUNCTION api_mark_read(me uuid, id uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    m message;
BEGIN
    events := 0;
    SELECT * INTO m FROM message
     WHERE message_id = id AND NOT is_deleted
       AND (sender_id = me OR receiver_id = me)
       FOR UPDATE;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Message not found');
        RETURN;
    END IF;
    IF m.sender_id = me THEN
        status := 403; body := api_detail('Only the receiver can mark a message as read');
        RETURN;
    END IF;
    -- Idempotent: a message already read keeps its read_at, and no event.
    IF m.status <> 'read' THEN
        UPDATE message SET status = 'read', read_at = clock_timestamp()
         WHERE message_id = id RETURNING * INTO m;
        PERFORM record_event('message_read', me, m.sender_id, id);
        events := 1;
    END IF;
    status := 200; body := api_message(m);
END
$$;

CREATE FUNCTION api_delete_message(me uuid, id uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    m message;
BEGIN
    events := 0;
    SELECT * INTO m FROM message
     WHERE message_id = id AND NOT is_deleted
       AND (sender_id = me OR receiver_id = me)
       FOR UPDATE;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Message not found');
        RETURN;
    END IF;
    IF m.receiver_id = me THEN
        status := 403; body := api_detail('Only the sender can delete this message');
        RETURN;
    END IF;
    UPDATE message SET is_deleted = true WHERE message_id = id;
    UPDATE conversation SET message_count = message_count - 1
     WHERE low_id = least(m.sender_id, m.receiver_id)
       AND high_id = greatest(m.sender_id, m.receiver_id);
    PERFORM record_event('message_deleted', me, m.receiver_id, id);
    status := 200;
    body := json_build_object('detail', 'Message deleted', 'message_id', id);
    events := 1;
END
$$;

-- The checks history and search share: 404 unknown account, 403 not friends.
CREATE FUNCTION conversation_refusal(me uuid, friend uuid,
    OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    PERFORM 1 FROM account WHERE account_id = friend;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
    ELSIF me = friend OR NOT are_friends(me, friend) THEN
        status := 403; body := api_detail('Not friends with this user');
    END IF;
END
$$;

CREATE FUNCTION api_history(me uuid, friend uuid, skip bigint, lim int,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    total bigint;
    page json;
BEGIN
    events := 0;
    SELECT r.status, r.body INTO status, body FROM conversation_refusal(me, friend) r;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT coalesce(c.message_count, 0) INTO total FROM conversation c
     WHERE c.low_id = least(me, friend) AND c.high_id = greatest(me, friend);
    SELECT coalesce(json_agg(api_message(m) ORDER BY m.created_at DESC, m.message_id DESC), '[]')
      INTO page
      FROM (SELECT * FROM message
             WHERE least(sender_id, receiver_id) = least(me, friend)
               AND greatest(sender_id, receiver_id) = greatest(me, friend)
               AND NOT is_deleted
             ORDER BY least(sender_id, receiver_id), greatest(sender_id, receiver_id),
                      created_at DESC, message_id DESC
            OFFSET skip LIMIT lim) m;
    status := 200;
    body := json_build_object('messages', page, 'total', coalesce(total, 0),
                              'skip', skip, 'limit', lim);
END
$$;

CREATE FUNCTION api_search(me uuid, friend uuid, keyword text, skip bigint,
    lim int, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    total bigint := 0;
    page json;
BEGIN
    events := 0;
    SELECT r.status, r.body INTO status, body FROM conversation_refusal(me, friend) r;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT count(*) INTO total FROM message
     WHERE least(sender_id, receiver_id) = least(me, friend)
       AND greatest(sender_id, receiver_id) = greatest(me, friend)
       AND NOT is_deleted
       AND content ILIKE api_like_pattern(keyword);
    SELECT coalesce(json_agg(api_message(m) ORDER BY m.created_at DESC, m.message_id DESC), '[]')
      INTO page
      FROM (SELECT * FROM message
             WHERE least(sender_id, receiver_id) = least(me, friend)
               AND greatest(sender_id, receiver_id) = greatest(me, friend)
               AND NOT is_deleted
               AND content ILIKE api_like_pattern(keyword)
             ORDER BY created_at DESC, message_id DESC
            OFFSET skip LIMIT lim) m;
    status := 200;
    body := json_build_object('messages', page, 'total', total,
                              'skip', skip, 'limit', lim);
END
$$;

CREATE FUNCTION api_unread_count(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('unread_count', count(*))
      FROM message
     WHERE receiver_id = me AND status <> 'read' AND NOT is_deleted
$$;

CREATE FUNCTION api_online_friends(me uuid, timeout_seconds int) RETURNS json
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
