"""Helpers shared by the end-to-end tests: HTTP calls, users, tokens, checks.

The suite runs against a real stack started by `./stack test`, which sets
CHAT_URL, CHAT_DB and CHAT_JWT_SECRET_FILE (see conftest.py).  Everything
asserted here comes from shared/CONTRACT.md and docs/API.md.
"""

import base64
import contextlib
import contextvars
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import re
import secrets
import shlex
import string
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

import psycopg2
import requests

import openapi_check

API = "/api/v1"
TIMEOUT = 15

ACCESS_SECONDS = 30 * 60
REFRESH_SECONDS = 7 * 24 * 3600

ACCOUNT_KEYS = {"account_id", "username", "email", "full_name", "avatar",
                "is_active", "created_at", "role"}
PUBLIC_KEYS = {"account_id", "username", "full_name", "avatar"}
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in"}

UUID_LOWER = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339_UTC_MICRO = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")

ALNUM = string.ascii_letters + string.digits
# CONTRACT §12: sends are limited to 20 a second per account (bursts of
# 60); a test streaming many messages from one account stays under it.
SENDS_PER_SECOND = 18
PASSWORD = "correct horse 9"


# ---------------------------------------------------------------- environment

def env(name):
    """The value of a variable that `./stack test` must set."""
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run the suite with ./stack test")
    return value


# The web server of via() around a call, if any (tests/multihost: each
# user is served by the host of theirs).
_VIA = contextvars.ContextVar("chat_api_via", default=None)


def base_url():
    return (_VIA.get() or env("CHAT_URL")).rstrip("/")


@contextlib.contextmanager
def via(url):
    """Requests within go to the web server at url instead of CHAT_URL
    (in this thread or task, and in threads it starts with to_thread)."""
    token = _VIA.set(url)
    try:
        yield
    finally:
        _VIA.reset(token)


def web_server():
    """The web server in front (CHAT_SERVER: lighttpd, nginx or apache;
    lighttpd, the default of ./stack, when unset)."""
    return os.environ.get("CHAT_SERVER") or "lighttpd"


# ----------------------------------------------------------------------- HTTP

def http(method, path, token=None, headers=None, **kwargs):
    """One request to CHAT_URL + path, never following redirects. The
    answer must be one that docs/openapi.yaml gives (openapi_check)."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    r = requests.request(method, base_url() + path, headers=all_headers,
                         allow_redirects=False, timeout=TIMEOUT, **kwargs)
    openapi_check.check(r)
    return r


def api(method, path, **kwargs):
    """One request to a path under /api/v1."""
    return http(method, API + path, **kwargs)


def json_bytes(obj, ascii_only=True):
    return json.dumps(obj, ensure_ascii=ascii_only).encode("utf-8")


def post_json(path, obj, token=None, ascii_only=True):
    return api("POST", path, token=token, data=json_bytes(obj, ascii_only),
               headers={"Content-Type": "application/json"})


def post_raw(path, body, content_type="application/json", token=None):
    """POST raw bytes; content_type None sends no Content-Type header."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    return api("POST", path, token=token, data=body, headers=headers)


def describe(r):
    """Text for assertion messages: the request and the whole answer."""
    return (f"{r.request.method} {r.request.url} -> {r.status_code} "
            f"{dict(r.headers)} {r.text[:1000]!r}")


# --------------------------------------------------------------------- checks

def assert_status(r, status):
    assert r.status_code == status, describe(r)


def assert_json(r):
    content_type = r.headers.get("Content-Type", "")
    media = content_type.split(";")[0].strip().lower()
    assert media == "application/json", describe(r)


def body(r, status):
    """Assert the status and a JSON answer; return the decoded body."""
    assert_status(r, status)
    assert_json(r)
    return r.json()


def assert_error(r, status, detail):
    assert body(r, status) == {"detail": detail}, describe(r)


def assert_unauthorized(r, detail):
    assert_error(r, 401, detail)
    assert r.headers.get("WWW-Authenticate") == "Bearer", describe(r)


def assert_not_authenticated(r):
    assert_unauthorized(r, "Not authenticated")


def assert_bad_credentials(r):
    assert_unauthorized(r, "Could not validate credentials")


