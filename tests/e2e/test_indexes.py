"""The indexes of the message table serve a long conversation (the issue:
"A test with a conversation of 100,000 messages shows through EXPLAIN that history,
search, unread count and the friendship check use their indexes").

Two friends are made through the API; 100,000 messages between them are
then inserted with one statement, the conversation's count set to match,
and the tables analyzed. The queries below are those of the api_*
functions of sql/functions/, with the caller's ids
in place of the parameters.

The friendship table of a test database holds a few hundred rows, which
PostgreSQL rightly reads whole; so the module also adds 2,000 accepted
friendships between inactive filler accounts (never found by account
search, never logged in) to give the friendship check a table of a
realistic size."""

import secrets

import pytest

from chat_api import (connect_db, history, ids, new_friends, page,
                      search_messages, unread_count)

MESSAGES = 100_000
UNREAD = 100            # the newest 100 are unread, the rest read
FILLER_FRIENDSHIPS = 2_000


@pytest.fixture(scope="module")
def big():
    """(a, b, db): friends with a conversation of 100,000 messages."""
    a, b = new_friends()
    db = connect_db()
    run = secrets.token_hex(4)
    with db.cursor() as cur:
        # Message i (1 = newest, i ms before now) goes a→b when i is
        # even, b→a when odd.
        cur.execute("""
            INSERT INTO message (sender_id, receiver_id, content, status,
                                 created_at, updated_at, read_at)
            SELECT CASE WHEN i %% 2 = 0 THEN %(a)s::uuid ELSE %(b)s::uuid END,
                   CASE WHEN i %% 2 = 0 THEN %(b)s::uuid ELSE %(a)s::uuid END,
                   'message ' || i || ' ' || md5(i::text),
                   CASE WHEN i > %(unread)s THEN 'read'::message_status
                        ELSE 'sent'::message_status END,
                   t, t,
                   CASE WHEN i > %(unread)s THEN t END
              FROM generate_series(1, %(n)s) AS i,
                   LATERAL (SELECT now() - i * interval '1 ms' AS t) AS times
            """, {"a": a.account_id, "b": b.account_id, "n": MESSAGES,
                  "unread": UNREAD})
        assert cur.rowcount == MESSAGES
        cur.execute("""
            INSERT INTO conversation (low_id, high_id, message_count)
            VALUES (least(%(a)s::uuid, %(b)s::uuid),
                    greatest(%(a)s::uuid, %(b)s::uuid), %(n)s)
            ON CONFLICT (low_id, high_id)
            DO UPDATE SET message_count = EXCLUDED.message_count
            """, {"a": a.account_id, "b": b.account_id, "n": MESSAGES})
        cur.execute("""
            WITH filler AS (
                INSERT INTO account (username, email, password_hash,
                                     is_active)
                SELECT 'ixf-' || %(run)s || '-' || i,
                       'ixf-' || %(run)s || '-' || i || '@example.com',
                       '!', false
                  FROM generate_series(1, %(n)s * 2) AS i
                RETURNING account_id, username),
            numbered AS (
                SELECT account_id,
                       row_number() OVER (ORDER BY username) AS k
                  FROM filler)
            INSERT INTO friendship (sender_id, receiver_id, status)
            SELECT s.account_id, r.account_id, 'accepted'
              FROM numbered s JOIN numbered r ON r.k = s.k + 1
             WHERE s.k %% 2 = 1
            """, {"run": run, "n": FILLER_FRIENDSHIPS})
        assert cur.rowcount == FILLER_FRIENDSHIPS
        cur.execute("ANALYZE message")
        cur.execute("ANALYZE friendship")
        cur.execute("ANALYZE conversation")
    yield a, b, db
    db.close()


# ---------------------------------------------------------------- plans

def index_names(plan):
    """Every "Index Name" in an EXPLAIN (FORMAT JSON) plan tree."""
    if isinstance(plan, dict):
        names = [plan["Index Name"]] if "Index Name" in plan else []
        for value in plan.values():
            names += index_names(value)
        return names
    if isinstance(plan, list):
        return [n for item in plan for n in index_names(item)]
    return []


def plan_of(db, query, params, settings_of=None):
    """query's plan; with the settings (SET clauses) of function
    settings_of when given, as that function runs it."""
    with db.cursor() as cur:
        settings = []
        if settings_of is not None:
            cur.execute("SELECT unnest(proconfig) FROM pg_proc"
                        " WHERE proname = %s", (settings_of,))
            settings = [row[0].split("=", 1) for row in cur.fetchall()]
            assert settings, f"{settings_of} sets nothing"
        for name, value in settings:
            cur.execute("SELECT set_config(%s, %s, false)", (name, value))
        try:
            cur.execute("EXPLAIN (FORMAT JSON) " + query, params)
            (result,), = cur.fetchall()
        finally:
            for name, _ in settings:
                cur.execute("RESET " + name)
    return result


