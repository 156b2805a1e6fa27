-- A deleted account's group messages stay as deleted messages with neither
-- sender nor text (account_leave_groups, sql/functions/groups.sql): a
-- member's unread count is the group's counter less its read mark's, less
-- the deleted messages after the mark, so every message counted must keep
-- its row. A message has its text and its sender, or neither.
-- The constraints are checked against the rows there in 026, in a
-- transaction of its own: its scan then blocks no send.
ALTER TABLE group_message ALTER COLUMN sender_id DROP NOT NULL;
ALTER TABLE group_message DROP CONSTRAINT group_message_sender_id_fkey;
ALTER TABLE group_message ADD CONSTRAINT group_message_sender_id_fkey
    FOREIGN KEY (sender_id) REFERENCES account ON DELETE SET NULL NOT VALID;
ALTER TABLE group_message DROP CONSTRAINT group_message_content_check;
ALTER TABLE group_message ADD CONSTRAINT group_message_content_check
    CHECK (CASE WHEN sender_id IS NULL THEN is_deleted AND content = ''
                ELSE content <> '' END) NOT VALID;