def assert_422(r, *entries):
    assert body(r, 422) == {"detail": list(entries)}, describe(r)


def error(loc, msg, type_):
    """One entry of a 422 answer."""
    return {"loc": list(loc), "msg": msg, "type": type_}


def field_required(*loc):
    return error(loc, "field required", "value_error.missing")


def str_expected(*loc):
    return error(loc, "str type expected", "type_error.str")


def too_short(loc, n):
    return error(loc, f"ensure this value has at least {n} characters",
                 "value_error.any_str.min_length")


def too_long(loc, n):
    return error(loc, f"ensure this value has at most {n} characters",
                 "value_error.any_str.max_length")


def has_nul(*loc):
    return error(loc, "string must not contain U+0000", "value_error.str.nul")


def has_control(*loc):
    """A control character other than NUL in a path or query."""
    return error(loc, "string must not contain control characters",
                 "value_error.str.control")


def bad_username_chars():
    return error(("body", "username"),
                 'string does not match regex "^[A-Za-z0-9_.-]+$"',
                 "value_error.str.regex")


def bad_email():
    return error(("body", "email"), "value is not a valid email address",
                 "value_error.email")


def bad_url_scheme():
    return error(("body", "avatar"), "invalid or missing URL scheme",
                 "value_error.url.scheme")


def bad_uuid(*loc):
    return error(loc, "value is not a valid uuid", "type_error.uuid")


def not_integer(name):
    return error(("query", name), "value is not a valid integer",
                 "type_error.integer")


def below_minimum(name, n):
    return error(("query", name),
                 f"ensure this value is greater than or equal to {n}",
                 "value_error.number.not_ge")


def above_maximum(name, n):
    return error(("query", name),
                 f"ensure this value is less than or equal to {n}",
                 "value_error.number.not_le")


def invalid_json():
    return error(("body",), "Invalid JSON body", "value_error.jsondecode")


def invalid_utf8():
    return error(("body",), "Invalid UTF-8 in body", "value_error.unicode")


def not_a_dict():
    return error(("body",), "value is not a valid dict", "type_error.dict")


def unsupported_content_type():
    return error(("body",), "Unsupported content type",
                 "type_error.content_type")


def assert_account(account, username, email, full_name=None, avatar=None):
    """An Account (§2) with exactly its fields and the given values."""
    assert set(account) == ACCOUNT_KEYS, account
    assert UUID_LOWER.match(account["account_id"]), account
    assert account["username"] == username
    assert account["email"] == email
    assert account["full_name"] == full_name
    assert account["avatar"] == avatar
    assert account["is_active"] is True
    assert RFC3339_UTC_MICRO.match(account["created_at"]), account
    assert account["role"] == {"role_name": "user"}


def public_view(account):
    """The PublicAccount expected for an Account."""
    return {key: account[key] for key in PUBLIC_KEYS}


def parse_time(text):
    """An RFC 3339 UTC time with microseconds, as the service writes it."""
    naive = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return naive.replace(tzinfo=datetime.timezone.utc)


def cors_headers(r):
    return {k: v for k, v in r.headers.items()
            if k.lower().startswith("access-control-")}


def header_set(r, name):
    """A comma-separated header as a set of lowercase items."""
    value = r.headers.get(name, "")
    return {item.strip().lower() for item in value.split(",") if item.strip()}


# ---------------------------------------------------------------------- users

def random_text(length, alphabet=ALNUM):
    return "".join(secrets.choice(alphabet) for _ in range(length))


def unique_username(length=16, prefix=""):
    """A fresh alphanumeric username of exactly `length` characters."""
    return prefix + random_text(length - len(prefix))


def unique_email():
    return f"e{secrets.token_hex(8)}@example.com"


def long_email(length):
    """A fresh email of exactly `length` characters, every label short."""
    local = "e" + unique_username(9).lower()
    labels = []
    room = length - len(local) - len("@") - len(".com")
    while room > 0:
        size = min(59, room)
        if room - size == 1:          # no room would be left after a dot
            size -= 1
        labels.append(unique_username(size).lower())
        room -= size
        if room > 0:
            room -= 1                 # the dot before the next label
    return f"{local}@{'.'.join(labels)}.com"


