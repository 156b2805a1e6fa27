"""A push daemon's connections leaving the online set in SQL: push_node_stop
(SIGTERM), push_node_start (a restart after a crash) and push_reap (a node
whose heartbeat went stale) tell the online friends of each account left
with no connection, once, and take the accounts' locks in the order of
push_connect_many, so that they and a batch of connections cannot deadlock.

Called directly on test nodes; the stack's daemons reap only nodes whose
heartbeat is stale, so a live test node is left alone. The last test
reaps a live daemon's node and watches the daemon register again."""

import asyncio
import secrets
import threading
import time

import pytest

from chat_api import (connect_db, make_friends, migrate, new_friends,
                      new_user, presence_rows, psql, send)
from ws_client import close_all, new_message_of, session, ws_test

TIMEOUT = 60                  # timeout_seconds for the functions under test


def node_name():
    return "test-node-" + secrets.token_hex(4)


def add_node(cur, node, rows, heartbeat_ago="0 seconds"):
    """A presence node with connections (connection_id, account_id)."""
    cur.execute("INSERT INTO presence_node (node_id, heartbeat_at)"
                " VALUES (%s, now() - %s::interval)", (node, heartbeat_ago))
    for connection_id, account_id in rows:
        cur.execute("INSERT INTO presence_connection"
                    " (node_id, connection_id, account_id)"
                    " VALUES (%s, %s, %s)", (node, connection_id, account_id))


def drop_nodes(db, nodes):
    with db.cursor() as cur:
        cur.execute("DELETE FROM presence_node WHERE node_id = ANY (%s)",
                    (list(nodes),))


def offline_events(cur, *accounts):
    """(actor, target) of the user_offline events of accounts, sorted."""
    cur.execute("SELECT actor_id::text, target_id::text FROM event"
                " WHERE kind = 'user_offline' AND actor_id = ANY (%s::uuid[])"
                " ORDER BY 1, 2", (list(accounts),))
    return cur.fetchall()


def node_exists(cur, node):
    cur.execute("SELECT count(*) FROM presence_node WHERE node_id = %s",
                (node,))
    return cur.fetchone()[0] == 1


def watched_pair():
    """Accounts a and b, and w, a friend of both, online on a live node."""
    a, b, w = new_user(), new_user(), new_user()
    make_friends(w, a)
    make_friends(w, b)
    return a.account_id, b.account_id, w.account_id


def test_node_stop_tells_online_friends_once(db):
    a, b, w = watched_pair()
    stopping, other, watcher = node_name(), node_name(), node_name()
    try:
        with db.cursor() as cur:
            add_node(cur, watcher, [(1, w)])
            # a twice on the stopping node; b also on another node.
            add_node(cur, stopping, [(1, a), (2, b), (3, a)])
            add_node(cur, other, [(1, b)])
            cur.execute("SELECT push_node_stop(%s, %s)", (stopping, TIMEOUT))
            assert cur.fetchone()[0] == 1
            assert offline_events(cur, a, b) == [(a, w)]
            assert not node_exists(cur, stopping)
            cur.execute("SELECT count(*) FROM presence_connection"
                        " WHERE node_id = %s", (stopping,))
            assert cur.fetchone()[0] == 0
    finally:
        drop_nodes(db, [stopping, other, watcher])


def test_node_start_clears_an_earlier_run(db):
    a, b, w = watched_pair()
    restarted, watcher = node_name(), node_name()
    try:
        with db.cursor() as cur:
            add_node(cur, watcher, [(1, w)])
            add_node(cur, restarted, [(1, a), (2, b), (3, a)])
            cur.execute("SELECT push_node_start(%s, %s)", (restarted, TIMEOUT))
            assert cur.fetchone()[0] == 2
            assert offline_events(cur, a, b) == sorted([(a, w), (b, w)])
            assert node_exists(cur, restarted)
            cur.execute("SELECT count(*) FROM presence_connection"
                        " WHERE node_id = %s", (restarted,))
            assert cur.fetchone()[0] == 0
    finally:
        drop_nodes(db, [restarted, watcher])


