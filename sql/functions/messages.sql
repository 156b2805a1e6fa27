-- Direct messages (CONTRACT §5): send, read, delete, unread count, and
-- the history page. The api_* functions that change something return
-- (status, body, events) as those of sql/functions/friends.sql do.

-- Message of CONTRACT §2, the seed's REST response. In PL/pgSQL so that
-- its plan is kept for the database session: as a LANGUAGE sql function
-- with sub-selects it could not be inlined, and every query calling it
-- parsed and planned it again (0.14 ms a send, 0.02 ms once planned).
CREATE OR REPLACE FUNCTION api_message(m message) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
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
                     WHERE a.account_id = m.receiver_id));
END
$$;

-- The 422 of an Idempotency-Key used again for another request (CONTRACT
-- §10): another receiver, group or content.
CREATE OR REPLACE FUNCTION api_key_reused() RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('detail', json_build_array(json_build_object(
        'loc', json_build_array('header', 'Idempotency-Key'),
        'msg', 'Idempotency-Key already used for another request',
        'type', 'value_error')))
$$;

-- The earlier send that a send of me under key repeats (CONTRACT §10,
-- docs/events.md "Idempotent sends"): a direct one to conv (an account)
-- or, in_group, one to conv (a group). It takes the key's transaction
-- lock first, so that a repeat that comes while the first is under way
-- waits for it and then finds it. A repeat is of the same sender and key
-- within 24 hours: with 'h:' the key alone names the request, direct or
-- group (reused: another conversation or content, the 422), with 't:'
-- only the same conversation and content make one. earlier: NULL when
-- there is none.
CREATE OR REPLACE FUNCTION send_key_earlier(me uuid, key text,
    in_group boolean, conv uuid, body_text text, OUT earlier uuid,
    OUT reused boolean)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(me::text || key, 0));
    SELECT k.id, k.to_id <> conv OR k.content <> body_text
      INTO earlier, reused
      FROM (SELECT d.message_id, d.receiver_id, d.content, d.created_at
              FROM message d
             WHERE (NOT in_group OR left(key, 2) = 'h:')
               AND d.sender_id = me AND d.send_key = key
            UNION ALL
            SELECT g.message_id, g.group_id, g.content, g.created_at
              FROM group_message g
             WHERE (in_group OR left(key, 2) = 'h:')
               AND g.sender_id = me AND g.send_key = key)
           AS k(id, to_id, content, sent_at)
     WHERE k.sent_at > now() - interval '24 hours'
       AND (left(key, 2) = 'h:' OR (k.to_id = conv AND k.content = body_text))
     ORDER BY k.sent_at DESC
     LIMIT 1;
END
$$;

-- A send, its rules in order: a repeat of an idempotent send (key, below)
-- is answered as the first one was; then not to oneself (400), to an
-- account that exists (404), to a friend (403); then the message, its
-- conversation's count, and the message_created event. body: the
-- refusal's detail; m: the message (NULL when refused); stored: whether
-- this call stored it (a repeat did not). The answers in JSON
-- (api_send_message) and as a row (api_send_message_row) are made of it.
--
-- key (CONTRACT §10): 'h:' and an Idempotency-Key, or 't:' and a temp_id;
-- a repeat (send_key_earlier) stores nothing.
CREATE OR REPLACE FUNCTION send_message(me uuid, receiver uuid, body_text text,
    key text DEFAULT NULL, OUT status int, OUT body json, OUT m message,
    OUT stored boolean)
LANGUAGE plpgsql AS $$
DECLARE
    k record;
BEGIN
    stored := false;
    IF key IS NOT NULL THEN
        SELECT * INTO k
          FROM send_key_earlier(me, key, false, receiver, body_text);
        IF k.reused THEN
            status := 422; body := api_key_reused();
            RETURN;
        END IF;
        IF k.earlier IS NOT NULL THEN
            SELECT * INTO m FROM message WHERE message_id = k.earlier;
            -- As the first answer showed it.
            m.status := 'sent'; m.read_at := NULL; m.is_deleted := false;
            m.updated_at := m.created_at;
            status := 201;
            RETURN;
        END IF;
    END IF;
    body := rate_refused('send', me::text);  -- CONTRACT §12: 429 before anything is stored
    IF body IS NOT NULL THEN status := 429; RETURN; END IF;
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
    -- One clock reading for both times: a repeat of an idempotent send
    -- answers updated_at as created_at, as this first answer shows it.
    INSERT INTO message (sender_id, receiver_id, content, send_key,
                         created_at, updated_at)
    SELECT me, receiver, body_text, key, t, t FROM clock_timestamp() t
    RETURNING * INTO m;
    PERFORM record_event('message_created', me, receiver, m.message_id);
    status := 201; stored := true;
END
$$;

