-- The schema: tables, types, indexes. Functions and triggers are not
-- here: sql/functions/ holds their current definitions, applied after the
-- migrations on every migrate (sql/migrate).
--
-- This file is the schema that the numbered migrations 001 to 020 of the
-- earlier layout built, written out whole. A database built by them
-- (schema_migration holds 020_presence_plans) has it already: sql/migrate
-- records this version there without running it. Migrations after it
-- change what is here.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

------------------------------------------------------------------------
-- Accounts (CONTRACT §3).

CREATE TABLE account (
    account_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username       text NOT NULL
                   CHECK (username ~ '^[A-Za-z0-9_.-]{3,32}$'),
    email          text NOT NULL
                   CHECK (length(email) BETWEEN 3 AND 254 AND email LIKE '%_@_%.%'),
    password_hash  text NOT NULL,
    full_name      text CHECK (char_length(full_name) <= 100),
    avatar         text CHECK (char_length(avatar) <= 2048),
    is_active      boolean NOT NULL DEFAULT true,
    role_name      text NOT NULL DEFAULT 'user',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Case-insensitive uniqueness, enforced here and not only by the code;
-- they also serve login by username or email.
CREATE UNIQUE INDEX account_username_lower_key ON account (lower(username));
CREATE UNIQUE INDEX account_email_lower_key ON account (lower(email));

-- Serve GET /accounts/search: ILIKE '%name%' on username or full name.
CREATE INDEX account_username_trgm ON account USING gin (username gin_trgm_ops);
CREATE INDEX account_full_name_trgm ON account USING gin (full_name gin_trgm_ops);

------------------------------------------------------------------------
-- Friendships (CONTRACT §4): one row per pair of accounts, whoever asked
-- first.

CREATE TYPE friendship_status AS ENUM ('pending', 'accepted', 'rejected');

CREATE TABLE friendship (
    sender_id    uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    receiver_id  uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    status       friendship_status NOT NULL DEFAULT 'pending',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender_id, receiver_id),
    CHECK (sender_id <> receiver_id)
);

-- Serves the friendship check of every send, history and search: a pair
-- is found by (least, greatest) whichever way the request went.
CREATE UNIQUE INDEX friendship_pair_key ON friendship
    (least(sender_id, receiver_id), greatest(sender_id, receiver_id));
-- Serves the friends list and pending requests of the receiving side (the
-- primary key serves the sending side).
CREATE INDEX friendship_receiver ON friendship (receiver_id, status);

------------------------------------------------------------------------
-- Messages (CONTRACT §5).

CREATE TYPE message_status AS ENUM ('sent', 'delivered', 'read');

-- Free room on each page (fillfactor) lets the new version of a row that
-- a delivered mark or a read writes stay on the page of the old: status
-- is in no index, so sent -> delivered is a HOT update, the row alone.
CREATE TABLE message (
    message_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sender_id    uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    receiver_id  uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    content      text NOT NULL CHECK (content <> ''),
    status       message_status NOT NULL DEFAULT 'sent',
    is_deleted   boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    read_at      timestamptz,
    -- read_at is set exactly when a message is read (api_mark_read):
    -- message_unread_by_receiver's predicate relies on it.
    CONSTRAINT message_read_at_when_read
        CHECK ((status = 'read') = (read_at IS NOT NULL))
) WITH (fillfactor = 90);

-- Serves history: one conversation, newest first, deleted ones left out;
-- a page costs skip + limit index entries whatever the conversation's length.
CREATE INDEX message_conversation ON message
    (least(sender_id, receiver_id), greatest(sender_id, receiver_id),
     created_at DESC, message_id DESC)
    WHERE NOT is_deleted;
-- Serves the unread count and the undelivered messages of a connecting
-- user (an undelivered message is unread).
CREATE INDEX message_unread_by_receiver ON message (receiver_id, created_at)
    WHERE read_at IS NULL AND NOT is_deleted;
