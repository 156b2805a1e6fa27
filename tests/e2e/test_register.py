"""POST /api/v1/accounts/: accepted registrations, duplicates, storage.

Refused bodies (422) are in test_register_validation.py.
"""

import datetime
import uuid

import psycopg2
import pytest

from chat_api import (PASSWORD, account_row, assert_account, assert_error,
                      body, connect_db, count_accounts, json_bytes,
                      login_form, long_email, parse_time, post_raw, register,
                      registration, unique_email, unique_username)


def register_ok(data):
    """Register and check the Account answered against what was sent."""
    account = body(register(data), 201)
    assert_account(account, data["username"], data["email"],
                   data.get("full_name"), data.get("avatar"))
    return account


def test_register_answers_the_account_with_all_fields():
    data = registration(full_name="Alice Example",
                        avatar="https://example.com/a.png")
    register_ok(data)


def test_register_without_optional_fields_stores_nulls():
    account = register_ok(registration())
    assert account["full_name"] is None
    assert account["avatar"] is None


def test_register_with_null_optional_fields():
    account = register_ok(registration(full_name=None, avatar=None))
    assert account["full_name"] is None
    assert account["avatar"] is None


def test_register_keeps_the_username_case():
    data = registration(username=unique_username(prefix="MiXeD"))
    assert register_ok(data)["username"] == data["username"]


def test_register_answer_holds_no_password_or_hash():
    data = registration(password="Sekrit-passw0rd-42")
    r = register(data)
    account = body(r, 201)
    assert not any("password" in key for key in account)
    assert data["password"] not in r.text
    assert "$y$" not in r.text and "$argon2" not in r.text


def test_register_created_at_is_the_stored_database_time(db):
    before = datetime.datetime.now(datetime.timezone.utc)
    account = register_ok(registration())
    created = parse_time(account["created_at"])
    assert abs((created - before).total_seconds()) < 120
    assert account_row(db, account["account_id"])["created_at"] == created


def test_register_stores_the_row_as_answered(db):
    data = registration(full_name="Row Check", avatar="http://example.org/x")
    account = register_ok(data)
    row = account_row(db, account["account_id"])
    assert row["account_id"] == account["account_id"]
    assert row["username"] == data["username"]
    assert row["email"] == data["email"]
    assert row["full_name"] == "Row Check"
    assert row["avatar"] == "http://example.org/x"
    assert row["is_active"] is True


def test_register_stores_a_slow_salted_hash(db):
    data = registration(password="another-Passw0rd")
    account = register_ok(data)
    stored = account_row(db, account["account_id"])["password_hash"]
    assert stored.startswith(("$y$", "$argon2id$")), stored
    assert data["password"] not in stored


def test_same_password_gets_different_hashes(db):
    first = register_ok(registration(password="same-password-1"))
    second = register_ok(registration(password="same-password-1"))
    hash1 = account_row(db, first["account_id"])["password_hash"]
    hash2 = account_row(db, second["account_id"])["password_hash"]
    assert hash1 != hash2


def test_register_ignores_unknown_fields_even_privileged_ones():
    data = registration(is_active=False, role={"role_name": "admin"},
                        account_id=str(uuid.uuid4()), nickname="x")
    account = register_ok(data)
    assert account["account_id"] != data["account_id"]
    assert account["is_active"] is True
    assert account["role"] == {"role_name": "user"}


def test_register_accepts_a_body_without_content_type():
    data = registration()
    account = body(post_raw("/accounts/", json_bytes(data), None), 201)
    assert account["username"] == data["username"]


def test_register_accepts_json_with_charset_parameter():
    data = registration()
    r = post_raw("/accounts/", json_bytes(data),
                 "application/json; charset=utf-8")
    assert body(r, 201)["username"] == data["username"]


# ------------------------------------------------------------ bounds accepted

@pytest.mark.parametrize("length", [3, 32])
def test_register_accepts_username_length_bound(length):
    register_ok(registration(username=unique_username(length)))


def test_register_accepts_every_allowed_username_character():
    name = unique_username(10) + "_.-Z9"
    register_ok(registration(username=name))


@pytest.mark.parametrize("email", [
    "first.last+tag@sub.example.org",
    "x@y.co",
])
def test_register_accepts_email_form(email):
    local, domain = email.split("@")
    fresh = f"{local}{unique_username(6).lower()}@{domain}"
    register_ok(registration(email=fresh))


