"""Metrics in the Prometheus text format (docs/OPERATIONS.md, "Metrics"):
each push daemon on its own port (its port plus [metrics]
push_port_offset, on loopback), chat-fcgi at /metrics through the web
server to clients on loopback only. The names, types and labels follow
Prometheus' conventions, and the counters move with real traffic."""

import asyncio
import configparser
import math
import os
import re
import time

import requests

from chat_api import (TIMEOUT, api, base_url, body, login_form, new_friends,
                      new_user)
from ws_client import (WAIT, RawWs, close_all, of_type, push_ports, session,
                       ws_test)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAME = re.compile(r"^chat_(push|fcgi)_[a-z][a-z0-9_]*$")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')


# ------------------------------------------------------------------ parsing

class Scrape:
    """One scrape: families (name -> type, help) and samples."""

    def __init__(self, text):
        self.types, self.helps, self.samples = {}, {}, []
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, _, help_ = line[7:].partition(" ")
                assert name not in self.helps, f"HELP twice: {line}"
                self.helps[name] = help_
            elif line.startswith("# TYPE "):
                name, _, type_ = line[7:].partition(" ")
                assert name not in self.types, f"TYPE twice: {line}"
                assert type_ in ("counter", "gauge", "histogram"), line
                self.types[name] = type_
            else:
                m = SAMPLE.match(line)
                assert m, f"not a sample line: {line!r}"
                labels = {}
                rest = m.group(2) or ""
                while rest:
                    lm = LABEL.match(rest)
                    assert lm, f"bad labels in {line!r}"
                    labels[lm.group(1)] = lm.group(2)
                    rest = rest[lm.end():]
                self.samples.append((m.group(1), labels,
                                     float(m.group(3))))

    def family_of(self, sample_name):
        if sample_name in self.types:
            return sample_name
        for suffix in ("_bucket", "_sum", "_count"):
            base = sample_name[:-len(suffix)]
            if (sample_name.endswith(suffix)
                    and self.types.get(base) == "histogram"):
                return base
        raise AssertionError(f"sample {sample_name} of no declared family")

    def value(self, name, **labels):
        """The sample's value; 0 when it is not there (yet)."""
        for n, l, v in self.samples:
            if n == name and l == labels:
                return v
        return 0

    def has(self, name, **labels):
        return any(n == name and l == labels for n, l, _ in self.samples)

    def check_conventions(self, prefix):
        """Every family named, typed and explained; counters end in _total,
        no gauge or histogram does; histograms cumulate up to +Inf."""
        assert self.types, "no families"
        assert set(self.types) == set(self.helps)
        for name, type_ in self.types.items():
            assert NAME.match(name) and name.startswith(prefix), name
            assert self.helps[name].strip(), name
            if type_ == "counter":
                assert name.endswith("_total"), name
            else:
                assert not name.endswith("_total"), name
            if type_ == "histogram":
                assert name.endswith("_seconds"), name
        for name, labels, value in self.samples:
            family = self.family_of(name)
            assert value >= 0 and not math.isnan(value), (name, value)
            if self.types[family] == "counter" or name.endswith("_count"):
                assert value == int(value), (name, value)
            assert "le" not in labels or name.endswith("_bucket"), name
        for family in (f for f, t in self.types.items() if t == "histogram"):
            self.check_histogram(family)

    def check_histogram(self, family):
        series = {}
        for name, labels, value in self.samples:
            if name == family + "_bucket":
                key = tuple(sorted((k, v) for k, v in labels.items()
                                   if k != "le"))
                series.setdefault(key, []).append((labels["le"], value))
        for key, buckets in series.items():
            bounds = [float(le) for le, _ in buckets]
            counts = [v for _, v in buckets]
            assert buckets[-1][0] == "+Inf", (family, key)
            assert bounds == sorted(bounds), (family, key)
            assert counts == sorted(counts), (family, key, counts)
            labels = dict(key)
            assert self.value(family + "_count", **labels) == counts[-1]
            assert self.has(family + "_sum", **labels)


