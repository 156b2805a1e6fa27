"""Every answer the end-to-end suite receives, held to docs/openapi.yaml.

chat_api.http() hands each response to check(). An answer under /api/v1
must be one that the document gives for its path and method: a status the
operation lists (or one of its `default`, the web server's own errors,
whose statuses are `x-statuses` of that response), with a body valid
against the schema of that status, and the headers marked required. A
path that is none of the document's answers components/responses/NotFound,
another method of a known path MethodNotAllowed, a CORS preflight
Preflight, and any path may answer Invalid (a control character in its
path or query), TooLarge and the web server's errors.

Objects are checked strictly: a member that the document does not name
fails (the document keeps clients free to ignore new members, but this
service must not send members it does not document). Schemas are JSON
Schema 2020-12 (OpenAPI 3.1), checked with python3-jsonschema.
"""

import copy
import json
import os
import re
import urllib.parse
import warnings

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOCUMENT = os.path.join(ROOT, "docs", "openapi.yaml")
ASYNCAPI = os.path.join(ROOT, "docs", "asyncapi.yaml")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")


def load(path=DOCUMENT):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def strict(node):
    """node with every object schema closed to members it does not name."""
    if isinstance(node, dict):
        node = {k: strict(v) for k, v in node.items()}
        if node.get("type") == "object" and isinstance(
                node.get("properties"), dict) and \
                "additionalProperties" not in node and \
                "unevaluatedProperties" not in node:
            node["unevaluatedProperties"] = False
        return node
    if isinstance(node, list):
        return [strict(v) for v in node]
    return node


def template_regex(template):
    """The regex of a path template: a {parameter} is one segment."""
    parts = [r"[^/]+" if re.fullmatch(r"\{[^/]+\}", seg) else re.escape(seg)
             for seg in template.strip("/").split("/")]
    return re.compile("^/" + "/".join(parts) + "/?$")


def template_rank(template):
    """Literal segments before parameters, as the router tries them."""
    return [1 if seg.startswith("{") else 0
            for seg in template.strip("/").split("/")]


class Document:
    """docs/openapi.yaml, ready to check answers against."""

    def __init__(self, doc=None):
        self.doc = strict(copy.deepcopy(doc if doc is not None else load()))
        self.prefix = self.doc["servers"][0]["url"].rstrip("/")
        self.templates = sorted(
            ((template_rank(t), t, template_regex(t))
             for t in self.doc["paths"]), key=lambda x: x[0])
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.validators = {}
        self.websocket_paths = websocket_paths()

    def ref(self, node):
        """A $ref within the document, followed."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"]
            assert pointer.startswith("#/"), pointer
            node = self.doc
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def response(self, name):
        return self.ref({"$ref": f"#/components/responses/{name}"})

    def operation(self, path, method):
        """(template, operation) of an API path below the prefix; operation
        None for a known path without that method; (None, None) for an
        unknown path."""
        known = None
        for _, template, regex in self.templates:
            if not regex.match(path):
                continue
            known = known or template
            operation = self.doc["paths"][template].get(method.lower())
            if operation is not None:
                return template, operation
        return known, None

    def validate(self, schema, instance):
        key = id(schema)
        validator = self.validators.get(key)
        if validator is None:
            validator = jsonschema.Draft202012Validator(
                schema, resolver=self.resolver,
                format_checker=jsonschema.FormatChecker())
            self.validators[key] = (schema, validator)
        else:
            validator = validator[1]
        errors = sorted(validator.iter_errors(instance),
                        key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: "
                f"{e.message}" for e in errors[:5]]

    def expected(self, path, method, status, headers):
        """(what, response object) the document gives for this answer,
        or (what, None) when it gives none."""
        if method == "OPTIONS" and "Origin" in headers and \
                "Access-Control-Request-Method" in headers:
            preflight = self.response("Preflight")
            if status in preflight["x-statuses"]:
                return "a CORS preflight", preflight
            return "a CORS preflight", None
        template, operation = self.operation(path, method)
        if operation is not None:
            what = f"{method} {template}"
            responses = operation["responses"]
            if str(status) in responses:
                return what, self.ref(responses[str(status)])
        elif template is not None:
            what = f"{method} {template} (not a method of the path)"
            if status == 405:
                return what, self.response("MethodNotAllowed")
        else:
            what = "an unknown path"
            if status == 404:
                return what, self.response("NotFound")
        # Answers of any path.
        if status == 422:
            return what, self.response("Invalid")
        if status == 413:
            return what, self.response("TooLarge")
        fallback = self.response("WebServerError")
        if status in fallback["x-statuses"]:
            return what, fallback
        return what, None

    def problems(self, method, url, status, headers, content_type, text,
                 request_headers):
        """What is wrong with one answer, as a list of lines (empty: it is
        one the document gives)."""
        path = urllib.parse.urlsplit(url).path
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return []           # not the API: the web client, /docs
        path = path[len(self.prefix):] or "/"
        if any(path.startswith(p) for p in self.websocket_paths):
            return []           # a handshake: docs/asyncapi.yaml
        what, response = self.expected(path, method, status,
                                       request_headers)
        if response is None:
            return [f"{what}: status {status} is not in docs/openapi.yaml"]
        found = []
        for name, header in (response.get("headers") or {}).items():
            header = self.ref(header)
            value = headers.get(name)
            if value is None:
                if header.get("required"):
                    found.append(f"{what} {status}: no {name} header")
                continue
            schema = header.get("schema", {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    found.append(f"{what} {status}: {name}: {value!r} "
                                 "is not an integer")
                    continue
            found += [f"{what} {status}: header {name}: {p}"
                      for p in self.validate(schema, value)]
        content = response.get("content")
        if status == 204 or not content:
            if text:
                found.append(f"{what} {status}: a body where none is "
                             "documented")
            return found
        media = content_type.split(";")[0].strip().lower()
        if media not in content:
            return found + [f"{what} {status}: Content-Type {content_type!r}"
                            f", documented: {', '.join(content)}"]
        try:
            instance = json.loads(text)
        except ValueError:
            return found + [f"{what} {status}: the body is not JSON"]
        return found + [f"{what} {status}: {p}" for p in self.validate(
            content[media]["schema"], instance)]


def websocket_paths():
    """Paths below /api/v1 that are WebSocket handshakes (their answers
    are those of the push daemons, described in docs/asyncapi.yaml)."""
    if not os.path.exists(ASYNCAPI):
        return ("/chat/ws/", "/group-chat/ws/")
    doc = load(ASYNCAPI)
    return tuple(channel["address"].split("{")[0]
                 for channel in doc["channels"].values())


_DOCUMENT = None


def document():
    global _DOCUMENT
    if _DOCUMENT is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            _DOCUMENT = Document()
    return _DOCUMENT


def check(r):
    """Assert that a requests.Response is an answer docs/openapi.yaml
    gives for its request."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        found = document().problems(
            r.request.method, r.request.url, r.status_code, r.headers,
            r.headers.get("Content-Type", ""), r.text, r.request.headers)
    assert not found, (
        "the answer is not the one docs/openapi.yaml gives:\n  "
        + "\n  ".join(found)
        + f"\n{r.request.method} {r.request.url} -> {r.status_code} "
        f"{r.text[:600]!r}")
