"""History and message search (CONTRACT §5, docs/API.md "Chat"):
order, paging, totals, what is left out, and every refusal."""

import pytest

from chat_api import (above_maximum, api, assert_422, assert_error,
                      bad_uuid, below_minimum, body, delete_message, error,
                      field_required, friend_remove, friend_request,
                      has_control, has_nul,
                      history, ids, make_friends, mark_read, message_row,
                      new_friends, new_user, newest_first, not_integer, page,
                      random_uuid, search_messages, send, too_long,
                      too_short, unread_count)


def conversation(a, b, n, content=lambda i: f"message {i}"):
    """n messages, alternating a→b and b→a; the answers, oldest first."""
    sent = []
    for i in range(n):
        sender, receiver = (a, b) if i % 2 == 0 else (b, a)
        sent.append(send(sender, receiver, content(i)))
    return sent


# ------------------------------------------------------------------ history

def test_history_with_no_query_string(friends):
    """The seed's test script calls history with no skip and no limit."""
    a, b = friends
    sent = conversation(a, b, 3)
    r = api("GET", f"/chat/messages/history/{b.account_id}", token=a.access)
    assert r.request.url.endswith(b.account_id)
    assert page(r, total=3, skip=0, limit=50) == sent[::-1]


def test_history_is_the_same_from_both_sides(friends):
    a, b = friends
    sent = conversation(a, b, 4)
    mine = page(history(a.access, b.account_id), total=4)
    theirs = page(history(b.access, a.account_id), total=4)
    assert mine == theirs == sent[::-1]


# Contents whose JSON needs every kind of escape, and text beyond ASCII.
TRICKY_CONTENTS = [
    'quote " backslash \\ slash / and </script>',
    "tab\tnewline\ncarriage return\r",
    "controls \u0001 \u001f \u007f",
    "\u00e9t\u00e9 \U0001f600 \u4e2d\u6587 \u200b",
]


def test_history_entries_are_the_messages_as_sent():
    """chat-fcgi writes the page's JSON itself from binary rows
    (fcgi-app/page.c): every entry is, value for value, the object that
    PostgreSQL wrote for the send, accounts and times included."""
    a, b = new_friends(full_name="Zo\u00eb \"Q\" \\ \u00c5ngstr\u00f6m",
                       avatar="https://example.com/a?b=1&c=\u00e9")
    sent = conversation(a, b, len(TRICKY_CONTENTS),
                        content=lambda i: TRICKY_CONTENTS[i])
    for reader, friend in ((a, b), (b, a)):
        entries = body(history(reader.access, friend.account_id), 200)
        assert entries["messages"] == newest_first(sent)
    found = body(search_messages(a.access, b.account_id, keyword="\\"), 200)
    assert found["messages"] == [sent[0]]


def test_history_newest_first_by_created_at(friends):
    a, b = friends
    sent = conversation(a, b, 6)
    got = page(history(a.access, b.account_id), total=6)
    assert got == newest_first(sent)
    times = [m["created_at"] for m in got]
    assert times == sorted(times, reverse=True)


def test_history_with_trailing_slash_and_uppercase_id(friends):
    a, b = friends
    sent = conversation(a, b, 2)
    r = api("GET", f"/chat/messages/history/{b.account_id.upper()}/",
            token=a.access)
    assert page(r, total=2) == sent[::-1]


def test_empty_history(friends):
    a, b = friends
    assert page(history(a.access, b.account_id), total=0) == []


def test_history_only_holds_this_conversation(friends):
    a, b = friends
    c = new_user()
    make_friends(a, c)
    mine = conversation(a, b, 2)
    conversation(a, c, 3)
    assert page(history(a.access, b.account_id), total=2) == mine[::-1]
    assert page(history(b.access, a.account_id), total=2) == mine[::-1]


def test_history_paging_has_no_overlap_and_no_gap(friends):
    a, b = friends
    sent = conversation(a, b, 25)
    expected = ids(sent[::-1])
    pages = []
    for skip in (0, 10, 20):
        got = page(history(a.access, b.account_id, skip=skip, limit=10),
                   total=25, skip=skip, limit=10)
        pages.append(ids(got))
    assert [len(p) for p in pages] == [10, 10, 5]
    assert pages[0] + pages[1] + pages[2] == expected
    # Odd page sizes too, from the other side.
    seen = []
    for skip in range(0, 25, 7):
        seen += ids(page(history(b.access, a.account_id, skip=skip, limit=7),
                         total=25, skip=skip, limit=7))
    assert seen == expected
    assert page(history(a.access, b.account_id, skip=25), total=25,
                skip=25) == []
    assert page(history(a.access, b.account_id, skip=1000), total=25,
                skip=1000) == []


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_history_limit_in_range(friends, limit):
    a, b = friends
    sent = conversation(a, b, 3)
    got = page(history(a.access, b.account_id, limit=limit), total=3,
               limit=limit)
    assert got == sent[::-1][:limit]


