-- The constraints of 025 hold for the rows made before them (true of
-- every row: 025 only widened them). VALIDATE takes a lock that lets sends
-- go on while it reads the table.
ALTER TABLE group_message VALIDATE CONSTRAINT group_message_sender_id_fkey;
ALTER TABLE group_message VALIDATE CONSTRAINT group_message_content_check;
