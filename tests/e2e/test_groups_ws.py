"""Group events (CONTRACT §10, §11; docs/events.md "Group events"): one
event row per change of a group, in the stream of the accounts that were
its active members when it happened (and, for a membership event, of the
account concerned), through GET /sync and the WebSocket."""

import asyncio
import os
import secrets
import signal
import time
import urllib.parse

import pytest

from chat_api import (GROUP_MESSAGE_KEYS, api, body, create_group, group_add,
                      group_ban, group_history, group_leave, group_path,
                      group_read, group_remove, group_send, group_unread,
                      gsend, horizon_held, make_friends, new_group, new_user, paced, random_uuid,
                      send)
from ws_client import (WAIT, assert_cursor, assert_error_frame, blocking,
                       close_all, daemon_pid, daemon_restart, daemon_running,
                       fresh_cursor, group_url, handshake_status, of_type,
                       open_ws, session, sync_all, url_for, wait_status,
                       without_cursor, ws_test)

GROUP_STREAM_TYPES = {"group_message", "group_message_deleted", "group_read",
                      "group_updated", "group_member_added",
                      "group_member_left", "group_member_removed"}


# ------------------------------------------------------------------ helpers

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
    # Taken first: a connection's cursor may be a moment behind (the
    # daemon's horizon), and would then bring what came just before.
    since_a, since_b = await fresh_cursor(a), await fresh_cursor(b)
    group = new_group(leader, a, b)
    gid = group["group_id"]
    body(group_leave(a.access, gid), 200)
    body(group_ban(leader.access, gid, b.account_id), 200)
    gsend(leader, group, "after")
    body(create_group(leader.access, "another " + secrets.token_hex(3)), 201)
    a_frames = group_frames(sync_all(a, since_a)[0], group)
    assert summary(a_frames) == [("group_updated", group["name"]),
                                 ("group_member_left", a.username, "left")]
    b_frames = group_frames(sync_all(b, since_b)[0], group)
    assert summary(b_frames) == [
        ("group_updated", group["name"]),
        ("group_member_left", a.username, "left"),
        ("group_member_removed", b.username, "banned")]


# ------------------------------------------------------------ WebSocket

async def group_session(user, group, daemon=None):
    """A connection of the per-group URL past connection_established and
    its first online_members, both asserted. A daemon knows of a new
    member once it has read the event (docs/API.md): the handshake is
    tried again while refused, for a few seconds."""
    gid = group["group_id"]
    url = group_url(gid, daemon)
    assert await wait_status(user.access, 101, url=url) == 101
    conn = await open_ws(user.access, url=url,
                         label=f"{user.username}@group")
    first = await conn.next()
    assert without_cursor(first) == {
        "type": "connection_established", "user_id": user.account_id,
        "group_id": gid, "group_name": group["name"], "my_status": "active",
        "message": "Connected to group chat"}, first
    online = await conn.expect("online_members")
    assert set(online) == {"type", "group_id", "members"}, online
    assert online["group_id"] == gid and user.account_id in online["members"]
    return conn


def group_message_of(message_id):
    def match(frame):
        return (frame.get("type") == "group_message"
                and frame["data"]["message_id"] == message_id)
    match.__doc__ = f"group_message {message_id}"
    return match


def any_group_message(frame):
    """Any group_message frame."""
    return frame.get("type") == "group_message"


def assert_group_message(frame, message):
    """A group_message frame of message (a GroupMessage answered by
    REST), with its cursor; read_by_count may have grown since."""
    assert set(frame) == {"type", "data", "cursor"}, frame
    assert_cursor(frame["cursor"])
    data = dict(frame["data"], read_by_count=message["read_by_count"])
    assert data == message, frame