def test_register_accepts_email_of_254_characters():
    email = long_email(254)
    assert len(email) == 254
    register_ok(registration(email=email))


@pytest.mark.parametrize("password", ["8charsOK", "p" * 128, "é" * 8,
                                      "é" * 128])
def test_register_accepts_password_length_bound_and_can_log_in(password):
    data = registration(password=password)
    register_ok(data)
    tokens = body(login_form(data["username"], password), 200)
    assert tokens["token_type"] == "bearer"


@pytest.mark.parametrize("full_name", ["n" * 100, "é" * 100,
                                       "\U0001F600" * 100])
def test_register_accepts_full_name_of_100_characters(full_name):
    register_ok(registration(full_name=full_name))


def test_register_accepts_full_name_sent_as_raw_utf8():
    data = registration(full_name="Zoë Ångström 名前")
    r = post_raw("/accounts/", json_bytes(data, ascii_only=False))
    assert body(r, 201)["full_name"] == "Zoë Ångström 名前"


def test_register_decodes_escaped_surrogate_pairs():
    data = registration(full_name="\U0001F600" * 100)
    raw = json_bytes(data, ascii_only=True)
    assert b"\\ud83d\\ude00" in raw
    assert body(post_raw("/accounts/", raw), 201)["full_name"] == \
        "\U0001F600" * 100


def test_register_accepts_avatar_of_2048_characters():
    prefix = "https://example.com/"
    avatar = prefix + "a" * (2048 - len(prefix))
    register_ok(registration(avatar=avatar))


# ------------------------------------------------------------------ duplicates

def test_register_refuses_taken_username():
    data = registration()
    register_ok(data)
    r = register(registration(username=data["username"]))
    assert_error(r, 400, "Username already registered")


def test_register_refuses_taken_username_in_other_case():
    data = registration(username=unique_username(prefix="Alice"))
    register_ok(data)
    r = register(registration(username=data["username"].lower()))
    assert_error(r, 400, "Username already registered")


def test_register_refuses_taken_email():
    data = registration()
    register_ok(data)
    r = register(registration(email=data["email"]))
    assert_error(r, 400, "Email already registered")


def test_register_refuses_taken_email_in_other_case():
    data = registration(email="Mixed" + unique_email())
    body(register(data), 201)
    r = register(registration(email=data["email"].upper()))
    assert_error(r, 400, "Email already registered")


def test_refused_duplicate_leaves_no_row(db):
    data = registration()
    register_ok(data)
    second = registration(username=data["username"].upper())
    assert_error(register(second), 400, "Username already registered")
    assert count_accounts(db, "email = %s", (second["email"],)) == 0


# ----------------------------------------------------- database-level unique

def insert_account(cur, username, email):
    now = datetime.datetime.now(datetime.timezone.utc)
    cur.execute(
        "INSERT INTO account (account_id, username, email, password_hash,"
        " full_name, avatar, is_active, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, NULL, NULL, true, %s, %s)",
        (str(uuid.uuid4()), username, email, "$y$not-a-real-hash", now, now))


def insert_fails_with_unique_violation(username, email):
    """Try a direct insert in a transaction that is always rolled back."""
    conn = connect_db(autocommit=False)
    try:
        with conn.cursor() as cur:
            insert_account(cur, unique_username(), unique_email())  # control
            try:
                insert_account(cur, username, email)
            except psycopg2.Error as exc:
                return exc.pgcode
            return None
    finally:
        conn.rollback()
        conn.close()


def test_database_refuses_username_differing_only_in_case():
    data = registration(username=unique_username(prefix="Bob"))
    register_ok(data)
    code = insert_fails_with_unique_violation(data["username"].swapcase(),
                                              unique_email())
    assert code == "23505"


def test_database_refuses_email_differing_only_in_case():
    data = registration()
    register_ok(data)
    code = insert_fails_with_unique_violation(unique_username(),
                                              data["email"].upper())
    assert code == "23505"


def test_password_is_not_stored_in_clear(db):
    data = registration(password=PASSWORD + "-unique")
    account = register_ok(data)
    assert count_accounts(db, "password_hash = %s", (data["password"],)) == 0
    assert account_row(db, account["account_id"])["password_hash"] != \
        data["password"]
