"""The delivery guarantee (CONTRACT §7) under faults, counted message by
message: kill -9 of a push daemon during a stream of sends, an immediate
restart of PostgreSQL during a stream of WebSocket sends, and a
registration of new connections that fails with an SQL error; and a
daemon's copy of the groups that fails to load. Every
acknowledged message (201, or message_sent) reaches the receiver, live or
at their next connection, is in history, and arrives in created_at order.

It kills daemons, stops the database and replaces an SQL function, and
restores each in finally blocks: marked disruptive, it runs after the
other tests (conftest.py)."""

import asyncio
import os
import signal
import threading
import time

import pytest
import requests

from chat_api import (Database, api, body, connect_db, history,
                      new_friends, new_group, new_user, paced, presence_rows,
                      send_message, wait_for_health)
from ws_client import (RECOVERY_SECONDS, WAIT, assert_in_order, blocking,
                       close_all, connect_when_ready, daemon_pid,
                       daemon_restart, daemon_running, group_url,
                       new_messages_from, of_type, open_ws, session,
                       wait_status, ws_test)

DELIVERY_SECONDS = 15      # every acknowledged message must arrive within

pytestmark = pytest.mark.disruptive


# ------------------------------------------------------------------ helpers

def received_ids(conns, sender):
    return {m["message_id"] for conn in conns
            for m in new_messages_from(conn, sender)}


async def wait_received(conns, sender, wanted, seconds=DELIVERY_SECONDS):
    """Waits until conns hold every id of wanted; returns what is missing."""
    deadline = time.monotonic() + seconds
    while True:
        missing = set(wanted) - received_ids(conns, sender)
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.1)


def history_ids(user, friend):
    """Every message id of the conversation, through history pages."""
    found, skip = set(), 0
    while True:
        answer = body(history(user.access, friend.account_id, skip=skip,
                              limit=100), 200)
        found |= {m["message_id"] for m in answer["messages"]}
        skip += 100
        if skip >= answer["total"]:
            return found


def kill_9(k):
    os.kill(daemon_pid(k), signal.SIGKILL)


def ensure_daemon(k):
    """Daemon k runs and accepts connections again."""
    if not daemon_running(k):
        daemon_restart(k)


# ----------------------------------------------------- kill -9 of a daemon

@ws_test(timeout=150)
async def test_kill_9_of_the_receivers_daemon_loses_nothing():
    """a (daemon 1) sends N messages by REST while the daemon holding b
    (daemon 2) is killed with SIGKILL and started again; b reconnects."""
    a, b = new_friends()
    n, killed = 200, 2
    watcher = await session(a, daemon=1)
    first = await session(b, daemon=killed)
    acked, refused = [], []
    lock = threading.Lock()

    def stream():
        for i in paced(n):
            try:
                r = send_message(a.access, b.account_id, f"kill {i}")
            except requests.RequestException as e:
                refused.append(repr(e))
                continue
            with lock:
                (acked if r.status_code == 201 else refused).append(
                    r.json() if r.status_code == 201 else r.status_code)

    conns = [first]
    try:
        sender = asyncio.get_running_loop().run_in_executor(None, stream)
        deadline = time.monotonic() + 30
        while len(acked) < n // 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        kill_9(killed)
        code, _ = await first.wait_closed(WAIT)
        assert code != 1000, "a killed daemon cannot close cleanly"
        await blocking(daemon_restart, killed)
        again = await connect_when_ready(b, killed)
        conns.append(again)
        await asyncio.wait_for(sender, 60)
        assert refused == [], refused       # REST never needed the daemon
        assert len(acked) == n
        ids = [m["message_id"] for m in acked]
        missing = await wait_received(conns, a, ids)
        assert not missing, (
            f"{len(missing)} of {n} acknowledged messages never reached b "
            f"(neither live on daemon {killed} nor at reconnection): "
            f"{sorted(missing)}")
        assert set(ids) <= history_ids(b, a)
        for conn in conns:
            assert_in_order(conn, a)
        # The restarted daemon serves everything else too.
        await again.send({"type": "send_message",
                          "receiver_id": a.account_id,
                          "content": "back", "temp_id": "back"})
        await again.expect("message_sent", temp_id="back")
    finally:
        await close_all(watcher, *conns)
        await blocking(ensure_daemon, killed)


@ws_test(timeout=150)
async def test_kill_9_of_the_senders_daemon_loses_nothing():
    """Same with the sender's daemon killed: REST sends do not need it, and
    b (on the other daemon) keeps getting everything live."""
    a, b = new_friends()
    n, killed = 100, 1
    watcher = await session(a, daemon=killed)
    receiver = await session(b, daemon=2)
    acked = []

    def stream():
        for i in paced(n):
            acked.append(body(send_message(a.access, b.account_id,
                                           f"kill sender {i}"), 201))

    try:
        sender = asyncio.get_running_loop().run_in_executor(None, stream)
        while len(acked) < n // 4 and not sender.done():
            await asyncio.sleep(0.01)
        kill_9(killed)
        await watcher.wait_closed(WAIT)
        await asyncio.wait_for(sender, 60)
        ids = [m["message_id"] for m in acked]
        missing = await wait_received([receiver], a, ids)
        assert not missing, sorted(missing)
        assert_in_order(receiver, a)
        assert set(ids) <= history_ids(b, a)
        await blocking(daemon_restart, killed)
        again = await connect_when_ready(a, killed)
        await again.close()
    finally:
        await close_all(watcher, receiver)
        await blocking(ensure_daemon, killed)


