-- The daemons wake only the other daemons after their sends
-- (wake_other_daemons, presence_held_elsewhere): nothing calls the
-- check of the wake-up that named every daemon's accounts any more.
DROP FUNCTION IF EXISTS presence_woken_by_sends(text, uuid[], bigint[], uuid[]);
