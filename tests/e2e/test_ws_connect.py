"""What a connection gets first (CONTRACT §6): connection_established, then
online_friends, then what was sent while the user was away, oldest first,
as new_message; those become delivered (CONTRACT §7)."""

from chat_api import (body, delete_message, make_friends, mark_read,
                      new_friends, new_user, send)
from ws_client import (assert_new_message, delivered_copy, new_message_of,
                       of_type, session, wait_db_status, ws_test)


@ws_test
async def test_first_frames_of_a_user_without_friends():
    user = new_user()
    conn = await session(user)          # asserts both frames exactly
    assert conn.online == {"type": "online_friends", "friends": []}
    await conn.quiet(1.0)
    assert conn.frames == [
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
    second = await session(b, daemon=2)
    live = send(a, b, "live")
    for conn in (first, second):
        frame = await conn.take(new_message_of(live["message_id"]))
        assert_new_message(frame, live)
    await second.quiet(0.5, new_message_of(waiting["message_id"]))
    await first.close()
    await second.close()
