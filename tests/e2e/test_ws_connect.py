"""What a connection gets first (CONTRACT §6): connection_established, then
online_friends, then what was sent while the user was away, oldest first,
as new_message; those become delivered (CONTRACT §7)."""

import asyncio
import time

from chat_api import (body, delete_message, make_friends, mark_read,
                      new_friends, new_user, paced, send, send_message)
from ws_client import (without_cursor, assert_in_order, assert_new_message, close_all,
                       delivered_copy, new_message_of, new_messages_from,
                       of_type, session, wait_db_status, ws_test)


@ws_test
async def test_first_frames_of_a_user_without_friends():
    user = new_user()
    conn = await session(user)          # asserts both frames exactly
    assert conn.online == {"type": "online_friends", "friends": []}
    await conn.quiet(1.0)
    assert [without_cursor(f) for f in conn.frames] == [
        {"type": "connection_established", "user_id": user.account_id,
         "message": "Connected to chat server"},
        {"type": "online_friends", "friends": []}]
    await conn.close()


@ws_test
async def test_online_friends_lists_the_online_friends_only():
    me = new_user()
    near, far, offline, stranger = (new_user() for _ in range(4))
    for friend in (near, far, offline):
        make_friends(friend, me)
    conns = [await session(near, daemon=1), await session(far, daemon=2),
             await session(stranger, daemon=1)]
    mine = await session(me, daemon=1)
    assert mine.online == {
        "type": "online_friends",
        "friends": sorted([near.account_id, far.account_id])}
    await mine.close()
    for conn in conns:
        await conn.close()


@ws_test
async def test_undelivered_messages_come_after_online_friends(db):
    a, b = new_friends()
    sender = await session(a)
    sent = [send(a, b, f"while you were away {i}") for i in range(3)]
    receiver = await session(b)
    assert receiver.online == {"type": "online_friends",
                               "friends": [a.account_id]}
    got = [await receiver.next() for _ in sent]
    assert got == [{"type": "new_message", "message": delivered_copy(m)}
                   for m in sent]
    for message in sent:
        assert await wait_db_status(db, message["message_id"],
                                    "delivered") == "delivered"
    # The sender hears of each delivery, once.
    for message in sent:
        await sender.expect("message_delivered",
                            message_id=message["message_id"])
    await sender.quiet(1.0, of_type("message_delivered"))
    await receiver.quiet(1.0, of_type("new_message"))
    # Frames in this exact order, and nothing else before them.
    assert receiver.frames[:2 + len(sent)] == [
        receiver.frames[0], receiver.online] + got
    await receiver.close()
    await sender.close()


@ws_test
async def test_undelivered_messages_oldest_first():
    a, b = new_friends()
    c = new_user()
    make_friends(c, b)
    sent = []
    for i in range(6):
        sender = a if i % 2 == 0 else c
        sent.append(send(sender, b, f"m{i}"))
    receiver = await session(b, daemon=2)
    got = [(await receiver.next())["message"] for _ in sent]
    assert [m["message_id"] for m in got] == \
        [m["message_id"] for m in sent]
    assert [m["created_at"] for m in got] == \
        sorted(m["created_at"] for m in got)
    await receiver.close()


@ws_test
async def test_delivered_read_and_deleted_messages_are_not_sent_again(db):
    a, b = new_friends()
    kept = send(a, b, "kept")
    deleted = send(a, b, "deleted")
    read = send(a, b, "read")
    body(delete_message(a.access, deleted["message_id"]), 200)
    body(mark_read(b.access, read["message_id"]), 200)
    first = await session(b)
    assert await first.next() == {"type": "new_message",
                                  "message": delivered_copy(kept)}
    await first.quiet(1.0, of_type("new_message"))
    assert await wait_db_status(db, kept["message_id"], "delivered") == \
        "delivered"
    await first.close()
    # Delivered already: a later connection does not get it again.
    second = await session(b)
    await second.quiet(1.0, of_type("new_message"))
    await second.close()


@ws_test
async def test_undelivered_go_to_the_first_connection_live_to_others(db):
    """Messages waiting at connection time come to the connecting socket;
    a second connection opened later gets only what is new."""
    a, b = new_friends()
    waiting = send(a, b, "waiting")
    first = await session(b, daemon=1)
    await first.take(new_message_of(waiting["message_id"]))
    # Delivered once the first daemon has written so; until then it is
    # still undelivered, and a connection may get it.
    assert await wait_db_status(db, waiting["message_id"], "delivered") == \
        "delivered"
    second = await session(b, daemon=2)
    live = send(a, b, "live")
    for conn in (first, second):
        frame = await conn.take(new_message_of(live["message_id"]))
        assert_new_message(frame, live)
    await second.quiet(0.5, new_message_of(waiting["message_id"]))
    await first.close()
    await second.close()


async def connect_during_a_stream(a, b, n=150, connections=30):
    """a sends n messages by REST, one after the other (at the rate that
    CONTRACT §12 allows an account), while b opens a new
    connection every 30 ms on either daemon, each kept open. Returns
    (the ids sent, b's connections) once every message reached one of
    them, or 10 s passed; the caller closes the connections."""
    acked = []

    def stream():
        for i in paced(n):
            acked.append(body(send_message(a.access, b.account_id,
                                           f"stream {i}"), 201))

    conns = []
    sender = asyncio.get_running_loop().run_in_executor(None, stream)
    try:
        while not sender.done() and len(conns) < connections:
            await asyncio.sleep(0.03)
            conns.append(await session(b, daemon=1 + len(conns) % 2))
    finally:
        await asyncio.wait_for(sender, 60)
    ids = {m["message_id"] for m in acked}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ids <= {
            m["message_id"] for conn in conns
            for m in new_messages_from(conn, a)}:
        await asyncio.sleep(0.1)
    return ids, conns


@ws_test(timeout=120)
async def test_connecting_during_a_stream_keeps_created_at_order():
    """CONTRACT §6 "Ordering": a user who connects while a friend is
    sending gets, on each connection, the undelivered messages and then
    the live ones, all in created_at order."""
    a, b = new_friends()
    ids, conns = await connect_during_a_stream(a, b)
    try:
        got = {m["message_id"] for conn in conns
               for m in new_messages_from(conn, a)}
        assert ids <= got, f"{len(ids - got)} messages reached no connection"
        for conn in conns:
            assert_in_order(conn, a)
    finally:
        await close_all(*conns)


@ws_test(timeout=120)
async def test_connecting_during_a_stream_sends_each_message_once():
    """A copy may come twice only across a reconnect (CONTRACT §7): on one
    connection, each message comes once, undelivered or live."""
    a, b = new_friends()
    ids, conns = await connect_during_a_stream(a, b)
    try:
        for conn in conns:
            seen = [m["message_id"] for m in new_messages_from(conn, a)]
            twice = sorted({i for i in seen if seen.count(i) > 1})
            assert not twice, (f"{conn.label}: {len(twice)} of {len(seen)}"
                               f" messages came twice: {twice[:5]}")
    finally:
        await close_all(*conns)
