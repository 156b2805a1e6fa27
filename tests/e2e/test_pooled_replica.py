"""chat-fcgi through PgBouncer in transaction mode, history and search from
a streaming replica (docs/DEPLOY.md, "PgBouncer and a read replica").

./stack test runs the apache round with `./stack up --pgbouncer --replica`
and gives these tests CHAT_PGBOUNCER_DB (PgBouncer's console),
CHAT_REPLICA_DB and CHAT_REPLICA_PGDATA; in the other rounds, which connect
straight to PostgreSQL, conftest.py deselects them (marker pooled_replica).
"""

import contextlib
import os
import re
import subprocess
import time

import psycopg2
import pytest
import requests

from chat_api import (TIMEOUT, api, base_url, body, env, gsend, group_history,
                      group_path, history, jit_loaded, make_friends,
                      new_friends, new_group, new_user, psql, search_messages,
                      send, send_message, socket_dir)

pytestmark = pytest.mark.pooled_replica

LIMITS_ERROR = "pooled connections lack the session settings of chat.conf"


# ------------------------------------------------------------------ helpers

def connect(conninfo_env, owner=False):
    """An autocommit connection to the conninfo of environment variable
    conninfo_env; as the cluster's owner (and PgBouncer's administrator)
    when owner."""
    conninfo = env(conninfo_env)
    if owner:
        conninfo = re.sub(r"user=\S+", "user=" + env("CHAT_RUN_AS"),
                          conninfo)
    conn = psycopg2.connect(conninfo)
    conn.autocommit = True
    return conn


def console(sql, admin=False):
    """sql on PgBouncer's console: the rows, as dicts. The console speaks
    the simple query protocol only, hence no parameters."""
    conn = connect("CHAT_PGBOUNCER_DB", owner=admin)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            if cur.description is None:
                return []
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        conn.close()


def chat_stats():
    """SHOW STATS of database chat: the statements and transactions it has
    run for its clients since it started."""
    rows = [r for r in console("SHOW STATS") if r["database"] == "chat"]
    assert len(rows) == 1, rows
    return rows[0]


def replica_db(superuser=False):
    """A connection to the replica; as the cluster's owner when superuser
    (pg_wal_replay_pause needs one)."""
    return connect("CHAT_REPLICA_DB", owner=superuser)


