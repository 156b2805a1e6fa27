"""GET /api/v1/accounts/search/?name=&skip=&limit=: PublicAccounts.

Every test searches for a word no other test's accounts hold, so the
answers are exact lists.
"""

import pytest

from chat_api import (PUBLIC_KEYS, api, assert_422, assert_not_authenticated,
                      above_maximum, below_minimum, body, create_account,
                      field_required, new_user, not_integer, public_view,
                      set_active, token_word)


def search(token, path="/accounts/search/", **params):
    return api("GET", path, token=token, params=params)


def found(token, **params):
    """The PublicAccounts a search answers, checked for their shape."""
    result = body(search(token, **params), 200)
    assert isinstance(result, list), result
    for item in result:
        assert set(item) == PUBLIC_KEYS, item
    return result


def usernames(accounts):
    return [account["username"] for account in accounts]


def in_search_order(accounts):
    """Usernames as the service orders them: by username, ignoring case."""
    return sorted(usernames(accounts), key=str.lower)


# ----------------------------------------------------------- a crowd of 21

@pytest.fixture(scope="module")
def crowd():
    """A caller and 21 other accounts whose usernames hold one word."""
    word = token_word()
    caller = new_user(username="a" + word)
    others = [create_account(username=("K" if i % 2 else "k") + word
                             + f"{i:02d}")
              for i in range(21)]
    return word, caller, in_search_order(others)


def test_default_limit_is_20(crowd):
    word, caller, ordered = crowd
    assert usernames(found(caller.access, name=word)) == ordered[:20]


def test_limit_100_returns_all(crowd):
    word, caller, ordered = crowd
    assert usernames(found(caller.access, name=word, limit=100)) == ordered


def test_skip_and_limit_select_a_page(crowd):
    word, caller, ordered = crowd
    page = found(caller.access, name=word, skip=5, limit=7)
    assert usernames(page) == ordered[5:12]


def test_skip_past_the_first_20(crowd):
    word, caller, ordered = crowd
    assert usernames(found(caller.access, name=word, skip=20)) == ordered[20:]


def test_skip_past_the_end(crowd):
    word, caller, _ = crowd
    assert found(caller.access, name=word, skip=1000) == []


def test_limit_1(crowd):
    word, caller, ordered = crowd
    assert usernames(found(caller.access, name=word, limit=1)) == ordered[:1]


# --------------------------------------------------------------- matching

def test_matches_username_substring_ignoring_case(viewer):
    word = token_word()
    target = create_account(username="Pre" + word.upper() + "Post")
    result = found(viewer.access, name=word)
    assert result == [public_view(target)]


def test_query_case_does_not_matter(viewer):
    word = token_word()
    target = create_account(username="x" + word)
    assert found(viewer.access, name=word.upper()) == [public_view(target)]


def test_matches_full_name_substring(viewer):
    word = token_word()
    target = create_account(full_name=f"Doctor {word.capitalize()} Who")
    assert found(viewer.access, name=word) == [public_view(target)]


def test_does_not_match_the_email(viewer):
    word = token_word()
    create_account(email=f"{word}@example.com")
    assert found(viewer.access, name=word) == []


def test_no_match_is_an_empty_list(viewer):
    assert found(viewer.access, name=token_word()) == []


def test_caller_is_excluded(make_user):
    word = token_word()
    caller = make_user(username="me" + word)
    other = create_account(username="you" + word)
    assert found(caller.access, name=word) == [public_view(other)]


def test_ordered_by_username_ignoring_case(viewer):
    word = token_word()
    names = [word + "c", word.upper() + "B", word + "a", "Z" + word,
             "y" + word]
    for name in names:
        create_account(username=name)
    result = usernames(found(viewer.access, name=word))
    assert result == [word + "a", word.upper() + "B", word + "c",
                      "y" + word, "Z" + word]


def test_inactive_accounts_are_excluded(viewer, db):
    word = token_word()
    active = create_account(username="on" + word)
    inactive = create_account(username="off" + word)
    set_active(db, inactive["account_id"], False)
    assert found(viewer.access, name=word) == [public_view(active)]