# ------------------------------------------------- PostgreSQL restarting

async def health_comes_back():
    r = await blocking(wait_for_health)
    return r is not None and r.status_code == 200


@ws_test(timeout=180)
async def test_postgresql_restart_loses_no_acknowledged_message():
    a, b = new_friends()
    sender = await session(a, daemon=1)
    receiver = await session(b, daemon=2)
    database = Database()
    conns = [receiver]
    sent = []                       # temp_ids, in order
    stop = asyncio.Event()

    async def stream():
        i = 0
        while not stop.is_set():
            temp_id = f"pg-{i}"
            sent.append(temp_id)
            await sender.send({"type": "send_message",
                               "receiver_id": b.account_id,
                               "content": f"through the restart {i}",
                               "temp_id": temp_id})
            i += 1
            await asyncio.sleep(0.06)   # CONTRACT §12: 20 sends a second

    def replies():
        acks = {f["temp_id"]: f for f in sender.frames
                if f.get("type") == "message_sent"}
        errors = {f.get("temp_id"): f for f in sender.frames
                  if f.get("type") == "error"}
        return acks, errors

    try:
        task = asyncio.get_running_loop().create_task(stream())
        await asyncio.sleep(1.0)
        await blocking(database.stop, "immediate")
        await asyncio.sleep(2.0)
        await blocking(database.start)
        assert await health_comes_back(), "REST did not come back"
        # The daemon reconnects by itself: a send made now is answered.
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            acks, _ = replies()
            mark = len(sent)
            await asyncio.sleep(0.5)
            acks, _ = replies()
            if any(t in acks for t in sent[mark:]):
                break
            assert time.monotonic() < deadline, \
                "the daemon answers no send after the restart"
        await asyncio.sleep(1.0)
        stop.set()
        await task
        await asyncio.sleep(2.0)           # the last replies
        acks, errors = replies()
        for temp_id, error in errors.items():
            assert error == {"type": "error", "code": 503,
                             "detail": "Database unavailable",
                             "message": "Database unavailable",
                             "request_type": "send_message",
                             "temp_id": temp_id}, error
        assert acks, "no send was acknowledged"
        assert errors, "no send met the outage: the test proved nothing"
        assert len(set(acks) | set(errors)) <= len(sent)
        ids = [ack["message_id"] for ack in acks.values()]
        missing = await wait_received(conns, a, ids, seconds=5)
        if missing:
            # Not live: then at the next connection, as undelivered.
            again = await connect_when_ready(b, 2)
            conns.append(again)
            missing = await wait_received(conns, a, ids)
        assert not missing, (
            f"{len(missing)} of {len(ids)} acknowledged messages never "
            f"reached b: {sorted(missing)}")
        assert set(ids) <= history_ids(b, a)
        for conn in conns:
            assert_in_order(conn, a)
        # Presence came back too: b is online for a.
        deadline = time.monotonic() + RECOVERY_SECONDS
        while b.account_id not in body(api(
                "GET", "/chat/friends/online", token=a.access),
                200)["online_friends"]:
            assert time.monotonic() < deadline, "b not online after restart"
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await blocking(database.start)
        await blocking(wait_for_health)
        await close_all(sender, *conns)


@ws_test(timeout=120)
async def test_sends_while_postgresql_is_down_get_503():
    a, b = new_friends()
    conn = await session(a, daemon=2)
    database = Database()
    try:
        await blocking(database.stop)
        await asyncio.sleep(0.5)
        for i in range(3):
            await conn.send({"type": "send_message",
                             "receiver_id": b.account_id,
                             "content": "nobody listens", "temp_id": f"d{i}"})
            error = await conn.expect_error()
            assert error == {"type": "error", "code": 503,
                             "detail": "Database unavailable",
                             "message": "Database unavailable",
                             "request_type": "send_message",
                             "temp_id": f"d{i}"}, error
        await conn.send({"type": "mark_read", "message_id": a.account_id,
                         "temp_id": "r"})
        assert (await conn.expect_error())["code"] == 503
        await conn.send({"type": "typing", "receiver_id": b.account_id,
                         "temp_id": "t"})
        assert (await conn.expect_error())["code"] == 503
        assert conn.is_open
        await blocking(database.start)
        assert await health_comes_back()
        deadline = time.monotonic() + RECOVERY_SECONDS
        while True:
            await conn.send({"type": "send_message",
                             "receiver_id": b.account_id,
                             "content": "back again", "temp_id": "again"})
            reply = await conn.take(lambda f: f.get("temp_id") == "again")
            if reply["type"] == "message_sent":
                break
            assert time.monotonic() < deadline, reply
            await asyncio.sleep(0.5)
    finally:
        await blocking(database.start)
        await blocking(wait_for_health)
        await conn.close()


