"""WebSocket helpers of the push daemon's end-to-end tests (CONTRACT §6-§8).

`./stack test` sets, beside what chat_api.py reads:
  CHAT_WS_URL          ws://127.0.0.1:PORT/api/v1/chat/ws/chat, through lighttpd
  CHAT_PUSH_PORTS      "p1 p2": the daemons' own ports, to pick a daemon
  CHAT_PUSH_PIDFILES   "f1 f2": their pid files
  CHAT_STACK_DIR       the stack's state (logs under log/)
  CHAT_STACK_CMD       ./stack: `$CHAT_STACK_CMD daemon-restart K` starts
                       daemon K again

Two clients:
  - Conn, on python3-websockets 10.4 (asyncio): a task reads every frame
    into a mailbox; take() waits for the first unread frame that matches, so
    events that may interleave (presence) never disturb a test. Tests are
    coroutines run by @ws_test, which bounds each with a timeout.
  - RawWs, a blocking socket client speaking the protocol by hand, for what
    websockets will not do: invalid UTF-8 in a text frame, a client that
    never reads, frames of any opcode.

Every wait has a timeout; nothing can hang.
"""

import asyncio
import base64
import functools
import hashlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
import urllib.parse

import websockets
from websockets.exceptions import (ConnectionClosed, InvalidMessage,
                                   InvalidStatusCode)

import asyncapi_check
from chat_api import (api, body, connect_db, env, message_row,
                      online_friends, parse_time,
                      wait_for_earlier_transactions)

WS_PATH = "/api/v1/chat/ws/chat"
WAIT = 5                 # seconds a single expected frame may take
TEST_TIMEOUT = 90        # seconds a whole @ws_test coroutine may take
RECOVERY_SECONDS = 15    # a daemon restarted, or back from an outage of the
                         # database, must serve again within this
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

MESSAGE_SENT_KEYS = {"type", "message_id", "status", "created_at"}


# ---------------------------------------------------------------- environment

def ws_url():
    """The WebSocket URL through the web server, without a query."""
    return env("CHAT_WS_URL").split("?")[0]


def push_ports():
    ports = env("CHAT_PUSH_PORTS").split()
    assert len(ports) >= 2, f"CHAT_PUSH_PORTS={ports!r}: two daemons expected"
    return ports


def push_nodes():
    """The daemons' node ids, in the order of push_ports() (node-1 ... in
    the test stack; the deployment's units make them host-port)."""
    nodes = env("CHAT_PUSH_NODES").split()
    assert len(nodes) >= 2, f"CHAT_PUSH_NODES={nodes!r}: two daemons expected"
    return nodes


def pidfiles():
    files = env("CHAT_PUSH_PIDFILES").split()
    assert len(files) >= 2, f"CHAT_PUSH_PIDFILES={files!r}"
    return files


def daemon_url(k):
    """The WebSocket URL of daemon k (1-based) itself, bypassing lighttpd."""
    return f"ws://127.0.0.1:{push_ports()[k - 1]}{WS_PATH}"


def group_url(group_id, daemon=None):
    """The per-group URL (CONTRACT §11) through the web server, or of
    daemon k itself."""
    path = f"/api/v1/group-chat/ws/group/{group_id}"
    if daemon is not None:
        return f"ws://127.0.0.1:{push_ports()[daemon - 1]}{path}"
    parts = urllib.parse.urlsplit(ws_url())
    return f"{parts.scheme}://{parts.netloc}{path}"


def with_token(url, token):
    return url if token is None else f"{url}?token={token}"


def url_for(token, daemon=None, url=None):
    """The URL with ?token=: through lighttpd, or to daemon k, or url."""
    if url is None:
        url = ws_url() if daemon is None else daemon_url(daemon)
    return with_token(url, token)


def daemon_pid(k):
    with open(pidfiles()[k - 1]) as f:
        return int(f.read().split()[0])


