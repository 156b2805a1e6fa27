"""Rate limits and fairness (CONTRACT §12): token buckets per account for
sends, typing and mark reads, failed logins per account and address and
per address, registrations per address; past a limit REST answers 429
with Retry-After and the WebSocket an error frame with code 429 and
retry_after, the connection kept. A connection has at most 32 requests
waiting for the database, and a flooding client slows down only itself.

The limits per account are the contract's defaults in the test stack. Its
limits per address are those of tests/e2e/address-limits, and loopback is a trusted proxy there: a test appears from an address of
its own with X-Forwarded-For.
"""

import asyncio
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chat_api import (PASSWORD, api, body, connect_db, count_messages,
                      mark_read, new_friends, new_user, random_uuid,
                      registration, send, send_message, unique_username)
from ws_client import WAIT, of_type, session, ws_test

SEND_BURST = 60
READ_BURST = 200
TYPING_BURST = 10
LOGIN_FAILURES_PER_ACCOUNT = 10
LOGIN_FAILURES_PER_ADDRESS = 100    # the test stack's (the default)
WAITING_MAX = 32
RATE_DETAIL = "Too many requests"
LOGIN_DETAIL = "Too many failed logins"
WAITING_DETAIL = "Too many requests waiting for an answer"


def fresh_address():
    """An address of this test alone (198.18.0.0/15, for benchmarks)."""
    return f"198.{18 + secrets.randbelow(2)}.{secrets.randbelow(256)}." \
           f"{1 + secrets.randbelow(254)}"


def from_address(address):
    return {"X-Forwarded-For": address}


def login_from(address, username, password):
    return api("POST", "/auth/access-token",
               data={"username": username, "password": password},
               headers=from_address(address))


def register_from(address, data):
    return api("POST", "/accounts/", json=data, headers=from_address(address))


def assert_429(r, detail=RATE_DETAIL):
    """A REST 429 of CONTRACT §12; returns its Retry-After (seconds)."""
    assert r.status_code == 429, (r.status_code, r.text)
    answer = r.json()
    assert answer["detail"] == detail, answer
    retry = r.headers.get("Retry-After")
    assert retry is not None and retry.isdigit() and int(retry) >= 1, \
        r.headers
    return int(retry)


def assert_429_frame(frame, request_type, temp_id=None, detail=RATE_DETAIL):
    """The WebSocket error frame of a 429; returns its retry_after."""
    assert frame["type"] == "error" and frame["code"] == 429, frame
    assert frame["detail"] == detail and frame["message"] == detail, frame
    assert frame["request_type"] == request_type, frame
    if temp_id is not None:
        assert frame["temp_id"] == temp_id, frame
    wait = frame["retry_after"]
    assert isinstance(wait, (int, float)) and 0 < wait <= 3600, frame
    return wait


def in_threads(calls, workers=8):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: call(), calls))


def until_429(call, limit, workers=8):
    """Runs call() in threads, up to limit times, until one answers 429;
    returns the answers in order."""
    answers = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while len(answers) < limit:
            batch = list(pool.map(lambda _: call(), range(workers * 4)))
            answers += batch
            if any(r.status_code == 429 for r in batch):
                break
    return answers


def statuses(answers):
    return [r.status_code for r in answers]


# ------------------------------------------------------------------ sends

def test_rest_sends_past_the_burst_get_429_with_retry_after(db):
    a, b = new_friends()
    answers = until_429(lambda: send_message(a.access, b.account_id, "x"),
                        limit=600)
    codes = statuses(answers)
    assert set(codes) <= {201, 429}, codes
    assert codes.count(201) >= SEND_BURST, codes
    refused = [r for r in answers if r.status_code == 429]
    assert refused, f"{len(codes)} sends in a row, none refused"
    wait = assert_429(refused[0])
    assert refused[0].json()["retry_after"] > 0
    # A refused send stores nothing.
    assert count_messages(db, a.account_id, b.account_id) == codes.count(201)
    time.sleep(wait)
    send(a, b, "after the wait")