@ws_test
async def test_a_send_reaches_every_connection_of_every_member_once():
    leader, a, b = new_user(), new_user(), new_user()
    group = new_group(leader, a, b)
    gid = group["group_id"]
    l1, l2 = await session(leader, daemon=1), await session(leader, daemon=2)
    a1, a2 = await session(a, daemon=1), await session(a, daemon=2)
    b1 = await session(b, daemon=2)
    stranger = await session(new_user(), daemon=1)
    await l1.send({"type": "send_group_message", "group_id": gid,
                   "content": "hello over the socket", "temp_id": "t-1"})
    sent = await l1.expect("message_sent")
    assert set(sent) == {"type", "message_id", "group_id", "status",
                         "created_at", "temp_id"}, sent
    assert (sent["group_id"], sent["status"], sent["temp_id"]) == \
        (gid, "sent", "t-1")
    history = body(group_history(b.access, gid), 200)["messages"]
    assert [m["message_id"] for m in history] == [sent["message_id"]]
    for conn in (l2, a1, a2, b1):
        frame = await conn.take(group_message_of(sent["message_id"]))
        assert_group_message(frame, history[0])
        assert frame["data"]["created_at"] == sent["created_at"]
    # Not to the connection that sent it, nor to anyone else.
    await l1.quiet(0.5, any_group_message)
    await stranger.quiet(0.1, any_group_message)
    # A REST send reaches all of the sender's connections too.
    message = gsend(a, group, "over REST")
    for conn in (l1, l2, a1, a2, b1):
        assert_group_message(
            await conn.take(group_message_of(message["message_id"])), message)
    await close_all(l1, l2, a1, a2, b1, stranger)


@ws_test
async def test_one_groups_messages_arrive_in_order_on_every_connection():
    leader, a, b = new_user(), new_user(), new_user()
    group = new_group(leader, a, b)
    gid = group["group_id"]
    conns = [await session(u, daemon=k) for u in (leader, a, b)
             for k in (1, 2)]
    senders = [conns[0], conns[2], conns[4]]
    for i in paced(30):
        await senders[i % 3].send({"type": "send_group_message",
                                   "group_id": gid, "content": f"n{i}"})
    ids = [m["message_id"] for m in body(group_history(
        leader.access, gid, limit=100), 200)["messages"]]
    while len(ids) < 30:
        await asyncio.sleep(0.1)
        ids = [m["message_id"] for m in body(group_history(
            leader.access, gid, limit=100), 200)["messages"]]
    for conn in conns:
        # Each message, as group_message or, to its sender, message_sent.
        for mid in ids:
            await conn.take(lambda f, m=mid: f.get("type") in
                            ("group_message", "message_sent") and
                            (f.get("message_id") == m or
                             f.get("data", {}).get("message_id") == m))
        got = [f["data"]["message_id"] for f in conn.frames
               if f.get("type") == "group_message"]
        sent = {f["message_id"] for f in conn.frames
                if f.get("type") == "message_sent"}
        assert got == [m for m in ids if m not in sent], conn.label
    await close_all(*conns)


@ws_test
async def test_removed_member_stops_receiving_at_once():
    leader, a, b = new_user(), new_user(), new_user()
    group = new_group(leader, a, b)
    gid = group["group_id"]
    ca, cb = await session(a, daemon=1), await session(b, daemon=2)
    body(group_remove(leader.access, gid, b.account_id), 200)
    for conn in (ca, cb):
        frame = await conn.expect("group_member_removed")
        assert frame["group_id"] == gid
        assert (frame["member"]["account_id"], frame["member"]["status"]) == \
            (b.account_id, "removed")
        assert_cursor(frame["cursor"])
    message = gsend(leader, group, "after the removal")
    await ca.take(group_message_of(message["message_id"]))
    await cb.quiet(1.0, any_group_message)
    # Its requests are refused as over REST: a former member, 403.
    await cb.send({"type": "send_group_message", "group_id": gid,
                   "content": "let me in"})
    assert_error_frame(await cb.expect_error(), 403,
                       "Not a member of this group", "send_group_message")
    await close_all(ca, cb)


@ws_test
async def test_membership_and_group_frames():
    leader, a, newcomer = new_user(), new_user(), new_user()
    group = new_group(leader, a)
    gid = group["group_id"]
    make_friends(leader, newcomer)
    cl, ca, cn = (await session(leader), await session(a),
                  await session(newcomer))
    body(group_add(leader.access, gid, newcomer.account_id), 201)
    for conn in (cl, ca, cn):
        frame = await conn.expect("group_member_added")
        assert (frame["group_id"], frame["member"]["account_id"]) == \
            (gid, newcomer.account_id)
    body(api("PUT", group_path(gid), token=leader.access,
             json={"name": "renamed"}), 200)
    # A connection's stream begins at its daemon's last read, which may
    # be before the group was made: that group_updated may come first.
    for conn, role in ((cl, "leader"), (ca, "member"), (cn, "member")):
        frame = await conn.take(lambda f: f.get("type") == "group_updated"
                                and f["group"]["name"] == "renamed")
        assert set(frame) == {"type", "group", "cursor"}
        assert (frame["group"]["name"], frame["group"]["my_role"]) == \
            ("renamed", role)
    message = gsend(a, group, "soon gone")
    body(group_read(newcomer.access, gid, message["message_id"]), 200)
    for conn in (cl, ca):
        frame = await conn.expect("group_read")
        assert without_cursor(frame) == {
            "type": "group_read", "group_id": gid,
            "user_id": newcomer.account_id,
            "message_id": message["message_id"]}
    body(api("DELETE", group_path(gid, f"/messages/{message['message_id']}"),
             token=a.access), 200)
    for conn in (cl, ca, cn):
        frame = await conn.expect("group_message_deleted")
        assert without_cursor(frame) == {
            "type": "group_message_deleted", "group_id": gid,
            "message_id": message["message_id"]}
    body(group_leave(a.access, gid), 200)
    for conn in (cl, ca, cn):
        frame = await conn.expect("group_member_left")
        assert frame["member"]["account_id"] == a.account_id
    # A new group reaches its first members as group_updated.
    other = new_group(leader, newcomer, befriend=False)
    frame = await cn.take(lambda f: f.get("type") == "group_updated" and
                          f["group"]["group_id"] == other["group_id"])
    assert frame["group"]["my_role"] == "member"
    await close_all(cl, ca, cn)


