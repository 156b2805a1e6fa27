"""Protocol limits (CONTRACT §6): a frame over 64 KiB closes with 1009,
invalid UTF-8 with 1007, a binary frame with 1003, a client that does not
read is closed with 1008 once its outgoing queue passes 1 MiB; and at most
16 connections of one account on one daemon (the 17th: HTTP 429)."""

import asyncio
import concurrent.futures
import json
import os
import time

import psycopg2
import pytest

from chat_api import (body, make_friends, new_friends, new_user,
                      online_friends, send_message)
from ws_client import (OP_BINARY, OP_CONT, OP_TEXT, WAIT, RawWs, close_all,
                       handshake_status, session, wait_status, ws_test)

MAX_FRAME = 64 * 1024
PER_ACCOUNT = 16


def padded_typing(receiver_id, size):
    """A typing request of exactly size bytes (padded by an unknown field,
    which requests may carry)."""
    frame = {"type": "typing", "receiver_id": receiver_id,
             "is_typing": True, "pad": ""}
    text = json.dumps(frame)
    frame["pad"] = "p" * (size - len(text))
    text = json.dumps(frame)
    assert len(text.encode()) == size
    return text


# ------------------------------------------------------------- frame sizes

@ws_test
async def test_frame_of_64_kib_is_accepted():
    a, b = new_friends()
    conn, receiver = await session(a), await session(b)
    await conn.send_text(padded_typing(b.account_id, MAX_FRAME))
    assert await receiver.expect("typing_indicator") == {
        "type": "typing_indicator", "user_id": a.account_id,
        "is_typing": True}
    assert conn.is_open
    await close_all(conn, receiver)


@ws_test(timeout=120)
async def test_a_connection_carries_more_than_its_web_servers_request_limit():
    """The limits are per frame: a connection that lives for days carries
    any number of them. Through the web server (whose limit on a request
    body, 8 MiB in the test stack, must not count the frames of an
    upgraded connection): 10 MiB of frames, then the connection still
    answers. (At the rate of typing frames that CONTRACT §12 allows, 10
    a second.)"""
    a, b = new_friends()
    conn, receiver = await session(a), await session(b)
    frames = 160
    for _ in range(frames):
        await conn.send_text(padded_typing(b.account_id, MAX_FRAME))
        await asyncio.sleep(0.105)
    for _ in range(frames):
        await receiver.expect("typing_indicator", timeout=30)
    assert conn.is_open
    await conn.send({"type": "typing", "receiver_id": b.account_id,
                     "is_typing": False})
    assert await receiver.expect("typing_indicator", is_typing=False) == {
        "type": "typing_indicator", "user_id": a.account_id,
        "is_typing": False}
    await close_all(conn, receiver)


@pytest.mark.parametrize("size", [MAX_FRAME + 1, 200 * 1024])
@ws_test
async def test_frame_over_64_kib_closes_with_1009(size):
    a, b = new_friends()
    conn = await session(a)
    await conn.send_text(padded_typing(b.account_id, size))
    code, _ = await conn.wait_closed()
    assert code == 1009


@ws_test
async def test_fragments_are_joined():
    a, b = new_friends()
    conn, receiver = await session(a), await session(b)
    text = json.dumps({"type": "send_message", "receiver_id": b.account_id,
                       "content": "in three parts", "temp_id": "frag"})
    await conn.ws.send([text[:10], text[10:40], text[40:]])
    ack = await conn.expect("message_sent")
    assert ack["temp_id"] == "frag"
    frame = await receiver.expect("new_message")
    assert frame["message"]["content"] == "in three parts"
    await close_all(conn, receiver)


@ws_test
async def test_fragments_over_64_kib_in_all_close_with_1009():
    a, b = new_friends()
    conn = await session(a)
    text = padded_typing(b.account_id, MAX_FRAME + 100)
    await conn.ws.send([text[:40000], text[40000:]])
    code, _ = await conn.wait_closed()
    assert code == 1009


# ---------------------------------------------------------------- UTF-8

def raw_session(user, daemon=None):
    """A raw client past its first two frames."""
    raw = RawWs(user.access, daemon=daemon)
    assert raw.status == 101
    assert raw.read_json()["type"] == "connection_established"
    assert raw.read_json()["type"] == "online_friends"
    return raw


@pytest.mark.parametrize("daemon", [None, 1])
@pytest.mark.parametrize("payload", [
    b"\xff\xfe",
    b'{"type": "typing", "receiver_id": "\xc3\x28"}',
    b'{"type": "send_message", "content": "\xed\xa0\x80"}',   # a surrogate
    b'{"type": "send_message", "content": "\xe2\x82"}',       # cut short
], ids=["ff fe", "bad continuation", "surrogate", "truncated"])
def test_invalid_utf8_closes_with_1007(friends, payload, daemon):
    a, _ = friends
    raw = raw_session(a, daemon)
    try:
        raw.send_frame(OP_TEXT, payload)
        frames, code, how = raw.read_to_close(WAIT)
        assert (how, code) == ("close", 1007), frames
    finally:
        raw.close()


