-- Group conversations (CONTRACT §11): groups, their members, their
-- messages, and what the event stream needs to hand a group's events to
-- its members (docs/events.md, "Group events").

CREATE TYPE group_role AS ENUM ('leader', 'moderator', 'member');
CREATE TYPE group_member_status AS ENUM ('active', 'left', 'removed', 'banned');

-- A group. message_seq numbers its messages (1, 2, ...): a send takes the
-- next one while it holds this row's lock, so that seq, created_at and
-- the event ids of one group follow the commit order; the read marks
-- are places in it. message_count: the messages not deleted (history's
-- total without counting rows). Membership changes lock the row too, so
-- that no send runs across one.
CREATE TABLE chat_group (
    group_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description    text CHECK (char_length(description) <= 1000),
    avatar         text CHECK (char_length(avatar) <= 2048),
    created_by     uuid REFERENCES account ON DELETE SET NULL,
    max_members    int NOT NULL CHECK (max_members BETWEEN 2 AND 1000),
    member_count   int NOT NULL DEFAULT 0 CHECK (member_count >= 0),
    is_active      boolean NOT NULL DEFAULT true,
    message_seq    bigint NOT NULL DEFAULT 0,
    message_count  bigint NOT NULL DEFAULT 0,
    -- The last message sent, or the creation: my-groups' order.
    active_at      timestamptz NOT NULL DEFAULT now(),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per group and account that ever belonged to it, kept when the
-- membership ends (a former member gets 403, not 404) and made active
-- again when the account is added back. The read mark: the last message
-- read and its seq (0: none); a member's unread count is the messages
-- after it, from the group's counters (sql/functions/groups.sql).
CREATE TABLE group_member (
    group_member_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    group_id              uuid NOT NULL REFERENCES chat_group ON DELETE CASCADE,
    account_id            uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    role                  group_role NOT NULL DEFAULT 'member',
    status                group_member_status NOT NULL DEFAULT 'active',
    -- When the membership under way (or the last one) began.
    joined_at             timestamptz NOT NULL DEFAULT now(),
    last_read_message_id  uuid,
    last_read_seq         bigint NOT NULL DEFAULT 0,
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (group_id, account_id)
);

-- The caller's groups (my-groups, all, unread-count).
CREATE INDEX group_member_account ON group_member (account_id, group_id)
    WHERE status = 'active';
-- read_by_count: the active members whose mark is at or past a message.
CREATE INDEX group_member_read ON group_member (group_id, last_read_seq)
    WHERE status = 'active';

-- The memberships as the event stream sees them: each span of an
-- account's active membership, from the event that began it (its
-- group_member_added, or the group's creation) to the one that ended it
-- (NULL: under way), as event ids. A group event belongs to the stream
-- of the accounts whose span holds its id (began <= event_id < ended):
-- the events of one group are recorded under its row lock, so their ids
-- follow their commit order, as the spans' bounds do.
CREATE TABLE group_member_span (
    group_id    uuid NOT NULL REFERENCES chat_group ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    began       bigint NOT NULL,
    ended       bigint,
    PRIMARY KEY (account_id, group_id, began),
    CHECK (ended IS NULL OR ended > began)
);
-- A group's members at an event (push_group_frames).
CREATE INDEX group_member_span_group ON group_member_span (group_id, began);

-- A group message, stored once whatever the number of members: who read
-- it is the members' read marks, not rows of its own.
CREATE TABLE group_message (
    message_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    group_id    uuid NOT NULL REFERENCES chat_group ON DELETE CASCADE,
    seq         bigint NOT NULL,
    sender_id   uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    content     text NOT NULL CHECK (content <> ''),
    is_deleted  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The key of an idempotent send, as message.send_key.
    send_key    text,
    UNIQUE (group_id, seq)
) WITH (fillfactor = 90);

-- History (newest first, deleted ones left out), the last message of a
-- group, and read_by_count's seq of a message.
CREATE INDEX group_message_history ON group_message (group_id, seq DESC)
    WHERE NOT is_deleted;
-- The deleted messages after a read mark, which the unread count takes
-- off the counters' difference (deletions are few).
CREATE INDEX group_message_deleted ON group_message (group_id, seq)
    WHERE is_deleted;
CREATE INDEX group_message_send_key ON group_message (sender_id, send_key,
    created_at) WHERE send_key IS NOT NULL;
-- Search (CONTRACT §11, as §5): the keys of message_search_keys seeded
-- with the group, so that a posting list holds one group's messages.
CREATE INDEX group_message_words ON group_message USING gin
    (message_search_keys(group_id, group_id, content))
    WITH (fastupdate = off)
    WHERE NOT is_deleted;

------------------------------------------------------------------------
-- Group events: one row per change of a group, whatever its number of
-- members. group_id is set on them alone; target_id is the member
-- concerned (a membership event, which that account hears even once out
-- of the group), or the group itself.

ALTER TABLE event ADD COLUMN group_id uuid;
ALTER TABLE event DROP CONSTRAINT event_kind_check;
ALTER TABLE event ADD CONSTRAINT event_kind_check CHECK (kind IN (
    'message_created', 'message_delivered', 'message_read',
    'message_deleted', 'friend_requested', 'friend_accepted',
    'friend_removed', 'user_online', 'user_offline',
    'account_disabled', 'account_enabled',
    'group_message', 'group_message_deleted', 'group_read',
    'group_updated', 'group_member_added', 'group_member_left',
    'group_member_removed'));
ALTER TABLE event ADD CONSTRAINT event_group_kind
    CHECK ((group_id IS NOT NULL) = (kind LIKE 'group\_%'));
-- The group part of a stream (stream_after).
CREATE INDEX event_group ON event (group_id, xid) WHERE group_id IS NOT NULL;
