"""docs/asyncapi.yaml against the push daemon: the requests its frame
tables take are the client messages of the document, the examples are
valid frames, and asyncapi_check (which ws_client.Conn runs on every frame
of the suite) refuses frames the document does not give."""

import os
import re

import pytest

import asyncapi_check
import openapi_check
from ws_client import WS_PATH, session, ws_test

FRAMES = os.path.join(openapi_check.ROOT, "push-daemon", "frames.c")


def daemon_requests(table):
    """The request types of a frame table of push-daemon/frames.c."""
    with open(FRAMES, encoding="utf-8") as f:
        source = f.read()
    found = re.search(table + r"\[\] = \{(.*?)\n\};", source, re.S)
    assert found, f"no {table}[] in push-daemon/frames.c"
    return set(re.findall(r'\{?\s*"([a-z_]+)"', found.group(1)))


def documented_requests(channel):
    """The types of the frames a client sends on a channel."""
    doc = asyncapi_check.document()
    found = set()
    for op in doc.doc["operations"].values():
        if op["action"] == "receive" and \
                op["channel"]["$ref"] == f"#/channels/{channel}":
            for ref in op["messages"]:
                found.update(doc.types(doc.follow(ref)["payload"]))
    return found


def test_the_requests_of_the_daemon_are_documented():
    taken = daemon_requests("frames_types")
    documented = documented_requests("chat")
    assert taken - documented == set(), "requests push-daemon/frames.c " \
        "takes that docs/asyncapi.yaml does not give"
    assert documented - taken == set(), "requests of docs/asyncapi.yaml " \
        "that push-daemon/frames.c does not take"


def test_the_requests_of_the_group_socket_are_documented():
    assert daemon_requests("frames_group_types") == \
        documented_requests("group")


def test_the_channel_is_the_daemon_path():
    doc = asyncapi_check.document().doc
    server = doc["servers"]["chat"]
    assert server["pathname"] + doc["channels"]["chat"]["address"] == WS_PATH


def examples():
    doc = asyncapi_check.document()
    for name, channel in doc.doc["channels"].items():
        for key, ref in channel["messages"].items():
            message = doc.follow(ref)
            for i, example in enumerate(message.get("examples", [])):
                yield pytest.param(message["payload"], example["payload"],
                                   id=f"{name}-{key}-{i}")


@pytest.mark.parametrize("payload,example", examples())
def test_every_example_is_valid(payload, example):
    assert asyncapi_check.document().validate(payload, example) == []


@pytest.mark.parametrize("frame", [
    {"type": "no_such_frame"},
    {"type": "connection_established", "user_id": "not-a-uuid",
     "message": "Connected to chat server", "cursor": "1.1.0"},
    {"type": "online_friends"},
    {"type": "typing_indicator", "user_id":
     "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f11", "is_typing": True, "extra": 1},
    {"type": "send_message", "receiver_id":
     "0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f11", "content": "a request"},
], ids=["type", "uuid", "required", "member", "request"])
def test_the_checker_refuses_what_the_document_does_not_give(frame):
    assert asyncapi_check.problems(frame) != []


@ws_test
async def test_frames_of_a_connection_pass_through_the_checker(user):
    conn = await session(user)
    assert conn.undocumented == []
    await conn.close()