def test_history_leaves_deleted_messages_out(friends):
    a, b = friends
    sent = conversation(a, b, 5)
    # sent[0], sent[2], sent[4] are a's; sent[1] is b's.
    body(delete_message(a.access, sent[2]["message_id"]), 200)
    body(delete_message(b.access, sent[1]["message_id"]), 200)
    left = [sent[4], sent[3], sent[0]]
    assert page(history(a.access, b.account_id), total=3) == left
    assert page(history(b.access, a.account_id), total=3) == left
    assert ids(page(history(a.access, b.account_id, skip=1, limit=1),
                    total=3, skip=1, limit=1)) == [sent[3]["message_id"]]


def test_reading_history_changes_nothing(db, friends):
    a, b = friends
    sent = [send(a, b, f"unread {i}") for i in range(3)]
    rows = [message_row(db, m["message_id"]) for m in sent]
    assert unread_count(b.access) == 3
    for _ in range(2):
        assert page(history(b.access, a.account_id), total=3) == sent[::-1]
        assert page(history(a.access, b.account_id), total=3) == sent[::-1]
    assert unread_count(b.access) == 3
    assert [message_row(db, m["message_id"]) for m in sent] == rows
    assert all(row["status"] == "sent" and row["read_at"] is None
               for row in rows)


def test_history_shows_read_messages_as_read(friends):
    a, b = friends
    sent = send(a, b, "read me")
    read = body(mark_read(b.access, sent["message_id"]), 200)
    assert page(history(a.access, b.account_id), total=1) == [read]


def test_history_with_a_stranger(user, stranger):
    assert_error(history(user.access, stranger.account_id), 403,
                 "Not friends with this user")


def test_history_with_a_pending_request(user, stranger):
    body(friend_request(user.access, stranger.account_id), 201)
    assert_error(history(user.access, stranger.account_id), 403,
                 "Not friends with this user")
    assert_error(history(stranger.access, user.account_id), 403,
                 "Not friends with this user")


def test_history_with_oneself(user):
    assert_error(history(user.access, user.account_id), 403,
                 "Not friends with this user")


def test_history_with_unknown_account(user):
    assert_error(history(user.access, random_uuid()), 404,
                 "Account not found")


def test_history_after_removal(friends):
    a, b = friends
    conversation(a, b, 2)
    body(friend_remove(b.access, a.account_id), 200)
    assert_error(history(a.access, b.account_id), 403,
                 "Not friends with this user")
    assert_error(history(b.access, a.account_id), 403,
                 "Not friends with this user")


PAGING_ERRORS = [
    ({"limit": "0"}, [below_minimum("limit", 1)]),
    ({"limit": "101"}, [above_maximum("limit", 100)]),
    ({"limit": "-1"}, [below_minimum("limit", 1)]),
    ({"limit": "x"}, [not_integer("limit")]),
    ({"limit": ""}, [not_integer("limit")]),
    ({"limit": "1.5"}, [not_integer("limit")]),
    ({"limit": "99999999999999999999999"}, [above_maximum("limit", 100)]),
    ({"skip": "-1"}, [below_minimum("skip", 0)]),
    ({"skip": "x"}, [not_integer("skip")]),
    ({"skip": "-1", "limit": "0"},
     [below_minimum("skip", 0), below_minimum("limit", 1)]),
]
PAGING_IDS = ["limit-0", "limit-101", "limit-neg", "limit-x", "limit-empty",
              "limit-float", "limit-huge", "skip-neg", "skip-x", "both"]


@pytest.mark.parametrize("params, entries", PAGING_ERRORS, ids=PAGING_IDS)
def test_history_paging_out_of_range(friends, params, entries):
    a, b = friends
    assert_422(history(a.access, b.account_id, **params), *entries)


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "%20"])
def test_history_malformed_friend_id(user, bad):
    assert_422(api("GET", f"/chat/messages/history/{bad}", token=user.access),
               bad_uuid("path", "friend_id"))


def test_history_every_error_at_once(user):
    r = api("GET", "/chat/messages/history/nope?skip=-5&limit=500",
            token=user.access)
    assert_422(r, bad_uuid("path", "friend_id"), below_minimum("skip", 0),
               above_maximum("limit", 100))