async def ws_sends_until_429(conn, receiver, groups=10, per_group=20):
    """Sends per_group send_message frames at a time (within the requests
    a connection may have waiting), each group answered before the next,
    until one is refused; returns (acks, the first 429 frame)."""
    acks = 0
    for g in range(groups):
        for i in range(per_group):
            await conn.send({"type": "send_message",
                             "receiver_id": receiver.account_id,
                             "content": "flood", "temp_id": f"{g}.{i}"})
        answers = [await conn.take(lambda f: f["type"] in
                                   ("message_sent", "error"))
                   for _ in range(per_group)]
        acks += sum(1 for f in answers if f["type"] == "message_sent")
        errors = [f for f in answers if f["type"] == "error"]
        if errors:
            return acks, errors[0]
    raise AssertionError(f"{acks} sends answered, none refused")


@ws_test
async def test_ws_sends_past_the_burst_get_429_and_the_connection_stays():
    a, b = new_friends()
    conn = await session(a)
    acks, refused = await ws_sends_until_429(conn, b)
    assert acks >= SEND_BURST
    wait = assert_429_frame(refused, "send_message")
    assert "temp_id" in refused
    assert conn.is_open
    await asyncio.sleep(wait + 0.05)
    await conn.send({"type": "send_message", "receiver_id": b.account_id,
                     "content": "after the wait", "temp_id": "after"})
    await conn.expect("message_sent", temp_id="after")
    await conn.close()


@ws_test
async def test_rest_and_ws_sends_count_together():
    """The account's bucket is in the database: sends over REST leave none
    for the WebSocket (whose daemon has seen none of them)."""
    a, b = new_friends()
    conn = await session(a)
    answers = await asyncio.get_running_loop().run_in_executor(
        None, lambda: until_429(
            lambda: send_message(a.access, b.account_id, "rest"), 600))
    assert 429 in statuses(answers)
    # The bucket refills (20 a second): REST sends keep it empty while the
    # WebSocket ones are made, which then get the 429 too.
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            send_message(a.access, b.account_id, "rest")

    pool = ThreadPoolExecutor(max_workers=4)
    for _ in range(4):
        pool.submit(drain)
    try:
        for i in range(5):
            await conn.send({"type": "send_message",
                             "receiver_id": b.account_id,
                             "content": "ws", "temp_id": f"t{i}"})
        answers = [await conn.take(lambda f: f.get("temp_id") == f"t{i}")
                   for i in range(5)]
    finally:
        stop.set()
        pool.shutdown()
    refused = [f for f in answers if f["type"] == "error"]
    assert refused, answers
    for frame in refused:
        assert_429_frame(frame, "send_message")
    assert {f["type"] for f in answers} <= {"error", "message_sent"}
    assert conn.is_open
    await conn.close()


# -------------------------------------------------------------- mark read

def test_rest_mark_reads_past_the_burst_get_429():
    """Every mark read counts, even of an unknown message (404)."""
    a = new_user()
    answers = until_429(lambda: mark_read(a.access, random_uuid()),
                        limit=2000)
    codes = statuses(answers)
    assert set(codes) <= {404, 429}, codes
    assert codes.count(404) >= READ_BURST
    assert 429 in codes, f"{len(codes)} mark reads in a row, none refused"
    assert_429([r for r in answers if r.status_code == 429][0])


@ws_test(timeout=120)
async def test_ws_mark_reads_past_the_burst_get_429():
    a = new_user()
    conn = await session(a)
    answered = 0
    for g in range(40):
        for i in range(30):
            await conn.send({"type": "mark_read", "message_id": random_uuid(),
                             "temp_id": f"{g}.{i}"})
        errors = [await conn.expect_error() for _ in range(30)]
        assert {e["code"] for e in errors} <= {404, 429}, errors
        answered += sum(1 for e in errors if e["code"] == 404)
        refused = [e for e in errors if e["code"] == 429]
        if refused:
            break
    else:
        raise AssertionError(f"{answered} mark reads, none refused")
    assert answered >= READ_BURST
    assert_429_frame(refused[0], "mark_read")
    assert conn.is_open
    await conn.close()


