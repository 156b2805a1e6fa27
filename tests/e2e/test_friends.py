"""Friends (CONTRACT §4, docs/API.md "Friends"): requests, answers, lists,
status, removal, and my-groups of an account in no group."""

import json
import secrets

import pytest

from chat_api import (FRIENDSHIP_KEYS, PENDING_KEYS, api, assert_422,
                      assert_bad_credentials,
                      assert_error, assert_friendship,
                      assert_not_authenticated, bad_uuid, body,
                      count_messages, db_now, field_required, forge,
                      friend_accept,
                      friend_reject, friend_remove, friend_request,
                      friend_status, friend_status_word, friends_list,
                      friends_pending, friendship_row, history, invalid_json,
                      make_friends, new_user, not_a_dict, parse_time,
                      post_raw, public_of, random_uuid, send, set_active,
                      send_message)

LIST_PATHS = ["/friends/list", "/friends/list/", "/friends/", "/friends"]


def request_ok(sender, receiver):
    friendship = body(friend_request(sender.access, receiver.account_id), 201)
    assert_friendship(friendship, sender, receiver, "pending")
    return friendship


def lowercase_user(prefix):
    """A fresh user whose username is all lowercase and starts with prefix,
    so that every reading of "ordered by username" agrees."""
    return new_user(username=prefix + secrets.token_hex(7))


# ------------------------------------------------------------ POST request

def test_request_answers_pending_friendship(db, user, stranger):
    before = db_now(db)
    friendship = body(friend_request(user.access, stranger.account_id), 201)
    after = db_now(db)
    assert set(friendship) == FRIENDSHIP_KEYS
    assert_friendship(friendship, user, stranger, "pending")
    assert friendship["created_at"] == friendship["updated_at"]
    assert before <= parse_time(friendship["created_at"]) <= after
    row = friendship_row(db, user.account_id, stranger.account_id)
    assert row["sender_id"] == user.account_id
    assert row["receiver_id"] == stranger.account_id
    assert row["status"] == "pending"
    assert row["created_at"] == parse_time(friendship["created_at"])


def test_request_with_trailing_slash(user, stranger):
    r = friend_request(user.access, stranger.account_id,
                       path="/friends/request/")
    assert_friendship(body(r, 201), user, stranger, "pending")


def test_request_with_uppercase_id_answers_lowercase(user, stranger):
    r = friend_request(user.access, stranger.account_id.upper())
    assert_friendship(body(r, 201), user, stranger, "pending")


def test_request_to_oneself(db, user):
    assert_error(friend_request(user.access, user.account_id), 400,
                 "Cannot send friend request to yourself")
    assert friendship_row(db, user.account_id, user.account_id) is None


def test_request_to_unknown_account(user):
    assert_error(friend_request(user.access, random_uuid()), 404,
                 "Account not found")


def test_request_when_already_friends_either_way(friends):
    a, b = friends
    assert_error(friend_request(a.access, b.account_id), 400,
                 "Already friends")
    assert_error(friend_request(b.access, a.account_id), 400,
                 "Already friends")


def test_request_already_pending_same_direction(db, user, stranger):
    first = request_ok(user, stranger)
    assert_error(friend_request(user.access, stranger.account_id), 400,
                 "Friend request already pending")
    row = friendship_row(db, user.account_id, stranger.account_id)
    assert (row["sender_id"], row["status"]) == (user.account_id, "pending")
    assert row["created_at"] == parse_time(first["created_at"])


def test_request_already_pending_other_direction(db, user, stranger):
    request_ok(user, stranger)
    assert_error(friend_request(stranger.access, user.account_id), 400,
                 "Friend request already pending")
    row = friendship_row(db, user.account_id, stranger.account_id)
    assert (row["sender_id"], row["status"]) == (user.account_id, "pending")
    # The crossing request did not turn into an acceptance.
    assert friend_status_word(user, stranger) == "request_sent"
    assert friend_status_word(stranger, user) == "request_received"


@pytest.mark.parametrize("data, entry", [
    ({}, field_required("body", "receiver_id")),
    ({"receiver_id": None}, field_required("body", "receiver_id")),
    ({"receiver_id": "not-a-uuid"}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": ""}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f1"},
     bad_uuid("body", "receiver_id")),
    ({"receiver_id": 12345}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": 1.5}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": True}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": []}, bad_uuid("body", "receiver_id")),
    ({"receiver_id": {}}, bad_uuid("body", "receiver_id")),
    ({"receiver": "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f11"},
     field_required("body", "receiver_id")),
], ids=["missing", "null", "string", "empty", "short", "number", "float",
        "bool", "list", "object", "misnamed"])
