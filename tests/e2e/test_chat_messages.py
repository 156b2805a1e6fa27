"""Mark read, delete, unread count and online friends (CONTRACT §5), and
the times set by the database clock (CONTRACT §1)."""

import datetime
import secrets

import pytest

from chat_api import (api, assert_422, assert_error, assert_message,
                      bad_uuid, body, count_messages, has_control, has_nul,
                      db_now, delete_message, friend_remove, friend_request,
                      make_friends, mark_read, message_row, new_user,
                      online_friends, page, parse_time, random_uuid, send,
                      unread_count, history, web_server)


# ---------------------------------------------------------------- mark read

def test_mark_read(db, friends):
    a, b = friends
    sent = send(a, b, "read me")
    before = db_now(db)
    read = body(mark_read(b.access, sent["message_id"]), 200)
    after = db_now(db)
    assert_message(read, a, b, "read me", status="read", read=True)
    assert read["message_id"] == sent["message_id"]
    assert read["created_at"] == sent["created_at"]
    read_at = parse_time(read["read_at"])
    assert before <= read_at <= after
    assert parse_time(read["updated_at"]) > parse_time(sent["updated_at"])
    assert before <= parse_time(read["updated_at"]) <= after
    row = message_row(db, sent["message_id"])
    assert (row["status"], row["read_at"], row["updated_at"]) == \
        ("read", read_at, parse_time(read["updated_at"]))


def test_mark_read_is_idempotent(db, friends):
    a, b = friends
    sent = send(a, b, "twice")
    first = body(mark_read(b.access, sent["message_id"]), 200)
    row = message_row(db, sent["message_id"])
    second = body(mark_read(b.access, sent["message_id"]), 200)
    assert second == first
    assert second["read_at"] == first["read_at"]
    assert message_row(db, sent["message_id"]) == row


def test_mark_read_with_uppercase_id_and_trailing_slash(friends):
    a, b = friends
    sent = send(a, b, "upper")
    r = api("PUT", f"/chat/messages/{sent['message_id'].upper()}/read/",
            token=b.access)
    assert body(r, 200)["message_id"] == sent["message_id"]


def test_mark_read_by_the_sender(db, friends):
    a, b = friends
    sent = send(a, b, "mine")
    assert_error(mark_read(a.access, sent["message_id"]), 403,
                 "Only the receiver can mark a message as read")
    row = message_row(db, sent["message_id"])
    assert (row["status"], row["read_at"]) == ("sent", None)


def test_mark_read_unknown_message(user):
    assert_error(mark_read(user.access, random_uuid()), 404,
                 "Message not found")


def test_mark_read_deleted_message(db, friends):
    a, b = friends
    sent = send(a, b, "deleted before read")
    body(delete_message(a.access, sent["message_id"]), 200)
    assert_error(mark_read(b.access, sent["message_id"]), 404,
                 "Message not found")
    row = message_row(db, sent["message_id"])
    assert (row["status"], row["read_at"]) == ("sent", None)


def test_mark_read_by_a_third_user(db, friends):
    a, b = friends
    third = new_user()
    make_friends(third, a)
    make_friends(third, b)
    sent = send(a, b, "not yours")
    assert_error(mark_read(third.access, sent["message_id"]), 404,
                 "Message not found")
    assert message_row(db, sent["message_id"])["status"] == "sent"


def test_mark_read_after_the_friendship_ended(friends):
    """Not ruled out by the contract: the receiver still owns its copy."""
    a, b = friends
    sent = send(a, b, "last words")
    body(friend_remove(a.access, b.account_id), 200)
    read = body(mark_read(b.access, sent["message_id"]), 200)
    assert read["status"] == "read"


@pytest.mark.parametrize("bad", ["not-a-uuid", "1", "zzzzzzzz-zzzz-zzzz-zzzz-"
                                 "zzzzzzzzzzzz"])
def test_mark_read_malformed_id(user, bad):
    assert_422(api("PUT", f"/chat/messages/{bad}/read", token=user.access),
               bad_uuid("path", "message_id"))


# ------------------------------------------------------------------- delete

