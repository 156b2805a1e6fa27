#!/usr/bin/python3
"""Holds N database connections that LISTEN on one channel and read every
notification as it comes, as the push daemons' event connections do: the
listeners of the notify scenario (bench/run).

    listen.py CONNINFO CHANNEL N

Prints "ready" once the N connections listen; runs until killed.
"""
import select
import sys

import psycopg2
import psycopg2.extensions


def main():
    conninfo, channel, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conns = []
    for _ in range(n):
        conn = psycopg2.connect(conninfo)
        conn.set_isolation_level(psycopg2.extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        conn.cursor().execute("LISTEN " + channel)
        conns.append(conn)
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select(conns, [], [], 60) if conns else (
            select.select([], [], [], 60))
        for conn in readable:
            conn.poll()
            conn.notifies.clear()


if __name__ == "__main__":
    main()