def token_word():
    """A lowercase word no other account shares, for search tests."""
    return "q" + secrets.token_hex(5)


def registration(**fields):
    """A valid registration body with fresh names; `fields` add or override
    (None included, to send a JSON null)."""
    data = {"username": unique_username(), "email": unique_email(),
            "password": PASSWORD}
    data.update(fields)
    return data


def register(data, path="/accounts/"):
    return post_json(path, data, ascii_only=False)


def login_form(username, password, path="/auth/access-token", **extra):
    fields = {"username": username, "password": password}
    fields.update(extra)
    return api("POST", path, data=fields)


def login_json(username, password, path="/auth/access-token"):
    return post_json(path, {"username": username, "password": password},
                     ascii_only=False)


def refresh(refresh_token, path="/auth/refresh-token"):
    return post_json(path, {"refresh_token": refresh_token})


def get_me(token):
    return api("GET", "/accounts/me", token=token)


@dataclass
class User:
    username: str
    email: str
    password: str
    account: dict
    access: str
    refresh: str

    @property
    def account_id(self):
        return self.account["account_id"]


def create_account(**fields):
    """Register an account (fresh names unless given); return the Account."""
    data = registration(**fields)
    return body(register(data), 201)


def new_user(**fields):
    """Register a fresh account and log it in."""
    data = registration(**fields)
    account = body(register(data), 201)
    tokens = body(login_form(data["username"], data["password"]), 200)
    return User(data["username"], data["email"], data["password"], account,
                tokens["access_token"], tokens["refresh_token"])


# --------------------------------------------------------------------- tokens

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(token):
    """Header and claims of a JWT, without checking its signature."""
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def jwt_secret():
    """The signing key: the secret file, less one trailing newline."""
    with open(env("CHAT_JWT_SECRET_FILE"), "rb") as f:
        data = f.read()
    return data[:-1] if data.endswith(b"\n") else data


_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384,
            "HS512": hashlib.sha512}


def sign_jwt(header, claims, key=None):
    """Encode a JWT; alg none gets an empty signature."""
    signing_input = (b64url(json.dumps(header).encode()) + "."
                     + b64url(json.dumps(claims).encode()))
    alg = header.get("alg")
    if alg == "none":
        return signing_input + "."
    key = jwt_secret() if key is None else key
    mac = hmac.new(key, signing_input.encode("ascii"), _DIGESTS[alg])
    return signing_input + "." + b64url(mac.digest())


def claims(sub, type_="access", lifetime=ACCESS_SECONDS, issued=None):
    issued = int(time.time()) if issued is None else issued
    return {"sub": sub, "user_id": sub, "type": type_,
            "iat": issued, "exp": issued + lifetime}


def forge(subject, type_="access", alg="HS256", key=None, lifetime=None,
          issued=None, **changes):
    """A token for `subject` as the service would sign it, changed as asked.

    `changes` replaces claims (sub included); None removes the claim."""
    if lifetime is None:
        lifetime = ACCESS_SECONDS if type_ == "access" else REFRESH_SECONDS
    body_claims = claims(subject, type_, lifetime, issued)
    for name, value in changes.items():
        if value is None:
            body_claims.pop(name, None)
        else:
            body_claims[name] = value
    return sign_jwt({"alg": alg, "typ": "JWT"}, body_claims, key)


def expired(sub, type_="access"):
    now = int(time.time())
    return forge(sub, type_, issued=now - 7200, lifetime=3600)


# ------------------------------------------------------------------- database

def connect_db(autocommit=True):
    conn = psycopg2.connect(env("CHAT_DB"))
    conn.autocommit = autocommit
    return conn


@contextlib.contextmanager
def horizon_held():
    """A transaction with an id, open for the block: the event readers'
    horizon stops below it, so events committed meanwhile wait unread
    until the block ends (docs/events.md)."""
    older = connect_db(autocommit=False)
    try:
        with older.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()")
        yield
    finally:
        older.commit()
        older.close()


