"""Refused WebSocket requests (CONTRACT §6): each gets one error frame
{type: "error", code, detail, message (== detail), request_type,
temp_id?}, with the codes of REST, and the connection stays open. The
details are those of push-daemon/frames.c and docs/API.md."""

import json

import pytest

from chat_api import (count_messages, new_friends, new_user, random_uuid,
                      send)
from ws_client import (assert_error_frame, close_all, of_type, session,
                       ws_test)

BAD_JSON = "Invalid JSON: one JSON object expected"
TYPE_REQUIRED = "type: field required"
BAD_TEMP_ID = "temp_id: a string of at most 64 characters expected"


@pytest.fixture(scope="module")
def pair():
    """Two friends and a stranger, for the whole module: no test changes
    them (each opens its own connections)."""
    a, b = new_friends()
    return a, b, new_user()


def new_message_with(content):
    def match(frame):
        return (frame.get("type") == "new_message"
                and frame["message"]["content"] == content)
    match.__doc__ = f"new_message {content!r}"
    return match


async def still_open(conn, receiver, label="after"):
    """Proves the connection still serves: a send is acknowledged."""
    await conn.send({"type": "send_message",
                     "receiver_id": receiver.account_id,
                     "content": f"still open {label}", "temp_id": label})
    ack = await conn.expect("message_sent")
    assert ack["temp_id"] == label, ack
    assert conn.is_open


# ------------------------------------------------- frames that are not asks

@pytest.mark.parametrize("text", [
    "not json", "{", "{'type': 'send_message'}", '{"type": "typing",}',
    "[]", '[{"type": "typing"}]', '"send_message"', "42", "null", "true",
    "", "   ", '{"type": "typing"} {"type": "typing"}', "{\"a\": NaN}",
])
@ws_test
async def test_not_a_json_object(pair, text):
    a, b, _ = pair
    conn = await session(a)
    await conn.send_text(text)
    assert_error_frame(await conn.expect_error(), 422, BAD_JSON, None)
    await still_open(conn, b)
    await conn.close()


MISSING_TYPE = [
    {"receiver_id": "x", "content": "no type"},
    {"type": None},
    {"type": 5},
    {"type": ["send_message"]},
]


def without_request_type(frame):
    return {k: v for k, v in frame.items() if k != "request_type"}


@ws_test
async def test_missing_type(pair):
    a, b, _ = pair
    conn = await session(a)
    for frame in MISSING_TYPE:
        await conn.send(frame)
        error = await conn.expect_error()
        assert without_request_type(error) == {
            "type": "error", "code": 422, "detail": TYPE_REQUIRED,
            "message": TYPE_REQUIRED}, error
        assert "request_type" in error, error
    await conn.send({"temp_id": "t-no-type", "content": "x"})
    error = await conn.expect_error()
    assert without_request_type(error) == {
        "type": "error", "code": 422, "detail": TYPE_REQUIRED,
        "message": TYPE_REQUIRED, "temp_id": "t-no-type"}, error
    await still_open(conn, b)
    await conn.close()


@ws_test
async def test_missing_type_has_null_request_type(pair):
    """A request without a type has none to name: request_type is null,
    as for a frame that is not JSON (not an empty string)."""
    a, _, _ = pair
    conn = await session(a)
    for frame in MISSING_TYPE + [{"temp_id": "t", "content": "x"}]:
        await conn.send(frame)
        error = await conn.expect_error()
        assert error["detail"] == TYPE_REQUIRED, error
        assert error["request_type"] is None, (frame, error)
    await conn.close()


@pytest.mark.parametrize("type_", ["hello", "send", "SEND_MESSAGE",
                                   "message_sent", "new_message", ""])
@ws_test
async def test_unknown_type(pair, type_):
    a, b, _ = pair
    conn = await session(a)
    await conn.send({"type": type_, "temp_id": "u1"})
    assert_error_frame(await conn.expect_error(), 422,
                       "Unknown message type", type_, "u1")
    await conn.send({"type": type_})
    assert_error_frame(await conn.expect_error(), 422,
                       "Unknown message type", type_)
    await still_open(conn, b)
    await conn.close()


# ------------------------------------------------------------ send_message

def receiver_of(pair, who):
    a, b, stranger = pair
    return {"friend": b.account_id, "self": a.account_id,
            "stranger": stranger.account_id}.get(who, who)


