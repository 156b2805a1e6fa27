-- The daemons' batches wake the other daemons after their commit, not in
-- their transaction (docs/events.md).
--
-- A NOTIFY takes, at commit, a lock global to the database and holds it
-- until the commit record is on disk, so that notifications queue in
-- commit order. Every daemon's send batches and delivered marks notified
-- inside their transactions (push_send_batch_notify of sql/015,
-- push_deliver of sql/010), so their
-- commits took turns: one flush each, none shared. From 3,000 messages a
-- second on, the batches waited for each other (Lock:object) and p99 went
-- past 50 ms. The functions below store and answer only; the daemon then
-- sends wake_push_daemons() (sql/011: a transaction of its own that does
-- not wait for the disk, so it holds the lock for a moment) naming the
-- accounts concerned, as chat-fcgi does after a REST change.

-- push_send_batch_notify (sql/015) without the notification.
CREATE FUNCTION push_send_batch(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
DECLARE
    places int[];
    senders uuid[];
    receivers uuid[];
    contents text[];
    statuses int[];
    bodies json[];
    counts int[];
    i int;
BEGIN
    -- In conversation order: two batches that lock the same conversations
    -- take them in the same order, so they cannot deadlock.
    SELECT array_agg(place ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(sender ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(receiver ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place),
           array_agg(content ORDER BY least(sender, receiver),
                     greatest(sender, receiver), place)
      INTO places, senders, receivers, contents
      FROM (SELECT e.place::int AS place,
                   (e.value->>'sender')::uuid AS sender,
                   (e.value->>'receiver')::uuid AS receiver,
                   e.value->>'content' AS content
              FROM json_array_elements(batch) WITH ORDINALITY
                   AS e(value, place)) items;
    IF places IS NULL THEN
        RETURN;
    END IF;
    FOR i IN 1 .. cardinality(places) LOOP
        SELECT r.status, r.body, r.events INTO status, body, events
          FROM api_send_message(senders[i], receivers[i], contents[i]) r;
        statuses[places[i]] := status;
        bodies[places[i]] := body;
        counts[places[i]] := events;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(statuses, bodies, counts);
END
$$;

-- push_deliver (sql/010) without the notification: marks the messages
-- of ids still "sent" delivered, records message_delivered for each, and
-- answers their senders (one a message; NULL when none was marked), the
-- accounts to wake. (The name is that of sql/003's function, which
-- answered a count and which sql/015 dropped.)
CREATE FUNCTION push_mark_delivered(ids uuid[]) RETURNS uuid[]
LANGUAGE plpgsql AS $$
DECLARE
    senders uuid[];
BEGIN
    WITH marked AS (
        UPDATE message SET status = 'delivered'
         WHERE message_id = ANY (ids) AND status = 'sent'
        RETURNING message_id, sender_id, receiver_id),
    recorded AS (
        INSERT INTO event (kind, actor_id, target_id, message_id)
        SELECT 'message_delivered', receiver_id, sender_id, message_id
          FROM marked
        RETURNING target_id)
    SELECT array_agg(target_id) INTO senders FROM recorded;
    RETURN senders;
END
$$;

-- The previous functions stay for the daemons of the previous release,
-- which run on against this schema during a rolling upgrade
-- (docs/DEPLOY.md), now on top of the new ones. The answers are the same;
-- the batch's wake-up now names every sender and receiver of the batch,
-- refused sends included, and comes even when nothing was stored (a
-- wake-up too many costs a read, and old daemons send no empty batch).
CREATE OR REPLACE FUNCTION push_send_batch_notify(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY SELECT * FROM push_send_batch(batch);
    PERFORM push_notify_accounts(ARRAY(
        SELECT (e->>side)::uuid
          FROM json_array_elements(batch) e,
               unnest(ARRAY['sender', 'receiver']) side));
END
$$;

CREATE OR REPLACE FUNCTION push_deliver(ids uuid[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    senders uuid[] := push_mark_delivered(ids);
BEGIN
    IF senders IS NOT NULL THEN
        PERFORM push_notify_accounts(senders);
    END IF;
    RETURN coalesce(cardinality(senders), 0);
END
$$;
