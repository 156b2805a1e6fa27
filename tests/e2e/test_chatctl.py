"""chatctl, the operator's tool (docs/OPERATIONS.md), end to end: against
the test stack's configuration file (CHAT_CONFIG) and database, with its
web server and push daemons serving the accounts it changes."""

import asyncio
import hashlib
import hmac
import os
import re
import select
import secrets
import subprocess
import time
import urllib.parse

import psycopg2
import pytest
import websockets

from chat_api import (api, b64url, body, connect_db, env, forge, get_me,
                      group_get, group_history, group_leave, group_members,
                      group_unread, gsend, jwt_secret, login_form,
                      new_friends, new_group, new_user, refresh, unique_email,
                      unique_username)
from ws_client import (ROOT, WAIT, Conn, blocking, handshake_status,
                       push_nodes, service_log_lines, session, url_for,
                       wait_for_log, wait_status, ws_test)


def chatctl_path():
    """chatctl of the tree the stack's programs come from."""
    path = os.path.join(os.path.dirname(env("CHAT_PUSH_BIN")), "chatctl")
    assert os.access(path, os.X_OK), path
    return path


def chatctl(*args, stdin=None, config=None):
    """chatctl -c CONFIG -s ROOT/sql ARGS, stdin as given: the result."""
    return subprocess.run(
        [chatctl_path(), "-c", config or env("CHAT_CONFIG"),
         "-s", os.path.join(ROOT, "sql"), *args],
        input=stdin, capture_output=True, text=True, timeout=60)


def ok(*args, stdin=None):
    """chatctl ARGS, which must succeed: its output."""
    r = chatctl(*args, stdin=stdin)
    assert r.returncode == 0, (args, r.returncode, r.stdout, r.stderr)
    return r.stdout


def fails(*args, stdin=None, config=None):
    """chatctl ARGS, which must fail (exit 1): its stderr and stdout."""
    r = chatctl(*args, stdin=stdin, config=config)
    assert r.returncode == 1, (args, r.returncode, r.stdout, r.stderr)
    return r.stderr + r.stdout


def new_password():
    return "pw " + secrets.token_hex(8)


class Listener:
    """A database connection of the test's own, listening on channel."""

    def __init__(self, channel):
        self.conn = connect_db()
        with self.conn.cursor() as cur:
            cur.execute(f"LISTEN {channel}")

    def heard(self, seconds=WAIT):
        """The payloads heard so far, waiting up to seconds for one."""
        if not self.conn.notifies:
            select.select([self.conn], [], [], seconds)
        self.conn.poll()
        payloads = [n.payload for n in self.conn.notifies]
        self.conn.notifies.clear()
        return payloads

    def close(self):
        self.conn.close()


# ------------------------------------------------------------- the command