def test_delete(db, friends):
    a, b = friends
    sent = send(a, b, "soon gone")
    before = db_now(db)
    r = delete_message(a.access, sent["message_id"])
    after = db_now(db)
    assert body(r, 200) == {"detail": "Message deleted",
                            "message_id": sent["message_id"]}
    row = message_row(db, sent["message_id"])
    assert row["is_deleted"] is True
    assert row["content"] == "soon gone"
    assert row["created_at"] == parse_time(sent["created_at"])
    assert row["updated_at"] > parse_time(sent["updated_at"])
    assert before <= row["updated_at"] <= after
    assert page(history(a.access, b.account_id), total=0) == []


def test_delete_with_uppercase_id_answers_lowercase(friends):
    a, b = friends
    sent = send(a, b, "upper")
    r = api("DELETE", f"/chat/messages/{sent['message_id'].upper()}/",
            token=a.access)
    assert body(r, 200) == {"detail": "Message deleted",
                            "message_id": sent["message_id"]}


def test_delete_a_read_message(db, friends):
    a, b = friends
    sent = send(a, b, "read then deleted")
    read = body(mark_read(b.access, sent["message_id"]), 200)
    body(delete_message(a.access, sent["message_id"]), 200)
    row = message_row(db, sent["message_id"])
    assert row["is_deleted"] is True
    assert (row["status"], row["read_at"]) == \
        ("read", parse_time(read["read_at"]))


def test_delete_by_the_receiver(db, friends):
    a, b = friends
    sent = send(a, b, "not yours to delete")
    assert_error(delete_message(b.access, sent["message_id"]), 403,
                 "Only the sender can delete this message")
    assert message_row(db, sent["message_id"])["is_deleted"] is False
    assert page(history(b.access, a.account_id), total=1) == [sent]


def test_delete_twice(db, friends):
    a, b = friends
    sent = send(a, b, "once")
    body(delete_message(a.access, sent["message_id"]), 200)
    row = message_row(db, sent["message_id"])
    assert_error(delete_message(a.access, sent["message_id"]), 404,
                 "Message not found")
    assert_error(delete_message(b.access, sent["message_id"]), 404,
                 "Message not found")
    assert message_row(db, sent["message_id"]) == row
    assert page(history(a.access, b.account_id), total=0) == []


def test_delete_unknown_message(user):
    assert_error(delete_message(user.access, random_uuid()), 404,
                 "Message not found")


def test_delete_by_a_third_user(db, friends):
    a, b = friends
    third = new_user()
    make_friends(a, third)
    sent = send(a, b, "between us")
    assert_error(delete_message(third.access, sent["message_id"]), 404,
                 "Message not found")
    assert message_row(db, sent["message_id"])["is_deleted"] is False


@pytest.mark.parametrize("bad", ["not-a-uuid", "0"])
def test_delete_malformed_id(user, bad):
    assert_422(api("DELETE", f"/chat/messages/{bad}", token=user.access),
               bad_uuid("path", "message_id"))


def test_delete_keeps_the_total_right(friends):
    a, b = friends
    sent = [send(a, b, f"m{i}") for i in range(4)]
    body(delete_message(a.access, sent[1]["message_id"]), 200)
    assert_error(delete_message(a.access, sent[1]["message_id"]), 404,
                 "Message not found")
    assert page(history(b.access, a.account_id), total=3) == \
        [sent[3], sent[2], sent[0]]
    body(delete_message(a.access, sent[3]["message_id"]), 200)
    assert page(history(b.access, a.account_id), total=2) == \
        [sent[2], sent[0]]


# ------------------------------------------------------------- unread count

def test_unread_count_of_a_new_account(user):
    assert body(api("GET", "/chat/messages/unread-count", token=user.access),
                200) == {"unread_count": 0}


def test_unread_count_with_trailing_slash(user):
    assert body(api("GET", "/chat/messages/unread-count/",
                    token=user.access), 200) == {"unread_count": 0}


