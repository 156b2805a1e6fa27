-- Cheaper pushes: a delivered mark becomes a HOT update, and the
-- new_message frame keeps its plan (docs/PERFORMANCE.md).
--
-- A message's status was in the predicates of two partial indexes
-- (message_unread: status <> 'read'; message_undelivered: status =
-- 'sent'). PostgreSQL updates a row in place (HOT: no new index entries)
-- only when no indexed column changes, and a column of a predicate counts:
-- so every delivered mark wrote a new entry into every index of the
-- message, the GIN index of its trigrams included. One index on read_at
-- now serves both the unread count and the undelivered messages of a
-- connecting user; status is in no index, so sent -> delivered touches
-- the row alone. Free room on each page (fillfactor) lets the new version
-- stay on the page of the old.

-- read_at is set exactly when a message is read (api_mark_read): the
-- index's predicate relies on it.
ALTER TABLE message ADD CONSTRAINT message_read_at_when_read
    CHECK ((status = 'read') = (read_at IS NOT NULL));

CREATE INDEX message_unread_by_receiver ON message (receiver_id, created_at)
    WHERE read_at IS NULL AND NOT is_deleted;
DROP INDEX message_unread;
DROP INDEX message_undelivered;

ALTER TABLE message SET (fillfactor = 90);

CREATE OR REPLACE FUNCTION api_unread_count(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('unread_count', count(*))
      FROM message
     WHERE receiver_id = me AND read_at IS NULL AND NOT is_deleted
$$;

-- push_undelivered of 006; an undelivered message is unread, which is
-- what the index holds: the scan reads the receiver's unread messages.
CREATE OR REPLACE FUNCTION push_undelivered(account uuid, max_rows int,
    horizon xid8)
RETURNS TABLE (message_id uuid, created_at text, frame text,
               snapshot_xmax text)
LANGUAGE sql STABLE AS $$
    SELECT m.message_id, api_time(m.created_at), push_message_frame(m),
           pg_snapshot_xmax(pg_current_snapshot())::text
      FROM message m
     WHERE m.message_id IN (
               SELECT u.message_id FROM message u
                WHERE u.receiver_id = account AND u.read_at IS NULL
                  AND u.status = 'sent' AND NOT u.is_deleted
               UNION
               SELECT e.message_id FROM event e
                WHERE e.xid >= horizon AND e.kind = 'message_created'
                  AND e.target_id = account)
       AND NOT m.is_deleted
     ORDER BY m.created_at, m.message_id
     LIMIT max_rows
$$;

-- The new_message frame: the message as the REST API shows it, with the
-- status it has once this push delivers it. In SQL with its sub-selects
-- it could not be inlined, so each query that called it (one per event
-- read) parsed and planned it again: 0.18 ms a call at 1,000 messages/s.
CREATE OR REPLACE FUNCTION push_message_frame(m message) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF m.status = 'sent' THEN
        m.status := 'delivered';
    END IF;
    RETURN json_build_object('type', 'new_message',
                             'message', api_message(m))::text;
END
$$;

-- The GIN index of 013 without its pending list. With it, an insert now
-- and then merged up to 4 MB of pending keys into the index inside its
-- own transaction (keys hashed per conversation are many distinct
-- entries, so the merge is long), and while that transaction ran, every
-- push daemon's event horizon waited for it: pushes stalled for 150 to
-- 650 ms. Each insert now adds its keys to the index itself.
ALTER INDEX message_conversation_words SET (fastupdate = off);
SELECT gin_clean_pending_list('message_conversation_words');
