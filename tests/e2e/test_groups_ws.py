"""Group events (CONTRACT §10, §11; docs/events.md "Group events"): one
event row per change of a group, in the stream of the accounts that were
its active members when it happened (and, for a membership event, of the
account concerned), through GET /sync and the WebSocket."""

import secrets

from chat_api import (GROUP_MESSAGE_KEYS, api, body, create_group, group_add,
                      group_ban, group_leave, group_path, group_read,
                      group_remove, gsend, make_friends, new_group, new_user)
from ws_client import assert_cursor, session, ws_test

GROUP_STREAM_TYPES = {"group_message", "group_message_deleted", "group_read",
                      "group_updated", "group_member_added",
                      "group_member_left", "group_member_removed"}


# ------------------------------------------------------------------ helpers

async def fresh_cursor(user):
    """The cursor of a connection opened now (connection_established)."""
    conn = await session(user)
    await conn.close()
    return conn.established["cursor"]


def sync_all(user, since):
    """Every event of user's stream after since: (frames, last cursor)."""
    frames, cursor = [], since
    while True:
        answer = body(api("GET", "/sync", token=user.access,
                          params={"since": cursor, "limit": 100}), 200)
        frames += answer["events"]
        cursor = answer["cursor"]
        if not answer["has_more"]:
            return frames, cursor


def group_frames(frames, group):
    """The frames of one group, each asserted to carry a cursor."""
    mine = []
    for f in frames:
        if f["type"] not in GROUP_STREAM_TYPES:
            continue
        assert_cursor(f.get("cursor"))
        gid = f["group"]["group_id"] if f["type"] == "group_updated" else \
            f["data"]["group_id"] if f["type"] == "group_message" else \
            f["group_id"]
        if gid == group["group_id"]:
            mine.append(f)
    return mine


def summary(frames):
    """(type, what it names) of each frame, to compare streams."""
    out = []
    for f in frames:
        if f["type"] == "group_message":
            out.append((f["type"], f["data"]["content"]))
        elif f["type"] in ("group_member_added", "group_member_left",
                           "group_member_removed"):
            out.append((f["type"], f["member"]["username"],
                        f["member"]["status"]))
        elif f["type"] == "group_updated":
            out.append((f["type"], f["group"]["name"]))
        elif f["type"] == "group_read":
            out.append((f["type"], f["user_id"], f["message_id"]))
        else:
            out.append((f["type"], f["message_id"]))
    return out


# ------------------------------------------------------------ GET /sync

@ws_test
async def test_sync_hands_each_member_the_group_events_of_its_membership():
    leader, a, b = new_user(), new_user(), new_user()
    since = {u.username: await fresh_cursor(u) for u in (leader, a, b)}
    group = new_group(leader, a, name="first name")
    gid = group["group_id"]
    one = gsend(a, group, "one")
    make_friends(leader, b)
    body(group_add(leader.access, gid, b.account_id), 201)
    two = gsend(leader, group, "two")
    body(group_read(b.access, gid, two["message_id"]), 200)
    body(api("PUT", group_path(gid), token=leader.access,
             json={"name": "second name"}), 200)
    body(group_remove(leader.access, gid, a.account_id), 200)
    gsend(leader, group, "three")
    body(api("DELETE", group_path(gid, f"/messages/{one['message_id']}"),
             token=leader.access), 200)

    def stream(user):
        frames, _ = sync_all(user, since[user.username])
        return group_frames(frames, group)

    a_frames = stream(a)
    assert summary(a_frames) == [
        ("group_updated", "second name"),       # the group as it is now
        ("group_message", ""),                   # deleted since: no text
        ("group_member_added", b.username, "active"),
        ("group_message", "two"),
        ("group_read", b.account_id, two["message_id"]),
        ("group_updated", "second name"),
        ("group_member_removed", a.username, "removed")]
    assert a_frames[1]["data"]["is_deleted"] is True
    assert set(a_frames[1]["data"]) == GROUP_MESSAGE_KEYS
    # group_updated shows the group as the one who hears it sees it.
    assert a_frames[0]["group"]["my_status"] == "removed"
    b_frames = stream(b)
    assert summary(b_frames) == [
        ("group_member_added", b.username, "active"),
        ("group_message", "two"),
        ("group_read", b.account_id, two["message_id"]),
        ("group_updated", "second name"),
        ("group_member_removed", a.username, "removed"),
        ("group_message", "three"),
        ("group_message_deleted", one["message_id"])]
    assert b_frames[3]["group"]["my_role"] == "member"
    leader_frames = stream(leader)
    assert [f["type"] for f in leader_frames] == [
        "group_updated", "group_message", "group_member_added",
        "group_message", "group_read", "group_updated",
        "group_member_removed", "group_message", "group_message_deleted"]
    assert leader_frames[0]["group"]["my_role"] == "leader"
    # Cursors follow each other in each stream.
    assert len({f["cursor"] for f in leader_frames}) == len(leader_frames)


@ws_test
async def test_sync_shows_a_stranger_nothing_of_a_group():
    leader, member, stranger = new_user(), new_user(), new_user()
    make_friends(stranger, member)
    since = await fresh_cursor(stranger)
    group = new_group(leader, member)
    gsend(member, group, "private")
    frames, _ = sync_all(stranger, since)
    assert group_frames(frames, group) == []


@ws_test
async def test_sync_after_leaving_and_being_banned():
    leader, a, b = new_user(), new_user(), new_user()
    group = new_group(leader, a, b)
    gid = group["group_id"]
    since_a, since_b = await fresh_cursor(a), await fresh_cursor(b)
    body(group_leave(a.access, gid), 200)
    body(group_ban(leader.access, gid, b.account_id), 200)
    gsend(leader, group, "after")
    body(create_group(leader.access, "another " + secrets.token_hex(3)), 201)
    a_frames = group_frames(sync_all(a, since_a)[0], group)
    assert summary(a_frames) == [("group_member_left", a.username, "left")]
    b_frames = group_frames(sync_all(b, since_b)[0], group)
    assert summary(b_frames) == [
        ("group_member_left", a.username, "left"),
        ("group_member_removed", b.username, "banned")]
