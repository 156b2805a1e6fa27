"""Idle and slow clients of the web server (CONTRACT §12): 10,000 idle
connections (slow or half-open) do not stop service to others, and a client
that has not sent its headers within 10 s is closed.

The idle clients are raw sockets on one selector (epoll): a third send
nothing (half-open, or a client that connected and went away), a third
part of a request line, a third a request line and part of the headers.
Each socket is closed with a reset, so that none lingers in TIME_WAIT."""

import asyncio
import errno
import resource
import selectors
import socket
import struct
import subprocess
import time
import urllib.parse

import pytest

from chat_api import api, base_url, body, get_me, web_server
from ws_client import session

IDLE = 10_000            # idle connections the web server must bear
HEADER_SECONDS = 10      # a client without its headers by then is closed
SLACK = 5                # seconds the server may take beyond that to close
# Seconds after the last idle connection was established by which the
# server must hold none of IDLE of them: closing 10,000 at once takes its
# processes' turns on 2 loaded cores. What counts is the server's side
# (held_by_server): CI runs behind Apache found 63, 225 and 1,124 still
# open on the client's side only, all of them clients that sent nothing,
# dropped by the kernel from Apache's full accept queue and never told.
# The timeout's own precision is the test of a few slow clients.
CLOSE_ALL_SECONDS = HEADER_SECONDS + 10 * SLACK
CONNECT_SECONDS = 20     # for all the idle connections to be established
SERVED_SECONDS = 5       # for a check (REST call, WebSocket) to be answered
# Open files (of this process) and connections (of lighttpd) left for
# everything but the idle clients: the checks, the suite's own.
RESERVE = 1_000

# What the slow clients send: never the blank line that ends the headers.
PARTS = (b"",
         b"GET /api/v1/hea",
         b"GET /api/v1/health HTTP/1.1\r\nHost: chat\r\nAccept: */*\r\n")


def server_address():
    url = urllib.parse.urlsplit(base_url())
    return url.hostname, url.port or 80


