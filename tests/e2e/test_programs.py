"""The programs' command lines (docs/OPERATIONS.md): --help (usage on
stdout, exit 0), --version (the package version of configure.ac, also
logged at start), -n (check the configuration), a mistake (usage on
stderr, exit 2); and chat-fcgi's SIGHUP, which it ignores (it writes to
stderr only: no log file to reopen)."""

import os
import re
import signal
import subprocess
import tempfile
import time

import pytest

from chat_api import env
from ws_client import ROOT, wait_for_log

LINE = re.compile(r"^<[3467]>chat-(fcgi|push)\[\d+\]: (error|warn|info|debug): ")


def package_version():
    """The version of AC_INIT in configure.ac."""
    with open(os.path.join(ROOT, "configure.ac")) as f:
        m = re.search(r"^AC_INIT\(\[chat\], \[([^]]+)\]", f.read(), re.M)
    assert m, "no AC_INIT([chat], [VERSION]) in configure.ac"
    return m.group(1)


def program(name):
    """The stack's binary: chat-push as CHAT_PUSH_BIN names it, chat-fcgi
    beside it (both are built in one tree)."""
    path = os.path.join(os.path.dirname(env("CHAT_PUSH_BIN")), name)
    assert os.access(path, os.X_OK), path
    return path


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=30)


PROGRAMS = ["chat-fcgi", "chat-push"]


@pytest.mark.parametrize("name", PROGRAMS)
def test_help(name):
    r = run(program(name), "--help")
    assert r.returncode == 0, r
    assert r.stdout.startswith(f"usage: {name} [-n] [-c config]"), r.stdout
    for option in ("-c config", "-n ", "--help", "--version"):
        assert option in r.stdout, (option, r.stdout)
    assert r.stderr == ""
    assert run(program(name), "-h").stdout == r.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_version(name):
    r = run(program(name), "--version")
    assert r.returncode == 0, r
    assert r.stdout == f"{name} {package_version()}\n"
    assert r.stderr == ""


@pytest.mark.parametrize("name", PROGRAMS)
@pytest.mark.parametrize("args", [("-x",), ("--nonsense",), ("extra",)])
def test_mistake_is_usage_on_stderr(name, args):
    r = run(program(name), *args)
    assert r.returncode == 2, r
    assert r.stdout == ""
    assert f"usage: {name} " in r.stderr


@pytest.mark.parametrize("name", PROGRAMS)
def test_check_configuration(name, tmp_path):
    r = run(program(name), "-n", "-c", env("CHAT_CONFIG"))
    assert (r.returncode, r.stdout) == (0, "configuration OK\n"), r
    bad = tmp_path / "bad.conf"
    bad.write_text("[push]\nno_such_key = 1\n")
    r = run(program(name), "-n", "-c", str(bad))
    assert r.returncode == 1, r
    assert r.stdout == ""
    assert LINE.match(r.stderr), r.stderr
    assert r.stderr.startswith("<3>"), r.stderr
    assert "push.no_such_key: unknown key" in r.stderr


def test_push_daemons_log_their_version():
    wait_for_log(rf"<6>chat-push\[\d+\]: info: chat-push "
                 rf"{re.escape(package_version())} starting$")


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def test_fcgi_ignores_sighup():
    """chat-fcgi -s: SIGHUP to the supervisor and to a worker changes
    nothing; SIGTERM still stops both."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "fcgi.sock")
        log = open(os.path.join(tmp, "stderr"), "w+")
        proc = subprocess.Popen(
            [program("chat-fcgi"), "-c", env("CHAT_CONFIG"), "-s", sock,
             "-w", "1"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while not (os.path.exists(sock) and children(proc.pid)):
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            worker = children(proc.pid)[0]
            os.kill(proc.pid, signal.SIGHUP)
            os.kill(worker, signal.SIGHUP)
            time.sleep(0.5)
            assert proc.poll() is None, "the supervisor died of SIGHUP"
            assert children(proc.pid) == [worker], "the worker died"
            proc.terminate()
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        lines = log.read().splitlines()
        log.close()
    assert lines, "chat-fcgi wrote no line"
    for line in lines:
        assert LINE.match(line), line
    assert any(re.search(rf"info: chat-fcgi {re.escape(package_version())} "
                         r"starting$", line) for line in lines), lines
