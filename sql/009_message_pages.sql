-- History and search pages as rows, written as JSON by chat-fcgi
-- (fcgi-app/page.c; docs/PERFORMANCE.md).
--
-- api_history and api_search built the page's JSON here: a page of 50
-- cost about 1.2 ms of server time, most of it json_build_object, to_char
-- and api_message's two account look-ups a message, against 0.05 ms for
-- selecting the same rows. The functions below only select, in plain SQL
-- that the planner inlines into the query calling them, and chat-fcgi asks
-- for binary results (no output functions, no time zone: timestamps come
-- as microseconds).
--
-- The search page walked the conversation's btree index newest first and
-- filtered every message with ILIKE: on a conversation of a million
-- messages with few matches, seconds. The matches are now found first,
-- with no order of their own (through the GIN index of 005: conversation
-- and trigrams), then counted and sorted: the work follows the number of
-- matches, which the total needed anyway, not the length of the
-- conversation.

-- The checks history and search share, in the order of the other routes:
-- the caller's account (401 gone, 403 inactive: chat-fcgi checks only the
-- token of these routes, see ROUTE_TOKEN in fcgi-app/router.c), then 404
-- unknown account, 403 not friends; else status 200 and the PublicAccount
-- of either side.
CREATE FUNCTION conversation_gate(me uuid, friend uuid)
RETURNS TABLE (status int, body json, mine json, theirs json)
LANGUAGE sql STABLE AS $$
    SELECT s.status,
           CASE WHEN s.status <> 200 THEN api_detail(s.detail) END,
           CASE WHEN s.status = 200 THEN s.mine END,
           CASE WHEN s.status = 200 THEN s.theirs END
      -- OFFSET 0 keeps the sub-select whole: inlined, each use of its
      -- columns above would repeat its look-ups.
      FROM (SELECT r.status, r.detail, api_public_account(c) AS mine,
                   api_public_account(f) AS theirs
              FROM (VALUES (1)) one
              LEFT JOIN account c ON c.account_id = me
              LEFT JOIN account f ON f.account_id = friend,
              LATERAL (SELECT CASE
                  WHEN c.account_id IS NULL THEN 401
                  WHEN NOT c.is_active THEN 403
                  WHEN f.account_id IS NULL THEN 404
                  WHEN me = friend OR NOT EXISTS (
                      SELECT 1 FROM friendship p
                       WHERE least(p.sender_id, p.receiver_id) = least(me, friend)
                         AND greatest(p.sender_id, p.receiver_id) = greatest(me, friend)
                         AND p.status = 'accepted') THEN 403
                  ELSE 200 END AS status,
                  CASE
                  WHEN c.account_id IS NULL THEN 'Could not validate credentials'
                  WHEN NOT c.is_active THEN 'Inactive user'
                  WHEN f.account_id IS NULL THEN 'Account not found'
                  ELSE 'Not friends with this user' END AS detail) r
            OFFSET 0) s
$$;

-- A row of a page: first the header (status, body of an error, total),
-- then when status is 200 one row a message, newest first, with the
-- PublicAccount objects of its sender and receiver. fcgi-app/page.c reads
-- the columns in this order.
CREATE TYPE message_page_row AS (status int, body json, total bigint,
    message_id uuid, sender_id uuid, receiver_id uuid, content text,
    message_status message_status, is_deleted boolean,
    created_at timestamptz, updated_at timestamptz, read_at timestamptz,
    sender json, receiver json);

-- The rows of a history page.
CREATE FUNCTION history_page(me uuid, friend uuid, skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE sql STABLE AS $$
    WITH gate AS (SELECT * FROM conversation_gate(me, friend))
    SELECT g.status, g.body,
           coalesce((SELECT v.message_count FROM conversation v
                      WHERE v.low_id = least(me, friend)
                        AND v.high_id = greatest(me, friend)), 0),
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM gate g
    UNION ALL
    (SELECT NULL, NULL, NULL, m.message_id, m.sender_id, m.receiver_id,
            m.content, m.status, m.is_deleted, m.created_at, m.updated_at,
            m.read_at,
            CASE WHEN m.sender_id = me THEN g.mine ELSE g.theirs END,
            CASE WHEN m.sender_id = me THEN g.theirs ELSE g.mine END
       FROM gate g, message m
      WHERE g.status = 200
        AND least(m.sender_id, m.receiver_id) = least(me, friend)
        AND greatest(m.sender_id, m.receiver_id) = greatest(me, friend)
        AND NOT m.is_deleted
      ORDER BY least(m.sender_id, m.receiver_id),
               greatest(m.sender_id, m.receiver_id),
               m.created_at DESC, m.message_id DESC
     OFFSET skip LIMIT lim)
$$;

-- History for chat-fcgi. PostgreSQL would plan a statement calling
-- history_page anew at every call: the generic plan cannot know the LIMIT,
-- so its estimate loses to the custom plans' and is never chosen, and
-- each custom plan parses the inlined functions again (a third of the
-- server's time). This wrapper keeps one generic plan per session.
CREATE FUNCTION api_history_rows(me uuid, friend uuid, skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    RETURN QUERY SELECT * FROM history_page(me, friend, skip, lim);
END
$$;

-- The rows of a search page.
CREATE FUNCTION search_page(me uuid, friend uuid, keyword text,
    skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE sql STABLE AS $$
    WITH gate AS (SELECT * FROM conversation_gate(me, friend)),
    -- Materialized, with no ORDER BY ... LIMIT of its own: the scan that
    -- finds the matches is not tempted to walk the whole conversation
    -- newest first. A large set spills to disk (work_mem).
    hits AS MATERIALIZED (
        SELECT m.* FROM gate g, message m
         WHERE g.status = 200
           AND least(m.sender_id, m.receiver_id) = least(me, friend)
           AND greatest(m.sender_id, m.receiver_id) = greatest(me, friend)
           AND NOT m.is_deleted
           AND m.content ILIKE api_like_pattern(keyword))
    SELECT g.status, g.body, (SELECT count(*) FROM hits),
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM gate g
    UNION ALL
    (SELECT NULL, NULL, NULL, h.message_id, h.sender_id, h.receiver_id,
            h.content, h.status, h.is_deleted, h.created_at, h.updated_at,
            h.read_at,
            CASE WHEN h.sender_id = me THEN g.mine ELSE g.theirs END,
            CASE WHEN h.sender_id = me THEN g.theirs ELSE g.mine END
       FROM gate g, hits h
      ORDER BY h.created_at DESC, h.message_id DESC
     OFFSET skip LIMIT lim)
$$;

-- Search for chat-fcgi, planned at every call for its values (a generic
-- plan cannot know how long the conversation is), and never by walking
-- the conversation's btree: on a conversation of 100,000 messages the
-- planner still preferred reading all of them in index order and
-- filtering each by ILIKE (50 ms) to the GIN index (3 ms), whose cost it
-- overestimates. With plain index scans off, a short conversation is read
-- through the btree as a bitmap (under 1 ms for 1,000 messages) and a long
-- one through the GIN index.
CREATE FUNCTION api_search_rows(me uuid, friend uuid, keyword text,
    skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET enable_indexscan = off AS $$
BEGIN
    RETURN QUERY SELECT * FROM search_page(me, friend, keyword, skip, lim);
END
$$;

DROP FUNCTION api_history(uuid, uuid, bigint, int);
DROP FUNCTION api_search(uuid, uuid, text, bigint, int);
DROP FUNCTION conversation_refusal(uuid, uuid);
