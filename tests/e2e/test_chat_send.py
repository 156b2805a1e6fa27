"""POST /api/v1/chat/messages/ (CONTRACT §5, docs/API.md "Chat"): the
Message answered, what is stored, and every refusal."""

import json

import pytest

from chat_api import (MESSAGE_KEYS, api, assert_422, assert_error,
                      assert_message, bad_uuid, body, count_messages, db_now,
                      field_required, friend_reject, friend_request,
                      has_nul, invalid_json, invalid_utf8, message_row,
                      new_friends, new_user, not_a_dict, parse_time,
                      post_raw, public_of, random_uuid, send, send_message,
                      str_expected, too_long, too_short, unread_count,
                      unsupported_content_type)

MAX_BODY = 64 * 1024
CONTENT = ("body", "content")


def raw_send(token, receiver_id, content_json):
    """A send whose content is given as raw JSON text (bytes)."""
    raw = (b'{"receiver_id": "' + receiver_id.encode() + b'", "content": '
           + content_json + b"}")
    return post_raw("/chat/messages/", raw, token=token)


def assert_nothing_stored(db, a, b):
    assert count_messages(db, a.account_id, b.account_id) == 0


# ------------------------------------------------------------------ success

def test_send_answers_the_seed_message(db):
    a, b = new_friends(full_name="Sender Name",
                       avatar="https://example.com/avatar.png")
    before = db_now(db)
    r = send_message(a.access, b.account_id, "Message content")
    after = db_now(db)
    message = body(r, 201)
    assert set(message) == MESSAGE_KEYS
    assert_message(message, a, b, "Message content")
    assert message["status"] == "sent"
    assert message["is_deleted"] is False
    assert message["read_at"] is None
    assert message["sender"] == public_of(a)
    assert message["receiver"] == public_of(b)
    assert message["sender"]["full_name"] == "Sender Name"
    assert message["receiver"]["avatar"] == "https://example.com/avatar.png"
    created = parse_time(message["created_at"])
    assert before <= created <= after
    row = message_row(db, message["message_id"])
    assert row == {"message_id": message["message_id"],
                   "sender_id": a.account_id, "receiver_id": b.account_id,
                   "content": "Message content", "status": "sent",
                   "is_deleted": False, "created_at": created,
                   "updated_at": parse_time(message["updated_at"]),
                   "read_at": None}


def test_send_both_ways(friends):
    a, b = friends
    send(a, b, "ping")
    send(b, a, "pong")


def test_send_with_uppercase_receiver_id(friends):
    a, b = friends
    message = body(send_message(a.access, b.account_id.upper(), "hi"), 201)
    assert message["receiver_id"] == b.account_id


def test_send_without_trailing_slash(friends):
    a, b = friends
    r = api("POST", "/chat/messages", token=a.access,
            json={"receiver_id": b.account_id, "content": "no slash"})
    assert_message(body(r, 201), a, b, "no slash")


def test_unknown_fields_are_ignored(friends):
    a, b = friends
    r = api("POST", "/chat/messages/", token=a.access,
            json={"receiver_id": b.account_id, "content": "x",
                  "type": "send_message", "temp_id": "t1", "status": "read"})
    assert_message(body(r, 201), a, b, "x")


@pytest.mark.parametrize("content", [
    "  surrounded by spaces  ",
    "\tTabbed\n",
    "\u3000ideographic\u3000",
    "line one\nline two",
    "quotes \" and \\ backslash",
    "émoji 😀 and 中文",
    "x",
], ids=["spaces", "tab-newline", "u3000", "multiline", "escapes",
        "unicode", "one-char"])
def test_content_is_stored_as_sent(db, friends, content):
    a, b = friends
    r = send_message(a.access, b.account_id, content, ascii_only=False)
    message = body(r, 201)
    assert_message(message, a, b, content)
    assert message_row(db, message["message_id"])["content"] == content