def test_request_invalid_receiver_id(db, user, data, entry):
    assert_422(post_raw("/friends/request", json.dumps(data).encode(),
                        token=user.access), entry)
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM friendship"
                    " WHERE sender_id = %s OR receiver_id = %s",
                    (user.account_id, user.account_id))
        assert cur.fetchone()[0] == 0


@pytest.mark.parametrize("raw, entry", [
    (b"not json", invalid_json()),
    (b'{"receiver_id": ', invalid_json()),
    (b"[]", not_a_dict()),
    (b"", field_required("body")),
])
def test_request_bad_body(user, raw, entry):
    assert_422(post_raw("/friends/request", raw, token=user.access), entry)


# ------------------------------------------------------------- accept/reject

def test_accept_answers_accepted_friendship(db, user, stranger):
    requested = request_ok(user, stranger)
    before = db_now(db)
    accepted = body(friend_accept(stranger.access, user.account_id), 200)
    after = db_now(db)
    assert_friendship(accepted, user, stranger, "accepted")
    assert accepted["created_at"] == requested["created_at"]
    assert parse_time(accepted["updated_at"]) > \
        parse_time(requested["updated_at"])
    assert before <= parse_time(accepted["updated_at"]) <= after
    row = friendship_row(db, user.account_id, stranger.account_id)
    assert row["status"] == "accepted"
    assert row["updated_at"] == parse_time(accepted["updated_at"])
    assert friend_status_word(user, stranger) == "friends"
    assert friend_status_word(stranger, user) == "friends"
    assert body(friends_pending(stranger.access), 200) == []


def test_accept_with_uppercase_id_and_trailing_slash(user, stranger):
    request_ok(user, stranger)
    r = api("POST", f"/friends/accept/{user.account_id.upper()}/",
            token=stranger.access)
    assert_friendship(body(r, 200), user, stranger, "accepted")


def test_reject_answers_rejected_friendship(db, user, stranger):
    requested = request_ok(user, stranger)
    rejected = body(friend_reject(stranger.access, user.account_id), 200)
    assert_friendship(rejected, user, stranger, "rejected")
    assert rejected["created_at"] == requested["created_at"]
    assert parse_time(rejected["updated_at"]) > \
        parse_time(requested["updated_at"])
    assert friendship_row(db, user.account_id,
                          stranger.account_id)["status"] == "rejected"
    assert friend_status_word(user, stranger) == "none"
    assert friend_status_word(stranger, user) == "none"
    assert body(friends_pending(stranger.access), 200) == []
    assert body(friends_list(user.access), 200) == []
    assert body(friends_list(stranger.access), 200) == []


@pytest.mark.parametrize("answer", [friend_accept, friend_reject],
                         ids=["accept", "reject"])
def test_answer_wrong_direction(user, stranger, answer):
    request_ok(user, stranger)
    # The sender cannot answer its own request.
    assert_error(answer(user.access, stranger.account_id), 404,
                 "Friend request not found")
    assert friend_status_word(user, stranger) == "request_sent"


@pytest.mark.parametrize("answer", [friend_accept, friend_reject],
                         ids=["accept", "reject"])
def test_answer_when_already_accepted(friends, answer):
    a, b = friends
    assert_error(answer(b.access, a.account_id), 404,
                 "Friend request not found")
    assert friend_status_word(a, b) == "friends"


@pytest.mark.parametrize("answer", [friend_accept, friend_reject],
                         ids=["accept", "reject"])
def test_answer_when_already_rejected(user, stranger, answer):
    request_ok(user, stranger)
    body(friend_reject(stranger.access, user.account_id), 200)
    assert_error(answer(stranger.access, user.account_id), 404,
                 "Friend request not found")
    assert friend_status_word(user, stranger) == "none"


@pytest.mark.parametrize("answer", [friend_accept, friend_reject],
                         ids=["accept", "reject"])
def test_answer_with_no_request_at_all(user, stranger, answer):
    assert_error(answer(user.access, stranger.account_id), 404,
                 "Friend request not found")


