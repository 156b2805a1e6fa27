-- Search in one conversation at a cost that follows the matches, not the
-- length of the conversation (docs/PERFORMANCE.md).
--
-- The GIN index of 005 held the conversation's two ids and the content's
-- trigrams as separate keys: a search intersected the keyword's trigrams
-- with the conversation's own posting tree, whose size follows the
-- conversation (3.2 ms of server time at 100,000 messages, 4.6 ms at ten
-- million, against 0.7 ms at 1,000). Here each key is a trigram of the
-- content hashed together with its conversation, so the posting list of a
-- key holds only the messages of that conversation that have that
-- trigram. A hash that collides only makes a false candidate, and every
-- candidate is checked with ILIKE.

-- The keys of a message: the trigrams of pg_trgm's show_trgm() (lower
-- case; words padded with spaces; a trigram holding multibyte characters
-- compacted into a hash, which shows no space), hashed with the
-- conversation as seed. Trigrams with a space, the padding of the start
-- and end of words, are left out: each key costs an insertion into the
-- index at every send, and they would serve only keywords made of words
-- of one or two characters ("to be"), which then read the conversation
-- through its btree (search_keys_of).
CREATE FUNCTION message_search_keys(low uuid, high uuid, body text)
RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    seed bigint := hashtextextended(low::text || high::text, 0);
BEGIN
    RETURN ARRAY(SELECT hashtextextended(t, seed)
                   FROM unnest(public.show_trgm(body)) t
                  WHERE strpos(t, ' ') = 0);
END
$$;

-- The keys every message of the conversation containing the keyword has.
-- A message holds the keyword between characters we cannot know, so the
-- trigrams of its first and last word that depend on what precedes or
-- follows it (the padding) may differ; the trigrams found alike when the
-- keyword stands alone, between two x and between two y do not depend on
-- that (hashing keeps the intersection: equal trigrams, equal keys); a
-- compacted trigram that hides padding is left out too. A keyword with no
-- such trigram (no run of three letters or digits, say "ab" or "a b")
-- gives no keys: search_page then reads the conversation through its
-- btree.
CREATE FUNCTION search_keys_of(low uuid, high uuid, keyword text)
RETURNS bigint[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ARRAY(
        SELECT unnest(message_search_keys(low, high, keyword))
        INTERSECT
        SELECT unnest(message_search_keys(low, high, 'x' || keyword || 'x'))
        INTERSECT
        SELECT unnest(message_search_keys(low, high, 'y' || keyword || 'y')))
$$;

CREATE INDEX message_conversation_words ON message USING gin
    (message_search_keys(least(sender_id, receiver_id),
                         greatest(sender_id, receiver_id), content))
    WHERE NOT is_deleted;
DROP INDEX message_conversation_trgm;

-- search_page of 009 with the keys of the keyword as a parameter.
-- api_search_rows plans it for each call's values, so one of the two
-- condition pairs below folds away: with keys, the candidates come from
-- message_conversation_words only (the conversation is then checked on
-- the row's own columns, which no index serves, so the planner cannot
-- prefer walking the conversation); without keys, from the btree.
CREATE FUNCTION search_page(me uuid, friend uuid, keyword text,
    keys bigint[], skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE sql STABLE AS $$
    WITH gate AS (SELECT * FROM conversation_gate(me, friend)),
    -- Materialized, with no ORDER BY ... LIMIT of its own: the scan that
    -- finds the matches is not tempted to walk the whole conversation
    -- newest first. A large set spills to disk (work_mem).
    hits AS MATERIALIZED (
        SELECT m.* FROM gate g, message m
         WHERE g.status = 200
           AND (m.sender_id = me AND m.receiver_id = friend
                OR m.sender_id = friend AND m.receiver_id = me)
           AND (cardinality(keys) = 0
                OR message_search_keys(least(m.sender_id, m.receiver_id),
                                       greatest(m.sender_id, m.receiver_id),
                                       m.content) @> keys)
           AND (cardinality(keys) > 0
                OR least(m.sender_id, m.receiver_id) = least(me, friend)
                   AND greatest(m.sender_id, m.receiver_id)
                       = greatest(me, friend))
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

-- api_search_rows of 009 (same settings), with the keys computed here.
CREATE OR REPLACE FUNCTION api_search_rows(me uuid, friend uuid,
    keyword text, skip bigint, lim int)
RETURNS SETOF message_page_row
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET enable_indexscan = off AS $$
DECLARE
    keys bigint[] := search_keys_of(least(me, friend), greatest(me, friend),
                                    keyword);
BEGIN
    RETURN QUERY SELECT * FROM search_page(me, friend, keyword, keys,
                                           skip, lim);
END
$$;

DROP FUNCTION search_page(uuid, uuid, text, bigint, int);
