"""A database of the earlier sql/ layout upgrades in place to the schema a
fresh install makes (sql/migrate), with its data intact.

The earlier layout is read from git: LAYOUT_BEFORE is the last commit whose
sql/ held the numbered migrations 001 to 020 (each with its functions).
The databases are made beside the stack's own, in its cluster.
"""

import io
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from chat_api import ROOT, as_owner, migrate, pg_bin, psql, socket_dir

pytestmark = pytest.mark.stack_cluster

LAYOUT_BEFORE = "6ac5ccc"
APP_ROLE = "chat_app"


def dump(dbname, *options):
    text = as_owner([pg_bin("pg_dump"), "-h", socket_dir(), "-d", dbname,
                     "--no-owner", *options])
    # pg_dump 15.14 on writes a random key in \restrict lines.
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("\\restrict", "\\unrestrict")))


@pytest.fixture(scope="module")
def layout_before():
    """The sql/ folder of LAYOUT_BEFORE, readable by the cluster's owner."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", LAYOUT_BEFORE, "sql"],
                             capture_output=True, timeout=60)
    assert archive.returncode == 0, archive.stderr.decode(errors="replace")
    where = pathlib.Path(tempfile.mkdtemp(prefix="chat-layout-before."))
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(where)
    for path in [where, *where.rglob("*")]:
        path.chmod(0o755)
    yield where / "sql"
    shutil.rmtree(where, ignore_errors=True)


# Data made through the functions of the earlier layout: accounts, a
# friendship, messages read and deleted, a pending request, presence.
SEED = """
INSERT INTO account (account_id, username, email, password_hash, full_name)
VALUES ('00000000-0000-4000-8000-00000000000a', 'ann', 'ann@example.com', 'x', 'Ann'),
       ('00000000-0000-4000-8000-00000000000b', 'bob', 'bob@example.com', 'x', NULL),
       ('00000000-0000-4000-8000-00000000000c', 'cyd', 'cyd@example.com', 'x', 'Cyd');
SELECT status FROM api_friend_request('00000000-0000-4000-8000-00000000000a',
                                      '00000000-0000-4000-8000-00000000000b');
SELECT status FROM api_friend_answer('00000000-0000-4000-8000-00000000000b',
                                     '00000000-0000-4000-8000-00000000000a', true);
SELECT status FROM api_friend_request('00000000-0000-4000-8000-00000000000c',
                                      '00000000-0000-4000-8000-00000000000a');
SELECT status FROM api_send_message('00000000-0000-4000-8000-00000000000a',
                                    '00000000-0000-4000-8000-00000000000b',
                                    'hello before the upgrade');
SELECT status FROM api_send_message('00000000-0000-4000-8000-00000000000b',
                                    '00000000-0000-4000-8000-00000000000a',
                                    'an answer to delete');
SELECT status FROM api_mark_read('00000000-0000-4000-8000-00000000000b',
       (SELECT message_id FROM message WHERE content = 'hello before the upgrade'));
SELECT status FROM api_delete_message('00000000-0000-4000-8000-00000000000b',
       (SELECT message_id FROM message WHERE content = 'an answer to delete'));
SELECT push_node_start('node-x', 30);
SELECT frame IS NOT NULL FROM push_connect('node-x', 1,
       '00000000-0000-4000-8000-00000000000b', 30);
"""


def data_of(dbname):
    """Every row but the migrations' own records, the rate limits'
    buckets (counts of the moment, in an unlogged table) and event_pruning
    (a transaction id, which differs between clusters)."""
    return dump(dbname, "--data-only", "--exclude-table=schema_migration",
                "--exclude-table=rate_bucket", "--exclude-table=event_pruning")


# Columns the migrations after the earlier layout add, NULL in every row
# that was there before them: (table, column).
ADDED_COLUMNS = [("message", "send_key"), ("event", "group_id")]
# Tables the migrations after the earlier layout add, empty after an
# upgrade.
ADDED_TABLES = ["chat_group", "group_member", "group_member_span",
                "group_message"]


def without_added_tables(data):
    """A data dump less the sections of ADDED_TABLES, each asserted empty."""
    for name in ADDED_TABLES:
        section = re.compile(
            r"--\n-- Data for Name: " + name + r"; Type: TABLE DATA; "
            r"Schema: public; Owner: [^\n]*\n--\n\n"
            r"COPY public\." + name + r" \([^)]*\) FROM stdin;\n(.*?)\\\.\n\n\n",
            re.S)
        match = section.search(data)
        assert match is not None, name
        assert match.group(1) == "", match.group(0)
        data = data[:match.start()] + data[match.end():]
    return data


def without_added_columns(data):
    """A data dump less the columns of ADDED_COLUMNS, each asserted NULL
    (the last column of its table: migrations append), and less the
    sections of ADDED_TABLES."""
    data = without_added_tables(data)
    lines, table = [], None
    for line in data.split("\n"):
        for name, column in ADDED_COLUMNS:
            head = f"COPY public.{name} ("
            if line.startswith(head) and line.endswith(f", {column}) FROM stdin;"):
                line = line.replace(f", {column}) FROM stdin;", ") FROM stdin;")
                table = name
                break
        else:
            if table is not None and line == "\\.":
                table = None
            elif table is not None:
                assert line.endswith("\t\\N"), line
                line = line[:-len("\t\\N")]
        lines.append(line)
    return "\n".join(lines)


def test_upgrade_from_the_earlier_layout_ends_as_a_fresh_install(databases, layout_before):
    fresh, upgraded = databases(), databases()

    migrate(fresh)

    out = migrate(upgraded, layout_before / "migrate")
    assert "applied 020_presence_plans" in out, out
    psql(upgraded, SEED, user=APP_ROLE)
    before = data_of(upgraded)
    out = migrate(upgraded)
    assert "applied 020_baseline" not in out, out

    assert dump(upgraded, "--schema-only") == dump(fresh, "--schema-only")
    assert without_added_columns(data_of(upgraded)) == before
    versions = psql(upgraded, "SELECT version FROM schema_migration ORDER BY 1").split()
    assert "020_baseline" in versions and "020_presence_plans" in versions

    # The functions of the new layout serve the data of the old one.
    page = psql(upgraded, """
        SELECT total, content FROM api_history_page(
            '00000000-0000-4000-8000-00000000000a',
            '00000000-0000-4000-8000-00000000000b', 0, 50)""", user=APP_ROLE)
    assert page.split("\n")[0] == "1|", page
    assert "hello before the upgrade" in page and "an answer to delete" not in page


def test_migrate_again_changes_nothing(databases):
    db = databases()
    migrate(db)
    schema = dump(db, "--schema-only")
    out = migrate(db)
    assert "schema up to date" in out, out
    assert dump(db, "--schema-only") == schema


def test_every_function_is_defined_once_in_sql_functions(databases):
    """What the database holds is what sql/ defines: each function of the
    schema is written once, in sql/functions/ or (a function an index is
    built from) in a migration."""
    db = databases()
    migrate(db)
    names = psql(db, """
        SELECT p.proname FROM pg_proc p
         WHERE p.pronamespace = 'public'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.objid = p.oid AND d.deptype = 'e')""").split()
    assert names
    sources = [p.read_text() for p in (ROOT / "sql").rglob("*.sql")]
    for name in names:
        creates = sum(text.count(f"CREATE OR REPLACE FUNCTION {name}(")
                      + text.count(f"CREATE FUNCTION {name}(") for text in sources)
        assert creates == 1, (name, creates)
