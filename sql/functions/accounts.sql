-- Accounts (CONTRACT §3): their JSON shapes, the caller's check, and
-- the accounts the push daemons refuse.

-- PublicAccount of CONTRACT §2: the sender / receiver object.
CREATE OR REPLACE FUNCTION api_public_account(a account) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'account_id', a.account_id,
        'username', a.username,
        'full_name', a.full_name,
        'avatar', a.avatar)
$$;

-- Account of CONTRACT §2: the caller's own.
CREATE OR REPLACE FUNCTION api_account(a account) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'account_id', a.account_id,
        'username', a.username,
        'email', a.email,
        'full_name', a.full_name,
        'avatar', a.avatar,
        'is_active', a.is_active,
        'created_at', api_time(a.created_at),
        'role', json_build_object('role_name', a.role_name))
$$;

-- The caller's account, checked by the statement of the request rather
-- than by a round trip of its own before it (chat-fcgi's ROUTE_TOKEN
-- routes, fcgi-app/router.c): 401 when it is gone, 403 when inactive, as
-- fcgi-app/auth.c answers on the other routes; NULLs when it may go on.
CREATE OR REPLACE FUNCTION caller_refusal(me uuid, OUT status int, OUT body json)
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

-- The accounts that may not open a WebSocket: inactive ones, and those
-- deleted recently, whose tokens may still be valid. The daemons keep
-- this set in memory (and follow it through account_disabled and
-- account_enabled events), so the handshake needs no query.
CREATE OR REPLACE FUNCTION push_disabled_accounts() RETURNS SETOF uuid
LANGUAGE sql STABLE AS $$
    SELECT account_id FROM account WHERE NOT is_active
    UNION
    SELECT e.actor_id FROM event e
     WHERE e.kind = 'account_disabled'
       AND NOT EXISTS (SELECT 1 FROM account a WHERE a.account_id = e.actor_id)
$$;

-- An account's activation or deletion, as an event the daemons read to
-- keep their set of refused accounts.
CREATE OR REPLACE FUNCTION account_state_event() RETURNS trigger
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

CREATE OR REPLACE TRIGGER account_updated_at BEFORE UPDATE ON account
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE OR REPLACE TRIGGER account_state AFTER UPDATE OF is_active OR DELETE ON account
    FOR EACH ROW EXECUTE FUNCTION account_state_event();

-- Closes every WebSocket connection of an account, on every push daemon
-- (chatctl kick): the daemons LISTEN on chat_control and close each of
-- its connections with 1008. A notification rather than an event row: a
-- kick is of the moment. A daemon that is not listening at that moment
-- (its database connection down) does not hear it; chatctl kick then
-- finds that connection's presence row still there, and says so.
CREATE OR REPLACE FUNCTION account_kick(account uuid) RETURNS void
LANGUAGE sql AS $$
    SELECT pg_notify('chat_control', 'kick ' || account::text)
$$;
