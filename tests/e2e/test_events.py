"""The event stream (docs/events.md): what each endpoint records in the
`event` table, the NOTIFY on chat_events after the commit, and
push_stream_events() reading without gaps when transactions commit out of order.

Each test listens on chat_events with its own psycopg2 connection, takes
the horizon before calling an endpoint, waits for the notification, then
reads push_stream_events(horizon) as the push daemon does (push-daemon/events.c),
keeping only the rows of its fresh users."""

import json
import select
import time

import pytest

from chat_api import (assert_error, assert_422, bad_uuid, body, connect_db,
                      delete_message, friend_accept, friend_reject,
                      friend_remove, friend_request, make_friends, mark_read,
                      new_friends, new_user, send, send_message, api,
                      wait_for_earlier_transactions)
from ws_client import (close_all, new_message_of, open_ws, session,
                       ws_test)

WAIT = 5.0          # seconds to wait for a notification that must come
QUIET = 0.5         # seconds of silence that show none was sent


class Listener:
    """A connection that LISTENs on chat_events and reads push_stream_events()."""

    def __init__(self):
        self.conn = connect_db()
        self.backlog = []       # payloads read, not yet looked at
        with self.conn.cursor() as cur:
            cur.execute("LISTEN chat_events")

    def close(self):
        self.conn.close()

    def query(self, sql, params=()):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def horizon(self):
        """The reader's starting point: stream_horizon() once every
        transaction that began before this call has ended. A transaction
        of someone else's still running (a daemon's read, say) would
        otherwise hold the horizon below the test's own set-up, whose
        events (the friendship of the `friends` fixture) would then count
        as the test's.

        Notifications of earlier calls are dropped after the query: the
        server sends those it has been signalled before ReadyForQuery,
        and every earlier call signalled before it answered."""
        self.wait_past_fence()
        h = int(self.query("SELECT stream_horizon()::text")[0][0])
        self.drain()
        return h

    def drain(self):
        self.conn.poll()
        del self.conn.notifies[:]
        del self.backlog[:]

    def payloads(self, timeout, stop=lambda payload: True):
        """The payloads of the notifications on chat_events that arrive
        within timeout, up to the first for which stop(payload) holds;
        those after it are kept for the next call."""
        deadline = time.monotonic() + timeout
        found = []
        while True:
            self.conn.poll()
            self.backlog += [n.payload for n in self.conn.notifies
                             if n.channel == "chat_events"]
            del self.conn.notifies[:]
            while self.backlog:
                found.append(self.backlog.pop(0))
                if stop(found[-1]):
                    return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return found
            select.select([self.conn], [], [], remaining)

    def notified(self, timeout):
        """Whether a notification on chat_events arrives within timeout."""
        return bool(self.payloads(timeout))

    def woke(self, timeout, accounts):
        """Whether a notification naming exactly these account ids (none:
        the empty payload, which wakes every daemon) arrives in time.
        Others, of the daemons' own work, may come before it."""
        want = set(accounts)
        found = self.payloads(timeout, lambda p: set(p.split()) == want)
        return bool(found) and set(found[-1].split()) == want

    def quiet_about(self, timeout, users):
        """Whether no notification names one of users within timeout."""
        ids = {u.account_id for u in users}
        return not [p for p in self.payloads(timeout, lambda p: False)
                    if ids & set(p.split())]

    def push_events(self, horizon):
        """(next_horizon, events, held) as the push daemon reads them: its
        statement, `SELECT * FROM push_stream_events($1)` with the horizon as
        text; next_horizon and held from the first row, the events from
        the rows with a kind, in the order of the rows (the one row of
        NULLs when there are none). Every row carries the same
        next_horizon and held, which the daemon takes from the first."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT * FROM push_stream_events(%s)", (str(horizon),))
            columns = [c.name for c in cur.description]
            rows = [dict(zip(columns, r)) for r in cur.fetchall()]
        assert columns == ["next_horizon", "event_id", "kind", "actor_id",
                           "target_id", "message_id", "held", "cursor",
                           "frame", "moment"], columns
        assert rows, "push_stream_events answered no row"
        assert {(r["next_horizon"], r["held"]) for r in rows} == {
            (rows[0]["next_horizon"], rows[0]["held"])}, rows
        events = [r for r in rows if r["kind"] is not None]
        assert len(events) == len(rows) or len(rows) == 1, rows
        assert [e["event_id"] for e in events] == sorted(
            e["event_id"] for e in events), events
        return int(rows[0]["next_horizon"]), events, rows[0]["held"]

    def wait_past_fence(self):
        """Every transaction that began before this call has ended.
        (The readers' horizon stops at the newest event's transaction,
        docs/events.md, so it need not pass the fence.)"""
        wait_for_earlier_transactions(self.conn)

    def settled_events(self, horizon, users):
        """The events of `users` from horizon on, once every transaction
        that began before this call has ended; and the next horizon."""
        self.wait_past_fence()
        next_horizon, events, _ = self.push_events(horizon)
        return mine(events, users), next_horizon


def mine(events, users):
    """The events touching the given Users, as comparable tuples."""
    wanted = {u.account_id for u in users}
    return [(e["kind"], e["actor_id"], e["target_id"], e["message_id"])
            for e in events
            if e["actor_id"] in wanted or e["target_id"] in wanted]


@pytest.fixture
def listener():
    conn = Listener()
    yield conn
    conn.close()


def expect_events(listener, horizon, users, expected, wake=()):
    """A notification came, naming the accounts of `wake` (by default
    none: every daemon reads), and the window holds exactly `expected`."""
    assert listener.woke(WAIT, [u.account_id for u in wake]), \
        "no NOTIFY on chat_events naming %s" % [u.username for u in wake]
    assert listener.settled_events(horizon, users)[0] == expected


def expect_silence(listener, horizon, users):
    """No notification came, and the window holds nothing of `users`."""
    assert not listener.notified(QUIET), "unexpected NOTIFY on chat_events"
    assert listener.settled_events(horizon, users)[0] == []


# ---------------------------------------------------------------- messages

@ws_test
async def test_send_records_message_created(listener, friends):
    """Its notification names both sides, so that the daemons holding
    neither need not read at once. The sender holds a connection: a
    wake-up names someone a daemon holds, or nobody is woken (below)."""
    a, b = friends
    ca = await session(a)
    h = listener.horizon()
    sent = send(a, b, "event me")
    expect_events(listener, h, friends,
                  [("message_created", a.account_id, b.account_id,
                    sent["message_id"])], wake=(a, b))
    await close_all(ca)


def test_send_between_two_people_with_no_connection_wakes_nobody(
        listener, friends):
    """No daemon holds either side (wake_push_daemons): the event is recorded, and
    the daemons find it at their next read or at the welcome of a
    connection that registers later."""
    a, b = friends
    h = listener.horizon()
    sent = send(a, b, "nobody listens")
    assert listener.quiet_about(QUIET, friends)
    assert listener.settled_events(h, friends)[0] == [
        ("message_created", a.account_id, b.account_id, sent["message_id"])]


@ws_test
async def test_send_to_a_connected_receiver_wakes_its_daemon(listener,
                                                             friends):
    a, b = friends
    cb = await session(b, daemon=2)
    listener.horizon()
    sent = send(a, b, "you are there")
    assert listener.woke(WAIT, [a.account_id, b.account_id])
    await cb.take(new_message_of(sent["message_id"]))
    await close_all(cb)


@ws_test
async def test_a_connection_made_after_a_send_that_woke_nobody_gets_it(
        listener, friends):
    """The daemon welcomes a connection after an event read that began
    once its registration committed, and with the undelivered messages
    of the table."""
    a, b = friends
    listener.horizon()
    sent = send(a, b, "waiting for you")
    assert listener.quiet_about(QUIET, friends)
    cb = await session(b, daemon=1)
    await cb.take(new_message_of(sent["message_id"]))
    await close_all(cb)


@ws_test
async def test_a_websocket_send_to_someone_offline_wakes_nobody(
        listener, friends):
    """wake_other_daemons: the daemon that sent wakes only the others,
    and the sender's one connection is on it, so the sender is not
    named, and its send to someone offline wakes no daemon. A second
    send, to someone online on another daemon, names that receiver
    alone; both wake-ups would go out on one connection of the daemon,
    in order, so once the second is heard the first would have been."""
    a, b = friends
    c = new_user()
    make_friends(a, c)
    cc = await session(c, daemon=2)
    ca = await session(a, daemon=1)
    listener.horizon()
    for receiver, key in ((b, "offline"), (c, "online")):
        await ca.send({"type": "send_message",
                       "receiver_id": receiver.account_id,
                       "content": f"to someone {key}", "temp_id": key})
        await ca.expect("message_sent", temp_id=key)
    found = listener.payloads(WAIT, lambda p: c.account_id in p.split())
    assert found and found[-1].split() == [c.account_id], found
    assert not [p for p in found
                if {a.account_id, b.account_id} & set(p.split())], found
    await close_all(ca, cc)


def waits_for_advisory_lock_of(listener, holder_pid, seconds=10):
    """Whether a backend waits for an advisory lock that holder_pid holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if listener.query(
                "SELECT count(*) FROM pg_locks w JOIN pg_locks h"
                " USING (locktype, database, classid, objid, objsubid)"
                " WHERE w.locktype = 'advisory' AND NOT w.granted"
                " AND h.granted AND h.pid = %s", (holder_pid,))[0][0]:
            return True
        time.sleep(0.02)
    return False