def test_help_and_version():
    r = subprocess.run([chatctl_path(), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("usage: chatctl [-c config]")
    for command in ("user add", "user show", "user deactivate",
                    "user activate", "user delete", "user password",
                    "online", "kick", "stats", "migrate", "check",
                    "secret rotate"):
        assert f"  {command}" in r.stdout, command
    r = subprocess.run([chatctl_path(), "--version"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0
    assert re.fullmatch(r"chatctl \d+\.\d+\.\d+\n", r.stdout), r.stdout


@pytest.mark.parametrize("args", [(), ("nonsense",), ("user",),
                                  ("user", "show"), ("kick",),
                                  ("online", "extra"), ("secret",),
                                  ("secret", "rotate", "now")])
def test_usage_mistakes_exit_2(args):
    r = chatctl(*args)
    assert r.returncode == 2, r
    assert "usage: chatctl" in r.stderr


def test_unknown_user_fails():
    assert "no account nobody" in fails("user", "show",
                                        "nobody" + secrets.token_hex(4))


# ------------------------------------------------------------------ users

def test_user_add_then_login():
    """The password comes from stdin; the account logs in with it."""
    name, email, password = unique_username(), unique_email(), new_password()
    out = ok("user", "add", name, email, "--full-name", "Ada L.",
             stdin=password + "\n")
    m = re.fullmatch(rf"added {name} \(([0-9a-f-]{{36}})\)\n", out)
    assert m, out
    tokens = body(login_form(name, password), 200)
    assert tokens["access_token"]
    shown = ok("user", "show", email.upper())
    assert f"account_id:   {m.group(1)}\n" in shown
    assert f"username:     {name}\n" in shown
    assert "full_name:    Ada L.\n" in shown
    assert "active:       yes\n" in shown
    assert "connections:  0\n" in shown


def test_user_add_refusals():
    taken = new_user()
    password = new_password() + "\n"
    assert "is taken" in fails("user", "add", taken.username.upper(),
                               unique_email(), stdin=password)
    assert "is taken" in fails("user", "add", unique_username(),
                               taken.email, stdin=password)
    assert "username:" in fails("user", "add", "no spaces", unique_email(),
                                stdin=password)
    assert "email:" in fails("user", "add", unique_username(), "not-email",
                             stdin=password)
    assert "password:" in fails("user", "add", unique_username(),
                                unique_email(), stdin="short\n")
    assert "password:" in fails("user", "add", unique_username(),
                                unique_email(), stdin="")


def test_user_password():
    user = new_user()
    password = new_password()
    out = ok("user", "password", user.account_id, stdin=password + "\n")
    assert out.startswith(f"password of {user.username} ")
    assert login_form(user.username, user.password).status_code == 401
    body(login_form(user.username, password), 200)


@ws_test
async def test_deactivate_closes_connections_and_refuses(db):
    """deactivate: every daemon is woken at once (a NOTIFY with no
    account: every daemon reads the event table), each open connection is
    closed with 1008, handshakes get 403 and logins 403; activate lets the
    account in again."""
    user = new_user()
    one = await session(user, daemon=1)
    two = await session(user, daemon=2)
    listener = Listener("chat_events")
    try:
        out = await blocking(ok, "user", "deactivate", user.username)
        assert out == f"deactivated {user.username} ({user.account_id})\n"
        assert "" in await blocking(listener.heard)
    finally:
        listener.close()
    assert (await one.wait_closed())[0] == 1008
    assert (await two.wait_closed())[0] == 1008
    assert await handshake_status(user.access) == 403
    assert login_form(user.username, user.password).status_code == 403
    out = await blocking(ok, "user", "deactivate", user.email)
    assert out == (f"{user.username} ({user.account_id}) was inactive "
                   "already\n")

    out = await blocking(ok, "user", "activate", user.account_id)
    assert out == f"activated {user.username} ({user.account_id})\n"
    assert await wait_status(user.access, 101) == 101
    body(login_form(user.username, user.password), 200)
    again = await session(user, daemon=2)
    await again.close()


@ws_test
async def test_delete_needs_yes():
    user = new_user()
    conn = await session(user, daemon=1)
    out = await blocking(fails, "user", "delete", user.username)
    assert "--yes" in out
    await conn.quiet(0.3)
    assert conn.is_open
    out = await blocking(ok, "user", "delete", "--yes", user.username)
    assert out == f"deleted {user.username} ({user.account_id})\n"
    assert (await conn.wait_closed())[0] == 1008
    assert login_form(user.username, user.password).status_code == 401
    assert await wait_status(user.access, 403) == 403


def test_delete_leaves_the_accounts_groups():
    """The account deleted leaves its groups as POST /leave does: another
    member leads, the members are counted without it, a group it was left
    alone in is deleted. Its messages leave the group's history and every
    unread count, in the groups it had left too: the counts subtract the
    deleted messages after each read mark, so those rows stay, deleted,
    without text or sender."""
    leader, first, second = new_user(), new_user(), new_user()
    group = new_group(leader, first, second)
    gid = group["group_id"]
    for text in ("gone with my account", "gone too"):
        gsend(leader, group, text)
    kept = gsend(second, group, "kept")
    seen = body(group_get(first.access, gid), 200)
    assert (seen["member_count"], seen["unread_count"]) == (3, 3), seen
    left = new_group(first, leader, befriend=False)
    gsend(leader, left, "said before leaving")
    body(group_leave(leader.access, left["group_id"]), 200)
    alone = new_group(leader, second, befriend=False)
    body(group_leave(second.access, alone["group_id"]), 200)

    ok("user", "delete", "--yes", leader.username)
    seen = body(group_get(first.access, gid), 200)
    assert (seen["member_count"], seen["unread_count"]) == (2, 1), seen
    assert seen["group_leader"] in (first.account_id, second.account_id)
    assert group_unread(first.access)["groups"][gid] == 1
    members = body(group_members(first.access, gid), 200)
    assert sorted(m["account_id"] for m in members) == \
        sorted((first.account_id, second.account_id))
    history = body(group_history(first.access, gid), 200)
    assert [m["message_id"] for m in history["messages"]] == \
        [kept["message_id"]]
    assert history["total"] == 1
    seen = body(group_get(first.access, left["group_id"]), 200)
    assert (seen["member_count"], seen["unread_count"]) == (1, 0), seen
    assert body(group_history(first.access, left["group_id"]),
                200)["total"] == 0
    db = connect_db()
    try:
        with db.cursor() as cur:
            cur.execute("SELECT is_active, member_count FROM chat_group"
                        " WHERE group_id = %s", (alone["group_id"],))
            assert cur.fetchone() == (False, 0)
    finally:
        db.close()


@pytest.mark.stack_cluster
def test_delete_outlasts_a_deadlock_with_the_accounts_send():
    """A send of the account being deleted holds its friendship (FOR
    SHARE), then wants the account's row (the message's foreign key: FOR
    KEY SHARE); the deletion holds that row and wants the friendship. The
    transaction here takes those locks in the send's order, as a superuser
    whose deadlock_timeout outlasts the deletion's: PostgreSQL aborts the
    deletion, and chatctl deletes again once the send has ended."""
    a, b = new_friends()
    owner = re.sub(r"user=\S+", "user=" + env("CHAT_RUN_AS"), env("CHAT_DB"))
    send = psycopg2.connect(owner)
    watch = connect_db()
    deleting = None
    try:
        with send.cursor() as cur:
            cur.execute("SET deadlock_timeout = '60s'")
            cur.execute("SELECT 1 FROM friendship"
                        " WHERE %s IN (sender_id, receiver_id) FOR SHARE",
                        (a.account_id,))
        deleting = subprocess.Popen(
            [chatctl_path(), "-c", env("CHAT_CONFIG"),
             "-s", os.path.join(ROOT, "sql"), "user", "delete", "--yes",
             a.username],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        with watch.cursor() as cur:
            while True:    # the deletion waits for the friendship
                cur.execute("SELECT count(*) FROM pg_stat_activity"
                            " WHERE query LIKE 'DELETE FROM account%%'"
                            "   AND wait_event_type = 'Lock'")
                if cur.fetchone()[0] == 1:
                    break
                assert time.monotonic() < deadline, "the deletion never waited"
                time.sleep(0.02)
        with send.cursor() as cur:
            cur.execute("SELECT 1 FROM account WHERE account_id = %s"
                        " FOR KEY SHARE", (a.account_id,))
        send.rollback()
        out, err = deleting.communicate(timeout=60)
        assert deleting.returncode == 0, (out, err)
        assert "deadlock" in err, err
        with watch.cursor() as cur:
            cur.execute("SELECT count(*) FROM account WHERE account_id = %s",
                        (a.account_id,))
            assert cur.fetchone()[0] == 0
        assert body(get_me(b.access), 200)["account_id"] == b.account_id
    finally:
        if deleting is not None and deleting.poll() is None:
            deleting.kill()
            deleting.wait()
        send.close()
        watch.close()


# ------------------------------------------------------------ connections

@ws_test
async def test_online_lists_connections():
    node1, node2 = push_nodes()[:2]
    user = new_user()
    conn = await session(user, daemon=1)
    try:
        out = await blocking(ok, "online")
        lines = [l for l in out.splitlines() if user.account_id in l]
        assert len(lines) == 1, out
        assert re.match(rf"{node1} +\d+  {user.account_id}  "
                        rf"{re.escape(user.username)} +\d{{4}}-", lines[0])
        assert re.search(r"^\d+ connections on \d+ daemons$", out, re.M)
        out = await blocking(ok, "online", "--node", node2)
        assert user.account_id not in out
        out = await blocking(ok, "online", "-n", node1)
        assert user.account_id in out
        shown = await blocking(ok, "user", "show", user.username)
        assert "connections:  1\n" in shown
        assert re.search(rf"^  {node1} connection \d+ since ", shown, re.M)
    finally:
        await conn.close()


@ws_test
async def test_kick_closes_every_connection_with_1008():
    """kick: each daemon closes the account's connections with 1008 and
    logs it; the account may connect again (a kick is no ban)."""
    user, other = new_user(), new_user()
    one = await session(user, daemon=1)
    two = await session(user, daemon=2)
    bystander = await session(other, daemon=1)
    out = await blocking(ok, "kick", user.username)
    assert out == (f"kicked {user.username} ({user.account_id}): 2 of 2 "
                   "connections closed\n")
    assert (await one.wait_closed())[0] == 1008
    assert (await two.wait_closed())[0] == 1008
    kicked = re.compile(rf"^<6>chat-push\[\d+\]: info: kick: account "
                        rf"{user.account_id}, 1 connections closed$")
    for _ in range(int(WAIT / 0.1)):        # a line from each daemon
        if sum(1 for l in service_log_lines() if kicked.search(l)) == 2:
            break
        await asyncio.sleep(0.1)
    assert sum(1 for l in service_log_lines() if kicked.search(l)) == 2
    for node in push_nodes()[:2]:
        await blocking(wait_for_log, rf"connection closed: account "
                       rf"{user.account_id}, node {node}, .*code 1008 "
                       r"\(by server\)$")
    assert bystander.is_open
    again = await session(user, daemon=1)
    await again.close()
    await bystander.close()


def test_kick_without_connections():
    user = new_user()
    out = ok("kick", user.email)
    assert out == (f"kicked {user.username} ({user.account_id}): 0 of 0 "
                   "connections closed\n")


# ------------------------------------------------------------------ stats

@ws_test
async def test_stats():
    user = new_user()
    conn = await session(user, daemon=2)
    try:
        out = await blocking(ok, "stats")
    finally:
        await conn.close()
    assert re.search(r"^accounts: +\d+ \(\d+ active\)$", out, re.M), out
    assert re.search(r"^groups: +\d+ \(\d+ active\)$", out, re.M), out
    assert re.search(r"^messages today: +\d+ direct, \d+ in groups "
                     r"\(since 00:00 UTC\)$", out, re.M), out
    assert re.search(r"^connections: +[1-9]\d* on \d+ daemons$", out,
                     re.M), out
    assert re.search(rf"^  {push_nodes()[1]} +[1-9]\d* \(heartbeat \d+ s "
                     r"ago\)$", out, re.M), out
    assert re.search(r"^event lag: +(none|\d+) undelivered to connected "
                     r"accounts", out, re.M), out
    assert re.search(r"^notify queue: +\d+\.\d% used$", out, re.M), out


# ---------------------------------------------------- schema and install

def test_check_passes():
    out = ok("check")
    for what in ("configuration", "config file", "secret file", "database",
                 "migrations", "functions"):
        assert re.search(rf"^{what} +ok ", out, re.M), (what, out)
    assert re.search(rf"^push daemons +2 alive: "
                     rf"{', '.join(sorted(push_nodes()[:2]))}$", out, re.M), out


def test_check_finds_faults(tmp_path):
    """A secret others may read, a database that does not answer."""
    with open(env("CHAT_CONFIG")) as f:
        text = f.read()
    secret = tmp_path / "secret"
    secret.write_bytes(b"x" * 40)
    os.chmod(secret, 0o644)
    loose = tmp_path / "loose.conf"
    loose.write_text(re.sub(r"(?m)^jwt_secret_file = .*$",
                            f"jwt_secret_file = {secret}", text))
    out = fails("check", config=str(loose))
    assert re.search(r"^configuration +FAIL auth\.jwt_secret_file: "
                     r"readable by group or others", out, re.M), out

    os.chmod(secret, 0o600)
    nowhere = tmp_path / "nowhere.conf"
    nowhere.write_text(re.sub(r"(?m)^jwt_secret_file = .*$",
                              f"jwt_secret_file = {secret}",
                              re.sub(r"(?m)^conninfo = .*$",
                                     f"conninfo = host={tmp_path} "
                                     "dbname=none connect_timeout=2",
                                     text)))
    out = fails("check", config=str(nowhere))
    assert re.search(r"^configuration +ok ", out, re.M), out
    assert re.search(r"^database +FAIL ", out, re.M), out

    writable = tmp_path / "writable.conf"
    writable.write_text(text)
    os.chmod(writable, 0o666)
    out = fails("check", config=str(writable))
    assert re.search(r"^config file +FAIL .*mode 0666.*others may change",
                     out, re.M), out


@pytest.mark.disruptive
def test_migrate_is_current():
    """The test stack's database is at the tree's schema: migrate applies
    no migration, and defines every function again."""
    out = ok("migrate")
    assert "schema up to date" in out, out
    assert "definitions applied" in out, out
    ok("check")


# ------------------------------------------------------------------ secret

def signed_with(token, key):
    """Whether token's HS256 signature is that of key."""
    head, payload, signature = token.split(".")
    mac = hmac.new(key, f"{head}.{payload}".encode(), hashlib.sha256)
    return hmac.compare_digest(b64url(mac.digest()), signature)


@pytest.mark.disruptive
@ws_test
async def test_secret_rotate_logs_nobody_out():
    """secret rotate: a new secret signs from then on (each program takes
    it within a second, without a restart), and every token signed with
    the one before stays good until it expires: REST, refresh and the
    WebSocket handshake on each daemon. Open connections stay open. A
    second rotation, which would drop that secret while its tokens live,
    needs --force."""
    user = new_user()
    conn = await session(user, daemon=1)
    path = env("CHAT_JWT_SECRET_FILE")
    previous = path + ".previous"
    if os.path.exists(previous):
        os.unlink(previous)
    with open(path, "rb") as f:
        old_bytes = f.read()
    old = jwt_secret()
    before = os.stat(path)

    out = await blocking(ok, "secret", "rotate")
    assert out.startswith(f"new secret in {path}; the one before in "
                          f"{previous}, "), out
    new = jwt_secret()
    assert new != old and re.fullmatch(rb"[0-9a-f]{64}", new)
    assert new.decode() not in out and old.decode() not in out
    with open(previous, "rb") as f:
        assert f.read() == old_bytes
    for name in (path, previous):
        st = os.stat(name)
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == \
            (0o600, before.st_uid, before.st_gid), name

    # Every program signs and verifies with the new secret, soon.
    for _ in range(int(WAIT / 0.2)):
        tokens = body(login_form(user.username, user.password), 200)
        if signed_with(tokens["access_token"], new):
            break
        await asyncio.sleep(0.2)
    assert signed_with(tokens["access_token"], new)
    for daemon in (1, 2):
        assert await wait_status(forge(user.account_id, key=new), 101,
                                 daemon=daemon) == 101
    await blocking(wait_for_log, r"^<6>chat-fcgi\[\d+\]: info: secret "
                   r"files changed: the new secrets are in use \(and the "
                   r"previous one\)$")
    await blocking(wait_for_log, r"^<6>chat-push\[\d+\]: info: secret "
                   r"files changed")

    # The tokens of the secret before: still good everywhere.
    body(get_me(user.access), 200)
    body(refresh(user.refresh), 200)
    for daemon in (None, 1, 2):
        assert await handshake_status(user.access, daemon=daemon) == 101
    assert await handshake_status(forge(user.account_id, key=old)) == 101
    # Not a token of any other key.
    other = forge(user.account_id, key=b"neither this secret nor the last")
    assert await handshake_status(other) == 401
    assert get_me(other).status_code == 401
    assert conn.is_open
    await conn.close()

    assert "--force" in await blocking(fails, "secret", "rotate")
    out = await blocking(ok, "check")
    assert re.search(r"^previous one +ok .*\.previous \(mode 0600", out,
                     re.M), out


# ------------------------------------------------------ after a restore

async def connection_cursor(user, since=None):
    """The first frames of a connection of user (with since, if given)
    after online_friends: connection_established's cursor, and the next
    frame if since was given (resync_required or an event), else None."""
    url = url_for(user.access)
    if since is not None:
        url += "&since=" + urllib.parse.quote(since, safe="")
    ws = await websockets.connect(url, open_timeout=WAIT, close_timeout=2,
                                  ping_interval=None)
    conn = Conn(ws, user.username)
    established = await conn.expect("connection_established")
    await conn.expect("online_friends")
    after = await conn.next() if since is not None else None
    await conn.close()
    return established["cursor"], after


def sync_status(user, since):
    return api("GET", "/sync", token=user.access,
               params={"since": since}).status_code


@pytest.mark.disruptive
@ws_test
async def test_stream_reset_refuses_every_cursor_made_before():
    """chatctl stream reset, after restoring a backup (docs/DEPLOY.md):
    the event stream starts again, and a cursor made before is refused
    (/sync 410, resync_required on the handshake) while one made after is
    good. Without --yes it refuses. It disturbs every client's cursor."""
    user = new_user()
    before, _ = await connection_cursor(user)
    assert await blocking(sync_status, user, before) == 200
    assert "--yes" in await blocking(fails, "stream", "reset")
    out = await blocking(ok, "stream", "reset", "--yes")
    assert re.fullmatch(r"event stream reset: \d+ events removed; cursors "
                        r"made before are refused\n", out), out
    assert await blocking(sync_status, user, before) == 410
    # The daemons take the new stream at their next read (at most
    # push.poll_seconds); their cursors are good from then on.
    deadline = asyncio.get_running_loop().time() + 3 * WAIT
    while True:
        after, _ = await connection_cursor(user)
        if await blocking(sync_status, user, after) == 200:
            break
        assert asyncio.get_running_loop().time() < deadline, after
        await asyncio.sleep(0.2)
    _, frame = await connection_cursor(user, since=before)
    assert frame["type"] == "resync_required", frame
    assert await blocking(sync_status, user, frame["cursor"]) == 200
