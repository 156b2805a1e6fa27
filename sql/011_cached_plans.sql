-- Functions of the send path keep their plans (docs/PERFORMANCE.md).
--
-- A LANGUAGE sql function that PostgreSQL cannot inline (it holds a
-- sub-select, or it is not a plain SELECT) has its body parsed and planned
-- again in every query that calls it, and every REST call is a query of
-- its own: api_message cost 0.14 ms a send that way, 0.02 ms once planned.
-- The same bodies in PL/pgSQL are planned once per database session.

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

CREATE OR REPLACE FUNCTION record_event(kind text, actor uuid, target uuid,
    message uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event (kind, actor_id, target_id, message_id)
    VALUES (kind, actor, target, message);
END
$$;

CREATE OR REPLACE FUNCTION are_friends(a uuid, b uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM friendship
        WHERE least(sender_id, receiver_id) = least(a, b)
          AND greatest(sender_id, receiver_id) = greatest(a, b)
          AND status = 'accepted');
END
$$;

-- The wake-up of docs/events.md: a NOTIFY in a transaction of its own,
-- after the change committed, naming the accounts concerned
-- (push_notify_accounts of 010; NULL: every daemon reads at once).
-- PostgreSQL gives that transaction an id and a commit record, which
-- synchronous_commit made wait for the disk: a second flush for every
-- change. It stores nothing a crash could lose but the wake-up itself,
-- which the daemons' periodic read covers.
CREATE FUNCTION wake_push_daemons(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM push_notify_accounts(accounts);
END
$$;

-- The caller's account, checked by the statement of the request rather
-- than by a round trip of its own before it (chat-fcgi's ROUTE_TOKEN
-- routes, fcgi-app/router.c): 401 when it is gone, 403 when inactive, as
-- fcgi-app/auth.c answers on the other routes; NULLs when it may go on.
CREATE FUNCTION caller_refusal(me uuid, OUT status int, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    active boolean;
BEGIN
    SELECT a.is_active INTO active FROM account a WHERE a.account_id = me;
    IF NOT FOUND THEN
        status := 401; body := api_detail('Could not validate credentials');
    ELSIF NOT active THEN
        status := 403; body := api_detail('Inactive user');
    END IF;
END
$$;

-- POST /chat/messages for chat-fcgi: the caller's check, then the send.
CREATE FUNCTION api_send_message_checked(me uuid, receiver uuid,
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
