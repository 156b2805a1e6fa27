-- A batch of WebSocket sends announces itself in its own transaction
-- (docs/events.md): the daemon no longer sends the notification as a
-- statement of its own after answering message_sent, one round trip and
-- one transaction later. That order kept the sending daemon's event read
-- from echoing a message to the connection that sent it before it knew the
-- message's id; the daemon now holds such a read until the batch is
-- answered (events_sends_answered in push-daemon/events.c).

-- push_send_batch, then the notification naming the senders and receivers
-- of the messages it stored.
CREATE FUNCTION push_send_batch_notify(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    accounts uuid[] := '{}';
    recorded int := 0;
BEGIN
    FOR r IN SELECT s.status, s.body, s.events, item.value AS item
               FROM push_send_batch(batch) WITH ORDINALITY AS s(status, body, events, i)
               JOIN json_array_elements(batch) WITH ORDINALITY AS item(value, i)
                 USING (i)
              ORDER BY i LOOP
        status := r.status; body := r.body; events := r.events;
        IF r.events > 0 THEN
            recorded := recorded + r.events;
            accounts := accounts || (r.item->>'sender')::uuid
                                 || (r.item->>'receiver')::uuid;
        END IF;
        RETURN NEXT;
    END LOOP;
    IF recorded > 0 THEN
        PERFORM push_notify_accounts(accounts);
    END IF;
END
$$;