def generic_plan_of(db, query, params):
    """The plan of query prepared with parameters, as chat-fcgi runs it
    once PostgreSQL settles on a generic plan."""
    names = sorted(params)
    prepared = query
    for i, name in enumerate(names, 1):
        prepared = prepared.replace(f"%({name})s", f"${i}")
    with db.cursor() as cur:
        cur.execute("PREPARE generic_check(" + ", ".join(["uuid"] * len(names))
                    + ") AS " + prepared)
        try:
            cur.execute("SET plan_cache_mode = force_generic_plan")
            cur.execute("EXPLAIN (FORMAT JSON) EXECUTE generic_check("
                        + ", ".join(["%s"] * len(names)) + ")",
                        [params[n] for n in names])
            (result,), = cur.fetchall()
        finally:
            cur.execute("RESET plan_cache_mode")
            cur.execute("DEALLOCATE generic_check")
    return result


def assert_uses(db, query, params, index, avoid=None, generic=True,
                settings_of=None):
    """index is in query's plan for these values (with the settings of
    function settings_of) and, when generic, in its generic plan (what a
    statement prepared once runs); avoid is not."""
    plans = [plan_of(db, query, params, settings_of)]
    if generic:
        plans.append(generic_plan_of(db, query, params))
    for plan in plans:
        names = index_names(plan)
        assert index in names, \
            f"{index} not used by:\n{query}\nplan: {plan}"
        assert avoid is None or avoid not in names, \
            f"{avoid} used by:\n{query}\nplan: {plan}"


PAIR = """least(sender_id, receiver_id)
           = least(%(me)s::uuid, %(friend)s::uuid)
       AND greatest(sender_id, receiver_id)
           = greatest(%(me)s::uuid, %(friend)s::uuid)"""

# The queries of history and search (sql/functions/): plain SQL functions that
# PostgreSQL inlines, so the plan shows their scans. chat-fcgi calls
# history_rows through api_history_page, which keeps its generic plan.
HISTORY_PAGE = "SELECT * FROM history_rows(%(me)s, %(friend)s, 0, 50)"

# search_rows as api_search_page calls it (sql/functions/): the keyword's keys
# are computed first; a keyword of one short word has none.
SEARCH_PAGE = """SELECT * FROM search_rows(%(me)s, %(friend)s, %(keyword)s,
    search_keys_of(least(%(me)s::uuid, %(friend)s::uuid),
                   greatest(%(me)s::uuid, %(friend)s::uuid), %(keyword)s),
    0, 50)"""

UNREAD_COUNT = """
    SELECT json_build_object('unread_count', count(*))
      FROM message
     WHERE receiver_id = %(me)s::uuid
       AND read_at IS NULL AND NOT is_deleted"""

# The undelivered messages a connecting user gets (push_undelivered), with no
# event horizon (a daemon that has not read events yet).
UNDELIVERED = "SELECT * FROM push_undelivered(%(me)s, 100, NULL)"

# are_friends(), used by typing; history and search check the same way.
ARE_FRIENDS = """
    SELECT EXISTS (SELECT 1 FROM friendship
        WHERE least(sender_id, receiver_id)
              = least(%(me)s::uuid, %(friend)s::uuid)
          AND greatest(sender_id, receiver_id)
              = greatest(%(me)s::uuid, %(friend)s::uuid)
          AND status = 'accepted')"""

# The check of api_send_message.
SEND_CHECK = """
    SELECT 1 FROM friendship
     WHERE least(sender_id, receiver_id)
           = least(%(me)s::uuid, %(friend)s::uuid)
       AND greatest(sender_id, receiver_id)
           = greatest(%(me)s::uuid, %(friend)s::uuid)
       AND friendship.status = 'accepted'
       FOR SHARE"""


def params(big):
    a, b, _ = big
    return {"me": b.account_id, "friend": a.account_id}


def test_history_page_uses_message_conversation(big):
    assert_uses(big[2], HISTORY_PAGE, params(big), "message_conversation")


def test_search_uses_message_conversation_words(big):
    """The matches come from the GIN index of the conversation's trigrams,
    never from walking the conversation's btree (50 ms at 100,000
    messages, seconds at a million). search_rows runs inside
    api_search_page, which plans it for each call's values with plain
    index scans off (api_search_page)."""
    assert_uses(big[2], SEARCH_PAGE, dict(params(big), keyword="abc123"),
                "message_conversation_words", avoid="message_conversation",
                generic=False, settings_of="api_search_page")