def with_config_value(text, section, key, value):
    """text (a chat.conf) with section.key set to value (added when
    missing)."""
    out, current, done = [], None, False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            if current == section and not done:
                out.append(f"{key} = {value}\n")
                done = True
            current = stripped.strip("[]")
        elif current == section and re.match(rf"{key}\s*=", stripped):
            line, done = f"{key} = {value}\n", True
        out.append(line)
    if not done:
        out.append(f"[{section}]\n{key} = {value}\n")
    return "".join(out)


async def reload_daemon(k, text):
    """text becomes the stack's chat.conf (CHAT_CONFIG), and daemon k
    reloads it (SIGHUP): returns once it logged that it did."""
    log = os.path.join(env("CHAT_STACK_DIR"), "log", f"push-{k}.log")

    def reloads():
        with open(log, "rb") as f:
            return f.read().count(b"info: configuration reloaded")

    before = reloads()
    with open(env("CHAT_CONFIG"), "w") as f:
        f.write(text)
    os.kill(daemon_pid(k), signal.SIGHUP)
    deadline = time.monotonic() + WAIT
    while reloads() == before:
        assert time.monotonic() < deadline, f"daemon {k} did not reload"
        await asyncio.sleep(0.05)


def daemon_restart(k):
    """`./stack daemon-restart k` on the stack of the suite ($CHAT_STACK_CMD,
    with CHAT_STACK_DIR naming the stack): returns once it listens."""
    stack = os.environ.get("CHAT_STACK_CMD") or os.path.join(ROOT, "stack")
    command = [stack, "daemon-restart", str(k)]
    done = subprocess.run(command, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stdout.decode(errors="replace")


def daemon_running(k):
    try:
        os.kill(daemon_pid(k), 0)
        return True
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- test runner

def ws_test(fn=None, *, timeout=TEST_TIMEOUT):
    """Runs an async test function with asyncio.run, within timeout."""
    def wrap(coro_fn):
        @functools.wraps(coro_fn)
        def test(*args, **kwargs):
            async def bounded():
                return await asyncio.wait_for(coro_fn(*args, **kwargs),
                                              timeout)
            return asyncio.run(bounded())
        return test
    return wrap(fn) if fn is not None else wrap


async def blocking(fn, *args, **kwargs):
    """Runs a blocking call (a REST request) without stopping the loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


# ------------------------------------------------------------------ matchers

def of_type(type_, **fields):
    """A matcher: frames of this type whose listed fields are equal."""
    def match(frame):
        return (isinstance(frame, dict) and frame.get("type") == type_
                and all(frame.get(k) == v for k, v in fields.items()))
    match.__doc__ = f"{type_} {fields}" if fields else type_
    return match


def new_message_of(message_id):
    def match(frame):
        return (isinstance(frame, dict) and frame.get("type") == "new_message"
                and isinstance(frame.get("message"), dict)
                and frame["message"].get("message_id") == message_id)
    match.__doc__ = f"new_message {message_id}"
    return match


def describe_match(match):
    if match is None:
        return "any frame"
    return match.__doc__ or repr(match)


# ---------------------------------------------------------------- the client

class Conn:
    """One connection: every frame it receives lands in `frames` (all of
    them, in order) and in `unread`, from which take() removes. Each frame
    must be one that docs/asyncapi.yaml gives for the connection's channel
    (asyncapi_check): take() fails once one was not."""

    def __init__(self, ws, label="", channel="chat"):
        self.ws = ws
        self.label = label
        self.channel = channel
        self.undocumented = []      # (frame, problems) of frames that fail
        self.frames = []
        self.arrived = []           # time.monotonic() of each frame
        self.unread = []
        self.closed = None          # (code, reason) once closed
        self._arrived = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._read())

    def __repr__(self):
        return f"<Conn {self.label}>"

    async def _read(self):
        try:
            async for data in self.ws:
                frame = json.loads(data) if isinstance(data, str) \
                    else {"binary": data}
                found = asyncapi_check.problems(frame, self.channel)
                if found:
                    self.undocumented.append((frame, found))
                self.frames.append(frame)
                self.arrived.append(time.monotonic())
                self.unread.append(frame)
                self._arrived.set()
        except ConnectionClosed:
            pass
        finally:
            self.closed = (self.ws.close_code, self.ws.close_reason)
            self._arrived.set()

    async def take(self, match=None, timeout=WAIT):
        """The first unread frame that match() accepts (any if None)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            assert not self.undocumented, (
                f"{self.label}: frames that docs/asyncapi.yaml does not "
                f"give: {self.undocumented}")
            for i, frame in enumerate(self.unread):
                if match is None or match(frame):
                    del self.unread[i]
                    return frame
            if self.closed is not None:
                raise AssertionError(
                    f"{self.label}: closed {self.closed} while waiting for "
                    f"{describe_match(match)}; unread: {self.unread}")
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(
                    f"{self.label}: no {describe_match(match)} within "
                    f"{timeout} s; unread: {self.unread}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def next(self, timeout=WAIT):
        """The next unread frame, whatever it is."""
        return await self.take(None, timeout)

    async def expect(self, type_, timeout=WAIT, **fields):
        return await self.take(of_type(type_, **fields), timeout)

    async def expect_error(self, timeout=WAIT):
        return await self.take(of_type("error"), timeout)

    async def quiet(self, seconds=1.0, match=None):
        """Asserts that no unread frame (matching match) arrives within
        seconds, nor is waiting already."""
        await asyncio.sleep(seconds)
        found = [f for f in self.unread if match is None or match(f)]
        assert not found, f"{self.label}: unexpected frames {found}"

    def count(self, match):
        """How many frames ever received match."""
        return sum(1 for f in self.frames if match(f))

    async def send(self, obj):
        await self.ws.send(json.dumps(obj))

    async def send_text(self, text):
        await self.ws.send(text)

    async def wait_closed(self, timeout=WAIT):
        """Waits for the connection to end; returns (code, reason)."""
        await asyncio.wait_for(asyncio.shield(self._task), timeout)
        return self.closed

    async def close(self):
        try:
            await asyncio.wait_for(self.ws.close(), WAIT)
        except (asyncio.TimeoutError, ConnectionClosed, OSError):
            pass
        try:
            await asyncio.wait_for(asyncio.shield(self._task), WAIT)
        except asyncio.TimeoutError:
            self._task.cancel()

    @property
    def is_open(self):
        return self.closed is None


async def open_ws(token, daemon=None, url=None, label=""):
    """A connection, handshake done (raises InvalidStatusCode if refused)."""
    full = url_for(token, daemon, url)
    ws = await websockets.connect(
        full, open_timeout=WAIT, close_timeout=2,
        ping_interval=None, max_size=None, max_queue=None)
    channel = "group" if "/group-chat/ws/" in full else "chat"
    return Conn(ws, label or (f"daemon {daemon}" if daemon else "ws"),
                channel)


async def handshake_status(token, daemon=None, url=None, raw=None):
    """The HTTP status of a handshake: 101 if accepted (then closed).

    websockets tells the status of a refusal (InvalidStatusCode) when the
    answer is HTTP/1.1, as through the web server. A daemon asked directly
    answers refusals in HTTP/1.0, which websockets 10.4 will not parse: the
    raw client reads those (raw=None: raw for a daemon, else websockets
    first and raw if it cannot read the answer)."""
    if raw is None and daemon is None:
        try:
            ws = await websockets.connect(url_for(token, daemon, url),
                                          open_timeout=WAIT, close_timeout=2,
                                          ping_interval=None)
        except InvalidStatusCode as e:
            return e.status_code
        except InvalidMessage:
            raw = True
        else:
            await ws.close()
            return 101
    client = await blocking(RawWs, token, daemon, url)
    client.close()
    return client.status


async def wait_status(token, wanted, daemon=None, url=None, seconds=5):
    """Retries a handshake until it answers wanted (the daemons learn of
    account changes through an event); returns the last status."""
    deadline = time.monotonic() + seconds
    while True:
        status = await handshake_status(token, daemon, url)
        if status == wanted or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.1)


async def session(user, daemon=None, url=None, label=None):
    """A connection of user (a chat_api.User) past its first two frames,
    asserted exactly: connection_established, then online_friends.
    The online_friends frame is kept as conn.online."""
    conn = await open_ws(user.access, daemon, url,
                         label or f"{user.username}@{daemon or 'ws'}")
    first = await conn.next()
    assert_cursor(first.get("cursor"))
    assert without_cursor(first) == {
        "type": "connection_established", "user_id": user.account_id,
        "message": "Connected to chat server"}, first
    conn.established = first
    second = await conn.next()
    assert second.get("type") == "online_friends", second
    assert set(second) == {"type", "friends"}, second
    assert isinstance(second["friends"], list), second
    conn.online = second
    return conn


async def connect_when_ready(user, daemon, seconds=RECOVERY_SECONDS):
    """A session on daemon once it serves again (it refuses, or is not
    listening, while it starts; it cannot register the connection while
    its database connection is down)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await session(user, daemon=daemon,
                                 label=f"{user.username}@{daemon} again")
        except Exception as e:      # refused handshakes, resets, timeouts
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"daemon {daemon} does not serve after "
                    f"{seconds} s: {e!r}")
            await asyncio.sleep(0.2)


def wait_until_served(user, seconds=RECOVERY_SECONDS):
    """Returns once every push daemon serves a session of user."""
    async def each_daemon():
        for k in range(1, len(push_ports()) + 1):
            conn = await connect_when_ready(user, k, seconds)
            await conn.close()
    asyncio.run(each_daemon())


async def close_all(*conns):
    for conn in conns:
        if conn is not None:
            await conn.close()


# ------------------------------------------------------------ frame checks

def assert_error_frame(frame, code, detail, request_type, temp_id=None):
    """An error frame of CONTRACT §6, exactly."""
    expected = {"type": "error", "code": code, "detail": detail,
                "message": detail, "request_type": request_type}
    if temp_id is not None:
        expected["temp_id"] = temp_id
    assert frame == expected, frame


def delivered_copy(message):
    """The new_message payload expected for a Message answered by REST."""
    return dict(message, status="delivered")


def assert_cursor(cursor):
    """A cursor of CONTRACT §10: an opaque string of at most 64 characters."""
    assert isinstance(cursor, str) and 0 < len(cursor) <= 64, cursor


def without_cursor(frame):
    """An event frame less its cursor (CONTRACT §10)."""
    return {k: v for k, v in frame.items() if k != "cursor"}


def without_updated_at(frame):
    """A new_message frame less message.updated_at: that time moves when
    the message is marked delivered, so a daemon that builds its frame
    after another daemon delivered the message shows a later one."""
    message = {k: v for k, v in frame["message"].items() if k != "updated_at"}
    return dict(frame, message=message)


async def assert_typing_both_ways(ca, a, cb, b):
    """Typing on two friends' connections (ca of User a, cb of User b):
    b's typing reaches a, then a's stop reaches b (CONTRACT §6)."""
    await cb.send({"type": "typing", "receiver_id": a.account_id,
                   "is_typing": True})
    assert await ca.expect("typing_indicator") == {
        "type": "typing_indicator", "user_id": b.account_id,
        "is_typing": True}
    await ca.send({"type": "typing", "receiver_id": b.account_id,
                   "is_typing": False})
    assert await cb.expect("typing_indicator") == {
        "type": "typing_indicator", "user_id": a.account_id,
        "is_typing": False}


def assert_new_message(frame, message):
    """frame is the new_message of message (a Message answered by REST):
    the same fields, status delivered; updated_at not before the REST one."""
    assert set(frame) - {"cursor"} == {"type", "message"}, frame
    expected = {"type": "new_message", "message": delivered_copy(message)}
    assert without_updated_at(without_cursor(frame)) == \
        without_updated_at(expected), frame
    assert parse_time(frame["message"]["updated_at"]) >= \
        parse_time(message["updated_at"]), frame


def assert_same_new_message(*frames):
    """new_message frames of one message, as daemons may build them (each
    daemon's cursor marks its own read)."""
    first = without_updated_at(without_cursor(frames[0]))
    for frame in frames[1:]:
        assert without_updated_at(without_cursor(frame)) == first, frames


def new_messages_from(conn, sender):
    """The new_message payloads conn received from sender, in order."""
    return [f["message"] for f in conn.frames
            if f.get("type") == "new_message"
            and f["message"]["sender_id"] == sender.account_id]


def assert_in_order(conn, sender):
    """CONTRACT §6: for one sender and receiver, new_message arrives in
    created_at order (a copy seen again is judged at its first arrival)."""
    seen, order = set(), []
    start = conn.arrived[0] if conn.arrived else 0
    for frame, at in zip(conn.frames, conn.arrived):
        message = frame.get("message")
        if (frame.get("type") != "new_message"
                or message["sender_id"] != sender.account_id
                or message["message_id"] in seen):
            continue
        seen.add(message["message_id"])
        order.append((parse_time(message["created_at"]),
                      message["message_id"], round(at - start, 4)))
    wrong = [(i, order[i - 1], order[i]) for i in range(1, len(order))
             if order[i][:2] < order[i - 1][:2]]
    assert not wrong, (
        f"{conn.label}: new_message out of created_at order "
        f"({len(order)} messages; #position: id created_at arrived "
        f"(seconds after the first frame)): "
        + "; ".join(f"#{i}: {p[1]} {p[0].isoformat()} {p[2]} s, then "
                    f"{q[1]} {q[0].isoformat()} {q[2]} s"
                    for i, p, q in wrong[:5]))


async def wait_db_status(db, message_id, status, seconds=WAIT, every=0.05):
    """Polls (every `every` s) the stored status of a message until it is
    status; returns the last one seen."""
    deadline = time.monotonic() + seconds
    while True:
        row = message_row(db, message_id)
        if row["status"] == status or time.monotonic() > deadline:
            return row["status"]
        await asyncio.sleep(every)


# ------------------------------------------------------------- raw sockets

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def ws_frame(opcode, payload, fin=True, masked=True):
    """The bytes of one client frame (RFC 6455 §5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawWs:
    """A blocking WebSocket client written by hand (RFC 6455)."""

    def __init__(self, token, daemon=None, url=None, rcvbuf=None,
                 timeout=WAIT, version="13", early=b""):
        """version: the Sec-WebSocket-Version sent (None: none); early:
        bytes sent with the request, before its answer."""
        parts = urllib.parse.urlsplit(url_for(token, daemon, url))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((parts.hostname, parts.port or 80))
        key = base64.b64encode(os.urandom(16)).decode()
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        request = (f"GET {target} HTTP/1.1\r\n"
                   f"Host: {parts.hostname}:{parts.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\n"
                   + ("" if version is None else
                      f"Sec-WebSocket-Version: {version}\r\n")
                   + "\r\n")
        self.sock.sendall(request.encode() + early)
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if lines[0] else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()
            ).digest()).decode()
            assert self.headers.get("sec-websocket-accept") == accept, \
                self.headers

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_frame(self, opcode, payload, fin=True, masked=True):
        """One frame, masked as a client must send it unless told not to."""
        self.sock.sendall(ws_frame(opcode, payload, fin, masked))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode())

    def _need(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete frame in time")
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("connection ended")
            self.buf += chunk

    def read_frame(self, timeout=WAIT):
        """(opcode, payload) of the next frame from the server."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4, deadline)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        assert not b1 & 0x80, "a server frame must not be masked"
        self._need(at + n, deadline)
        payload = self.buf[at:at + n]
        self.buf = self.buf[at + n:]
        return b0 & 0x0F, payload

    def read_json(self, timeout=WAIT):
        opcode, payload = self.read_frame(timeout)
        assert opcode == OP_TEXT, (opcode, payload[:200])
        return json.loads(payload)

    def read_to_close(self, timeout=WAIT):
        """Reads frames until a close frame or the end of the stream.
        Returns (frames before, close code or None, "close"|"eof")."""
        deadline = time.monotonic() + timeout
        frames = []
        while True:
            try:
                opcode, payload = self.read_frame(
                    max(0.01, deadline - time.monotonic()))
            except (EOFError, ConnectionResetError):
                return frames, None, "eof"
            if opcode == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] \
                    if len(payload) >= 2 else None
                return frames, code, "close"
            frames.append((opcode, payload))


# ------------------------------------------------------------------- logs

def log_files():
    """Every file under $CHAT_STACK_DIR/log."""
    root = os.path.join(env("CHAT_STACK_DIR"), "log")
    for dirpath, _, names in os.walk(root):
        for name in names:
            yield os.path.join(dirpath, name)


def grep_logs(needle):
    """The log files holding needle (bytes or str)."""
    if isinstance(needle, str):
        needle = needle.encode()
    found = []
    for path in log_files():
        try:
            with open(path, "rb") as f:
                if needle in f.read():
                    found.append(path)
        except OSError:
            pass
    return found


def service_log_lines():
    """The lines of chat-fcgi's and the push daemons' logs, as text."""
    root = os.path.join(env("CHAT_STACK_DIR"), "log")
    lines = []
    for name in sorted(os.listdir(root)):
        if name == "chat-fcgi.log" or (name.startswith("push-") and
                                       name.endswith(".log")):
            with open(os.path.join(root, name), "rb") as f:
                lines += f.read().decode("utf-8", "replace").splitlines()
    return lines


def wait_for_log(pattern, seconds=WAIT):
    """The first line of service_log_lines() that the regular expression
    pattern matches (re.search), once one is written; fails after seconds."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + seconds
    while True:
        for line in service_log_lines():
            if regex.search(line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line matches {pattern!r} "
                                 f"within {seconds} s")
        time.sleep(0.1)


# ------------------------------------------- catching up (CONTRACT §10)

def sync(user, since, **params):
    q = {"since": since} if since is not None else {}
    q.update(params)
    return api("GET", "/sync", token=user.access, params=q)


def sync_all(user, since, limit=100):
    """Every event after since, page by page: (events, last cursor); once
    every transaction that began before the call has ended, so that the
    test's own writes are all past the horizon."""
    conn = connect_db()
    try:
        wait_for_earlier_transactions(conn)
    finally:
        conn.close()
    events, cursor = [], since
    while True:
        answer = body(sync(user, cursor, limit=limit), 200)
        assert set(answer) == {"events", "cursor", "has_more"}, answer
        assert_cursor(answer["cursor"])
        events += answer["events"]
        cursor = answer["cursor"]
        if not answer["has_more"]:
            return events, cursor


async def connect(user, since=None, daemon=None, label="", url=None):
    """A connection past connection_established and online_friends."""
    url = url_for(user.access, daemon, url)
    if since is not None:
        url += "&since=" + urllib.parse.quote(since, safe="")
    ws = await websockets.connect(url, open_timeout=WAIT, close_timeout=2,
                                  ping_interval=None, max_size=None,
                                  max_queue=None)
    conn = Conn(ws, label or user.username)
    established = await conn.next()
    assert established["type"] == "connection_established", established
    assert_cursor(established["cursor"])
    conn.cursor = established["cursor"]
    online = await conn.expect("online_friends")
    assert "cursor" not in online
    return conn


async def fresh_cursor(user):
    """The cursor of a connection opened now (connection_established)."""
    conn = await connect(user)
    await conn.close()
    return conn.cursor


def sync_moment(user):
    """A cursor of now, from /sync itself (nothing of user after it)."""
    conn_cursor = asyncio.run(fresh_cursor(user))
    return body(sync(user, conn_cursor), 200)["cursor"]


def burn_transaction_ids(db, n):
    """Takes n transaction ids in transactions rolled back: nothing of them
    need reach the disk. Returns the first."""
    with db.cursor() as cur:
        cur.execute("SELECT pg_current_xact_id()::text")
        first = int(cur.fetchone()[0])
        for _ in range(n):
            cur.execute("BEGIN; SELECT pg_current_xact_id(); ROLLBACK")
    return first


def rest_online(user):
    """GET /chat/friends/online of user: the list of online friends."""
    answer = body(online_friends(user.access), 200)
    assert set(answer) == {"online_friends"}, answer
    return answer["online_friends"]
