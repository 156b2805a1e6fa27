"""Two hosts on one database (CONTRACT §6, §7, §8, §10, §11): users of
one host and of the other are friends, chat and share groups, and every
frame of the contract goes from a connection on one host to a connection
on the other. Then one host is cut off the network and comes back:
presence follows (its users go offline once presence.node_timeout_seconds
passes, and come back), and every message acknowledged meanwhile reaches
its receiver. tests/multihost/run builds the hosts; conftest.py says what
it sets."""

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass

import psycopg2
import pytest

from chat_api import (api, body, create_group, delete_message, friend_accept,
                      friend_remove, friend_request, group_add, group_leave,
                      group_path, group_remove, group_send, history,
                      new_user, online_friends, send_message, via)
from ws_client import (WAIT, WS_PATH, assert_cursor, assert_typing_both_ways,
                       blocking, close_all,
                       connect, new_message_of, of_type, open_ws, session,
                       wait_status, ws_test)

RECOVERY = 40       # seconds a host back on the network may take to serve
                    # its users again (TCP retransmission backs off while
                    # the link is down)


@dataclass
class Host:
    name: str
    url: str

    @property
    def ws(self):
        return "ws" + self.url[len("http"):] + WS_PATH


HOSTS = [Host(f"h{i + 1}", url) for i, url in
         enumerate(os.environ.get("CHAT_MH_URLS", "").split())]
NODE_TIMEOUT = int(os.environ.get("CHAT_MH_NODE_TIMEOUT", "3"))


@pytest.fixture(scope="module", autouse=True)
def two_hosts():
    assert len(HOSTS) == 2, "run under tests/multihost/run (CHAT_MH_URLS)"


# ------------------------------------------------------------------ helpers

def on(host, fn, *args, **kwargs):
    """fn(*args) with its requests sent to host's web server."""
    with via(host.url):
        return fn(*args, **kwargs)


async def rest(user, fn, *args, **kwargs):
    """fn(*args) through the web server of user's host, off the loop."""
    return await blocking(on, user.host, fn, *args, **kwargs)


def user_on(host):
    """A fresh account registered and logged in through host; its REST
    calls (rest()) and connections go to that host."""
    user = on(host, new_user)
    user.host = host
    return user


def befriend(a, b):
    """a asks through a's host, b accepts through b's."""
    body(on(a.host, friend_request, a.access, b.account_id), 201)
    body(on(b.host, friend_accept, b.access, a.account_id), 200)


async def open_on(user, host=None):
    """A session of user on its host (or host), past its first frames."""
    host = host or user.host
    return await session(user, url=host.ws,
                         label=f"{user.username}@{host.name}")


def last_cursor(conn):
    """The cursor of the last frame conn received that carried one."""
    for frame in reversed(conn.frames):
        if "cursor" in frame:
            return frame["cursor"]
    raise AssertionError(f"{conn.label}: no frame with a cursor")


def link(host, state):
    """Sets host's port on the switch up or down."""
    switch = os.environ["CHAT_MH_SWITCH"]
    port = os.environ["CHAT_MH_PORTS"].split()[HOSTS.index(host)]
    subprocess.run(["ip", "-n", switch, "link", "set", port, state],
                   check=True, timeout=10)


def rest_online(user):
    answer = body(on(user.host, online_friends, user.access), 200)
    return set(answer["online_friends"])


async def until(predicate, seconds, what):
    """Waits until predicate() (a blocking call) holds."""
    deadline = time.monotonic() + seconds
    while not await blocking(predicate):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        await asyncio.sleep(0.3)


# ------------------------------------------------- frames across the hosts

