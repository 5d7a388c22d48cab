"""The SQLite plumbing every bms_xero SQLite store shares: one file, a connection pool, WAL,
``BEGIN IMMEDIATE`` writes, versioned schemas, and sqlite3 errors turned into StorageErrors.

A store owns a :class:`SQLiteFile` for its component (``"sync"``, ``"jobs"``, ...); several
stores may open the same file, each with its own tables and schema row.

Concurrent writers (threads, processes) take turns on SQLite's one write lock. Every
connection has a busy timeout (the store's ``timeout=``); a write waits for the lock with
:func:`~bms_xero.storage._sqlite_schema.begin_immediate`, which retries with short jittered
sleeps so that no writer starves while others commit back to back, and fails with a
StorageError only when the lock stayed taken for the whole timeout. Reads never wait for
writers (WAL).

Writers in one process first take that file's :class:`_WriteTurn`, a lock shared by every
store open on the file here, so threads queue on it and are woken as it is released,
instead of polling SQLite's lock with sleeps (a push with five requests in flight made
about 500 such sleeps per 1,000 invoices). It only orders this process's writers:
what keeps two writers apart is still ``BEGIN IMMEDIATE``, so a lock lost across a fork, or
two processes, or two paths to one file, is merely slower, never wrong.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final, Literal
from weakref import WeakValueDictionary

from bms_xero.errors import ConfigurationError, StorageError
from bms_xero.storage._sqlite_schema import Migration, begin_immediate, enable_wal, migrate

__all__ = ["SQLiteFile"]

_MAX_IDLE: Final = 8


class _WriteTurn:
    """This process's writers to one file, one at a time (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self, timeout: float) -> threading.Lock | None:
        """Wait up to ``timeout`` seconds for the turn: the lock taken, to release, or
        ``None``. (The lock itself is returned because a fork replaces it: a writer from
        before the fork must release the one it took.)"""
        lock = self._lock
        return lock if lock.acquire(timeout=min(timeout, threading.TIMEOUT_MAX)) else None

    def forget_holders(self) -> None:
        """In a forked child: the turn is free, whoever held it in the parent."""
        self._lock = threading.Lock()


#: Each open file's turn, by its real path; dropped when no store holds it.
_TURNS: WeakValueDictionary[str, _WriteTurn] = WeakValueDictionary()
_TURNS_GUARD = threading.Lock()