def metrics_port(k=1):
    """Push daemon k's metrics port: its port plus the offset of the
    configuration the suite's stack runs with."""
    config = configparser.ConfigParser(inline_comment_prefixes=(";",))
    config.read(os.environ["CHAT_CONFIG"])
    offset = config.getint("metrics", "push_port_offset", fallback=1000)
    return int(push_ports()[k - 1]) + offset


def scrape_push(k=1):
    r = requests.get(f"http://127.0.0.1:{metrics_port(k)}/metrics",
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return Scrape(r.text)


def scrape_fcgi(headers=None):
    r = requests.get(base_url() + "/metrics", headers=headers,
                     timeout=TIMEOUT, allow_redirects=False)
    return r


def fcgi_metrics():
    r = scrape_fcgi()
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return Scrape(r.text)


def eventually(check, seconds=WAIT):
    """Retries check (a scrape and its assertions) until it passes: a
    counter of the push daemon moves as the loop gets to it."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# ---------------------------------------------------------------- push daemon

PUSH_FAMILIES = {
    "chat_push_connections": "gauge",
    "chat_push_queued_bytes": "gauge",
    "chat_push_frames_in_total": "counter",
    "chat_push_frames_out_total": "counter",
    "chat_push_requests_refused_total": "counter",
    "chat_push_handshakes_refused_total": "counter",
    "chat_push_database_round_trip_seconds": "histogram",
    "chat_push_database_queries_queued": "gauge",
    "chat_push_event_lag_seconds": "histogram",
}


def test_push_metrics_follow_the_conventions():
    scrape = scrape_push()
    for name, type_ in PUSH_FAMILIES.items():
        assert scrape.types.get(name) == type_, name
    scrape.check_conventions("chat_push_")
    for connection in ("requests", "events", "marks"):
        assert scrape.value("chat_push_database_connected",
                            connection=connection) == 1


def test_push_metrics_only_at_their_path():
    r = requests.get(f"http://127.0.0.1:{metrics_port()}/other",
                     timeout=TIMEOUT)
    assert r.status_code == 404


@ws_test
async def test_frames_and_round_trips_are_counted():
    """A send_message frame in, message_sent out to its sender and
    new_message to its receiver; the connection gauge counts both; the
    database's round trips and the event reader's lag have new
    observations."""
    a, b = new_friends()
    before = scrape_push()
    conn, receiver = await session(a, daemon=1), await session(b, daemon=1)
    during = scrape_push()
    assert during.value("chat_push_connections") >= 2
    await conn.send({"type": "send_message", "receiver_id": b.account_id,
                     "content": "counted", "temp_id": "m1"})
    await conn.expect("message_sent")
    await receiver.expect("new_message")

    def moved():
        after = scrape_push()
        for type_, name in (("send_message", "chat_push_frames_in_total"),
                            ("message_sent", "chat_push_frames_out_total"),
                            ("new_message", "chat_push_frames_out_total"),
                            ("connection_established",
                             "chat_push_frames_out_total")):
            assert (after.value(name, type=type_)
                    >= before.value(name, type=type_) + 1), (name, type_)
        for family, labels in (
                ("chat_push_database_round_trip_seconds",
                 {"connection": "requests"}),
                ("chat_push_database_round_trip_seconds",
                 {"connection": "events"}),
                ("chat_push_event_lag_seconds", {})):
            assert (after.value(family + "_count", **labels)
                    > before.value(family + "_count", **labels)), family
        # Every frame the daemon writes begins with its type.
        assert not after.has("chat_push_frames_out_total", type="other")
        return after
    eventually(moved)
    await close_all(conn, receiver)


def test_a_refused_handshake_is_counted():
    name = "chat_push_handshakes_refused_total"
    labels = {"reason": "token", "status": "401"}
    before = scrape_push().value(name, **labels)
    client = RawWs("not-a-token", daemon=1)
    client.close()
    assert client.status == 401
    eventually(lambda: assert_equal(scrape_push().value(name, **labels),
                                    before + 1))


def assert_equal(a, b):
    assert a == b, (a, b)


@ws_test
async def test_429s_are_counted_by_request_type():
    """Typing frames past the account's burst get error frames with 429
    (CONTRACT §12): the counter of typing's 429s grows by as many."""
    a, b = new_friends()
    name = "chat_push_requests_refused_total"
    before = scrape_push().value(name, type="typing", code="429")
    conn, receiver = await session(a, daemon=1), await session(b, daemon=1)
    frames = 16                     # the burst of the test stack: 10
    for _ in range(frames):
        await conn.send({"type": "typing", "receiver_id": b.account_id,
                         "is_typing": True})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        refused = conn.count(of_type("error", code=429,
                                     request_type="typing"))
        indicators = receiver.count(of_type("typing_indicator"))
        if refused + indicators >= frames:
            break
        await asyncio.sleep(0.05)
    assert refused >= 1 and refused + indicators == frames, \
        (refused, indicators)
    eventually(lambda: assert_equal(
        scrape_push().value(name, type="typing", code="429"),
        before + refused))
    await close_all(conn, receiver)


# ------------------------------------------------------------------ chat-fcgi

FCGI_FAMILIES = {
    "chat_fcgi_requests_total": "counter",
    "chat_fcgi_request_duration_seconds": "histogram",
    "chat_fcgi_database_errors_total": "counter",
    "chat_fcgi_replica_reads_total": "counter",
}


def test_fcgi_metrics_follow_the_conventions():
    api("GET", "/health")
    scrape = fcgi_metrics()
    for name, type_ in FCGI_FAMILIES.items():
        assert scrape.types.get(name) == type_, name
    scrape.check_conventions("chat_fcgi_")
    for kind in ("connect", "lost", "statement", "limits"):
        assert scrape.has("chat_fcgi_database_errors_total", kind=kind)
    for served in ("replica", "primary_replica_unreachable",
                   "primary_replica_behind"):
        assert scrape.has("chat_fcgi_replica_reads_total", served=served)


def test_fcgi_counters_move_with_requests():
    """Requests by route and status, their durations, and a 429: what
    every process counted into the shared file, whichever answers."""
    health = {"method": "GET", "route": "/api/v1/health", "code": "200"}
    unknown = {"method": "other", "route": "none", "code": "404"}
    login = {"method": "POST", "route": "/api/v1/auth/access-token",
             "code": "429"}
    before = fcgi_metrics()
    for _ in range(5):
        assert api("GET", "/health").status_code == 200
    assert api("GET", "/no-such-thing").status_code == 404
    # Past the failed logins allowed to an account (10): 429.
    user = new_user()
    statuses = [login_form(user.username, "wrong password").status_code
                for _ in range(11)]
    assert statuses[-1] == 429, statuses
    after = fcgi_metrics()
    count = "chat_fcgi_requests_total"
    assert after.value(count, **health) >= before.value(count, **health) + 5
    assert after.value(count, **unknown) >= before.value(count, **unknown) + 1
    assert (after.value(count, **login)
            >= before.value(count, **login) + statuses.count(429))
    duration = "chat_fcgi_request_duration_seconds_count"
    route = {"method": "GET", "route": "/api/v1/health"}
    assert after.value(duration, **route) >= before.value(duration, **route) + 5
    # A scrape is not a request of the API.
    assert not any(labels.get("route") == "/metrics"
                   for _, labels, _ in after.samples)


def test_fcgi_metrics_only_to_loopback_clients():
    """Through a proxy (X-Forwarded-For, Forwarded), and for any other
    method, /metrics is a path like any unknown one: 404."""
    for headers in ({"X-Forwarded-For": "198.51.100.7"},
                    {"Forwarded": "for=198.51.100.7"}):
        r = scrape_fcgi(headers)
        assert r.status_code == 404, r.text
        assert body(r, 404) == {"detail": "Not Found"}
    r = requests.post(base_url() + "/metrics", timeout=TIMEOUT)
    assert r.status_code in (404, 405), r.text
    assert "chat_fcgi" not in r.text