@ws_test
async def test_a_send_made_while_the_senders_connection_registers(
        listener, friends):
    """a opens a connection; while its registration waits (the test holds
    the account's lock), a sends through REST: nobody is registered for
    either side, so nobody is woken. The copy of the message still reaches
    a's new connection, which was open before the send (copies of what was
    sent before a connection opened are not sent to it), and well before
    the daemon's periodic read (2 s in the test stack)."""
    a, b = friends
    lock = connect_db()
    try:
        with lock.cursor() as cur:
            # The lock push_connect takes for the account.
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 7)),"
                        " pg_backend_pid()", (a.account_id,))
            holder = cur.fetchone()[1]
        ca = await open_ws(a.access, daemon=2)
        assert (await ca.next())["type"] == "connection_established"
        assert waits_for_advisory_lock_of(listener, holder)
        sent = send(a, b, "while a registers")
        assert listener.quiet_about(QUIET, friends)
    finally:
        lock.close()
    assert (await ca.next())["type"] == "online_friends"
    began = time.monotonic()
    await ca.take(new_message_of(sent["message_id"]))
    assert time.monotonic() - began < 1.5
    await close_all(ca)


@ws_test
async def test_notification_comes_after_the_commit(listener, friends):
    """Once the NOTIFY is heard, the event row and the message are visible."""
    a, b = friends
    ca = await session(a)
    listener.horizon()
    sent = send(a, b, "committed first")
    assert listener.notified(WAIT)
    rows = listener.query(
        "SELECT e.kind, m.content FROM event e JOIN message m USING"
        " (message_id) WHERE e.message_id = %s", (sent["message_id"],))
    assert rows == [("message_created", "committed first")]
    await close_all(ca)


