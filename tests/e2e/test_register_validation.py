"""POST /api/v1/accounts/: every refused body, with its exact 422 answer."""

import pytest

from chat_api import (assert_422, bad_email, bad_url_scheme,
                      bad_username_chars, body, count_accounts,
                      field_required, has_nul, invalid_json, invalid_utf8,
                      long_email, not_a_dict, post_raw, register,
                      registration, str_expected, too_long, too_short,
                      unique_username, unsupported_content_type)

USERNAME = ("body", "username")
EMAIL = ("body", "email")
PASSWORD = ("body", "password")
FULL_NAME = ("body", "full_name")
AVATAR = ("body", "avatar")


def refused(data, *entries):
    assert_422(register(data), *entries)


def refused_raw(raw, content_type, *entries):
    assert_422(post_raw("/accounts/", raw, content_type), *entries)


# ------------------------------------------------------------------ username

@pytest.mark.parametrize("username, entry", [
    ("", too_short(USERNAME, 3)),
    ("ab", too_short(USERNAME, 3)),
    ("a" * 33, too_long(USERNAME, 32)),
])
def test_username_length_out_of_bounds(username, entry):
    refused(registration(username=username), entry)


def test_username_of_two_fresh_characters_is_too_short():
    refused(registration(username=unique_username(2)),
            too_short(USERNAME, 3))


def test_username_of_33_fresh_characters_is_too_long():
    refused(registration(username=unique_username(33)),
            too_long(USERNAME, 32))


@pytest.mark.parametrize("username", [
    "with space", "semi;colon", "at@sign", "sl/ash", "plus+sign",
    "tab\there", "quote'", "émile", "名前です", "smile\U0001F600",
])
def test_username_with_forbidden_character(username):
    refused(registration(username=username), bad_username_chars())


def test_username_of_32_multibyte_letters_fails_the_regex_not_the_length():
    refused(registration(username="é" * 32), bad_username_chars())


def test_username_of_33_multibyte_letters_is_too_long():
    refused(registration(username="é" * 33), too_long(USERNAME, 32))


# --------------------------------------------------------------------- email

@pytest.mark.parametrize("email", [
    "plainaddress",
    "@example.com",
    "user@",
    "user@example",
    "user@@example.com",
    "us@er@example.com",
])
def test_email_of_invalid_form(email):
    refused(registration(email=email), bad_email())


def test_email_of_255_characters_is_refused():
    email = long_email(255)
    assert len(email) == 255
    r = register(registration(email=email))
    # API.md orders "too long" before "email shape"; either entry names
    # the email field and nothing else.
    assert body(r, 422) in ({"detail": [too_long(EMAIL, 254)]},
                            {"detail": [bad_email()]})


# ------------------------------------------------------------------ password

@pytest.mark.parametrize("password, entry", [
    ("", too_short(PASSWORD, 8)),
    ("7_chars", too_short(PASSWORD, 8)),
    ("é" * 7, too_short(PASSWORD, 8)),
    ("p" * 129, too_long(PASSWORD, 128)),
    ("é" * 129, too_long(PASSWORD, 128)),
])
def test_password_length_out_of_bounds(password, entry):
    refused(registration(password=password), entry)


# -------------------------------------------------------- full_name, avatar

@pytest.mark.parametrize("full_name", ["n" * 101, "é" * 101,
                                       "\U0001F600" * 101])
def test_full_name_over_100_characters(full_name):
    refused(registration(full_name=full_name), too_long(FULL_NAME, 100))


def test_avatar_over_2048_characters():
    prefix = "https://example.com/"
    avatar = prefix + "a" * (2049 - len(prefix))
    refused(registration(avatar=avatar), too_long(AVATAR, 2048))


@pytest.mark.parametrize("avatar", [
    "ftp://example.com/a.png",
    "example.com/a.png",
    "javascript:alert(1)",
    "mailto:someone@example.com",
])
def test_avatar_without_http_scheme(avatar):
    refused(registration(avatar=avatar), bad_url_scheme())


# ---------------------------------------------------- missing, type, U+0000

