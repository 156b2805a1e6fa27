"""send_message, mark_read, typing and deletion over the WebSocket
(CONTRACT §6), and what REST changes push to open connections (§5)."""

import pytest

from chat_api import (assert_message, body, count_messages,
                      delete_message, history, make_friends, mark_read,
                      message_row, new_friends, new_user, page, parse_time,
                      send)
from ws_client import (MESSAGE_SENT_KEYS, assert_error_frame,
                       assert_in_order, assert_new_message, blocking, close_all,
                       new_message_of, new_messages_from, of_type, session,
                       wait_db_status, without_cursor, ws_test)


def send_frame(receiver, content, temp_id=None):
    frame = {"type": "send_message", "receiver_id": receiver.account_id,
             "content": content}
    if temp_id is not None:
        frame["temp_id"] = temp_id
    return frame


async def ws_send(conn, receiver, content, temp_id=None):
    """Sends over conn; returns the message_sent frame (checked)."""
    await conn.send(send_frame(receiver, content, temp_id))
    ack = await conn.expect("message_sent")
    keys = MESSAGE_SENT_KEYS | ({"temp_id"} if temp_id is not None else set())
    assert set(ack) == keys, ack
    assert ack["status"] == "sent", ack
    if temp_id is not None:
        assert ack["temp_id"] == temp_id, ack
    return ack


def events_of(db, user):
    """The kinds of the events user caused, in order."""
    with db.cursor() as cur:
        cur.execute("SELECT kind FROM event WHERE actor_id = %s"
                    " ORDER BY event_id", (user.account_id,))
        return [row[0] for row in cur.fetchall()]


# ------------------------------------------------------------ send_message

@ws_test
async def test_send_message_reaches_every_connection_but_the_sending_one(db):
    a, b = new_friends()
    a1, a2 = await session(a, daemon=1), await session(a, daemon=1)
    b1, b2 = await session(b, daemon=1), await session(b, daemon=1)
    # A message that commits while a connection is being welcomed may come
    # in its snapshot of undelivered messages, without a cursor (CONTRACT
    # §10); once one came to each either way, the next ones are events.
    first = await blocking(send, a, b, "while connecting")
    for conn in (b1, b2, a2):
        await conn.take(new_message_of(first["message_id"]))
    ack = await ws_send(a1, b, "Hello over the socket", temp_id="tmp-1")
    message_id = ack["message_id"]
    row = message_row(db, message_id)
    assert (row["sender_id"], row["receiver_id"], row["content"]) == \
        (a.account_id, b.account_id, "Hello over the socket")
    assert parse_time(ack["created_at"]) == row["created_at"]

    frames = [await conn.take(new_message_of(message_id))
              for conn in (b1, b2, a2)]
    assert set(frames[0]) == {"type", "message", "cursor"}
    assert without_cursor(frames[0]) == without_cursor(frames[1]) == \
        without_cursor(frames[2]), frames
    message = frames[0]["message"]
    assert_message(message, a, b, "Hello over the socket", status="delivered")
    assert message["message_id"] == message_id
    assert message["created_at"] == ack["created_at"]

    await a1.expect("message_delivered", message_id=message_id)
    await a1.quiet(1.0, new_message_of(message_id))
    assert a1.count(of_type("message_delivered",
                            message_id=message_id)) == 1
    assert a1.count(of_type("message_sent")) == 1
    assert await wait_db_status(db, message_id, "delivered") == "delivered"
    await close_all(a1, a2, b1, b2)


@ws_test
async def test_message_sent_has_no_temp_id_when_none_was_sent():
    a, b = new_friends()
    conn = await session(a)
    ack = await ws_send(conn, b, "no temp id")
    assert "temp_id" not in ack
    await conn.close()


@pytest.mark.parametrize("temp_id", ["x", "t" * 64, "\u00e9" * 64,
                                     "\U0001F600" * 64, "", "a b/c\"\\"])
@ws_test
async def test_temp_id_is_echoed(temp_id):
    a, b = new_friends()
    conn = await session(a)
    ack = await ws_send(conn, b, "with temp id", temp_id=temp_id)
    assert ack["temp_id"] == temp_id
    await conn.close()