@ws_test
async def test_friend_events_and_presence_cross_hosts():
    h1, h2 = HOSTS
    a, b = user_on(h1), user_on(h2)
    ca, cb = await open_on(a), await open_on(b)
    body(await rest(a, friend_request, a.access, b.account_id), 201)
    frame = await cb.expect("friend_request")
    assert_cursor(frame["cursor"])
    assert (frame["request"]["sender_id"], frame["request"]["receiver_id"],
            frame["request"]["status"]) == \
        (a.account_id, b.account_id, "pending")
    assert frame["request"]["sender"]["username"] == a.username
    body(await rest(b, friend_accept, b.access, a.account_id), 200)
    frame = await ca.expect("friend_accepted")
    assert frame["user_id"] == b.account_id
    assert_cursor(frame["cursor"])

    # Presence: b's last connection closes on h2, a hears it on h1; b
    # comes back and sees a online, and a hears that too.
    await cb.close()
    assert await ca.expect("friend_offline", user_id=b.account_id) == \
        {"type": "friend_offline", "user_id": b.account_id}
    cb = await open_on(b)
    assert cb.online["friends"] == [a.account_id]
    await ca.expect("friend_online", user_id=b.account_id)
    assert await blocking(rest_online, a) == {b.account_id}
    assert await blocking(rest_online, b) == {a.account_id}

    body(await rest(a, friend_remove, a.access, b.account_id), 200)
    removed_a = await ca.expect("friend_removed")
    removed_b = await cb.expect("friend_removed")
    assert (removed_a["user_id"], removed_b["user_id"]) == \
        (b.account_id, a.account_id)
    await close_all(ca, cb)


@ws_test
async def test_direct_messages_cross_hosts():
    h1, h2 = HOSTS
    a, b = user_on(h1), user_on(h2)
    befriend(a, b)
    ca = await open_on(a)
    ca_h2 = await open_on(a, h2)    # a's other device, on the other host
    cb = await open_on(b)
    since_b = cb.established["cursor"]

    # Over the socket on h1, to b on h2.
    await ca.send({"type": "send_message", "receiver_id": b.account_id,
                   "content": "over the bridge", "temp_id": "mh-1"})
    sent = await ca.expect("message_sent", temp_id="mh-1")
    assert sent["status"] == "sent"
    mid = sent["message_id"]
    got = await cb.take(new_message_of(mid))
    assert_cursor(got["cursor"])
    assert (got["message"]["sender_id"], got["message"]["content"],
            got["message"]["status"]) == \
        (a.account_id, "over the bridge", "delivered")
    copy = await ca_h2.take(new_message_of(mid))
    assert copy["message"]["content"] == "over the bridge"
    delivered = await ca.expect("message_delivered", message_id=mid)
    assert_cursor(delivered["cursor"])
    await ca_h2.expect("message_delivered", message_id=mid)

    # Read on h2, heard on h1 (and on a's device on h2).
    await cb.send({"type": "mark_read", "message_id": mid})
    read = await ca.expect("message_read", message_id=mid)
    assert read["read_by"] == b.account_id
    assert_cursor(read["cursor"])
    await ca_h2.expect("message_read", message_id=mid)

    # Typing both ways.
    await assert_typing_both_ways(ca, a, cb, b)

    # REST on h2, heard on h1; a deletes its message through h1, b hears.
    reply = body(await rest(b, send_message, b.access, a.account_id,
                            "back over REST"), 201)
    got = await ca.take(new_message_of(reply["message_id"]))
    assert got["message"]["content"] == "back over REST"
    await cb.expect("message_delivered", message_id=reply["message_id"])
    body(await rest(a, delete_message, a.access, mid), 200)
    deleted = await cb.expect("message_deleted", message_id=mid)
    assert_cursor(deleted["cursor"])

    # b's cursor from h2 replays b's stream on h1: the same events.
    replay = await connect(b, since=since_b, url=h1.ws, label="b replay@h1")
    frame = await replay.take(new_message_of(mid))
    assert frame["message"]["is_deleted"] is True
    assert frame["message"]["content"] == ""
    await replay.take(new_message_of(reply["message_id"]))
    await replay.expect("message_deleted", message_id=mid)
    # Both hosts' histories agree.
    h1_view = body(await rest(a, history, a.access, b.account_id), 200)
    h2_view = body(await rest(b, history, b.access, a.account_id), 200)
    assert h1_view == h2_view
    await close_all(ca, ca_h2, cb, replay)


