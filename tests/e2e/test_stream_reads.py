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

from chat_api import make_friends, new_user, psql, send

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
