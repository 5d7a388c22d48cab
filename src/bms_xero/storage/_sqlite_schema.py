"""Versioned SQLite schemas, one version per component, shared by every store in one file.

The table ``bms_xero_schema(component, version)`` records how far each component's
migrations have run (``"sync"`` for the sync store; tokens and jobs add their own rows).
A component's migrations are a sequence of functions; version N means the first N have run.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence

from bms_xero.errors import SchemaVersionError

Migration = Callable[[sqlite3.Connection], None]
"""One schema step. It must use ``conn.execute`` only: ``executescript`` would commit the
surrounding transaction and break the all-or-nothing upgrade."""

SCHEMA_TABLE = "bms_xero_schema"


def enable_wal(conn: sqlite3.Connection, *, timeout: float) -> str:
    """Switch the file to WAL and return the journal mode SQLite reports.

    Changing the journal mode needs the file to itself, and SQLite answers "database is
    locked" at once (without its busy handler) when another connection is mid-transaction,
    e.g. two stores opening a new file together. Retry briefly until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as e:
            text = str(e).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)  # a real wait: this is another connection's lock, not our clock
            delay = min(delay * 2, 0.1)


def schema_version(conn: sqlite3.Connection, component: str) -> int:
    """The component's recorded version (0 when absent)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (SCHEMA_TABLE,)
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute(
        f"SELECT version FROM {SCHEMA_TABLE} WHERE component = ?",  # noqa: S608 (constant)
        (component,),
    ).fetchone()
    return 0 if row is None else int(row[0])


def migrate(
    conn: sqlite3.Connection,
    *,
    component: str,
    migrations: Sequence[Migration],
    location: str,
) -> int:
    """Bring ``component`` up to ``len(migrations)`` in one ``BEGIN IMMEDIATE`` transaction.

    Two processes opening the same file at once are serialised by the write lock; the second
    finds the work done. A failing migration rolls everything back.

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``), not in a
            transaction.
        component: The component's name in the schema table.
        migrations: Every migration the code knows, oldest first.
        location: How errors name the database (its path).

    Returns:
        The version the component is at now.

    Raises:
        SchemaVersionError: The file records a newer version than ``len(migrations)``.
    """
    target = len(migrations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} ("
            "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        current = schema_version(conn, component)
        if current > target:
            raise SchemaVersionError(
                location=location,
                component=component,
                found_version=current,
                supported_version=target,
            )
        for migration in migrations[current:]:
            migration(conn)
        if current != target:
            conn.execute(
                f"INSERT INTO {SCHEMA_TABLE} (component, version) VALUES (?, ?) "  # noqa: S608
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, target),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    return target