def _turn_for(path: str) -> _WriteTurn:
    key = os.path.normcase(os.path.realpath(path))
    with _TURNS_GUARD:
        turn = _TURNS.get(key)
        if turn is None:
            turn = _TURNS[key] = _WriteTurn()
        return turn


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: a turn (or the guard) held by any other
    thread of the parent would never be released in it."""
    global _TURNS_GUARD
    _TURNS_GUARD = threading.Lock()
    for turn in list(_TURNS.values()):
        turn.forget_holders()


if hasattr(os, "register_at_fork"):  # POSIX; elsewhere there is no fork
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Pool:
    """Open connections, handed to one caller at a time; bounded, so thread churn can't leak."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        closed_message: str,
        *,
        getpid: Callable[[], int] = os.getpid,
    ) -> None:
        self._connect = connect
        self._closed_message = closed_message
        self._getpid = getpid
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = getpid()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StorageError(self._closed_message)
            pid = self._getpid()
            if pid != self._pid:
                # Forked (a prefork server or worker pool): SQLite connections must not cross
                # fork, so leave the parent's to the parent, unused and unclosed, and open anew.
                self._idle, self._pid = [], pid
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._connect()
        try:
            yield conn
        finally:
            # A connection left inside a transaction is not reused (closing rolls it back).
            with self._lock:
                keep = not conn.in_transaction and not self._closed and len(self._idle) < _MAX_IDLE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class SQLiteFile:
    """One SQLite database file as a store uses it.

    Args:
        path: The database file (its directory must exist; ``":memory:"`` is refused).
        owner: The store's class name, for messages.
        component: The store's row in the shared schema table.
        migrations: The component's migrations, oldest first.
        timeout: Seconds a write waits for another connection's lock (every connection's
            busy timeout).
        synchronous: SQLite's ``synchronous`` setting (``"FULL"`` or ``"NORMAL"``).
        in_memory_hint: What to use instead of ``":memory:"``, for the error message.

    Raises:
        ConfigurationError: A bad argument.
        SchemaVersionError: The file was written by a newer bms_xero.
        StorageError: The file can't be opened, isn't a database, or can't use WAL.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        owner: str,
        component: str,
        migrations: Sequence[Migration],
        timeout: float,
        synchronous: Literal["FULL", "NORMAL"],
        in_memory_hint: str,
    ) -> None:
        location = os.fspath(path)
        if not isinstance(location, str) or location in ("", ":memory:"):
            raise ConfigurationError(
                f"{owner} needs a file path, not {location!r}; {in_memory_hint}"
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ConfigurationError(f"{owner}(timeout=...) must be seconds >= 0, not {timeout!r}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigurationError(
                f"{owner}(synchronous=...) must be 'FULL' or 'NORMAL', not {synchronous!r}"
            )
        self.path = location
        self.timeout = float(timeout)
        self._synchronous = synchronous
        self._pool = _Pool(self._connect, f"{owner}({location!r}) is closed; open a new one")
        self._turn = _turn_for(location)
        try:
            with self.errors("open the database"), self._pool.connection() as conn:
                mode = enable_wal(conn, timeout=self.timeout)
                if mode.lower() != "wal":
                    raise StorageError(
                        f"{location}: SQLite could not switch to WAL journal mode (got "
                        f"{mode!r}); put the file on a local disk, not a network share"
                    )
                migrate(conn, component=component, migrations=migrations, location=location)
        except BaseException:
            self._pool.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves. One caller at a time uses a
        # connection (the pool sees to that), so it may move between threads. timeout= is the
        # connection's busy timeout, which begin_immediate also takes as its budget.
        conn = sqlite3.connect(
            self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection for reads outside a transaction."""
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def transaction(self, doing: str, *, write: bool) -> Iterator[sqlite3.Connection]:
        """A transaction; errors become StorageErrors that say what was being done.

        Writes use ``BEGIN IMMEDIATE``: it takes the write lock before the first read, so a
        version compared (or a job seen as due) can't change before the commit, and a
        deferred transaction can't lose the race to upgrade its lock and fail without waiting.
        The lock is waited for fairly, up to ``timeout`` in all: first this process's turn
        on the file (threads here queue on it), then SQLite's lock for what is left (see
        :func:`~bms_xero.storage._sqlite_schema.begin_immediate`); keep the body short, as
        every other writer waits for it.
        """
        with self.errors(doing), self._pool.connection() as conn:
            if not write:
                conn.execute("BEGIN")
                with self._rolled_back_on_error(conn):
                    yield conn
                return
            started = time.monotonic()
            turn: threading.Lock | None = None
            try:
                turn = self._turn.acquire(self.timeout)
                if turn is None:
                    # Another thread here held the file's writes for the whole timeout: the
                    # same StorageError as when another process holds SQLite's lock.
                    raise sqlite3.OperationalError("database is locked (by this process's writers)")
                left = max(0.0, self.timeout - (time.monotonic() - started))
                begin_immediate(conn, wait=left)
                with self._rolled_back_on_error(conn):
                    yield conn
            finally:
                if turn is not None:
                    turn.release()

    @contextmanager
    def _rolled_back_on_error(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Commit after the body; roll back if it raised."""
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn sqlite3 errors into a StorageError naming the file, the action and the fix."""
        try:
            yield
        except sqlite3.Error as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                fix = (
                    f"another thread or process held the write lock for more than "
                    f"{self.timeout:g} s; retry, or open the store with a larger timeout="
                )
            elif isinstance(exc, sqlite3.DatabaseError) and "not a database" in text:
                fix = "the file is not a SQLite database; point the store at another file"
            elif "unable to open" in text:
                fix = "check that the directory exists and is writable"
            else:
                fix = "check the file and the disk it is on"
            raise StorageError(f"{self.path}: could not {doing} ({text}); {fix}") from exc

    def close(self) -> None:
        """Close every connection; further use raises StorageError. Idempotent."""
        self._pool.close()