# ----------------------------------------------------------------- typing

@ws_test
async def test_typing_past_its_rate_gets_429():
    """30 typing frames at once: the burst (10) reaches the friend, the
    rest are refused, each with its own error frame."""
    a, b = new_friends()
    conn, receiver = await session(a), await session(b)
    for i in range(30):
        await conn.send({"type": "typing", "receiver_id": b.account_id,
                         "temp_id": str(i)})
    # Past the rate, the daemon reads the rest as tokens come: each frame
    # is served or refused in its turn.
    deadline = time.monotonic() + WAIT
    while True:
        await asyncio.sleep(0.2)
        got = receiver.count(of_type("typing_indicator"))
        refused = [f for f in conn.frames if f.get("type") == "error"]
        if got + len(refused) >= 30 or time.monotonic() > deadline:
            break
    assert got >= TYPING_BURST, got
    assert refused, "30 typing frames at once, none refused"
    for frame in refused:
        assert_429_frame(frame, "typing")
    assert got + len(refused) == 30, (got, len(refused))
    assert conn.is_open
    await conn.close()
    await receiver.close()


# ----------------------------------------------------------------- logins

def lock_out(address, username, n=LOGIN_FAILURES_PER_ACCOUNT):
    """n wrong passwords for username from address, all 401."""
    for _ in range(n):
        r = login_from(address, username, "wrong password 1")
        assert r.status_code == 401, (r.status_code, r.text)


def test_failed_logins_lock_the_account_at_that_address():
    user, other = new_user(), new_user()
    address = fresh_address()
    lock_out(address, user.username)
    assert_429(login_from(address, user.username, "wrong password 1"),
               LOGIN_DETAIL)
    # While locked, even the right password is refused ...
    assert_429(login_from(address, user.username, user.password),
               LOGIN_DETAIL)
    # ... there only: nobody locks a victim out from elsewhere, and the
    # address may still log in to other accounts.
    body(login_from(fresh_address(), user.username, user.password), 200)
    body(login_from(address, other.username, other.password), 200)


def test_the_client_address_is_the_last_untrusted_forwarded_one():
    """X-Forwarded-For is read from the right (each proxy appends the
    address it got the request from), past the trusted proxies: what a
    client writes on the left does not change its address."""
    user = new_user()
    address = fresh_address()
    lock_out(address, user.username)
    for forwarded in (f"{fresh_address()}, {address}",
                      f"203.0.113.9,{address}, 127.0.0.1",
                      f"not an address, {address}"):
        r = api("POST", "/auth/access-token",
                data={"username": user.username, "password": user.password},
                headers={"X-Forwarded-For": forwarded})
        assert_429(r, LOGIN_DETAIL)
    # The address on the left is not the client's.
    body(login_from(f"{address}, {fresh_address()}", user.username,
                    user.password), 200)


def test_lockout_of_an_unknown_account_looks_the_same():
    user = new_user()
    address = fresh_address()
    nobody = unique_username()
    lock_out(address, user.username)
    lock_out(address, nobody)
    known = login_from(address, user.username, user.password)
    unknown = login_from(address, nobody, PASSWORD)
    assert_429(known, LOGIN_DETAIL)
    assert_429(unknown, LOGIN_DETAIL)
    assert set(known.json()) == set(unknown.json())
    assert known.headers.get("Content-Type") == \
        unknown.headers.get("Content-Type")