def test_underscore_is_literal(viewer):
    word = token_word()
    with_underscore = create_account(username=word + "a_b")
    create_account(username=word + "axb")
    result = found(viewer.access, name=word + "a_b")
    assert result == [public_view(with_underscore)]


def test_percent_is_literal(viewer):
    word = token_word()
    with_percent = create_account(full_name=f"{word} 50% off")
    create_account(full_name=f"{word} 50 percent off")
    result = found(viewer.access, name=f"{word} 50% off")
    assert result == [public_view(with_percent)]


def test_lone_percent_and_underscore_match_only_themselves(viewer):
    word = token_word()
    target = create_account(full_name=f"{word}%_")
    create_account(full_name=f"{word}xy")
    assert found(viewer.access, name=f"{word}%_") == [public_view(target)]


def test_backslash_is_literal(viewer):
    word = token_word()
    target = create_account(full_name=f"{word} back\\slash")
    create_account(full_name=f"{word} backslash")
    assert found(viewer.access, name=f"{word} back\\slash") == \
        [public_view(target)]


def test_without_trailing_slash(viewer):
    word = token_word()
    target = create_account(username="n" + word)
    result = body(search(viewer.access, path="/accounts/search", name=word),
                  200)
    assert result == [public_view(target)]


def test_repeated_name_parameter_counts_once(viewer):
    word = token_word()
    target = create_account(username="r" + word)
    r = api("GET", f"/accounts/search/?name={word}&name=zzzz",
            token=viewer.access)
    assert body(r, 200) == [public_view(target)]


# -------------------------------------------------------------------- 422

@pytest.mark.parametrize("path", ["/accounts/search/", "/accounts/search"])
def test_name_missing(viewer, path):
    assert_422(search(viewer.access, path=path),
               field_required("query", "name"))


def test_name_empty(viewer):
    r = search(viewer.access, name="")
    detail = body(r, 422)["detail"]
    assert [entry["loc"] for entry in detail] == [["query", "name"]], detail


@pytest.mark.parametrize("params, entry", [
    ({"skip": "-1"}, below_minimum("skip", 0)),
    ({"skip": "abc"}, not_integer("skip")),
    ({"skip": "1.5"}, not_integer("skip")),
    ({"limit": "0"}, below_minimum("limit", 1)),
    ({"limit": "-5"}, below_minimum("limit", 1)),
    ({"limit": "101"}, above_maximum("limit", 100)),
    ({"limit": "abc"}, not_integer("limit")),
    ({"limit": "10x"}, not_integer("limit")),
])
def test_paging_parameter_out_of_range(viewer, params, entry):
    assert_422(search(viewer.access, name="abc", **params), entry)


def test_no_token():
    assert_not_authenticated(search(None, name="abc"))


def test_no_token_and_no_name():
    assert_not_authenticated(search(None))


def test_several_query_errors_listed_in_parameter_order(viewer):
    r = search(viewer.access, skip="-1", limit="0")
    assert_422(r, field_required("query", "name"), below_minimum("skip", 0),
               below_minimum("limit", 1))


# ------------------------------------------------------- query decoding

def test_space_in_name_sent_as_plus_or_percent_20(viewer):
    word = token_word()
    target = create_account(full_name=f"Ada {word} Lovelace")
    for query in (f"name=ada+{word}+love", f"name=ada%20{word}%20love"):
        r = api("GET", f"/accounts/search/?{query}", token=viewer.access)
        assert body(r, 200) == [public_view(target)], query


def test_non_ascii_name_is_percent_decoded_utf8(viewer):
    word = token_word()
    target = create_account(full_name=f"Zoë{word}")
    assert found(viewer.access, name=f"oë{word}") == [public_view(target)]


def test_percent_encoded_reserved_characters(viewer):
    word = token_word()
    target = create_account(full_name=f"{word}&a=b#c")
    assert found(viewer.access, name=f"{word}&a=b#c") == [public_view(target)]
