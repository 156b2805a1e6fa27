"""Frames and handshakes that break RFC 6455 (CONTRACT §12, strict input):
a control frame over 125 bytes, a close
payload of 1 byte or with a reason that is not UTF-8, a close code the RFC
does not allow on the wire are closed with 1002; a handshake without
Sec-WebSocket-Version is a 400, one with another version a 426 that names
version 13. Valid traffic still works: masked frames, pings of up to 125
bytes answered with the same payload, fragmented text, a close with 1000 and
a reason answered with 1000.

A client frame that is not masked (RFC 6455 §5.1) is closed with 1002,
and what it asks is not done: libwebsockets 4.1.6 never checks the mask
bit, so the daemon reads the frame headers itself as lws receives them
(push-daemon/rxwatch.h). So that it always can, a request head it could
not follow byte for byte is refused with 400, and a request that is not
a handshake (plain, CONNECT, an HTTP/2 upgrade) ends its connection.

Every test runs through the web server and against a daemon's own port:
the web servers handle the handshake, then only carry the bytes.
"""

import json
import socket
import struct
import time
import urllib.parse

import pytest

from ws_client import (WAIT, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,
                       RawWs, url_for, ws_frame)

PROTOCOL_ERROR = 1002

# Through the web server (None), and daemon 1's own port.
ROUTES = pytest.mark.parametrize("daemon", [None, 1], ids=["web", "daemon"])


def opened(user, daemon):
    """A raw connection past its first frame (connection_established)."""
    raw = RawWs(user.access, daemon=daemon)
    assert raw.status == 101, (raw.status, raw.headers)
    assert raw.read_json()["type"] == "connection_established"
    return raw


def closed_with(raw):
    """The close code the server ends the connection with (None: the
    connection ended without a close frame)."""
    _, code, _ = raw.read_to_close()
    raw.close()
    return code


def close_payload(code, reason=b""):
    return struct.pack("!H", code) + reason


# ------------------------------------------------------------- handshake

@ROUTES
def test_handshake_without_version_is_400(user, daemon):
    raw = RawWs(user.access, daemon=daemon, version=None)
    raw.close()
    assert raw.status == 400, (raw.status, raw.headers)


@ROUTES
@pytest.mark.parametrize("version", ["8", "12", "14", "thirteen"])
def test_handshake_with_another_version_is_426(user, daemon, version):
    raw = RawWs(user.access, daemon=daemon, version=version)
    raw.close()
    assert raw.status == 426, (raw.status, raw.headers)
    assert raw.headers.get("sec-websocket-version") == "13", raw.headers


# ------------------------------------------------------------- frames

@ROUTES
@pytest.mark.parametrize("opcode", [OP_PING, OP_PONG, OP_CLOSE],
                         ids=["ping", "pong", "close"])
def test_control_frame_over_125_bytes_is_closed_with_1002(user, daemon,
                                                          opcode):
    raw = opened(user, daemon)
    payload = b"x" * 126 if opcode != OP_CLOSE else close_payload(
        1000, b"r" * 124)
    raw.send_frame(opcode, payload)
    assert closed_with(raw) == PROTOCOL_ERROR


@ROUTES
def test_close_payload_of_one_byte_is_closed_with_1002(user, daemon):
    raw = opened(user, daemon)
    raw.send_frame(OP_CLOSE, b"\x03")
    assert closed_with(raw) == PROTOCOL_ERROR


@ROUTES
def test_close_reason_not_utf8_is_closed_with_1002(user, daemon):
    raw = opened(user, daemon)
    raw.send_frame(OP_CLOSE, close_payload(1000, b"bye \xc3\x28"))
    assert closed_with(raw) == PROTOCOL_ERROR


@ROUTES
@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016,
                                  1100, 2000, 2999, 5000, 65535])