def test_a_batch_of_sends_wakes_the_sides_of_each_message(db):
    """presence_woken_by_sends (wake_after_sends, kept for the daemons of
    the release before), message by message:
    the receiver when it has a connection, the sender when it has one
    other than the connection that sent that message (it had
    message_sent, and never gets its own message back). In one batch, a
    and b each writing to the other from their one connection wake both;
    c's two devices each writing to someone offline wake c; d alone
    wakes nobody for its own send, and is woken as a receiver."""
    a, b, c, d, offline = (new_user().account_id for _ in range(5))
    node = node_name()
    with db.cursor() as cur:
        add_node(cur, node, [(1, a), (2, b), (3, c), (4, c), (5, d)])
    try:
        with db.cursor() as cur:
            def woken(senders, conns, receivers):
                cur.execute(
                    "SELECT coalesce(array_agg(w::text ORDER BY w::text),"
                    " '{}') FROM unnest(presence_woken_by_sends(%s,"
                    " %s::uuid[], %s::bigint[], %s::uuid[])) w",
                    (node, senders, conns, receivers))
                return cur.fetchone()[0]
            assert woken([a, b], [1, 2], [b, a]) == sorted([a, b])
            assert woken([c, c], [3, 4], [offline, offline]) == [c]
            assert woken([d], [5], [offline]) == []
            assert woken([d, a], [5, 1], [offline, d]) == [d]
    finally:
        drop_nodes(db, [node])


def test_a_daemon_wakes_the_accounts_held_elsewhere(db):
    """presence_held_elsewhere (wake_other_daemons): of the accounts a
    daemon's change concerns, those with a connection on another node;
    the daemon reads by itself for its own. a is on node 1 only, b on
    node 2 only, c on both; the offline account on none."""
    a, b, c, offline = (new_user().account_id for _ in range(4))
    here, there = node_name(), node_name()
    with db.cursor() as cur:
        add_node(cur, here, [(1, a), (2, c)])
        add_node(cur, there, [(1, b), (2, c)])
    try:
        with db.cursor() as cur:
            def elsewhere(node, accounts):
                cur.execute(
                    "SELECT coalesce(array_agg(w::text ORDER BY w::text),"
                    " '{}') FROM unnest(presence_held_elsewhere(%s,"
                    " %s::uuid[])) w", (node, accounts))
                return cur.fetchone()[0]
            assert elsewhere(here, [a, b, c, offline]) == sorted([b, c])
            assert elsewhere(there, [a, b, c, offline]) == sorted([a, c])
            assert elsewhere(here, [a, a, offline]) == []
    finally:
        drop_nodes(db, [here, there])


@pytest.mark.stack_cluster
def test_reap_prunes_the_spans_that_held_only_pruned_events(databases):
    """A membership's span (group_member_span) that ended before the
    oldest event kept holds none of them: it goes when push_reap prunes
    the events, and a span under way stays. In a database of its own,
    whose events are made old."""
    db = databases()
    migrate(db)
    out = psql(db, """
        INSERT INTO account (username, email, password_hash)
        VALUES ('span_lead', 'l@span.test', '-'),
               ('span_member', 'm@span.test', '-');
        SELECT l.account_id AS lead, m.account_id AS member
          FROM account l, account m
         WHERE l.username = 'span_lead' AND m.username = 'span_member' \\gset
        INSERT INTO friendship (sender_id, receiver_id, status)
        VALUES (:'lead', :'member', 'accepted');
        SELECT (api_group_create(:'lead', 'spans', NULL, NULL,
                                 ARRAY[:'member']::uuid[], 10)).body->>'group_id'
               AS gid \\gset
        SELECT status FROM api_group_leave(:'member', :'gid') \\g /dev/null
        UPDATE event SET created_at = now() - interval '2 days';
        INSERT INTO event (kind, actor_id, target_id)
        VALUES ('account_enabled', :'lead', :'lead');
        SELECT push_reap(60, interval '1 day') \\g /dev/null
        SELECT count(*) FILTER (WHERE ended IS NULL),
               count(*) FILTER (WHERE ended IS NOT NULL),
               (SELECT count(*) FROM event)
          FROM group_member_span;
        """)
    under_way, ended, events = map(int, out.split("|"))
    assert events == 1, out
    assert (under_way, ended) == (1, 0), out