@ws_test
async def test_group_events_cross_hosts():
    h1, h2 = HOSTS
    leader, m1, m2, m3 = user_on(h1), user_on(h2), user_on(h1), user_on(h2)
    for m in (m1, m2, m3):
        befriend(leader, m)
    group = body(await rest(leader, create_group, leader.access, "bridged",
                            [m1.account_id, m2.account_id]), 201)
    gid = group["group_id"]
    cl, c1, c2, c3 = [await open_on(u) for u in (leader, m1, m2, m3)]

    body(await rest(leader, group_add, leader.access, gid, m3.account_id),
         201)
    for conn in (c1, c3):
        frame = await conn.expect("group_member_added", group_id=gid)
        assert frame["member"]["account_id"] == m3.account_id
        assert_cursor(frame["cursor"])

    # A group message over the socket on h2 reaches members on both hosts.
    await c1.send({"type": "send_group_message", "group_id": gid,
                   "content": "to all hosts", "temp_id": "g-1"})
    sent = await c1.expect("message_sent", temp_id="g-1")
    assert sent["group_id"] == gid
    gmid = sent["message_id"]
    for conn in (cl, c2, c3):
        frame = await conn.take(
            lambda f: f.get("type") == "group_message"
            and f["data"]["message_id"] == gmid)
        assert frame["data"]["content"] == "to all hosts"
        assert_cursor(frame["cursor"])
    # Over REST on h1 too.
    rest_message = body(await rest(m2, group_send, m2.access, gid,
                                   "from h1 by REST"), 201)
    await c1.take(lambda f: f.get("type") == "group_message"
                  and f["data"]["message_id"] == rest_message["message_id"])

    await cl.send({"type": "group_typing", "group_id": gid,
                   "is_typing": True})
    assert await c1.expect("group_typing_indicator") == {
        "type": "group_typing_indicator", "group_id": gid,
        "user_id": leader.account_id, "is_typing": True}

    # Read on h2 (the newest message), heard on h1.
    await c3.send({"type": "mark_group_read", "group_id": gid,
                   "message_id": rest_message["message_id"]})
    for conn in (cl, c2):
        frame = await conn.expect("group_read", group_id=gid)
        assert (frame["user_id"], frame["message_id"]) == \
            (m3.account_id, rest_message["message_id"])

    body(await rest(leader, api, "PUT", group_path(gid),
                    token=leader.access, json={"name": "renamed"}), 200)
    for conn in (c1, c3):
        frame = await conn.take(
            lambda f: f.get("type") == "group_updated"
            and f["group"]["name"] == "renamed")
        assert frame["group"]["group_id"] == gid

    body(await rest(leader, api, "DELETE",
                    group_path(gid, f"/messages/{gmid}"),
                    token=leader.access), 200)
    for conn in (c1, c3):
        await conn.expect("group_message_deleted", group_id=gid,
                          message_id=gmid)

    body(await rest(m2, group_leave, m2.access, gid), 200)
    frame = await c1.expect("group_member_left", group_id=gid)
    assert frame["member"]["account_id"] == m2.account_id
    body(await rest(leader, group_remove, leader.access, gid,
                    m3.account_id), 200)
    for conn in (c1, c3):
        frame = await conn.expect("group_member_removed", group_id=gid)
        assert frame["member"]["account_id"] == m3.account_id
    await close_all(cl, c1, c2, c3)


async def group_socket(user, group, host=None):
    """A connection of the per-group URL (CONTRACT §11) on user's host,
    past connection_established and its first online_members. A daemon
    knows of a new member once it has read the event: the handshake is
    tried again while refused."""
    host = host or user.host
    url = host.ws.replace("/chat/ws/chat",
                          f"/group-chat/ws/group/{group['group_id']}")
    assert await wait_status(user.access, 101, url=url) == 101
    conn = await open_ws(user.access, url=url,
                         label=f"{user.username}@{host.name} group")
    first = await conn.expect("connection_established")
    assert first["group_id"] == group["group_id"]
    await conn.expect("online_members")
    return conn


