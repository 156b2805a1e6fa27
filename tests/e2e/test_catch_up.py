"""Catching up and retrying (CONTRACT §10): the cursor on every frame of
the stream, GET /sync, `since` on the handshake (no gap and no repeat
between replay and live, across daemons), expiry, the friend events, and
idempotent sends over REST (Idempotency-Key) and WebSocket (temp_id)."""

import asyncio
import random
import urllib.parse

import pytest

from chat_api import (api, body, connect_db, delete_message, friend_accept,
                      friend_remove, friend_request, gsend, horizon_held,
                      json_bytes, make_friends, mark_read, new_friends,
                      new_group, new_user, send)
from ws_client import (WAIT, assert_cursor, blocking, burn_transaction_ids,
                       close_all, connect, fresh_cursor, new_message_of,
                       of_type, push_ports, sync, sync_all, sync_moment,
                       url_for, without_cursor, ws_test)

import websockets

STREAM_TYPES = {"new_message", "message_delivered", "message_read",
                "message_deleted", "friend_request", "friend_accepted",
                "friend_removed"}


# ------------------------------------------------------------------ helpers

def last_cursor(conn, cursor):
    """The cursor a client keeps: that of the last frame that had one."""
    for frame in conn.frames:
        if "cursor" in frame:
            cursor = frame["cursor"]
    return cursor


def stream_frames(conn):
    return [f for f in conn.frames if f.get("type") in STREAM_TYPES]


# ------------------------------------------------------------ the cursor

@ws_test
async def test_every_stream_frame_carries_a_cursor_and_others_none():
    a, b = new_friends()
    ca = await connect(a)
    cb = await connect(b)
    # A message that commits while cb is being welcomed may come in its
    # snapshot of undelivered messages, which has no cursor (CONTRACT
    # §10); once one message came either way, the next ones are events.
    first = await blocking(send, a, b, "while connecting")
    await cb.take(new_message_of(first["message_id"]))
    m = await blocking(send, a, b, "with a cursor")
    got = await cb.take(new_message_of(m["message_id"]))
    assert_cursor(got["cursor"])
    delivered = await ca.expect("message_delivered",
                                message_id=m["message_id"])
    assert_cursor(delivered["cursor"])
    await blocking(mark_read, b.access, m["message_id"])
    read = await ca.expect("message_read", message_id=m["message_id"])
    assert_cursor(read["cursor"])
    await blocking(delete_message, a.access, m["message_id"])
    deleted = await cb.expect("message_deleted", message_id=m["message_id"])
    assert_cursor(deleted["cursor"])
    await cb.send({"type": "typing", "receiver_id": a.account_id,
                   "is_typing": True})
    typing = await ca.expect("typing_indicator")
    assert "cursor" not in typing
    await close_all(ca, cb)


@ws_test
async def test_friend_events_live_with_cursors():
    a, b = new_user(), new_user()
    ca = await connect(a)
    cb = await connect(b)
    await blocking(lambda: body(friend_request(a.access, b.account_id), 201))
    req = await cb.expect("friend_request")
    assert_cursor(req["cursor"])
    request = req["request"]
    assert request["sender_id"] == a.account_id
    assert request["receiver_id"] == b.account_id
    assert request["status"] == "pending"
    assert request["sender"]["account_id"] == a.account_id
    assert request["sender"]["username"] == a.username
    assert set(request) == {"sender_id", "receiver_id", "status",
                            "created_at", "updated_at", "sender"}
    await blocking(lambda: body(friend_accept(b.access, a.account_id), 200))
    acc = await ca.expect("friend_accepted")
    assert without_cursor(acc) == {"type": "friend_accepted",
                                   "user_id": b.account_id}
    await blocking(lambda: body(friend_remove(b.access, a.account_id), 200))
    ra = await ca.expect("friend_removed")
    rb = await cb.expect("friend_removed")
    assert without_cursor(ra) == {"type": "friend_removed",
                                  "user_id": b.account_id}
    assert without_cursor(rb) == {"type": "friend_removed",
                                  "user_id": a.account_id}
    assert_cursor(ra["cursor"])
    await close_all(ca, cb)


# ------------------------------------------------------------------ /sync

