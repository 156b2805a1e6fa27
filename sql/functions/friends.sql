-- Friends (CONTRACT §4). The api_* functions hold each endpoint's rules
-- and return (status, body, events): the HTTP status, the JSON body, and
-- how many events they recorded (the caller then wakes the daemons).

-- Friendship of CONTRACT §2.
CREATE OR REPLACE FUNCTION api_friendship(f friendship) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'sender_id', f.sender_id,
        'receiver_id', f.receiver_id,
        'status', f.status,
        'created_at', api_time(f.created_at),
        'updated_at', api_time(f.updated_at))
$$;

-- In PL/pgSQL so that its plan is kept for the database session (a
-- LANGUAGE sql function that cannot be inlined is planned at every call).
CREATE OR REPLACE FUNCTION are_friends(a uuid, b uuid) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM friendship
        WHERE least(sender_id, receiver_id) = least(a, b)
          AND greatest(sender_id, receiver_id) = greatest(a, b)
          AND status = 'accepted');
END
$$;

-- POST /friends/request.
CREATE OR REPLACE FUNCTION api_friend_request(me uuid, other uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    f friendship;
BEGIN
    events := 0;
    IF me = other THEN
        status := 400; body := api_detail('Cannot send friend request to yourself');
        RETURN;
    END IF;
    PERFORM 1 FROM account WHERE account_id = other;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
        RETURN;
    END IF;
    SELECT * INTO f FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, other)
       AND greatest(sender_id, receiver_id) = greatest(me, other)
       FOR UPDATE;
    IF FOUND AND f.status = 'accepted' THEN
        status := 400; body := api_detail('Already friends');
        RETURN;
    ELSIF FOUND AND f.status = 'pending' THEN
        status := 400; body := api_detail('Friend request already pending');
        RETURN;
    ELSIF FOUND THEN
        -- A rejected request may be made again, by either side.
        UPDATE friendship SET sender_id = me, receiver_id = other,
               status = 'pending', created_at = now()
         WHERE sender_id = f.sender_id AND receiver_id = f.receiver_id
        RETURNING * INTO f;
    ELSE
        BEGIN
            INSERT INTO friendship (sender_id, receiver_id)
            VALUES (me, other) RETURNING * INTO f;
        EXCEPTION WHEN unique_violation THEN
            -- The other side asked at the same moment.
            status := 400; body := api_detail('Friend request already pending');
            RETURN;
        END;
    END IF;
    PERFORM record_event('friend_requested', me, other);
    status := 201; body := api_friendship(f); events := 1;
END
$$;

-- POST /friends/accept/{sender_id} and /friends/reject/{sender_id}.
CREATE OR REPLACE FUNCTION api_friend_answer(me uuid, requester uuid, accept boolean,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    f friendship;
BEGIN
    events := 0;
    UPDATE friendship
       SET status = CASE WHEN accept THEN 'accepted'::friendship_status
                         ELSE 'rejected'::friendship_status END
     WHERE sender_id = requester AND receiver_id = me AND friendship.status = 'pending'
    RETURNING * INTO f;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Friend request not found');
        RETURN;
    END IF;
    IF accept THEN
        PERFORM record_event('friend_accepted', me, requester);
        events := 1;
    END IF;
    status := 200; body := api_friendship(f);
END
$$;

-- DELETE /friends/{friend_id}.
CREATE OR REPLACE FUNCTION api_friend_remove(me uuid, friend uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
BEGIN
    events := 0;
    DELETE FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, friend)
       AND greatest(sender_id, receiver_id) = greatest(me, friend)
       AND friendship.status = 'accepted';
    IF NOT FOUND THEN
        status := 404; body := api_detail('Friend not found');
        RETURN;
    END IF;
    -- One event each side hears (its target), naming the other.
    PERFORM record_event('friend_removed', me, friend);
    PERFORM record_event('friend_removed', friend, me);
    status := 200; body := api_detail('Friend removed'); events := 2;
END
$$;

-- GET /friends/list: accepted friends, ordered by username.
CREATE OR REPLACE FUNCTION api_friends(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(api_public_account(a)
                    ORDER BY lower(a.username), a.username), '[]')
      FROM friendship f
      JOIN account a ON a.account_id =
           CASE WHEN f.sender_id = me THEN f.receiver_id ELSE f.sender_id END
     WHERE (f.sender_id = me OR f.receiver_id = me) AND f.status = 'accepted'
$$;

-- GET /friends/pending: requests to the caller.
CREATE OR REPLACE FUNCTION api_friend_requests(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object(
               'sender_id', f.sender_id,
               'receiver_id', f.receiver_id,
               'status', f.status,
               'created_at', api_time(f.created_at),
               'updated_at', api_time(f.updated_at),
               'sender', api_public_account(a))
           ORDER BY f.created_at, f.sender_id), '[]')
      FROM friendship f JOIN account a ON a.account_id = f.sender_id
     WHERE f.receiver_id = me AND f.status = 'pending'
$$;

-- GET /friends/status/{account_id}.
CREATE OR REPLACE FUNCTION api_friend_status(me uuid, other uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    f friendship;
    word text := 'none';
BEGIN
    events := 0;
    PERFORM 1 FROM account WHERE account_id = other;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
        RETURN;
    END IF;
    SELECT * INTO f FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, other)
       AND greatest(sender_id, receiver_id) = greatest(me, other);
    IF FOUND AND f.status = 'accepted' THEN
        word := 'friends';
    ELSIF FOUND AND f.status = 'pending' THEN
        word := CASE WHEN f.sender_id = me THEN 'request_sent'
                     ELSE 'request_received' END;
    END IF;
    status := 200; body := json_build_object('status', word);
END
$$;

CREATE OR REPLACE TRIGGER friendship_updated_at BEFORE UPDATE ON friendship
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