@ws_test
async def test_group_typing_and_read_over_the_socket():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    gid = group["group_id"]
    cl, ca = await session(leader), await session(a)
    await ca.send({"type": "group_typing", "group_id": gid,
                   "is_typing": True})
    assert await cl.expect("group_typing_indicator") == {
        "type": "group_typing_indicator", "group_id": gid,
        "user_id": a.account_id, "is_typing": True}
    await ca.quiet(0.5, of_type("group_typing_indicator"))
    message = gsend(leader, group, "read me")
    await ca.send({"type": "mark_group_read", "group_id": gid,
                   "message_id": message["message_id"]})
    frame = await cl.expect("group_read")
    assert (frame["user_id"], frame["message_id"]) == \
        (a.account_id, message["message_id"])
    assert group_unread(a.access)["groups"][gid] == 0
    await close_all(cl, ca)


@ws_test
async def test_group_requests_refused_over_the_socket():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    gid = group["group_id"]
    stranger = await session(new_user())
    ca = await session(a)
    cases = [
        ({"type": "send_group_message", "group_id": gid, "content": "x"},
         404, "Group not found"),
        ({"type": "send_group_message", "group_id": random_uuid(),
          "content": "x"}, 404, "Group not found"),
        ({"type": "group_typing", "group_id": gid}, 404, "Group not found"),
        ({"type": "mark_group_read", "group_id": gid,
          "message_id": random_uuid()}, 404, "Group not found"),
    ]
    for frame, code, detail in cases:
        await stranger.send(dict(frame, temp_id="q"))
        assert_error_frame(await stranger.expect_error(), code, detail,
                           frame["type"], "q")
    for frame, detail in (
            ({"type": "send_group_message", "group_id": "nope",
              "content": "x"}, "group_id: value is not a valid uuid"),
            ({"type": "send_group_message", "group_id": gid},
             "content: field required"),
            ({"type": "send_group_message", "group_id": gid,
              "content": "  "},
             "content: ensure this value has at least 1 characters"),
            ({"type": "mark_group_read", "group_id": gid},
             "message_id: field required"),
            ({"type": "group_typing", "group_id": gid, "is_typing": "yes"},
             "is_typing: value could not be parsed to a boolean")):
        await ca.send(frame)
        assert_error_frame(await ca.expect_error(), 422, detail,
                           frame["type"])
    await ca.send({"type": "mark_group_read", "group_id": gid,
                   "message_id": random_uuid()})
    assert_error_frame(await ca.expect_error(), 404, "Message not found",
                       "mark_group_read")
    body(api("DELETE", group_path(gid), token=leader.access), 200)
    await ca.expect("group_updated")
    await ca.send({"type": "send_group_message", "group_id": gid,
                   "content": "anyone?"})
    assert_error_frame(await ca.expect_error(), 403,
                       "Group has been deleted", "send_group_message")
    await close_all(stranger, ca)


@ws_test
async def test_temp_id_repeat_is_answered_not_stored():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    gid = group["group_id"]
    ca, cl = await session(a), await session(leader)
    frame = {"type": "send_group_message", "group_id": gid,
             "content": "once", "temp_id": "same"}
    await ca.send(frame)
    first = await ca.expect("message_sent")
    await cl.take(group_message_of(first["message_id"]))
    await ca.send(frame)
    assert await ca.expect("message_sent") == first
    await cl.quiet(0.5, any_group_message)
    assert body(group_history(a.access, gid), 200)["total"] == 1
    await close_all(ca, cl)