def test_failed_logins_lock_the_address():
    """100 failures from one address, each for another name: the address
    is locked for every account, the right password too; the same account
    from another address is not."""
    user = new_user()
    address = fresh_address()
    names = [unique_username() for _ in range(LOGIN_FAILURES_PER_ADDRESS)]
    answers = in_threads([lambda n=n: login_from(address, n, "wrong 1")
                          for n in names], workers=4)
    assert statuses(answers) == [401] * len(names)
    # The bucket refills (100 in 15 minutes): a slow run may earn one more.
    more = [login_from(address, unique_username(), "wrong 1")
            for _ in range(3)]
    assert 429 in statuses(more), statuses(more)
    assert_429([r for r in more if r.status_code == 429][0], LOGIN_DETAIL)
    assert_429(login_from(address, user.username, user.password),
               LOGIN_DETAIL)
    body(login_from(fresh_address(), user.username, user.password), 200)


# ---------------------------------------------------------- registrations

def test_registrations_past_the_address_limit_get_429():
    """Attempts with a name taken cost no password hash, and count: the
    address reaches its limit, then even a valid registration is refused
    there, not from elsewhere."""
    address = fresh_address()
    taken = body(register_from(address, registration()), 201)
    attempt = registration(username=taken["username"])
    answers = until_429(lambda: register_from(address, attempt), 20000)
    codes = statuses(answers)
    assert set(codes) <= {400, 429}, codes
    assert 429 in codes, f"{len(codes)} registrations, none refused"
    # The bucket refills (50 a second here): attempts with the name taken
    # keep it empty while valid ones are made, which then get the 429 too.
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            register_from(address, attempt)

    with ThreadPoolExecutor(max_workers=6) as pool:
        for _ in range(6):
            pool.submit(drain)
        try:
            valid = [register_from(address, registration())
                     for _ in range(5)]
        finally:
            stop.set()
    assert set(statuses(valid)) <= {201, 429}, statuses(valid)
    assert 429 in statuses(valid), statuses(valid)
    assert_429([r for r in valid if r.status_code == 429][0])
    body(register_from(fresh_address(), registration()), 201)


# --------------------------------------------------------------- fairness

@ws_test
async def test_a_connection_gets_429_past_32_requests_waiting():
    """With the database held up (the buckets' table locked), a connection
    sends 100 mark reads: 32 wait and are answered once it moves on, the
    others are refused at once."""
    a = new_user()
    conn = await session(a)
    lock = connect_db(autocommit=False)
    try:
        with lock.cursor() as cur:
            cur.execute("LOCK TABLE rate_bucket IN SHARE ROW EXCLUSIVE MODE")
        for i in range(100):
            await conn.send({"type": "mark_read", "message_id": random_uuid(),
                             "temp_id": str(i)})
        refused = [await conn.expect_error() for _ in range(100 - WAITING_MAX)]
        for frame in refused:
            assert_429_frame(frame, "mark_read", detail=WAITING_DETAIL)
        assert {f["temp_id"] for f in refused} == \
            {str(i) for i in range(WAITING_MAX, 100)}
    finally:
        lock.rollback()
        lock.close()
    answered = [await conn.expect_error() for _ in range(WAITING_MAX)]
    assert [f["code"] for f in answered] == [404] * WAITING_MAX, answered
    assert conn.is_open
    await conn.close()


