"""Versioned SQLite schemas, one version per component, shared by every store in one file.

The table ``bms_xero_schema(component, version)`` records how far each component's
migrations have run (``"sync"`` for the sync store; tokens and jobs add their own rows).
A component's migrations are a sequence of functions; version N means the first N have run.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Final

from bms_xero.errors import SchemaVersionError

Migration = Callable[[sqlite3.Connection], None]
"""One schema step. It must use ``conn.execute`` only: ``executescript`` would commit the
surrounding transaction and break the all-or-nothing upgrade."""

SCHEMA_TABLE = "bms_xero_schema"

#: Sleeps between tries for the write lock grow from the first to the cap (full jitter).
_FIRST_WAIT: Final = 0.0001
_MAX_WAIT: Final = 0.002
_jitter = random.SystemRandom()  # fork-safe: two forked children never wait in lockstep


def is_busy(error: sqlite3.Error) -> bool:
    """Whether ``error`` is SQLite's "database is locked" (SQLITE_BUSY, any extended code)."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == sqlite3.SQLITE_BUSY
    text = str(error).lower()
    return "locked" in text or "busy" in text


def begin_immediate(conn: sqlite3.Connection, *, wait: float | None = None) -> None:
    """``BEGIN IMMEDIATE``, waiting for the write lock up to ``wait`` seconds (by default, the
    connection's busy timeout).

    SQLite's own busy handler is unfair to a waiter: it sleeps up to 100 ms between tries,
    while a writer that commits and begins again at once retakes the lock within
    microseconds, so two processes writing steadily could starve one of them past any
    timeout ("database is locked"). Here each try takes the lock or fails at once (busy
    timeout 0 for that statement), and between tries the waiter sleeps a short random time
    (0.1 ms growing to 2 ms, full jitter): it polls often, out of step with the other
    writers, and gives up only when the connection's busy timeout has passed. The busy
    timeout is restored for the statements that follow.

    Raises:
        sqlite3.OperationalError: The lock was not free within the busy timeout (or another
            error).
    """
    budget_ms = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    deadline = time.monotonic() + (budget_ms / 1000 if wait is None else wait)
    cap = _FIRST_WAIT
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as e:
                left = deadline - time.monotonic()
                if not is_busy(e) or left <= 0:
                    raise
            # A real wait: this is another connection's lock, not our clock.
            time.sleep(min(left, _jitter.uniform(0, cap)))
            cap = min(cap * 2, _MAX_WAIT)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {budget_ms}")


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

    Two processes opening the same file at once are serialised by the write lock (taken with
    :func:`begin_immediate`, within the connection's busy timeout); the second finds the work
    done. A failing migration rolls everything back.

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
    begin_immediate(conn)
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