@ws_test
async def test_each_send_records_one_event(listener, friends):
    """(a holds a connection, so that the sends wake someone; a's daemon
    then marks b's messages to a delivered, which are events too.)"""
    a, b = friends
    ca = await session(a)
    h = listener.horizon()
    first = send(a, b, "one")
    second = send(b, a, "two")
    third = send(a, b, "three")
    assert listener.notified(WAIT)
    events, _ = listener.settled_events(h, friends)
    assert [e for e in events if e[0] == "message_created"] == [
        ("message_created", a.account_id, b.account_id, first["message_id"]),
        ("message_created", b.account_id, a.account_id,
         second["message_id"]),
        ("message_created", a.account_id, b.account_id, third["message_id"]),
    ]
    await close_all(ca)


def test_mark_read_records_message_read_once(listener, friends):
    a, b = friends
    sent = send(a, b, "read me")
    h = listener.horizon()
    body(mark_read(b.access, sent["message_id"]), 200)
    expect_events(listener, h, friends,
                  [("message_read", b.account_id, a.account_id,
                    sent["message_id"])])
    # A second mark-read records nothing and sends no notification.
    h = listener.horizon()
    body(mark_read(b.access, sent["message_id"]), 200)
    expect_silence(listener, h, friends)


def test_delete_records_message_deleted(listener, friends):
    a, b = friends
    sent = send(a, b, "delete me")
    h = listener.horizon()
    body(delete_message(a.access, sent["message_id"]), 200)
    expect_events(listener, h, friends,
                  [("message_deleted", a.account_id, b.account_id,
                    sent["message_id"])])


