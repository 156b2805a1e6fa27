"""No ghost presence (CONTRACT §8, §12): a connection that closes while
its daemon's database queue is full still leaves the online set. Its row
in presence_connection goes, and its friends hear friend_offline, once
the database catches up.

The queue is filled on daemon 1 with push.max_database_queries lowered
(SIGHUP) and the daemon's requests stalled behind one another: the test
holds the advisory lock that a connecting account's registration takes
(push_connect), so that registration waits at the head of the queue, and
mark_read frames pile up behind it until they are refused with 503. The
stall stays well under the presence timeout, so that the node is not
taken for dead (which would take its connections out of presence anyway).
"""

import asyncio
import os

import pytest

from chat_api import (connect_db, new_friends, new_user, presence_rows,
                      random_uuid)
from ws_client import (RECOVERY_SECONDS, close_all, of_type, open_ws,
                       reload_daemon, session, with_config_value, ws_test)

CONFIG = os.environ.get("CHAT_CONFIG", "")
QUEUE_MAX = 32
FLOODERS = 4
FRAMES_EACH = 24


@pytest.mark.disruptive
@ws_test(timeout=90)
async def test_connection_closed_while_the_database_queue_is_full():
    # A connection of its own: the suite's may be gone with a restart of
    # PostgreSQL by a disruptive test before.
    db = connect_db()
    a, b = new_friends()
    stalled = new_user()
    flooders = [new_user() for _ in range(FLOODERS)]
    with open(CONFIG) as f:
        original = f.read()
    lock = connect_db()
    conns = []
    try:
        await reload_daemon(1, with_config_value(
            original, "push", "max_database_queries", QUEUE_MAX))
        watcher = await session(b, daemon=2)
        victim = await session(a, daemon=1)
        conns += [watcher, victim]
        await watcher.expect("friend_online", user_id=a.account_id)
        for user in flooders:
            conns.append(await session(user, daemon=1))
        assert presence_rows(db, a.account_id) == 1

        # The registration of `stalled` waits for the lock, at the head
        # of daemon 1's queue.
        with lock.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(hashtextextended(%s, 7))",
                        (stalled.account_id,))
        conns.append(await open_ws(stalled.access, daemon=1))
        await asyncio.sleep(0.3)
        for conn in conns[2:2 + FLOODERS]:
            for _ in range(FRAMES_EACH):
                await conn.send({"type": "mark_read",
                                 "message_id": random_uuid()})
        # The queue filled: the last flooder's frames were refused.
        await conns[1 + FLOODERS].take(of_type("error", code=503))

        await victim.close()
        await asyncio.sleep(0.3)
    finally:
        lock.close()     # the lock goes with its session
        await reload_daemon(1, original)

    frame = await watcher.expect("friend_offline", user_id=a.account_id,
                                 timeout=RECOVERY_SECONDS)
    assert frame == {"type": "friend_offline", "user_id": a.account_id}
    assert presence_rows(db, a.account_id) == 0
    db.close()
    await close_all(*conns)