def test_close_code_not_allowed_is_closed_with_1002(user, daemon, code):
    raw = opened(user, daemon)
    raw.send_frame(OP_CLOSE, close_payload(code, b"reason"))
    assert closed_with(raw) == PROTOCOL_ERROR


# ------------------------------------------------------------- valid traffic

@ROUTES
@pytest.mark.parametrize("size", [0, 1, 125])
def test_ping_of_up_to_125_bytes_is_answered(user, daemon, size):
    raw = opened(user, daemon)
    payload = bytes(range(size))
    raw.send_frame(OP_PING, payload)
    frames = []
    while True:
        opcode, got = raw.read_frame()
        if opcode == OP_PONG:
            break
        frames.append(opcode)
    raw.close()
    assert got == payload
    assert set(frames) <= {OP_TEXT}, frames


@ROUTES
def test_fragmented_text_is_one_message(user, daemon):
    raw = opened(user, daemon)
    text = b'{"type": "no such type", "temp_id": "t1"}'
    raw.send_frame(OP_TEXT, text[:10], fin=False)
    raw.send_frame(OP_PING, b"between fragments")
    raw.send_frame(OP_CONT, text[10:20], fin=False)
    raw.send_frame(OP_CONT, text[20:])
    answer = None
    pong = None
    while answer is None or pong is None:
        opcode, payload = raw.read_frame()
        if opcode == OP_PONG:
            pong = payload
        elif b'"error"' in payload:
            answer = payload
    raw.close()
    assert pong == b"between fragments"
    answer = json.loads(answer)
    assert answer["request_type"] == "no such type", answer
    assert answer["temp_id"] == "t1", answer


@ROUTES
@pytest.mark.parametrize("code", [1000, 1001, 1003, 1007, 1011, 3000, 4999])
def test_close_with_an_allowed_code_is_answered_with_it(user, daemon, code):
    raw = opened(user, daemon)
    raw.send_frame(OP_CLOSE, close_payload(code, "à bientôt".encode()))
    assert closed_with(raw) == code


@ROUTES
def test_close_without_payload_is_answered(user, daemon):
    raw = opened(user, daemon)
    raw.send_frame(OP_CLOSE, b"")
    _, code, how = raw.read_to_close()
    raw.close()
    assert how == "close" and code in (None, 1000), (how, code)


@ROUTES
def test_masked_frames_are_served(user, daemon):
    """A request in a masked frame is answered; the connection stays."""
    raw = opened(user, daemon)
    raw.send_text('{"type": "mark_read"}')
    answer = raw.read_json()
    while answer.get("type") != "error":
        answer = raw.read_json()
    assert answer["request_type"] == "mark_read", answer
    raw.send_frame(OP_CLOSE, close_payload(1000, b"done"))
    assert closed_with(raw) == 1000


# ------------------------------------------------------- unmasked frames

def closed_with_1002_unanswered(raw):
    """Reads raw to its close, which must be 1002 with no answer to a
    mark_read among the frames before it: those frames."""
    frames, code, how = raw.read_to_close()
    raw.close()
    assert (how, code) == ("close", PROTOCOL_ERROR), (how, code, frames)
    assert not any(op == OP_TEXT and json.loads(payload).get(
        "request_type") == "mark_read" for op, payload in frames), frames
    return frames


@ROUTES
@pytest.mark.parametrize("opcode", [OP_TEXT, OP_PING, OP_CLOSE],
                         ids=["text", "ping", "close"])
def test_unmasked_frame_is_closed_with_1002(user, daemon, opcode):
    """Its request is not served, its ping not answered, its close not
    taken for the client's own."""
    raw = opened(user, daemon)
    payload = {OP_TEXT: b'{"type": "mark_read"}', OP_PING: b"unmasked",
               OP_CLOSE: close_payload(1000)}[opcode]
    raw.send_frame(opcode, payload, masked=False)
    frames = closed_with_1002_unanswered(raw)
    assert OP_PONG not in [op for op, _ in frames], frames