SEND_CASES = [
    # (label, fields besides type, code, detail)
    ("missing receiver_id", {"content": "hi"}, 422,
     "receiver_id: field required"),
    ("null receiver_id", {"receiver_id": None, "content": "hi"}, 422,
     "receiver_id: field required"),
    ("bad uuid", {"receiver_id": "not-a-uuid", "content": "hi"}, 422,
     "receiver_id: value is not a valid uuid"),
    ("uuid too long", {"receiver_id": random_uuid() + "0", "content": "hi"},
     422, "receiver_id: value is not a valid uuid"),
    ("receiver_id a number", {"receiver_id": 12, "content": "hi"}, 422,
     "receiver_id: value is not a valid uuid"),
    ("missing content", {"receiver_id": "friend"}, 422,
     "content: field required"),
    ("null content", {"receiver_id": "friend", "content": None}, 422,
     "content: field required"),
    ("empty content", {"receiver_id": "friend", "content": ""}, 422,
     "content: ensure this value has at least 1 characters"),
    ("white space only", {"receiver_id": "friend", "content": " \t\n\r "},
     422, "content: ensure this value has at least 1 characters"),
    ("unicode space only", {"receiver_id": "friend",
                            "content": "\u3000\u00a0\u2003"}, 422,
     "content: ensure this value has at least 1 characters"),
    ("5001 characters", {"receiver_id": "friend", "content": "x" * 5001},
     422, "content: ensure this value has at most 5000 characters"),
    ("5001 multibyte", {"receiver_id": "friend",
                        "content": "\U0001F600" * 5001}, 422,
     "content: ensure this value has at most 5000 characters"),
    ("content a number", {"receiver_id": "friend", "content": 5}, 422,
     "content: str type expected"),
    ("content an object", {"receiver_id": "friend", "content": {"a": 1}},
     422, "content: str type expected"),
    ("content with NUL", {"receiver_id": "friend", "content": "a\u0000b"},
     422, "content: string must not contain U+0000"),
    ("to oneself", {"receiver_id": "self", "content": "me"}, 400,
     "Cannot send message to yourself"),
    ("to a stranger", {"receiver_id": "stranger", "content": "hi"}, 403,
     "Not friends with recipient"),
    ("to an unknown account", {"receiver_id": random_uuid(),
                               "content": "hi"}, 404, "Receiver not found"),
]


@pytest.mark.parametrize("with_temp_id", [True, False],
                         ids=["temp_id", "no temp_id"])
@pytest.mark.parametrize("label,fields,code,detail", SEND_CASES,
                         ids=[case[0] for case in SEND_CASES])
@ws_test
async def test_refused_send(db, pair, label, fields, code, detail,
                            with_temp_id):
    a, b, stranger = pair
    frame = {"type": "send_message", **fields}
    if "receiver_id" in frame:
        frame["receiver_id"] = receiver_of(pair, frame["receiver_id"])
    temp_id = f"t-{code}" if with_temp_id else None
    if temp_id is not None:
        frame["temp_id"] = temp_id
    before = (count_messages(db, a.account_id, b.account_id),
              count_messages(db, a.account_id, stranger.account_id))
    conn = await session(a)
    await conn.send(frame)
    assert_error_frame(await conn.expect_error(), code, detail,
                       "send_message", temp_id)
    await conn.quiet(0.3, of_type("message_sent"))
    assert (count_messages(db, a.account_id, b.account_id),
            count_messages(db, a.account_id, stranger.account_id)) == before
    await still_open(conn, b)
    await conn.close()


@ws_test
async def test_send_to_a_stranger_reaches_nobody(pair):
    a, _, stranger = pair
    conn, other = await session(a), await session(stranger, daemon=2)
    await conn.send({"type": "send_message",
                     "receiver_id": stranger.account_id, "content": "psst"})
    assert (await conn.expect_error())["code"] == 403
    await other.quiet(1.0, new_message_with("psst"))
    await close_all(conn, other)


# --------------------------------------------------------------- mark_read

@ws_test
async def test_refused_mark_read(pair):
    a, b, stranger = pair
    theirs = send(b, a, "between b and a")
    other = new_friends()
    elsewhere = send(other[0], other[1], "not yours")
    conn = await session(stranger)
    mine = await session(a)
    cases = [
        ({"message_id": random_uuid()}, 404, "Message not found"),
        ({"message_id": elsewhere["message_id"]}, 404, "Message not found"),
        ({}, 422, "message_id: field required"),
        ({"message_id": None}, 422, "message_id: field required"),
        ({"message_id": "nope"}, 422,
         "message_id: value is not a valid uuid"),
        ({"message_id": 7}, 422, "message_id: value is not a valid uuid"),
    ]
    for fields, code, detail in cases:
        for temp_id in ("m1", None):
            frame = {"type": "mark_read", **fields}
            if temp_id:
                frame["temp_id"] = temp_id
            await mine.send(frame)
            assert_error_frame(await mine.expect_error(), code, detail,
                               "mark_read", temp_id)
    # A message the caller is not in: 404, as if it did not exist.
    await conn.send({"type": "mark_read", "message_id": theirs["message_id"],
                     "temp_id": "z"})
    assert_error_frame(await conn.expect_error(), 404, "Message not found",
                       "mark_read", "z")
    await still_open(mine, b)
    await close_all(conn, mine)