def test_history_query_parameter_given_twice_counts_once(friends):
    a, b = friends
    sent = conversation(a, b, 3)
    r = api("GET", f"/chat/messages/history/{b.account_id}?limit=1&limit=500",
            token=a.access)
    assert page(r, total=3, limit=1) == sent[::-1][:1]


# ------------------------------------------------------------------- search

def test_search_is_a_case_insensitive_substring(friends):
    a, b = friends
    sent = conversation(a, b, 5, content=lambda i: [
        "Hello World", "nothing here", "they said HELLO", "hellish",
        "Othello!"][i])
    got = page(search_messages(a.access, b.account_id, keyword="hElLo"),
               total=3)
    assert got == [sent[4], sent[2], sent[0]]
    assert page(search_messages(b.access, a.account_id, keyword="hello"),
                total=3) == got


def test_search_unicode_case_insensitive(friends):
    a, b = friends
    sent = conversation(a, b, 2, content=lambda i: ["Une École", "ecole"][i])
    assert page(search_messages(a.access, b.account_id, keyword="ÉCOLE"),
                total=1) == [sent[0]]


@pytest.mark.parametrize("keyword, matching", [
    ("%", ["100% sure", "odd %_ pair"]),
    ("0%", ["100% sure"]),
    ("_", ["snake_case", "odd %_ pair"]),
    ("e_c", ["snake_case"]),
    ("\\", ["back\\slash"]),
    ("k\\s", ["back\\slash"]),
    ("%_", ["odd %_ pair"]),
], ids=["percent", "zero-percent", "underscore", "e-underscore-c",
        "backslash", "k-backslash-s", "percent-underscore"])
def test_search_wildcards_are_literal(friends, keyword, matching):
    a, b = friends
    contents = ["100% sure", "100 sure", "snake_case", "snakeXcase",
                "back\\slash", "backslash", "odd %_ pair", "plain text"]
    sent = conversation(a, b, len(contents), content=lambda i: contents[i])
    expected = [m for m in sent[::-1] if m["content"] in matching]
    got = page(search_messages(a.access, b.account_id, keyword=keyword),
               total=len(expected))
    assert got == expected


# Contents and keywords around what the search index keys on (message_search_keys):
# trigrams of words, padded at word boundaries, multibyte ones compacted.
# A keyword's first and last words may sit inside longer words of the
# message, and a keyword of short words has no key at all.
BOUNDARY_CONTENTS = [
    "wörld", "Xwörldy", "the Wörld's end", "ÖLWÖRLD", "zanzibar",
    "prezanzibarpost", "a zan zibar", "日本語のテキスト", "テキスト",
    "x-ray vision", "ab", "grab a cab",
]


@pytest.mark.parametrize("keyword", [
    "wörld", "ÖRL", "örld'", "rld's e", "e wö", " end", "zanzibar",
    "n zi", "rezan", "テキス", "キスト", "日本", "x-r", "ray vis", "ab",
    "b a c", "-",
])
def test_search_finds_keywords_inside_and_across_words(friends, keyword):
    a, b = friends
    sent = conversation(a, b, len(BOUNDARY_CONTENTS),
                        content=lambda i: BOUNDARY_CONTENTS[i])
    expected = [m for m in sent[::-1]
                if keyword.lower() in m["content"].lower()]
    assert expected, "the keyword must match something"
    got = page(search_messages(a.access, b.account_id, keyword=keyword),
               total=len(expected))
    assert got == expected


def test_search_finds_nothing(friends):
    a, b = friends
    conversation(a, b, 3)
    assert page(search_messages(a.access, b.account_id, keyword="zebra"),
                total=0) == []


def test_search_pages_like_history(friends):
    a, b = friends
    sent = conversation(a, b, 20, content=lambda i: (
        f"needle {i}" if i % 4 else f"hay {i}"))
    matching = [m for m in sent[::-1] if m["content"].startswith("needle")]
    assert len(matching) == 15
    seen = []
    for skip in (0, 6, 12):
        got = page(search_messages(a.access, b.account_id, keyword="needle",
                                   skip=skip, limit=6),
                   total=15, skip=skip, limit=6)
        seen += ids(got)
    assert seen == ids(matching)
    assert page(search_messages(a.access, b.account_id, keyword="needle",
                                skip=15), total=15, skip=15) == []


def test_search_leaves_deleted_messages_out(friends):
    a, b = friends
    sent = conversation(a, b, 3, content=lambda i: f"findme {i}")
    body(delete_message(a.access, sent[0]["message_id"]), 200)
    assert page(search_messages(b.access, a.account_id, keyword="findme"),
                total=2) == [sent[2], sent[1]]


