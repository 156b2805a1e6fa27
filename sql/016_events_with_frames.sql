-- An event read that brings the frames of the messages it knows it needs
-- (docs/PERFORMANCE.md, docs/events.md).
--
-- A daemon woken by a notification naming an account it holds read the
-- events, then fetched the new_message frames with a second statement
-- (push_messages): two round trips and two transactions on the path of
-- every pushed message. It now passes the accounts of those
-- notifications (frames_for), and the read answers, beside each
-- message_created event of such an account, the message's created_at and
-- frame: framed is true and frame NULL when the message has been deleted
-- since. Other events' frames (a lazy read, a notification naming no
-- account) still come from push_messages.
DROP FUNCTION push_events(xid8);

CREATE FUNCTION push_events(horizon xid8, frames_for uuid[])
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid, held boolean,
               framed boolean, created_at text, frame text)
LANGUAGE sql STABLE AS $$
    SELECT h.upto, e.event_id, e.kind, e.actor_id, e.target_id, e.message_id,
           coalesce((SELECT max(w.xid) FROM event w) >= h.upto, false),
           f.framed, f.created_at, f.frame
      FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS upto) h
      LEFT JOIN event e ON e.xid >= horizon AND e.xid < h.upto
      LEFT JOIN LATERAL (
          SELECT true AS framed, api_time(m.created_at) AS created_at,
                 CASE WHEN m.message_id IS NOT NULL
                      THEN push_message_frame(m) END AS frame
            FROM (VALUES (1)) one
            LEFT JOIN message m
              ON m.message_id = e.message_id AND NOT m.is_deleted
           WHERE e.kind = 'message_created'
             AND (e.actor_id = ANY (frames_for)
                  OR e.target_id = ANY (frames_for))) f ON true
     ORDER BY e.event_id NULLS LAST
$$;
