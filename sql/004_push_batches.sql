-- Batched sends for the push daemon (docs/PERFORMANCE.md).
-- Sends of one batch from a push daemon: every send_message frame that
-- arrived while the previous batch was in flight, in one transaction and
-- one round trip, each with the rules of api_send_message. batch is a JSON
-- array of {"sender": id, "receiver": id, "content": text}.
CREATE FUNCTION push_send_messages(batch json)
RETURNS TABLE (status int, body json, events int)
LANGUAGE plpgsql AS $$
DECLARE
    item json;
BEGIN
    FOR item IN SELECT value FROM json_array_elements(batch) LOOP
        SELECT r.status, r.body, r.events INTO status, body, events
          FROM api_send_message((item->>'sender')::uuid,
                                (item->>'receiver')::uuid,
                                item->>'content') r;
        RETURN NEXT;
    END LOOP;
END
$$;