@pytest.mark.parametrize("content", [
    "  padded  ", "line\nbreak", "\u00e9\u4e2d\U0001F600", "x" * 5000,
    " " + "y" * 5000 + "\n", "<b>html</b> & 'quotes' \"dq\" \\ /",
])
@ws_test
async def test_content_is_delivered_and_stored_as_sent(db, content):
    a, b = new_friends()
    sender, receiver = await session(a), await session(b, daemon=2)
    ack = await ws_send(sender, b, content, temp_id="c")
    frame = await receiver.take(new_message_of(ack["message_id"]))
    assert frame["message"]["content"] == content
    assert message_row(db, ack["message_id"])["content"] == content
    await close_all(sender, receiver)


@ws_test
async def test_send_to_an_offline_friend_is_stored_as_sent(db):
    a, b = new_friends()
    conn = await session(a)
    ack = await ws_send(conn, b, "nobody home", temp_id="off")
    await conn.quiet(1.0, of_type("message_delivered"))
    assert message_row(db, ack["message_id"])["status"] == "sent"
    receiver = await session(b)
    frame = await receiver.next()
    assert frame["type"] == "new_message"
    assert frame["message"]["message_id"] == ack["message_id"]
    await conn.expect("message_delivered", message_id=ack["message_id"])
    await close_all(conn, receiver)


@ws_test
async def test_ws_send_is_in_history(db):
    a, b = new_friends()
    conn = await session(a)
    acks = [await ws_send(conn, b, f"h{i}", temp_id=str(i))
            for i in range(3)]
    messages = page(history(b.access, a.account_id), 3)
    assert [m["message_id"] for m in messages] == \
        [ack["message_id"] for ack in reversed(acks)]
    for m, i in zip(messages, (2, 1, 0)):
        assert_message(m, a, b, f"h{i}")       # status sent: b is offline
    await conn.close()


@ws_test
async def test_rest_send_reaches_all_the_senders_connections():
    a, b = new_friends()
    a1, a2 = await session(a, daemon=1), await session(a, daemon=2)
    b1, b2 = await session(b, daemon=1), await session(b, daemon=2)
    message = send(a, b, "sent by REST")
    for conn in (a1, a2, b1, b2):
        assert_new_message(
            await conn.take(new_message_of(message["message_id"])), message)
    for conn in (a1, a2):
        await conn.expect("message_delivered",
                          message_id=message["message_id"])
    await close_all(a1, a2, b1, b2)


@ws_test
async def test_many_sends_arrive_in_created_at_order():
    a, b = new_friends()
    sender, receiver = await session(a), await session(b, daemon=2)
    n = 30
    for i in range(n):
        await sender.send(send_frame(b, f"burst {i}", temp_id=str(i)))
    acks = [await sender.expect("message_sent") for _ in range(n)]
    assert sorted(int(ack["temp_id"]) for ack in acks) == list(range(n))
    wanted = {ack["message_id"] for ack in acks}
    for message_id in wanted:
        await receiver.take(new_message_of(message_id))
    assert {m["message_id"] for m in new_messages_from(receiver, a)} == wanted
    assert_in_order(receiver, a)
    # More sends than a session remembers (SESSION_RECENT_SENDS), all
    # answered in one go: none comes back to the connection that sent it.
    await sender.quiet(1.0, of_type("new_message"))
    await close_all(sender, receiver)


