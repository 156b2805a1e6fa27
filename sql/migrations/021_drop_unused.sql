-- What databases built before the baseline (020) still hold and nothing
-- calls any more: functions whose callers moved to others, and the
-- btree_gin extension, which no index uses. A database built from the
-- baseline has none of them.

DROP FUNCTION IF EXISTS api_history_rows(uuid, uuid, bigint, int);
DROP FUNCTION IF EXISTS api_search_rows(uuid, uuid, text, bigint, int);
DROP FUNCTION IF EXISTS events_since(xid8);
DROP FUNCTION IF EXISTS history_page(uuid, uuid, bigint, int);
DROP FUNCTION IF EXISTS push_deliver(uuid[]);
DROP FUNCTION IF EXISTS push_heartbeat(text);
DROP FUNCTION IF EXISTS push_send_batch_notify(json);
DROP FUNCTION IF EXISTS search_page(uuid, uuid, text, bigint[], bigint, int);
DROP EXTENSION IF EXISTS btree_gin;