@pytest.mark.parametrize("answer", [friend_accept, friend_reject],
                         ids=["accept", "reject"])
def test_answer_unknown_account(user, answer):
    assert_error(answer(user.access, random_uuid()), 404,
                 "Friend request not found")


def test_answer_request_to_someone_else(user, stranger):
    third = new_user()
    request_ok(user, stranger)
    assert_error(friend_accept(third.access, user.account_id), 404,
                 "Friend request not found")
    assert friend_status_word(user, stranger) == "request_sent"


@pytest.mark.parametrize("path", ["/friends/accept/", "/friends/reject/"])
@pytest.mark.parametrize("bad", ["not-a-uuid", "123",
                                 "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f1x"])
def test_answer_malformed_id(user, path, bad):
    assert_422(api("POST", path + bad, token=user.access),
               bad_uuid("path", "sender_id"))


# -------------------------------------------------- a rejected request again

def test_rejected_request_can_be_sent_again_by_its_sender(db, user, stranger):
    first = request_ok(user, stranger)
    body(friend_reject(stranger.access, user.account_id), 200)
    again = request_ok(user, stranger)
    assert parse_time(again["created_at"]) > parse_time(first["created_at"])
    assert again["created_at"] == again["updated_at"]
    assert friend_status_word(stranger, user) == "request_received"
    accepted = body(friend_accept(stranger.access, user.account_id), 200)
    assert_friendship(accepted, user, stranger, "accepted")
    assert friend_status_word(user, stranger) == "friends"


def test_rejected_request_can_be_sent_again_by_the_rejecter(db, user,
                                                            stranger):
    request_ok(user, stranger)
    body(friend_reject(stranger.access, user.account_id), 200)
    again = request_ok(stranger, user)
    assert again["sender_id"] == stranger.account_id
    row = friendship_row(db, user.account_id, stranger.account_id)
    assert (row["sender_id"], row["receiver_id"], row["status"]) == \
        (stranger.account_id, user.account_id, "pending")
    assert friend_status_word(user, stranger) == "request_received"
    assert friend_status_word(stranger, user) == "request_sent"
    pending = body(friends_pending(user.access), 200)
    assert pending == [dict(again, sender=public_of(stranger))]
    # The original sender now accepts.
    accepted = body(friend_accept(user.access, stranger.account_id), 200)
    assert_friendship(accepted, stranger, user, "accepted")


# --------------------------------------------------------------- list

def test_list_is_empty_for_a_new_account(user):
    for path in LIST_PATHS:
        assert body(friends_list(user.access, path), 200) == [], path


def test_list_ordered_by_username_on_every_path():
    me = lowercase_user("m")
    others = [lowercase_user(p) for p in ("c", "a", "d", "b")]
    for i, other in enumerate(others):
        # Either side may have asked.
        if i % 2:
            make_friends(me, other)
        else:
            make_friends(other, me)
    pending_sender = lowercase_user("e")
    request_ok(pending_sender, me)
    pending_receiver = lowercase_user("f")
    request_ok(me, pending_receiver)
    rejected = lowercase_user("g")
    request_ok(rejected, me)
    body(friend_reject(me.access, rejected.account_id), 200)
    expected = [public_of(o)
                for o in sorted(others, key=lambda u: u.username)]
    for path in LIST_PATHS:
        assert body(friends_list(me.access, path), 200) == expected, path
    # The other side sees me.
    assert body(friends_list(others[0].access), 200) == [public_of(me)]


def test_list_full_public_accounts():
    me = new_user(full_name="Me Myself")
    other = new_user(full_name="Zoë Friend",
                     avatar="https://example.com/z.png")
    make_friends(me, other)
    listed = body(friends_list(me.access), 200)
    assert listed == [public_of(other)]
    assert listed[0]["avatar"] == "https://example.com/z.png"
    assert "email" not in listed[0]


# ------------------------------------------------------------- pending

def test_pending_lists_requests_to_the_caller_oldest_first(user):
    first, second = new_user(full_name="First"), new_user()
    r1 = request_ok(first, user)
    r2 = request_ok(second, user)
    outgoing = new_user()
    r3 = request_ok(user, outgoing)
    pending = body(friends_pending(user.access), 200)
    assert pending == [dict(r1, sender=public_of(first)),
                       dict(r2, sender=public_of(second))]
    for item in pending:
        assert set(item) == PENDING_KEYS
    # Requests the caller sent are not in its pending list.
    assert body(friends_pending(first.access), 200) == []
    assert body(friends_pending(outgoing.access), 200) == \
        [dict(r3, sender=public_of(user))]


