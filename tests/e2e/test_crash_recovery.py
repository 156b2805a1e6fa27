"""Catching up across an immediate (crash) stop of PostgreSQL (CONTRACT
§10, docs/events.md "After a crash of PostgreSQL"): the ids of
transactions that left nothing on disk are handed out again after crash
recovery, and a cursor made before the crash must still lead to every
event written after it.

It stops the stack's database and always starts it again: marked
disruptive, it runs after the other tests (conftest.py).
"""

import asyncio
import time

import pytest

from chat_api import (body, connect_db, new_friends, send,
                      wait_for_health)
from ws_client import (WAIT, burn_transaction_ids, connect, sync, sync_all,
                       sync_moment)

pytestmark = pytest.mark.disruptive

RECOVERY_SECONDS = 30



def test_cursor_from_before_a_crash_misses_nothing_after_it(database):
    a, b = new_friends()
    since = sync_moment(a)
    db = connect_db()
    try:
        # Ids taken and rolled back, the last of them never written out:
        # after the crash, the next transactions get them again.
        burn_transaction_ids(db, 2000)
        cursor = body(sync(a, since), 200)["cursor"]
    finally:
        db.close()
    database.stop("immediate")
    database.start()
    assert body(wait_for_health(RECOVERY_SECONDS), 200)["status"] == "ok"
    sent = [send(b, a, f"after the crash {i}")["message_id"]
            for i in range(5)]

    # What a transaction still running holds back comes to a later call.
    got, after, deadline = [], cursor, time.monotonic() + WAIT
    while len(got) < len(sent) and time.monotonic() < deadline:
        events, after = sync_all(a, after)
        got += [e["message"]["message_id"] for e in events
                if e["type"] == "new_message"]
        time.sleep(0.1)
    assert got == sent, (cursor, got)

    async def replayed():
        conn = await connect(a, since=cursor)
        try:
            frames = [await conn.expect("new_message") for _ in sent]
        finally:
            await conn.close()
        return [f["message"]["message_id"] for f in frames]

    assert asyncio.run(replayed()) == sent