@ws_test
async def test_catch_up_with_since_brings_group_events():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    gid = group["group_id"]
    conn = await session(a, daemon=1)
    since = conn.established["cursor"]
    await conn.close()
    one = gsend(leader, group, "while away")
    body(api("PUT", group_path(gid), token=leader.access,
             json={"name": "while away too"}), 200)
    url = url_for(a.access, daemon=2) + "&since=" + \
        urllib.parse.quote(since, safe="")
    back = await open_ws(None, url=url, label="back")
    await back.expect("connection_established")
    await back.expect("online_friends")
    assert_group_message(await back.take(group_message_of(one["message_id"])),
                         one)
    frame = await back.take(lambda f: f.get("type") == "group_updated" and
                            f["group"]["name"] == "while away too")
    assert frame["group"]["my_role"] == "member"
    # Then live, with no gap.
    two = gsend(leader, group, "live again")
    await back.take(group_message_of(two["message_id"]))
    await back.close()


# ---------------------------------------------------- the per-group URL

@ws_test
async def test_per_group_handshake_refusals():
    leader, a, former = new_user(), new_user(), new_user()
    group = new_group(leader, a, former)
    gid = group["group_id"]
    body(group_leave(former.access, gid), 200)
    url = group_url(gid)
    assert await handshake_status(new_user().access, url=url) == 403
    assert await handshake_status(former.access, url=url) == 403
    assert await handshake_status(a.access, url=group_url(random_uuid())) \
        == 403
    assert await handshake_status("not.a.token", url=url) == 401
    assert await handshake_status(None, url=url) == 401
    assert await handshake_status(a.access, url=group_url("nope")) == 404
    assert await handshake_status(a.access, url=url) == 101
    for k in (1, 2):
        assert await handshake_status(new_user().access,
                                      url=group_url(gid, k)) == 403


@ws_test
async def test_per_group_socket_carries_its_group_only():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    other = new_group(leader, a, befriend=False)
    gid = group["group_id"]
    pl = await group_session(leader, group, daemon=1)
    pa = await group_session(a, group, daemon=2)
    online = await pl.expect("online_members")
    assert set(online["members"]) == {leader.account_id, a.account_id}
    main_a = await session(a, daemon=1)
    await pl.send({"type": "send_message", "content": "from the group page"})
    sent = await pl.expect("message_sent")
    assert (sent["group_id"], sent["status"]) == (gid, "sent")
    frame = await pa.take(group_message_of(sent["message_id"]))
    assert frame["data"]["content"] == "from the group page"
    await main_a.take(group_message_of(sent["message_id"]))
    await pl.quiet(0.5, any_group_message)
    await pl.send({"type": "typing", "is_typing": True})
    assert await pa.expect("typing_indicator") == {
        "type": "typing_indicator", "group_id": gid,
        "user_id": leader.account_id, "is_typing": True}
    indicator = await main_a.expect("group_typing_indicator")
    assert indicator["group_id"] == gid
    # Nothing of another group, nor of direct messages.
    gsend(leader, other, "elsewhere")
    send(leader, a, "direct")
    await main_a.expect("new_message")
    await pa.quiet(1.0, lambda f: f.get("type") in (
        "group_message", "new_message", "group_updated"))
    await pa.send({"type": "mark_read", "message_id": random_uuid()})
    error = await pa.expect_error()
    assert (error["code"], error["detail"], error["message"]) == \
        (422, "Unknown message type", "Unknown message type")
    await close_all(pl, pa, main_a)


@ws_test
async def test_per_group_socket_closes_when_its_member_goes():
    leader, left, removed, banned = (new_user(), new_user(), new_user(),
                                     new_user())
    group = new_group(leader, left, removed, banned)
    gid = group["group_id"]
    socks = {u.username: await group_session(u, group)
             for u in (leader, left, removed, banned)}
    body(group_leave(left.access, gid), 200)
    body(group_remove(leader.access, gid, removed.account_id), 200)
    body(group_ban(leader.access, gid, banned.account_id), 200)
    for user, status, code in ((left, "left", 4003),
                               (removed, "removed", 4003),
                               (banned, "banned", 4004)):
        conn = socks[user.username]
        assert await conn.expect("status_changed") == {
            "type": "status_changed", "group_id": gid, "my_status": status,
            "is_active": True}
        assert (await conn.wait_closed())[0] == code
    leader_sock = socks[leader.username]
    assert leader_sock.is_open
    body(api("DELETE", group_path(gid), token=leader.access), 200)
    frame = await leader_sock.expect("status_changed")
    assert (frame["my_status"], frame["is_active"]) == ("active", False)
    assert (await leader_sock.wait_closed())[0] == 4003


