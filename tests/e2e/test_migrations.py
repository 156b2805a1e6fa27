"""The database schema was built by the repository's migrations (sql/migrations)."""

import re

from chat_api import ROOT

SQL_DIR = ROOT / "sql" / "migrations"
MIGRATION_FILE = re.compile(r"^(\d{3})_.+\.sql$")


def migration_numbers_in_repo():
    numbers = []
    for path in SQL_DIR.iterdir():
        match = MIGRATION_FILE.match(path.name)
        if match:
            numbers.append(int(match.group(1)))
    return sorted(numbers)


def leading_number(version):
    """The number a schema_migration version stands for ("001", 1, "001_x")."""
    match = re.match(r"\d+", str(version))
    assert match, f"schema_migration version {version!r} has no number"
    return int(match.group(0))


def test_repository_has_migrations():
    numbers = migration_numbers_in_repo()
    assert numbers, f"no NNN_*.sql file in {SQL_DIR}"
    assert len(numbers) == len(set(numbers)), numbers


def test_every_migration_file_is_recorded_once(db):
    with db.cursor() as cur:
        cur.execute("SELECT version, applied_at FROM schema_migration")
        rows = cur.fetchall()
    recorded = sorted(leading_number(version) for version, _ in rows)
    assert recorded == migration_numbers_in_repo()
    assert all(applied_at is not None for _, applied_at in rows)
