"""Fixtures of the end-to-end suite.

`./stack test` starts a throwaway stack and runs
`/usr/bin/python3 -m pytest -q tests/e2e` with:
  CHAT_URL               base URL of the web server (paths add /api/v1/...)
  CHAT_DB                libpq connection string of the stack's database
  CHAT_JWT_SECRET_FILE   the HS256 secret, to forge tokens
  CHAT_PGDATA, CHAT_PGCTL, CHAT_RUN_AS, CHAT_PG_LOG  (database outage test)
  CHAT_SERVER            the web server in front: lighttpd, nginx or apache
                         (./stack test runs the suite behind each)
Helpers live in chat_api.py; the fixtures below wrap them.

Tests that disturb the shared stack (stop or restart PostgreSQL, kill or
signal a push daemon, replace an SQL function) carry the marker
`disruptive`: they run after all the others, so that one that leaves the
stack unwell fails no other test, and after each of them the stack must
serve again (REST and every push daemon) before the next test starts.
`-m "not disruptive"` leaves them out.
"""

import os
import uuid

import pytest

import chat_api
import ws_client


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "disruptive: disturbs the shared stack (restarts "
        "PostgreSQL, kills or signals a push daemon, replaces an SQL "
        "function); runs after every other test")
    config.addinivalue_line(
        "markers", "pooled_replica: needs chat-fcgi behind PgBouncer with "
        "a streaming replica (the apache round of ./stack test, which "
        "sets CHAT_PGBOUNCER_DB); deselected elsewhere")
    config.addinivalue_line(
        "markers", "stack_cluster: makes databases of its own in the test "
        "stack's PostgreSQL cluster, as the cluster's owner (./stack test "
        "gives the tests that cluster; a deployment's suite has none)")


def pytest_collection_modifyitems(config, items):
    """The disruptive tests last, each group in its collected order; the
    tests of PgBouncer and the replica only where the stack has them."""
    if not os.environ.get("CHAT_PGBOUNCER_DB"):
        left = [i for i in items
                if i.get_closest_marker("pooled_replica") is not None]
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = [i for i in items if i not in left]
    calm = [i for i in items if i.get_closest_marker("disruptive") is None]
    items[:] = calm + [i for i in items
                       if i.get_closest_marker("disruptive") is not None]


@pytest.fixture
def databases():
    """make() creates an empty database of the stack's cluster, owned by
    the application's role, and names it; each is dropped after the test
    (stack_cluster tests)."""
    names = []

    def make():
        name = "test_" + uuid.uuid4().hex[:12]
        chat_api.psql("postgres", f"CREATE DATABASE {name} OWNER chat_app")
        names.append(name)
        return name

    yield make
    for name in names:
        chat_api.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(autouse=True)
def served_after_disruption(request):
    """After a disruptive test: REST answers /health with 200 and every
    push daemon registers a new connection (a daemon back from a restart,
    or from an outage of the database, does so only once it has its
    database connection again), whichever disruptive test comes next."""
    yield
    if request.node.get_closest_marker("disruptive") is None:
        return
    health = chat_api.wait_for_health(ws_client.RECOVERY_SECONDS)
    assert health is not None and health.status_code == 200, \
        "REST does not serve again after a disruptive test"
    ws_client.wait_until_served(chat_api.new_user())


@pytest.fixture(scope="session")
def base_url():
    return chat_api.base_url()


@pytest.fixture(scope="session")
def db():
    """An autocommit connection to the stack's database."""
    conn = chat_api.connect_db()
    yield conn
    conn.close()


@pytest.fixture
def database():
    """The stack's PostgreSQL (chat_api.Database) for a disruptive test
    that stops it: started again after the test, however it ended."""
    db = chat_api.Database()
    try:
        yield db
    finally:
        db.start()


@pytest.fixture
def make_user():
    """Factory: a freshly registered and logged-in account (chat_api.User)."""
    return chat_api.new_user


@pytest.fixture
def user():
    """A fresh account, logged in, that the test may change."""
    return chat_api.new_user()


@pytest.fixture(scope="session")
def viewer():
    """A logged-in account for tests that only need some valid token.

    No test changes it; tests that change their account use `user`."""
    return chat_api.new_user()


@pytest.fixture
def forge():
    """Token forger: forge(sub, type_="access", alg="HS256", key=None, ...)."""
    return chat_api.forge


@pytest.fixture
def friends():
    """Two fresh accounts, logged in, who are friends (the first asked)."""
    return chat_api.new_friends()


@pytest.fixture
def stranger():
    """A fresh account, logged in, friend of nobody."""
    return chat_api.new_user()
