"""POST /api/v1/auth/refresh-token: a new pair for a valid refresh token."""

import pytest

from chat_api import (ACCESS_SECONDS, TOKEN_KEYS, assert_422, assert_error,
                      assert_unauthorized, body, decode_jwt, expired,
                      field_required, get_me, not_a_dict, post_json, post_raw,
                      random_uuid, refresh, set_active,
                      str_expected, unsupported_content_type)


def assert_new_pair(r):
    tokens = body(r, 200)
    assert set(tokens) == TOKEN_KEYS, tokens
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == ACCESS_SECONDS
    return tokens


def assert_invalid_refresh(r):
    assert_unauthorized(r, "Invalid refresh token")


def test_refresh_answers_a_working_pair(user):
    tokens = assert_new_pair(refresh(user.refresh))
    assert body(get_me(tokens["access_token"]), 200) == user.account


def test_refreshed_tokens_have_the_right_types(user):
    tokens = assert_new_pair(refresh(user.refresh))
    access = decode_jwt(tokens["access_token"])[1]
    renewed = decode_jwt(tokens["refresh_token"])[1]
    assert (access["type"], access["sub"]) == ("access", user.account_id)
    assert access["user_id"] == user.account_id
    assert (renewed["type"], renewed["sub"]) == ("refresh", user.account_id)


def test_refreshed_refresh_token_refreshes_again(user):
    tokens = assert_new_pair(refresh(user.refresh))
    assert_new_pair(refresh(tokens["refresh_token"]))


def test_forged_valid_refresh_token_is_accepted(user, forge):
    """Control for the forged refusals below: the forger signs correctly."""
    assert_new_pair(refresh(forge(user.account_id, "refresh")))


def test_trailing_slash(user):
    assert_new_pair(refresh(user.refresh, path="/auth/refresh-token/"))


def test_access_token_is_not_a_refresh_token(user):
    assert_invalid_refresh(refresh(user.access))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "....",
                                   "eyJhbGciOiJIUzI1NiJ9.e30."])
def test_malformed_refresh_token(token):
    assert_invalid_refresh(refresh(token))


def test_truncated_refresh_token(user):
    assert_invalid_refresh(refresh(user.refresh[:-4]))


def test_expired_refresh_token(user):
    assert_invalid_refresh(refresh(expired(user.account_id, "refresh")))


def test_hs512_refresh_token_with_the_same_secret(user, forge):
    assert_invalid_refresh(refresh(forge(user.account_id, "refresh",
                                         alg="HS512")))


def test_alg_none_refresh_token(user, forge):
    token = forge(user.account_id, "refresh", alg="none")
    assert_invalid_refresh(refresh(token))
    assert_invalid_refresh(refresh(token.rstrip(".")))


def test_refresh_token_signed_with_another_key(user, forge):
    token = forge(user.account_id, "refresh", key=b"another key" * 4)
    assert_invalid_refresh(refresh(token))


def test_refresh_token_with_tampered_claims(user, forge):
    header, payload, signature = user.refresh.split(".")
    other = forge(random_uuid(), "refresh").split(".")[1]
    assert_invalid_refresh(refresh(f"{header}.{other}.{signature}"))


def test_refresh_token_without_type(user, forge):
    assert_invalid_refresh(refresh(forge(user.account_id, "refresh",
                                         type=None)))


def test_refresh_token_with_non_uuid_sub(forge):
    assert_invalid_refresh(refresh(forge("not-a-uuid", "refresh")))


def test_refresh_token_of_unknown_account(forge):
    assert_invalid_refresh(refresh(forge(random_uuid(), "refresh")))


def test_refresh_token_of_inactive_account(user, db):
    set_active(db, user.account_id, False)
    assert_error(refresh(user.refresh), 403, "Inactive user")


# ------------------------------------------------------------------- 422

def test_missing_refresh_token_field():
    assert_422(post_json("/auth/refresh-token", {}),
               field_required("body", "refresh_token"))


def test_null_refresh_token_field():
    assert_422(post_json("/auth/refresh-token", {"refresh_token": None}),
               field_required("body", "refresh_token"))


def test_refresh_token_of_wrong_type():
    assert_422(post_json("/auth/refresh-token", {"refresh_token": 12}),
               str_expected("body", "refresh_token"))


def test_empty_body():
    assert_422(post_raw("/auth/refresh-token", b""), field_required("body"))


def test_json_array_body():
    assert_422(post_raw("/auth/refresh-token", b'["x"]'), not_a_dict())


def test_unaccepted_content_type():
    r = post_raw("/auth/refresh-token", b"refresh_token=x", "text/plain")
    assert_422(r, unsupported_content_type())
