"""A short chaos run (tests/chaos/chaos.py; `./stack chaos` runs long
ones): users with two devices each send, read, delete and make friends
again, their devices reconnecting with since, while push daemons and
FastCGI processes are killed with SIGKILL and PostgreSQL is restarted at
random. Nothing acknowledged may be lost or stored twice, and every event
of each device's stream (CONTRACT §10) must reach it once, in order, with
nothing left for a final GET /sync.

It kills daemons and restarts the database: marked disruptive, it runs
after the other tests (conftest.py), and leaves every daemon and the
database running."""

import json
import os
import subprocess
import sys
import tempfile

import pytest

from ws_client import ROOT

pytestmark = pytest.mark.disruptive

SECONDS = 45
USERS = 6


def test_short_chaos_run_loses_nothing():
    driver = os.path.join(ROOT, "tests", "chaos", "chaos.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "chaos.json")
        done = subprocess.run(
            [sys.executable, driver, "--seconds", str(SECONDS),
             "--users", str(USERS), "--out", out],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=SECONDS + 240,
            env=dict(os.environ))
        log = done.stdout.decode(errors="replace")
        assert os.path.exists(out), log[-4000:]
        with open(out) as f:
            summary = json.load(f)
    # The whole summary in every message (pytest would cut a dict short).
    shown = json.dumps(summary, indent=1)
    assert summary["messages_acknowledged"] > 0, shown
    assert sum(summary["faults"].values()) > 0, shown
    assert summary["fault_errors"] == [], shown
    assert summary["lost"] == 0, shown
    assert summary["missed"] == 0, shown
    assert summary["duplicates"] == 0, shown
    assert summary["unexpected"] == 0, shown
    assert summary["out_of_order"] == 0, shown
    assert summary["sync_new"] == 0, shown
    assert summary["resync_required"] == 0, shown
    assert done.returncode == 0, log[-4000:]
