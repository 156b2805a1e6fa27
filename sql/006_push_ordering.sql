-- The push daemon merges the undelivered messages of a new connection with
-- the messages that events pushed while that query ran, in created_at
-- order and without duplicates (push-daemon/presence.c). For that, both
-- carry created_at, and the undelivered query tells which transactions its
-- snapshot saw.

DROP FUNCTION push_messages(uuid[]);

CREATE FUNCTION push_messages(ids uuid[])
RETURNS TABLE (message_id uuid, sender_id uuid, receiver_id uuid,
               created_at text, frame text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, m.sender_id, m.receiver_id, api_time(m.created_at),
           push_message_frame(m)
      FROM message m
     WHERE m.message_id = ANY (ids) AND NOT m.is_deleted
$$;

DROP FUNCTION push_undelivered(uuid, int);

-- What a new connection gets after online_friends: the messages to the
-- account still undelivered, and those whose message_created event the
-- daemon has not read yet (horizon: its event horizon, NULL if unknown):
-- another daemon may already have marked them delivered, and they must
-- come here in their place in time. snapshot_xmax: every event of a
-- transaction below it was visible to this query; once the daemon's event
-- horizon passes it, no event can repeat a message of this answer.
CREATE FUNCTION push_undelivered(account uuid, max_rows int, horizon xid8)
RETURNS TABLE (message_id uuid, created_at text, frame text,
               snapshot_xmax text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, api_time(m.created_at), push_message_frame(m),
           pg_snapshot_xmax(pg_current_snapshot())::text
      FROM message m
     WHERE m.message_id IN (
               SELECT u.message_id FROM message u
                WHERE u.receiver_id = account AND u.status = 'sent'
                  AND NOT u.is_deleted
               UNION
               SELECT e.message_id FROM event e
                WHERE e.xid >= horizon AND e.kind = 'message_created'
                  AND e.target_id = account)
       AND NOT m.is_deleted
     ORDER BY m.created_at, m.message_id
     LIMIT max_rows
$$;