# ------------------------------------------- a function failing in SQL

class FailingFunction:
    """The SQL function name (params: its (name, type) pairs; returns:
    its RETURNS clause, a table) raises for its next `failures` calls,
    then works again: an SQL error, the connection to the database stays
    up. The function is wrapped around a copy of itself and restored on
    exit."""

    def __init__(self, name, params, returns, failures):
        self.name, self.returns, self.failures = name, returns, failures
        self.procedure = f"{name}({','.join(t for _, t in params)})"
        self.declared = ", ".join(f"{n} {t}" for n, t in params)
        self.args = ", ".join(n for n, _ in params)
        self.db = connect_db()

    def sql(self, query, *args):
        with self.db.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchone() if cur.description else None

    def calls(self):
        return self.sql(f"SELECT last_value FROM {self.name}_fault")[0]

    def __enter__(self):
        self.original = self.sql("SELECT pg_get_functiondef(%s::regprocedure)",
                                 self.procedure)[0]
        self.sql(self.original.replace(f"{self.name}(",
                                       f"{self.name}_saved(", 1))
        self.sql(f"CREATE SEQUENCE {self.name}_fault")
        self.sql(f"""
            CREATE OR REPLACE FUNCTION {self.name}({self.declared})
            RETURNS {self.returns}
            LANGUAGE plpgsql AS $$
            BEGIN
                IF nextval('{self.name}_fault') <= {int(self.failures)} THEN
                    RAISE EXCEPTION 'injected fault';
                END IF;
                RETURN QUERY SELECT * FROM {self.name}_saved({self.args});
            END
            $$""")
        return self

    def __exit__(self, *exc):
        self.sql(self.original)
        self.sql(f"DROP FUNCTION {self.procedure.replace('(', '_saved(', 1)}")
        self.sql(f"DROP SEQUENCE {self.name}_fault")
        self.db.close()


def failing_registration(failures):
    """The registration of new connections (push_connect_many) fails."""
    return FailingFunction(
        "push_connect_many",
        [("node", "text"), ("batch", "json"), ("timeout_seconds", "int")],
        "TABLE (conn bigint, frame text, events int)", failures)


@ws_test(timeout=60)
async def test_a_registration_failing_twice_is_tried_again():
    """Two SQL errors, then the registration works: the connection gets
    online_friends, its presence row and its undelivered message."""
    a, b = new_friends()
    sent = body(send_message(a.access, b.account_id, "while away"), 201)
    conn = None
    with failing_registration(2) as fault:
        try:
            conn = await session(b, daemon=1)
            assert fault.calls() >= 3, "the fault never struck"
            frame = await conn.expect("new_message")
            assert frame["message"]["message_id"] == sent["message_id"]
            assert presence_rows(fault.db, b.account_id) == 1
        finally:
            await close_all(conn)


@ws_test(timeout=60)
async def test_a_registration_that_keeps_failing_closes_with_1011():
    """The registration fails every time: after a few tries the
    connection closes with 1011 (the client reconnects), and once the
    database answers again a new connection is served."""
    a, b = new_friends()
    conn = None
    with failing_registration(10 ** 9) as fault:
        try:
            conn = await open_ws(b.access, daemon=2)
            assert (await conn.next())["type"] == "connection_established"
            code, _ = await conn.wait_closed(3 * WAIT)
            assert code == 1011, code
            assert conn.count(of_type("online_friends")) == 0
            assert fault.calls() >= 2
        finally:
            await close_all(conn)
    again = await session(b, daemon=2)
    await again.close()


# -------------------------------------- the groups failing to load in SQL

@ws_test(timeout=60)
async def test_a_daemon_loads_the_groups_again_after_an_sql_error():
    """A daemon's copy of the groups (push_groups) fails to load twice as
    the daemon starts: it is tried again, and a per-group connection is
    let in once it loaded. (Without the retry the daemon refused every
    per-group handshake until its events connection was lost and back.)"""
    leader, member = new_user(), new_user()
    group = new_group(leader, member)
    url = group_url(group["group_id"], daemon=1)
    with FailingFunction("push_groups", [],
                         "TABLE (group_id uuid, name text, members text)",
                         2) as fault:
        await blocking(daemon_restart, 1)
        conn = await connect_when_ready(member, 1)
        try:
            assert await wait_status(member.access, 101, url=url,
                                     seconds=RECOVERY_SECONDS) == 101
            assert fault.calls() >= 3, fault.calls()
        finally:
            await close_all(conn)
