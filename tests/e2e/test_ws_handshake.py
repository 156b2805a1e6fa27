"""The WebSocket handshake (CONTRACT §6): who may connect, refusals as real
HTTP statuses, through the web server and on each daemon; the token checked
at the handshake only, and never written to a log."""

import asyncio
import json
import time

import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from chat_api import (create_account, expired, forge, login_form,
                      new_friends, new_user, random_uuid, set_active)
from ws_client import (WAIT, WS_PATH, blocking, daemon_url, grep_logs,
                       handshake_status, open_ws, session, url_for,
                       wait_for_log, wait_status, ws_test, ws_url)

ACCESS_LIFETIME = 30 * 60


def bad_tokens(sub):
    """Tokens refused with 401, by name (CONTRACT §3, §6; docs/API.md)."""
    now = int(time.time())
    return {
        "malformed": "not.a.jwt",
        "garbage": "abc",
        "expired": expired(sub),
        "refresh token": forge(sub, type_="refresh"),
        "bad signature": forge(sub, key=b"another secret of 32 bytes at least"),
        "alg none": forge(sub, alg="none"),
        "alg HS512": forge(sub, alg="HS512"),
        "no type": forge(sub, type=None),
        "no exp": forge(sub, exp=None),
        "sub not a uuid": forge("not-a-uuid"),
        "expired seconds ago": forge(sub, issued=now - 10, lifetime=5),
    }


BAD_TOKEN_NAMES = list(bad_tokens("00000000-0000-0000-0000-000000000000"))


# ---------------------------------------------------------------- 401

@pytest.mark.parametrize("name", BAD_TOKEN_NAMES)
@ws_test
async def test_bad_token_is_refused_with_401(viewer, name):
    token = bad_tokens(viewer.account_id)[name]
    with pytest.raises(InvalidStatusCode) as refused:
        await websockets.connect(f"{ws_url()}?token={token}",
                                 open_timeout=WAIT, ping_interval=None)
    assert refused.value.status_code == 401


@pytest.mark.parametrize("query", ["", "?token=", "?other=1", "?tok=x"])
@ws_test
async def test_no_token_is_refused_with_401(query):
    with pytest.raises(InvalidStatusCode) as refused:
        await websockets.connect(ws_url() + query, open_timeout=WAIT,
                                 ping_interval=None)
    assert refused.value.status_code == 401


@pytest.mark.parametrize("daemon", [1, 2])
@ws_test
async def test_each_daemon_refuses_bad_tokens_with_401(viewer, daemon):
    for name, token in bad_tokens(viewer.account_id).items():
        assert await handshake_status(token, daemon=daemon) == 401, name
    assert await handshake_status(None, daemon=daemon) == 401


# ---------------------------------------------------------------- 403

@ws_test
async def test_inactive_account_is_refused_with_403_then_accepted_again(db):
    user = new_user()
    assert await handshake_status(user.access) == 101
    set_active(db, user.account_id, False)
    try:
        # The daemons learn of it through an event: within about a second.
        assert await wait_status(user.access, 403) == 403
        for daemon in (1, 2):
            assert await wait_status(user.access, 403, daemon=daemon) == 403
    finally:
        set_active(db, user.account_id, True)
    assert await wait_status(user.access, 101) == 101
    for daemon in (1, 2):
        assert await wait_status(user.access, 101, daemon=daemon) == 101
    conn = await session(user)
    await conn.close()


@ws_test
async def test_deleted_account_is_refused_with_403(db):
    account = create_account()
    token = forge(account["account_id"])
    assert await handshake_status(token) == 101
    with db.cursor() as cur:
        cur.execute("DELETE FROM account WHERE account_id = %s",
                    (account["account_id"],))
    for daemon in (1, 2):
        assert await wait_status(token, 403, daemon=daemon) == 403
    assert await handshake_status(token) == 403


@ws_test
async def test_never_existing_account_is_closed_with_1008():
    """docs/API.md: a token naming an account that never existed (only a
    token forged with the secret can) passes the handshake, which is decided
    from memory, and is closed with 1008 as soon as its presence row is
    refused, before any frame but connection_established. Inactive and
    deleted accounts, the real cases, get HTTP 403 (above)."""
    token = forge(random_uuid())
    for daemon in (None, 1, 2):
        ws = await websockets.connect(url_for(token, daemon, None),
                                      open_timeout=WAIT, close_timeout=2,
                                      ping_interval=None)
        try:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(),
                                                              WAIT))
                    assert frame["type"] == "connection_established"
        finally:
            await ws.close()
        assert closed.value.code == 1008


