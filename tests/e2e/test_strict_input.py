"""Strict input (CONTRACT §12, docs/API.md "Strict input"): tokens with nbf
in the future or a crit header, handshake tokens that are not valid
percent-encoding, control characters in a REST path or query, a POST
without a body, and the web server's own errors on API paths, behind each
web server."""

import json
import socket
import time
import urllib.parse

import pytest

from chat_api import (API, TIMEOUT, api, assert_422, assert_bad_credentials,
                      base_url, body, claims, describe, error, forge,
                      has_control, has_nul,
                      new_user, random_uuid, sign_jwt, web_server)
from ws_client import WS_PATH, grep_logs, handshake_status, ws_test

NGINX = web_server() == "nginx"


# ------------------------------------------------------------ JWT nbf, crit

def not_yet_valid(sub, seconds=3600):
    return forge(sub, nbf=int(time.time()) + seconds)


def with_crit(sub, crit=("exp",)):
    header = {"alg": "HS256", "typ": "JWT", "crit": list(crit)}
    return sign_jwt(header, claims(sub))


def strict_tokens(sub):
    """Well-signed tokens that CONTRACT §12 refuses, by name."""
    return {
        "nbf in an hour": not_yet_valid(sub),
        "nbf in a minute": not_yet_valid(sub, 60),
        "nbf a string": forge(sub, nbf=str(int(time.time()) - 60)),
        "crit exp": with_crit(sub),
        "crit empty": with_crit(sub, ()),
        "crit unknown": with_crit(sub, ("x-chat",)),
    }


STRICT_TOKEN_NAMES = list(strict_tokens(random_uuid()))


def test_nbf_in_the_past_is_accepted():
    """The control: a token due already, nbf and an unknown header member
    that is not crit, is as good as one without."""
    user = new_user()
    token = forge(user.account_id, nbf=int(time.time()) - 60)
    assert body(api("GET", "/accounts/me", token=token), 200) == user.account
    token = sign_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"},
                     claims(user.account_id))
    assert body(api("GET", "/accounts/me", token=token), 200) == user.account


@pytest.mark.parametrize("name", STRICT_TOKEN_NAMES)
def test_strict_token_is_a_401_over_rest(viewer, name):
    token = strict_tokens(viewer.account_id)[name]
    assert_bad_credentials(api("GET", "/accounts/me", token=token))
    # The message routes check the token themselves (ROUTE_TOKEN).
    assert_bad_credentials(api("GET", f"/chat/messages/history/"
                               f"{random_uuid()}", token=token))


def test_refresh_token_with_crit_is_refused(viewer):
    header = {"alg": "HS256", "typ": "JWT", "crit": ["exp"]}
    token = sign_jwt(header, claims(viewer.account_id, "refresh", 3600))
    r = api("POST", "/auth/refresh-token", json={"refresh_token": token})
    assert r.status_code == 401, describe(r)


@pytest.mark.parametrize("name", STRICT_TOKEN_NAMES)
@ws_test
async def test_strict_token_is_a_401_at_the_handshake(viewer, name):
    token = strict_tokens(viewer.account_id)[name]
    assert await handshake_status(token) == 401
    assert await handshake_status(token, daemon=1) == 401


# ------------------------------------------- handshake token percent-encoding

