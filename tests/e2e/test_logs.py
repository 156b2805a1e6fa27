"""The log lines of chat-fcgi and the push daemons (docs/OPERATIONS.md):
a priority on every line that journald reads ("<3>" error, "<4>" warning,
"<6>" info, "<7>" debug), a line per WebSocket connection opened and
closed, per refused handshake and per refused login, with the client's
address, and never a token or a password."""

import re
import secrets
import socket
import time

import websockets

from chat_api import (api, body, create_account, forge, login_form,
                      new_user, set_active)
from ws_client import (WAIT, WS_PATH, blocking, grep_logs, push_nodes,
                       push_ports, service_log_lines, session, url_for,
                       wait_for_log, ws_test)

# A line of ours: the priority, the program and its pid, the level.
LINE = re.compile(r"^<([3467])>(chat-fcgi|chat-push)\[\d+\]: "
                  r"(error|warn|info|debug): \S")
LEVELS = {"3": "error", "4": "warn", "6": "info", "7": "debug"}
# What ./stack itself appends to the logs when it starts a program, and
# what `-n` prints on stdout (a unit's ExecStartPre, in the journal of a
# deployment): the operator's answer, not a log line.
STACK_LINE = re.compile(r"^(\S+ \./stack: starting |configuration OK$)")


def some_address():
    """An address of TEST-NET-2 (RFC 5737), for X-Forwarded-For."""
    return f"198.51.100.{secrets.randbelow(254) + 1}"


def refused_on_daemon(token, address, daemon=1):
    """The status of a handshake sent straight to push daemon `daemon` as
    forwarded for `address` (the daemon's peer, loopback, is a trusted
    proxy of the test stack)."""
    port = push_ports()[daemon - 1]
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as s:
        s.sendall((f"GET {WS_PATH}?token={token} HTTP/1.1\r\n"
                   f"Host: 127.0.0.1:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   f"X-Forwarded-For: {address}\r\n\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split()[1])


def test_every_line_has_a_priority():
    new_user()                      # at least a login's worth of lines
    lines = service_log_lines()
    assert lines
    for line in lines:
        if STACK_LINE.match(line):
            continue
        m = LINE.match(line)
        assert m, f"a log line without its priority: {line!r}"
        assert LEVELS[m.group(1)] == m.group(3), line


@ws_test
async def test_connection_opened_and_closed():
    """One line when a connection opens, one when it closes: the account,
    the node, the session, the client's address (here forwarded by a
    trusted proxy), how long it lasted, the close code and who sent it."""
    user = new_user()
    address = some_address()
    ws = await websockets.connect(
        url_for(user.access, daemon=1), open_timeout=WAIT,
        extra_headers={"X-Forwarded-For": address}, ping_interval=None)
    opened = await blocking(
        wait_for_log, rf"connection opened: account {user.account_id}, ")
    m = re.search(r"<6>chat-push\[\d+\]: info: connection opened: "
                  rf"account {user.account_id}, node {push_nodes()[0]}, "
                  rf"session (\d+), address {re.escape(address)}$", opened)
    assert m, opened
    await ws.close(code=1000)
    closed = await blocking(
        wait_for_log, rf"connection closed: account {user.account_id}, ")
    assert re.search(
        r"<6>chat-push\[\d+\]: info: connection closed: "
        rf"account {user.account_id}, node {push_nodes()[0]}, "
        rf"session {m.group(1)}, "
        rf"address {re.escape(address)}, \d+\.\d{{3}} s, "
        r"code 1000 \(by client\)$", closed), closed


@ws_test
async def test_connection_closed_by_server_line():
    """A binary frame: the server closes with 1003, and says so."""
    user = new_user()
    conn = await session(user, daemon=2)
    await conn.ws.send(b"\x00binary")
    code, _ = await conn.wait_closed()
    assert code == 1003
    closed = await blocking(
        wait_for_log, rf"connection closed: account {user.account_id}, ")
    assert re.search(rf"node {push_nodes()[1]}, session \d+, address "
                     r"127\.0\.0\.1, \d+\.\d{3} s, code 1003 \(by server\)$",
                     closed), closed


def test_refused_handshake_lines(db):
    """A refused handshake: the status and why, the account once the token
    named one, the client's address; never the token."""
    user = new_user()
    address = some_address()
    bad = forge(user.account_id, key=b"not the secret of this stack" * 2)
    assert refused_on_daemon(bad, address) == 401
    line = wait_for_log(rf"handshake refused: 401 .*address "
                        rf"{re.escape(address)}$")
    assert ", account -," in line, line
    assert line.startswith("<6>chat-push["), line

    inactive = create_account()
    set_active(db, inactive["account_id"], False)
    token = forge(inactive["account_id"])
    address = some_address()
    for _ in range(50):             # the daemon learns of it by an event
        if refused_on_daemon(token, address) == 403:
            break
        time.sleep(0.1)
    wait_for_log(r"handshake refused: 403 Inactive user, account "
                        rf"{inactive['account_id']}, address "
                        rf"{re.escape(address)}$")
    for token_ in (bad, token):
        assert grep_logs(token_.rsplit(".", 1)[1]) == []


def test_refused_login_lines():
    """A refused login: the name tried, quoted and escaped (a name holding
    a newline cannot forge a line), the account if the name has one, the
    client's address and why; never the password."""
    user = new_user()
    address = some_address()
    password = "wrong-" + secrets.token_hex(8)
    r = api("POST", "/auth/access-token",
            data={"username": user.username, "password": password},
            headers={"X-Forwarded-For": address})
    assert r.status_code == 401
    line = wait_for_log(rf'login refused: name "{user.username}", account '
                        rf"{user.account_id}, address {re.escape(address)}, "
                        r"401 wrong password$")
    assert line.startswith("<6>chat-fcgi["), line

    forged = f'nobody{secrets.token_hex(4)}"\n<3>chat-fcgi[1]: error: forged'
    r = api("POST", "/auth/access-token",
            data={"username": forged, "password": password},
            headers={"X-Forwarded-For": address})
    assert r.status_code == 401
    quoted = forged.replace('"', '\\"').replace("\n", "\\x0a")
    wait_for_log(rf'login refused: name "{re.escape(quoted)}", account -, '
                 rf"address {re.escape(address)}, 401 wrong password$")
    assert not any(l.startswith("<3>chat-fcgi[1]: error: forged")
                   for l in service_log_lines())
    assert grep_logs(password) == []
    body(login_form(user.username, user.password), 200)
