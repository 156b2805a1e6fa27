"""503 while PostgreSQL is down, and recovery without restarting anything
else (docs/API.md "Database unavailable", CONTRACT §9).

It stops the stack's database, and always starts it again: marked
disruptive, it runs after the other tests (conftest.py).
"""

import pytest

from chat_api import (api, assert_error, body, create_account,
                      get_me, login_form, new_user, register, registration,
                      wait_for_health)

UNAVAILABLE = "Database unavailable"
HEALTH_DOWN = {"status": "unavailable", "database": "unreachable",
               "detail": UNAVAILABLE}
HEALTH_UP = {"status": "ok", "database": "ok"}
RECOVERY_SECONDS = 10

pytestmark = pytest.mark.disruptive



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
    assert body(wait_for_health(RECOVERY_SECONDS), 200) == HEALTH_UP
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
    assert body(wait_for_health(RECOVERY_SECONDS), 200) == HEALTH_UP