def test_delete_of_a_read_message(listener, friends):
    a, b = friends
    sent = send(b, a, "read, then deleted")
    body(mark_read(a.access, sent["message_id"]), 200)
    h = listener.horizon()
    body(delete_message(b.access, sent["message_id"]), 200)
    expect_events(listener, h, friends,
                  [("message_deleted", b.account_id, a.account_id,
                    sent["message_id"])])


# ----------------------------------------------------------------- friends

def test_friend_request_records_friend_requested(listener, user, stranger):
    h = listener.horizon()
    body(friend_request(user.access, stranger.account_id), 201)
    expect_events(listener, h, [user, stranger],
                  [("friend_requested", user.account_id,
                    stranger.account_id, None)])


def test_accept_records_friend_accepted(listener, user, stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    h = listener.horizon()
    body(friend_accept(stranger.access, user.account_id), 200)
    expect_events(listener, h, [user, stranger],
                  [("friend_accepted", stranger.account_id,
                    user.account_id, None)])


def test_reject_records_nothing(listener, user, stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    h = listener.horizon()
    body(friend_reject(stranger.access, user.account_id), 200)
    expect_silence(listener, h, [user, stranger])


def test_request_after_rejection_records_friend_requested(listener, user,
                                                          stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    body(friend_reject(stranger.access, user.account_id), 200)
    h = listener.horizon()
    body(friend_request(stranger.access, user.account_id), 201)
    expect_events(listener, h, [user, stranger],
                  [("friend_requested", stranger.account_id,
                    user.account_id, None)])


@pytest.mark.parametrize("remover", [0, 1], ids=["asker", "accepter"])
def test_removal_records_friend_removed(listener, friends, remover):
    who, other = friends if remover == 0 else friends[::-1]
    h = listener.horizon()
    body(friend_remove(who.access, other.account_id), 200)
    # One event each side hears (CONTRACT §10: friend_removed to both).
    expect_events(listener, h, friends,
                  [("friend_removed", who.account_id, other.account_id,
                    None),
                   ("friend_removed", other.account_id, who.account_id,
                    None)])


# ----------------------------------------------- refusals record nothing

def test_refused_requests_record_nothing(listener, friends):
    a, b = friends
    stranger = new_user()
    sent = send(a, b, "target")
    h = listener.horizon()
    assert_error(send_message(a.access, stranger.account_id, "x"), 403,
                 "Not friends with recipient")
    assert_error(send_message(a.access, a.account_id, "x"), 400,
                 "Cannot send message to yourself")
    assert_error(mark_read(a.access, sent["message_id"]), 403,
                 "Only the receiver can mark a message as read")
    assert_error(delete_message(b.access, sent["message_id"]), 403,
                 "Only the sender can delete this message")
    assert_error(friend_request(a.access, b.account_id), 400,
                 "Already friends")
    assert_error(friend_accept(a.access, stranger.account_id), 404,
                 "Friend request not found")
    assert_error(friend_remove(a.access, stranger.account_id), 404,
                 "Friend not found")
    assert_422(api("DELETE", "/chat/messages/nope", token=a.access),
               bad_uuid("path", "message_id"))
    expect_silence(listener, h, [a, b, stranger])


# ------------------------------------------------- the daemons' batches

def batch_json(*items):
    """The JSON array of push_send_batch(): (sender, receiver, content)."""
    return json.dumps([{"sender": s.account_id, "receiver": r.account_id,
                        "content": c} for s, r, c in items])


def test_a_send_batch_stores_and_answers_in_order_without_notifying(
        listener, friends):
    """push_send_batch answers each item in its place; the
    daemon wakes the others after the commit, so the batch itself
    notifies nobody (a NOTIFY holds a global lock through the commit)."""
    a, b = friends
    h = listener.horizon()
    rows = listener.query(
        "SELECT status, body, events FROM push_send_batch(%s::json)",
        (batch_json((a, b, "first"), (a, a, "to myself"), (b, a, "second")),))
    assert [(r[0], r[2]) for r in rows] == [(201, 1), (400, 0), (201, 1)]
    assert rows[1][1] == {"detail": "Cannot send message to yourself"}
    assert [rows[0][1]["content"], rows[2][1]["content"]] == [
        "first", "second"]
    assert listener.quiet_about(QUIET, friends)
    assert listener.settled_events(h, friends)[0] == [
        ("message_created", a.account_id, b.account_id,
         rows[0][1]["message_id"]),
        ("message_created", b.account_id, a.account_id,
         rows[2][1]["message_id"])]


def test_delivered_marks_answer_the_senders_without_notifying(
        listener, friends):
    a, b = friends
    first, second = send(a, b, "one"), send(a, b, "two")
    h = listener.horizon()
    ids = [first["message_id"], second["message_id"]]
    senders = listener.query(
        "SELECT push_mark_delivered(%s::uuid[])", (ids,))[0][0]
    assert senders == "{%s,%s}" % (a.account_id, a.account_id)
    assert listener.quiet_about(QUIET, friends)
    assert sorted(listener.settled_events(h, friends)[0]) == sorted(
        ("message_delivered", b.account_id, a.account_id, m) for m in ids)
    # Marked once: a second daemon's mark finds nothing.
    assert listener.query(
        "SELECT push_mark_delivered(%s::uuid[])", (ids,))[0][0] is None


@ws_test
async def test_websocket_sends_wake_the_daemons_of_their_sides(listener):
    """The daemon wakes the others after its batches commit: a send names
    its receiver, and its sender only when the sender has a connection
    on another daemon (wake_other_daemons); its delivered mark names the
    sender."""
    a, b = new_friends()
    ca, cb = await session(a, daemon=1), await session(b, daemon=2)
    listener.horizon()
    await ca.send({"type": "send_message", "receiver_id": b.account_id,
                   "content": "wake them", "temp_id": "w1"})
    ack = await ca.expect("message_sent", temp_id="w1")
    assert listener.woke(WAIT, [b.account_id])
    await cb.take(new_message_of(ack["message_id"]))
    assert listener.woke(WAIT, [a.account_id])
    await ca.expect("message_delivered", message_id=ack["message_id"])
    other = await session(a, daemon=2)     # the sender's other device
    listener.horizon()
    await ca.send({"type": "send_message", "receiver_id": b.account_id,
                   "content": "and my other device", "temp_id": "w2"})
    ack = await ca.expect("message_sent", temp_id="w2")
    assert listener.woke(WAIT, [a.account_id, b.account_id])
    await other.take(new_message_of(ack["message_id"]))
    await close_all(ca, cb, other)


@ws_test
async def test_a_daemon_wakes_itself_without_a_notify(listener):
    """A daemon reads at once by itself for the sessions it holds
    (wake_other_daemons), so a message between two accounts on one
    daemon, and its delivered mark, send no NOTIFY (each signals every
    daemon's listening connection), and still come: to the receiver, to
    the sender's other device there, and the mark to the sender."""
    a, b = new_friends()
    ca, cb = await session(a, daemon=1), await session(b, daemon=1)
    other = await session(a, daemon=1)
    listener.horizon()
    await ca.send({"type": "send_message", "receiver_id": b.account_id,
                   "content": "one daemon", "temp_id": "here"})
    ack = await ca.expect("message_sent", temp_id="here")
    await cb.take(new_message_of(ack["message_id"]))
    await other.take(new_message_of(ack["message_id"]))
    await ca.expect("message_delivered", message_id=ack["message_id"])
    assert listener.quiet_about(QUIET, (a, b))
    await close_all(ca, cb, other)


def test_reads_record_nothing(listener, friends):
    a, b = friends
    send(a, b, "x")
    h = listener.horizon()
    body(api("GET", f"/chat/messages/history/{b.account_id}",
             token=a.access), 200)
    body(api("GET", f"/chat/messages/search/{b.account_id}?keyword=x",
             token=a.access), 200)
    body(api("GET", "/chat/messages/unread-count", token=b.access), 200)
    body(api("GET", "/chat/friends/online", token=b.access), 200)
    body(api("GET", "/friends/list", token=b.access), 200)
    expect_silence(listener, h, friends)


# ---------------------------------------------------- reading without gaps

def test_push_events_waits_for_the_older_transaction(listener):
    """T1 begins first and commits last: a reader must not move its
    horizon past T1 while it runs, or it would never see T1's row; it
    learns that committed events wait beyond its horizon (held), so that
    it reads again soon."""
    a, b = new_user(), new_user()
    h = listener.horizon()
    t1, t2 = connect_db(autocommit=False), connect_db(autocommit=False)
    try:
        c1, c2 = t1.cursor(), t2.cursor()
        c1.execute("SELECT pg_current_xact_id()::text")
        x1 = int(c1.fetchone()[0])
        c1.execute("SELECT record_event('friend_requested', %s, %s)",
                   (a.account_id, b.account_id))
        c2.execute("SELECT pg_current_xact_id()::text")
        x2 = int(c2.fetchone()[0])
        c2.execute("SELECT record_event('friend_requested', %s, %s)",
                   (b.account_id, a.account_id))
        assert h <= x1 < x2
        t2.commit()

        # T2 has committed, T1 has not: neither row yet, horizon held,
        # and T2's row said to wait beyond it.
        n1, events, held = listener.push_events(h)
        assert mine(events, [a, b]) == []
        assert n1 <= x1
        assert held
        # Asking again from the held horizon changes nothing.
        n1b, events, held = listener.push_events(n1)
        assert mine(events, [a, b]) == [] and n1b <= x1 and held

        t1.commit()
        # The reader continues from where it stopped: both rows, T1's
        # first (it took the lower event_id).
        both = [("friend_requested", a.account_id, b.account_id, None),
                ("friend_requested", b.account_id, a.account_id, None)]
        events, n2 = listener.settled_events(n1, [a, b])
        assert events == both
        assert n2 > x2
        # From the first horizon too, and nothing twice after n2.
        assert listener.settled_events(h, [a, b])[0] == both
        assert listener.settled_events(n2, [a, b])[0] == []
        rows = listener.query(
            "SELECT xid::text FROM event WHERE kind = 'friend_requested'"
            " AND actor_id IN (%s, %s) ORDER BY event_id",
            (a.account_id, b.account_id))
        assert [int(r[0]) for r in rows] == [x1, x2]
    finally:
        t1.close()
        t2.close()


def test_a_rolled_back_event_never_appears(listener):
    a, b = new_user(), new_user()
    h = listener.horizon()
    t1 = connect_db(autocommit=False)
    try:
        with t1.cursor() as cur:
            cur.execute("SELECT record_event('friend_removed', %s, %s)",
                        (a.account_id, b.account_id))
        n1, events, _ = listener.push_events(h)
        assert mine(events, [a, b]) == []
        t1.rollback()
        assert listener.settled_events(n1, [a, b])[0] == []
        assert listener.settled_events(h, [a, b])[0] == []
    finally:
        t1.close()


def test_api_event_behind_an_open_transaction(listener, friends):
    """An event committed by the API while an older transaction is open
    comes out once that transaction ends, not before and not never."""
    a, b = friends
    h = listener.horizon()
    older = connect_db(autocommit=False)
    try:
        with older.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()::text")
            x_old = int(cur.fetchone()[0])
        # Committed when answered (nobody is woken: neither is connected).
        sent = send(a, b, "behind an open transaction")
        n1, events, held = listener.push_events(h)
        assert n1 <= x_old
        assert mine(events, friends) == []
        assert held
        older.commit()
        assert listener.settled_events(n1, friends)[0] == [
            ("message_created", a.account_id, b.account_id,
             sent["message_id"])]
    finally:
        older.close()
