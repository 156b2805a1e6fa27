-- Presence look-ups keep their plans, and always go through the index on
-- the account (docs/PERFORMANCE.md).
--
-- is_online (002) and online_friends_of (003) are LANGUAGE sql functions
-- that PostgreSQL cannot inline (a sub-select; a set-returning function
-- called in a select list), so every call parsed and planned the body
-- again: 0.27 ms an is_online, called once a friend at every connect and
-- disconnect (8,000 calls for 2,000 connections). In PL/pgSQL their plans
-- live as long as the daemon's database session, as 011 did for the send.
--
-- A plan that lives that long must not be made for an empty table:
-- presence_connection is empty whenever the daemons restart, and a plan
-- made then (or from statistics taken then, before autovacuum analyzes the
-- table again) reads the whole table at every call as the connections
-- come back: 730 rows per call in the benchmark, 60,000 with every user
-- online. The look-ups of presence_connection by account go through its
-- index whatever the statistics say (enable_seqscan = off, in functions
-- that set nothing else: a SET clause undoes, when the function returns,
-- every setting made inside it).

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

-- Whether a connection is registered for one of accounts (the check of
-- wake_push_daemons, which sets synchronous_commit for its transaction,
-- so the SET clause goes here).
CREATE FUNCTION presence_holds_any(accounts uuid[]) RETURNS boolean
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM presence_connection
                    WHERE account_id = ANY (accounts));
END
$$;

-- wake_push_daemons of 018 with that look-up.
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
