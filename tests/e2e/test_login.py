"""POST /api/v1/auth/access-token: form and JSON login, tokens, refusals."""

import time

import pytest

from chat_api import (ACCESS_SECONDS, REFRESH_SECONDS, TOKEN_KEYS, api,
                      assert_422, assert_error, assert_unauthorized, body,
                      create_account, decode_jwt, field_required, get_me,
                      login_form, login_json, not_a_dict, post_raw,
                      registration, register, set_active,
                      str_expected, unique_email, unique_username,
                      unsupported_content_type)

USERNAME = ("body", "username")
PASSWORD = ("body", "password")


def assert_tokens(r):
    """A token answer; return it."""
    tokens = body(r, 200)
    assert set(tokens) == TOKEN_KEYS, tokens
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == ACCESS_SECONDS
    return tokens


def account_with(password="login-Passw0rd", **fields):
    """Register an account; return (registration body, Account)."""
    data = registration(password=password, **fields)
    return data, body(register(data), 201)


def assert_wrong_credentials(r):
    assert_unauthorized(r, "Incorrect username or password")


# ------------------------------------------------------------------ success

def test_form_login_by_username():
    data, account = account_with()
    tokens = assert_tokens(login_form(data["username"], data["password"]))
    assert body(get_me(tokens["access_token"]), 200) == account


def test_json_login_by_username():
    data, account = account_with()
    tokens = assert_tokens(login_json(data["username"], data["password"]))
    assert body(get_me(tokens["access_token"]), 200) == account


def test_form_login_with_oauth2_fields_present():
    data, _ = account_with()
    r = login_form(data["username"], data["password"], grant_type="password",
                   scope="", client_id="", client_secret="")
    assert_tokens(r)


@pytest.mark.parametrize("login", [login_form, login_json])
def test_login_by_email(login):
    data, account = account_with()
    tokens = assert_tokens(login(data["email"], data["password"]))
    assert decode_jwt(tokens["access_token"])[1]["sub"] == \
        account["account_id"]


@pytest.mark.parametrize("change", [str.lower, str.upper, str.swapcase])
def test_login_username_is_case_insensitive(change):
    data, account = account_with(username=unique_username(prefix="CaSe"))
    tokens = assert_tokens(login_form(change(data["username"]),
                                      data["password"]))
    assert decode_jwt(tokens["access_token"])[1]["sub"] == \
        account["account_id"]


def test_login_email_is_case_insensitive():
    data, account = account_with(email="Mail" + unique_email())
    tokens = assert_tokens(login_form(data["email"].upper(),
                                      data["password"]))
    assert decode_jwt(tokens["access_token"])[1]["sub"] == \
        account["account_id"]


def test_form_login_decodes_special_characters_in_password():
    data, _ = account_with(password="p@ss w+rd&=%é?")
    assert_tokens(login_form(data["username"], "p@ss w+rd&=%é?"))


def test_login_trailing_slash_and_json_with_charset():
    data, _ = account_with()
    raw = ('{"username": "%s", "password": "%s"}'
           % (data["username"], data["password"])).encode()
    r = post_raw("/auth/access-token/", raw, "application/json; charset=utf-8")
    assert_tokens(r)


# ------------------------------------------------------------------- tokens

def test_access_token_header_and_claims():
    data, account = account_with()
    before = int(time.time())
    tokens = assert_tokens(login_form(data["username"], data["password"]))
    header, claims = decode_jwt(tokens["access_token"])
    assert header["alg"] == "HS256"
    assert claims["sub"] == account["account_id"]
    assert claims["user_id"] == account["account_id"]
    assert claims["type"] == "access"
    assert before - 60 <= claims["iat"] <= time.time() + 60
    assert claims["exp"] - claims["iat"] == ACCESS_SECONDS


def test_refresh_token_header_and_claims():
    data, account = account_with()
    tokens = assert_tokens(login_form(data["username"], data["password"]))
    header, claims = decode_jwt(tokens["refresh_token"])
    assert header["alg"] == "HS256"
    assert claims["sub"] == account["account_id"]
    assert claims["type"] == "refresh"
    assert abs(claims["exp"] - claims["iat"] - REFRESH_SECONDS) <= 60
    assert abs(claims["iat"] - time.time()) <= 60


def test_access_and_refresh_tokens_differ():
    data, _ = account_with()
    tokens = assert_tokens(login_form(data["username"], data["password"]))
    assert tokens["access_token"] != tokens["refresh_token"]


# -------------------------------------------------------------- refusals

@pytest.mark.parametrize("login", [login_form, login_json])
def test_wrong_password(login):
    data, _ = account_with()
    assert_wrong_credentials(login(data["username"], "wrong-" +
                                   data["password"]))


def test_password_in_other_case_is_wrong():
    data, _ = account_with(password="CaseSensitive1")
    assert_wrong_credentials(login_form(data["username"], "casesensitive1"))


@pytest.mark.parametrize("login", [login_form, login_json])
def test_unknown_username(login):
    assert_wrong_credentials(login(unique_username(), "whatever-password"))


def test_unknown_email():
    assert_wrong_credentials(login_form(unique_email(), "whatever-password"))


def test_inactive_account_is_forbidden(db):
    data, account = account_with()
    set_active(db, account["account_id"], False)
    assert_error(login_form(data["username"], data["password"]), 403,
                 "Inactive user")


def test_inactive_account_with_wrong_password_is_wrong_credentials(db):
    data, account = account_with()
    set_active(db, account["account_id"], False)
    assert_wrong_credentials(login_form(data["username"], "not-the-password"))


def test_reactivated_account_can_log_in_again(db):
    data, account = account_with()
    set_active(db, account["account_id"], False)
    set_active(db, account["account_id"], True)
    assert_tokens(login_form(data["username"], data["password"]))


# ------------------------------------------------------------------- 422

def test_form_without_password():
    r = api("POST", "/auth/access-token", data={"username": "someone"})
    assert_422(r, field_required(*PASSWORD))


def test_form_without_username():
    r = api("POST", "/auth/access-token", data={"password": "password1"})
    assert_422(r, field_required(*USERNAME))


def test_form_with_neither_field():
    r = api("POST", "/auth/access-token", data={"grant_type": "password"})
    assert_422(r, field_required(*USERNAME), field_required(*PASSWORD))


def test_json_without_fields():
    r = post_raw("/auth/access-token", b"{}")
    assert_422(r, field_required(*USERNAME), field_required(*PASSWORD))


def test_json_with_non_string_fields():
    r = post_raw("/auth/access-token", b'{"username": 5, "password": []}')
    assert_422(r, str_expected(*USERNAME), str_expected(*PASSWORD))


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_empty_body(content_type):
    r = post_raw("/auth/access-token", b"", content_type)
    assert_422(r, field_required("body"))


def test_json_array_body():
    r = post_raw("/auth/access-token", b'["user", "password1"]')
    assert_422(r, not_a_dict())


def test_unaccepted_content_type():
    r = post_raw("/auth/access-token", b"username=a&password=b",
                 "text/plain")
    assert_422(r, unsupported_content_type())


def test_password_of_another_account_is_wrong():
    first = create_account()
    data, _ = account_with()
    assert_wrong_credentials(login_form(first["username"], data["password"]))