@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_missing_required_field(field):
    data = registration()
    del data[field]
    refused(data, field_required("body", field))


def test_empty_object_lists_every_required_field_in_order():
    refused({}, field_required(*USERNAME), field_required(*EMAIL),
            field_required(*PASSWORD))


@pytest.mark.parametrize("field", ["username", "email", "password"])
def test_null_required_field(field):
    refused(registration(**{field: None}), field_required("body", field))


@pytest.mark.parametrize("field, value", [
    ("username", 123),
    ("username", ["abcdef"]),
    ("username", {"name": "abcdef"}),
    ("username", True),
    ("email", 5),
    ("password", 12345678),
    ("password", ["password1"]),
    ("full_name", 5),
    ("full_name", ["Alice"]),
    ("avatar", 5),
    ("avatar", ["https://example.com/a.png"]),
])
def test_field_of_wrong_type(field, value):
    refused(registration(**{field: value}), str_expected("body", field))


@pytest.mark.parametrize("field, value", [
    ("password", "pass\u0000word1"),
    ("full_name", "Ali\u0000ce"),
])
def test_field_holding_u0000(field, value):
    refused(registration(**{field: value}), has_nul("body", field))


def test_several_errors_listed_in_field_order():
    data = {"avatar": "ftp://example.com/a.png", "full_name": "x" * 101,
            "password": "short", "email": "not-an-email", "username": "ab"}
    refused(data, too_short(USERNAME, 3), bad_email(),
            too_short(PASSWORD, 8), too_long(FULL_NAME, 100),
            bad_url_scheme())


def test_several_errors_of_mixed_kinds():
    data = {"username": 5, "password": None, "full_name": 7}
    refused(data, str_expected(*USERNAME), field_required(*EMAIL),
            field_required(*PASSWORD), str_expected(*FULL_NAME))


def test_refused_registration_leaves_no_row(db):
    data = registration(email="not-an-email")
    refused(data, bad_email())
    assert count_accounts(db, "lower(username) = lower(%s)",
                          (data["username"],)) == 0


# ------------------------------------------------------------ whole body

VALID_TAIL = b'", "email": "x@example.com", "password": "password1"}'


@pytest.mark.parametrize("bad_bytes", [
    b"\xff",               # never valid
    b"\xc3",               # truncated sequence
    b"\xc0\xaf",           # overlong encoding of '/'
    b"\xed\xa0\x80",       # UTF-16 surrogate
    b"\xf4\x90\x80\x80",   # beyond U+10FFFF
])
def test_body_with_invalid_utf8(bad_bytes):
    raw = b'{"username": "ab' + bad_bytes + b"cd" + VALID_TAIL
    refused_raw(raw, "application/json", invalid_utf8())


@pytest.mark.parametrize("raw", [
    b"not json",
    b'{"username": "abcdef"',
    b'{"username": "abcdef",}',
    b"{'username': 'abcdef'}",
    b'{"username": "abcdef"} x',
    b'{"a": 1} {"b": 2}',
    b'{"username": "\\q"}',
    b'{"username": "abc\x01def"}',
])
def test_body_that_is_not_json(raw):
    refused_raw(raw, "application/json", invalid_json())


@pytest.mark.parametrize("raw", [b"[]", b'["abcdef"]', b"123", b'"text"',
                                 b"true"])
def test_body_that_is_json_but_not_an_object(raw):
    refused_raw(raw, "application/json", not_a_dict())


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_empty_body(content_type):
    refused_raw(b"", content_type, field_required("body"))


@pytest.mark.parametrize("content_type", [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
])
def test_body_of_unaccepted_content_type(content_type):
    raw = b'{"username": "abcdef", "email": "x@example.com",' \
          b' "password": "password1"}'
    refused_raw(raw, content_type, unsupported_content_type())


def test_deeply_nested_body_is_422_not_500():
    raw = b'{"username": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    detail = body(post_raw("/accounts/", raw), 422)["detail"]
    assert detail and all(entry["loc"][0] == "body" for entry in detail)