def raw_handshake(query):
    """(status, headers, body) of a handshake through the web server with
    the raw query string, as sent."""
    parts = urllib.parse.urlsplit(base_url())
    with socket.create_connection((parts.hostname, parts.port),
                                  timeout=TIMEOUT) as sock:
        sock.sendall((f"GET {WS_PATH}?{query} HTTP/1.1\r\n"
                      f"Host: {parts.hostname}:{parts.port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        return read_answer(sock)


def read_answer(sock):
    """(status, headers, body) of one HTTP answer on sock; the body as far
    as Content-Length, or the stream's end, tells."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0] else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if status == 101:
        return status, headers, b""
    length = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    try:
        while ((length is not None and len(rest) < int(length))
               or (length is None and not chunked)
               or (chunked and not rest.endswith(b"0\r\n\r\n"))):
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    if chunked:
        rest = unchunk(rest)
    elif length is not None:
        rest = rest[:int(length)]
    return status, headers, rest


def unchunk(data):
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size.split(b";")[0] or b"0", 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2:]
    return out


BAD_ENCODINGS = ["%00", "{t}%00", "%00{t}", "{t}%00x", "%zz", "{t}%zz",
                 "%", "{t}%", "{t}%4", "%g0{t}"]


@pytest.mark.parametrize("raw", BAD_ENCODINGS)
def test_token_not_valid_percent_encoding_is_a_401(viewer, raw):
    """A token holding an encoded NUL or a '%' without two hex digits is
    refused as a bad token, never a 403, a 500 or a dropped connection."""
    status, headers, _ = raw_handshake("token=" + raw.format(t=viewer.access))
    assert status == 401, (raw, status, headers)


def test_token_percent_encoded_is_decoded(viewer):
    """The control: a token sent fully percent-encoded is the token."""
    encoded = "".join(f"%{b:02X}" for b in viewer.access.encode())
    status, _, _ = raw_handshake("token=" + encoded)
    assert status == 101


def test_refused_handshake_token_never_reaches_a_log(viewer):
    raw_handshake(f"token={viewer.access}%00")
    raw_handshake(f"token={viewer.access}%zz")
    time.sleep(0.5)
    signature = viewer.access.rsplit(".", 1)[1]
    assert grep_logs(signature) == []


# ------------------------------------- control characters in a path or query

def control_refusal(where, name=None, nul=False):
    loc = (where,) if name is None else (where, name)
    return has_nul(*loc) if nul else has_control(*loc)


def assert_path_refused(r, nul):
    """A path holding an encoded NUL or control: the application's 422;
    nginx refuses a NUL in a path itself, with its JSON 400."""
    if nul and NGINX:
        assert body(r, 400) == {"detail": "Bad Request"}, describe(r)
        return
    assert_422(r, control_refusal("path", nul=nul))


PATHS = {
    "account id %00": ("/accounts/{id}%00", True),
    "account id %00x": ("/accounts/{id}%00x", True),
    "me %00": ("/accounts/me%00", True),
    "health %00": ("/health%00", True),
    "history id %00x": ("/chat/messages/history/{id}%00x", True),
    "history id %01": ("/chat/messages/history/{id}%01", False),
    "status id %0a": ("/friends/status/{id}%0a", False),
    "search %1f": ("/accounts/search%1F", False),
    "%7f segment": ("/accounts/%7f/{id}", False),
    "deep %00": ("/a/b/c/d/e/f/g/h/i/j%00", True),
}


@pytest.mark.parametrize("name", list(PATHS))
def test_control_in_a_path_is_refused(viewer, name):
    path, nul = PATHS[name]
    target = new_user()
    r = api("GET", path.format(id=target.account_id), token=viewer.access)
    assert_path_refused(r, nul)


def test_control_in_a_path_is_refused_before_authentication():
    r = api("GET", f"/accounts/{random_uuid()}%00")
    assert_path_refused(r, True)
    r = api("DELETE", f"/chat/messages/{random_uuid()}%01")
    assert_path_refused(r, False)


QUERIES = {
    "skip=0%00": ("skip", True),
    "limit=%0950": ("limit", False),
    "name=a%01": ("name", False),
    "name=a%7F": ("name", False),
    "name=a&extra=%00": ("extra", True),
    "name=a%0Ab": ("name", False),
    "name%00=a": (None, True),
    "name=a&skip%00=1": (None, True),
    "name=a&sk%01ip=1": (None, False),
    # A name that is not UTF-8 is not echoed: the answer stays UTF-8.
    "name=a&n%9Eme=a%01": (None, False),
    "name=a&%C3=b%00": (None, True),
}


@pytest.mark.parametrize("query", list(QUERIES))
def test_control_in_a_query_is_a_422(viewer, query):
    name, nul = QUERIES[query]
    r = api("GET", f"/accounts/search?{query}", token=viewer.access)
    assert_422(r, control_refusal("query", name, nul))


@pytest.mark.parametrize("query", ["skip=0%00", "keyword=a%01", "limit=5%00"])
def test_control_in_a_history_or_search_query_is_a_422(friends, query):
    a, b = friends
    for path in (f"/chat/messages/history/{b.account_id}",
                 f"/chat/messages/search/{b.account_id}"):
        r = api("GET", f"{path}?keyword=x&{query}", token=a.access)
        name = query.split("=")[0]
        assert_422(r, control_refusal("query", name, "%00" in query))


def test_printable_query_is_untouched(viewer):
    """The control: spaces, '+', tabs spelled out and non-ASCII pass."""
    r = api("GET", "/accounts/search?name=a+b%20c%C3%A9", token=viewer.access)
    assert body(r, 200) == []


# --------------------------------------------------- a POST without a body

def raw_request(request, send_body=b""):
    """(status, headers, body) of one raw request through the web server."""
    parts = urllib.parse.urlsplit(base_url())
    with socket.create_connection((parts.hostname, parts.port),
                                  timeout=TIMEOUT) as sock:
        sock.sendall(request)
        try:
            if send_body:
                sock.sendall(send_body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_answer(sock)


def host_header():
    parts = urllib.parse.urlsplit(base_url())
    return f"Host: {parts.hostname}:{parts.port}\r\n".encode()


def post_without_length(path, token=None):
    auth = b"" if token is None else f"Authorization: Bearer {token}\r\n".encode()
    return raw_request(b"POST " + API.encode() + path.encode() +
                       b" HTTP/1.1\r\n" + host_header() + auth +
                       b"Connection: close\r\n\r\n")


def json_detail(status, headers, data):
    """The JSON body of an answer, which must carry a detail."""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    assert media == "application/json", (status, headers, data[:300])
    answer = json.loads(data)
    assert "detail" in answer, (status, answer)
    return answer


@pytest.mark.parametrize("path", ["/accounts/", "/auth/access-token",
                                  "/chat/messages/"])
def test_post_without_a_body_is_an_empty_body(viewer, path):
    """curl -X POST without -d: no Content-Length, no body. The answer is
    the application's, as for an empty body (its 422 "field required"),
    except behind lighttpd, which refuses a POST without Content-Length in
    its request parser, before any module: a JSON 411 there."""
    token = viewer.access if path.startswith("/chat") else None
    status, headers, data = post_without_length(path, token)
    answer = json_detail(status, headers, data)
    if web_server() == "lighttpd":
        assert status == 411, (status, answer)
        return
    assert status == 422, (status, answer)
    assert answer == {"detail": [error(("body",), "field required",
                                       "value_error.missing")]}


# ----------------------------------------- the web server's own errors

def own_error_requests():
    host = host_header()
    return {
        "request line of 20 KiB": b"GET " + API.encode() + b"/health?x=" +
        b"a" * 20000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        "request line of 70 KiB": b"GET " + API.encode() + b"/health?x=" +
        b"a" * 70000 + b" HTTP/1.1\r\n" + host + b"\r\n",
        "header of 20 KiB": b"GET " + API.encode() + b"/health HTTP/1.1\r\n" +
        host + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n",
        "300 headers": b"GET " + API.encode() + b"/health HTTP/1.1\r\n" + host +
        b"".join(b"X-H%d: a\r\n" % i for i in range(300)) + b"\r\n",
        "no Host in HTTP/1.1": b"GET " + API.encode() +
        b"/health HTTP/1.1\r\n\r\n",
        "Content-Length not a number": b"POST " + API.encode() +
        b"/accounts/ HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n\r\n",
        "Content-Length and chunked": b"POST " + API.encode() +
        b"/accounts/ HTTP/1.1\r\n" + host + b"Content-Length: 2\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "unknown method": b"FOO " + API.encode() + b"/health HTTP/1.1\r\n" +
        host + b"\r\n",
        "TRACE": b"TRACE " + API.encode() + b"/health HTTP/1.1\r\n" + host +
        b"\r\n",
        "HTTP/2.0 request line": b"GET " + API.encode() +
        b"/health HTTP/2.0\r\n" + host + b"\r\n",
        "raw control in the path": b"GET " + API.encode() +
        b"/health\x01 HTTP/1.1\r\n" + host + b"\r\n",
        "%zz in the path": b"GET " + API.encode() + b"/accounts/%zz HTTP/1.1\r\n" +
        host + b"\r\n",
        "unknown Expect": b"POST " + API.encode() + b"/accounts/ HTTP/1.1\r\n" +
        host + b"Expect: bogus\r\nContent-Length: 2\r\n\r\n{}",
    }


OWN_ERRORS = list(own_error_requests())


@pytest.mark.parametrize("name", OWN_ERRORS)
def test_web_server_errors_are_json(name):
    """Whatever answers (the web server itself, or the application), an
    error on an API path is JSON with a detail, never an HTML page."""
    status, headers, data = raw_request(own_error_requests()[name])
    assert status != 0, "no answer"
    assert status < 500 or status in (501, 505), (status, headers, data[:200])
    if status >= 400:
        json_detail(status, headers, data)


def test_body_over_the_web_server_limit_is_a_json_413():
    """A body past the web server's own limit (8 MiB) is refused by the
    web server with a JSON 413."""
    size = 9 * 1024 * 1024
    status, headers, data = raw_request(
        b"POST " + API.encode() + b"/accounts/ HTTP/1.1\r\n" + host_header() +
        b"Content-Type: application/json\r\nContent-Length: " +
        str(size).encode() + b"\r\nConnection: close\r\n\r\n",
        b"x" * size)
    assert status == 413, (status, headers, data[:200])
    json_detail(status, headers, data)
