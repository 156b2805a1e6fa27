"""503 while PostgreSQL is down, and recovery without restarting anything
else (docs/API.md "Database unavailable", CONTRACT §9).

Named to run last: it stops the stack's database, and always starts it again.
"""

import os
import shlex
import subprocess
import tempfile
import time

import pytest

from chat_api import (api, assert_error, body, create_account, env,
                      get_me, login_form, new_user, register, registration)

UNAVAILABLE = "Database unavailable"
HEALTH_DOWN = {"status": "unavailable", "database": "unreachable",
               "detail": UNAVAILABLE}
HEALTH_UP = {"status": "ok", "database": "ok"}
RECOVERY_SECONDS = 10


def pg_ctl(*args):
    """Run pg_ctl on the stack's cluster as the cluster's owner."""
    command = [env("CHAT_PGCTL"), "-D", env("CHAT_PGDATA"), *args]
    run_as = os.environ.get("CHAT_RUN_AS")
    if os.geteuid() == 0 and run_as:
        command = ["runuser", "-u", run_as, "--", *command]
    with tempfile.TemporaryFile() as output:
        done = subprocess.run(command, stdin=subprocess.DEVNULL,
                              stdout=output, stderr=subprocess.STDOUT,
                              timeout=60)
        output.seek(0)
        text = output.read().decode(errors="replace")
    return done.returncode, text


def server_options():
    """The options the server was started with, less -D: `pg_ctl start`
    alone would not repeat those given on the original command line."""
    path = os.path.join(env("CHAT_PGDATA"), "postmaster.opts")
    with open(path) as f:
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


def log_file():
    return os.environ.get("CHAT_PG_LOG") or os.path.join(
        env("CHAT_PGDATA"), "outage-test.log")


class Database:
    """Stops and starts the stack's PostgreSQL."""

    def __init__(self):
        self.options = server_options()
        self.stopped = False

    def stop(self):
        code, text = pg_ctl("stop", "-m", "fast", "-w")
        assert code == 0, text
        self.stopped = True

    def start(self):
        if not self.stopped:
            return
        args = ["start", "-w", "-l", log_file()]
        if self.options:
            args += ["-o", shlex.join(self.options)]
        code, text = pg_ctl(*args)
        assert code == 0, text
        self.stopped = False


@pytest.fixture
def database():
    db = Database()
    try:
        yield db
    finally:
        db.start()


def wait_for_health():
    """Poll health until it is 200 again; return the last answer."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while True:
        r = api("GET", "/health")
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def test_requests_needing_the_database_get_503(database):
    user = new_user()
    target = create_account()
    database.stop()
    assert body(api("GET", "/health"), 503) == HEALTH_DOWN
    assert_error(get_me(user.access), 503, UNAVAILABLE)
    assert_error(api("GET", f"/accounts/{target['account_id']}",
                     token=user.access), 503, UNAVAILABLE)
    assert_error(api("GET", "/accounts/search/", token=user.access,
                     params={"name": "x"}), 503, UNAVAILABLE)
    assert_error(register(registration()), 503, UNAVAILABLE)
    assert_error(login_form(user.username, user.password), 503, UNAVAILABLE)


def test_service_resumes_after_the_database_restarts(database):
    user = new_user()
    database.stop()
    assert body(api("GET", "/health"), 503) == HEALTH_DOWN
    assert_error(get_me(user.access), 503, UNAVAILABLE)
    database.start()
    assert body(wait_for_health(), 200) == HEALTH_UP
    assert body(get_me(user.access), 200) == user.account
    assert body(login_form(user.username, user.password), 200)
    data = registration()
    assert body(register(data), 201)["username"] == data["username"]


def test_repeated_requests_during_outage_stay_503(database):
    user = new_user()
    database.stop()
    for _ in range(6):
        assert body(api("GET", "/health"), 503) == HEALTH_DOWN
        assert_error(get_me(user.access), 503, UNAVAILABLE)
    database.start()
    assert body(wait_for_health(), 200) == HEALTH_UP
