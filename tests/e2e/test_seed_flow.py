"""The seed's own test flow (SEED "Testing": python test_chat_api.py), as a
client of the original makes it, with nothing but plain HTTP: register two
users, log in with the OAuth2 form, befriend, list friends at
/friends/ (trailing slash), send, read history with no query string."""

import requests

from chat_api import (API, MESSAGE_KEYS, PUBLIC_KEYS, TIMEOUT, base_url,
                      parse_time, unique_email, unique_username)


def test_seed_flow():
    url = base_url() + API
    s = requests.Session()

    def call(method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return s.request(method, url + path, headers=headers,
                         timeout=TIMEOUT, allow_redirects=False, **kwargs)

    users = []
    for name in ("Alice", "Bob"):
        data = {"username": unique_username(), "email": unique_email(),
                "password": "testpass123", "full_name": f"{name} Test"}
        r = call("POST", "/accounts/", json=data)
        assert r.status_code == 201, r.text
        account = r.json()
        # Log in the way FastAPI's OAuth2PasswordRequestForm expects.
        r = call("POST", "/auth/access-token",
                 data={"username": data["username"],
                       "password": data["password"]})
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json")
        tokens = r.json()
        assert tokens["token_type"] == "bearer"
        users.append((account, tokens["access_token"]))
    (alice, alice_token), (bob, bob_token) = users

    r = call("POST", "/friends/request", alice_token,
             json={"receiver_id": bob["account_id"]})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending"
    r = call("POST", f"/friends/accept/{alice['account_id']}", bob_token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"

    r = call("GET", "/friends/", alice_token)
    assert r.status_code == 200, r.text
    friends = r.json()
    assert [f["account_id"] for f in friends] == [bob["account_id"]]
    assert set(friends[0]) == PUBLIC_KEYS
    assert friends[0]["full_name"] == "Bob Test"

    r = call("POST", "/chat/messages/", alice_token,
             json={"receiver_id": bob["account_id"],
                   "content": "Hello from the test script!"})
    assert r.status_code == 201, r.text
    message = r.json()
    assert set(message) == MESSAGE_KEYS
    assert message["status"] == "sent"
    assert message["read_at"] is None
    assert message["is_deleted"] is False
    assert message["sender"]["username"] == alice["username"]
    assert message["receiver"]["username"] == bob["username"]
    assert parse_time(message["updated_at"]) >= \
        parse_time(message["created_at"])

    r = call("GET", f"/chat/messages/history/{bob['account_id']}",
             alice_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"messages": [message], "total": 1, "skip": 0,
                        "limit": 50}

    r = call("GET", f"/chat/messages/history/{alice['account_id']}",
             bob_token)
    assert r.status_code == 200, r.text
    assert r.json()["messages"] == [message]

    r = call("GET", "/chat/messages/unread-count", bob_token)
    assert r.status_code == 200 and r.json() == {"unread_count": 1}, r.text
    r = call("PUT", f"/chat/messages/{message['message_id']}/read",
             bob_token)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "read"
    r = call("GET", "/chat/messages/unread-count", bob_token)
    assert r.status_code == 200 and r.json() == {"unread_count": 0}, r.text
    r = call("GET", "/chat/friends/online", alice_token)
    assert r.status_code == 200 and r.json() == {"online_friends": []}, \
        r.text
    r = call("GET", "/group-chat/my-groups", alice_token)
    assert r.status_code == 200 and r.json() == [], r.text