def test_pruning_the_buckets_waits_for_no_send(db):
    """The prune of the full buckets (push_reap) skips a bucket that a
    send holds locked, rather than wait for it: a send batch locks its
    buckets in order, the prune holds those it has deleted in no order,
    and the two could wait for each other (a deadlock failing the batch's
    sends or the reap). The daemons' own prunes are held off meanwhile
    (push_reap prunes under this advisory lock), so that the buckets stay
    until the test prunes them."""
    free, held = (f"prune-{secrets.token_hex(8)}" for _ in range(2))
    with db.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(hashtextextended('event-pruning', 7))")
        for key in (free, held):
            cur.execute("INSERT INTO rate_bucket (kind, key, tokens, at,"
                        " full_at, granted) VALUES ('send', %s, 1, now(),"
                        " now() - interval '1 minute', true)", (key,))
    sender, pruner = connect_db(autocommit=False), connect_db(autocommit=False)
    try:
        with sender.cursor() as cur:
            cur.execute("SELECT 1 FROM rate_bucket WHERE kind = 'send'"
                        " AND key = %s FOR UPDATE", (held,))
            assert cur.fetchall() == [(1,)]
        with pruner.cursor() as cur:
            cur.execute("SET LOCAL statement_timeout = '5s'")
            cur.execute("SELECT rate_prune()")
            cur.execute("SELECT key FROM rate_bucket WHERE key IN (%s, %s)",
                        (free, held))
            assert cur.fetchall() == [(held,)]
        pruner.commit()
    finally:
        sender.rollback()
        pruner.rollback()
        sender.close()
        pruner.close()
        with db.cursor() as cur:
            cur.execute("DELETE FROM rate_bucket WHERE key = %s", (held,))
            cur.execute("SELECT pg_advisory_unlock(hashtextextended('event-pruning', 7))")


def count_from(db, account_id):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM message WHERE sender_id = %s",
                    (account_id,))
        return cur.fetchone()[0]


async def flood(conn, frame, seconds):
    """Sends frame over and over for seconds (or until conn closes)."""
    text = json.dumps(frame)
    end = time.monotonic() + seconds
    sent = 0
    try:
        while time.monotonic() < end and conn.is_open:
            for _ in range(200):
                await conn.send_text(text)
            sent += 200
            await asyncio.sleep(0)
    except Exception:       # closed under the flood: it stopped
        pass
    return sent


async def still_served(sender, receiver, to):
    """Another user on the flooder's daemon is answered and delivered to."""
    await sender.send({"type": "send_message", "receiver_id": to.account_id,
                       "content": "still served", "temp_id": "fair"})
    await sender.expect("message_sent", temp_id="fair", timeout=WAIT)
    await receiver.expect("new_message", timeout=WAIT)


@ws_test(timeout=120)
async def test_a_send_flood_slows_down_only_the_flooder(db):
    """One connection floods send_message; another user's message on the
    same daemon still arrives, and once the flooder is gone, its rows stop
    growing within a second (the issue: 313,500 rows over 85 s)."""
    a, b = new_friends()
    c, d = new_friends()
    flooder = await session(a, daemon=1)
    sender, receiver = await session(c, daemon=1), await session(d, daemon=1)
    task = asyncio.get_running_loop().create_task(flood(
        flooder, {"type": "send_message", "receiver_id": b.account_id,
                  "content": "flood"}, 3.0))
    await asyncio.sleep(1.0)
    await still_served(sender, receiver, d)
    sent = await task
    await flooder.close()
    await asyncio.sleep(1.0)
    stored = count_from(db, a.account_id)
    await asyncio.sleep(2.0)
    assert count_from(db, a.account_id) == stored, \
        "the flooder's rows still grow after it left"
    assert stored < sent, (stored, sent)
    for conn in (sender, receiver):
        await conn.close()


@ws_test(timeout=120)
async def test_a_typing_flood_slows_down_only_the_flooder():
    a, b = new_friends()
    c, d = new_friends()
    flooder, target = await session(a, daemon=1), await session(b, daemon=1)
    sender, receiver = await session(c, daemon=1), await session(d, daemon=1)
    started = time.monotonic()
    task = asyncio.get_running_loop().create_task(flood(
        flooder, {"type": "typing", "receiver_id": b.account_id}, 3.0))
    await asyncio.sleep(1.0)
    await still_served(sender, receiver, d)
    sent = await task
    await flooder.close()
    await asyncio.sleep(1.0)
    elapsed = time.monotonic() - started
    got = target.count(of_type("typing_indicator"))
    # At most the burst and the rate over the whole run reach the friend.
    assert got <= TYPING_BURST + 10 * elapsed + 1, (got, sent, elapsed)
    for conn in (target, sender, receiver):
        await conn.close()
