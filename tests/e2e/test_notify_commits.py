"""Transactions that store nothing but a NOTIFY do not wait for the disk.

A NOTIFY holds a lock global to the database from its commit until its
commit record is on disk, so each such transaction that waited for a
flush would hold back every other wake-up in the database for that flush.
The wake-up after a change (wake_push_daemons) and the typing relays
(push_typing, push_group_typing: a client may send ten a second) turn
synchronous_commit off for their own transaction; what a crash could lose
is only the notification itself."""

from chat_api import connect_db, make_friends, new_group, new_user


def synchronous_commit_around(statement, params):
    """synchronous_commit before statement and after it, in its
    transaction (the server's own setting may be either: the deployment
    guide's cluster runs with it off)."""
    conn = connect_db(autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW synchronous_commit")
            (before,) = cur.fetchone()
            cur.execute(statement, params)
            cur.execute("SHOW synchronous_commit")
            (after,) = cur.fetchone()
        conn.commit()
        return before, after
    finally:
        conn.close()


def test_typing_to_a_friend_does_not_wait_for_the_disk():
    a, b = new_user(), new_user()
    make_friends(a, b)
    _, after = synchronous_commit_around(
        "SELECT push_typing(%s, %s, true)", (a.account_id, b.account_id))
    assert after == "off"


def test_typing_in_a_group_does_not_wait_for_the_disk():
    leader, member = new_user(), new_user()
    group = new_group(leader, member)
    _, after = synchronous_commit_around(
        "SELECT * FROM push_group_typing(%s, %s, true)",
        (member.account_id, group["group_id"]))
    assert after == "off"


def test_typing_refused_leaves_the_transaction_as_it_was():
    """A refusal notifies nothing, so it changes nothing either."""
    a, stranger = new_user(), new_user()
    before, after = synchronous_commit_around(
        "SELECT push_typing(%s, %s, true)",
        (a.account_id, stranger.account_id))
    assert after == before


def test_a_wake_up_does_not_wait_for_the_disk():
    """NULL names no account: every daemon is woken."""
    _, after = synchronous_commit_around("SELECT wake_push_daemons(NULL)", ())
    assert after == "off"
