-- Rate limits (CONTRACT §12) as token buckets in rate_bucket. The rate
-- (tokens a second) and the burst (the bucket's size) of each kind are
-- settings of the database session, chat.rate_KIND and chat.burst_KIND,
-- that chat-fcgi and the push daemon set from their configuration when
-- they connect (session_configure, below); a session without them is not
-- limited (psql, the migration, benchmarks calling functions directly).
-- Kinds:
-- send (by account), read (mark read, by account), login (failed logins,
-- by account and address), login_addr (failed logins, by address),
-- register (by address).

-- The session settings that hold the limits, each with its value: the
-- one list that rate_configure sets and rate_configured checks.
CREATE OR REPLACE FUNCTION rate_settings(send_rate float8, send_burst float8,
    read_rate float8, read_burst float8, login_rate float8, login_burst float8,
    login_addr_rate float8, login_addr_burst float8, register_rate float8,
    register_burst float8)
RETURNS TABLE (name text, value float8)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('chat.rate_send', send_rate),
           ('chat.burst_send', send_burst),
           ('chat.rate_read', read_rate),
           ('chat.burst_read', read_burst),
           ('chat.rate_login', login_rate),
           ('chat.burst_login', login_burst),
           ('chat.rate_login_addr', login_addr_rate),
           ('chat.burst_login_addr', login_addr_burst),
           ('chat.rate_register', register_rate),
           ('chat.burst_register', register_burst)
$$;

-- Sets the session's limits: rates a second and bursts.
CREATE OR REPLACE FUNCTION rate_configure(send_rate float8, send_burst float8,
    read_rate float8, read_burst float8, login_rate float8, login_burst float8,
    login_addr_rate float8, login_addr_burst float8, register_rate float8,
    register_burst float8) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config(s.name, s.value::text, false)
       FROM rate_settings(send_rate, send_burst, read_rate, read_burst,
                         login_rate, login_burst, login_addr_rate,
                         login_addr_burst, register_rate, register_burst) s;
END
$$;

-- Whether the session has these limits (rate_configure's parameters).
-- chat-fcgi behind a pooler in transaction mode does not set them itself
-- (its statements run on any of the pooler's server connections): the
-- pooler does, on each server connection (PgBouncer's connect_query), and
-- chat-fcgi checks that it did (session_configured). Compared as
-- float8, the type rate_configure keeps them in, so that 0.0111111111
-- equals itself.
CREATE OR REPLACE FUNCTION rate_configured(send_rate float8, send_burst float8,
    read_rate float8, read_burst float8, login_rate float8, login_burst float8,
    login_addr_rate float8, login_addr_burst float8, register_rate float8,
    register_burst float8) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT bool_and(coalesce(nullif(current_setting(s.name, true), '')::float8
                             = s.value, false))
      FROM rate_settings(send_rate, send_burst, read_rate, read_burst,
                         login_rate, login_burst, login_addr_rate,
                         login_addr_burst, register_rate, register_burst) s
$$;

-- The settings of every database session of chat-fcgi, and of chat-push's
-- requests connection (chat-push turns JIT off on each of its three
-- connections itself too: push-daemon/main.c), given when they connect
-- (behind a pooler in transaction mode, by the pooler on each server
-- connection: PgBouncer's connect_query, the text `chat-fcgi
-- --connect-query` prints): the rate limits, and no JIT. Their
-- statements are look-ups by key, but the estimate of a generic plan over
-- a range (history pages, the event stream) grows with the tables, past
-- jit_above_cost on a busy service, and compiling a plan then costs some
-- 20 ms where running it costs a fraction of one. rate_configure alone is
-- the connect_query of pgbouncer.ini files written before: its limits
-- hold, and chat-fcgi logs the settings that lack (session_configured).
CREATE OR REPLACE FUNCTION session_configure(send_rate float8,
    send_burst float8, read_rate float8, read_burst float8,
    login_rate float8, login_burst float8, login_addr_rate float8,
    login_addr_burst float8, register_rate float8, register_burst float8)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('jit', 'off', false);
    PERFORM rate_configure(send_rate, send_burst, read_rate, read_burst,
                           login_rate, login_burst, login_addr_rate,
                           login_addr_burst, register_rate, register_burst);
END
$$;

-- Whether the session has what session_configure gives it.
CREATE OR REPLACE FUNCTION session_configured(send_rate float8,
    send_burst float8, read_rate float8, read_burst float8,
    login_rate float8, login_burst float8, login_addr_rate float8,
    login_addr_burst float8, register_rate float8, register_burst float8)
RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT current_setting('jit') = 'off'
       AND rate_configured(send_rate, send_burst, read_rate, read_burst,
                           login_rate, login_burst, login_addr_rate,
                           login_addr_burst, register_rate, register_burst)
$$;

-- The tokens of a bucket that held tokens at time at, at time t.
CREATE OR REPLACE FUNCTION rate_fill(tokens float8, at timestamptz,
    t timestamptz, rate float8, burst float8) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
    SELECT least(burst, tokens + rate * greatest(0, extract(epoch FROM t - at)::float8))
$$;

-- Takes a token of bucket (what, who): 0 when granted, else the seconds
-- until one is there (nothing taken). One statement, one row lock: sends
-- of one account wait for each other here only.
CREATE OR REPLACE FUNCTION rate_take(what text, who text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    rate float8 := nullif(current_setting('chat.rate_' || what, true), '')::float8;
    burst float8 := nullif(current_setting('chat.burst_' || what, true), '')::float8;
    t timestamptz := clock_timestamp();
    left_over float8;
    ok boolean;
BEGIN
    IF rate IS NULL OR burst IS NULL OR rate <= 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO rate_bucket AS b (kind, key, tokens, at, full_at, granted)
    VALUES (what, who, burst - 1, t, t + make_interval(secs => 1 / rate), true)
    ON CONFLICT (kind, key) DO UPDATE SET
        granted = rate_fill(b.tokens, b.at, t, rate, burst) >= 1,
        tokens = rate_fill(b.tokens, b.at, t, rate, burst) -
                 CASE WHEN rate_fill(b.tokens, b.at, t, rate, burst) >= 1
                      THEN 1 ELSE 0 END,
        at = t,
        full_at = t + make_interval(secs => (burst -
                 rate_fill(b.tokens, b.at, t, rate, burst) +
                 CASE WHEN rate_fill(b.tokens, b.at, t, rate, burst) >= 1
                      THEN 1 ELSE 0 END) / rate)
    RETURNING b.tokens, b.granted INTO left_over, ok;
    IF ok THEN
        RETURN 0;
    END IF;
    RETURN (1 - left_over) / rate;
END
$$;

-- Locks the buckets (what, each of whos), made full when new, in the
-- order of their keys, for a transaction that takes several and locks
-- other rows between them (push_send_batch: conversations). Each take
-- holds its bucket's row lock until the commit; taken in conversation
-- order, two batches (or a batch and a REST send, which takes its bucket
-- before its conversation) could wait for each other's buckets and
-- conversations in a circle. Locked first, in one order, they cannot.
CREATE OR REPLACE FUNCTION rate_lock(what text, whos text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    burst float8 := nullif(current_setting('chat.burst_' || what, true), '')::float8;
    who text;
    t timestamptz := clock_timestamp();
BEGIN
    IF burst IS NULL THEN
        RETURN;
    END IF;
    FOR who IN SELECT DISTINCT k FROM unnest(whos) k ORDER BY k LOOP
        INSERT INTO rate_bucket AS b (kind, key, tokens, at, full_at, granted)
        VALUES (what, who, burst, t, t, true)
        ON CONFLICT (kind, key) DO UPDATE SET granted = b.granted;
    END LOOP;
END
$$;

-- Like rate_take, but takes nothing: the seconds until a token is there.
CREATE OR REPLACE FUNCTION rate_wait(what text, who text) RETURNS float8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    rate float8 := nullif(current_setting('chat.rate_' || what, true), '')::float8;
    burst float8 := nullif(current_setting('chat.burst_' || what, true), '')::float8;
    have float8;
BEGIN
    IF rate IS NULL OR burst IS NULL OR rate <= 0 THEN
        RETURN 0;
    END IF;
    SELECT rate_fill(b.tokens, b.at, clock_timestamp(), rate, burst) INTO have
      FROM rate_bucket b WHERE b.kind = what AND b.key = who;
    IF have IS NULL OR have >= 1 THEN
        RETURN 0;
    END IF;
    RETURN (1 - have) / rate;
END
$$;

-- The 429 body: {"detail", "retry_after": seconds, fractional}. chat-fcgi
-- makes the Retry-After header of it; the push daemon the error frame's
-- retry_after. The push daemon's own refusals (push-daemon/frames.c) say
-- the same detail.
CREATE OR REPLACE FUNCTION rate_body(detail text, wait float8) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('detail', detail,
                             'retry_after', greatest(0.001, round(wait::numeric, 3)))
$$;

-- rate_take as the answer of an api_* function: NULL when granted, else
-- the 429 body.
CREATE OR REPLACE FUNCTION rate_refused(what text, who text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
    wait float8 := rate_take(what, who);
BEGIN
    IF wait > 0 THEN
        RETURN rate_body('Too many requests', wait);
    END IF;
    RETURN NULL;
END
$$;

-- POST /auth/login's look-up (chat-fcgi, fcgi-app/login.c): the account
-- named by username (or email, when by_email), NULLs when there is none;
-- who: the key of its failed logins (the account, or the name asked for
-- when there is no such account, so that a lock looks the same either
-- way); refusal: the 429 body while (who, addr) or addr is locked out,
-- else NULL. A lock is checked before the password, and even the right
-- one is refused while it lasts.
CREATE OR REPLACE FUNCTION api_login_lookup(name text, by_email boolean,
    addr text, OUT account_id uuid, OUT password_hash text,
    OUT is_active boolean, OUT who text, OUT refusal json)
LANGUAGE plpgsql AS $$
DECLARE
    wait float8;
BEGIN
    IF by_email THEN
        SELECT a.account_id, a.password_hash, a.is_active
          INTO account_id, password_hash, is_active
          FROM account a WHERE lower(a.email) = lower(name);
    ELSE
        SELECT a.account_id, a.password_hash, a.is_active
          INTO account_id, password_hash, is_active
          FROM account a WHERE lower(a.username) = lower(name);
    END IF;
    who := coalesce(account_id::text, lower(name));
    wait := greatest(rate_wait('login', who || ' ' || addr),
                     rate_wait('login_addr', addr));
    IF wait > 0 THEN
        refusal := rate_body('Too many failed logins', wait);
    END IF;
END
$$;

-- A failed login of who (api_login_lookup's) from addr.
CREATE OR REPLACE FUNCTION api_login_failed(who text, addr text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM rate_take('login', who || ' ' || addr);
    PERFORM rate_take('login_addr', addr);
END
$$;

-- Buckets full again are as good as none: pruned now and then (push_reap).
-- A bucket that a send holds is left for the next time: waiting for it,
-- the prune (holding the buckets it has deleted, in no order) and a batch
-- of sends (which locks its buckets in order, rate_lock) could each wait
-- for the other, a deadlock that would fail one of them.
CREATE OR REPLACE FUNCTION rate_prune() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM rate_bucket
     WHERE (kind, key) IN (SELECT kind, key FROM rate_bucket
                            WHERE full_at < clock_timestamp()
                              FOR UPDATE SKIP LOCKED)
$$;
