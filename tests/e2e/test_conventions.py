"""Conventions of CONTRACT §1 and docs/API.md: paths, methods, sizes, auth."""

import json

import pytest

from chat_api import (api, assert_error, assert_bad_credentials,
                      assert_not_authenticated, body, create_account, http,
                      login_form, post_raw, public_view, refresh,
                      registration, token_word)

MAX_BODY = 64 * 1024


# -------------------------------------------- trailing slash, no redirect

def test_health_with_trailing_slash():
    assert body(api("GET", "/health/"), 200) == {"status": "ok",
                                                 "database": "ok"}


def test_register_without_trailing_slash():
    data = registration()
    r = post_raw("/accounts", json.dumps(data).encode())
    assert body(r, 201)["username"] == data["username"]


def test_login_with_trailing_slash(user):
    r = login_form(user.username, user.password, path="/auth/access-token/")
    assert body(r, 200)["token_type"] == "bearer"


def test_refresh_with_trailing_slash(user):
    r = refresh(user.refresh, path="/auth/refresh-token/")
    assert body(r, 200)["token_type"] == "bearer"


def test_me_with_trailing_slash(user):
    assert body(api("GET", "/accounts/me/", token=user.access), 200) == \
        user.account


def test_account_by_id_with_trailing_slash(viewer):
    target = create_account()
    r = api("GET", f"/accounts/{target['account_id']}/", token=viewer.access)
    assert body(r, 200) == public_view(target)


@pytest.mark.parametrize("path", ["/accounts/search/", "/accounts/search"])
def test_search_with_and_without_trailing_slash(viewer, path):
    word = token_word()
    target = create_account(username="t" + word)
    r = api("GET", path, token=viewer.access, params={"name": word})
    assert body(r, 200) == [public_view(target)]


# ------------------------------------------------------------ unknown paths

# (/ is the web client, /docs/ the reference page: test_web_files.py.)
UNKNOWN_PATHS = [
    "/api/v1/nope",
    "/nope",
    "/api/v1",
    "/api/v1/",
    "/api/v2/health",
    "/api/v1/accounts/me/extra",
    "/api/v1/health/extra",
    "/api/v1/accounts/search/extra",
    "/api/v1/accounts/0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f11/extra",
    "/api/v1/auth/access-token/extra",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_without_token(path):
    assert_error(http("GET", path), 404, "Not Found")


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_with_token(viewer, path):
    assert_error(http("GET", path, token=viewer.access), 404, "Not Found")


def test_unknown_path_with_post_body():
    r = http("POST", "/api/v1/nope", data=b'{"a": 1}',
             headers={"Content-Type": "application/json"})
    assert_error(r, 404, "Not Found")


# ------------------------------------------------------------- wrong method

def allowed(r):
    return {m.strip().upper() for m in r.headers.get("Allow", "").split(",")
            if m.strip()}


@pytest.mark.parametrize("method, path, expected", [
    ("PUT", "/health", "GET"),
    ("POST", "/health", "GET"),
    ("DELETE", "/health/", "GET"),
    ("GET", "/auth/access-token", "POST"),
    ("PUT", "/auth/access-token/", "POST"),
    ("GET", "/auth/refresh-token", "POST"),
    ("GET", "/accounts/", "POST"),
    ("DELETE", "/accounts", "POST"),
])
def test_wrong_method_on_open_path(method, path, expected):
    r = api(method, path)
    assert_error(r, 405, "Method Not Allowed")
    assert expected in allowed(r), r.headers
    assert method not in allowed(r), r.headers


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/accounts/me"),
    ("PUT", "/accounts/me/"),
    ("POST", "/accounts/me"),
    ("PATCH", "/accounts/0b7c1bd2-39ad-4d55-8f3e-3c2f4c0f4f11"),
    ("POST", "/accounts/search/"),
])
def test_wrong_method_on_authenticated_path(viewer, method, path):
    r = api(method, path, token=viewer.access)
    assert_error(r, 405, "Method Not Allowed")
    assert "GET" in allowed(r), r.headers
    assert method not in allowed(r), r.headers


def test_options_that_is_not_a_preflight_is_a_wrong_method():
    r = api("OPTIONS", "/health")
    assert_error(r, 405, "Method Not Allowed")
    assert "GET" in allowed(r), r.headers


# --------------------------------------------------------------- body size

def registration_of_size(size):
    """A valid registration body of exactly `size` bytes (padding field)."""
    data = registration(padding="")
    empty = len(json.dumps(data).encode())
    data["padding"] = "x" * (size - empty)
    raw = json.dumps(data).encode()
    assert len(raw) == size
    return data, raw


def test_body_of_exactly_64_kib_is_processed():
    data, raw = registration_of_size(MAX_BODY)
    assert body(post_raw("/accounts/", raw), 201)["username"] == \
        data["username"]


def test_body_just_under_64_kib_is_processed():
    data, raw = registration_of_size(MAX_BODY - 100)
    assert body(post_raw("/accounts/", raw), 201)["username"] == \
        data["username"]


def test_body_of_64_kib_plus_one_is_too_large(db):
    data, raw = registration_of_size(MAX_BODY + 1)
    assert_error(post_raw("/accounts/", raw), 413, "Request body too large")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM account WHERE username = %s",
                    (data["username"],))
        assert cur.fetchone()[0] == 0


def test_body_of_256_kib_is_too_large():
    _, raw = registration_of_size(4 * MAX_BODY)
    assert_error(post_raw("/accounts/", raw), 413, "Request body too large")


def test_login_form_over_64_kib_is_too_large(user):
    r = login_form(user.username, user.password, scope="x" * MAX_BODY)
    assert_error(r, 413, "Request body too large")


# ------------------------------------------------ authentication before body

@pytest.mark.parametrize("path", ["/friends/request", "/chat/messages/"])
@pytest.mark.parametrize("raw", [b"not json", b"[]", b"{}"])
def test_no_token_and_bad_body_is_401(path, raw):
    assert_not_authenticated(post_raw(path, raw))


@pytest.mark.parametrize("path", ["/friends/request", "/chat/messages/"])
def test_bad_token_and_bad_body_is_401(path):
    r = post_raw(path, b"not json", token="garbage")
    assert_bad_credentials(r)

