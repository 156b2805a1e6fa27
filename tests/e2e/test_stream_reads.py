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

import socket
import subprocess
import time

import psycopg2
import pytest

from chat_api import (env, gsend, jit_loaded, make_friends, migrate,
                      new_group, new_user, psql, send, socket_dir)

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


def test_frames_carry_the_cursor_of_their_event():
    """push_message_frames and push_group_frames give each frame the
    cursor asked with its message or event (ids and cursors go in the
    same order)."""
    a, b = new_user(), new_user()
    group = new_group(a, b)             # friends first
    ids = "{" + ",".join(send(a, b, f"frame me {i}")["message_id"]
                         for i in range(3)) + "}"
    for i in range(3):
        gsend(a, group, f"frame me {i}")
    out = psql(DB, f"""
        SELECT count(*) FILTER (WHERE frame::json->>'cursor' =
                   'c' || array_position('{ids}'::uuid[], message_id) - 1),
               count(*)
          FROM push_message_frames('{ids}', '{{c0,c1,c2}}');
        SELECT count(*) FILTER (WHERE f.frame::json->>'cursor' =
                                      'c' || f.event_id),
               count(*) FILTER (WHERE f.frame::json->>'cursor' <>
                                      'c' || f.event_id)
          FROM (SELECT array_agg(event_id) AS ids,
                       array_agg('c' || event_id) AS cursors
                  FROM event WHERE group_id = '{group["group_id"]}') a,
               push_group_frames(a.ids, a.cursors) f;
        """)
    (right, frames), (group_right, group_wrong) = (
        map(int, line.split("|")) for line in out.split())
    assert (right, frames) == (3, 3), out
    assert group_right >= 3 and group_wrong == 0, out


def test_frames_are_found_by_key_once_the_tables_grew(databases):
    """A daemon plans its statements once, at their first use, and keeps
    the plans (generic, main.c): on a new service, on empty tables, where
    a sequential scan is the cheapest plan, and it would go on reading the
    whole table at every call as the table grew. The frames' and marks'
    look-ups must go through the primary key whatever the statistics say.
    In a database of its own: analyzed and planned empty, run with 4,000
    rows. (No temporary table on the way: the first one of a session
    creates its schema, which discards every cached plan.)"""
    db = databases()
    migrate(db)
    out = psql(db, """
        BEGIN;
        SET LOCAL plan_cache_mode = force_generic_plan;
        INSERT INTO account (username, email, password_hash)
        VALUES ('frames_a', 'a@frames.test', '-'),
               ('frames_b', 'b@frames.test', '-');
        ANALYZE message;
        ANALYZE event;
        PREPARE messages(uuid[], text[]) AS
            SELECT * FROM push_message_frames($1, $2);
        PREPARE events(bigint[], text[]) AS
            SELECT * FROM push_group_frames($1, $2);
        PREPARE marks(uuid[]) AS SELECT push_mark_delivered($1);
        EXECUTE messages('{}', '{}');
        EXECUTE events('{}', '{}');
        EXECUTE marks('{}');
        INSERT INTO message (sender_id, receiver_id, content)
        SELECT a.account_id, b.account_id, 'message ' || n
          FROM account a, account b, generate_series(1, 4000) n
         WHERE a.username = 'frames_a' AND b.username = 'frames_b';
        INSERT INTO event (kind, actor_id, target_id)
        SELECT 'account_enabled', gen_random_uuid(), gen_random_uuid()
          FROM generate_series(1, 4000);
        SELECT (SELECT array_agg(message_id) FROM (SELECT message_id
                  FROM message LIMIT 3) m) AS message_ids,
               (SELECT array_agg(event_id) FROM (SELECT event_id
                  FROM event LIMIT 3) e) AS event_ids \\gset
        SELECT (SELECT sum(seq_scan) FROM pg_stat_xact_user_tables
                 WHERE relname IN ('message', 'event')) AS scans \\gset
        EXECUTE messages(:'message_ids', '{c0,c1,c2}') \\g /dev/null
        \\set messages :ROW_COUNT
        EXECUTE events(:'event_ids', '{c0,c1,c2}') \\g /dev/null
        \\set events :ROW_COUNT
        EXECUTE marks(:'message_ids') \\gset
        SELECT :messages, :events,
               cardinality(:'push_mark_delivered'::uuid[]),
               sum(seq_scan) - :scans
          FROM pg_stat_xact_user_tables
         WHERE relname IN ('message', 'event');
        ROLLBACK;
        """)
    messages, events, marked, scans = map(int, out.split("|"))
    assert (messages, events, marked) == (3, 3, 3), out
    assert scans == 0, f"{scans} sequential scans of message and event"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_daemon_compiles_no_plan(databases, tmp_path):
    """A daemon's generic plan of its read is estimated to cost more as
    the event table grows, past jit_above_cost at some 100,000 events;
    compiling each read then took 20 ms of a read of 0.5 (main.c). Here a
    database of its own compiles every plan (jit_above_cost = 0), as a
    client's connection shows; a push daemon started on it must make its
    reads and never load the compiler."""
    db = databases()
    migrate(db)
    psql(db, f"ALTER DATABASE {db} SET jit = on;"
             f"ALTER DATABASE {db} SET jit_above_cost = 0")
    client = psycopg2.connect(host=socket_dir(), dbname=db, user="chat_app")
    with client, client.cursor() as cur:
        cur.execute("SELECT count(*), pg_backend_pid() FROM event")
        client_pid = cur.fetchone()[1]
        assert jit_loaded(client_pid), "the database compiles no plan"
    conf = tmp_path / "chat.conf"
    conf.write_text(
        "[database]\n"
        f"conninfo = host={socket_dir()} dbname={db} user=chat_app\n"
        "[auth]\n"
        f"jwt_secret_file = {env('CHAT_JWT_SECRET_FILE')}\n"
        "[metrics]\n"
        "push_port_offset = 0\n"
        "[push]\n"
        "node_id = no-jit\n"
        "listen_address = 127.0.0.1\n"
        f"listen_port = {free_port()}\n")
    log = open(tmp_path / "stderr", "w+")
    daemon = subprocess.Popen(
        [env("CHAT_PUSH_BIN"), "-c", str(conf)], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert daemon.poll() is None, "chat-push exited"
            rows = [line.split("|") for line in psql(db, f"""
                SELECT pid, query LIKE '%push_stream_read%'
                  FROM pg_stat_activity
                 WHERE datname = '{db}' AND pid <> {client_pid}
                   AND usename = 'chat_app'
                   AND backend_type = 'client backend'""").split()]
            backends = [int(pid) for pid, _ in rows]
            if len(backends) == 3 and ["t"] == [r for _, r in rows if r == "t"]:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        psql(db, "SELECT pg_notify('chat_events', '')")    # one more read
        time.sleep(0.5)
        compiled = [pid for pid in backends if jit_loaded(pid)]
        assert compiled == [], f"backends {compiled} of chat-push compile plans"
    finally:
        client.close()
        daemon.terminate()
        daemon.wait(timeout=20)
        log.seek(0)
        output = log.read()
        log.close()
    assert "error" not in output, output