def test_pending_leaves_answered_requests_out(user):
    accepted, rejected, waiting = new_user(), new_user(), new_user()
    request_ok(accepted, user)
    request_ok(rejected, user)
    r3 = request_ok(waiting, user)
    body(friend_accept(user.access, accepted.account_id), 200)
    body(friend_reject(user.access, rejected.account_id), 200)
    assert body(friends_pending(user.access), 200) == \
        [dict(r3, sender=public_of(waiting))]


def test_pending_with_trailing_slash(user, stranger):
    r = request_ok(stranger, user)
    assert body(api("GET", "/friends/pending/", token=user.access), 200) == \
        [dict(r, sender=public_of(stranger))]


# -------------------------------------------------------------- status

def test_status_through_a_friendship(user, stranger):
    assert friend_status_word(user, stranger) == "none"
    assert friend_status_word(stranger, user) == "none"
    request_ok(user, stranger)
    assert friend_status_word(user, stranger) == "request_sent"
    assert friend_status_word(stranger, user) == "request_received"
    body(friend_accept(stranger.access, user.account_id), 200)
    assert friend_status_word(user, stranger) == "friends"
    assert friend_status_word(stranger, user) == "friends"
    body(friend_remove(stranger.access, user.account_id), 200)
    assert friend_status_word(user, stranger) == "none"
    assert friend_status_word(stranger, user) == "none"


def test_status_answer_has_only_status(user, stranger):
    assert body(friend_status(user.access, stranger.account_id), 200) == \
        {"status": "none"}


def test_status_of_oneself_is_none(user):
    assert body(friend_status(user.access, user.account_id), 200) == \
        {"status": "none"}


def test_status_of_unknown_account(user):
    assert_error(friend_status(user.access, random_uuid()), 404,
                 "Account not found")


@pytest.mark.parametrize("bad", ["not-a-uuid", "42", "{}"])
def test_status_malformed_id(user, bad):
    assert_422(friend_status(user.access, bad),
               bad_uuid("path", "account_id"))


# ------------------------------------------------------------- removal

@pytest.mark.parametrize("remover", [0, 1], ids=["asker", "accepter"])
def test_remove_friend(db, friends, remover):
    a, b = friends
    who, other = (a, b) if remover == 0 else (b, a)
    send(a, b, "before removal")
    send(b, a, "reply before removal")
    r = friend_remove(who.access, other.account_id)
    assert body(r, 200) == {"detail": "Friend removed"}
    assert friendship_row(db, a.account_id, b.account_id) is None
    assert body(friends_list(a.access), 200) == []
    assert body(friends_list(b.access), 200) == []
    # Neither side can send any more ...
    assert_error(send_message(a.access, b.account_id, "after"), 403,
                 "Not friends with recipient")
    assert_error(send_message(b.access, a.account_id, "after"), 403,
                 "Not friends with recipient")
    # ... nor read the conversation, but it stays stored.
    assert_error(history(a.access, b.account_id), 403,
                 "Not friends with this user")
    assert count_messages(db, a.account_id, b.account_id) == 2


def test_remove_twice(friends):
    a, b = friends
    assert body(friend_remove(a.access, b.account_id), 200) == \
        {"detail": "Friend removed"}
    assert_error(friend_remove(a.access, b.account_id), 404,
                 "Friend not found")
    assert_error(friend_remove(b.access, a.account_id), 404,
                 "Friend not found")


def test_remove_not_friends(user, stranger):
    assert_error(friend_remove(user.access, stranger.account_id), 404,
                 "Friend not found")


@pytest.mark.parametrize("by_sender", [True, False],
                         ids=["by_sender", "by_receiver"])
def test_remove_pending_request_is_not_a_friend(db, user, stranger,
                                                by_sender):
    request_ok(user, stranger)
    who, other = (user, stranger) if by_sender else (stranger, user)
    assert_error(friend_remove(who.access, other.account_id), 404,
                 "Friend not found")
    assert friendship_row(db, user.account_id,
                          stranger.account_id)["status"] == "pending"


def test_remove_unknown_account(user):
    assert_error(friend_remove(user.access, random_uuid()), 404,
                 "Friend not found")


