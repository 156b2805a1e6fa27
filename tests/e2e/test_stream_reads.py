"""The push daemons' read of the event stream (push_stream_events in
sql/functions/events.sql, which every daemon runs at each wake-up)
computes the readers' horizon once, however many events it returns.
Each call of stream_horizon() costs a query of the event table; when the
read's subquery was pulled up into the query, every column and join
condition naming the horizon called it, about seven times per event
(docs/PERFORMANCE.md).

Counted with track_functions, which only a superuser may set: the read
runs as the cluster's owner, in a transaction of its own, and
pg_stat_get_xact_function_calls() gives the calls of that transaction."""

import pytest

from chat_api import gsend, make_friends, new_group, new_user, psql, send

pytestmark = pytest.mark.stack_cluster

DB = "chat"


def test_a_read_computes_the_horizon_once():
    before = psql(DB, "SELECT pg_current_xact_id()").strip()
    a, b = new_user(), new_user()
    make_friends(a, b)                  # friend_requested, friend_accepted
    for i in range(4):
        send(a, b, f"read me {i}")      # message_created
    out = psql(DB, f"""
        SET track_functions = 'all';
        BEGIN;
        PREPARE read_events(xid8) AS SELECT * FROM push_stream_events($1);
        CREATE TEMP TABLE got AS EXECUTE read_events('{before}');
        SELECT (SELECT count(*) FROM got WHERE event_id IS NOT NULL),
               coalesce(pg_stat_get_xact_function_calls(
                            'stream_horizon'::regproc), 0);
        ROLLBACK;
        """)
    events, calls = map(int, out.split("|"))
    assert events >= 6, out
    assert calls == 1, f"stream_horizon() called {calls} times for {events} events"


def test_a_read_scans_no_table_whole():
    """The daemon's read (push_stream_read), planned once for all its
    calls as the daemon's connection plans it, looks events up by their
    indexes: joined to the event table for each event's age, it was a hash
    join over a sequential scan of the whole table at every read, which
    grows with the events kept (days of them). The table is made large
    in a transaction that is rolled back, so that the planner sees it so."""
    before = psql(DB, "SELECT pg_current_xact_id()").strip()
    a, b = new_user(), new_user()
    make_friends(a, b)
    send(a, b, "read me")
    out = psql(DB, f"""
        BEGIN;
        INSERT INTO event (kind, actor_id, target_id)
        SELECT 'account_enabled', gen_random_uuid(), gen_random_uuid()
          FROM generate_series(1, 20000);
        ANALYZE event;
        SET LOCAL plan_cache_mode = force_generic_plan;
        PREPARE read_events(xid8) AS SELECT * FROM push_stream_read($1);
        CREATE TEMP TABLE scans AS
            SELECT seq_scan FROM pg_stat_xact_user_tables
             WHERE relname = 'event';
        CREATE TEMP TABLE got AS EXECUTE read_events('{before}');
        CREATE TEMP TABLE got_again AS EXECUTE read_events('{before}');
        SELECT (SELECT count(*) FROM (SELECT * FROM got
                                      UNION ALL SELECT * FROM got_again) r
                 WHERE event_id IS NOT NULL AND age IS NOT NULL),
               (SELECT seq_scan FROM pg_stat_xact_user_tables
                 WHERE relname = 'event') - (SELECT seq_scan FROM scans);
        ROLLBACK;
        """)
    events, scans = map(int, out.split("|"))
    assert events >= 6, out
    assert scans == 0, f"{scans} sequential scans of event in two reads"


def test_the_frames_of_messages_scan_no_table_whole():
    """The frames of the messages a read names (push_message_frames) are
    found by primary key, whatever the size of the message table: joined
    to the unnest of the ids, which the planner takes for 100 rows, a
    table of a few thousand messages (a new service, the bench's) was
    read whole at every call, by a hash join over a sequential scan."""
    a, b = new_user(), new_user()
    make_friends(a, b)
    ids = [send(a, b, f"frame me {i}")["message_id"] for i in range(3)]
    out = psql(DB, f"""
        BEGIN;
        SET LOCAL plan_cache_mode = force_generic_plan;
        PREPARE frames(uuid[], text[]) AS
            SELECT * FROM push_message_frames($1, $2);
        CREATE TEMP TABLE scans AS
            SELECT seq_scan FROM pg_stat_xact_user_tables
             WHERE relname = 'message';
        CREATE TEMP TABLE got AS
            EXECUTE frames('{{{",".join(ids)}}}', '{{c0,c1,c2}}');
        SELECT (SELECT count(*) FROM got
                 WHERE frame::json->>'cursor' =
                       'c' || array_position('{{{",".join(ids)}}}'::uuid[],
                                             message_id) - 1),
               (SELECT seq_scan FROM pg_stat_xact_user_tables
                 WHERE relname = 'message') - (SELECT seq_scan FROM scans);
        ROLLBACK;
        """)
    frames, scans = map(int, out.split("|"))
    assert frames == 3, f"{frames} of 3 frames carry their own cursor: {out}"
    assert scans == 0, f"{scans} sequential scans of message for 3 frames"


def test_the_frames_of_group_events_scan_no_table_whole():
    """As push_message_frames, push_group_frames finds the events a read
    names by primary key, whatever the size of the event table."""
    a, b = new_user(), new_user()
    group = new_group(a, b)
    for i in range(3):
        gsend(a, group, f"frame me {i}")
    gid = group["group_id"]
    out = psql(DB, f"""
        BEGIN;
        SET LOCAL plan_cache_mode = force_generic_plan;
        PREPARE frames(bigint[], text[]) AS
            SELECT * FROM push_group_frames($1, $2);
        CREATE TEMP TABLE asked AS
            SELECT array_agg(event_id ORDER BY event_id) AS ids,
                   array_agg('c' || event_id ORDER BY event_id) AS cursors
              FROM event WHERE group_id = '{gid}';
        CREATE TEMP TABLE scans AS
            SELECT seq_scan FROM pg_stat_xact_user_tables
             WHERE relname = 'event';
        SELECT ids, cursors FROM asked \\gset
        CREATE TEMP TABLE got AS EXECUTE frames(:'ids', :'cursors');
        SELECT (SELECT count(*) FROM got WHERE account_id IS NULL),
               (SELECT count(*) FROM got
                 WHERE frame::json->>'cursor' = 'c' || event_id),
               (SELECT count(*) FROM got
                 WHERE frame::json->>'cursor' <> 'c' || event_id),
               (SELECT cardinality(ids) FROM asked),
               (SELECT seq_scan FROM pg_stat_xact_user_tables
                 WHERE relname = 'event') - (SELECT seq_scan FROM scans);
        ROLLBACK;
        """)
    rows, right, wrong, events, scans = map(int, out.split("|"))
    assert events >= 4 and rows == events, out     # one row an event
    assert right >= 3 and wrong == 0, out          # each its own cursor
    assert scans == 0, f"{scans} sequential scans of event for {events} frames"