def test_search_changes_nothing(db, friends):
    a, b = friends
    sent = send(a, b, "look at me")
    row = message_row(db, sent["message_id"])
    assert page(search_messages(b.access, a.account_id, keyword="look"),
                total=1) == [sent]
    assert message_row(db, sent["message_id"]) == row
    assert unread_count(b.access) == 1


def test_search_keyword_with_spaces_and_symbols(friends):
    a, b = friends
    sent = conversation(a, b, 2, content=lambda i: [
        "meet at 5 & bring a+b #tag?", "meet at 6"][i])
    got = page(search_messages(a.access, b.account_id,
                               keyword="5 & bring a+b #tag?"), total=1)
    assert got == [sent[0]]


def test_search_keyword_of_200_characters(friends):
    a, b = friends
    keyword = "k" * 200
    sent = send(a, b, f"<{keyword}>")
    assert page(search_messages(a.access, b.account_id, keyword=keyword),
                total=1) == [sent]


@pytest.mark.parametrize("params, entries", [
    ({}, [field_required("query", "keyword")]),
    ({"keyword": ""}, [too_short(("query", "keyword"), 1)]),
    ({"keyword": "k" * 201}, [too_long(("query", "keyword"), 200)]),
    ({"skip": "-1"}, [field_required("query", "keyword"),
                      below_minimum("skip", 0)]),
] + [({"keyword": "a", **p}, e) for p, e in PAGING_ERRORS],
    ids=["missing", "empty", "201", "missing-and-skip"] + PAGING_IDS)
def test_search_invalid_query(friends, params, entries):
    a, b = friends
    assert_422(search_messages(a.access, b.account_id, **params), *entries)


def test_search_malformed_friend_id(user):
    assert_422(search_messages(user.access, "nope", keyword="a"),
               bad_uuid("path", "friend_id"))


def test_search_with_a_stranger(user, stranger):
    assert_error(search_messages(user.access, stranger.account_id,
                                 keyword="a"), 403,
                 "Not friends with this user")


def test_search_with_unknown_account(user):
    assert_error(search_messages(user.access, random_uuid(), keyword="a"),
                 404, "Account not found")


def test_search_after_removal(friends):
    a, b = friends
    send(a, b, "gone")
    body(friend_remove(a.access, b.account_id), 200)
    assert_error(search_messages(b.access, a.account_id, keyword="gone"),
                 403, "Not friends with this user")


def test_search_with_trailing_slash(friends):
    a, b = friends
    sent = send(a, b, "slash")
    r = api("GET", f"/chat/messages/search/{b.account_id}/?keyword=slash",
            token=a.access)
    assert page(r, total=1) == [sent]


# ------------------------------------- raw bytes in the query and the path
#
# The query string is percent-decoded by the application (docs/API.md:
# "form or query value not UTF-8" is a 422 naming the parameter), and the
# error is JSON like every other (CONTRACT §1).

def search_raw_query(token, friend_id, query):
    return api("GET", f"/chat/messages/search/{friend_id}?{query}",
               token=token)


def invalid_query_utf8(name):
    return error(("query", name), "Invalid UTF-8 in string",
                 "value_error.unicode")


@pytest.mark.parametrize("raw", ["%e9", "%c3", "%80", "abc%c3%28", "%ff"])
def test_search_keyword_not_utf8(friends, raw):
    a, b = friends
    assert_422(search_raw_query(a.access, b.account_id, f"keyword={raw}"),
               invalid_query_utf8("keyword"))


def test_search_keyword_with_nul(friends):
    a, b = friends
    assert_422(search_raw_query(a.access, b.account_id, "keyword=a%00b"),
               has_nul("query", "keyword"))


def test_search_keyword_with_a_newline_is_a_422(friends):
    """CONTRACT §12: no control character in a query, a line break neither;
    a message of several lines is found by the words of a line."""
    a, b = friends
    sent = send(a, b, "two\nlines")
    assert_422(search_raw_query(a.access, b.account_id, "keyword=o%0Al"),
               has_control("query", "keyword"))
    assert page(search_raw_query(a.access, b.account_id, "keyword=lines"),
                total=1) == [sent]


@pytest.mark.parametrize("raw", ["%e9", "%00"])
def test_history_limit_of_raw_bytes(friends, raw):
    a, b = friends
    r = api("GET", f"/chat/messages/history/{b.account_id}?limit={raw}",
            token=a.access)
    # A NUL is refused as such before the value is read (CONTRACT §12).
    assert_422(r, has_nul("query", "limit") if raw == "%00"
               else not_integer("limit"))