@ws_test
async def test_sync_brings_what_happened_while_away():
    """The defect: read receipts and deletes made while a client was away
    were never sent. /sync brings them, in order, and a deleted message's
    text is not sent again."""
    a, b = new_friends()
    since = await blocking(sync_moment, a)
    m1 = await blocking(send, a, b, "first")
    m2 = await blocking(send, a, b, "second, deleted")
    await blocking(mark_read, b.access, m1["message_id"])
    await blocking(delete_message, a.access, m2["message_id"])
    events, _ = await blocking(sync_all, a, since)
    kinds = [(e["type"], e.get("message_id") or e["message"]["message_id"])
             for e in events]
    assert kinds == [("new_message", m1["message_id"]),
                     ("new_message", m2["message_id"]),
                     ("message_read", m1["message_id"])], events
    for e in events:
        assert_cursor(e["cursor"])
    own = events[1]["message"]
    assert own["is_deleted"] is True and own["content"] == "", own
    read = events[2]
    assert read["read_by"] == b.account_id
    assert events[0]["message"]["status"] == "read"
    # The receiver's stream: the messages, then the delete.
    theirs, _ = await blocking(sync_all, b, since)
    assert [e["type"] for e in theirs] == ["new_message", "new_message",
                                           "message_deleted"], theirs


def test_sync_pages_without_gap_or_repeat():
    a, b = new_friends()
    first = body(sync(b, "1.1.0"), 410)
    assert first == {"detail": "Cursor expired"}
    start = body(sync(a, sync_moment(a)), 200)["cursor"]
    sent = [send(a, b, f"m{i}")["message_id"] for i in range(7)]
    seen, cursor = [], start
    while True:
        answer = body(sync(b, cursor, limit=3), 200)
        assert len(answer["events"]) <= 3
        seen += [e["message"]["message_id"] for e in answer["events"]
                 if e["type"] == "new_message"]
        cursor = answer["cursor"]
        if not answer["has_more"]:
            break
    assert seen[-7:] == sent, seen
    assert len(set(seen)) == len(seen)
    # Nothing after the last cursor.
    assert body(sync(b, cursor), 200)["events"] == []


def test_sync_marks_delivered_and_tells_the_sender():
    a, b = new_friends()
    start = sync_moment(b)
    m = send(a, b, "fetched by sync")
    events, _ = sync_all(b, start)
    assert events[-1]["message"]["message_id"] == m["message_id"]
    assert events[-1]["message"]["status"] == "delivered"
    theirs, _ = sync_all(a, start)
    assert ("message_delivered", m["message_id"]) in [
        (e["type"], e.get("message_id")) for e in theirs]


def test_sync_refusals():
    a = new_user()
    r = sync(a, None)
    assert r.status_code == 422, r.text
    for bad in ("", "abc", "1.2", "2.1.0", "1.2.3.4", "-1.2.3",
                "99999999999999999999999.1.1", "1" * 65):
        r = sync(a, bad)
        assert r.status_code == 422, (bad, r.status_code, r.text)
    for limit in ("0", "1001", "x"):
        r = sync(a, "1.1.0", limit=limit)
        assert r.status_code == 422, (limit, r.text)
    # A cursor ahead of the stream is not one.
    r = sync(a, "18446744073709551615.18446744073709551615.0")
    assert r.status_code == 422, r.text
    r = api("GET", "/sync", params={"since": "1.1.0"})
    assert r.status_code == 401


@ws_test
async def test_a_message_deleted_before_its_event_is_read_still_comes():
    """A message sent and deleted while an older transaction holds the
    event readers back: when its event is read, the message is deleted
    already. Its new_message still comes live, with is_deleted and no
    content, before the message_deleted, as /sync gives it: the next
    cursors pass its event (chaos runs saw it missing everywhere)."""
    a, b = new_friends()
    conn = await connect(b)
    with horizon_held():
        m = await blocking(send, a, b, "gone before it is read")
        await blocking(delete_message, a.access, m["message_id"])
    frame = await conn.take(lambda f: f.get("type") in (
        "new_message", "message_deleted"))
    assert frame["type"] == "new_message", frame
    assert frame["message"]["message_id"] == m["message_id"]
    assert frame["message"]["is_deleted"] is True
    assert frame["message"]["content"] == ""
    assert_cursor(frame["cursor"])
    deleted = await conn.expect("message_deleted",
                                message_id=m["message_id"])
    assert_cursor(deleted["cursor"])
    await conn.close()