-- A send answered in JSON, for the push daemons' batches (push_send_batch).
CREATE OR REPLACE FUNCTION api_send_message(me uuid, receiver uuid, body_text text,
    key text DEFAULT NULL, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM send_message(me, receiver, body_text, key);
    status := r.status; body := r.body; events := 0;
    IF status = 201 THEN
        body := api_message(r.m);
        events := CASE WHEN r.stored THEN 1 ELSE 0 END;
    END IF;
END
$$;

-- The answer of a REST call that acts on one message, as a row that
-- chat-fcgi writes as the Message (fcgi-app/page.c, which writes the
-- messages of history pages too): status and body (the refusal's, or
-- NULL), the events recorded in the third column, the message, and the
-- PublicAccounts of its sender and receiver in the last two.
CREATE OR REPLACE FUNCTION message_answer(status int, body json, events int,
    m message) RETURNS message_page_row
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ROW(status, body, events, m.message_id, m.sender_id,
               m.receiver_id, m.content, m.status, m.is_deleted,
               m.created_at, m.updated_at, m.read_at,
               (SELECT api_public_account(a) FROM account a
                 WHERE a.account_id = m.sender_id),
               (SELECT api_public_account(a) FROM account a
                 WHERE a.account_id = m.receiver_id))::message_page_row;
END
$$;

-- POST /chat/messages for chat-fcgi: the caller's check, then the send
-- (key: 'h:' and the Idempotency-Key header, or NULL).
CREATE OR REPLACE FUNCTION api_send_message_row(me uuid, receiver uuid,
    body_text text, key text DEFAULT NULL) RETURNS message_page_row
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM caller_refusal(me);
    IF r.status IS NOT NULL THEN
        RETURN message_answer(r.status, r.body, 0, NULL);
    END IF;
    SELECT * INTO r FROM send_message(me, receiver, body_text, key);
    RETURN message_answer(r.status, r.body,
                          CASE WHEN r.stored THEN 1 ELSE 0 END, r.m);
END
$$;

-- What chat-fcgi of the previous build calls for POST /chat/messages (a
-- rolling upgrade, docs/DEPLOY.md); drop it in the next release.
CREATE OR REPLACE FUNCTION api_send_message_checked(me uuid, receiver uuid,
    body_text text, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT r.status, r.body INTO status, body FROM caller_refusal(me) r;
    IF status IS NOT NULL THEN
        events := 0;
        RETURN;
    END IF;
    SELECT r.status, r.body, r.events INTO status, body, events
      FROM api_send_message(me, receiver, body_text) r;
END
$$;

-- The message id of the caller's conversations, locked for the change
-- the caller makes to it; a row of NULLs when it is unknown, deleted, or
-- not the caller's (all 404 alike: the caller may not learn it exists).
CREATE OR REPLACE FUNCTION message_of(me uuid, id uuid) RETURNS message
LANGUAGE plpgsql AS $$
DECLARE
    m message;
BEGIN
    SELECT * INTO m FROM message
     WHERE message_id = id AND NOT is_deleted
       AND (sender_id = me OR receiver_id = me)
       FOR UPDATE;
    RETURN m;
END
$$;

-- PUT /chat/messages/{message_id}/read, by the receiver. Idempotent: a
-- message already read keeps its read_at, and records no event. m: the
-- message as it is after (NULL when refused).
CREATE OR REPLACE FUNCTION mark_read(me uuid, id uuid,
    OUT status int, OUT body json, OUT events int, OUT m message)
LANGUAGE plpgsql AS $$
BEGIN
    events := 0;
    body := rate_refused('read', me::text);  -- CONTRACT §12: 429 first
    IF body IS NOT NULL THEN status := 429; RETURN; END IF;
    m := message_of(me, id);
    IF m.message_id IS NULL THEN
        status := 404; body := api_detail('Message not found'); m := NULL;
        RETURN;
    END IF;
    IF m.sender_id = me THEN
        status := 403; body := api_detail('Only the receiver can mark a message as read');
        m := NULL;
        RETURN;
    END IF;
    IF m.status <> 'read' THEN
        UPDATE message SET status = 'read', read_at = clock_timestamp()
         WHERE message_id = id RETURNING * INTO m;
        PERFORM record_event('message_read', me, m.sender_id, id);
        events := 1;
    END IF;
    status := 200;
END
$$;

-- A mark read answered in JSON, for the push daemons (the mark_read frame).
CREATE OR REPLACE FUNCTION api_mark_read(me uuid, id uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM mark_read(me, id);
    status := r.status; body := r.body; events := r.events;
    IF status = 200 THEN
        body := api_message(r.m);
    END IF;
END
$$;

-- A mark read answered as a row, for chat-fcgi (message_answer).
CREATE OR REPLACE FUNCTION api_mark_read_row(me uuid, id uuid)
RETURNS message_page_row
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    SELECT * INTO r FROM mark_read(me, id);
    RETURN message_answer(r.status, r.body, r.events, r.m);
END
$$;

-- DELETE /chat/messages/{message_id}: soft, the row stays.
CREATE OR REPLACE FUNCTION api_delete_message(me uuid, id uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    m message;
BEGIN
    events := 0;
    m := message_of(me, id);
    IF m.message_id IS NULL THEN
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

-- GET /chat/messages/unread-count (message_unread_by_receiver serves it).
CREATE OR REPLACE FUNCTION api_unread_count(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('unread_count', count(*))
      FROM message
     WHERE receiver_id = me AND read_at IS NULL AND NOT is_deleted
$$;

-- The checks history and search share, in the order of the other routes:
-- the caller's account (401 gone, 403 inactive: chat-fcgi checks only the
-- token of these routes, see ROUTE_TOKEN in fcgi-app/router.c), then 404
-- unknown account, 403 not friends; else status 200 and the PublicAccount
-- of either side.
CREATE OR REPLACE FUNCTION conversation_gate(me uuid, friend uuid)
RETURNS TABLE (status int, body json, mine json, theirs json)
LANGUAGE sql STABLE AS $$
    SELECT s.status,
           CASE WHEN s.status <> 200 THEN api_detail(s.detail) END,
           CASE WHEN s.status = 200 THEN s.mine END,
           CASE WHEN s.status = 200 THEN s.theirs END
      -- OFFSET 0 keeps the sub-select whole: inlined, each use of its
      -- columns above would repeat its look-ups.
      FROM (SELECT r.status, r.detail, api_public_account(c) AS mine,
                   api_public_account(f) AS theirs
              FROM (VALUES (1)) one
              LEFT JOIN account c ON c.account_id = me
              LEFT JOIN account f ON f.account_id = friend,
              LATERAL (SELECT CASE
                  WHEN c.account_id IS NULL THEN 401
                  WHEN NOT c.is_active THEN 403
                  WHEN f.account_id IS NULL THEN 404
                  WHEN me = friend OR NOT EXISTS (
                      SELECT 1 FROM friendship p
                       WHERE least(p.sender_id, p.receiver_id) = least(me, friend)
                         AND greatest(p.sender_id, p.receiver_id) = greatest(me, friend)
                         AND p.status = 'accepted') THEN 403
                  ELSE 200 END AS status,
                  CASE
                  WHEN c.account_id IS NULL THEN 'Could not validate credentials'
                  WHEN NOT c.is_active THEN 'Inactive user'
                  WHEN f.account_id IS NULL THEN 'Account not found'
                  ELSE 'Not friends with this user' END AS detail) r
            OFFSET 0) s
$$;

-- The rows of a history page (message_page_row): a header row with the
-- gate's status, the conversation's total and the two accounts (sender_id
-- the caller, receiver_id the friend), then the page's messages newest
-- first, with sender and receiver NULL: chat-fcgi (fcgi-app/page.c) picks
-- the accounts of the header by sender_id. Plain SQL that the planner
-- inlines into the query calling it.
CREATE OR REPLACE FUNCTION history_rows(me uuid, friend uuid, skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE sql STABLE AS $$
    WITH gate AS (SELECT * FROM conversation_gate(me, friend))
    SELECT g.status, g.body,
           coalesce((SELECT v.message_count FROM conversation v
                      WHERE v.low_id = least(me, friend)
                        AND v.high_id = greatest(me, friend)), 0),
           NULL, me, friend, NULL, NULL, NULL, NULL, NULL, NULL,
           g.mine, g.theirs
      FROM gate g
    UNION ALL
    (SELECT NULL, NULL, NULL, m.message_id, m.sender_id, m.receiver_id,
            m.content, m.status, m.is_deleted, m.created_at, m.updated_at,
            m.read_at, NULL, NULL
       FROM message m
      -- A condition checked once (the plan's one-time filter), not a
      -- join with gate at every row.
      WHERE (SELECT g.status FROM gate g) = 200
        AND least(m.sender_id, m.receiver_id) = least(me, friend)
        AND greatest(m.sender_id, m.receiver_id) = greatest(me, friend)
        AND NOT m.is_deleted
      ORDER BY least(m.sender_id, m.receiver_id),
               greatest(m.sender_id, m.receiver_id),
               m.created_at DESC, m.message_id DESC
     OFFSET skip LIMIT lim)
$$;

-- History for chat-fcgi. PostgreSQL would plan a statement calling
-- history_rows anew at every call: the generic plan cannot know the LIMIT,
-- so its estimate loses to the custom plans' and is never chosen, and
-- each custom plan parses the inlined functions again (a third of the
-- server's time). This wrapper keeps one generic plan per session.
CREATE OR REPLACE FUNCTION api_history_page(me uuid, friend uuid, skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY SELECT * FROM history_rows(me, friend, skip, lim);
END
$$;

CREATE OR REPLACE TRIGGER message_updated_at BEFORE UPDATE ON message
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