@ws_test
async def test_a_burst_of_long_messages_is_answered(db):
    """The sends that wait behind a batch go to the database together:
    200 messages of 5,000 characters (4 bytes each in UTF-8: 4 MB), from
    10 connections at once (20 each: within an account's burst and its
    requests waiting, CONTRACT §12), make queries many times larger than
    a socket's buffer, which the daemon sends in many writes. Every send
    is answered and stored, and the daemon goes on serving. (The
    receivers are not connected: their queues would be over their cap,
    1 MiB, and closed with 1008.)"""
    pairs = [new_friends() for _ in range(10)]
    senders = [await session(a, daemon=1) for a, _ in pairs]
    n, long_text = 20, "😀" * 5000
    for i in range(n):
        for sender, (_, b) in zip(senders, pairs):
            await sender.send(send_frame(b, f"{i} {long_text}"[:5000],
                                         temp_id=str(i)))
    for sender, (a, b) in zip(senders, pairs):
        acks = [await sender.expect("message_sent", timeout=60)
                for _ in range(n)]
        assert sorted(int(ack["temp_id"]) for ack in acks) == list(range(n))
        assert count_messages(db, a.account_id, b.account_id) == n
    await ws_send(senders[0], pairs[0][1], "and one more", temp_id="after")
    await close_all(*senders)


@ws_test
async def test_a_burst_to_several_friends_answers_each_send_in_its_place(db):
    """Sends that arrive together go to the database as one batch, stored
    in conversation order (push_send_batch); each answer must still be the one of
    its own frame: right temp_id, right message, errors where they were
    sent."""
    a, b, c = new_user(), new_user(), new_user()
    make_friends(a, b)
    make_friends(a, c)
    stranger = new_user()
    conn = await session(a)
    receivers = [b, stranger, c, b, a, c, stranger, b]
    for i, receiver in enumerate(receivers):
        await conn.send(send_frame(receiver, f"burst {i}", temp_id=str(i)))
    for i, receiver in enumerate(receivers):
        if receiver is stranger or receiver is a:
            error = await conn.take(of_type("error", temp_id=str(i)))
            if receiver is stranger:
                assert_error_frame(error, 403, "Not friends with recipient",
                                   "send_message", str(i))
            else:
                assert_error_frame(error, 400,
                                   "Cannot send message to yourself",
                                   "send_message", str(i))
            continue
        ack = await conn.take(of_type("message_sent", temp_id=str(i)))
        row = message_row(db, ack["message_id"])
        assert (row["receiver_id"], row["content"]) == \
            (receiver.account_id, f"burst {i}")
    await conn.quiet(0.3, of_type("message_sent"))
    await conn.close()


# --------------------------------------------------------------- mark_read

@ws_test
async def test_mark_read_over_ws_tells_every_sender_connection(db):
    a, b = new_friends()
    a1, a2 = await session(a, daemon=1), await session(a, daemon=2)
    receiver = await session(b)
    message = send(a, b, "read me")
    await receiver.take(new_message_of(message["message_id"]))
    await receiver.send({"type": "mark_read",
                         "message_id": message["message_id"],
                         "temp_id": "r1"})
    expected = {"type": "message_read", "message_id": message["message_id"],
                "read_by": b.account_id}
    for conn in (a1, a2):
        assert without_cursor(await conn.expect("message_read")) == expected
    row = message_row(db, message["message_id"])
    assert row["status"] == "read" and row["read_at"] is not None
    # Again: no second message_read, and no error.
    await receiver.send({"type": "mark_read",
                         "message_id": message["message_id"]})
    await a1.quiet(1.0, of_type("message_read"))
    await a2.quiet(0, of_type("message_read"))
    await receiver.quiet(0, of_type("error"))
    assert message_row(db, message["message_id"])["read_at"] == \
        row["read_at"]
    await close_all(a1, a2, receiver)


@ws_test
async def test_mark_read_over_rest_tells_the_sender():
    a, b = new_friends()
    conn = await session(a)
    message = send(a, b, "read by REST")
    body(mark_read(b.access, message["message_id"]), 200)
    assert without_cursor(await conn.expect("message_read")) == {
        "type": "message_read", "message_id": message["message_id"],
        "read_by": b.account_id}
    body(mark_read(b.access, message["message_id"]), 200)
    await conn.quiet(1.0, of_type("message_read"))
    await conn.close()


@ws_test
async def test_mark_read_after_rest_read_sends_nothing_more():
    a, b = new_friends()
    sender, receiver = await session(a), await session(b)
    message = send(a, b, "read twice, two ways")
    body(mark_read(b.access, message["message_id"]), 200)
    await sender.expect("message_read", message_id=message["message_id"])
    await receiver.send({"type": "mark_read",
                         "message_id": message["message_id"]})
    await sender.quiet(1.0, of_type("message_read"))
    await receiver.quiet(0, of_type("error"))
    await close_all(sender, receiver)


