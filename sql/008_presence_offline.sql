-- The connections of nodes leaving the online set, in one place:
-- push_node_start (what an earlier run left), push_node_stop (SIGTERM) and
-- push_reap (dead nodes) each repeated this loop. It now takes the
-- accounts' advisory locks in account id order, as push_connect_many does,
-- so that it and a batch of connections cannot deadlock (each took them in
-- the order the rows were deleted); and an account with several of the
-- connections is counted once, where it recorded one user_offline per
-- connection.

-- Deletes the connections of nodes; the online friends of each account
-- left with no connection hear user_offline. Answers the events recorded.
-- One call for all the nodes of a transaction: the locks are taken in
-- order across them.
CREATE FUNCTION presence_drop_nodes(nodes text[], timeout_seconds int)
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

-- Run by every daemon now and then: takes dead nodes out of the online set
-- (their users' friends hear user_offline) and prunes old events.
CREATE OR REPLACE FUNCTION push_reap(timeout_seconds int, keep_events interval)
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    dead text[];
    n int;
BEGIN
    dead := ARRAY(SELECT node_id FROM presence_node
                   WHERE heartbeat_at < now() - make_interval(secs => timeout_seconds)
                     FOR UPDATE SKIP LOCKED);
    n := presence_drop_nodes(dead, timeout_seconds);
    DELETE FROM presence_node WHERE node_id = ANY (dead);
    IF pg_try_advisory_xact_lock(hashtextextended('event-pruning', 7)) THEN
        DELETE FROM event WHERE created_at < now() - keep_events;
    END IF;
    RETURN n;
END
$$;