def test_unread_count_through_read_and_delete(friends):
    a, b = friends
    to_b = [send(a, b, f"to b {i}") for i in range(4)]
    send(b, a, "to a")
    assert unread_count(b.access) == 4
    assert unread_count(a.access) == 1
    body(mark_read(b.access, to_b[0]["message_id"]), 200)
    assert unread_count(b.access) == 3
    body(mark_read(b.access, to_b[0]["message_id"]), 200)
    assert unread_count(b.access) == 3
    # Deleting an unread message takes it out of the count ...
    body(delete_message(a.access, to_b[1]["message_id"]), 200)
    assert unread_count(b.access) == 2
    # ... deleting a read one changes nothing.
    body(delete_message(a.access, to_b[0]["message_id"]), 200)
    assert unread_count(b.access) == 2
    assert unread_count(a.access) == 1


def test_unread_count_spans_conversations(user):
    f1, f2 = new_user(), new_user()
    make_friends(user, f1)
    make_friends(f2, user)
    send(f1, user, "one")
    send(f2, user, "two")
    send(f2, user, "three")
    assert unread_count(user.access) == 3


# ----------------------------------------------------------- online friends

def presence(db, node, rows, heartbeat_ago=None):
    """A presence node with connections (connection_id, account_id)."""
    with db.cursor() as cur:
        if heartbeat_ago is None:
            cur.execute("INSERT INTO presence_node (node_id) VALUES (%s)",
                        (node,))
        else:
            cur.execute("INSERT INTO presence_node (node_id, heartbeat_at)"
                        " VALUES (%s, now() - %s)", (node, heartbeat_ago))
        for connection_id, account_id in rows:
            cur.execute("INSERT INTO presence_connection"
                        " (node_id, connection_id, account_id)"
                        " VALUES (%s, %s, %s)",
                        (node, connection_id, account_id))


def drop_presence(db, node):
    with db.cursor() as cur:
        cur.execute("DELETE FROM presence_node WHERE node_id = %s", (node,))


def online(user):
    answer = body(online_friends(user.access), 200)
    assert set(answer) == {"online_friends"}, answer
    return answer["online_friends"]


def test_online_friends_none_online(friends):
    a, b = friends
    assert body(online_friends(a.access), 200) == {"online_friends": []}
    assert body(api("GET", "/chat/friends/online/", token=b.access), 200) == \
        {"online_friends": []}


def test_online_friends_lists_friends_only(db, user):
    f1, f2, offline_friend = new_user(), new_user(), new_user()
    for friend in (f1, f2, offline_friend):
        make_friends(user, friend)
    not_friend, pending = new_user(), new_user()
    body(friend_request(pending.access, user.account_id), 201)
    node = "test-node-" + secrets.token_hex(4)
    try:
        presence(db, node, [(1, f1.account_id), (2, not_friend.account_id),
                            (3, f2.account_id), (4, f2.account_id),
                            (5, pending.account_id), (6, user.account_id)])
        assert online(user) == sorted([f1.account_id, f2.account_id])
        # The caller's own connection does not matter; friends see it.
        assert online(f1) == [user.account_id]
        assert online(not_friend) == []
    finally:
        drop_presence(db, node)
    assert online(user) == []


def test_online_friends_without_own_connection(db, friends):
    a, b = friends
    node = "test-node-" + secrets.token_hex(4)
    try:
        presence(db, node, [(1, b.account_id)])
        assert online(a) == [b.account_id]
    finally:
        drop_presence(db, node)


def test_online_friends_across_nodes(db, friends):
    a, b = friends
    c = new_user()
    make_friends(c, a)
    nodes = ["test-node-" + secrets.token_hex(4) for _ in range(2)]
    try:
        presence(db, nodes[0], [(1, b.account_id)])
        presence(db, nodes[1], [(1, c.account_id), (2, b.account_id)])
        assert online(a) == sorted([b.account_id, c.account_id])
    finally:
        for node in nodes:
            drop_presence(db, node)


def test_online_friends_of_a_dead_node(db, friends):
    """A node whose heartbeat is 10 minutes old counts as gone. (Live
    first, then dead: a push daemon may reap the dead node at any time.)"""
    a, b = friends
    node = "test-node-" + secrets.token_hex(4)
    try:
        presence(db, node, [(1, b.account_id)])
        assert online(a) == [b.account_id]
        with db.cursor() as cur:
            cur.execute("UPDATE presence_node"
                        " SET heartbeat_at = now() - interval '10 minutes'"
                        " WHERE node_id = %s", (node,))
            assert cur.rowcount == 1
        assert online(a) == []
    finally:
        drop_presence(db, node)


