"""CORS for browser clients (CONTRACT §1, docs/API.md "CORS").

The stack runs with the default origin list:
http://localhost:5173 and http://127.0.0.1:5173.
"""

import pytest

from chat_api import (api, assert_error, assert_not_authenticated, body,
                      cors_headers, header_set, http)

ORIGIN = "http://localhost:5173"
OTHER_ALLOWED = "http://127.0.0.1:5173"
EVIL = "http://evil.example"
METHODS = {"DELETE", "GET", "OPTIONS", "POST", "PUT"}


def preflight(path, origin, method="POST",
              request_headers="authorization,content-type"):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return http("OPTIONS", path, headers=headers)


def assert_allowed_preflight(r, origin, allow_headers):
    assert r.status_code == 204, r.headers
    assert r.headers.get("Access-Control-Allow-Origin") == origin
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    methods = {m.upper() for m in header_set(r, "Access-Control-Allow-Methods")}
    assert methods == METHODS, r.headers
    assert header_set(r, "Access-Control-Allow-Headers") == allow_headers
    assert r.headers.get("Access-Control-Max-Age") == "600"
    assert "origin" in header_set(r, "Vary"), r.headers


def assert_cors_answer(r, origin):
    assert r.headers.get("Access-Control-Allow-Origin") == origin, r.headers
    assert r.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "origin" in header_set(r, "Vary"), r.headers


# ---------------------------------------------------------------- preflight

@pytest.mark.parametrize("path", [
    "/api/v1/accounts/me",
    "/api/v1/auth/access-token",
    "/api/v1/accounts/search/",
    "/api/v1/chat/messages/",
    "/api/v1/health",
    "/api/v1/nope",
])
def test_preflight_from_allowed_origin(path):
    r = preflight(path, ORIGIN)
    assert_allowed_preflight(r, ORIGIN, {"authorization", "content-type"})


def test_preflight_from_the_other_default_origin():
    r = preflight("/api/v1/accounts/me", OTHER_ALLOWED, method="GET")
    assert_allowed_preflight(r, OTHER_ALLOWED,
                             {"authorization", "content-type"})


def test_preflight_echoes_the_requested_headers():
    r = preflight("/api/v1/accounts/me", ORIGIN, method="GET",
                  request_headers="x-custom-header")
    assert_allowed_preflight(r, ORIGIN, {"x-custom-header"})


def test_preflight_without_requested_headers_allows_the_usual_two():
    r = preflight("/api/v1/accounts/me", ORIGIN, request_headers=None)
    assert_allowed_preflight(r, ORIGIN, {"authorization", "content-type"})


def test_preflight_needs_no_token():
    r = preflight("/api/v1/accounts/me", ORIGIN, method="DELETE")
    assert r.status_code == 204, r.headers


@pytest.mark.parametrize("path", ["/api/v1/accounts/me", "/api/v1/nope"])
def test_preflight_from_disallowed_origin(path):
    r = preflight(path, EVIL)
    assert_error(r, 400, "Disallowed CORS origin")
    assert cors_headers(r) == {}


def test_origin_match_is_exact():
    r = preflight("/api/v1/health", ORIGIN + ".evil.example")
    assert_error(r, 400, "Disallowed CORS origin")
    assert cors_headers(r) == {}


# ---------------------------------------------------------- other answers

def test_get_from_allowed_origin_carries_cors_headers():
    r = api("GET", "/health", headers={"Origin": ORIGIN})
    assert body(r, 200)["status"] == "ok"
    assert_cors_answer(r, ORIGIN)


def test_authenticated_get_from_allowed_origin(user):
    r = api("GET", "/accounts/me", token=user.access,
            headers={"Origin": OTHER_ALLOWED})
    assert body(r, 200) == user.account
    assert_cors_answer(r, OTHER_ALLOWED)


def test_error_answers_to_allowed_origin_carry_cors_headers():
    r = api("GET", "/accounts/me", headers={"Origin": ORIGIN})
    assert_not_authenticated(r)
    assert_cors_answer(r, ORIGIN)


def test_not_found_to_allowed_origin_carries_cors_headers():
    r = api("GET", "/nope", headers={"Origin": ORIGIN})
    assert_error(r, 404, "Not Found")
    assert_cors_answer(r, ORIGIN)


def test_get_from_disallowed_origin_has_no_cors_headers():
    r = api("GET", "/health", headers={"Origin": EVIL})
    assert body(r, 200)["status"] == "ok"
    assert cors_headers(r) == {}


def test_get_without_origin_has_no_cors_headers():
    r = api("GET", "/health")
    assert body(r, 200)["status"] == "ok"
    assert cors_headers(r) == {}
