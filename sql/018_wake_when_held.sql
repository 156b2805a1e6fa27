-- The wake-up after a change wakes nobody when no connection is
-- registered for the accounts it names (docs/events.md,
-- docs/PERFORMANCE.md).
--
-- Every NOTIFY makes PostgreSQL signal each daemon's listening backend,
-- which passes it on to its daemon: with 4 daemons, 8 processes woken
-- for every REST send, though a daemon only has work when it holds one of
-- the accounts named. For a send between two people with no connection
-- open, that was a quarter of the send's cost (REST send with the check
-- below: 2,160-2,260 -> 2,760/s).
--
-- Why nothing is missed: this runs after the change committed. A
-- connection whose registration (push_connect) it does not see commits
-- that registration after the change, and its daemon welcomes it only
-- after an event read that began after the registration was answered
-- (push-daemon/welcome.c), so that read, and the welcome's query of
-- undelivered messages after it, see the change. A wake-up that names no
-- account (NULL: every daemon reads) is sent as before.
CREATE OR REPLACE FUNCTION wake_push_daemons(accounts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(accounts) > 0 AND NOT EXISTS (
        SELECT 1 FROM presence_connection
         WHERE account_id = ANY (accounts)) THEN
        RETURN;
    END IF;
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM push_notify_accounts(accounts);
END
$$;