def replica_ctl(*args):
    """pg_ctl on the replica, as the cluster's owner; fails the test
    unless it succeeds."""
    command = ["runuser", "-u", env("CHAT_RUN_AS"), "--", env("CHAT_PGCTL"),
               "-D", env("CHAT_REPLICA_PGDATA"), *args]
    done = subprocess.run(command, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, (command, done.stdout, done.stderr)


def reads():
    """chat_fcgi_replica_reads_total by its label served."""
    r = requests.get(base_url() + "/metrics", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    found = dict(re.findall(
        r'^chat_fcgi_replica_reads_total\{served="([a-z_]+)"\} (\d+)$',
        r.text, re.M))
    return {k: int(v) for k, v in found.items()}


def polls():
    """chat_fcgi_replica_polls_total: looks at the replica's replay."""
    r = requests.get(base_url() + "/metrics", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    m = re.search(r"^chat_fcgi_replica_polls_total (\d+)$", r.text, re.M)
    assert m, "no chat_fcgi_replica_polls_total in the metrics"
    return int(m.group(1))


def limits_errors():
    r = requests.get(base_url() + "/metrics", timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    m = re.search(r'^chat_fcgi_database_errors_total\{kind="limits"\} (\d+)$',
                  r.text, re.M)
    assert m, "no database error kind limits in the metrics"
    return int(m.group(1))


def moved(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def fcgi_log():
    return os.path.join(env("CHAT_STACK_DIR"), "log", "chat-fcgi.log")


def log_size():
    return os.path.getsize(fcgi_log())


def log_since(offset):
    with open(fcgi_log(), errors="replace") as f:
        f.seek(offset)
        return f.read()


def reconnect_pooled():
    """PgBouncer reads its configuration again and drops every client and
    server connection of database chat: chat-fcgi connects again at its
    next request, and the pooler opens new server connections."""
    console("RELOAD", admin=True)
    console("KILL chat", admin=True)
    console("RESUME chat", admin=True)
    for _ in range(8):
        assert body(api("GET", "/health"), 200)["status"] == "ok"


def conversation():
    """Two friends who have exchanged a message, and a group of three."""
    a, b = new_friends()
    send(a, b, "first")
    c = new_user()
    make_friends(a, c)
    group = new_group(a, b, c, befriend=False)
    gsend(a, group, "first in the group")
    return a, b, group


# --------------------------------------------------------------- the pooler

def test_chat_fcgi_runs_its_statements_through_pgbouncer_in_transaction_mode():
    pools = [p for p in console("SHOW POOLS") if p["database"] == "chat"]
    assert [p["pool_mode"] for p in pools] == ["transaction"], pools
    before = chat_stats()
    a, b = new_friends()
    for i in range(20):
        send(a, b, f"through the pooler {i}")
    after = chat_stats()
    # Each send is at least one transaction of a client of the pooler.
    assert after["total_xact_count"] - before["total_xact_count"] >= 20, \
        (before, after)
    assert after["total_query_count"] - before["total_query_count"] >= 20


def test_rate_limits_hold_through_the_pooler():
    """The server connections have chat.conf's limits from connect_query:
    past the burst, sends get 429 as on a connection of chat-fcgi's own."""
    a, b = new_friends()
    codes = []
    for i in range(400):
        codes.append(send_message(a.access, b.account_id, f"m{i}").status_code)
        if codes[-1] == 429:
            break
    assert set(codes) <= {201, 429}, codes
    assert codes[-1] == 429, f"{len(codes)} sends in a row, none refused"


@pytest.mark.disruptive
def test_a_pooler_without_connect_query_is_named_in_the_log():
    """A pooler whose server connections lack the rate limits (no
    connect_query) is logged, and counted, at chat-fcgi's next connection;
    with connect_query back, no longer."""
    ini = os.path.join(env("CHAT_STACK_DIR"), "pgbouncer", "pgbouncer.ini")
    with open(ini) as f:
        kept = f.read()
    without, n = re.subn(r" connect_query='[^']*'", "", kept)
    assert n == 1, kept

    stat = os.stat(ini)
    offset, errors = log_size(), limits_errors()
    try:
        with open(ini, "w") as f:
            f.write(without)
        reconnect_pooled()
        assert LIMITS_ERROR in log_since(offset)
        assert limits_errors() > errors
    finally:
        with open(ini, "w") as f:
            f.write(kept)
        os.chown(ini, stat.st_uid, stat.st_gid)
        reconnect_pooled()
    offset, errors = log_size(), limits_errors()
    reconnect_pooled()
    assert LIMITS_ERROR not in log_since(offset)
    assert limits_errors() == errors


def test_chat_fcgi_compiles_no_plan():
    """chat-fcgi's statements are look-ups, but the estimate of a generic
    plan over a range (a history page) grows with the tables, past
    jit_above_cost on a busy service, and compiling a plan costs some 20 ms
    (sql/functions/limits.sql, session_configure). Here the database
    compiles every plan that reads a table (jit_above_cost = 1: above the
    session's first statement, a function call costed 0.26), as a client's
    connections to the primary and the replica show; the server
    connections the pooler opens (its connect_query) and chat-fcgi's
    connections to the replica then serve sends, history, search and
    /sync without loading the compiler."""
    a, b, group = conversation()
    gid = group["group_id"]
    started = psql("chat", "ALTER DATABASE chat SET jit = on;"
                           "ALTER DATABASE chat SET jit_above_cost = 1;"
                           "SELECT now()").strip()
    primary = lambda: psycopg2.connect(host=socket_dir(), dbname="chat",
                                       user="chat_app")
    replica = lambda: replica_db(superuser=True)

    probes = set()

    def compiles(connect):
        """Whether a new connection's read of a table loads the compiler,
        once the settings have reached its server."""
        deadline = time.monotonic() + 10
        while True:
            with contextlib.closing(connect()) as conn, conn.cursor() as cur:
                cur.execute("SELECT current_setting('jit_above_cost'),"
                            "       pg_backend_pid(), count(*) FROM event")
                cost, pid, _ = cur.fetchone()
                probes.add(pid)
                if cost == "1" or time.monotonic() > deadline:
                    return jit_loaded(pid)
            time.sleep(0.1)

    def drop_replica_sessions():
        with contextlib.closing(replica()) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid)"
                        "  FROM pg_stat_activity"
                        " WHERE usename = 'chat_app'"
                        "   AND backend_type = 'client backend'")

    def new_backends(connect):
        """chat_app's backends begun since the settings changed."""
        with contextlib.closing(connect()) as conn, conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity"
                        " WHERE usename = 'chat_app'"
                        "   AND backend_type = 'client backend'"
                        "   AND backend_start > %s"
                        "   AND pid <> pg_backend_pid()", (started,))
            return [row[0] for row in cur.fetchall()]

    try:
        assert compiles(primary) and compiles(replica), \
            "the database compiles no plan"
        reconnect_pooled()
        drop_replica_sessions()
        before = reads()
        for i in range(5):
            send(a, b, f"compiled {i}")
            assert history(a.access, b.account_id).status_code == 200
            assert search_messages(a.access, b.account_id,
                                   keyword="compiled").status_code == 200
            assert group_history(b.access, gid).status_code == 200
            assert api("GET", "/sync", token=a.access,
                       params={"since": "1.1.0"}).status_code in (200, 410)
        assert moved(before, reads())["replica"] >= 1
        served = {k: [pid for pid in new_backends(connect)
                      if pid not in probes]
                  for k, connect in (("primary", primary),
                                     ("replica", replica))}
        assert served["primary"] and served["replica"], served
        loaded = {k: [pid for pid in pids if jit_loaded(pid)]
                  for k, pids in served.items()}
        assert loaded == {"primary": [], "replica": []}, \
            f"chat-fcgi's backends compile plans: {loaded}"
    finally:
        psql("chat", "ALTER DATABASE chat RESET jit;"
                     "ALTER DATABASE chat RESET jit_above_cost")
        reconnect_pooled()
        drop_replica_sessions()


# -------------------------------------------------------------- the replica

def test_history_and_search_are_read_from_the_replica():
    a, b, group = conversation()
    gid = group["group_id"]
    before = reads()
    calls = [
        lambda: history(a.access, b.account_id),
        lambda: search_messages(a.access, b.account_id, keyword="first"),
        lambda: group_history(b.access, gid),
        lambda: api("GET", group_path(gid, "/messages/search"),
                    token=b.access, params={"keyword": "first"}),
    ]
    for call in calls * 5:
        assert call().status_code == 200
    delta = moved(before, reads())
    # Each read counted once, where it was served; a replica that does not
    # catch up in time leaves a read to the primary, never to an error.
    assert sum(delta.values()) == len(calls) * 5, delta
    assert delta["replica"] >= len(calls), delta


def test_a_client_reads_its_own_writes_at_once():
    """Send, then history at once, again and again: each page holds the
    message just acknowledged, whoever serves it; direct and in a group."""
    a, b = new_friends()
    group = new_group(a, new_user())
    before = reads()
    for i in range(25):
        sent = send(a, b, f"own write {i}")
        page = body(history(a.access, b.account_id, limit=1), 200)
        assert [m["message_id"] for m in page["messages"]] == \
            [sent["message_id"]], i
        gsent = gsend(a, group, f"own group write {i}")
        gpage = body(group_history(a.access, group["group_id"], limit=1), 200)
        assert [m["message_id"] for m in gpage["messages"]] == \
            [gsent["message_id"]], i
    assert moved(before, reads())["replica"] >= 1


def test_reads_wait_for_a_replica_that_applies_late():
    """The replica applies each commit 50 ms late (recovery_min_apply_delay):
    a read right after a send finds the send anyway, served by the replica
    once it has caught up (it waits up to replica_wait_ms, 200 ms), never
    a page without it."""
    conf = os.path.join(env("CHAT_REPLICA_PGDATA"), "stack.conf")
    with open(conf) as f:
        kept = f.read()
    stat = os.stat(conf)
    a, b = new_friends()
    try:
        with open(conf, "a") as f:
            f.write("recovery_min_apply_delay = 50\n")
        replica_ctl("reload")
        with replica_db() as conn, conn.cursor() as cur:
            deadline = time.monotonic() + 10
            while True:
                cur.execute("SHOW recovery_min_apply_delay")
                if cur.fetchone()[0] == "50ms":
                    break
                assert time.monotonic() < deadline, "the delay never applied"
                time.sleep(0.05)
        before = reads()
        for i in range(10):
            sent = send(a, b, f"late {i}")
            page = body(history(a.access, b.account_id, limit=1), 200)
            assert [m["message_id"] for m in page["messages"]] == \
                [sent["message_id"]], i
        delta = moved(before, reads())
        assert sum(delta.values()) == 10, delta
        assert delta["replica"] >= 1, delta
    finally:
        with open(conf, "w") as f:
            f.write(kept)
        os.chown(conf, stat.st_uid, stat.st_gid)
        replica_ctl("reload")


def test_a_paused_replica_leaves_the_reads_to_the_primary():
    """Each read waits for the replica up to replica_wait_ms (200 ms),
    looking at its replay 1, 2, 4 ... up to 32 ms apart: about a dozen
    round trips, not one a millisecond; then the primary serves it."""
    a, b = new_friends()
    conn = replica_db(superuser=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_pause()")
        before, looks = reads(), polls()
        for i in range(3):
            sent = send(a, b, f"while paused {i}")
            page = body(history(a.access, b.account_id), 200)
            assert page["messages"][0]["message_id"] == sent["message_id"]
            assert page["total"] == i + 1
        delta = moved(before, reads())
        assert delta["primary_replica_behind"] == 3, delta
        assert delta["replica"] == 0, delta
        assert 3 * 4 <= polls() - looks <= 3 * 16, polls() - looks
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
        conn.close()


@pytest.mark.disruptive
def test_a_stopped_replica_leaves_the_reads_to_the_primary():
    """With the replica down, history and search answer from the primary;
    once it is back, it serves again."""
    a, b = new_friends()
    replica_ctl("stop", "-m", "fast", "-w")
    try:
        before = reads()
        for i in range(3):
            sent = send(a, b, f"replica down {i}")
            page = body(history(a.access, b.account_id), 200)
            assert page["messages"][0]["message_id"] == sent["message_id"]
            body(search_messages(a.access, b.account_id, keyword="down"),
                 200)
        delta = moved(before, reads())
        assert delta["primary_replica_unreachable"] == 6, delta
        assert delta["replica"] == 0, delta
        # Checkpoints while it is away: the WAL it has not received stays
        # (its replication slot), or it could never catch up again.
        for _ in range(3):
            psql("chat", "SELECT pg_switch_wal(); CHECKPOINT;")
    finally:
        log = os.path.join(env("CHAT_STACK_DIR"), "log",
                           "postgresql-replica.log")
        replica_ctl("start", "-w", "-t", "60", "-l", log)
    # A failed connection is tried again after two seconds.
    deadline = time.monotonic() + 15
    while True:
        before = reads()
        assert history(a.access, b.account_id).status_code == 200
        if moved(before, reads())["replica"] == 1:
            break
        assert time.monotonic() < deadline, "the replica never served again"
        time.sleep(0.3)
