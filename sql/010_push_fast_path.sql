-- The push daemons' fast path (docs/events.md, docs/PERFORMANCE.md): the
-- batch of sends in a lock order that cannot deadlock, the batch of
-- delivered marks as one statement that announces itself, and the NOTIFY
-- payload that names the accounts concerned, so that a daemon holding none
-- of them need not read the event stream at once. The event table stays
-- the truth: the payload only decides who reads now.

-- The chat_events notification of a change concerning accounts: their ids
-- separated by spaces, or '' (every daemon reads) when they would not fit
-- in a NOTIFY payload (under 8000 bytes).
CREATE FUNCTION push_notify_accounts(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    payload text;
BEGIN
    SELECT string_agg(DISTINCT a::text, ' ') INTO payload
      FROM unnest(accounts) a;
    IF payload IS NULL OR length(payload) > 7900 THEN
        payload := '';
    END IF;
    PERFORM pg_notify('chat_events', payload);
END
$$;

-- push_send_messages over the batch in conversation order, answering in
-- the batch's order. Each send locks its conversation until the commit,
-- and two daemons' batches that took the locks of the same two
-- conversations in opposite orders deadlocked (one batch failed whole).
-- The daemon notifies afterwards (push_notify_accounts), once it has
-- answered message_sent, so that its own event read cannot echo a message
-- to the connection that sent it before it knows the message's id.
CREATE FUNCTION push_send_batch(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
DECLARE
    sorted json;
    places int[];
    statuses int[];
    bodies json[];
    counts int[];
    r record;
BEGIN
    SELECT json_agg(value ORDER BY low, high, place),
           array_agg(place ORDER BY low, high, place)
      INTO sorted, places
      FROM (SELECT e.value, e.place::int AS place,
                   least((e.value->>'sender')::uuid,
                         (e.value->>'receiver')::uuid) AS low,
                   greatest((e.value->>'sender')::uuid,
                            (e.value->>'receiver')::uuid) AS high
              FROM json_array_elements(batch) WITH ORDINALITY
                   AS e(value, place)) items;
    IF sorted IS NULL THEN
        RETURN;
    END IF;
    FOR r IN SELECT * FROM push_send_messages(sorted) WITH ORDINALITY
                 AS x(status, body, events, i) LOOP
        statuses[places[r.i]] := r.status;
        bodies[places[r.i]] := r.body;
        counts[places[r.i]] := r.events;
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(statuses, bodies, counts);
END
$$;

-- push_mark_delivered as one statement, and the notification naming the
-- senders, who hear message_delivered, in the same transaction: no second
-- statement and commit. The daemons' delivery batches are few (one in
-- flight per daemon), so the commit-time lock of NOTIFY is not the queue
-- that REST's many small sends would make of it. Answers how many were
-- marked.
CREATE FUNCTION push_deliver(ids uuid[]) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    senders uuid[];
    n int;
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
    SELECT array_agg(target_id), count(*) INTO senders, n FROM recorded;
    IF n > 0 THEN
        PERFORM push_notify_accounts(senders);
    END IF;
    RETURN n;
END
$$;

-- push_events as one SQL statement, inlined into the daemon's prepared
-- query: the plpgsql version cost ~0.19 ms a call, most of it fixed, and
-- every daemon calls it at each wake-up. The same rows: the events of
-- horizon <= xid < next_horizon in event_id order, or one row of NULLs
-- when there are none, so that the caller always learns next_horizon.
-- held: committed events wait beyond next_horizon (a transaction older
-- than theirs still runs); the daemon reads again shortly, since the
-- notification that announced them may have come already, or may not
-- name its accounts. (max(xid) is one step of a backward index scan; an
-- EXISTS on xid >= next_horizon was planned as a scan of the whole table
-- when it finds nothing, which is the common case.)
DROP FUNCTION push_events(xid8);

CREATE FUNCTION push_events(horizon xid8)
RETURNS TABLE (next_horizon xid8, event_id bigint, kind text, actor_id uuid,
               target_id uuid, message_id uuid, held boolean)
LANGUAGE sql STABLE AS $$
    SELECT h.upto, e.event_id, e.kind, e.actor_id, e.target_id, e.message_id,
           coalesce((SELECT max(w.xid) FROM event w) >= h.upto, false)
      FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS upto) h
      LEFT JOIN event e ON e.xid >= horizon AND e.xid < h.upto
     ORDER BY e.event_id NULLS LAST
$$;
