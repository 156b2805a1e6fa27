#!/usr/bin/python3
"""Chaos run: load with multi-device users while push daemons, FastCGI
processes and PostgreSQL are killed or restarted at random; then a check,
from the clients' side and the database's, that nothing acknowledged or
recorded was lost, repeated or reordered (CONTRACT §7, §10).

Reads the environment `./stack test` gives tests/e2e (CHAT_URL, CHAT_DB,
CHAT_WS_URL, CHAT_PUSH_PORTS, CHAT_PUSH_PIDFILES, CHAT_STACK_CMD,
CHAT_PGCTL, CHAT_PGDATA, CHAT_RUN_AS, CHAT_CONFIG, CHAT_STACK_DIR);
`./stack chaos [SECONDS]` runs it on a throwaway stack.

    chaos.py [--seconds S] [--users N] [--devices D] [--out FILE] [--seed X]

The load: N users in a ring of friends (user i and i+1), D WebSocket
connections ("devices") each, spread over the web server and every push
daemon's own port. Each user sends, one message at a time, to a ring
neighbour, by REST (with Idempotency-Key) or over one of its devices
(with temp_id), retrying the same key until acknowledged; marks received
messages read (REST or WebSocket), deletes some of its own, and now and
then removes a friend and makes friends again. Each user is also in one
or two groups (CONTRACT §11) of 3 to 6 users next to each other in the
ring, made before the load by one of them (made friends with the others
first); it sends to them as it sends to friends (REST with
Idempotency-Key, or send_group_message with temp_id), marks what it
received read (PUT .../read or mark_group_read) and deletes some of its
own. Each device keeps the cursor of the last frame that carried one and
reconnects with since=CURSOR whenever its connection ends, and at random.

The faults, at random intervals: kill -9 of a push daemon (then
`./stack daemon-restart K`), kill -9 of a FastCGI process, a restart of
PostgreSQL (stop -m fast, or -m immediate: a crash, then recovery; then
start), counted by kind and mode.

The check, after the faults stop and every device reconnected with since:
  lost        acknowledged messages, direct and group, not stored exactly
              once (history of REST for those not deleted, the message
              and group_message tables for all)
  missed      events of a device's stream (the database's event table
              after the start: new_message, message_delivered,
              message_read, message_deleted, friend_request,
              friend_accepted, friend_removed; and the group events of
              the groups whose member the user was when they happened, as
              stream_after in sql/functions/events.sql selects them) it
              never received
  duplicates  such frames a device received more than once (with since
              there is no repeat: CONTRACT §10)
  out_of_order  new_message of one sender arriving out of created_at
              order on a device, or a group's events arriving out of
              their order (event ids) on a device
  sync_new    events a final GET /sync from a device's last cursor
              returns that the device had not received
The summary is JSON (stdout and --out); the exit status is 1 when any of
these is not zero, or a device got resync_required.
"""

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import sys
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import requests  # noqa: E402
import websockets  # noqa: E402

import chat_api  # noqa: E402
from chat_api import api, env  # noqa: E402
from ws_client import (RECOVERY_SECONDS, daemon_pid, daemon_restart,  # noqa: E402
                       daemon_running, push_ports, ws_url)

SEND_GAP = (0.3, 0.9)        # seconds between one user's sends
FAULT_GAP = (2.0, 6.0)       # seconds between faults
ACK_WAIT = 8                 # seconds a WebSocket send waits for its ack
QUIET_SECONDS = 4            # a device is drained when silent this long
GROUP_SHARE = 0.4            # the share of a user's turns spent on a group
GROUP_SIZES = (3, 6)         # members of a group, a stretch of the ring
GROUP_FRAMES = {"group_message", "group_message_deleted", "group_read",
                "group_updated", "group_member_added", "group_member_left",
                "group_member_removed"}
STREAM_FRAMES = {"new_message", "message_delivered", "message_read",
                 "message_deleted", "friend_request", "friend_accepted",
                 "friend_removed"} | GROUP_FRAMES