@ROUTES
def test_unmasked_frame_after_masked_ones_is_closed_with_1002(user, daemon):
    """Masked requests before it are served; the unmasked one, and a
    masked one right behind it in the same write, are not."""
    raw = opened(user, daemon)
    raw.send_text('{"type": "mark_read", "temp_id": "masked"}')
    answer = raw.read_json()
    while answer.get("type") != "error":
        answer = raw.read_json()
    assert answer["temp_id"] == "masked", answer
    raw.sock.sendall(
        ws_frame(OP_TEXT, b'{"type": "mark_read", "temp_id": "bare"}',
                 masked=False)
        + ws_frame(OP_TEXT, b'{"type": "mark_read", "temp_id": "after"}'))
    closed_with_1002_unanswered(raw)


def test_unmasked_frame_sent_with_the_handshake_is_closed_with_1002(user):
    """A frame written with the request, before the 101 came back: lws
    reads the head line by line, so the frame waits for the connection to
    open, then is refused like any other. On the daemon's own port: what
    a client sends a web server before its 101 is the web server's to
    handle."""
    raw = RawWs(user.access, daemon=1, early=ws_frame(
        OP_TEXT, b'{"type": "mark_read"}', masked=False))
    assert raw.status == 101, (raw.status, raw.headers)
    closed_with_1002_unanswered(raw)


def daemon_exchange(user, request):
    """request (bytes) on daemon 1's own port: everything it answers
    until it closes the connection, and whether it did within WAIT."""
    parts = urllib.parse.urlsplit(url_for(user.access, 1))
    with socket.create_connection((parts.hostname, parts.port),
                                  timeout=WAIT) as sock:
        sock.sendall(request)
        answer, deadline = b"", time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                return answer, True
            except TimeoutError:
                return answer, False
            if not chunk:
                return answer, True
            answer += chunk
        return answer, False


def test_a_plain_request_ends_its_connection(user):
    """A request that is not a handshake is answered 404 and its
    connection closed, so that what follows a request's head on a
    connection is always frames (push-daemon/rxscan.h)."""
    answer, closed = daemon_exchange(
        user, b"GET /api/v1/chat/ws/chat?websocket HTTP/1.1\r\n"
              b"Host: daemon\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404"), answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"\r\nconnection: close" in head.lower(), head
    assert json.loads(body) == {"detail": "Not Found"}, body
    assert closed, "the connection stayed open"


def test_an_http2_upgrade_is_refused(user):
    """Upgrade: h2c is not taken: WebSocket streams of HTTP/2 (RFC 8441)
    would carry frames the daemon cannot read for their mask bit."""
    answer, closed = daemon_exchange(
        user, b"GET / HTTP/1.1\r\nHost: daemon\r\n"
              b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
              b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    assert not answer.startswith(b"HTTP/1.1 101"), answer
    assert closed, "the connection stayed open"


def test_a_connect_request_ends_its_connection(user):
    """lws would make a CONNECT a raw connection, kept open for ever."""
    answer, closed = daemon_exchange(
        user, b"CONNECT daemon:1 HTTP/1.1\r\nHost: daemon:1\r\n\r\n")
    assert closed, f"the connection stayed open: {answer!r}"


def test_a_head_read_otherwise_is_refused(user):
    """A line of CRs before its LF ends the head for the daemon's
    scanner, not for lws, which reads on: the header bytes that follow
    would be taken for frames and their masks. The handshake is not
    upgraded (the daemon answers 400: test_rxwatch.c follows the bytes)."""
    parts = urllib.parse.urlsplit(url_for(user.access, 1))
    request = (f"GET {parts.path}?{parts.query} HTTP/1.1\r\n"
               f"Host: {parts.hostname}:{parts.port}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               "\r\r\nX-After: \x82\r\n\r\n").encode("latin-1")
    answer, _ = daemon_exchange(user, request)
    assert not answer.startswith(b"HTTP/1.1 101"), answer
