"""GET /api/v1/accounts/{account_id}: a PublicAccount."""

import pytest

from chat_api import (PUBLIC_KEYS, api, assert_422, assert_error,
                      assert_not_authenticated, bad_uuid, body,
                      create_account, public_view, random_uuid)


def get_account(account_id, token):
    return api("GET", f"/accounts/{account_id}", token=token)


def test_answers_the_public_account(viewer):
    target = create_account(full_name="Pub Lic",
                            avatar="https://example.com/p.png")
    found = body(get_account(target["account_id"], viewer.access), 200)
    assert set(found) == PUBLIC_KEYS
    assert found == public_view(target)


def test_never_shows_the_email(viewer):
    target = create_account()
    r = get_account(target["account_id"], viewer.access)
    assert "email" not in body(r, 200)
    assert target["email"] not in r.text


def test_own_account_is_public_view_too(user):
    assert body(get_account(user.account_id, user.access), 200) == \
        public_view(user.account)


def test_uppercase_id_is_answered_in_lowercase(viewer):
    target = create_account()
    r = get_account(target["account_id"].upper(), viewer.access)
    assert body(r, 200)["account_id"] == target["account_id"]


def test_unknown_account(viewer):
    assert_error(get_account(random_uuid(), viewer.access), 404,
                 "Account not found")


@pytest.mark.parametrize("bad_id", [
    "not-a-uuid",
    "12345",
    "0123456789abcdef0123456789abcdef0",
    "0123456-89ab-cdef-0123-456789abcdef0",
    "g1234567-89ab-cdef-0123-456789abcdef",
    "01234567-89ab-cdef-0123-456789abcde",
    "01234567-89ab-cdef-0123-456789abcdef0",
])
def test_malformed_id(viewer, bad_id):
    assert_422(get_account(bad_id, viewer.access),
               bad_uuid("path", "account_id"))


def test_no_token():
    assert_not_authenticated(api("GET", f"/accounts/{random_uuid()}"))


def test_no_token_with_malformed_id():
    assert_not_authenticated(api("GET", "/accounts/not-a-uuid"))
