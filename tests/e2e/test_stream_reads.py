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
