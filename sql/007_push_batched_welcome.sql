-- New connections registered in batches (push-daemon/welcome.c): a daemon
-- that many clients reach at once (a restart, a network blip) registers
-- hundreds per round trip instead of one, and fetches their undelivered
-- messages likewise.

-- batch: a JSON array of {"conn": connection id, "account": account id}.
-- Answers a row per connection: its online_friends frame, or NULL when the
-- account no longer exists. Accounts are taken in id order, so that the
-- advisory locks of two daemons' batches cannot deadlock.
CREATE FUNCTION push_connect_many(node text, batch json, timeout_seconds int)
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

-- The undelivered messages of several accounts (push_undelivered for each),
-- rows grouped by account.
CREATE FUNCTION push_undelivered_many(accounts uuid[], max_rows int,
    horizon xid8)
RETURNS TABLE (account uuid, message_id uuid, created_at text, frame text,
               snapshot_xmax text)
LANGUAGE sql STABLE AS $$
    SELECT a, u.message_id, u.created_at, u.frame, u.snapshot_xmax
      FROM (SELECT DISTINCT unnest(accounts) AS a) accs,
           LATERAL push_undelivered(accs.a, max_rows, horizon) u
     ORDER BY a, u.created_at, u.message_id
$$;