def test_search_of_one_short_word_leaves_the_trigram_index_alone(big):
    """A keyword with no trigram that every match holds (one word shorter
    than three characters) has no key, and its plan does not scan the
    trigram index with an empty key set (which would read all of it): the
    condition folds away when the plan is made for the call's values."""
    plan = plan_of(big[2], SEARCH_PAGE, dict(params(big), keyword="ab"),
                   "api_search_page")
    assert "message_conversation_words" not in index_names(plan), plan


def test_unread_count_uses_message_unread_by_receiver(big):
    assert_uses(big[2], UNREAD_COUNT, params(big),
                "message_unread_by_receiver")


def test_undelivered_messages_use_message_unread_by_receiver(big):
    assert_uses(big[2], UNDELIVERED, params(big), "message_unread_by_receiver")


@pytest.mark.parametrize("query", [ARE_FRIENDS, SEND_CHECK],
                         ids=["are_friends", "send"])
def test_friendship_check_uses_friendship_pair_key(big, query):
    assert_uses(big[2], query, params(big), "friendship_pair_key")


def test_index_walker_finds_nothing_in_a_sequential_scan(big):
    """Control: the walker does not find an index where there is none."""
    plan = plan_of(big[2], "SELECT count(*) FROM message WHERE"
                   " content || '' = %(me)s", params(big))
    assert index_names(plan) == []


# ------------------------------------------------------- the endpoints

def newest(db, a, b, skip, limit):
    """The ids of a page of history, straight from the table."""
    with db.cursor() as cur:
        cur.execute(f"""
            SELECT message_id::text FROM message
             WHERE {PAIR} AND NOT is_deleted
             ORDER BY created_at DESC, message_id DESC
            OFFSET %(skip)s LIMIT %(limit)s""",
                    {"me": a.account_id, "friend": b.account_id,
                     "skip": skip, "limit": limit})
        return [row[0] for row in cur.fetchall()]


def test_history_endpoint_on_100000_messages(big):
    a, b, db = big
    messages = page(history(b.access, a.account_id), total=MESSAGES)
    assert len(messages) == 50
    assert ids(messages) == newest(db, a, b, 0, 50)
    assert [m["content"].split()[1] for m in messages] == \
        [str(i) for i in range(1, 51)]
    times = [m["created_at"] for m in messages]
    assert times == sorted(times, reverse=True)
    assert [m["status"] for m in messages] == ["sent"] * 50


def test_history_endpoint_last_page(big):
    a, b, db = big
    messages = page(history(a.access, b.account_id, skip=MESSAGES - 30,
                            limit=100),
                    total=MESSAGES, skip=MESSAGES - 30, limit=100)
    assert ids(messages) == newest(db, a, b, MESSAGES - 30, 100)
    assert messages[-1]["content"].startswith(f"message {MESSAGES} ")


def test_search_endpoint_on_100000_messages(big):
    a, b, _ = big
    found = page(search_messages(a.access, b.account_id,
                                 keyword="MESSAGE 76543 "), total=1)
    assert [m["content"].split()[1] for m in found] == ["76543"]
    assert page(search_messages(a.access, b.account_id, keyword="abc123"),
                total=0) == []


def test_unread_count_endpoint_on_100000_messages(big):
    a, b, _ = big
    # Of the 100 unread messages, the even ones went to b, the odd to a.
    assert unread_count(b.access) == UNREAD // 2
    assert unread_count(a.access) == UNREAD // 2


def test_a_delivered_mark_writes_no_index_entry():
    """A delivered mark writes a new version of its row on the row's own
    page (a HOT update: no entry in any of the table's indexes, the search
    keys' GIN index among them), even for rows marked while their page is
    still being filled, as a busy service marks them milliseconds after
    their sends: the table leaves room on each page for a second version
    of every row (sql/migrations/028). In one transaction, whose pages no
    one can prune meanwhile; rolled back."""
    a, b = new_friends()
    db = connect_db(autocommit=False)
    try:
        with db.cursor() as cur:
            cur.execute("""
                SELECT array_agg((s).m.message_id)::text[]
                  FROM generate_series(1, 300) i,
                       LATERAL send_message(%s, %s,
                                            'delivered soon ' || i) s""",
                        (a.account_id, b.account_id))
            sent = cur.fetchone()[0]
            assert len(sent) == 300
            cur.execute("SELECT cardinality(push_mark_delivered(%s::uuid[]))",
                        (sent,))
            assert cur.fetchone()[0] == 300
            cur.execute("""
                SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
                 WHERE relname = 'message'""")
            assert cur.fetchone() == (300, 300)
    finally:
        db.rollback()
        db.close()