@ws_test
async def test_per_group_sockets_cross_hosts():
    h1, h2 = HOSTS
    leader, a, b = user_on(h1), user_on(h2), user_on(h2)
    for m in (a, b):
        befriend(leader, m)
    group = body(await rest(leader, create_group, leader.access, "pages",
                            [a.account_id, b.account_id]), 201)
    gid = group["group_id"]
    pl = await group_socket(leader, group)
    pa = await group_socket(a, group)
    pb = await group_socket(b, group)
    # online_members on h1 counts the members on h2.
    await pl.take(lambda f: f.get("type") == "online_members"
                  and {a.account_id, b.account_id} <= set(f["members"]),
                  timeout=10)
    await pa.send({"type": "send_message", "content": "from a group page"})
    sent = await pa.expect("message_sent")
    assert (sent["group_id"], sent["status"]) == (gid, "sent")
    frame = await pl.take(lambda f: f.get("type") == "group_message"
                          and f["data"]["message_id"] == sent["message_id"])
    assert frame["data"]["content"] == "from a group page"
    await pl.send({"type": "typing", "is_typing": True})
    assert await pb.expect("typing_indicator") == {
        "type": "typing_indicator", "group_id": gid,
        "user_id": leader.account_id, "is_typing": True}
    # Removed through h1, b's page on h2 is told and closed.
    body(await rest(leader, group_remove, leader.access, gid, b.account_id),
         200)
    assert await pb.expect("status_changed") == {
        "type": "status_changed", "group_id": gid, "my_status": "removed",
        "is_active": True}
    assert (await pb.wait_closed())[0] == 4003
    await close_all(pl, pa, pb)


def pgbouncer_show(host, what):
    """SHOW what on the console of host's PgBouncer (its socket is in the
    host's run directory: the clients' namespace reaches it through the
    file system): a dict per row."""
    conn = psycopg2.connect(
        host=os.path.join(os.environ["CHAT_MH_STATE"], host.name, "run"),
        port=6432, dbname="pgbouncer", user="chat_app")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"SHOW {what}")
            names = [c.name for c in cur.description]
            return [dict(zip(names, row)) for row in cur.fetchall()]
    finally:
        conn.close()


def test_each_host_serves_rest_through_its_pgbouncer():
    """chat-fcgi reaches PostgreSQL through the host's PgBouncer, in
    transaction mode."""
    for host in HOSTS:
        user_on(host)
        pools = [p for p in pgbouncer_show(host, "POOLS")
                 if p["database"] == "chat"]
        assert [p["pool_mode"] for p in pools] == ["transaction"], pools
        stats = [s for s in pgbouncer_show(host, "STATS")
                 if s["database"] == "chat"]
        assert stats and stats[0]["total_xact_count"] > 0, stats


# ------------------------------------------------- a host cut off and back

async def receive_all(user, conn, message_ids):
    """Waits until every one of message_ids came to user as new_message on
    conn, or, should conn close meanwhile, on a connection opened again
    from its last cursor (CONTRACT §10); returns the connection open at
    the end."""
    deadline = time.monotonic() + RECOVERY
    for mid in message_ids:
        while True:
            try:
                await conn.take(new_message_of(mid), timeout=max(
                    0.1, deadline - time.monotonic()))
                break
            except AssertionError:
                if conn.is_open or time.monotonic() > deadline:
                    raise
                conn = await connect(user, since=last_cursor(conn),
                                     url=user.host.ws,
                                     label=f"{user.username} again")
    return conn


PAIRS = 4
ROUNDS_AFTER_OFFLINE = 3    # sends to each receiver once h1 took it for
                            # offline, before h2 comes back