def newest_event_transaction(db):
    with db.cursor() as cur:
        cur.execute("SELECT max(xid)::text FROM event")
        return int(cur.fetchone()[0])


def test_a_cursor_never_passes_the_newest_event():
    """The ids of transactions that left nothing on disk are handed out
    again after a crash of PostgreSQL; a cursor past them would skip the
    events written under them then (docs/events.md). So a cursor stops at
    the newest event's transaction, whatever ids were used after it."""
    a, _ = new_friends()           # events of a transaction of theirs
    since = sync_moment(a)
    db = connect_db()
    try:
        burned = burn_transaction_ids(db, 300)
        cursor = body(sync(a, since), 200)["cursor"]
        newest = newest_event_transaction(db)
    finally:
        db.close()
    h1 = int(cursor.split(".")[1])
    assert h1 <= newest + 1, (cursor, newest, burned)


def test_another_accounts_cursor_reveals_nothing_of_it():
    a, b = new_friends()
    c, d = new_friends()
    start = sync_moment(a)
    send(a, b, "for b only")
    events, _ = sync_all(c, start)
    assert events == [], events
    theirs, _ = sync_all(d, start)
    assert theirs == []


# --------------------------------------------------- since on the handshake

@ws_test
async def test_since_replays_then_goes_live():
    a, b = new_friends()
    cb = await connect(b)
    since = cb.cursor
    await cb.close()
    m1 = await blocking(send, a, b, "while away 1")
    m2 = await blocking(send, a, b, "while away 2")
    await blocking(delete_message, a.access, m2["message_id"])
    back = await connect(b, since=since)
    assert back.cursor == since
    r1 = await back.take(new_message_of(m1["message_id"]))
    r2 = await back.take(new_message_of(m2["message_id"]))
    assert r2["message"]["is_deleted"] is True
    assert r2["message"]["content"] == ""
    await back.expect("message_deleted", message_id=m2["message_id"])
    assert_cursor(r1["cursor"])
    live = await blocking(send, a, b, "live")
    await back.take(new_message_of(live["message_id"]))
    await back.quiet(0.5, of_type("new_message"))
    ids = [f["message"]["message_id"] for f in back.frames
           if f.get("type") == "new_message"]
    assert ids == [m1["message_id"], m2["message_id"], live["message_id"]]
    await back.close()


@ws_test(timeout=150)
async def test_reconnects_with_since_lose_and_repeat_nothing():
    """A receiver that drops and reconnects again and again, on either
    daemon, with the cursor of the last frame it got, while its friend
    sends and marks: every message once, in order, every read receipt
    of its own sends once."""
    a, b = new_friends()
    total = 60
    sent = []

    def sender():
        for i in range(total):
            sent.append(send(a, b, f"burst {i}")["message_id"])

    task = asyncio.create_task(blocking(sender))
    cursor = await fresh_cursor(b)
    got = []
    daemons = [None] + list(range(1, len(push_ports()) + 1))
    rounds = 0
    while True:
        conn = await connect(b, since=cursor,
                             daemon=random.choice(daemons))
        assert conn.cursor == cursor
        await asyncio.sleep(random.uniform(0.05, 0.4))
        await conn.close()
        got += [f["message"]["message_id"] for f in conn.frames
                if f.get("type") == "new_message"]
        cursor = last_cursor(conn, cursor)
        rounds += 1
        if task.done() and len(set(got)) >= total:
            break
        assert rounds < 400, f"{len(set(got))} of {total} after {rounds}"
    await task
    assert got == sent, (len(got), len(sent))