# ------------------------------------------------------------------ typing

@ws_test
async def test_refused_typing(pair):
    a, b, stranger = pair
    conn = await session(a)
    cases = [
        ({"receiver_id": stranger.account_id, "is_typing": True}, 403,
         "Not friends with recipient"),
        ({"receiver_id": random_uuid(), "is_typing": True}, 403,
         "Not friends with recipient"),
        ({"is_typing": True}, 422, "receiver_id: field required"),
        ({"receiver_id": "x", "is_typing": True}, 422,
         "receiver_id: value is not a valid uuid"),
        ({"receiver_id": b.account_id, "is_typing": "yes"}, 422,
         "is_typing: value could not be parsed to a boolean"),
    ]
    for fields, code, detail in cases:
        await conn.send({"type": "typing", "temp_id": "ty", **fields})
        assert_error_frame(await conn.expect_error(), code, detail,
                           "typing", "ty")
    await still_open(conn, b)
    await conn.close()


# ----------------------------------------------------------------- temp_id

BAD_TEMP_IDS = [5, 5.5, True, {"a": 1}, ["x"], "t" * 65, "\U0001F600" * 65]


def request_fields(type_, b):
    return {"send_message": {"receiver_id": b.account_id,
                             "content": "bad temp id"},
            "mark_read": {"message_id": random_uuid()},
            "typing": {"receiver_id": b.account_id, "is_typing": True}}[type_]


@pytest.mark.parametrize("type_", ["send_message", "mark_read", "typing"])
@ws_test
async def test_bad_temp_id(pair, type_):
    """A temp_id that is not a string of at most 64 characters: 422, and
    the request is not carried out."""
    a, b, _ = pair
    conn = await session(a)
    receiver = await session(b, daemon=2)
    for temp_id in BAD_TEMP_IDS:
        await conn.send({"type": type_, "temp_id": temp_id,
                         **request_fields(type_, b)})
        error = await conn.expect_error()
        assert without_request_type(error) == {
            "type": "error", "code": 422, "detail": BAD_TEMP_ID,
            "message": BAD_TEMP_ID}, (temp_id, error)
        assert "request_type" in error, error
    await conn.quiet(0.5, of_type("message_sent"))
    await conn.quiet(0, of_type("error"))
    await receiver.quiet(0, new_message_with("bad temp id"))
    await receiver.quiet(0, of_type("typing_indicator"))
    await still_open(conn, b)
    await close_all(conn, receiver)


@ws_test
async def test_bad_temp_id_names_the_request_type(pair):
    """CONTRACT §6: the error of a refused request names it in
    request_type; a bad temp_id does not make a send_message anything
    else."""
    a, b, _ = pair
    conn = await session(a)
    for type_ in ("send_message", "mark_read", "typing"):
        await conn.send({"type": type_, "temp_id": 5,
                         **request_fields(type_, b)})
        error = await conn.expect_error()
        assert error["detail"] == BAD_TEMP_ID, error
        assert error["request_type"] == type_, error
    await conn.close()


# ---------------------------------------------------------- none is dropped

@ws_test
async def test_every_refused_request_gets_its_own_error(pair):
    a, b, stranger = pair
    conn = await session(a)
    frames = [
        "garbage",
        json.dumps({"type": "nope", "temp_id": "1"}),
        json.dumps({"type": "send_message", "temp_id": "2"}),
        json.dumps({"type": "send_message", "receiver_id": b.account_id,
                    "content": "", "temp_id": "3"}),
        json.dumps({"type": "send_message",
                    "receiver_id": stranger.account_id, "content": "x",
                    "temp_id": "4"}),
        json.dumps({"type": "mark_read", "message_id": random_uuid(),
                    "temp_id": "5"}),
        json.dumps({"type": "typing", "receiver_id": stranger.account_id,
                    "temp_id": "6"}),
    ] * 3
    for text in frames:
        await conn.send_text(text)
    errors = [await conn.expect_error() for _ in frames]
    assert sorted(e.get("temp_id", "") for e in errors) == \
        sorted(["", "1", "2", "3", "4", "5", "6"] * 3)
    await conn.quiet(1.0, of_type("error"))
    await still_open(conn, b)
    await conn.close()