def test_online_friends_ignores_a_node_dead_from_the_start(db, friends):
    a, b = friends
    node = "test-node-" + secrets.token_hex(4)
    try:
        presence(db, node, [(1, b.account_id)],
                 heartbeat_ago=datetime.timedelta(minutes=10))
        assert online(a) == []
    finally:
        drop_presence(db, node)


def test_online_friends_after_removal(db, friends):
    a, b = friends
    node = "test-node-" + secrets.token_hex(4)
    try:
        presence(db, node, [(1, b.account_id), (2, a.account_id)])
        assert online(a) == [b.account_id]
        body(friend_remove(b.access, a.account_id), 200)
        assert online(a) == []
        assert online(b) == []
    finally:
        drop_presence(db, node)


# ------------------------------------------------- times from the DB clock

def test_message_times_follow_the_database_clock(db, friends):
    a, b = friends
    t0 = db_now(db)
    sent = send(a, b, "clock")
    t1 = db_now(db)
    created = parse_time(sent["created_at"])
    assert t0 <= created <= t1
    assert abs(created - t1) < datetime.timedelta(seconds=5)
    read = body(mark_read(b.access, sent["message_id"]), 200)
    t2 = db_now(db)
    assert t1 <= parse_time(read["updated_at"]) <= t2
    assert t1 <= parse_time(read["read_at"]) <= t2
    body(delete_message(a.access, sent["message_id"]), 200)
    t3 = db_now(db)
    row = message_row(db, sent["message_id"])
    assert t2 <= row["updated_at"] <= t3
    assert row["created_at"] == created


def test_each_message_gets_its_own_time(friends):
    """The seed's model froze created_at at import time: fixed here."""
    a, b = friends
    first = send(a, b, "first")
    second = send(a, b, "second")
    assert parse_time(second["created_at"]) > parse_time(first["created_at"])


def test_message_left_in_db_after_removal(db, friends):
    a, b = friends
    sent = send(a, b, "kept")
    body(friend_remove(a.access, b.account_id), 200)
    assert count_messages(db, a.account_id, b.account_id) == 1
    assert message_row(db, sent["message_id"])["is_deleted"] is False


@pytest.mark.parametrize("method, path, name", [
    ("PUT", "/chat/messages/{}/read", "message_id"),
    ("DELETE", "/chat/messages/{}", "message_id"),
    ("GET", "/chat/messages/history/{}", "friend_id"),
    ("DELETE", "/friends/{}", "friend_id"),
    ("GET", "/friends/status/{}", "account_id"),
    ("POST", "/friends/accept/{}", "sender_id"),
], ids=["read", "delete", "history", "remove", "status", "accept"])
def test_bytes_not_utf8_in_a_path_id(user, method, path, name):
    """A malformed id in a path is a JSON 422, never another answer."""
    r = api(method, path.format("%e9%28"), token=user.access)
    assert_422(r, bad_uuid("path", name))


@pytest.mark.parametrize("raw", ["%ff", "%00",
                                 "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f1%01"])
def test_other_raw_bytes_in_a_path_id(user, raw):
    r = api("PUT", f"/chat/messages/{raw}/read", token=user.access)
    if raw == "%00" and web_server() == "nginx":
        # nginx decodes the path to choose a location and refuses a NUL in
        # it itself, before chat-fcgi sees the request (no setting passes it
        # on): its JSON 400 (etc/stack/nginx.conf.in). lighttpd and Apache
        # pass it on, and get the application's 422 below.
        assert body(r, 400) == {"detail": "Bad Request"}
        return
    # CONTRACT §12: a control character anywhere in the path is refused
    # before routing (the id is never read); other bytes make a bad id.
    expected = {"%ff": bad_uuid("path", "message_id"),
                "%00": has_nul("path")}.get(raw, has_control("path"))
    assert_422(r, expected)