def test_utf8_split_across_fragments_is_accepted(friends):
    """A character cut between two fragments is no invalid UTF-8."""
    a, b = friends
    raw = raw_session(a)
    try:
        text = json.dumps({"type": "send_message",
                           "receiver_id": b.account_id,
                           "content": "price: \u20ac", "temp_id": "eur"},
                          ensure_ascii=False).encode()
        cut = text.index("\u20ac".encode()) + 1
        raw.send_frame(OP_TEXT, text[:cut], fin=False)
        raw.send_frame(OP_CONT, text[cut:])
        # Events of the friendship may come first (CONTRACT §10: a stream
        # event committed while the connection opened).
        ack = raw.read_json()
        while ack["type"] in ("friend_accepted", "friend_request"):
            ack = raw.read_json()
        assert (ack["type"], ack["temp_id"]) == ("message_sent", "eur"), ack
    finally:
        raw.close()


# --------------------------------------------------------------- binary

@ws_test
async def test_binary_frame_closes_with_1003():
    a, b = new_friends()
    conn = await session(a)
    text = json.dumps({"type": "typing", "receiver_id": b.account_id})
    await conn.ws.send(text.encode())
    code, _ = await conn.wait_closed()
    assert code == 1003


def test_binary_frame_closes_with_1003_raw(friends):
    a, _ = friends
    raw = raw_session(a, daemon=2)
    try:
        raw.send_frame(OP_BINARY, b"\x00\x01\x02")
        frames, code, how = raw.read_to_close(WAIT)
        assert (how, code) == ("close", 1003), frames
    finally:
        raw.close()


@ws_test
async def test_ping_is_answered():
    a, _ = new_friends()
    conn = await session(a)
    pong = await conn.ws.ping(b"are you there")
    await asyncio.wait_for(pong, WAIT)
    await conn.close()


# -------------------------------------------------- a client that never reads

BIG = "\U0001F600" * 5000          # 5000 characters, 20000 bytes of UTF-8
QUEUE_TEST_SECONDS = 20


def wait_online(viewer, account_id, seconds=WAIT):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = body(online_friends(viewer.access), 200)
        if account_id in answer["online_friends"]:
            return True
        time.sleep(0.05)
    return False


def test_client_that_does_not_read_is_closed_with_1008(friends):
    a, b = friends
    started = time.monotonic()
    # A small receive buffer, and never a read: the daemon's queue fills.
    raw = RawWs(b.access, daemon=1, rcvbuf=4096)
    try:
        assert raw.status == 101
        assert wait_online(a, b.account_id)
        # Far more than the queue and every socket buffer on the way
        # (localhost buffers grow to a few MiB): 400 frames of ~20 KB,
        # 50 from each of 8 friends (within an account's burst of sends,
        # CONTRACT §12).
        count = 400
        senders = [a] + [new_user() for _ in range(7)]
        for sender in senders[1:]:
            make_friends(sender, b)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(
                lambda i: send_message(senders[i % 8].access, b.account_id,
                                       BIG, ascii_only=False).status_code,
                range(count)))
        assert answers == [201] * count
        assert time.monotonic() - started < QUEUE_TEST_SECONDS
        # Now read everything: the frames that made it, then the end.
        left = QUEUE_TEST_SECONDS + 5 - (time.monotonic() - started)
        frames, code, how = raw.read_to_close(max(left, 5))
        texts = [json.loads(p) for op, p in frames if op == OP_TEXT]
        news = [f for f in texts if f["type"] == "new_message"]
        assert len(news) < count, "every frame came: nothing was dropped"
        assert how == "eof" or code == 1008, (how, code)
    finally:
        raw.close()
    # CONTRACT §7: what was dropped with the queue was never delivered, so
    # it comes at the next connection, oldest first, and nothing is lost.
    received = {f["message"]["message_id"] for f in news}
    still_sent = undelivered_ids(b)
    assert still_sent, "the dropped messages were marked delivered"
    assert not received & set(still_sent), "a frame that came is undelivered"
    again = asyncio.run(initial_messages(b, len(still_sent)))
    assert again == still_sent


def undelivered_ids(user):
    """Ids of the messages to user still 'sent', oldest first."""
    with psycopg2.connect(os.environ["CHAT_DB"]) as db, db.cursor() as cur:
        cur.execute("SELECT message_id::text FROM message"
                    " WHERE receiver_id = %s AND status = 'sent'"
                    " AND NOT is_deleted ORDER BY created_at, message_id",
                    (user.account_id,))
        return [row[0] for row in cur.fetchall()]


async def initial_messages(user, count):
    """The ids of the first count new_message frames of a new connection."""
    conn = await session(user, daemon=1)
    try:
        return [(await conn.expect("new_message"))["message"]["message_id"]
                for _ in range(count)]
    finally:
        await conn.close()


# ------------------------------------------------------- per-account cap

@pytest.mark.parametrize("daemon", [1, 2])
@ws_test
async def test_17th_connection_of_an_account_is_429(daemon):
    a, b = new_friends()
    other = 2 if daemon == 1 else 1
    conns = []
    try:
        for _ in range(PER_ACCOUNT):
            conns.append(await session(a, daemon=daemon))
        assert await handshake_status(a.access, daemon=daemon) == 429
        # Per daemon: the other one still takes the account; other
        # accounts are not limited by it.
        extra = await session(a, daemon=other)
        conns.append(extra)
        friend = await session(b, daemon=daemon)
        conns.append(friend)
        # The connections held still work.
        await conns[0].send({"type": "send_message",
                             "receiver_id": b.account_id,
                             "content": "sixteen", "temp_id": "16"})
        assert (await conns[0].expect("message_sent"))["temp_id"] == "16"
        # One closes: room for one more.
        await conns.pop(0).close()
        assert await wait_status(a.access, 101, daemon=daemon) == 101
    finally:
        await close_all(*conns)
