"""The seed's own WebSocket clients, unchanged (CONTRACT: "Clients written
against the seed ... must work unchanged"): its JavaScript client's flow,
and its Python client example, through the web server."""

import asyncio
import json
import urllib.parse

import websockets

from chat_api import message_row, new_friends, public_of
from ws_client import WAIT, session, without_cursor, ws_test, ws_url


def seed_uri(token):
    """The seed's URI, with this stack's host and port for localhost:8000."""
    host = urllib.parse.urlsplit(ws_url()).netloc
    return f"ws://{host}/api/v1/chat/ws/chat?token={token}"


class SeedJsClient:
    """The seed's JavaScript client, line by line: new WebSocket(url),
    onmessage parsing JSON and switching on data.type (ignoring the rest),
    sendMessage and sendTypingIndicator without temp_id."""

    def __init__(self, token):
        self.token = token
        self.log = []            # what its console.log would print
        self.data = []           # every parsed frame

    async def open(self):
        self.ws = await websockets.connect(seed_uri(self.token),
                                           open_timeout=WAIT)
        self.log.append("Connected to chat server")      # ws.onopen
        self.reader = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        async for event_data in self.ws:                  # ws.onmessage
            data = json.loads(event_data)
            self.data.append(data)
            if data["type"] == "new_message":
                self.log.append(f"New message from "
                                f"{data['message']['sender']['username']}: "
                                f"{data['message']['content']}")
            elif data["type"] == "typing_indicator":
                self.log.append(f"User {data['user_id']} is typing: "
                                f"{str(data['is_typing']).lower()}")
            elif data["type"] == "connection_established":
                self.log.append("Connection established")

    async def send_message(self, receiver_id, content):
        await self.ws.send(json.dumps({"type": "send_message",
                                       "receiver_id": receiver_id,
                                       "content": content}))

    async def send_typing_indicator(self, receiver_id, is_typing):
        await self.ws.send(json.dumps({"type": "typing",
                                       "receiver_id": receiver_id,
                                       "is_typing": is_typing}))

    async def wait_for(self, predicate, timeout=WAIT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for data in self.data:
                if predicate(data):
                    return data
            assert loop.time() < deadline, \
                f"nothing matching within {timeout} s: {self.data}"
            await asyncio.sleep(0.02)

    async def close(self):
        await self.ws.close()
        await asyncio.wait_for(self.reader, WAIT)


@ws_test
async def test_seed_javascript_client_flow(db):
    a, b = new_friends(full_name="Sender Name")
    alice, bob = SeedJsClient(a.access), SeedJsClient(b.access)
    await alice.open()
    await bob.open()
    await alice.wait_for(lambda d: d["type"] == "connection_established")
    await bob.wait_for(lambda d: d["type"] == "connection_established")
    assert without_cursor(alice.data[0]) == {
        "type": "connection_established", "user_id": a.account_id,
        "message": "Connected to chat server"}

    await alice.send_message(b.account_id, "Hello from the browser")
    sent = await alice.wait_for(lambda d: d["type"] == "message_sent")
    assert sent["status"] == "sent"
    assert set(sent) == {"type", "message_id", "status", "created_at"}
    received = await bob.wait_for(lambda d: d["type"] == "new_message")
    message = received["message"]
    assert message["message_id"] == sent["message_id"]
    assert message["content"] == "Hello from the browser"
    assert message["sender"] == public_of(a)
    assert message["status"] == "delivered"
    assert f"New message from {a.username}: Hello from the browser" \
        in bob.log
    assert message_row(db, sent["message_id"])["content"] == \
        "Hello from the browser"

    await alice.send_typing_indicator(b.account_id, True)
    await bob.wait_for(lambda d: d["type"] == "typing_indicator")
    assert f"User {a.account_id} is typing: true" in bob.log
    assert bob.log[:2] == ["Connected to chat server",
                           "Connection established"]
    await alice.close()
    await bob.close()


@ws_test
async def test_seed_python_client_example():
    a, b = new_friends()
    friend = await session(b)
    received = []

    # The seed's example, with its token, URI and friend filled in, its
    # print() kept in a list, and its endless loop ended by the reply.
    async def chat_client():
        token = a.access
        uri = seed_uri(token)

        async with websockets.connect(uri) as websocket:
            # Send a message
            message = {
                "type": "send_message",
                "receiver_id": b.account_id,
                "content": "Hello from Python!"
            }
            await websocket.send(json.dumps(message))

            # Listen for responses
            while True:
                response = await websocket.recv()
                data = json.loads(response)
                received.append(data)           # print(f"Received: {data}")
                if data["type"] == "message_sent":
                    break

    await asyncio.wait_for(chat_client(), WAIT * 2)
    types = [data["type"] for data in received]
    assert types[0] == "connection_established", received
    assert "online_friends" in types, received
    assert types[-1] == "message_sent", received
    sent = received[-1]
    assert sent["status"] == "sent"
    frame = await friend.expect("new_message")
    assert frame["message"]["message_id"] == sent["message_id"]
    assert frame["message"]["content"] == "Hello from Python!"
    assert frame["message"]["sender"]["username"] == a.username
    await friend.close()