@pytest.mark.parametrize("content", [
    "x" * 5000,
    "é" * 5000,
    "😀" * 5000,
    "  " + "x" * 5000 + "  ",
    "\u3000\t" + "y" * 5000 + "\n\u00a0",
], ids=["5000-ascii", "5000-e-acute", "5000-emoji", "5000-plus-spaces",
        "5000-plus-unicode-spaces"])
@pytest.mark.parametrize("ascii_only", [False, True],
                         ids=["utf8", "escaped"])
def test_content_of_5000_characters_is_accepted(db, friends, content,
                                                ascii_only):
    a, b = friends
    r = send_message(a.access, b.account_id, content, ascii_only=ascii_only)
    message = body(r, 201)
    assert message["content"] == content
    assert message_row(db, message["message_id"])["content"] == content


# ----------------------------------------------------------------- refusals

def test_send_to_oneself(db, user):
    assert_error(send_message(user.access, user.account_id, "me"), 400,
                 "Cannot send message to yourself")
    assert_nothing_stored(db, user, user)


def test_send_to_unknown_receiver(user):
    assert_error(send_message(user.access, random_uuid(), "anyone?"), 404,
                 "Receiver not found")


def test_send_to_a_stranger(db, user, stranger):
    assert_error(send_message(user.access, stranger.account_id, "hi"), 403,
                 "Not friends with recipient")
    assert_nothing_stored(db, user, stranger)