@ws_test
async def test_online_members_follows_the_members():
    leader, a = new_user(), new_user()
    group = new_group(leader, a)
    pl = await group_session(leader, group)
    conn = await session(a)
    frame = await pl.take(lambda f: f.get("type") == "online_members" and
                          a.account_id in f["members"], timeout=5)
    assert set(frame["members"]) == {leader.account_id, a.account_id}
    body(api("GET", group_path(group["group_id"], "/online"),
             token=leader.access), 200)
    await conn.close()
    await pl.take(lambda f: f.get("type") == "online_members" and
                  a.account_id not in f["members"], timeout=10)
    await pl.close()


# ------------------------------------------------------ a daemon killed

@pytest.mark.disruptive
@ws_test(timeout=150)
async def test_kill_9_during_group_sends_loses_nothing():
    """The leader sends N group messages by REST while the daemon holding
    b (daemon 2) is killed with SIGKILL and started again; b comes back
    with since (its last cursor): every acknowledged message reaches it,
    live or in the replay, and c on daemon 1 gets every one live, in
    order."""
    leader, b, c = new_user(), new_user(), new_user()
    group = new_group(leader, b, c)
    n, killed = 60, 2
    cb = await session(b, daemon=killed)
    cc = await session(c, daemon=1)
    acked, refused = [], []

    def stream():
        for i in paced(n):
            r = group_send(leader.access, group["group_id"], f"kill {i}")
            (acked if r.status_code == 201 else refused).append(
                r.json() if r.status_code == 201 else r.status_code)

    conns = [cb]
    try:
        sender = asyncio.get_running_loop().run_in_executor(None, stream)
        deadline = time.monotonic() + 30
        while len(acked) < n // 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        os.kill(daemon_pid(killed), signal.SIGKILL)
        code, _ = await cb.wait_closed(WAIT)
        assert code != 1000, "a killed daemon cannot close cleanly"
        since = cb.established["cursor"]
        for frame in cb.frames:
            since = frame.get("cursor", since)
        await blocking(daemon_restart, killed)
        url = url_for(b.access, daemon=killed) + "&since=" + \
            urllib.parse.quote(since, safe="")
        deadline = time.monotonic() + 15
        while await handshake_status(None, url=url) != 101:
            assert time.monotonic() < deadline, "daemon 2 does not serve"
            await asyncio.sleep(0.2)
        again = await open_ws(None, url=url, label="b again")
        conns.append(again)
        await asyncio.wait_for(sender, 60)
        assert refused == [] and len(acked) == n, refused
        ids = [m["message_id"] for m in acked]
        for mid in ids:
            await cc.take(group_message_of(mid), timeout=10)
            if not any(group_message_of(mid)(f) for f in cb.frames):
                await again.take(group_message_of(mid), timeout=10)
        live = [f["data"]["message_id"] for f in cc.frames
                if f.get("type") == "group_message"]
        assert live == ids
    finally:
        await close_all(cc, *conns)
        if not daemon_running(killed):
            await blocking(daemon_restart, killed)


@ws_test
async def test_a_group_message_deleted_before_its_event_is_read_still_comes():
    """As for direct messages: sent and deleted while an older transaction
    holds the event readers back, the message is deleted when its event is
    read; its group_message still comes live, deleted and without content,
    before the group_message_deleted (the next cursors pass its event)."""
    leader, member = new_user(), new_user()
    group = new_group(leader, member)
    gid = group["group_id"]
    conn = await session(member)
    with horizon_held():
        m = await blocking(gsend, leader, group, "gone before it is read")
        await blocking(lambda: body(api(
            "DELETE", group_path(gid, f"/messages/{m['message_id']}"),
            token=leader.access), 200))
    frame = await conn.take(lambda f: f.get("type") in (
        "group_message", "group_message_deleted"))
    assert frame["type"] == "group_message", frame
    assert frame["data"]["message_id"] == m["message_id"]
    assert frame["data"]["is_deleted"] is True
    assert frame["data"]["content"] == ""
    assert_cursor(frame["cursor"])
    deleted = await conn.expect("group_message_deleted",
                                message_id=m["message_id"])
    assert_cursor(deleted["cursor"])
    await conn.close()
