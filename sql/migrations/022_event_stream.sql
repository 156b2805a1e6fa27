-- The caller's event stream (CONTRACT §10, docs/events.md): what /sync
-- and a handshake with `since` read, and the keys of idempotent sends.

-- The stream of an account: the events whose target it is, and its own
-- sends (its other devices hear them). Ranges of transaction ids.
CREATE INDEX event_target ON event (target_id, xid);
CREATE INDEX event_own_sends ON event (actor_id, xid)
    WHERE kind = 'message_created';

-- Where pruning has reached: events of transactions below `below` may be
-- gone, so a cursor that needs them has expired (410). One row.
CREATE TABLE event_pruning (
    single  boolean PRIMARY KEY DEFAULT true CHECK (single),
    below   xid8 NOT NULL
);
INSERT INTO event_pruning (below)
SELECT coalesce(min(xid), pg_snapshot_xmin(pg_current_snapshot()))
  FROM event;

-- The key of an idempotent send: 'h:' and the Idempotency-Key header
-- over REST, 't:' and the temp_id over the WebSocket (two separate
-- spaces); NULL for a send without one. A repeat within 24 hours finds
-- the message it made (send_message).
ALTER TABLE message ADD COLUMN send_key text;
CREATE INDEX message_send_key ON message (sender_id, send_key, created_at)
    WHERE send_key IS NOT NULL;

-- The sends take the key of an idempotent send (sql/functions/messages.sql):
-- the definitions of three arguments would make calls of three ambiguous.
DROP FUNCTION IF EXISTS send_message(uuid, uuid, text);
DROP FUNCTION IF EXISTS api_send_message(uuid, uuid, text);
DROP FUNCTION IF EXISTS api_send_message_row(uuid, uuid, text);