def test_reap_takes_dead_nodes_out_once(db):
    """Two dead nodes, a on both: one user_offline each. Built and reaped
    in one transaction, so that no daemon reaps the nodes first."""
    a, b, w = watched_pair()
    dead, watcher = [node_name(), node_name()], node_name()
    tx = connect_db(autocommit=False)
    try:
        with tx.cursor() as cur:
            add_node(cur, watcher, [(1, w)])
            add_node(cur, dead[0], [(1, a), (2, b)], "10 minutes")
            add_node(cur, dead[1], [(1, a)], "10 minutes")
            cur.execute("SELECT push_reap(%s, interval '1 year')", (TIMEOUT,))
            # Other dead nodes may be reaped too: at least ours.
            assert cur.fetchone()[0] >= 2
            assert offline_events(cur, a, b) == sorted([(a, w), (b, w)])
            assert not node_exists(cur, dead[0])
            assert not node_exists(cur, dead[1])
        tx.commit()
    finally:
        tx.rollback()
        tx.close()
        drop_nodes(db, [*dead, watcher])


def backend_waits_on_lock(db, pid, seconds=10):
    deadline = time.monotonic() + seconds
    with db.cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute("SELECT wait_event_type FROM pg_stat_activity"
                        " WHERE pid = %s", (pid,))
            row = cur.fetchone()
            if row and row[0] == "Lock":
                return True
            time.sleep(0.05)
    return False


def test_node_stop_and_connections_cannot_deadlock(db):
    """A connection batch holds the lower account and then takes the higher
    one, as push_connect_many does; a node stop that took the higher one
    first, waiting for the lower, would deadlock with it."""
    low, high = sorted(new_user().account_id for _ in range(2))
    stopping, batch_node = node_name(), node_name()
    with db.cursor() as cur:
        # The higher account first, in heap and in key order.
        add_node(cur, stopping, [(1, high), (2, low)])
        add_node(cur, batch_node, [])
    batch = connect_db(autocommit=False)
    stopper = connect_db()
    errors, answers = [], []

    def stop():
        try:
            with stopper.cursor() as cur:
                cur.execute("SELECT push_node_stop(%s, %s)",
                            (stopping, TIMEOUT))
                answers.append(cur.fetchone()[0])
        except Exception as e:          # noqa: BLE001 (reported below)
            errors.append(e)

    thread = threading.Thread(target=stop)
    try:
        with batch.cursor() as cur:
            cur.execute("SELECT * FROM push_connect(%s, 1, %s, %s)",
                        (batch_node, low, TIMEOUT))
            thread.start()
            assert backend_waits_on_lock(db, stopper.get_backend_pid())
            cur.execute("SELECT * FROM push_connect(%s, 2, %s, %s)",
                        (batch_node, high, TIMEOUT))
        batch.commit()
        thread.join(30)
        assert not thread.is_alive()
        assert not errors, errors
        assert answers == [0]          # both are online on batch_node
    finally:
        batch.rollback()
        thread.join(30)
        batch.close()
        stopper.close()
        drop_nodes(db, [stopping, batch_node])


@ws_test
async def test_a_daemon_taken_for_dead_registers_its_connections_again(db):
    """A daemon whose heartbeat came late past the timeout is reaped by the
    others while it lives on. Its next heartbeat finds its node row gone,
    and it registers its open connections again (push_heartbeat_found):
    they are online again, and wake-ups for them are sent again."""
    a, b = new_friends()
    cb = await session(b, daemon=1)
    with db.cursor() as cur:
        cur.execute("SELECT node_id FROM presence_connection"
                    " WHERE account_id = %s", (b.account_id,))
        node = cur.fetchone()[0]
        # What push_reap does to a node whose heartbeat is stale.
        cur.execute("SELECT presence_drop_nodes(ARRAY[%s], %s)",
                    (node, TIMEOUT))
        cur.execute("DELETE FROM presence_node WHERE node_id = %s", (node,))
    assert presence_rows(db, b.account_id) == 0
    # The test stack's heartbeat comes every 2 s (a timeout of 6 s).
    deadline = time.monotonic() + 15
    while presence_rows(db, b.account_id) == 0:
        assert time.monotonic() < deadline, "connection never registered again"
        await asyncio.sleep(0.1)
    sent = send(a, b, "after the reap")
    await cb.take(new_message_of(sent["message_id"]))
    await close_all(cb)