@ws_test
async def test_mark_read_by_the_sender_is_403(db):
    a, b = new_friends()
    conn = await session(a)
    ack = await ws_send(conn, b, "my own", temp_id="own")
    await conn.send({"type": "mark_read", "message_id": ack["message_id"],
                     "temp_id": "mr"})
    assert_error_frame(await conn.expect_error(), 403,
                       "Only the receiver can mark a message as read",
                       "mark_read", "mr")
    assert message_row(db, ack["message_id"])["status"] == "sent"
    await conn.close()


# ------------------------------------------------------------------ typing

@pytest.mark.parametrize("is_typing", [True, False])
@ws_test
async def test_typing_reaches_every_receiver_connection(db, is_typing):
    a, b = new_friends()
    sender = await session(a)
    b1, b2 = await session(b, daemon=1), await session(b, daemon=2)
    events_before = events_of(db, a)
    await sender.send({"type": "typing", "receiver_id": b.account_id,
                       "is_typing": is_typing})
    expected = {"type": "typing_indicator", "user_id": a.account_id,
                "is_typing": is_typing}
    for conn in (b1, b2):
        assert await conn.expect("typing_indicator") == expected
    await sender.quiet(0.5, of_type("typing_indicator"))
    await sender.quiet(0, of_type("error"))
    # Never stored: no message, no event.
    assert count_messages(db, a.account_id, b.account_id) == 0
    assert events_of(db, a) == events_before
    await close_all(sender, b1, b2)


@ws_test
async def test_typing_true_then_false():
    a, b = new_friends()
    sender, receiver = await session(a), await session(b)
    for flag in (True, False, True, False):
        await sender.send({"type": "typing", "receiver_id": b.account_id,
                           "is_typing": flag, "temp_id": "ty"})
    got = [await receiver.expect("typing_indicator") for _ in range(4)]
    assert [g["is_typing"] for g in got] == [True, False, True, False]
    await close_all(sender, receiver)


@ws_test
async def test_typing_to_a_stranger_is_403(stranger):
    a, b = new_friends()
    conn = await session(a)
    other = await session(stranger)
    await conn.send({"type": "typing", "receiver_id": stranger.account_id,
                     "is_typing": True, "temp_id": "ty"})
    assert_error_frame(await conn.expect_error(), 403,
                       "Not friends with recipient", "typing", "ty")
    await other.quiet(1.0, of_type("typing_indicator"))
    await close_all(conn, other)


# ------------------------------------------------------------------ delete

@ws_test
async def test_rest_delete_tells_the_receiver(db):
    a, b = new_friends()
    b1, b2 = await session(b, daemon=1), await session(b, daemon=2)
    message = send(a, b, "regret")
    for conn in (b1, b2):
        await conn.take(new_message_of(message["message_id"]))
    body(delete_message(a.access, message["message_id"]), 200)
    expected = {"type": "message_deleted",
                "message_id": message["message_id"]}
    for conn in (b1, b2):
        assert without_cursor(await conn.expect("message_deleted")) == expected
    assert message_row(db, message["message_id"])["is_deleted"] is True
    await close_all(b1, b2)


@ws_test
async def test_ws_sent_message_deleted_over_rest():
    a, b = new_friends()
    sender, receiver = await session(a), await session(b)
    ack = await ws_send(sender, b, "short-lived", temp_id="d")
    await receiver.take(new_message_of(ack["message_id"]))
    body(delete_message(a.access, ack["message_id"]), 200)
    assert without_cursor(await receiver.expect("message_deleted")) == {
        "type": "message_deleted", "message_id": ack["message_id"]}
    await receiver.send({"type": "mark_read",
                         "message_id": ack["message_id"], "temp_id": "x"})
    assert_error_frame(await receiver.expect_error(), 404,
                       "Message not found", "mark_read", "x")
    await close_all(sender, receiver)
