"""Requests racing each other (CONTRACT §1: bad input never yields a 500;
§4, §5): every answer is one the contract allows, and the stored state is
consistent with the answers."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from chat_api import (assert_error, assert_message, body, count_messages,
                      delete_message, friend_accept, friend_reject,
                      friend_remove, friend_request, friendship_row, history,
                      ids, mark_read, message_row, new_friends, new_user,
                      page, parse_time, send, send_message, unread_count)


def at_once(*calls):
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [f.result() for f in futures]


def conversation_count(db, a, b):
    with db.cursor() as cur:
        cur.execute("SELECT message_count FROM conversation"
                    " WHERE low_id = least(%s::uuid, %s::uuid)"
                    "   AND high_id = greatest(%s::uuid, %s::uuid)",
                    (a.account_id, b.account_id, a.account_id, b.account_id))
        row = cur.fetchone()
        return None if row is None else row[0]


def event_ids(db, kind, message_ids=None, actor=None):
    with db.cursor() as cur:
        if message_ids is not None:
            cur.execute("SELECT event_id FROM event WHERE kind = %s"
                        " AND message_id = ANY(%s::uuid[])",
                        (kind, list(message_ids)))
        else:
            cur.execute("SELECT event_id FROM event WHERE kind = %s"
                        " AND actor_id = %s", (kind, actor.account_id))
        return sorted(row[0] for row in cur.fetchall())


# ------------------------------------------------------------------- sends

def test_parallel_sends_from_both_sides(db):
    """20 sends from each side at once, into a conversation that has no
    row yet: all 201, and history counts exactly them."""
    a, b = new_friends()
    per_side = 20
    calls = []
    for i in range(per_side):
        calls.append(lambda i=i: send_message(a.access, b.account_id,
                                              f"a{i}"))
        calls.append(lambda i=i: send_message(b.access, a.account_id,
                                              f"b{i}"))
    answers = at_once(*calls)
    sent = []
    for r, i in zip(answers, range(len(answers))):
        message = body(r, 201)
        sender, receiver = (a, b) if i % 2 == 0 else (b, a)
        assert_message(message, sender, receiver,
                       f"{'ab'[i % 2]}{i // 2}")
        sent.append(message)
    n = 2 * per_side
    assert len(set(ids(sent))) == n
    assert count_messages(db, a.account_id, b.account_id) == n
    assert conversation_count(db, a, b) == n
    got = page(history(a.access, b.account_id, limit=100), total=n,
               limit=100)
    assert sorted(ids(got)) == sorted(ids(sent))
    keys = [(m["created_at"], m["message_id"]) for m in got]
    assert keys == sorted(keys, reverse=True)
    assert len({m["created_at"] for m in got}) == n
    assert unread_count(a.access) == per_side
    assert unread_count(b.access) == per_side


def test_parallel_sends_keep_each_senders_order(db):
    """One sender's messages, sent one after the other from one thread
    while the other side sends in parallel, keep their order."""
    a, b = new_friends()
    results = {}

    def burst(sender, receiver, tag):
        results[tag] = [body(send_message(sender.access, receiver.account_id,
                                          f"{tag}{i}"), 201)
                        for i in range(10)]

    at_once(lambda: burst(a, b, "a"), lambda: burst(b, a, "b"))
    for tag in "ab":
        times = [parse_time(m["created_at"]) for m in results[tag]]
        assert times == sorted(times) and len(set(times)) == 10
    got = page(history(b.access, a.account_id), total=20)
    for tag in "ab":
        mine = [m["content"] for m in reversed(got)
                if m["content"].startswith(tag)]
        assert mine == [f"{tag}{i}" for i in range(10)]


# ----------------------------------------------------- delete vs mark-read

def test_delete_racing_mark_read(db):
    a, b = new_friends()
    outcomes = set()
    for round_ in range(15):
        sent = send(a, b, f"race {round_}")
        mid = sent["message_id"]
        deleted, read = at_once(lambda: delete_message(a.access, mid),
                                lambda: mark_read(b.access, mid))
        assert body(deleted, 200) == {"detail": "Message deleted",
                                      "message_id": mid}
        row = message_row(db, mid)
        assert row["is_deleted"] is True
        if read.status_code == 200:
            answer = body(read, 200)
            assert_message(answer, a, b, f"race {round_}", status="read",
                           read=True)
            assert row["status"] == "read"
            assert row["read_at"] == parse_time(answer["read_at"])
        else:
            assert_error(read, 404, "Message not found")
            assert (row["status"], row["read_at"]) == ("sent", None)
        outcomes.add(read.status_code)
    assert unread_count(b.access) == 0
    assert page(history(a.access, b.account_id), total=0) == []
    assert conversation_count(db, a, b) == 0
    assert outcomes <= {200, 404}


def test_two_deletes_of_one_message(db):
    a, b = new_friends()
    for round_ in range(8):
        mid = send(a, b, f"twice {round_}")["message_id"]
        answers = at_once(lambda: delete_message(a.access, mid),
                          lambda: delete_message(a.access, mid))
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 404], [r.text for r in answers]
        for r in answers:
            if r.status_code == 404:
                assert_error(r, 404, "Message not found")
        assert len(event_ids(db, "message_deleted", [mid])) == 1
    assert conversation_count(db, a, b) == 0
    assert page(history(b.access, a.account_id), total=0) == []


def test_two_mark_reads_of_one_message(db):
    a, b = new_friends()
    for round_ in range(8):
        mid = send(a, b, f"read twice {round_}")["message_id"]
        first, second = at_once(lambda: mark_read(b.access, mid),
                                lambda: mark_read(b.access, mid))
        one, two = body(first, 200), body(second, 200)
        assert one == two
        assert one["read_at"] is not None
        assert len(event_ids(db, "message_read", [mid])) == 1
    assert unread_count(b.access) == 0


# ------------------------------------------------- removal vs a send stream

def test_removal_racing_a_stream_of_sends(db):
    a, b = new_friends()
    threads_per_side = 3
    stop = threading.Event()
    removed_at = []            # monotonic time the removal was answered
    log = []                   # (start, status, response)
    lock = threading.Lock()

    def stream(sender, receiver):
        i = 0
        while not stop.is_set():
            start = time.monotonic()
            r = send_message(sender.access, receiver.account_id,
                             f"stream {sender.username} {i}")
            with lock:
                log.append((start, sender, receiver, r))
            i += 1

    def count_status(code):
        with lock:
            return sum(1 for _, _, _, r in log if r.status_code == code)

    workers = [threading.Thread(target=stream, args=pair)
               for pair in [(a, b), (b, a)] * threads_per_side]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 10
        while count_status(201) < 12 and time.monotonic() < deadline:
            time.sleep(0.005)
        removal = friend_remove(b.access, a.account_id)
        removed_at.append(time.monotonic())
        while count_status(403) < 12 and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        for w in workers:
            w.join()

    assert body(removal, 200) == {"detail": "Friend removed"}
    created = []
    for start, sender, receiver, r in log:
        assert r.status_code in (201, 403), (r.status_code, r.text)
        if r.status_code == 201:
            message = body(r, 201)
            assert_message(message, sender, receiver, message["content"])
            created.append(message["message_id"])
        else:
            assert_error(r, 403, "Not friends with recipient")
        if start > removed_at[0]:
            assert r.status_code == 403, "a send after the removal got in"
    assert len(created) >= 12
    assert count_status(403) >= 12
    # Every acknowledged message is stored, and nothing else is.
    assert count_messages(db, a.account_id, b.account_id) == len(created)
    assert conversation_count(db, a, b) == len(created)
    for mid in created:
        assert message_row(db, mid)["is_deleted"] is False
    # Each created message committed before the removal recorded its
    # event: the removal waited for every send that had seen the friendship.
    removed = event_ids(db, "friend_removed", actor=b)
    assert len(removed) == 1
    made = event_ids(db, "message_created", created)
    assert len(made) == len(created)
    assert max(made) < removed[0]
    assert friendship_row(db, a.account_id, b.account_id) is None


# --------------------------------------------------------- friend requests

def test_crossing_friend_requests(db):
    """Two people ask each other at the same moment: one request."""
    for _ in range(6):
        a, b = new_user(), new_user()
        answers = at_once(lambda: friend_request(a.access, b.account_id),
                          lambda: friend_request(b.access, a.account_id))
        codes = sorted(r.status_code for r in answers)
        assert codes == [201, 400], [r.text for r in answers]
        winner = answers[0] if answers[0].status_code == 201 else answers[1]
        loser = answers[1] if winner is answers[0] else answers[0]
        assert_error(loser, 400, "Friend request already pending")
        created = body(winner, 201)
        row = friendship_row(db, a.account_id, b.account_id)
        assert (row["sender_id"], row["receiver_id"], row["status"]) == \
            (created["sender_id"], created["receiver_id"], "pending")


def test_accept_racing_reject(db):
    for _ in range(6):
        a, b = new_user(), new_user()
        body(friend_request(a.access, b.account_id), 201)
        accepted, rejected = at_once(
            lambda: friend_accept(b.access, a.account_id),
            lambda: friend_reject(b.access, a.account_id))
        codes = sorted([accepted.status_code, rejected.status_code])
        assert codes == [200, 404], (accepted.text, rejected.text)
        status = friendship_row(db, a.account_id, b.account_id)["status"]
        if accepted.status_code == 200:
            assert body(accepted, 200)["status"] == "accepted" == status
            assert_error(rejected, 404, "Friend request not found")
        else:
            assert body(rejected, 200)["status"] == "rejected" == status
            assert_error(accepted, 404, "Friend request not found")


def test_removal_by_both_sides_at_once(db):
    for _ in range(6):
        a, b = new_friends()
        answers = at_once(lambda: friend_remove(a.access, b.account_id),
                          lambda: friend_remove(b.access, a.account_id))
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 404], [r.text for r in answers]
        for r in answers:
            if r.status_code == 200:
                assert body(r, 200) == {"detail": "Friend removed"}
            else:
                assert_error(r, 404, "Friend not found")
        assert friendship_row(db, a.account_id, b.account_id) is None