def idle_count():
    """IDLE, as far as this process may open files. lighttpd, one process,
    holds at most half as many connections as it may open files (a proxied
    one takes two): behind it, at most what the open-file limit of this
    machine (as this process has it) allows beside RESERVE, 9,000 where
    that limit is 20,000."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        return IDLE
    count = min(IDLE, hard - RESERVE)
    if web_server() == "lighttpd":
        count = min(count, hard // 2 - RESERVE)
    return count


def held_by_server(port):
    """The client ports of the connections the server's side of port holds
    open (accepted, or waiting in its accept queue), from the kernel's
    table of TCP sockets."""
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "01" and int(local.split(":")[1], 16) == port:
                ports.add(int(remote.split(":")[1], 16))
    return ports


def listen_backlogs(port):
    """The length of the accept queue of each socket listening on port
    (ss's Send-Q of a listening socket)."""
    out = subprocess.run(["ss", "-Htln", f"sport = :{port}"], check=True,
                         capture_output=True, text=True).stdout
    return [int(line.split()[2]) for line in out.splitlines()]


def test_the_accept_queue_holds_a_burst_of_connects():
    """While thousands of clients connect at once, those the web server has
    not yet accepted wait in the kernel's accept queue; past its length the
    kernel drops a connection that the client believes open (4,152 in one
    run of the test below behind Apache's default, 511). Each web server
    listens with the queue the kernel allows (somaxconn, up to 4,096)."""
    with open("/proc/sys/net/core/somaxconn") as f:
        wanted = min(4096, int(f.read()))
    backlogs = listen_backlogs(server_address()[1])
    assert backlogs, "nothing listens on the web server's port"
    assert min(backlogs) >= wanted, backlogs


def raise_open_file_limit(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + RESERVE
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class IdleClients:
    """Raw connections to the web server: client i sends parts[i] once
    connected, then nothing. Every socket is closed by close()."""

    def __init__(self, parts):
        self.parts = parts
        self.count = len(parts)
        self.selector = selectors.DefaultSelector()
        self.sockets = []
        self.connecting = 0
        self.failed = []             # errors of connections that failed
        self.opened_at = {}          # client -> time.monotonic() established
        self.closed_at = {}          # client -> when the server closed it
        self.all_open_at = None      # when the last one was established

    def open(self, seconds):
        """Starts every connection and waits up to seconds for all to be
        established; returns how many are."""
        address = server_address()
        deadline = time.monotonic() + seconds
        for i in range(self.count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sockets.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.setblocking(False)
            err = s.connect_ex(address)
            if err == 0:
                self._established(s, i)
            elif err in (errno.EINPROGRESS, errno.EAGAIN):
                self.connecting += 1
                self.selector.register(s, selectors.EVENT_WRITE, i)
            else:
                self.failed.append(errno.errorcode.get(err, err))
        while self.connecting and time.monotonic() < deadline:
            for key, _ in self.selector.select(0.2):
                self.selector.unregister(key.fileobj)
                self.connecting -= 1
                err = key.fileobj.getsockopt(socket.SOL_SOCKET,
                                             socket.SO_ERROR)
                if err:
                    self.failed.append(errno.errorcode.get(err, err))
                else:
                    self._established(key.fileobj, key.data)
        if len(self.opened_at) == self.count:
            self.all_open_at = time.monotonic()
        return len(self.opened_at)

    def _established(self, s, i):
        self.opened_at[i] = time.monotonic()
        if self.parts[i]:
            s.send(self.parts[i])
        self.selector.register(s, selectors.EVENT_READ, i)

    def watch(self, seconds):
        """Notes the connections the server closes (end of stream or reset,
        after any answer) within seconds (0: those closed already); returns
        how many it has closed so far."""
        deadline = time.monotonic() + seconds
        while len(self.closed_at) < len(self.opened_at):
            left = deadline - time.monotonic()
            for key, _ in self.selector.select(max(0, min(left, 0.5))):
                try:
                    data = key.fileobj.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(key.fileobj)
                    self.closed_at[key.data] = time.monotonic()
            if left <= 0:
                break
        return len(self.closed_at)

    def close(self):
        self.selector.close()
        for s in self.sockets:
            s.close()
        self.sockets = []


def timed(check):
    """check() and the seconds it took."""
    started = time.monotonic()
    result = check()
    return result, time.monotonic() - started


async def websocket_round_trip(a, b):
    """a opens a session and sends b a message: the acknowledgement."""
    conn = await session(a)
    try:
        await conn.send({"type": "send_message",
                         "receiver_id": b.account_id,
                         "content": "through the crowd"})
        return await conn.expect("message_sent")
    finally:
        await conn.close()


@pytest.mark.disruptive
def test_idle_clients_leave_rest_and_websocket_served(friends):
    """IDLE idle or slow connections (fewer behind lighttpd: see
    idle_count) are all accepted; while they stay open, REST (health and an
    authenticated call) and a WebSocket answer within SERVED_SECONDS each;
    then the server holds none of them after CLOSE_ALL_SECONDS."""
    a, b = friends
    count = idle_count()
    raise_open_file_limit(count)
    clients = IdleClients([PARTS[i % len(PARTS)] for i in range(count)])
    try:
        established = clients.open(CONNECT_SECONDS)
        assert established == count, \
            (f"{established} of {count} idle connections established "
             f"within {CONNECT_SECONDS} s ({len(clients.failed)} failed: "
             f"{sorted(set(clients.failed))})")
        assert clients.watch(0) == 0, \
            f"the server closed {len(clients.closed_at)} of {count} at once"

        r, took = timed(lambda: api("GET", "/health"))
        assert body(r, 200)["status"] == "ok"
        assert took < SERVED_SECONDS, f"GET /health took {took:.1f} s"

        r, took = timed(lambda: get_me(a.access))
        assert body(r, 200)["account_id"] == a.account_id
        assert took < SERVED_SECONDS, f"GET /accounts/me took {took:.1f} s"

        ack, took = timed(lambda: asyncio.run(asyncio.wait_for(
            websocket_round_trip(a, b), 3 * SERVED_SECONDS)))
        assert ack["status"] == "sent", ack
        assert took < SERVED_SECONDS, \
            f"WebSocket session and send took {took:.1f} s"

        # The server held them through the checks, and keeps none.
        since = time.monotonic() - clients.all_open_at
        clients.watch(CLOSE_ALL_SECONDS - since)
        # A connection still open on this side only was never the
        # server's: the kernel dropped it from a full accept queue while
        # 10,000 came at once, and a client that sends nothing is not told.
        open_ports = {clients.sockets[i].getsockname()[1]: i
                      for i in range(count) if i not in clients.closed_at}
        held = open_ports.keys() & held_by_server(server_address()[1])
        sending = sorted({PARTS[open_ports[p] % len(PARTS)] for p in held})
        assert not held, \
            (f"{len(held)} of {count} idle connections still held by the "
             f"server {CLOSE_ALL_SECONDS} s after they were established "
             f"(sending {sending}; {len(open_ports) - len(held)} more open "
             "on this side only)")
    finally:
        clients.close()


def test_a_client_without_its_headers_is_closed_after_the_timeout():
    """Part of a request line, or a request line and part of the headers,
    then nothing: the server closes the connection (an answer such as a
    408 may come first) after HEADER_SECONDS, give or take its timer's
    granularity, and not much later."""
    clients = IdleClients(PARTS[1:])
    try:
        assert clients.open(5) == len(PARTS[1:]), clients.failed
        clients.watch(HEADER_SECONDS + SLACK)
        took = {clients.parts[i]: round(clients.closed_at[i] - opened, 1)
                if i in clients.closed_at else None
                for i, opened in clients.opened_at.items()}
    finally:
        clients.close()
    for part, seconds in took.items():
        assert seconds is not None and \
            HEADER_SECONDS - 2 <= seconds < HEADER_SECONDS + SLACK, took
