-- Group conversations (CONTRACT §11). The api_* functions hold each
-- endpoint's rules and return (status, body, events) as those of
-- friends.sql and messages.sql do; the others build the JSON objects,
-- the frames of group events, and what the push daemons ask.
--
-- Who may learn what: a group the caller never belonged to is a 404
-- (Group not found), whether it exists or not; a former member (left,
-- removed, banned) gets 403, since they know it exists (group_gate).
--
-- Locks: every change of a group's members or messages locks its
-- chat_group row first (sends write it: message_seq), so that the
-- members' changes and the messages of one group take their seq, their
-- created_at and their event ids in commit order, and no send runs
-- across a change of membership.

------------------------------------------------------------------------
-- Objects of CONTRACT §11.

-- GroupMember.
CREATE OR REPLACE FUNCTION api_group_member(m group_member) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'group_member_id', m.group_member_id,
        'group_id', m.group_id,
        'account_id', m.account_id,
        'role', m.role,
        'status', m.status,
        'joined_at', api_time(m.joined_at),
        'username', a.username,
        'full_name', a.full_name,
        'avatar', a.avatar)
      FROM account a WHERE a.account_id = m.account_id
$$;

-- GroupMessage: read_by_count counts the active members whose read mark
-- is at or past it (read_by: that count when the caller knows it). A
-- message deleted shows no content (deleted text is never sent again).
CREATE OR REPLACE FUNCTION api_group_message(m group_message,
    read_by bigint DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'message_id', m.message_id,
        'group_id', m.group_id,
        'sender_id', m.sender_id,
        'content', CASE WHEN m.is_deleted THEN '' ELSE m.content END,
        'status', 'sent',
        'is_deleted', m.is_deleted,
        'created_at', api_time(m.created_at),
        'updated_at', api_time(m.updated_at),
        'sender', (SELECT api_public_account(a) FROM account a
                    WHERE a.account_id = m.sender_id),
        'read_by_count', coalesce(read_by,
            (SELECT count(*) FROM group_member r
              WHERE r.group_id = m.group_id AND r.status = 'active'
                AND r.last_read_seq >= m.seq)));
END
$$;

-- The messages of a group after a member's read mark, not deleted: the
-- group's counter less the mark's, less the deleted ones after the mark
-- (group_message_deleted: few). The member's own sends move its mark
-- (api_group_send), so they are never unread.
CREATE OR REPLACE FUNCTION group_unread(g chat_group, m group_member)
RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF m.status IS DISTINCT FROM 'active' THEN
        RETURN 0;
    END IF;
    RETURN g.message_seq - m.last_read_seq -
        (SELECT count(*) FROM group_message d
          WHERE d.group_id = g.group_id AND d.is_deleted
            AND d.seq > m.last_read_seq);
END
$$;

