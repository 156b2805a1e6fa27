"""GET /api/v1/health (CONTRACT §9)."""

from chat_api import api, body


def test_health_answers_ok_without_token():
    r = api("GET", "/health")
    assert body(r, 200) == {"status": "ok", "database": "ok"}


def test_health_ignores_a_valid_token(viewer):
    r = api("GET", "/health", token=viewer.access)
    assert body(r, 200) == {"status": "ok", "database": "ok"}