@ws_test(timeout=180)
async def test_host_cut_off_and_back_loses_nothing():
    h1, h2 = HOSTS
    senders = [user_on(h1) for _ in range(PAIRS)]
    receivers = [user_on(h2) for _ in range(PAIRS)]
    for s, r in zip(senders, receivers):
        befriend(s, r)
    sconns = [await open_on(s) for s in senders]
    rconns = [await open_on(r) for r in receivers]
    for s, r, conn in zip(senders, receivers, sconns):
        await until(lambda s=s: r.account_id in rest_online(s), 10,
                    f"{r.username} online for {s.username}")
    # Where each receiver's stream stood before the cut.
    before = [last_cursor(conn) for conn in rconns]

    acked = {r.account_id: [] for r in receivers}

    async def send_round(i):
        """Each sender to its receiver, over REST or the socket in turn."""
        for j, (s, r) in enumerate(zip(senders, receivers)):
            content = f"while away {i}"
            if (i + j) % 2:
                m = body(await rest(s, send_message, s.access,
                                    r.account_id, content), 201)
            else:
                temp = f"away-{i}"
                await sconns[j].send({"type": "send_message",
                                      "receiver_id": r.account_id,
                                      "content": content, "temp_id": temp})
                m = await sconns[j].expect("message_sent", temp_id=temp)
            acked[r.account_id].append(m["message_id"])

    def offline_heard():
        return all(conn.count(of_type("friend_offline", user_id=r.account_id))
                   for r, conn in zip(receivers, sconns))

    link(h2, "down")
    try:
        # h1 keeps sending while h2 is away: before h2's users are taken
        # for offline (their daemons' heartbeats older than the node
        # timeout), and after.
        deadline = time.monotonic() + NODE_TIMEOUT + 20
        rounds, after = 0, 0
        while after < ROUNDS_AFTER_OFFLINE:
            assert time.monotonic() < deadline, \
                f"h2's users not offline for h1 within {NODE_TIMEOUT + 20} s"
            await send_round(rounds)
            rounds += 1
            if offline_heard():
                after += 1
            await asyncio.sleep(0.5)
        for s, r in zip(senders, receivers):
            assert r.account_id not in await blocking(rest_online, s)
    finally:
        link(h2, "up")

    # Back: h2's users come online again for h1 (their daemons register
    # the connections again; a connection that broke is opened again from
    # where it stood).
    for k, (r, conn) in enumerate(zip(receivers, rconns)):
        if not conn.is_open:
            rconns[k] = await connect(r, since=last_cursor(conn), url=h2.ws,
                                      label=f"{r.username} again")
    for s, r, conn in zip(senders, receivers, sconns):
        await conn.expect("friend_online", user_id=r.account_id,
                          timeout=RECOVERY)
        await until(lambda s=s: r.account_id in rest_online(s), RECOVERY,
                    f"{r.username} online again for {s.username}")

    # Nothing lost: each message acknowledged while h2 was away reaches its
    # receiver's connection, and a catch-up from before the cut (on h2)
    # brings every one of them, in order.
    for k, r in enumerate(receivers):
        rconns[k] = await receive_all(r, rconns[k], acked[r.account_id])
    for r, since in zip(receivers, before):
        replay = await connect(r, since=since, url=h2.ws,
                               label=f"{r.username} catch-up")
        got = []
        while len(got) < len(acked[r.account_id]):
            frame = await replay.expect("new_message", timeout=RECOVERY)
            got.append(frame["message"]["message_id"])
        assert got == acked[r.account_id]
        await replay.close()
    # ... and each is delivered, in history on both hosts.
    for s, r in zip(senders, receivers):
        for who, other in ((s, r), (r, s)):
            page = body(await rest(who, history, who.access,
                                   other.account_id, limit=100), 200)
            statuses = {m["message_id"]: m["status"]
                        for m in page["messages"]}
            assert all(statuses.get(mid) == "delivered"
                       for mid in acked[r.account_id]), statuses

    # And h2 serves its users' sends again, heard on h1.
    for s, r, sconn, rconn in zip(senders, receivers, sconns, rconns):
        await rconn.send({"type": "send_message", "receiver_id": s.account_id,
                          "content": "back again", "temp_id": "back"})
        m = await rconn.expect("message_sent", temp_id="back",
                               timeout=RECOVERY)
        await sconn.take(new_message_of(m["message_id"]), timeout=WAIT)
    await close_all(*sconns, *rconns)
