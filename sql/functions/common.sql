-- Helpers every subsystem uses: the API's time format, its error body,
-- LIKE patterns, and the updated_at trigger.

-- updated_at follows every change of a row (the triggers stand beside
-- each table's functions).
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- RFC 3339 in UTC with microseconds: 2024-01-01T12:00:00.123456Z
CREATE OR REPLACE FUNCTION api_time(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The error body of CONTRACT §1: {"detail": "..."}.
CREATE OR REPLACE FUNCTION api_detail(detail text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('detail', detail)
$$;

-- A LIKE pattern matching text anywhere, with % _ and \ taken literally.
CREATE OR REPLACE FUNCTION api_like_pattern(text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT '%' || replace(replace(replace($1, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;
