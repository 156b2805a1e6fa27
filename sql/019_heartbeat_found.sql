-- A daemon learns from its heartbeat that another one took it for dead
-- (push-daemon/presence.c).
--
-- push_reap drops the node and the connections of a daemon whose heartbeat
-- is older than the presence timeout. A daemon that only stalled that long
-- lived on with its connections open and out of presence: its users
-- looked offline to their friends, and since sql/018 the wake-ups for them
-- were not sent (their messages waited for the daemon's periodic read).
-- push_heartbeat put the node row back and said nothing; this one answers
-- NULL when the row was gone, and the daemon then registers its
-- connections again. push_heartbeat stays for the daemons of the previous
-- release during a rolling upgrade.
CREATE FUNCTION push_heartbeat_found(node text) RETURNS boolean
LANGUAGE sql AS $$
    UPDATE presence_node SET heartbeat_at = now()
     WHERE node_id = node
    RETURNING true
$$;
