"""GET /api/v1/accounts/me and the authentication rules of docs/API.md."""

import pytest

from chat_api import (api, assert_account, assert_bad_credentials,
                      assert_error, assert_not_authenticated, assert_status,
                      body, b64url, expired, get_me, random_uuid, set_active)


def me_with_header(value):
    return api("GET", "/accounts/me", headers={"Authorization": value})


def test_me_answers_the_callers_account(user):
    account = body(get_me(user.access), 200)
    assert_account(account, user.username, user.email)
    assert account == user.account


def test_forged_valid_access_token_is_accepted(user, forge):
    """Control for the forged refusals below: the forger signs correctly."""
    assert body(get_me(forge(user.account_id)), 200) == user.account


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_bearer_scheme_is_case_insensitive(user, scheme):
    r = me_with_header(f"{scheme} {user.access}")
    assert body(r, 200)["account_id"] == user.account_id


# ------------------------------------------------------- Not authenticated

def test_no_authorization_header():
    assert_not_authenticated(api("GET", "/accounts/me"))


@pytest.mark.parametrize("value", ["Basic xyz", "Basic dXNlcjpwYXNz",
                                   "Token abc", "xyz"])
def test_authorization_not_bearer(value):
    assert_not_authenticated(me_with_header(value))


def test_valid_token_without_scheme_word(user):
    assert_not_authenticated(me_with_header(user.access))


# ------------------------------------------ Could not validate credentials

@pytest.mark.parametrize("token", ["garbage", "a.b.c", "a.b", "....",
                                   "eyJhbGciOiJIUzI1NiJ9.e30.",
                                   "Zm9v.YmFy.YmF6"])
def test_malformed_token(token):
    assert_bad_credentials(me_with_header(f"Bearer {token}"))


def test_truncated_token(user):
    assert_bad_credentials(get_me(user.access[:-4]))


def test_expired_token(user):
    assert_bad_credentials(get_me(expired(user.account_id)))


def test_refresh_token_is_not_an_access_token(user):
    assert_bad_credentials(get_me(user.refresh))


def test_forged_refresh_type_is_refused(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id, "refresh")))


def test_token_without_type(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id, type=None)))


def test_hs512_token_with_the_same_secret(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id, alg="HS512")))


def test_hs384_token_with_the_same_secret(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id, alg="HS384")))


def test_alg_none_with_empty_signature_part(user, forge):
    token = forge(user.account_id, alg="none")
    assert token.endswith(".")
    assert_bad_credentials(get_me(token))


def test_alg_none_without_signature_part(user, forge):
    token = forge(user.account_id, alg="none").rstrip(".")
    assert_bad_credentials(get_me(token))


def test_alg_none_keeping_a_real_signature(user, forge):
    real = forge(user.account_id)
    none = forge(user.account_id, alg="none")
    assert_bad_credentials(get_me(none + real.split(".")[2]))


def test_token_signed_with_another_key(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id,
                                        key=b"not the secret" * 3)))


def test_token_with_tampered_claims(user, forge):
    header, _, signature = user.access.split(".")
    other = forge(random_uuid()).split(".")[1]
    assert_bad_credentials(get_me(f"{header}.{other}.{signature}"))


def test_token_with_garbage_signature(user):
    header, payload, _ = user.access.split(".")
    assert_bad_credentials(get_me(f"{header}.{payload}.{b64url(b'x' * 32)}"))


@pytest.mark.parametrize("sub", ["not-a-uuid", "12345", ""])
def test_token_with_sub_not_a_uuid(forge, sub):
    assert_bad_credentials(get_me(forge(sub)))


def test_token_with_numeric_sub(forge):
    assert_bad_credentials(get_me(forge(12345)))


def test_token_without_sub(user, forge):
    assert_bad_credentials(get_me(forge(user.account_id, sub=None)))


def test_token_of_unknown_account(forge):
    assert_bad_credentials(get_me(forge(random_uuid())))


# ---------------------------------------------------------------- inactive

def test_inactive_account_is_forbidden(user, db):
    set_active(db, user.account_id, False)
    assert_error(get_me(user.access), 403, "Inactive user")


# --------------------------------------------------- tokens verified before
# chat-fcgi remembers the access tokens it has verified
# (fcgi-app/token_cache.c). Each test first uses the token a dozen times,
# so that the processes serving the requests after it have most likely
# kept it; what follows must be answered as if they had not.

def use_everywhere(token, path="/accounts/me", status=200):
    for _ in range(12):
        assert_status(api("GET", path, token=token), status)


def test_a_used_token_altered_in_its_signature_is_refused(user):
    use_everywhere(user.access)
    header, payload, signature = user.access.split(".")
    i = len(signature) // 2
    altered = (signature[:i] + ("A" if signature[i] != "A" else "B") +
               signature[i + 1:])
    assert_bad_credentials(get_me(f"{header}.{payload}.{altered}"))
    assert_bad_credentials(get_me(f"{header}.{payload}.{signature}A"))
    assert body(get_me(user.access), 200) == user.account


def test_a_used_token_of_an_account_made_inactive_is_forbidden(user, db):
    use_everywhere(user.access)
    set_active(db, user.account_id, False)
    assert_error(get_me(user.access), 403, "Inactive user")


def test_a_used_token_on_a_page_route_of_an_inactive_account(user, db):
    """History checks its caller in its own statement (ROUTE_TOKEN): a
    remembered token does not skip that check either."""
    path = f"/chat/messages/history/{random_uuid()}"
    use_everywhere(user.access, path, 404)
    set_active(db, user.account_id, False)
    assert_error(api("GET", path, token=user.access), 403, "Inactive user")
