#!/usr/bin/python3
"""Creates benchmark groups straight in the database and writes wsload's
accounts file for its group mode: "account-id access-token group-id" a
line.

    make_groups.py CONNINFO SECRET_FILE GROUPS MEMBERS MAX_MEMBERS OUT PREFIX

GROUPS groups of MEMBERS accounts each (named PREFIX-N, with an unusable
password, as make_accounts.py makes them). The first account of each group
is its leader and is friends with every other member; the group itself is
made by api_group_create() (sql/functions/groups.sql), the function behind
POST /group-chat/, as the leader calling it with the other members in
member_ids and MAX_MEMBERS as groups.max_members: the same rows, events
and membership spans as the API makes, with no HTTP round trip per group.

The accounts file interleaves the groups, so that a load generator going
down it sends to each group in turn; and each round of the groups is
shifted by one, so that wsload, which puts line i on push daemon i mod 4,
puts a quarter of every group on each of 4 daemons.
"""
import sys
import time
import uuid

import psycopg2

from make_accounts import token


def main():
    conninfo, secret_file, groups, members, max_members, out, prefix = \
        sys.argv[1:8]
    groups, members, max_members = int(groups), int(members), int(max_members)
    count = groups * members
    secret = open(secret_file, "rb").read().rstrip(b"\r\n ")
    ids = [str(uuid.uuid4()) for _ in range(count)]
    # Group g's members: accounts g * members .. (g + 1) * members - 1.
    group_ids = []
    db = psycopg2.connect(conninfo)
    with db, db.cursor() as cur:
        for start in range(0, count, 5000):
            chunk = range(start, min(start + 5000, count))
            cur.execute(
                "INSERT INTO account (account_id, username, email, password_hash)"
                " SELECT a, u, e, '!' FROM unnest(%s::uuid[], %s::text[], %s::text[])"
                " AS t(a, u, e)",
                ([ids[i] for i in chunk], [f"{prefix}-{i}" for i in chunk],
                 [f"{prefix}-{i}@bench.invalid" for i in chunk]))
        leaders = [ids[g * members] for g in range(groups) for _ in range(members - 1)]
        others = [ids[g * members + k] for g in range(groups) for k in range(1, members)]
        cur.execute(
            "INSERT INTO friendship (sender_id, receiver_id, status)"
            " SELECT a, b, 'accepted' FROM unnest(%s::uuid[], %s::uuid[]) AS t(a, b)",
            (leaders, others))
        for g in range(groups):
            first = g * members
            cur.execute(
                "SELECT status, body->>'group_id' FROM api_group_create("
                "%s, %s, NULL, NULL, %s::uuid[], %s)",
                (ids[first], f"{prefix} group {g}",
                 ids[first + 1:first + members], max_members))
            status, group_id = cur.fetchone()
            if status != 201:
                sys.exit(f"make_groups: api_group_create answered {status}")
            group_ids.append(group_id)
    db.close()
    now = int(time.time())
    with open(out, "w") as f:
        for i in range(count):
            k, slot = divmod(i, groups)     # round k, place in the round
            g = (slot + k) % groups
            a = g * members + k
            f.write(f"{ids[a]} {token(secret, ids[a], now)} {group_ids[g]}\n")


if __name__ == "__main__":
    main()