-- Tells the planner how long a conversation is.
CREATE STATISTICS message_conversation_stats
    ON (least(sender_id, receiver_id)), (greatest(sender_id, receiver_id))
    FROM message;

-- Per conversation: the number of messages not deleted (history's total,
-- without counting the rows), and a row to lock so that the sends of one
-- conversation take their created_at in commit order.
CREATE TABLE conversation (
    low_id         uuid NOT NULL,
    high_id        uuid NOT NULL,
    message_count  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (low_id, high_id),
    CHECK (low_id < high_id)
);

-- A history or search page as rows (fcgi-app/page.c writes the JSON): a
-- header row (status, body, total, and the two accounts), then one row a
-- message.
CREATE TYPE message_page_row AS (
    status          int,
    body            json,
    total           bigint,
    message_id      uuid,
    sender_id       uuid,
    receiver_id     uuid,
    content         text,
    message_status  message_status,
    is_deleted      boolean,
    created_at      timestamptz,
    updated_at      timestamptz,
    read_at         timestamptz,
    sender          json,
    receiver        json
);

------------------------------------------------------------------------
-- Search (CONTRACT §5) at a cost that follows the matches, not the length
-- of the conversation (docs/PERFORMANCE.md). Each key of the index is a
-- trigram of the content hashed together with its conversation, so the
-- posting list of a key holds only the messages of that conversation that
-- have that trigram. A hash that collides only makes a false candidate,
-- and every candidate is checked with ILIKE (sql/functions/search.sql).

-- The keys of a message: the trigrams of pg_trgm's show_trgm() (lower
-- case; words padded with spaces; a trigram holding multibyte characters
-- compacted into a hash, which shows no space), hashed with the
-- conversation as seed. Trigrams with a space, the padding of the start
-- and end of words, are left out: each key costs an insertion into the
-- index at every send, and they would serve only keywords made of words
-- of one or two characters ("to be"), which then read the conversation
-- through its btree (search_keys_of).
--
-- The index below is built from this function, so it is part of the
-- index's definition and lives here: a change to it is a migration that
-- rebuilds the index.
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

-- No pending list (fastupdate off): with one, an insert now and then
-- merged megabytes of pending keys into the index inside its own
-- transaction, and every push daemon's event horizon waited for it
-- (pushes stalled for 150 to 650 ms). Each insert adds its keys itself.
CREATE INDEX message_conversation_words ON message USING gin
    (message_search_keys(least(sender_id, receiver_id),
                         greatest(sender_id, receiver_id), content))
    WITH (fastupdate = off)
    WHERE NOT is_deleted;

------------------------------------------------------------------------
-- Presence (CONTRACT §8): written by the push daemons. A node whose
-- heartbeat is older than the timeout counts as gone with its connections.

CREATE TABLE presence_node (
    node_id       text PRIMARY KEY,
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE presence_connection (
    node_id        text NOT NULL REFERENCES presence_node ON DELETE CASCADE,
    connection_id  bigint NOT NULL,
    account_id     uuid NOT NULL REFERENCES account ON DELETE CASCADE,
    connected_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, connection_id)
);

CREATE INDEX presence_connection_account ON presence_connection (account_id);

------------------------------------------------------------------------
-- Events: every change a connected client must hear of (docs/events.md).

CREATE TABLE event (
    event_id    bigserial PRIMARY KEY,
    xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
    kind        text NOT NULL CHECK (kind IN (
                    'message_created', 'message_delivered', 'message_read',
                    'message_deleted', 'friend_requested', 'friend_accepted',
                    'friend_removed', 'user_online', 'user_offline',
                    'account_disabled', 'account_enabled')),
    actor_id    uuid NOT NULL,
    target_id   uuid NOT NULL,
    message_id  uuid,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Serves the readers' query by transaction id.
CREATE INDEX event_xid ON event (xid);
-- Serves the pruning of old events (push_reap).
CREATE INDEX event_created_at ON event (created_at);