# ---------------------------------------------------------------- paths

@pytest.mark.parametrize("path", [
    "/api/v1/chat/ws/other",
    "/api/v1/chat/ws/chat/more",
    "/api/v1/chat/ws/chats",
    "/api/v1/chat/ws/",
    "/api/v1/chat/wschat",
])
@ws_test
async def test_wrong_path_is_404(viewer, path):
    base = ws_url()[:-len(WS_PATH)]
    assert await handshake_status(viewer.access, url=base + path) == 404


@pytest.mark.parametrize("daemon", [1, 2])
@pytest.mark.parametrize("path", ["/", "/api/v1/chat/ws/other",
                                  "/api/v1/chat/ws/chat/more"])
@ws_test
async def test_wrong_path_on_a_daemon_is_404(viewer, daemon, path):
    base = daemon_url(daemon)[:-len(WS_PATH)]
    assert await handshake_status(viewer.access, url=base + path) == 404


@ws_test
async def test_trailing_slash_is_accepted(viewer):
    """CONTRACT §1: a path works with and without its trailing slash."""
    conn = await session(viewer, url=ws_url() + "/")
    await conn.close()


@pytest.mark.parametrize("daemon", [1, 2])
@ws_test
async def test_each_daemon_accepts_a_valid_token(daemon):
    user = new_user()
    conn = await session(user, daemon=daemon)
    assert conn.online == {"type": "online_friends", "friends": []}
    await conn.close()


@ws_test
async def test_any_origin_is_accepted(viewer):
    """CONTRACT §1: the handshake accepts any Origin by default."""
    for origin in ("http://evil.example", "http://localhost:5173", "null"):
        ws = await websockets.connect(f"{ws_url()}?token={viewer.access}",
                                      origin=origin, open_timeout=WAIT,
                                      ping_interval=None)
        frame = await asyncio.wait_for(ws.recv(), WAIT)
        assert '"connection_established"' in frame, frame
        await ws.close()


# ------------------------------------------------------ token lifetime

@ws_test
async def test_open_connection_outlives_its_token():
    """CONTRACT §6: checked at the handshake only; an open connection is
    not closed when its token expires."""
    a, b = new_friends()
    short = forge(a.account_id, lifetime=2)
    conn = await open_ws(short, label="short-lived token")
    assert (await conn.next())["type"] == "connection_established"
    assert (await conn.next())["type"] == "online_friends"
    await asyncio.sleep(3.5)
    assert await handshake_status(short) == 401
    assert conn.is_open
    await conn.send({"type": "send_message", "receiver_id": b.account_id,
                     "content": "still here", "temp_id": "late"})
    sent = await conn.expect("message_sent")
    assert sent["temp_id"] == "late"
    await conn.close()


# ------------------------------------------------------ the token in logs

@ws_test
async def test_token_never_reaches_a_log():
    """CONTRACT §6: the token never appears in a log, accepted or not; nor
    a password, in the lines of refused logins. The lines that tell of
    this account's connections, refused handshake and refused login are
    there (tests/e2e/test_logs.py reads them closely)."""
    a, b = new_friends()
    conn = await session(a)
    await conn.send({"type": "send_message", "receiver_id": b.account_id,
                     "content": "log me not"})
    await conn.expect("message_sent")
    await conn.close()
    direct = await session(a, daemon=2)
    await direct.close()
    refused = expired(a.account_id)
    assert await handshake_status(refused) == 401
    assert await handshake_status(refused, daemon=1) == 401
    wrong = "not-" + a.password + "-" + random_uuid()
    assert login_form(a.username, wrong).status_code == 401
    assert login_form(a.email, wrong).status_code == 401
    for pattern in (rf"connection closed: account {a.account_id}, "
                    r"node node-2, ",
                    r"handshake refused: 401 ",
                    rf'login refused: name "{a.email}", account '
                    rf"{a.account_id}, "):
        await blocking(wait_for_log, pattern)
    for token in (a.access, a.refresh, refused):
        assert grep_logs(token) == []
        # Nor the signature alone (a log could cut the token short).
        assert grep_logs(token.rsplit(".", 1)[1]) == []
    assert grep_logs(wrong) == []
    assert grep_logs(a.password) == []