def wait_for_earlier_transactions(conn, timeout=10.0):
    """Waits until every transaction that began before this call has
    ended: the xmin of a fresh snapshot has passed the id of a transaction
    that starts and ends now. Until then the event readers' horizon may
    stop below events already committed (docs/events.md): /sync answers
    them a moment later. conn: an autocommit connection. A transaction
    that holds the horizon for longer than timeout is named in the
    failure."""
    def value(sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])
    fence = value("SELECT pg_current_xact_id()::text")
    deadline = time.monotonic() + timeout
    while value("SELECT pg_snapshot_xmin(pg_current_snapshot())::text") \
            <= fence:
        if time.monotonic() > deadline:
            with conn.cursor() as cur:
                cur.execute("SELECT pid, backend_xid, application_name,"
                            " state, xact_start, left(query, 200)"
                            " FROM pg_stat_activity"
                            " WHERE backend_xid IS NOT NULL")
                raise AssertionError(f"transactions older than {fence} "
                                     f"still run: {cur.fetchall()}")
        time.sleep(0.02)


def set_active(db, account_id, active):
    with db.cursor() as cur:
        cur.execute("UPDATE account SET is_active = %s WHERE account_id = %s",
                    (active, account_id))
        assert cur.rowcount == 1, account_id


def account_row(db, account_id):
    """The stored account as a dict, or None."""
    with db.cursor() as cur:
        cur.execute("SELECT account_id::text, username, email, password_hash,"
                    " full_name, avatar, is_active, created_at"
                    " FROM account WHERE account_id = %s", (account_id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = [column.name for column in cur.description]
        return dict(zip(names, row))


def presence_rows(db, account_id):
    """How many rows of presence_connection the account has."""
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM presence_connection"
                    " WHERE account_id = %s", (account_id,))
        return cur.fetchone()[0]


def count_accounts(db, where, params):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM account WHERE " + where, params)
        return cur.fetchone()[0]


def random_uuid():
    return str(uuid.uuid4())


# ------------------------------------------------ the stack's PostgreSQL

def pg_ctl(*args):
    """pg_ctl on the stack's cluster, as its owner: (exit code, output)."""
    command = [env("CHAT_PGCTL"), "-D", env("CHAT_PGDATA"), *args]
    run_as = os.environ.get("CHAT_RUN_AS")
    if os.geteuid() == 0 and run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    with tempfile.TemporaryFile() as output:
        done = subprocess.run(command, stdin=subprocess.DEVNULL,
                              stdout=output, stderr=subprocess.STDOUT,
                              timeout=90)
        output.seek(0)
        return done.returncode, output.read().decode(errors="replace")


def pg_server_options():
    """The options the server was started with, less -D: `pg_ctl start`
    alone would not repeat those given on the original command line."""
    with open(os.path.join(env("CHAT_PGDATA"), "postmaster.opts")) as f:
        words = shlex.split(f.read())[1:]
    options, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "-D":
            skip = True
        elif not word.startswith("-D"):
            options.append(word)
    return options


def pg_bin(name):
    """A program of the stack's PostgreSQL (psql, pg_dump, ...)."""
    return os.path.join(os.path.dirname(env("CHAT_PGCTL")), name)


def socket_dir():
    """The directory of the stack's PostgreSQL socket."""
    words = dict(w.split("=", 1) for w in env("CHAT_DB").split())
    return words["host"]


def as_owner(command, stdin=None):
    """command as the cluster's owner; its stdout, or the test fails."""
    run_as = os.environ.get("CHAT_RUN_AS")
    if os.geteuid() == 0 and run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    done = subprocess.run(command, input=stdin, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


ROOT = pathlib.Path(__file__).resolve().parents[2]      # the project's top
MIGRATE = ROOT / "sql" / "migrate"


def migrate(dbname, script=MIGRATE):
    """script (sql/migrate, or an earlier layout's) on database dbname of
    the stack's cluster, as the application's role: its output."""
    return as_owner(["env", "PSQL=" + pg_bin("psql"), str(script),
                     f"host={socket_dir()} dbname={dbname} user=chat_app"])


def jit_loaded(pid):
    """Whether backend pid (of the stack's machine) has loaded PostgreSQL's
    JIT compiler, which it does at its first compiled plan and keeps for
    its life; None once the backend is gone."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "llvmjit" in f.read()
    except FileNotFoundError:
        return None


def psql(dbname, sql, user=None):
    """sql (psql's standard input) on database dbname of the stack's
    cluster, as its owner (a superuser), or as user: its output."""
    args = [pg_bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", socket_dir(), "-d", dbname]
    if user:
        args += ["-U", user]
    return as_owner(args, stdin=sql)


class Database:
    """Stops and starts the stack's PostgreSQL (CHAT_PGDATA, CHAT_PGCTL,
    CHAT_RUN_AS, CHAT_PG_LOG). Made while the server runs: it reads the
    server's options then, for start()."""

    def __init__(self):
        self.options = pg_server_options()

    def running(self):
        return pg_ctl("status")[0] == 0

    def stop(self, mode="fast"):
        code, text = pg_ctl("stop", "-m", mode, "-w")
        assert code == 0, text

    def start(self):
        """Starts the server unless it runs."""
        if self.running():
            return
        log = os.environ.get("CHAT_PG_LOG") or os.path.join(
            env("CHAT_PGDATA"), "outage-test.log")
        args = ["start", "-w", "-t", "60", "-l", log]
        if self.options:
            args += ["-o", shlex.join(self.options)]
        code, text = pg_ctl(*args)
        assert code == 0, text


def wait_for_health(seconds=30):
    """Polls GET /health until it answers 200 or seconds pass; returns the
    last answer, None when the web server never answered."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            r = api("GET", "/health")
        except requests.RequestException:
            r = None
        if (r is not None and r.status_code == 200) or \
                time.monotonic() > deadline:
            return r
        time.sleep(0.2)


# ------------------------------------------------------- friends (CONTRACT §4)

FRIENDSHIP_KEYS = {"sender_id", "receiver_id", "status", "created_at",
                   "updated_at"}
PENDING_KEYS = FRIENDSHIP_KEYS | {"sender"}


def public_of(user):
    """The PublicAccount of a chat_api.User."""
    return public_view(user.account)


def friend_request(token, receiver_id, path="/friends/request"):
    return post_json(path, {"receiver_id": receiver_id}, token=token)


def friend_accept(token, sender_id, path="/friends/accept/"):
    return api("POST", f"{path}{sender_id}", token=token)


def friend_reject(token, sender_id, path="/friends/reject/"):
    return api("POST", f"{path}{sender_id}", token=token)


def friend_remove(token, friend_id):
    return api("DELETE", f"/friends/{friend_id}", token=token)


def friends_list(token, path="/friends/list"):
    return api("GET", path, token=token)


def friends_pending(token):
    return api("GET", "/friends/pending", token=token)


def friend_status(token, account_id):
    return api("GET", f"/friends/status/{account_id}", token=token)


def friend_status_word(user, other):
    """The status word of `other` (a User) as `user` sees it."""
    return body(friend_status(user.access, other.account_id), 200)["status"]


def assert_friendship(friendship, sender, receiver, status):
    """A Friendship (§2) with exactly its keys, between two Users."""
    assert set(friendship) == FRIENDSHIP_KEYS, friendship
    assert friendship["sender_id"] == sender.account_id, friendship
    assert friendship["receiver_id"] == receiver.account_id, friendship
    assert friendship["status"] == status, friendship
    assert RFC3339_UTC_MICRO.match(friendship["created_at"]), friendship
    assert RFC3339_UTC_MICRO.match(friendship["updated_at"]), friendship


def make_friends(a, b):
    """a asks b, b accepts; returns the accepted Friendship."""
    assert_friendship(body(friend_request(a.access, b.account_id), 201),
                      a, b, "pending")
    accepted = body(friend_accept(b.access, a.account_id), 200)
    assert_friendship(accepted, a, b, "accepted")
    return accepted


def new_friends(**fields):
    """Two fresh Users who are friends (the first asked)."""
    a, b = new_user(**fields), new_user(**fields)
    make_friends(a, b)
    return a, b


# ---------------------------------------------------------- chat (CONTRACT §5)

MESSAGE_KEYS = {"message_id", "sender_id", "receiver_id", "content", "status",
                "is_deleted", "created_at", "updated_at", "read_at",
                "sender", "receiver"}
PAGE_KEYS = {"messages", "total", "skip", "limit"}


def send_message(token, receiver_id, content, ascii_only=True):
    return post_json("/chat/messages/", {"receiver_id": receiver_id,
                                         "content": content},
                     token=token, ascii_only=ascii_only)


def send(sender, receiver, content="hello"):
    """sender (a User) sends content to receiver (a User): the 201 Message."""
    message = body(send_message(sender.access, receiver.account_id, content),
                   201)
    assert_message(message, sender, receiver, content)
    return message


def history(token, friend_id, **params):
    return api("GET", f"/chat/messages/history/{friend_id}", token=token,
               params=params)


def search_messages(token, friend_id, **params):
    return api("GET", f"/chat/messages/search/{friend_id}", token=token,
               params=params)


def mark_read(token, message_id):
    return api("PUT", f"/chat/messages/{message_id}/read", token=token)


def delete_message(token, message_id):
    return api("DELETE", f"/chat/messages/{message_id}", token=token)


def unread_count(token):
    """The caller's unread count, asserting the answer's shape."""
    answer = body(api("GET", "/chat/messages/unread-count", token=token), 200)
    assert set(answer) == {"unread_count"}, answer
    return answer["unread_count"]


def online_friends(token):
    return api("GET", "/chat/friends/online", token=token)


def assert_message(message, sender, receiver, content, status="sent",
                   read=False):
    """A Message (§2) with exactly the seed's keys, between two Users."""
    assert set(message) == MESSAGE_KEYS, message
    assert UUID_LOWER.match(message["message_id"]), message
    assert message["sender_id"] == sender.account_id, message
    assert message["receiver_id"] == receiver.account_id, message
    assert message["content"] == content, message
    assert message["status"] == status, message
    assert message["is_deleted"] is False, message
    assert RFC3339_UTC_MICRO.match(message["created_at"]), message
    assert RFC3339_UTC_MICRO.match(message["updated_at"]), message
    assert parse_time(message["updated_at"]) >= \
        parse_time(message["created_at"]), message
    if read:
        assert RFC3339_UTC_MICRO.match(message["read_at"]), message
    else:
        assert message["read_at"] is None, message
    assert message["sender"] == public_of(sender), message
    assert message["receiver"] == public_of(receiver), message


def page(r, total, skip=0, limit=50):
    """The messages of a history or search answer, checking the rest."""
    answer = body(r, 200)
    assert set(answer) == PAGE_KEYS, answer
    assert (answer["total"], answer["skip"], answer["limit"]) == \
        (total, skip, limit), {k: answer[k] for k in PAGE_KEYS - {"messages"}}
    return answer["messages"]


def ids(messages):
    return [m["message_id"] for m in messages]


def newest_first(messages):
    """Messages as history orders them: created_at, then id, descending."""
    return sorted(messages, key=lambda m: (m["created_at"], m["message_id"]),
                  reverse=True)


# ------------------------------------------------------------------ database

def db_now(db):
    with db.cursor() as cur:
        cur.execute("SELECT now()")
        return cur.fetchone()[0]


def message_row(db, message_id):
    """The stored message as a dict, or None."""
    with db.cursor() as cur:
        cur.execute("SELECT message_id::text, sender_id::text,"
                    " receiver_id::text, content, status::text, is_deleted,"
                    " created_at, updated_at, read_at"
                    " FROM message WHERE message_id = %s", (message_id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = [column.name for column in cur.description]
        return dict(zip(names, row))


def count_messages(db, a_id, b_id):
    """Stored messages between two accounts, deleted ones included."""
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM message"
                    " WHERE (sender_id, receiver_id) IN ((%s, %s), (%s, %s))",
                    (a_id, b_id, b_id, a_id))
        return cur.fetchone()[0]


def friendship_row(db, a_id, b_id):
    """The stored friendship of a pair, whoever asked, as a dict or None."""
    with db.cursor() as cur:
        cur.execute("SELECT sender_id::text, receiver_id::text,"
                    " status::text, created_at, updated_at FROM friendship"
                    " WHERE (sender_id, receiver_id) IN ((%s, %s), (%s, %s))",
                    (a_id, b_id, b_id, a_id))
        row = cur.fetchone()
        if row is None:
            return None
        names = [column.name for column in cur.description]
        return dict(zip(names, row))


def paced(n, per_second=SENDS_PER_SECOND):
    """range(n), handed out at most per_second a second (CONTRACT §12's
    send rate), for a test that streams messages from one account."""
    start = time.monotonic()
    for i in range(n):
        delay = start + i / per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


# -------------------------------------------------------- groups (CONTRACT §11)

GROUP_KEYS = {"group_id", "name", "description", "avatar", "created_by",
              "created_at", "updated_at", "member_count", "max_members",
              "is_active", "my_role", "my_status", "unread_count",
              "last_message", "group_name", "group_description", "joined_at",
              "topic_id", "topic_name", "leader_name", "group_leader",
              "is_chat_group"}
GROUP_MEMBER_KEYS = {"group_member_id", "group_id", "account_id", "role",
                     "status", "joined_at", "username", "full_name", "avatar"}
GROUP_MESSAGE_KEYS = {"message_id", "group_id", "sender_id", "content",
                      "status", "is_deleted", "created_at", "updated_at",
                      "sender", "read_by_count"}
# groups.max_members of the test stack (the default).
GROUP_MAX_MEMBERS = 256


def group_path(group_id, rest=""):
    return f"/group-chat/{group_id}{rest}"


def create_group(token, name="a group", member_ids=(), **fields):
    data = {"name": name, "member_ids": list(member_ids)}
    data.update(fields)
    return post_json("/group-chat/", data, token=token, ascii_only=False)


def new_group(leader, *members, name=None, befriend=True):
    """leader (a User) starts a group with members (Users), made its
    friends first unless befriend is false: the 201 Group."""
    if befriend:
        for m in members:
            make_friends(leader, m)
    group = body(create_group(leader.access, name or "g " + token_word(),
                              [m.account_id for m in members]), 201)
    assert set(group) == GROUP_KEYS, group
    return group


def group_get(token, group_id):
    return api("GET", group_path(group_id), token=token)


def group_members(token, group_id):
    return api("GET", group_path(group_id, "/members"), token=token)


def group_add(token, group_id, account_id, role=None):
    data = {"account_id": account_id}
    if role is not None:
        data["role"] = role
    return post_json(group_path(group_id, "/members"), data, token=token)


def group_remove(token, group_id, account_id):
    return api("DELETE", group_path(group_id, f"/members/{account_id}"),
               token=token)


def group_ban(token, group_id, account_id):
    return api("POST", group_path(group_id, f"/ban/{account_id}"),
               token=token)


def group_leave(token, group_id):
    return api("POST", group_path(group_id, "/leave"), token=token)


def group_send(token, group_id, content, headers=None):
    return api("POST", group_path(group_id, "/messages"), token=token,
               data=json_bytes({"content": content}, False),
               headers={"Content-Type": "application/json",
                        **(headers or {})})


def gsend(user, group, content="hello group"):
    """user sends content to group (a Group): the 201 GroupMessage."""
    message = body(group_send(user.access, group["group_id"], content), 201)
    assert set(message) == GROUP_MESSAGE_KEYS, message
    assert message["content"] == content
    return message


def group_history(token, group_id, **params):
    return api("GET", group_path(group_id, "/messages"), token=token,
               params=params)


def group_read(token, group_id, message_id):
    return api("PUT", group_path(group_id, "/read"), token=token,
               data=json_bytes({"message_id": message_id}),
               headers={"Content-Type": "application/json"})


def group_membership(token, group_id):
    return api("GET", group_path(group_id, "/membership"), token=token)


def group_unread(token):
    return body(api("GET", "/group-chat/unread-count", token=token), 200)


def bulk_friends(db, user, n):
    """n accounts made in the database, each an accepted friend of user
    (a User): their ids. They have no password to log in with; a group
    test that needs many members needs only their ids."""
    made = []
    with db.cursor() as cur:
        for _ in range(n):
            cur.execute("INSERT INTO account (username, email, password_hash)"
                        " VALUES (%s, %s, '*') RETURNING account_id::text",
                        (unique_username(), unique_email()))
            made.append(cur.fetchone()[0])
        cur.execute("INSERT INTO friendship (sender_id, receiver_id, status)"
                    " SELECT %s, unnest(%s::uuid[]), 'accepted'",
                    (user.account_id, made))
    return made
