"""The push daemon's life: a node killed with -9 leaves the online set,
SIGTERM drains with 1001, SIGHUP reloads the configuration, the server
pings and closes a connection that stops answering.

The test stack runs with presence.node_timeout_seconds = 6 and
push.ping_seconds = 5 (./stack test), so that these take seconds. The
tests that kill or signal a daemon are marked disruptive: they run after
the other tests (conftest.py).
"""
import asyncio
import os
import re
import signal
import socket
import time

import pytest

from chat_api import new_friends, new_user
from ws_client import (WAIT, daemon_pid, daemon_restart, daemon_running,
                       handshake_status, push_ports, reload_daemon,
                       rest_online, session, with_config_value, ws_test)

CONFIG = os.environ.get("CHAT_CONFIG", "")


def config_value(section, key):
    """The value of section.key in the stack's chat.conf."""
    current = None
    with open(CONFIG) as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                current = line.strip("[]")
            elif current == section and re.match(rf"{key}\s*=", line):
                return line.split("=", 1)[1].strip()
    raise AssertionError(f"{section}.{key} not in {CONFIG}")


async def wait_for(predicate, seconds, what):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {seconds} s"
        await asyncio.sleep(0.2)


@pytest.mark.disruptive
@ws_test(timeout=90)
async def test_killed_daemon_leaves_the_online_set():
    """CONTRACT §8: a daemon that dies is taken out of the online set after
    a short timeout, and its users' friends hear friend_offline."""
    timeout = int(config_value("presence", "node_timeout_seconds"))
    a, b = new_friends()
    watcher = await session(b, daemon=2)
    victim = await session(a, daemon=1)
    await watcher.expect("friend_online", user_id=a.account_id)
    assert rest_online(b) == [a.account_id]
    try:
        os.kill(daemon_pid(1), signal.SIGKILL)
        started = time.monotonic()
        frame = await watcher.expect("friend_offline",
                                     timeout=3 * timeout + 10)
        assert frame == {"type": "friend_offline", "user_id": a.account_id}
        took = time.monotonic() - started
        # Not before the node's heartbeat went stale.
        assert took >= timeout - 3, took
        assert rest_online(b) == []
    finally:
        await victim.close()
        daemon_restart(1)
    # Back: a connects again, b hears it.
    again = await session(a, daemon=1)
    await watcher.expect("friend_online", user_id=a.account_id)
    await again.close()
    await watcher.close()


@pytest.mark.disruptive
@ws_test(timeout=60)
async def test_sigterm_drains_with_1001_and_leaves_the_online_set():
    a, b = new_friends()
    watcher = await session(b, daemon=1)
    leaving = await session(a, daemon=2)
    await watcher.expect("friend_online", user_id=a.account_id)
    try:
        os.kill(daemon_pid(2), signal.SIGTERM)
        code, _ = await leaving.wait_closed(timeout=10)
        assert code == 1001
        # The node left the online set itself: no timeout to wait for.
        frame = await watcher.expect("friend_offline", timeout=5)
        assert frame["user_id"] == a.account_id
        await wait_for(lambda: not daemon_running(2), 10, "exit")
    finally:
        daemon_restart(2)
    await watcher.close()


@pytest.mark.disruptive
@ws_test(timeout=60)
async def test_sighup_reloads_the_configuration():
    """The per-account cap (16) drops to 2 on SIGHUP, and comes back."""
    user = new_user()
    with open(CONFIG) as f:
        original = f.read()
    conns = []
    try:
        await reload_daemon(1, with_config_value(
            original, "push", "max_connections_per_account", 2))
        conns = [await session(user, daemon=1) for _ in range(2)]
        assert await handshake_status(user.access, daemon=1) == 429
    finally:
        await reload_daemon(1, original)
    assert await handshake_status(user.access, daemon=1) == 101
    for conn in conns:
        await conn.close()


def raw_connect(token, port):
    """A raw socket past the handshake, reading nothing automatically."""
    sock = socket.create_connection(("127.0.0.1", int(port)), timeout=WAIT)
    sock.sendall((f"GET /api/v1/chat/ws/chat?token={token} HTTP/1.1\r\n"
                  f"Host: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        assert chunk, "closed during the handshake"
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 101"), reply[:80]
    return sock, reply.split(b"\r\n\r\n", 1)[1]


def read_frames(sock, buffered, seconds):
    """(opcode, payload) of every frame within seconds, until EOF."""
    frames, data = [], buffered
    deadline = time.monotonic() + seconds
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        while len(data) >= 2:
            length, head = data[1] & 0x7F, 2
            if length == 126:
                length, head = int.from_bytes(data[2:4], "big"), 4
            elif length == 127:
                length, head = int.from_bytes(data[2:10], "big"), 10
            if len(data) < head + length:
                break
            frames.append((data[0] & 0x0F, data[head:head + length]))
            data = data[head + length:]
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            frames.append(("eof", b""))
            return frames
        data += chunk
    return frames


def test_server_pings_and_closes_a_silent_connection():
    """CONTRACT §6: the server pings, and closes a connection that answers
    no ping for two more intervals (ping_seconds here: see the module)."""
    ping = int(config_value("push", "ping_seconds"))
    user = new_user()
    sock, rest = raw_connect(user.access, push_ports()[0])
    try:
        started = time.monotonic()
        frames = read_frames(sock, rest, 3 * ping + 10)
        took = time.monotonic() - started
    finally:
        sock.close()
    opcodes = [op for op, _ in frames]
    assert 0x9 in opcodes, opcodes            # a ping came
    assert opcodes[-1] in ("eof", 0x8), opcodes   # then the end
    # Not before two intervals without a pong, and not much after three.
    assert 2 * ping - 1 <= took <= 3 * ping + 8, took
