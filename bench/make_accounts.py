#!/usr/bin/python3
"""Creates benchmark accounts in pairs of friends, straight in the database,
and writes wsload's accounts file: "account-id access-token peer-id" a line.

    make_accounts.py CONNINFO SECRET_FILE COUNT OUT [PREFIX]

Accounts are named PREFIX-N; they have an unusable password (benchmarks
sign their tokens themselves with the stack's secret), and each even N is
friends with N+1. Tokens are valid for a day.
"""
import base64, hashlib, hmac, json, sys, time, uuid

import psycopg2


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(secret, account_id, now):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": account_id, "user_id": account_id,
                           "type": "access", "iat": now,
                           "exp": now + 86400}).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def main():
    conninfo, secret_file, count, out = sys.argv[1:5]
    prefix = sys.argv[5] if len(sys.argv) > 5 else "bench"
    count = int(count) // 2 * 2
    secret = open(secret_file, "rb").read().rstrip(b"\r\n ")
    ids = [str(uuid.uuid4()) for _ in range(count)]
    db = psycopg2.connect(conninfo)
    with db, db.cursor() as cur:
        rows = [(ids[i], f"{prefix}-{i}", f"{prefix}-{i}@bench.invalid")
                for i in range(count)]
        for start in range(0, count, 5000):
            chunk = rows[start:start + 5000]
            cur.execute(
                "INSERT INTO account (account_id, username, email, password_hash)"
                " SELECT a, u, e, '!' FROM unnest(%s::uuid[], %s::text[], %s::text[])"
                " AS t(a, u, e)",
                ([r[0] for r in chunk], [r[1] for r in chunk], [r[2] for r in chunk]))
        cur.execute(
            "INSERT INTO friendship (sender_id, receiver_id, status)"
            " SELECT a, b, 'accepted' FROM unnest(%s::uuid[], %s::uuid[]) AS t(a, b)",
            (ids[0::2], ids[1::2]))
    db.close()
    now = int(time.time())
    with open(out, "w") as f:
        for i in range(count):
            peer = ids[i + 1] if i % 2 == 0 else ids[i - 1]
            f.write(f"{ids[i]} {token(secret, ids[i], now)} {peer}\n")


if __name__ == "__main__":
    main()