def log(*args):
    print(time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ REST

def rest(method, path, token, retry=True, **kwargs):
    """One REST call, retried while the stack is down (connection errors,
    5xx, 429); returns the answer, or None when retry is off and it
    failed that way."""
    while True:
        try:
            r = api(method, path, token=token, **kwargs)
        except requests.RequestException:
            r = None
        if r is not None and r.status_code < 500 and r.status_code != 429:
            return r
        if not retry:
            return None
        wait = 0.3
        if r is not None and r.status_code == 429:
            wait = float(r.headers.get("Retry-After") or 1)
        time.sleep(wait)


# --------------------------------------------------------------- devices

class Device:
    """One WebSocket client of a user, reconnecting with since."""

    def __init__(self, run, user, index):
        self.run = run
        self.user = user
        self.name = f"{user.username}/{index}"
        self.index = index
        self.cursor = None
        self.ws = None
        self.connections = 0
        self.connect_failures = 0
        self.resyncs = 0
        self.received = []          # (type, key, frame) of stream frames
        self.own_ws_sends = set()   # message ids acked on this device
        self.waiters = {}           # temp_id -> future of the ack or error
        self.last_frame = time.monotonic()
        self.task = None
        self.trace = []             # (time, what, ...) with --trace

    def url(self):
        """Through the web server or straight to a daemon, at random."""
        ports = push_ports()
        choice = random.randrange(len(ports) + 1)
        self.trace.append((round(time.time(), 3), "connect", choice,
                           self.cursor))
        base = ws_url() if choice == 0 else \
            f"ws://127.0.0.1:{ports[choice - 1]}{ws_url_path()}"
        url = f"{base}?token={self.user.access}"
        if self.cursor is not None:
            url += "&since=" + urllib.parse.quote(self.cursor, safe="")
        return url

    async def loop(self):
        while not self.run.devices_stop:
            try:
                self.ws = await websockets.connect(
                    self.url(), open_timeout=5, close_timeout=1,
                    ping_interval=None, max_size=None, max_queue=None)
            except Exception:
                self.connect_failures += 1
                await asyncio.sleep(random.uniform(0.2, 0.6))
                continue
            self.connections += 1
            try:
                async for data in self.ws:
                    self.frame(json.loads(data))
            except Exception:
                pass
            self.trace.append((round(time.time(), 3), "closed",
                               self.ws.close_code, None))
            self.ws = None
            for fut in self.waiters.values():
                if not fut.done():
                    fut.set_result(None)
            await asyncio.sleep(random.uniform(0.05, 0.3))

    def frame(self, f):
        self.last_frame = time.monotonic()
        kind = f.get("type")
        self.trace.append((round(time.time(), 3), kind,
                           frame_key(f) if kind in STREAM_FRAMES else None,
                           f.get("cursor")))
        if "cursor" in f:
            self.cursor = f["cursor"]
        if kind == "resync_required":
            self.resyncs += 1
        elif kind in ("message_sent", "error") and "temp_id" in f:
            fut = self.waiters.get(f["temp_id"])
            if fut is not None and not fut.done():
                fut.set_result(f)
        if kind in STREAM_FRAMES:
            if "cursor" not in f:
                # A snapshot frame (only a connection without since gets
                # them, and only the first connection has none).
                self.run.snapshot_frames += 1
            self.received.append((kind, frame_key(f), f))

    async def reconnect(self):
        """Closes the connection: the loop opens one again with since."""
        ws = self.ws
        if ws is not None:
            try:
                await asyncio.wait_for(ws.close(), 2)
            except Exception:
                pass

    async def send(self, frame, temp_id):
        """Sends frame and waits for the message_sent or error carrying
        temp_id: the frame, or None when the connection is gone or the
        answer does not come within ACK_WAIT."""
        ws = self.ws
        if ws is None:
            return None
        fut = asyncio.get_running_loop().create_future()
        self.waiters[temp_id] = fut
        try:
            await ws.send(json.dumps(frame))
            return await asyncio.wait_for(fut, ACK_WAIT)
        except Exception:
            return None
        finally:
            self.waiters.pop(temp_id, None)


def ws_url_path():
    return urllib.parse.urlsplit(ws_url()).path


def frame_key(f):
    """What identifies the event a stream frame tells of."""
    kind = f["type"]
    if kind in GROUP_FRAMES:
        return group_frame_key(f)
    if kind == "new_message":
        return f["message"]["message_id"]
    if kind in ("message_delivered", "message_read", "message_deleted"):
        return f["message_id"]
    if kind == "friend_request":
        return f["request"]["sender_id"]
    return f["user_id"]         # friend_accepted, friend_removed


def group_frame_key(f):
    """What identifies the group event a frame tells of (a group's
    group_updated frames share one: they are told apart by their order)."""
    kind = f["type"]
    if kind == "group_message":
        return f["data"]["message_id"]
    if kind == "group_message_deleted":
        return f["message_id"]
    if kind == "group_read":
        return f"{f['user_id']} {f['message_id']}"
    if kind == "group_updated":
        return f["group"]["group_id"]
    return f"{f['group_id']} {f['member']['account_id']}"   # group_member_*


def group_frame_group(f):
    """The group of a group event's frame."""
    if f["type"] == "group_message":
        return f["data"]["group_id"]
    if f["type"] == "group_updated":
        return f["group"]["group_id"]
    return f["group_id"]


def group_event_frame(kind, actor, target, message, group):
    """(frame type, key) of a group event row (group_frame_key's key)."""
    if kind in ("group_message", "group_message_deleted"):
        return kind, message
    if kind == "group_read":
        return kind, f"{actor} {message}"
    if kind == "group_updated":
        return kind, group
    return kind, f"{group} {target}"                        # group_member_*


def plan_groups(n):
    """Groups of 3 to 6 users next to each other in a ring of n, as lists
    of places: a first round covers the ring, a second (from another
    place) every other stretch of it, so that each user is in one group
    or two."""
    if n < GROUP_SIZES[0]:
        return []

    def stretches(start):
        made, left, at = [], n, start
        while left > 0:
            size = left if left <= GROUP_SIZES[1] else random.randint(
                GROUP_SIZES[0], min(GROUP_SIZES[1], left - GROUP_SIZES[0]))
            made.append([(at + k) % n for k in range(size)])
            at, left = at + size, left - size
        return made

    return stretches(0) + stretches(random.randrange(n))[::2]


def event_frame(kind, actor, target, message, user):
    """(frame type, key) that user's devices get for an event row."""
    if kind == "message_created":
        return "new_message", message
    if kind in ("message_delivered", "message_read", "message_deleted"):
        return kind, message
    if kind == "friend_requested":
        return "friend_request", actor
    return kind, actor          # friend_accepted, friend_removed


# ------------------------------------------------------------------ run

class Run:
    def __init__(self, args):
        self.args = args
        self.users = []
        self.devices = {}           # account id -> [Device]
        self.locks = {}             # frozenset of two ids -> asyncio.Lock
        self.acked = {}             # message id -> (sender id, receiver id)
        self.deleted = set()
        # Messages whose DELETE has been asked (in a thread): a read of one
        # may meet the deletion before the DELETE's answer comes back.
        self.deleting = set()
        self.groups = []            # [{"group_id", "members": [User]}]
        self.groups_of = collections.defaultdict(list)  # account id -> groups
        self.group_acked = {}       # message id -> (sender id, group id)
        self.group_deleted = set()
        self.group_read = set()     # (reader id, message id) marked
        self.faults = collections.Counter()
        self.fault_errors = []
        self.fault_log = []         # (time, kind, detail)
        self.unacked = 0
        self.snapshot_frames = 0
        self.ops = collections.Counter()
        self.stop = False
        self.devices_stop = False

    def pair_lock(self, a, b):
        return self.locks.setdefault(frozenset((a.account_id, b.account_id)),
                                     asyncio.Lock())

    def neighbours(self, i):
        n = len(self.users)
        return [self.users[(i + 1) % n], self.users[(i - 1) % n]]

    # ---------------------------------------------------------- setup

    def setup(self):
        self.users = [chat_api.new_user() for _ in range(self.args.users)]
        n = len(self.users)
        friends = set()
        for i in range(n if n > 2 else 1):
            chat_api.make_friends(self.users[i], self.users[(i + 1) % n])
            friends.add(frozenset((i, (i + 1) % n)))
        self.by_id = {u.account_id: u for u in self.users}
        for places in plan_groups(n):
            # Its first user makes it, friends with every member first.
            leader, others = places[0], places[1:]
            for k in others:
                if frozenset((leader, k)) not in friends:
                    chat_api.make_friends(self.users[leader], self.users[k])
                    friends.add(frozenset((leader, k)))
            group = chat_api.body(chat_api.create_group(
                self.users[leader].access, f"chaos {len(self.groups)}",
                [self.users[k].account_id for k in others]), 201)
            g = {"group_id": group["group_id"],
                 "members": [self.users[k] for k in places]}
            self.groups.append(g)
            for u in g["members"]:
                self.groups_of[u.account_id].append(g)

    # ---------------------------------------------------------- users

    async def send_one(self, user, friend, seq):
        """One message from user to friend: its id, or None."""
        content = f"{user.username} {seq} {uuid.uuid4().hex[:8]}"
        return await self.send_acked(
            user, {"type": "send_message", "receiver_id": friend.account_id,
                   "content": content},
            "/chat/messages/", {"receiver_id": friend.account_id,
                                "content": content}, "send")

    async def send_group(self, user, group, seq):
        """One message from user to group: its id, or None."""
        content = f"{user.username} group {seq} {uuid.uuid4().hex[:8]}"
        return await self.send_acked(
            user, {"type": "send_group_message",
                   "group_id": group["group_id"], "content": content},
            f"/group-chat/{group['group_id']}/messages", {"content": content},
            "group_send")

    async def send_acked(self, user, frame, path, data, name):
        """One message of user, over one of its devices (frame, with a
        temp_id) or by REST (POST path with data and an
        Idempotency-Key), at random, retried with the same key until
        acknowledged; its id, or None if the run ended first. name counts
        it in the operations (ws_NAME, rest_NAME)."""
        key = uuid.uuid4().hex
        over_ws = random.random() < 0.5
        give_up = None
        while True:
            # Once the load stops (the faults have), a send under way has
            # a minute more to be acknowledged.
            if self.stop and give_up is None:
                give_up = time.monotonic() + 60
            if give_up is not None and time.monotonic() > give_up:
                break
            if over_ws:
                open_ = [d for d in self.devices[user.account_id] if d.ws]
                if not open_:
                    await asyncio.sleep(0.2)
                    continue
                device = random.choice(open_)
                answer = await device.send(dict(frame, temp_id=key), key)
                if answer is not None and answer["type"] == "message_sent":
                    device.own_ws_sends.add(answer["message_id"])
                    self.ops["ws_" + name] += 1
                    return answer["message_id"]
                if answer is not None and answer.get("code") not in (429, 503):
                    raise RuntimeError(f"send refused: {answer}")
                await asyncio.sleep(0.3 if answer is None else
                                    float(answer.get("retry_after", 0.3)))
            else:
                r = await asyncio.to_thread(
                    rest, "POST", path, user.access, retry=False, json=data,
                    headers={"Idempotency-Key": key})
                if r is not None:
                    if r.status_code != 201:
                        raise RuntimeError(f"send refused: {chat_api.describe(r)}")
                    self.ops["rest_" + name] += 1
                    return r.json()["message_id"]
                await asyncio.sleep(0.3)
        self.unacked += 1
        return None

    async def user_loop(self, i):
        user = self.users[i]
        mine = []                   # my acked messages, for deletes
        mine_in_groups = []         # (group, message id) of my group sends
        seq = 0
        while not self.stop:
            await asyncio.sleep(random.uniform(*SEND_GAP))
            groups = self.groups_of[user.account_id]
            if groups and random.random() < GROUP_SHARE:
                seq += 1
                await self.group_turn(user, random.choice(groups),
                                      mine_in_groups, seq)
                continue
            friend = random.choice(self.neighbours(i))
            roll = random.random()
            async with self.pair_lock(user, friend):
                if roll < 0.02 and len(self.users) > 2:
                    await asyncio.to_thread(self.unfriend_refriend, user, friend)
                    continue
                if roll < 0.12 and mine:
                    await asyncio.to_thread(self.delete, user, mine.pop(
                        random.randrange(len(mine))))
                    continue
                if roll < 0.30:
                    await self.mark_some_read(user, friend)
                    continue
                seq += 1
                message_id = await self.send_one(user, friend, seq)
                if message_id is not None:
                    self.acked[message_id] = (user.account_id, friend.account_id)
                    mine.append(message_id)

    async def group_turn(self, user, group, mine, seq):
        """user deletes one of its group messages, marks some read, or
        sends to group."""
        roll = random.random()
        if roll < 0.10 and mine:
            g, message_id = mine.pop(random.randrange(len(mine)))
            await asyncio.to_thread(self.group_delete, user, g, message_id)
        elif roll < 0.35:
            await self.mark_some_group_read(user, group)
        else:
            message_id = await self.send_group(user, group, seq)
            if message_id is not None:
                self.group_acked[message_id] = (user.account_id,
                                                group["group_id"])
                mine.append((group, message_id))

    def group_delete(self, user, group, message_id):
        self.deleting.add(message_id)
        r = rest("DELETE", f"/group-chat/{group['group_id']}/messages/"
                 f"{message_id}", user.access)
        # 404: a try of before that failed on the way back had deleted it.
        if r.status_code not in (200, 404):
            raise RuntimeError(f"group delete: {chat_api.describe(r)}")
        self.group_deleted.add(message_id)
        self.ops["group_delete"] += 1

    async def mark_some_group_read(self, user, group):
        """Marks read (REST, or mark_group_read over a device) some of the
        group's messages from others that one of user's devices received
        and user has not marked yet."""
        gid = group["group_id"]
        got = {key for d in self.devices[user.account_id]
               for kind, key, f in d.received
               if kind == "group_message" and f["data"]["group_id"] == gid
               and f["data"]["sender_id"] != user.account_id}
        todo = [m for m in got if m in self.group_acked
                and m not in self.group_deleted
                and (user.account_id, m) not in self.group_read]
        for message_id in random.sample(todo, min(3, len(todo))):
            open_ = [d for d in self.devices[user.account_id] if d.ws]
            if open_ and random.random() < 0.5:
                try:
                    await open_[0].ws.send(json.dumps(
                        {"type": "mark_group_read", "group_id": gid,
                         "message_id": message_id}))
                except Exception:
                    continue        # marked at another turn
                self.ops["ws_group_read"] += 1
            else:
                r = await asyncio.to_thread(
                    rest, "PUT", f"/group-chat/{gid}/read", user.access,
                    json={"message_id": message_id})
                # 404: its sender deleted it meanwhile.
                if r.status_code != 200 and not (
                        r.status_code == 404 and message_id in self.deleting):
                    raise RuntimeError(f"group read: {chat_api.describe(r)}")
                self.ops["rest_group_read"] += 1
            self.group_read.add((user.account_id, message_id))

    def delete(self, user, message_id):
        self.deleting.add(message_id)
        r = rest("DELETE", f"/chat/messages/{message_id}", user.access)
        # 404: a try of before that failed on the way back had deleted it.
        if r.status_code not in (200, 404):
            raise RuntimeError(f"delete: {chat_api.describe(r)}")
        self.deleted.add(message_id)
        self.ops["delete"] += 1

    def unfriend_refriend(self, user, friend):
        r = rest("DELETE", f"/friends/{friend.account_id}", user.access)
        if r.status_code not in (200, 404):
            raise RuntimeError(f"unfriend: {chat_api.describe(r)}")
        r = rest("POST", "/friends/request", user.access,
                 json={"receiver_id": friend.account_id})
        if r.status_code not in (201, 400, 409):
            raise RuntimeError(f"friend request: {chat_api.describe(r)}")
        r = rest("POST", f"/friends/accept/{user.account_id}", friend.access)
        if r.status_code not in (200, 400, 404, 409):
            raise RuntimeError(f"friend accept: {chat_api.describe(r)}")
        self.ops["refriend"] += 1

    async def mark_some_read(self, user, friend):
        """Marks read the unread messages friend sent to user that one of
        user's devices received (REST, or mark_read over a device)."""
        got = {key for d in self.devices[user.account_id]
               for kind, key, f in d.received
               if kind == "new_message"
               and f["message"]["sender_id"] == friend.account_id}
        todo = [m for m in got if m in self.acked
                and m not in self.deleted and m not in self.read]
        for message_id in random.sample(todo, min(3, len(todo))):
            open_ = [d for d in self.devices[user.account_id] if d.ws]
            if open_ and random.random() < 0.5:
                try:
                    await open_[0].ws.send(json.dumps(
                        {"type": "mark_read", "message_id": message_id}))
                except Exception:
                    continue        # marked at another turn
                self.ops["ws_read"] += 1
            else:
                r = await asyncio.to_thread(
                    rest, "PUT", f"/chat/messages/{message_id}/read",
                    user.access)
                # 404: its sender deleted it meanwhile.
                if r.status_code != 200 and not (
                        r.status_code == 404 and message_id in self.deleting):
                    raise RuntimeError(f"read: {chat_api.describe(r)}")
                self.ops["rest_read"] += 1
            self.read.add(message_id)

    async def random_reconnects(self):
        devices = [d for ds in self.devices.values() for d in ds]
        while not self.stop:
            await asyncio.sleep(random.uniform(1, 3))
            await random.choice(devices).reconnect()
            self.ops["voluntary_reconnect"] += 1

    # --------------------------------------------------------- faults

    def fcgi_pids(self):
        """chat-fcgi processes serving requests: lighttpd's, or the
        workers of the supervising chat-fcgi (not the supervisor)."""
        conf = env("CHAT_CONFIG")
        supervisor = None
        try:
            with open(os.path.join(env("CHAT_STACK_DIR"), "run",
                                   "chat-fcgi.pid")) as f:
                supervisor = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == supervisor:
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    args = f.read().decode(errors="replace").split("\0")
            except OSError:
                continue
            if not args or not os.path.basename(args[0]) == "chat-fcgi":
                continue
            if conf in args and "-i" not in args and "-n" not in args:
                pids.append(int(entry))
        return pids

    def fault(self, kind):
        if kind == "daemon_kill":
            k = random.randrange(len(push_ports())) + 1
            self.fault_log.append((round(time.time(), 3), kind, k))
            if daemon_running(k):
                os.kill(daemon_pid(k), signal.SIGKILL)
            time.sleep(random.uniform(0.2, 2))
            daemon_restart(k)
        elif kind == "fcgi_kill":
            pids = self.fcgi_pids()
            if not pids:
                raise RuntimeError("no chat-fcgi process found")
            pid = random.choice(pids)
            self.fault_log.append((round(time.time(), 3), kind, pid))
            os.kill(pid, signal.SIGKILL)
        elif kind == "postgres_restart":
            db = chat_api.Database()
            mode = random.choice(["fast", "immediate"])
            self.fault_log.append((round(time.time(), 3), kind, mode))
            db.stop(mode)
            time.sleep(random.uniform(0, 2))
            db.start()
            kind += "_" + mode  # immediate: as a crash, with recovery
        self.fault_log.append((round(time.time(), 3), kind + " done", None))
        return kind

    async def fault_loop(self):
        kinds = ["daemon_kill", "fcgi_kill", "postgres_restart"]
        while not self.stop:
            await asyncio.sleep(random.uniform(*FAULT_GAP))
            if self.stop:
                break
            kind = random.choice(kinds)
            try:
                done = await asyncio.to_thread(self.fault, kind)
                self.faults[done] += 1
            except Exception as e:
                self.fault_errors.append(f"{kind}: {e!r}")
                log("fault failed:", kind, repr(e))

    def heal(self):
        """Every daemon and the database running, REST serving."""
        chat_api.Database().start()
        for k in range(1, len(push_ports()) + 1):
            if not daemon_running(k):
                daemon_restart(k)
        r = chat_api.wait_for_health(RECOVERY_SECONDS * 2)
        if r is None or r.status_code != 200:
            raise RuntimeError("REST does not serve after the faults")

    # ---------------------------------------------------------- main

    async def main(self):
        await asyncio.to_thread(self.setup)
        self.read = set()
        for u in self.users:
            self.devices[u.account_id] = [Device(self, u, j)
                                          for j in range(self.args.devices)]
        all_devices = [d for ds in self.devices.values() for d in ds]
        for d in all_devices:
            d.task = asyncio.create_task(d.loop())
        deadline = time.monotonic() + 60
        while any(d.cursor is None for d in all_devices):
            if time.monotonic() > deadline:
                raise RuntimeError("devices did not connect")
            await asyncio.sleep(0.1)
        self.first_event = await asyncio.to_thread(self.max_event_id)
        log(f"{len(self.users)} users, {len(all_devices)} devices connected;"
            f" load and faults for {self.args.seconds} s")
        started = time.monotonic()
        tasks = [asyncio.create_task(self.user_loop(i))
                 for i in range(len(self.users))]
        tasks.append(asyncio.create_task(self.random_reconnects()))
        faults = asyncio.create_task(self.fault_loop())
        end = started + self.args.seconds
        while time.monotonic() < end:
            await asyncio.sleep(min(10, end - time.monotonic()))
            failed = [t for t in tasks if t.done() and t.exception()]
            if failed:
                self.stop = True
                raise failed[0].exception()
            log(f"{int(time.monotonic() - started)} s: {len(self.acked)} "
                f"acknowledged, faults {dict(self.faults)}")
        self.stop = True
        await faults
        for t in tasks:
            await t
        log("load stopped; healing the stack and draining the devices")
        await asyncio.to_thread(self.heal)
        # Every device reconnects with since once the stack is whole, then
        # drains until quiet.
        for d in all_devices:
            await d.reconnect()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            now = time.monotonic()
            if all(d.ws is not None and now - d.last_frame > QUIET_SECONDS
                   for d in all_devices):
                break
            await asyncio.sleep(0.5)
        self.devices_stop = True
        for d in all_devices:
            await d.reconnect()
            d.task.cancel()
        elapsed = time.monotonic() - started
        return await asyncio.to_thread(self.check, all_devices, elapsed)

    def max_event_id(self):
        db = chat_api.connect_db()
        try:
            with db.cursor() as c:
                c.execute("SELECT coalesce(max(event_id), 0) FROM event")
                return c.fetchone()[0]
        finally:
            db.close()

    # --------------------------------------------------------- check

    def check(self, devices, elapsed):
        ids = [u.account_id for u in self.users]
        db = chat_api.connect_db()
        with db.cursor() as c:
            c.execute("SELECT message_id::text, count(*) FROM message "
                      "WHERE sender_id = ANY(%s::uuid[]) GROUP BY 1", (ids,))
            stored = dict(c.fetchall())
            c.execute("SELECT event_id, kind, actor_id::text, target_id::text,"
                      " message_id::text, xid::text, created_at::text FROM event WHERE event_id > %s AND"
                      " stream_kind(kind) AND group_id IS NULL"
                      " AND (target_id = ANY(%s::uuid[])"
                      " OR actor_id = ANY(%s::uuid[])) ORDER BY event_id",
                      (self.first_event, ids, ids))
            events = c.fetchall()
            c.execute("SELECT message_id::text, count(*) FROM group_message "
                      "WHERE sender_id = ANY(%s::uuid[]) GROUP BY 1", (ids,))
            group_stored = dict(c.fetchall())
            # The group events of each user's stream, as stream_after
            # (sql/functions/events.sql) selects them: those of a group
            # while the user was an active member (a span of
            # group_member_span holds the event), but those whose target
            # the user is (its own membership's), which come with its
            # other events.
            c.execute("""
                SELECT s.account_id::text, t.event_id, t.kind,
                       t.actor_id::text, t.target_id::text,
                       t.message_id::text, t.group_id::text, t.xid::text
                  FROM group_member_span s
                  JOIN event t ON t.group_id = s.group_id
                 WHERE s.account_id = ANY(%(ids)s::uuid[])
                   AND t.event_id > %(first)s AND stream_kind(t.kind)
                   AND t.event_id >= s.began
                   AND (s.ended IS NULL OR t.event_id < s.ended)
                   AND t.target_id <> s.account_id
                UNION ALL
                SELECT t.target_id::text, t.event_id, t.kind,
                       t.actor_id::text, t.target_id::text,
                       t.message_id::text, t.group_id::text, t.xid::text
                  FROM event t
                 WHERE t.group_id IS NOT NULL
                   AND t.target_id = ANY(%(ids)s::uuid[])
                   AND t.event_id > %(first)s AND stream_kind(t.kind)
                 ORDER BY 2, 1""", {"ids": ids, "first": self.first_event})
            group_events = c.fetchall()
        db.close()
        problems = collections.defaultdict(list)

        # (a) every acknowledged message stored once, in history once
        lost = [m for m in self.acked if stored.get(m) != 1]
        for m in lost:
            problems["lost"].append(f"message {m}: stored {stored.get(m, 0)} times")
        in_history = collections.Counter()
        n = len(self.users)
        for i in range(n if n > 2 else 1):
            a, b = self.users[i], self.users[(i + 1) % n]
            skip = 0
            while True:
                r = rest("GET", f"/chat/messages/history/{b.account_id}",
                         a.access, params={"skip": skip, "limit": 100})
                page = chat_api.body(r, 200)
                in_history.update(m["message_id"] for m in page["messages"])
                skip += 100
                if skip >= page["total"]:
                    break
        for m in self.acked:
            want = 0 if m in self.deleted else 1
            if in_history[m] != want:
                problems["lost"].append(
                    f"message {m}: {in_history[m]} times in history, {want} expected")
        # (a) the same for the group messages, in their groups' history
        for m in self.group_acked:
            if group_stored.get(m) != 1:
                problems["lost"].append(
                    f"group message {m}: stored {group_stored.get(m, 0)} times")
        in_group_history = collections.Counter()
        for g in self.groups:
            skip = 0
            while True:
                r = rest("GET", f"/group-chat/{g['group_id']}/messages",
                         g["members"][0].access,
                         params={"skip": skip, "limit": 100})
                page = chat_api.body(r, 200)
                in_group_history.update(m["message_id"]
                                        for m in page["messages"])
                skip += 100
                if skip >= page["total"]:
                    break
        for m in self.group_acked:
            want = 0 if m in self.group_deleted else 1
            if in_group_history[m] != want:
                problems["lost"].append(
                    f"group message {m}: {in_group_history[m]} times in "
                    f"its group's history, {want} expected")

        # (b, c) every event of a device's stream received exactly once
        expected = collections.defaultdict(collections.Counter)
        for _, kind, actor, target, message, _, _ in events:
            for user in {target} | ({actor} if kind == "message_created" else set()):
                if user in self.devices:
                    expected[user][event_frame(kind, actor, target, message,
                                               user)] += 1
        # A group frame's event ids, in order, for its user (a group's
        # group_updated frames share a key: the n-th is the n-th event).
        group_ids_of = collections.defaultdict(
            lambda: collections.defaultdict(list))
        for user, event_id, kind, actor, target, message, group, _ in group_events:
            item = group_event_frame(kind, actor, target, message, group)
            expected[user][item] += 1
            group_ids_of[user][item].append(event_id)
        summary_missed = collections.Counter()
        dups = 0
        out_of_order = 0
        sync_new = 0
        for d in devices:
            uid = d.user.account_id
            got = collections.Counter((k, key) for k, key, _ in d.received)
            for item, count in expected[uid].items():
                have = got.get(item, 0)
                # The sending device has message_sent, not the message.
                own = item[0] in ("new_message", "group_message") and \
                    item[1] in d.own_ws_sends
                if have < count and not own:
                    summary_missed[item[0]] += count - have
                    problems["missed"].append(f"{d.name}: {item} x{count - have}")
                if have > count:
                    dups += have - count
                    problems["duplicates"].append(f"{d.name}: {item} x{have}")
            for item, have in got.items():
                if item not in expected[uid]:
                    problems["unexpected"].append(f"{d.name}: {item} x{have}")
            # order: new_message of one sender in created_at order
            last, seen = {}, set()
            for kind, key, f in d.received:
                if kind != "new_message" or key in seen:
                    continue
                seen.add(key)
                m = f["message"]
                t = (m["created_at"], m["message_id"])
                if m["sender_id"] in last and t < last[m["sender_id"]]:
                    out_of_order += 1
                    problems["out_of_order"].append(
                        f"{d.name}: {m['message_id']} after {last[m['sender_id']]}")
                last[m["sender_id"]] = max(t, last.get(m["sender_id"], t))
            # order: the events of one group in their order
            taken, after = collections.Counter(), {}
            for kind, key, f in d.received:
                if kind not in GROUP_FRAMES:
                    continue
                known = group_ids_of[uid].get((kind, key), [])
                n_th = taken[(kind, key)]
                taken[(kind, key)] += 1
                if n_th >= len(known):
                    continue        # a duplicate or unexpected: counted above
                event_id, group = known[n_th], group_frame_group(f)
                if group in after and event_id < after[group]:
                    out_of_order += 1
                    problems["out_of_order"].append(
                        f"{d.name}: {kind} {key} (event {event_id}) after "
                        f"event {after[group]} of group {group}")
                after[group] = max(event_id, after.get(group, event_id))
            # (d) /sync from the last cursor brings nothing not received
            r = rest("GET", "/sync", d.user.access,
                     params={"since": d.cursor, "limit": 1000})
            for f in chat_api.body(r, 200)["events"]:
                if (f["type"], frame_key(f)) not in got:
                    sync_new += 1
                    problems["sync_new"].append(f"{d.name}: {f}")

        summary = {
            "seconds": round(elapsed),
            "users": len(self.users),
            "devices": len(devices),
            "daemons": len(push_ports()),
            "web_server": chat_api.web_server(),
            "messages_acknowledged": len(self.acked),
            "messages_deleted": len(self.deleted),
            "groups": len(self.groups),
            "group_messages_acknowledged": len(self.group_acked),
            "group_messages_deleted": len(self.group_deleted),
            "unacknowledged_at_end": self.unacked,
            "operations": dict(self.ops),
            "stream_events": len(events),
            "group_stream_events": len(group_events),
            "frames_received": sum(len(d.received) for d in devices),
            "faults": dict(self.faults),
            "fault_errors": self.fault_errors,
            "connections": sum(d.connections for d in devices),
            "reconnects": sum(d.connections - 1 for d in devices),
            "failed_connects": sum(d.connect_failures for d in devices),
            "resync_required": sum(d.resyncs for d in devices),
            "lost": len(problems["lost"]),
            "missed": sum(summary_missed.values()),
            "missed_by_kind": dict(summary_missed),
            "duplicates": dups,
            "unexpected": len(problems["unexpected"]),
            "out_of_order": out_of_order,
            "sync_new": sync_new,
            "examples": {k: v[:5] for k, v in problems.items() if v},
        }
        if self.args.trace:
            with open(self.args.trace, "w") as f:
                json.dump({"events": events, "group_events": group_events,
                           "devices": {d.name: d.trace for d in devices},
                           "faults": self.fault_log}, f)
        summary["ok"] = not (summary["lost"] or summary["missed"] or dups
                             or out_of_order or sync_new
                             or summary["unexpected"]
                             or summary["resync_required"]
                             or self.fault_errors)
        return summary


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=600)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--devices", type=int, default=2)
    p.add_argument("--out")
    p.add_argument("--seed", type=int)
    p.add_argument("--trace", help="write every device's frames, the "
                   "events and the faults, with times, to this file")
    args = p.parse_args()
    if args.seed is not None:
        random.seed(args.seed)
    run = Run(args)
    summary = asyncio.run(run.main())
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