-- Group, as account sees it (my_role, my_status, joined_at and
-- unread_count are account's; NULL for an account with no membership),
-- with the fields the original's client reads.
CREATE OR REPLACE FUNCTION api_group(g chat_group, account uuid) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    mine group_member;
    leader account;
    last group_message;
BEGIN
    SELECT * INTO mine FROM group_member
     WHERE group_id = g.group_id AND account_id = account;
    SELECT a.* INTO leader FROM group_member l
      JOIN account a ON a.account_id = l.account_id
     WHERE l.group_id = g.group_id AND l.role = 'leader'
       AND l.status = 'active';
    SELECT * INTO last FROM group_message
     WHERE group_id = g.group_id AND NOT is_deleted
     ORDER BY seq DESC LIMIT 1;
    RETURN json_build_object(
        'group_id', g.group_id,
        'name', g.name,
        'description', g.description,
        'avatar', g.avatar,
        'created_by', g.created_by,
        'created_at', api_time(g.created_at),
        'updated_at', api_time(g.updated_at),
        'member_count', g.member_count,
        'max_members', g.max_members,
        'is_active', g.is_active,
        'my_role', mine.role,
        'my_status', mine.status,
        'unread_count', group_unread(g, mine),
        'last_message', CASE WHEN last.message_id IS NOT NULL
                             THEN api_group_message(last) END,
        'group_name', g.name,
        'group_description', g.description,
        'joined_at', api_time(mine.joined_at),
        'topic_id', NULL,
        'topic_name', NULL,
        'leader_name', coalesce(leader.full_name, leader.username),
        'group_leader', leader.account_id,
        'is_chat_group', true);
END
$$;

------------------------------------------------------------------------
-- The rules every route shares.

-- The caller's standing in a group: 200 with the group and the caller's
-- membership when it is active; 404 when the caller never belonged to
-- it (or it does not exist); 403 for a former member, and when live, for
-- a group deleted (nobody may send, nor change it). lock: the group's row
-- is locked for a change of its members or messages (see above).
CREATE OR REPLACE FUNCTION group_gate(me uuid, gid uuid, lock boolean,
    live boolean, OUT status int, OUT body json, OUT g chat_group,
    OUT m group_member)
LANGUAGE plpgsql AS $$
BEGIN
    IF lock THEN
        SELECT * INTO g FROM chat_group WHERE group_id = gid
           FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO g FROM chat_group WHERE group_id = gid;
    END IF;
    IF FOUND THEN
        SELECT * INTO m FROM group_member
         WHERE group_id = gid AND account_id = me;
    END IF;
    IF g.group_id IS NULL OR m.group_member_id IS NULL THEN
        status := 404; body := api_detail('Group not found');
        g := NULL; m := NULL;
    ELSIF m.status <> 'active' THEN
        status := 403; body := api_detail('Not a member of this group');
    ELSIF live AND NOT g.is_active THEN
        status := 403; body := api_detail('Group has been deleted');
    ELSE
        status := 200;
    END IF;
END
$$;

-- The 403 of adding an account that is not the caller's friend, naming it.
CREATE OR REPLACE FUNCTION group_not_friends(account uuid) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT api_detail('Not friends with account ' || account::text)
$$;

CREATE OR REPLACE FUNCTION group_already_member() RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT api_detail('Already a member of this group')
$$;

CREATE OR REPLACE FUNCTION group_member_not_found() RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT api_detail('Member not found')
$$;

CREATE OR REPLACE FUNCTION group_message_not_found() RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT api_detail('Message not found')
$$;

-- A friendship of the caller, locked for share: its removal waits for the
-- change that relies on it, or the change finds it gone.
CREATE OR REPLACE FUNCTION group_friend_locked(me uuid, other uuid)
RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM friendship
     WHERE least(sender_id, receiver_id) = least(me, other)
       AND greatest(sender_id, receiver_id) = greatest(me, other)
       AND friendship.status = 'accepted'
       FOR SHARE;
    RETURN FOUND;
END
$$;

------------------------------------------------------------------------
-- Membership and its spans (group_member_span, for the event stream).

-- An event of a group, in the change's transaction: its id bounds the
-- spans of the members it adds or ends.
CREATE OR REPLACE FUNCTION record_group_event(kind text, actor uuid,
    target uuid, gid uuid, message uuid DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    id bigint;
BEGIN
    INSERT INTO event (kind, actor_id, target_id, message_id, group_id)
    VALUES (kind, actor, target, message, gid)
    RETURNING event_id INTO id;
    RETURN id;
END
$$;

-- account becomes an active member of g (the row made, or made active
-- again) with role; its read mark starts at the newest message, so that
-- nothing sent before counts as unread; its span begins at event. The
-- caller holds the group's lock and counts the member.
CREATE OR REPLACE FUNCTION group_member_enter(g chat_group, account uuid,
    r group_role, event bigint) RETURNS group_member
LANGUAGE plpgsql AS $$
DECLARE
    m group_member;
    newest uuid;
BEGIN
    SELECT message_id INTO newest FROM group_message
     WHERE group_id = g.group_id AND seq = g.message_seq;
    INSERT INTO group_member AS x (group_id, account_id, role,
                                   last_read_message_id, last_read_seq)
    VALUES (g.group_id, account, r, newest, g.message_seq)
    ON CONFLICT (group_id, account_id) DO UPDATE
       SET role = r, status = 'active', joined_at = now(),
           last_read_message_id = newest, last_read_seq = g.message_seq
    RETURNING * INTO m;
    INSERT INTO group_member_span (group_id, account_id, began)
    VALUES (g.group_id, account, event);
    RETURN m;
END
$$;

-- A member's active membership ends with status (left, removed, banned)
-- at event; the caller holds the group's lock.
CREATE OR REPLACE FUNCTION group_member_end(gid uuid, account uuid,
    st group_member_status, event bigint) RETURNS group_member
LANGUAGE plpgsql AS $$
DECLARE
    m group_member;
BEGIN
    UPDATE group_member SET status = st
     WHERE group_id = gid AND account_id = account
    RETURNING * INTO m;
    UPDATE group_member_span SET ended = event
     WHERE group_id = gid AND account_id = group_member_end.account
       AND ended IS NULL;
    UPDATE chat_group SET member_count = member_count - 1
     WHERE group_id = gid;
    RETURN m;
END
$$;

------------------------------------------------------------------------
-- REST (CONTRACT §11), in the order of its table.

-- POST /group-chat/: the caller leads a new group with member_ids, each
-- the caller's friend (the first that is not is named in the 403). The
-- count and the repeats of member_ids are checked by chat-fcgi (422).
-- Its first members hear of it as group_updated.
CREATE OR REPLACE FUNCTION api_group_create(me uuid, group_name text,
    descr text, avatar_url text, member_ids uuid[], max_size int,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    g chat_group;
    other uuid;
    event bigint;
BEGIN
    events := 0;
    FOREACH other IN ARRAY coalesce(member_ids, '{}') LOOP
        IF other = me OR NOT group_friend_locked(me, other) THEN
            status := 403; body := group_not_friends(other);
            RETURN;
        END IF;
    END LOOP;
    INSERT INTO chat_group (name, description, avatar, created_by,
                            max_members, member_count)
    VALUES (group_name, descr, avatar_url, me, max_size,
            1 + coalesce(cardinality(member_ids), 0))
    RETURNING * INTO g;
    event := record_group_event('group_updated', me, g.group_id, g.group_id);
    PERFORM group_member_enter(g, me, 'leader', event);
    FOREACH other IN ARRAY coalesce(member_ids, '{}') LOOP
        PERFORM group_member_enter(g, other, 'member', event);
    END LOOP;
    status := 201; body := api_group(g, me); events := 1;
END
$$;

-- GET /group-chat/my-groups: the caller's active memberships, newest
-- activity first (the last message, or the creation).
CREATE OR REPLACE FUNCTION api_groups_mine(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(api_group(g, me)
                    ORDER BY g.active_at DESC, g.group_id), '[]')
      FROM group_member m JOIN chat_group g USING (group_id)
     WHERE m.account_id = me AND m.status = 'active'
$$;

-- GET /group-chat/all: the caller's groups (as my-groups) whose name
-- holds search (case-insensitive; NULL: all), a page of them.
CREATE OR REPLACE FUNCTION api_groups_all(me uuid, search text, skip bigint,
    lim int) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH mine AS (
        SELECT g.* FROM group_member m JOIN chat_group g USING (group_id)
         WHERE m.account_id = me AND m.status = 'active'
           AND (search IS NULL OR g.name ILIKE api_like_pattern(search)))
    SELECT json_build_object(
        'groups', coalesce((SELECT json_agg(api_group(p, me)
                                   ORDER BY p.active_at DESC, p.group_id)
                              FROM (SELECT * FROM mine
                                     ORDER BY active_at DESC, group_id
                                    OFFSET skip LIMIT lim) p), '[]'),
        'total', (SELECT count(*) FROM mine),
        'skip', skip,
        'limit', lim,
        'has_more', (SELECT count(*) FROM mine) > skip + lim)
$$;

-- GET /group-chat/{id}.
CREATE OR REPLACE FUNCTION api_group_get(me uuid, gid uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status = 200 THEN
        body := api_group(gate.g, me);
    END IF;
END
$$;

-- PUT /group-chat/{id}: by the leader or a moderator; a field not sent
-- (set_*: false) stays as it is.
CREATE OR REPLACE FUNCTION api_group_update(me uuid, gid uuid,
    set_name boolean, new_name text, set_descr boolean, new_descr text,
    set_avatar boolean, new_avatar text,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    g chat_group;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    IF (gate.m).role = 'member' THEN
        status := 403;
        body := api_detail('Only the leader or a moderator can update the group');
        RETURN;
    END IF;
    g := gate.g;
    IF set_name OR set_descr OR set_avatar THEN
        UPDATE chat_group
           SET name = CASE WHEN set_name THEN new_name ELSE name END,
               description = CASE WHEN set_descr THEN new_descr
                                  ELSE description END,
               avatar = CASE WHEN set_avatar THEN new_avatar ELSE avatar END
         WHERE group_id = gid RETURNING * INTO g;
        PERFORM record_group_event('group_updated', me, gid, gid);
        events := 1;
    END IF;
    body := api_group(g, me);
END
$$;

-- DELETE /group-chat/{id}: by the leader; soft, the members keep their
-- history, nobody may send.
CREATE OR REPLACE FUNCTION api_group_delete(me uuid, gid uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    IF (gate.m).role <> 'leader' THEN
        status := 403;
        body := api_detail('Only the leader can delete the group');
        RETURN;
    END IF;
    UPDATE chat_group SET is_active = false WHERE group_id = gid;
    PERFORM record_group_event('group_updated', me, gid, gid);
    status := 200; body := api_detail('Group deleted'); events := 1;
END
$$;

-- GET /group-chat/{id}/members: the active members, leader first, then
-- by username.
CREATE OR REPLACE FUNCTION api_group_members(me uuid, gid uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status = 200 THEN
        SELECT coalesce(json_agg(api_group_member(m)
                        ORDER BY m.role <> 'leader', lower(a.username),
                                 a.username), '[]')
          INTO body
          FROM group_member m JOIN account a USING (account_id)
         WHERE m.group_id = gid AND m.status = 'active';
    END IF;
END
$$;

-- POST /group-chat/{id}/members: by the leader or a moderator, of one of
-- their friends; only the leader names moderators, and only the leader
-- takes a banned account back. A former member is made active again.
CREATE OR REPLACE FUNCTION api_group_add_member(me uuid, gid uuid,
    who uuid, r group_role, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    g chat_group;
    old group_member;
    m group_member;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    g := gate.g;
    status := 403;
    IF (gate.m).role = 'member' THEN
        body := api_detail('Only the leader or a moderator can add members');
        RETURN;
    END IF;
    IF r <> 'member' AND (gate.m).role <> 'leader' THEN
        body := api_detail('Only the leader can appoint moderators');
        RETURN;
    END IF;
    PERFORM 1 FROM account WHERE account_id = who;
    IF NOT FOUND THEN
        status := 404; body := api_detail('Account not found');
        RETURN;
    END IF;
    SELECT * INTO old FROM group_member
     WHERE group_id = gid AND account_id = who;
    IF old.status = 'active' THEN
        status := 400; body := group_already_member();
        RETURN;
    END IF;
    IF NOT group_friend_locked(me, who) THEN
        body := group_not_friends(who);
        RETURN;
    END IF;
    IF old.status = 'banned' AND (gate.m).role <> 'leader' THEN
        body := api_detail('Account is banned from this group');
        RETURN;
    END IF;
    IF g.member_count >= g.max_members THEN
        status := 400; body := api_detail('Group is full');
        RETURN;
    END IF;
    UPDATE chat_group SET member_count = member_count + 1
     WHERE group_id = gid RETURNING * INTO g;
    m := group_member_enter(g, who, r,
        record_group_event('group_member_added', me, who, gid));
    status := 201; body := api_group_member(m); events := 1;
END
$$;

-- DELETE /group-chat/{id}/members/{account_id}: the leader removes
-- anyone but themself; a moderator, members only.
CREATE OR REPLACE FUNCTION api_group_remove_member(me uuid, gid uuid,
    who uuid, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    target group_member;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    status := 403;
    IF (gate.m).role = 'member' THEN
        body := api_detail('Only the leader or a moderator can remove members');
        RETURN;
    END IF;
    SELECT * INTO target FROM group_member
     WHERE group_id = gid AND account_id = who AND group_member.status = 'active';
    IF NOT FOUND THEN
        status := 404; body := group_member_not_found();
        RETURN;
    END IF;
    IF who = me AND (gate.m).role = 'leader' THEN
        status := 400;
        body := api_detail('The leader cannot remove themself; leave the group instead');
        RETURN;
    END IF;
    IF target.role <> 'member' AND (gate.m).role <> 'leader' THEN
        body := api_detail('A moderator cannot remove the leader or another moderator');
        RETURN;
    END IF;
    target := group_member_end(gid, who, 'removed',
        record_group_event('group_member_removed', me, who, gid));
    status := 200; body := api_group_member(target); events := 1;
END
$$;

-- POST /group-chat/{id}/ban/{account_id}: by the leader, of a member or
-- a former one (who then may be added back by the leader only).
CREATE OR REPLACE FUNCTION api_group_ban(me uuid, gid uuid, who uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    target group_member;
    event bigint;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    status := 403;
    IF (gate.m).role <> 'leader' THEN
        body := api_detail('Only the leader can ban members');
        RETURN;
    END IF;
    SELECT * INTO target FROM group_member
     WHERE group_id = gid AND account_id = who;
    IF NOT FOUND THEN
        status := 404; body := group_member_not_found();
        RETURN;
    END IF;
    IF who = me THEN
        status := 400; body := api_detail('The leader cannot ban themself');
        RETURN;
    END IF;
    status := 200;
    IF target.status = 'banned' THEN
        body := api_group_member(target);
        RETURN;
    END IF;
    event := record_group_event('group_member_removed', me, who, gid);
    IF target.status = 'active' THEN
        target := group_member_end(gid, who, 'banned', event);
    ELSE
        UPDATE group_member SET status = 'banned'
         WHERE group_id = gid AND account_id = who RETURNING * INTO target;
    END IF;
    body := api_group_member(target); events := 1;
END
$$;

-- POST /group-chat/{id}/leave. A leaving leader hands the group to the
-- longest-standing moderator, else to the longest-standing member (the
-- group hears group_updated); the last member leaving deletes it.
CREATE OR REPLACE FUNCTION api_group_leave(me uuid, gid uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    m group_member;
    heir uuid;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, false);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    m := group_member_end(gid, me, 'left',
        record_group_event('group_member_left', me, me, gid));
    events := 1;
    IF m.role = 'leader' THEN
        UPDATE group_member SET role = 'member'
         WHERE group_id = gid AND account_id = me RETURNING * INTO m;
        SELECT account_id INTO heir FROM group_member
         WHERE group_id = gid AND group_member.status = 'active'
         ORDER BY role <> 'moderator', joined_at, group_member_id
         LIMIT 1;
        IF heir IS NOT NULL THEN
            UPDATE group_member SET role = 'leader'
             WHERE group_id = gid AND account_id = heir;
            PERFORM record_group_event('group_updated', me, gid, gid);
            events := 2;
        END IF;
    END IF;
    UPDATE chat_group SET is_active = false
     WHERE group_id = gid AND member_count = 0 AND is_active;
    status := 200; body := api_group_member(m);
END
$$;

-- POST /group-chat/{id}/join: groups are joined by invitation only.
CREATE OR REPLACE FUNCTION api_group_join(me uuid, gid uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    events := 0;
    PERFORM 1 FROM group_member
     WHERE group_id = gid AND account_id = me
       AND group_member.status = 'active';
    IF FOUND THEN
        status := 400; body := group_already_member();
    ELSE
        status := 403; body := api_detail('Groups are joined by invitation');
    END IF;
END
$$;

-- The caller's membership of a group, for GET /{id}/membership and the
-- batch: a stranger (or an unknown group) is {"is_member": false,
-- "status": "no-join", "is_active": false} alike, so that it reveals
-- nothing; a member or former member sees its role, status, joined_at
-- and the group's is_active.
CREATE OR REPLACE FUNCTION group_membership(me uuid, gid uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT json_build_object(
                    'is_member', m.status = 'active',
                    'role', m.role,
                    'status', m.status,
                    'joined_at', api_time(m.joined_at),
                    'is_active', g.is_active)
           FROM group_member m JOIN chat_group g USING (group_id)
          WHERE m.group_id = gid AND m.account_id = me),
        json_build_object('is_member', false, 'status', 'no-join',
                          'is_active', false))
$$;

-- GET /group-chat/{id}/membership.
CREATE OR REPLACE FUNCTION api_group_membership(me uuid, gid uuid)
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT group_membership(me, gid)
$$;

-- POST /group-chat/membership/batch: one answer per id, in the order
-- asked, each with its group_id first.
CREATE OR REPLACE FUNCTION api_group_membership_batch(me uuid, gids uuid[])
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('memberships', coalesce(json_agg(
               (json_build_object('group_id', q.gid)::jsonb ||
                group_membership(me, q.gid)::jsonb)::json
               ORDER BY q.place), '[]'))
      FROM unnest(gids) WITH ORDINALITY AS q(gid, place)
$$;

-- GET /group-chat/{id}/messages: the page counted from the newest
-- (skip 0: the newest lim), its messages oldest first.
CREATE OR REPLACE FUNCTION api_group_messages(me uuid, gid uuid,
    skip bigint, lim int, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    SELECT json_build_object(
               'messages', coalesce(json_agg(api_group_message(p)
                                             ORDER BY p.seq), '[]'),
               'total', (gate.g).message_count,
               'skip', skip,
               'limit', lim)
      INTO body
      FROM (SELECT * FROM group_message
             WHERE group_id = gid AND NOT is_deleted
             ORDER BY seq DESC OFFSET skip LIMIT lim) p;
END
$$;

-- POST /group-chat/{id}/messages, and send_group_message over the
-- WebSocket: 201 GroupMessage. The rules in order: a repeat of an
-- idempotent send (key, as send_message's: 'h:' an Idempotency-Key, 't:'
-- a temp_id) is answered as the first one was; then the rate (429), the
-- caller's membership (404 never a member, 403 a former one), a group
-- deleted (403). The message takes the group's next seq under its lock;
-- the sender's read mark moves to it.
CREATE OR REPLACE FUNCTION api_group_send(me uuid, gid uuid, body_text text,
    key text DEFAULT NULL, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    k record;
    gate record;
    m group_message;
    seq bigint;
BEGIN
    events := 0;
    IF key IS NOT NULL THEN
        SELECT * INTO k
          FROM send_key_earlier(me, key, true, gid, body_text);
        IF k.reused THEN
            status := 422; body := api_key_reused();
            RETURN;
        END IF;
        IF k.earlier IS NOT NULL THEN
            SELECT * INTO m FROM group_message WHERE message_id = k.earlier;
            -- As the first answer showed it: read by its sender alone.
            m.is_deleted := false; m.updated_at := m.created_at;
            status := 201; body := api_group_message(m, 1);
            RETURN;
        END IF;
    END IF;
    body := rate_refused('send', me::text);  -- CONTRACT §12, as direct sends
    IF body IS NOT NULL THEN status := 429; RETURN; END IF;
    SELECT * INTO gate FROM group_gate(me, gid, true, true);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    UPDATE chat_group SET message_seq = message_seq + 1,
           message_count = message_count + 1, active_at = now()
     WHERE group_id = gid
    RETURNING message_seq INTO seq;
    -- One clock reading for both times, as for direct sends (send_message).
    INSERT INTO group_message (group_id, seq, sender_id, content, send_key,
                               created_at, updated_at)
    SELECT gid, seq, me, body_text, key, t, t FROM clock_timestamp() t
    RETURNING * INTO m;
    UPDATE group_member SET last_read_seq = seq,
           last_read_message_id = m.message_id
     WHERE group_id = gid AND account_id = me;
    PERFORM record_group_event('group_message', me, gid, gid, m.message_id);
    status := 201; body := api_group_message(m); events := 1;
END
$$;

-- DELETE /group-chat/{id}/messages/{message_id}: by its sender, the
-- leader or a moderator; soft.
CREATE OR REPLACE FUNCTION api_group_delete_message(me uuid, gid uuid,
    id uuid, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    m group_message;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, true, false);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    SELECT * INTO m FROM group_message
     WHERE message_id = id AND group_id = gid AND NOT is_deleted;
    IF NOT FOUND THEN
        status := 404; body := group_message_not_found();
        RETURN;
    END IF;
    IF m.sender_id IS DISTINCT FROM me AND (gate.m).role = 'member' THEN
        status := 403;
        body := api_detail('Only the sender, the leader or a moderator can delete this message');
        RETURN;
    END IF;
    UPDATE group_message SET is_deleted = true WHERE message_id = id;
    UPDATE chat_group SET message_count = message_count - 1
     WHERE group_id = gid;
    PERFORM record_group_event('group_message_deleted', me, gid, gid, id);
    status := 200;
    body := json_build_object('detail', 'Message deleted', 'message_id', id);
    events := 1;
END
$$;

-- PUT /group-chat/{id}/read, and mark_group_read over the WebSocket: the
-- caller's read mark moves to the message, never back; group_read is
-- recorded only when it moved.
CREATE OR REPLACE FUNCTION api_group_read(me uuid, gid uuid, id uuid,
    OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
    target group_message;
    mine group_member;
BEGIN
    events := 0;
    body := rate_refused('read', me::text);  -- CONTRACT §12: 429 first
    IF body IS NOT NULL THEN status := 429; RETURN; END IF;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    SELECT * INTO target FROM group_message
     WHERE message_id = id AND group_id = gid AND NOT is_deleted;
    IF NOT FOUND THEN
        status := 404; body := group_message_not_found();
        RETURN;
    END IF;
    UPDATE group_member SET last_read_seq = target.seq,
           last_read_message_id = target.message_id
     WHERE group_id = gid AND account_id = me
       AND last_read_seq < target.seq
    RETURNING * INTO mine;
    IF FOUND THEN
        PERFORM record_group_event('group_read', me, gid, gid, id);
        events := 1;
    ELSE
        SELECT * INTO mine FROM group_member
         WHERE group_id = gid AND account_id = me;
    END IF;
    status := 200;
    body := json_build_object(
        'group_id', gid,
        'last_read_message_id', mine.last_read_message_id,
        'unread_count', group_unread(gate.g, mine));
END
$$;

-- GET /group-chat/{id}/messages/search: as the search of §5 (sql/
-- functions/search.sql), through the index of message_search_keys seeded
-- with the group, newest first. Planned for each call's values, so that
-- one of the two condition pairs folds away: with keys, the candidates
-- come from group_message_words only (the group is then checked as
-- text, which no index serves, so that the planner cannot prefer
-- walking the group's history); without keys, from the btree.
CREATE OR REPLACE FUNCTION api_group_search(me uuid, gid uuid, keyword text,
    skip bigint, lim int, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_custom_plan
SET enable_indexscan = off AS $$
DECLARE
    gate record;
    keys bigint[] := search_keys_of(gid, gid, keyword);
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status <> 200 THEN
        RETURN;
    END IF;
    WITH hits AS MATERIALIZED (
        SELECT m.* FROM group_message m
         WHERE (cardinality(keys) = 0
                OR message_search_keys(m.group_id, m.group_id, m.content)
                   @> keys)
           AND (cardinality(keys) > 0 OR m.group_id = gid)
           AND m.group_id::text = gid::text
           AND NOT m.is_deleted
           AND m.content ILIKE api_like_pattern(keyword))
    SELECT json_build_object(
               'messages', coalesce((SELECT json_agg(api_group_message(p)
                                                     ORDER BY p.seq DESC)
                                       FROM (SELECT * FROM hits
                                              ORDER BY seq DESC
                                             OFFSET skip LIMIT lim) p), '[]'),
               'total', (SELECT count(*) FROM hits),
               'skip', skip,
               'limit', lim)
      INTO body;
END
$$;

-- GET /group-chat/{id}/online: the active members with a WebSocket open
-- on a live push daemon, the caller included.
CREATE OR REPLACE FUNCTION api_group_online(me uuid, gid uuid,
    timeout_seconds int, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(me, gid, false, false);
    status := gate.status; body := gate.body;
    IF status = 200 THEN
        body := json_build_object('online_members',
                                  group_online_members(gid, timeout_seconds));
    END IF;
END
$$;

-- The active members of a group that are online, by id.
CREATE OR REPLACE FUNCTION group_online_members(gid uuid, timeout_seconds int)
RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(m.account_id ORDER BY m.account_id), '[]')
      FROM group_member m
     WHERE m.group_id = gid AND m.status = 'active'
       AND is_online(m.account_id, timeout_seconds)
$$;

-- GET /group-chat/unread-count: over the caller's active memberships.
CREATE OR REPLACE FUNCTION api_group_unread_count(me uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'unread_count', coalesce(sum(u.n), 0),
        'groups', coalesce(json_object_agg(u.group_id, u.n), '{}'))
      FROM (SELECT g.group_id, group_unread(g, m) AS n
              FROM group_member m JOIN chat_group g USING (group_id)
             WHERE m.account_id = me AND m.status = 'active') u
$$;

------------------------------------------------------------------------
-- Group events (docs/events.md, "Group events"): one row per change of a
-- group; who hears it is the group's active members at that event (the
-- spans that hold its id), and for a membership event the account
-- concerned (its target) too.

-- The frame of a group event as account hears it (CONTRACT §11), without
-- its cursor; NULL for group_updated when account is NULL (that frame
-- shows the group as each member sees it), or when what it names is gone.
-- It shows things as they are now, as the direct messages' frames do: a
-- message deleted since has no content; one whose sender's account was
-- deleted, no frame (a direct message goes with its account).
CREATE OR REPLACE FUNCTION group_stream_frame(e event, account uuid)
RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE e.kind
    WHEN 'group_message' THEN
        RETURN (SELECT json_build_object('type', 'group_message',
                                         'data', api_group_message(m))::text
                  FROM group_message m
                 WHERE m.message_id = e.message_id AND m.sender_id IS NOT NULL);
    WHEN 'group_message_deleted' THEN
        RETURN json_build_object('type', e.kind, 'group_id', e.group_id,
                                 'message_id', e.message_id)::text;
    WHEN 'group_read' THEN
        RETURN json_build_object('type', e.kind, 'group_id', e.group_id,
                                 'user_id', e.actor_id,
                                 'message_id', e.message_id)::text;
    WHEN 'group_updated' THEN
        RETURN (SELECT json_build_object('type', e.kind,
                                         'group', api_group(g, account))::text
                  FROM chat_group g
                 WHERE g.group_id = e.group_id AND account IS NOT NULL);
    ELSE
        RETURN (SELECT json_build_object('type', e.kind,
                                         'group_id', e.group_id,
                                         'member', api_group_member(m))::text
                  FROM group_member m
                 WHERE m.group_id = e.group_id AND m.account_id = e.target_id);
    END CASE;
END
$$;

-- The active members of a group once event (one of its) happened.
CREATE OR REPLACE FUNCTION group_members_at(gid uuid, event bigint)
RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(s.account_id ORDER BY s.account_id), '{}')
      FROM group_member_span s
     WHERE s.group_id = gid AND s.began <= event
       AND (s.ended IS NULL OR s.ended > event)
$$;

-- What a push daemon needs of the group events it read (ids, with the
-- cursors it gives them): for each, in the order asked, a row with no
-- account, whose frame every listener gets (NULL for group_updated, and
-- for a message whose sender's account was deleted; a message deleted
-- since shows is_deleted and no content, as in a replay: the next
-- cursors pass its event); the status now of the member a
-- membership event concerns (target: which per-group connections close,
-- and with which code); after a change of membership or of the group,
-- the members it leaves (members, a uuid[] literal, which the daemon's
-- copy of the group takes: it is read in event order) and the group's
-- name and whether it is active. Then, for group_updated, a row for each
-- of those members with the frame as that member sees it. The events are
-- found by primary key (= ANY) whatever the statistics say, as in
-- push_message_frames.
CREATE OR REPLACE FUNCTION push_group_frames(ids bigint[], cursors text[])
RETURNS TABLE (event_id bigint, group_id uuid, account_id uuid,
               member_status text, members text, group_name text,
               group_active boolean, frame text)
LANGUAGE plpgsql STABLE
SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT e.event_id, e.group_id, NULL::uuid,
           (SELECT m.status::text FROM group_member m
             WHERE m.group_id = e.group_id AND m.account_id = e.target_id
               AND e.kind LIKE 'group\_member\_%'),
           CASE WHEN e.kind IN ('group_updated', 'group_member_added',
                                'group_member_left', 'group_member_removed')
                THEN group_members_at(e.group_id, e.event_id)::text END,
           g.name, g.is_active,
           stream_frame_with_cursor(group_stream_frame(e, NULL),
                                    cursors[array_position(ids, e.event_id)])
      FROM event e
      LEFT JOIN chat_group g ON g.group_id = e.group_id
     WHERE e.event_id = ANY (ids)
    UNION ALL
    SELECT e.event_id, e.group_id, s.account_id, NULL, NULL, NULL, NULL,
           stream_frame_with_cursor(group_stream_frame(e, s.account_id),
                                    cursors[array_position(ids, e.event_id)])
      FROM event e
      JOIN group_member_span s ON s.group_id = e.group_id
       AND s.began <= e.event_id AND (s.ended IS NULL OR s.ended > e.event_id)
     WHERE e.event_id = ANY (ids) AND e.kind = 'group_updated'
     ORDER BY 1, 3 NULLS FIRST;
END
$$;

-- A group's updated_at follows the changes of the group itself (PUT,
-- DELETE), not its counters, which every send moves.
CREATE OR REPLACE FUNCTION chat_group_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.description, NEW.avatar, NEW.is_active) IS DISTINCT FROM
       (OLD.name, OLD.description, OLD.avatar, OLD.is_active) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER chat_group_updated_at BEFORE UPDATE ON chat_group
    FOR EACH ROW EXECUTE FUNCTION chat_group_set_updated_at();
CREATE OR REPLACE TRIGGER group_member_updated_at BEFORE UPDATE ON group_member
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER group_message_updated_at BEFORE UPDATE ON group_message
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- An account being deleted (chatctl user delete, or any DELETE of its
-- row) first leaves its groups as POST /leave does: the leadership passes
-- on (the group hears group_updated), a group left empty is deleted, the
-- counts follow. The others hear no group_member_left: its frame shows
-- the member, whose row goes with the account. Its messages stay,
-- deleted, without text, sender or key: the unread counts subtract the
-- deleted messages after each read mark, and would count them for ever
-- if their rows went. No group_message_deleted events either: as with
-- its direct messages, the members' clients see them gone at their next
-- read of the history. Every group concerned is locked first, in one
-- order, as every change of a group locks it before counting; finding
-- the messages reads group_message whole (no index on the sender alone:
-- accounts are deleted seldom, and an index would cost every send).
CREATE OR REPLACE FUNCTION account_leave_groups() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    gid uuid;
    gone bigint;
BEGIN
    -- Its memberships, ended ones too: a group it wrote in is one of them.
    PERFORM 1 FROM chat_group
      WHERE group_id IN (SELECT group_id FROM group_member
                          WHERE account_id = OLD.account_id)
      ORDER BY group_id
        FOR NO KEY UPDATE;
    FOR gid IN SELECT group_id FROM group_member
                WHERE account_id = OLD.account_id AND status = 'active'
                ORDER BY group_id LOOP
        PERFORM api_group_leave(OLD.account_id, gid);
    END LOOP;
    FOR gid, gone IN
        WITH kept AS (
            UPDATE group_message
               SET sender_id = NULL, content = '', send_key = NULL,
                   is_deleted = true
             WHERE sender_id = OLD.account_id
            RETURNING group_id, (SELECT NOT d.is_deleted FROM group_message d
                                  WHERE d.message_id = group_message.message_id)
                      AS was_shown)
        SELECT group_id, count(*) FILTER (WHERE was_shown) FROM kept
         GROUP BY group_id LOOP
        UPDATE chat_group SET message_count = message_count - gone
         WHERE group_id = gid;
    END LOOP;
    RETURN OLD;
END
$$;

CREATE OR REPLACE TRIGGER account_leave_groups BEFORE DELETE ON account
    FOR EACH ROW EXECUTE FUNCTION account_leave_groups();

------------------------------------------------------------------------
-- What the push daemons ask besides the frames of events.

-- The daemon's copy of the groups (push-daemon/groups.c), loaded once
-- when it starts reading events and kept current by the events after:
-- each active group, its name, and its active members as a uuid[]
-- literal.
CREATE OR REPLACE FUNCTION push_groups()
RETURNS TABLE (group_id uuid, name text, members text)
LANGUAGE sql STABLE AS $$
    SELECT g.group_id, g.name,
           coalesce(array_agg(m.account_id ORDER BY m.account_id)
                    FILTER (WHERE m.account_id IS NOT NULL), '{}')::text
      FROM chat_group g
      LEFT JOIN group_member m ON m.group_id = g.group_id
                              AND m.status = 'active'
     WHERE g.is_active
     GROUP BY g.group_id, g.name
$$;

-- The online_members frame (CONTRACT §11, the per-group WebSocket) of
-- each group of gids.
CREATE OR REPLACE FUNCTION push_group_online(gids uuid[], timeout_seconds int)
RETURNS TABLE (group_id uuid, frame text)
LANGUAGE sql STABLE AS $$
    SELECT q.gid, json_build_object('type', 'online_members',
               'group_id', q.gid,
               'members', group_online_members(q.gid, timeout_seconds))::text
      FROM unnest(gids) AS q(gid)
$$;

-- group_typing and the typing of a per-group WebSocket: by an active
-- member of a group not deleted, relayed through NOTIFY to every daemon
-- (which knows the members: push-daemon/groups.c), never stored, and
-- without waiting for the disk (push_typing says why). Answers the status
-- of group_gate (403 as well for a group deleted), and the refusal's body.
CREATE OR REPLACE FUNCTION push_group_typing(sender uuid, gid uuid,
    typing boolean, OUT status int, OUT body json, OUT events int)
LANGUAGE plpgsql AS $$
DECLARE
    gate record;
BEGIN
    events := 0;
    SELECT * INTO gate FROM group_gate(sender, gid, false, true);
    status := gate.status; body := gate.body;
    IF status = 200 THEN
        PERFORM set_config('synchronous_commit', 'off', true);
        PERFORM pg_notify('chat_group_typing', gid::text || ' ' ||
                          sender::text || ' ' ||
                          CASE WHEN typing THEN 't' ELSE 'f' END);
    END IF;
END
$$;
