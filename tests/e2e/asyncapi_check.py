"""Every frame the end-to-end suite receives on a WebSocket, held to
docs/asyncapi.yaml.

ws_client.Conn hands each frame here as it arrives. A frame must be one of
the messages the document has the server send on the connection's channel
(the `send` operations and the replies of the `receive` ones), chosen by
its `type`, and valid against that message's payload: JSON Schema, with
the payloads that docs/openapi.yaml defines (the frames of the caller's
stream, the objects in them) referred to there. As in openapi_check, an
object may hold no member the document does not name.
"""

import os
import warnings

import jsonschema

import openapi_check

DOCUMENT = openapi_check.ASYNCAPI


def uri(path):
    return "file://" + os.path.abspath(path)


class Document:
    """docs/asyncapi.yaml, ready to check frames against."""

    def __init__(self):
        self.doc = openapi_check.strict(openapi_check.load(DOCUMENT))
        rest = openapi_check.strict(openapi_check.load())
        self.resolver = jsonschema.RefResolver(
            uri(DOCUMENT), self.doc,
            store={uri(openapi_check.DOCUMENT): rest})
        self.by_channel = {name: self.server_messages(name)
                           for name in self.doc["channels"]}

    def follow(self, ref):
        """A message of this document, from a $ref into it."""
        node = self.doc
        for part in ref["$ref"][2:].split("/"):
            node = node[part]
        return self.follow(node) if "$ref" in node else node

    def server_messages(self, channel):
        """{type: [payload schema...]} of the frames the server sends on
        a channel."""
        found = {}
        for op in self.doc["operations"].values():
            if op["channel"]["$ref"] != f"#/channels/{channel}":
                continue
            refs = op["messages"] if op["action"] == "send" else \
                (op.get("reply") or {}).get("messages", [])
            for ref in refs:
                payload = self.follow(ref)["payload"]
                for type_ in self.types(payload):
                    found.setdefault(type_, []).append(payload)
        return found

    def types(self, schema):
        """The values of `type` a payload allows."""
        with self.resolver.resolving(schema.get("$ref", "#")) if \
                "$ref" in schema else _same(schema) as target:
            prop = target["properties"]["type"]
            return [prop["const"]] if "const" in prop else prop["enum"]

    def problems(self, frame, channel="chat"):
        if not isinstance(frame, dict) or "type" not in frame:
            return [f"not a JSON object with a type: {frame!r}"]
        payloads = self.by_channel[channel].get(frame["type"])
        if not payloads:
            return [f"type {frame['type']!r} is not a frame the server "
                    f"sends on channel {channel!r}"]
        found = []
        for payload in payloads:
            errors = self.validate(payload, frame)
            if not errors:
                return []
            found += errors
        return found

    def validate(self, payload, frame):
        """What is wrong with frame as payload says (empty: nothing)."""
        validator = jsonschema.Draft202012Validator(
            payload, resolver=self.resolver,
            format_checker=jsonschema.FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '(frame)'}:"
                f" {e.message}" for e in validator.iter_errors(frame)][:5]


class _same:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        return False


_DOCUMENT = None


def document():
    global _DOCUMENT
    if _DOCUMENT is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            _DOCUMENT = Document()
    return _DOCUMENT


def problems(frame, channel="chat"):
    """What is wrong with one frame received on channel (empty: it is one
    docs/asyncapi.yaml gives)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return document().problems(frame, channel)
