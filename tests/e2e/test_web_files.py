"""The static files the web server serves beside the API (web/, built by
./stack): the reference pages at /docs/ and the web client at /, behind
each web server. What they do in a browser: tests/browser/."""

import json

import pytest

import openapi_check
from chat_api import http


def media(r):
    return r.headers.get("Content-Type", "").split(";")[0].strip()


# JavaScript's type: RFC 9239's, or the older one of Debian's
# /etc/nginx/mime.types (which a deployment's nginx uses); browsers run
# modules of either.
JS = {"text/javascript", "application/javascript"}


@pytest.mark.parametrize("path,kind", [
    ("/", "text/html"),
    ("/assets/app.js", JS),
    ("/assets/app.css", "text/css"),
    ("/docs/", "text/html"),
    ("/docs/index.html", "text/html"),
    ("/docs/websocket.html", "text/html"),
    ("/docs/rest.js", JS),
    ("/docs/swagger-ui-bundle.js", JS),
    ("/docs/swagger-ui.css", "text/css"),
    ("/docs/asyncapi-standalone.js", JS),
])
def test_the_client_and_the_reference_are_served(path, kind):
    r = http("GET", path)
    assert r.status_code == 200, path
    assert media(r) in (kind if isinstance(kind, set) else {kind}), \
        (path, r.headers)


def test_docs_without_its_slash_is_sent_to_it():
    r = http("GET", "/docs")
    assert r.status_code == 301
    assert r.headers["Location"].endswith("/docs/")


def test_the_websocket_reference_is_the_bundled_document():
    r = http("GET", "/docs/asyncapi.json")
    assert r.status_code == 200
    assert media(r) == "application/json"
    served = r.json()
    written = openapi_check.load(openapi_check.ASYNCAPI)
    assert served["asyncapi"] == written["asyncapi"]
    assert served["channels"].keys() == written["channels"].keys()
    assert served["components"]["messages"].keys() == \
        written["components"]["messages"].keys()
    # The schemas taken from openapi.yaml are in it: no reference leaves it.
    assert "openapi.yaml#" not in json.dumps(served)


def test_an_unknown_file_of_the_reference_is_not_found():
    assert http("GET", "/docs/nope.js").status_code == 404