def test_send_with_a_pending_request_either_way(db, user, stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    assert_error(send_message(user.access, stranger.account_id, "hi"), 403,
                 "Not friends with recipient")
    assert_error(send_message(stranger.access, user.account_id, "hi"), 403,
                 "Not friends with recipient")
    assert_nothing_stored(db, user, stranger)


def test_send_after_a_rejected_request(db, user, stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    body(friend_reject(stranger.access, user.account_id), 200)
    assert_error(send_message(user.access, stranger.account_id, "hi"), 403,
                 "Not friends with recipient")
    assert_nothing_stored(db, user, stranger)


@pytest.mark.parametrize("content, entry", [
    ("", too_short(CONTENT, 1)),
    (" ", too_short(CONTENT, 1)),
    ("   \t\r\n  ", too_short(CONTENT, 1)),
    ("\u3000", too_short(CONTENT, 1)),
    ("\u3000 \u00a0\u2003\u2028\u3000", too_short(CONTENT, 1)),
    ("x" * 5001, too_long(CONTENT, 5000)),
    ("é" * 5001, too_long(CONTENT, 5000)),
    ("😀" * 5001, too_long(CONTENT, 5000)),
    ("  " + "x" * 5001 + "  ", too_long(CONTENT, 5000)),
    ("a\u0000b", has_nul(*CONTENT)),
    ("\u0000", has_nul(*CONTENT)),
    (None, field_required(*CONTENT)),
    (5, str_expected(*CONTENT)),
    (1.5, str_expected(*CONTENT)),
    (True, str_expected(*CONTENT)),
    (["hi"], str_expected(*CONTENT)),
    ({"text": "hi"}, str_expected(*CONTENT)),
], ids=["empty", "space", "ascii-white", "u3000", "unicode-white",
        "5001", "5001-e-acute", "5001-emoji", "5001-plus-spaces",
        "nul-inside", "nul-alone", "null", "int", "float", "bool", "list",
        "object"])
def test_invalid_content(db, friends, content, entry):
    a, b = friends
    r = send_message(a.access, b.account_id, content, ascii_only=False)
    assert_422(r, entry)
    assert_nothing_stored(db, a, b)


def test_missing_content(db, friends):
    a, b = friends
    r = api("POST", "/chat/messages/", token=a.access,
            json={"receiver_id": b.account_id})
    assert_422(r, field_required(*CONTENT))
    assert_nothing_stored(db, a, b)


@pytest.mark.parametrize("receiver, entry", [
    (None, field_required("body", "receiver_id")),
    ("not-a-uuid", bad_uuid("body", "receiver_id")),
    ("", bad_uuid("body", "receiver_id")),
    (42, bad_uuid("body", "receiver_id")),
    (["x"], bad_uuid("body", "receiver_id")),
], ids=["null", "string", "empty", "number", "list"])
def test_invalid_receiver_id(user, receiver, entry):
    r = api("POST", "/chat/messages/", token=user.access,
            json={"receiver_id": receiver, "content": "hi"})
    assert_422(r, entry)


def test_missing_receiver_id(user):
    r = api("POST", "/chat/messages/", token=user.access,
            json={"content": "hi"})
    assert_422(r, field_required("body", "receiver_id"))


def test_both_fields_missing_gives_two_entries(user):
    r = api("POST", "/chat/messages/", token=user.access, json={})
    assert_422(r, field_required("body", "receiver_id"),
               field_required(*CONTENT))


def test_both_fields_bad_gives_two_entries(user):
    r = api("POST", "/chat/messages/", token=user.access,
            json={"receiver_id": "nope", "content": "   "})
    assert_422(r, bad_uuid("body", "receiver_id"), too_short(CONTENT, 1))


def test_validation_comes_before_friendship(db, user, stranger):
    """A bad body to a stranger is a 422, not a 403."""
    r = send_message(user.access, stranger.account_id, "")
    assert_422(r, too_short(CONTENT, 1))


@pytest.mark.parametrize("content_json", [
    b'"caf\xc3"',             # truncated sequence
    b'"\xff\xfe"',            # bytes never valid in UTF-8
    b'"\xc0\xaf"',            # overlong encoding of "/"
    b'"\xed\xa0\x80"',        # an encoded surrogate
], ids=["truncated", "ff-fe", "overlong", "surrogate"])
def test_invalid_utf8_in_body(db, friends, content_json):
    a, b = friends
    assert_422(raw_send(a.access, b.account_id, content_json),
               invalid_utf8())
    assert_nothing_stored(db, a, b)


@pytest.mark.parametrize("raw, entry", [
    (b"not json", invalid_json()),
    (b'{"receiver_id": "x", "content": "unterminated}', invalid_json()),
    (b"{'content': 'single quotes'}", invalid_json()),
    (b'{"content": "raw\nnewline"}', invalid_json()),
    (b"[]", not_a_dict()),
    (b'"just a string"', not_a_dict()),
    (b"null", not_a_dict()),
    (b"", field_required("body")),
], ids=["words", "unterminated", "single-quotes", "raw-newline", "list",
        "string", "null", "empty"])
def test_body_not_a_json_object(user, raw, entry):
    assert_422(post_raw("/chat/messages/", raw, token=user.access), entry)


def test_unsupported_content_type(db, friends):
    a, b = friends
    raw = json.dumps({"receiver_id": b.account_id, "content": "hi"}).encode()
    r = post_raw("/chat/messages/", raw, content_type="text/plain",
                 token=a.access)
    assert_422(r, unsupported_content_type())
    assert_nothing_stored(db, a, b)


def test_body_without_content_type_is_json(friends):
    a, b = friends
    raw = json.dumps({"receiver_id": b.account_id, "content": "hi"}).encode()
    r = post_raw("/chat/messages/", raw, content_type=None, token=a.access)
    assert_message(body(r, 201), a, b, "hi")


def test_body_over_64_kib(db, friends):
    a, b = friends
    content = "x" * MAX_BODY
    r = send_message(a.access, b.account_id, content)
    assert len(r.request.body) > MAX_BODY
    assert_error(r, 413, "Request body too large")
    assert_nothing_stored(db, a, b)


def test_third_party_sees_nothing(db):
    """A message between two friends is not in a third user's count."""
    a, b = new_friends()
    third = new_user()
    send(a, b, "private")
    assert unread_count(third.access) == 0
