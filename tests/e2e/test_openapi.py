"""docs/openapi.yaml against the service: the routes of chat-fcgi's router
table are the operations of the document, the web server serves the
document as JSON, and openapi_check (which chat_api.http() runs on every
answer of the suite) refuses answers the document does not give."""

import json
import os
import re

import pytest
import requests

import openapi_check
from chat_api import api, body, http

ROUTER = os.path.join(openapi_check.ROOT, "fcgi-app", "router.c")


def router_routes():
    """(METHOD, path) of each row of the routes[] table of router.c, its
    "*" segments as they are."""
    with open(ROUTER, encoding="utf-8") as f:
        source = f.read()
    table = re.search(r"static const struct route routes\[\] = \{(.*?)\n\};",
                      source, re.S)
    assert table, "no routes[] table in fcgi-app/router.c"
    rows = re.findall(r'\{\s*"([A-Z]+)",\s*"([^"]+)",', table.group(1))
    assert rows, "no rows in routes[]"
    return {(method, path.rstrip("/") or "/") for method, path in rows}


def documented_routes(doc):
    """(METHOD, path) of each operation of the document that chat-fcgi
    serves, a {parameter} written "*" as the router writes it."""
    found = set()
    for template, item in doc["paths"].items():
        path = re.sub(r"\{[^/]+\}", "*", template).rstrip("/") or "/"
        for method in openapi_check.METHODS:
            operation = item.get(method)
            if operation is not None and "x-served-by" not in operation:
                found.add((method.upper(), path))
    return found


def test_every_route_is_documented():
    missing = router_routes() - documented_routes(openapi_check.load())
    assert not missing, f"routes of fcgi-app/router.c missing from " \
        f"docs/openapi.yaml: {sorted(missing)}"


def test_every_documented_path_is_a_route():
    unknown = documented_routes(openapi_check.load()) - router_routes()
    assert not unknown, f"operations of docs/openapi.yaml that are no " \
        f"route of fcgi-app/router.c: {sorted(unknown)}"


def test_the_document_is_served_as_json():
    r = api("GET", "/openapi.json")
    assert body(r, 200) == openapi_check.load()


def test_every_operation_lists_its_errors():
    """Each operation answers the errors every request may get: 422 (a
    control character in the path or query), the database's 503, and the
    web server's own (default); authenticated ones 401 and 403."""
    doc = openapi_check.load()
    for template, item in doc["paths"].items():
        for method in openapi_check.METHODS:
            op = item.get(method)
            if op is None or "x-served-by" in op:
                continue
            where = f"{method.upper()} {template}"
            assert {"422", "503", "default"} <= set(op["responses"]), where
            if op.get("security") != []:
                assert {"401", "403"} <= set(op["responses"]), where


# ------------------------------------------------------ the checker itself

class Answer:
    """What openapi_check.check() reads of a requests.Response."""

    def __init__(self, method, path, status, payload, headers=None,
                 request_headers=None):
        self.status_code = status
        self.text = json.dumps(payload)
        self.headers = requests.structures.CaseInsensitiveDict(
            {"Content-Type": "application/json", **(headers or {})})
        self.request = requests.Request(
            method, "http://127.0.0.1/api/v1" + path,
            headers=request_headers or {}).prepare()


@pytest.mark.parametrize("answer", [
    # A status the operation does not list.
    Answer("GET", "/accounts/me", 409, {"detail": "Conflict"}),
    # A member the schema does not name.
    Answer("GET", "/health", 200, {"status": "ok", "database": "ok",
                                   "extra": 1}),
    # A required member missing.
    Answer("GET", "/chat/messages/unread-count", 200, {}),
    # An id not in lowercase.
    Answer("GET", "/chat/friends/online", 200,
           {"online_friends": ["0B7C1BD2-39AD-4D55-8F3E-3C2F4C0F4F11"]}),
    # A 401 without WWW-Authenticate.
    Answer("GET", "/accounts/me", 401, {"detail": "Not authenticated"}),
    # A 429 without Retry-After.
    Answer("POST", "/chat/messages", 429,
           {"detail": "Too many requests", "retry_after": 0.5}),
    # An unknown path that is not a 404.
    Answer("GET", "/nope", 200, {}),
    # A 422 that is not a list of {loc, msg, type}.
    Answer("GET", "/sync", 422, {"detail": "Invalid cursor"}),
], ids=["status", "member", "required", "uuid", "www-authenticate",
        "retry-after", "unknown-path", "422-shape"])
def test_the_checker_refuses_what_the_document_does_not_give(answer):
    with pytest.raises(AssertionError):
        openapi_check.check(answer)


@pytest.mark.parametrize("answer", [
    Answer("GET", "/accounts/me/", 401, {"detail": "Not authenticated"},
           headers={"WWW-Authenticate": "Bearer"}),
    Answer("DELETE", "/health", 405, {"detail": "Method Not Allowed"},
           headers={"Allow": "GET"}),
    Answer("OPTIONS", "/friends/list", 400,
           {"detail": "Disallowed CORS origin"},
           request_headers={"Origin": "http://x.example",
                            "Access-Control-Request-Method": "GET"}),
    Answer("GET", "/friends/list", 502, {"detail": "Bad Gateway"}),
], ids=["401", "405", "preflight", "web-server"])
def test_the_checker_takes_what_the_document_gives(answer):
    openapi_check.check(answer)


def test_answers_of_the_suite_pass_through_the_checker(viewer):
    """chat_api.http() checks: an answer it lets through is valid."""
    r = http("GET", "/api/v1/accounts/me", token=viewer.access)
    assert body(r, 200)["account_id"] == viewer.account_id
