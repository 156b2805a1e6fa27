-- Accounts, and the SQL functions that give the API its JSON shapes.
-- Applied once by sql/migrate inside a transaction.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

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

-- Serves GET /accounts/search: ILIKE '%name%' on username or full name.
CREATE INDEX account_username_trgm ON account USING gin (username gin_trgm_ops);
CREATE INDEX account_full_name_trgm ON account USING gin (full_name gin_trgm_ops);

-- updated_at follows every change of a row.
CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TRIGGER account_updated_at BEFORE UPDATE ON account
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- RFC 3339 in UTC with microseconds: 2024-01-01T12:00:00.123456Z
CREATE FUNCTION api_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- A LIKE pattern matching text anywhere, with % _ and \ taken literally.
CREATE FUNCTION api_like_pattern(text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '%' || replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

-- PublicAccount of CONTRACT §2: the sender / receiver object.
CREATE FUNCTION api_public_account(a account) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'account_id', a.account_id,
        'username', a.username,
        'full_name', a.full_name,
        'avatar', a.avatar)
$$;

-- Account of CONTRACT §2: the caller's own.
CREATE FUNCTION api_account(a account) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'account_id', a.account_id,
        'username', a.username,
        'email', a.email,
        'full_name', a.full_name,
        'avatar', a.avatar,
        'is_active', a.is_active,
        'created_at', api_time(a.created_at),
        'role', json_build_object('role_name', a.role_name))
$$;
