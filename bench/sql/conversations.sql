-- Fills the conversations of the benchmark accounts whose sender matches a
-- pattern with :n messages each, in one statement, straight in the table
-- (no events: the push daemons need not hear of them), then sets the
-- conversations' counters as the send function keeps them.
--
--   psql -v pattern='hist-%' -v n=100 -f conversations.sql
--
-- make_accounts.py makes each even-numbered account friends with the next
-- (the even one is the friendship's sender), so matching the senders
-- selects each conversation once. The messages alternate between the two
-- sides, one every 100 ms up to now, already read (so that they are not
-- pushed as undelivered and stay out of the unread index). Exactly 100
-- messages of each conversation (or all, below 100) contain the word
-- "zanzibar": a search for it finds the same number of messages in a
-- conversation of any length, which is what makes search figures of
-- different lengths comparable.
\set ON_ERROR_STOP on

INSERT INTO message (sender_id, receiver_id, content, status, created_at,
                     updated_at, read_at)
SELECT CASE WHEN g % 2 = 0 THEN f.sender_id ELSE f.receiver_id END,
       CASE WHEN g % 2 = 0 THEN f.receiver_id ELSE f.sender_id END,
       'message ' || g || ' about the ' ||
           (ARRAY['lunch', 'meeting', 'weekend', 'project', 'coffee',
                  'report', 'train', 'concert'])[1 + g % 8] ||
           CASE WHEN g % greatest(:n / 100, 1) = 0 THEN ' in zanzibar'
                ELSE '' END,
       'read', t.at, t.at, t.at
  FROM friendship f
  JOIN account a ON a.account_id = f.sender_id,
       generate_series(1, :n) g,
       LATERAL (SELECT now() - make_interval(secs => (:n - g) / 10.0) AS at) t
 WHERE a.username LIKE :'pattern' AND f.status = 'accepted';

INSERT INTO conversation (low_id, high_id, message_count)
SELECT least(f.sender_id, f.receiver_id), greatest(f.sender_id, f.receiver_id), :n
  FROM friendship f
  JOIN account a ON a.account_id = f.sender_id
 WHERE a.username LIKE :'pattern' AND f.status = 'accepted'
    ON CONFLICT (low_id, high_id)
    DO UPDATE SET message_count = conversation.message_count + EXCLUDED.message_count;