def test_remove_oneself(user):
    assert_error(friend_remove(user.access, user.account_id), 404,
                 "Friend not found")


@pytest.mark.parametrize("bad", ["not-a-uuid", "1"])
def test_remove_malformed_id(user, bad):
    assert_422(api("DELETE", f"/friends/{bad}", token=user.access),
               bad_uuid("path", "friend_id"))


def test_friends_again_after_removal(db, friends):
    a, b = friends
    send(a, b, "old times")
    body(friend_remove(a.access, b.account_id), 200)
    request_ok(b, a)
    body(friend_accept(a.access, b.account_id), 200)
    send(b, a, "friends again")
    assert count_messages(db, a.account_id, b.account_id) == 2
    assert body(history(a.access, b.account_id), 200)["total"] == 2


# ---------------------------------------------------------- group chats

@pytest.mark.parametrize("path", ["/group-chat/my-groups",
                                  "/group-chat/my-groups/"])
def test_my_groups_is_an_empty_list(user, path):
    assert body(api("GET", path, token=user.access), 200) == []


# --------------------------------------------------- no token: 401 on all

ENDPOINTS = [
    ("POST", "/friends/request"),
    ("POST", "/friends/accept/{id}"),
    ("POST", "/friends/reject/{id}"),
    ("GET", "/friends/list"),
    ("GET", "/friends/"),
    ("GET", "/friends/pending"),
    ("GET", "/friends/status/{id}"),
    ("DELETE", "/friends/{id}"),
    ("GET", "/group-chat/my-groups"),
    ("POST", "/chat/messages/"),
    ("GET", "/chat/messages/history/{id}"),
    ("GET", "/chat/messages/search/{id}?keyword=a"),
    ("PUT", "/chat/messages/{id}/read"),
    ("DELETE", "/chat/messages/{id}"),
    ("GET", "/chat/messages/unread-count"),
    ("GET", "/chat/friends/online"),
]


@pytest.mark.parametrize("method, path", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_needs_a_token(method, path):
    r = api(method, path.format(id=random_uuid()),
            data=b'{"receiver_id": "x", "content": "y"}'
            if method == "POST" else None)
    assert_not_authenticated(r)


@pytest.mark.parametrize("method, path", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_refuses_a_malformed_token(method, path):
    r = api(method, path.format(id=random_uuid()), token="not.a.token")
    assert_bad_credentials(r)


@pytest.mark.parametrize("method, path", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_refuses_an_inactive_account(db, method, path):
    inactive = new_user()
    set_active(db, inactive.account_id, False)
    r = api(method, path.format(id=random_uuid()), token=inactive.access,
            json={"receiver_id": random_uuid(), "content": "y"}
            if method == "POST" else None)
    assert_error(r, 403, "Inactive user")


# Input each endpoint refuses with a 422 (none for those without input).
BAD_INPUT = {
    "/friends/request": {"json": {}},
    "/chat/messages/": {"json": {"content": ""}},
    "/chat/messages/history/{id}": {"params": {"limit": "0"}},
    "/chat/messages/search/{id}?keyword=a": {"params": {"skip": "-1"}},
}


@pytest.mark.parametrize("method, path", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_endpoint_refuses_an_inactive_account_before_its_input(
        db, method, path):
    """The account comes before the input, as on the routes whose
    statement checks the account itself (ROUTE_TOKEN)."""
    inactive = new_user()
    set_active(db, inactive.account_id, False)
    r = api(method, path.format(id="not-a-uuid"), token=inactive.access,
            **BAD_INPUT.get(path, {}))
    assert_error(r, 403, "Inactive user")


@pytest.mark.parametrize("method, path", ENDPOINTS,
                         ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize("bad_input", [False, True], ids=["input", "bad input"])
def test_every_endpoint_refuses_a_valid_token_of_no_account(method, path,
                                                            bad_input):
    """A well-signed token whose account does not exist (deleted, or never
    there) is a 401, whatever the input."""
    if bad_input:
        extra = BAD_INPUT.get(path, {})
        target = "not-a-uuid"
    else:
        extra = ({"json": {"receiver_id": random_uuid(), "content": "y"}}
                 if method == "POST" else {})
        target = random_uuid()
    r = api(method, path.format(id=target), token=forge(random_uuid()),
            **extra)
    assert_bad_credentials(r)