@ws_test
async def test_expired_or_unknown_cursor_gets_resync_required():
    a, b = new_friends()
    for since in ("1.1.0", "1.2"):
        conn = await connect(b, since=since)
        frame = await conn.next()
        assert frame["type"] == "resync_required", frame
        assert_cursor(frame["cursor"])
        m = await blocking(send, a, b, "after resync")
        await conn.take(new_message_of(m["message_id"]))
        await conn.close()
        # The resync's cursor is good.
        again = await connect(b, since=frame["cursor"])
        await again.take(new_message_of(m["message_id"]))
        await again.close()


@ws_test
async def test_since_that_cannot_be_a_cursor_is_refused():
    a = new_user()
    for since in ("abc", "1" * 65, "1;2"):
        url = url_for(a.access) + "&since=" + urllib.parse.quote(since)
        with pytest.raises(websockets.exceptions.InvalidStatusCode) as e:
            await websockets.connect(url, open_timeout=WAIT)
        assert e.value.status_code in (400, 422), since


# ------------------------------------------------------- idempotent sends

def keyed_send(user, receiver, content, key):
    return api("POST", "/chat/messages/", token=user.access,
               data=json_bytes({"receiver_id": receiver.account_id,
                                "content": content}),
               headers={"Content-Type": "application/json",
                        "Idempotency-Key": key})


def count_rows(receiver_id, content):
    with connect_db() as db, db.cursor() as cur:
        cur.execute("SELECT count(*) FROM message WHERE receiver_id = %s"
                    " AND content = %s", (receiver_id, content))
        return cur.fetchone()[0]


def test_a_new_message_shows_one_time_for_created_and_updated():
    """A repeat of an idempotent send answers as the first answer showed
    the message, updated_at equal to created_at: so the first must show
    them equal too, for direct and group messages alike (two readings of
    the clock made them 1 µs apart now and then)."""
    a, b = new_user(), new_user()
    group = new_group(a, b)         # makes them friends
    for i in range(20):
        for m in (send(a, b, f"m{i}"), gsend(a, group, f"g{i}")):
            assert m["updated_at"] == m["created_at"], m


def test_idempotency_key_repeat_stores_nothing():
    a, b = new_friends()
    key = f"k-{random.random()}"
    first = keyed_send(a, b, "once", key)
    assert first.status_code == 201, first.text
    mark_read(b.access, first.json()["message_id"])
    again = keyed_send(a, b, "once", key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()
    assert count_rows(b.account_id, "once") == 1
    # The same key for another request is a 422; another key, a message.
    other = keyed_send(a, b, "another content", key)
    assert other.status_code == 422, other.text
    assert other.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    c = new_user()
    make_friends(a, c)
    assert keyed_send(a, c, "once", key).status_code == 422
    second = keyed_send(a, b, "once", key + "x")
    assert second.status_code == 201
    assert second.json()["message_id"] != first.json()["message_id"]
    # Another account's key is its own.
    theirs = keyed_send(b, a, "once", key)
    assert theirs.status_code == 201


# (An empty header is not passed on by every web server: absent.)
@pytest.mark.parametrize("key", ["x" * 65, "caf\u00e9", "tab\there"])
def test_bad_idempotency_key_is_422(key):
    a, b = new_friends()
    r = keyed_send(a, b, "k", key.encode("utf-8"))
    assert r.status_code == 422, (key, r.status_code, r.text)


@ws_test
async def test_temp_id_exact_repeat_stores_and_pushes_nothing():
    a, b = new_friends()
    ca = await connect(a)
    cb = await connect(b)
    frame = {"type": "send_message", "receiver_id": b.account_id,
             "content": "exactly once", "temp_id": "t-1"}
    await ca.send(frame)
    first = await ca.expect("message_sent")
    await ca.send(frame)
    second = await ca.expect("message_sent")
    assert second == first
    await cb.take(new_message_of(first["message_id"]))
    await cb.quiet(1.0, of_type("new_message"))
    assert await blocking(count_rows, b.account_id, "exactly once") == 1
    # The same temp_id with other content is another message.
    await ca.send(dict(frame, content="another"))
    third = await ca.expect("message_sent")
    assert third["message_id"] != first["message_id"]
    # The REST key space is separate from temp_id's.
    r = await blocking(keyed_send, a, b, "exactly once", "t-1")
    assert r.status_code == 201
    assert r.json()["message_id"] != first["message_id"]
    await close_all(ca, cb)
