"""The PostgreSQL plumbing every bms_xero PostgreSQL store shares (psycopg 3).

A store owns a :class:`PostgresDatabase` for its component (``"sync"``, ``"tokens"``,
``"jobs"``): where its connections come from, its versioned schema, its table names, and how
a psycopg error becomes a :class:`~bms_xero.errors.StorageError`.

- **Connections** come from a libpq URL (``postgresql://user@host/db``; the store keeps a
  small pool of its own, safe across threads and across ``fork``) or from the host's
  ``psycopg_pool.ConnectionPool`` (anything with a ``connection()`` context manager that
  yields a psycopg connection), which the host sizes, configures and closes.
- **Migrations** are versioned per component in a ``bms_xero_schema(component, version)``
  table, as the SQLite stores do. An upgrade runs in one transaction (PostgreSQL's DDL is
  transactional) under an advisory lock, so several processes opening one database at once
  take turns and the later ones find the work done; a database migrated by a newer bms_xero
  raises :class:`~bms_xero.errors.SchemaVersionError` and changes nothing.
- **Every table may live in a schema of its own** (``schema=``), created when missing; without
  one, names resolve through the connection's ``search_path`` as any other query's do.
- **Secrets never leave**: the URL's password is redacted wherever the database is named
  (reprs, errors, logs), and an error whose driver text quotes it is raised without that text.

Importing this module needs psycopg; without it the import raises
:class:`~bms_xero.errors.ConfigurationError` saying which extra to install.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, Final, Protocol, runtime_checkable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import attrs

from bms_xero.errors import ConfigurationError, SchemaVersionError, StorageError

try:
    import psycopg
    from psycopg import errors as pg_errors
    from psycopg.conninfo import conninfo_to_dict, make_conninfo
    from psycopg.pq import TransactionStatus
    from psycopg.rows import TupleRow, tuple_row
    from psycopg.types.json import Jsonb
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without psycopg
    raise ConfigurationError(
        'the PostgreSQL stores need psycopg 3: pip install "bms-xero[postgres]"'
    ) from exc

__all__ = [
    "SCHEMA_TABLE",
    "Connection",
    "ConnectionPool",
    "Cursor",
    "Jsonb",
    "Migration",
    "PostgresDatabase",
    "Tables",
    "advisory_key",
    "redact",
    "text_problems",
]

Connection = psycopg.Connection[Any]
Cursor = psycopg.Cursor[TupleRow]

SCHEMA_TABLE: Final = "bms_xero_schema"
REDACTED: Final = "<redacted>"
#: Connections a store's own pool keeps open for reuse; more are closed after use.
_MAX_IDLE: Final = 8
#: Seconds a new connection of the store's own pool may take (unless the URL says).
_CONNECT_TIMEOUT: Final = 10


@runtime_checkable
class ConnectionPool(Protocol):
    """What a store needs from the host's pool: ``psycopg_pool.ConnectionPool`` has it.

    ``connection()`` lends one psycopg connection for the ``with`` block and takes it back
    afterwards (the pool commits or rolls back whatever the block left open).
    """

    def connection(self) -> AbstractContextManager[Connection]:
        """A connection for the ``with`` block."""
        ...


@attrs.frozen
class Tables:
    """How a store's SQL names its tables: quoted, and qualified by ``schema`` when given."""

    schema: str | None

    def __call__(self, name: str) -> str:
        """The table ``name`` as SQL, e.g. ``"bms_xero"."bms_xero_jobs"``."""
        table = quote_ident(name)
        return table if self.schema is None else f"{quote_ident(self.schema)}.{table}"


Migration = Callable[[Connection, Tables], None]
"""One schema step: it runs its statements on the connection (inside the upgrade's
transaction) and names tables through :class:`Tables`."""


def quote_ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (``"a""b"`` for ``a"b``)."""
    return '"' + name.replace('"', '""') + '"'


def advisory_key(*parts: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for ``parts``: the same in every process
    and on every machine (``hash()`` is not), and prefixed so it can't meet the host's keys."""
    text = "\x1f".join(("bms_xero", *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


def text_problems(values: Mapping[str, object]) -> list[str]:
    """The names of the text values PostgreSQL can't hold (a NUL character), so a store can
    refuse them with the field's name before anything is sent."""
    return [name for name, value in values.items() if isinstance(value, str) and "\x00" in value]


# --- URLs and secrets --------------------------------------------------------------------------


def _password(conninfo: str) -> str | None:
    try:
        secret = conninfo_to_dict(conninfo).get("password")
    except psycopg.Error:
        return None
    return str(secret) if secret else None


def redact(conninfo: str) -> str:
    """The connection string with its password replaced by ``<redacted>``, for messages.

    A URL keeps its shape (``postgresql://user:<redacted>@host/db``, a ``password=`` query
    parameter redacted too); a ``key=value`` string is rewritten with the password redacted.
    A string libpq can't read is never quoted (it may hold a password in a form we can't find).
    """
    if "://" in conninfo:
        try:
            parts = urlsplit(conninfo)
        except ValueError:
            return "<an unreadable PostgreSQL URL>"
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            if ":" in user:
                user = f"{user.split(':', 1)[0]}:{REDACTED}"
            netloc = f"{user}@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            hidden = [(k, REDACTED if k == "password" else v) for k, v in pairs]
            query = urlencode(hidden, safe="<>", quote_via=quote)
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    try:
        values = conninfo_to_dict(conninfo)
    except psycopg.Error:
        return "<an unreadable PostgreSQL connection string>"
    if "password" in values:
        values["password"] = REDACTED
    return make_conninfo(**{k: str(v) for k, v in values.items()})


def _check_conninfo(owner: str, conninfo: object) -> str:
    if not isinstance(conninfo, str) or not conninfo.strip():
        raise ConfigurationError(
            f"{owner} needs a libpq URL (e.g. 'postgresql://user@host:5432/dbname') or a "
            f"psycopg_pool.ConnectionPool, not {type(conninfo).__name__} {_shown(conninfo)}"
        )
    try:
        conninfo_to_dict(conninfo)
        readable = True
    except psycopg.Error:
        readable = False
    if not readable:
        # Raised outside the handler: psycopg's error quotes the offending text, which may be
        # the password, and must not even ride along as the context.
        raise ConfigurationError(
            f"{owner}: {redact(conninfo)} is not a libpq URL or connection string libpq can "
            "read; write it as postgresql://user:password@host:port/dbname (percent-encode "
            "special characters in the password)"
        )
    return conninfo


def _shown(value: object) -> str:
    return "" if isinstance(value, str) else repr(value)[:40]


def _check_schema(owner: str, schema: object) -> str | None:
    if schema is None:
        return None
    if (
        not isinstance(schema, str)
        or not schema
        or "\x00" in schema
        or len(schema.encode()) > 63
        or schema.startswith("pg_")
    ):
        raise ConfigurationError(
            f"{owner}(schema=...) must be a PostgreSQL schema name (1-63 bytes, not starting "
            f"with 'pg_'), or None for the connection's search_path; not {schema!r}"
        )
    return schema


# --- the store's own pool ----------------------------------------------------------------------


def _abandon(conn: Connection) -> None:
    """Let go of a connection inherited across ``fork`` without touching its server session.

    The socket is shared with the parent: closing it the usual way would send the server a
    Terminate message and end the *parent's* session. So this process's copy of the socket is
    pointed at ``/dev/null`` first; libpq then says goodbye to nobody and closes its copy.
    """
    try:
        fd = conn.pgconn.socket
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    except (OSError, psycopg.Error):
        pass  # already closed: nothing is shared any more
    with suppress(OSError, psycopg.Error):
        conn.close()


_POOLS: weakref.WeakSet[_Pool] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_POOLS):
        pool.forget_parent()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Pool:
    """Connections opened from a URL, lent to one caller at a time; bounded, so thread churn
    can't leak. After a ``fork`` the child leaves the parent's connections to the parent."""

    def __init__(self, conninfo: str, closed_message: str) -> None:
        self._conninfo = conninfo
        self._closed_message = closed_message
        self._lock = threading.Lock()
        self._idle: list[Connection] = []
        self._open: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._closed = False
        _POOLS.add(self)

    def connect(self) -> Connection:
        """A new connection of this pool's settings, not pooled (the caller closes it)."""
        return psycopg.connect(self._conninfo, autocommit=True)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self._lock:
            if self._closed:
                raise StorageError(self._closed_message)
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self.connect()
            with self._lock:
                self._open.add(conn)
        try:
            yield conn
        finally:
            reusable = (
                not conn.closed
                and not conn.broken
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            with self._lock:
                keep = reusable and not self._closed and len(self._idle) < _MAX_IDLE
                if keep:
                    self._idle.append(conn)
            if not keep:
                conn.close()

    def forget_parent(self) -> None:
        """In a forked child: abandon every connection the parent opened (see :func:`_abandon`)."""
        self._lock = threading.Lock()  # another thread may have held it at the fork
        inherited, self._idle, self._open = list(self._open), [], weakref.WeakSet()
        for conn in inherited:
            _abandon(conn)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _Borrowed:
    """The host's pool, lent through: the host opens, sizes and closes it."""

    def __init__(self, pool: ConnectionPool, closed_message: str) -> None:
        self._pool = pool
        self._closed_message = closed_message
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self._closed:
            raise StorageError(self._closed_message)
        with self._pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self._closed = True


# --- the database ------------------------------------------------------------------------------


class PostgresDatabase:
    """One PostgreSQL database (and schema) as a store uses it.

    Args:
        database: A libpq URL or connection string, or a pool (see :class:`ConnectionPool`).
        owner: The store's class name, for messages.
        component: The store's row in the schema table.
        migrations: The component's migrations, oldest first.
        schema: The PostgreSQL schema of the tables (created when missing), or ``None``.
        lock_timeout: Seconds a statement of the store's own connections waits for a lock
            another transaction holds (PostgreSQL's ``lock_timeout``); a pool's connections
            keep the host's settings.

    Raises:
        ConfigurationError: A bad argument, or a database whose encoding is not UTF8.
        SchemaVersionError: The schema was migrated by a newer bms_xero.
        StorageError: The server can't be reached, or refused the migration.
    """

    def __init__(
        self,
        database: str | ConnectionPool,
        *,
        owner: str,
        component: str,
        migrations: Sequence[Migration],
        schema: str | None,
        lock_timeout: float,
    ) -> None:
        self.schema = _check_schema(owner, schema)
        self.tables = Tables(self.schema)
        if (
            isinstance(lock_timeout, bool)
            or not isinstance(lock_timeout, int | float)
            or not lock_timeout > 0
        ):
            raise ConfigurationError(
                f"{owner}(lock_timeout=...) must be seconds > 0, not {lock_timeout!r}"
            )
        self._secret: str | None = None
        if isinstance(database, str) or not isinstance(database, ConnectionPool):
            conninfo = _check_conninfo(owner, database)
            self._secret = _password(conninfo)
            where = redact(conninfo)
            source: _Pool | _Borrowed = _Pool(
                _own_settings(conninfo, lock_timeout), f"{owner}({where}) is closed; open a new one"
            )
        else:
            where = _pool_name(database)
            source = _Borrowed(database, f"{owner}({where}) is closed; open a new one")
        self.location = where if self.schema is None else f"{where} (schema {self.schema!r})"
        self._where = where
        self._source = source
        try:
            if isinstance(source, _Pool):
                # A connection of its own, closed at once: a store opened before a fork (a
                # prefork worker's parent) leaves no session for its children to inherit.
                with self.errors("open the database"), source.connect() as conn:
                    self._migrate(conn, component, migrations)
            else:
                with self.errors("open the database"), source.connection() as conn:
                    self._migrate(conn, component, migrations)
        except BaseException:
            source.close()
            raise

    def _migrate(self, conn: Connection, component: str, migrations: Sequence[Migration]) -> None:
        with conn.cursor(row_factory=tuple_row) as cursor:  # whatever rows the host's pool makes
            cursor.execute("SHOW server_encoding")
            encoding = cursor.fetchone()
        if encoding is None or str(encoding[0]).upper() not in ("UTF8", "UTF-8"):
            raise ConfigurationError(
                f"{self.location} uses the {encoding[0] if encoding else '?'} encoding; the "
                "bms_xero stores need a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8')"
            )
        migrate(
            conn,
            tables=self.tables,
            component=component,
            migrations=migrations,
            location=self.location,
        )

    @contextmanager
    def transaction(self, doing: str) -> Iterator[Cursor]:
        """A cursor (rows as tuples) in a transaction; psycopg errors become StorageErrors
        that say what was being done. The transaction commits when the block ends and rolls
        back when it raises (a VersionConflict raised inside writes nothing)."""
        with (
            self.errors(doing),
            self._source.connection() as conn,
            conn.transaction(),
            conn.cursor(row_factory=tuple_row) as cursor,
        ):
            yield cursor

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn psycopg errors into a StorageError naming the database (its password
        redacted), the action and the fix; connection trouble, lock timeouts and deadlocks
        are marked retryable."""
        hidden: StorageError | None = None
        try:
            yield
        except psycopg.Error as exc:
            error = self._storage_error(doing, exc)
            if not self._quotes_secret(str(exc)):
                raise error from exc
            hidden = error  # raised below, outside the handler: not even as the context
        except UnicodeEncodeError as exc:
            raise StorageError(
                f"{self.location}: could not {doing}: a value is not valid text ({exc.reason} "
                f"at position {exc.start}); PostgreSQL stores UTF-8 text only"
            ) from exc
        if hidden is not None:
            raise hidden

    def _quotes_secret(self, text: str) -> bool:
        return self._secret is not None and self._secret in text

    def _storage_error(self, doing: str, exc: psycopg.Error) -> StorageError:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self._quotes_secret(text):
            assert self._secret is not None
            text = text.replace(self._secret, REDACTED)
        retryable = False
        if isinstance(exc, pg_errors.LockNotAvailable | pg_errors.QueryCanceled):
            fix = "another transaction held a lock too long; retry (or raise lock_timeout=)"
            retryable = True
        elif isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
            fix = "two transactions collided; retry"
            retryable = True
        elif isinstance(exc, pg_errors.InsufficientPrivilege):
            fix = (
                "grant the database user the rights it needs on the bms_xero tables (or the "
                "schema), or connect as their owner"
            )
        elif isinstance(exc, pg_errors.UndefinedTable):
            fix = (
                "the bms_xero tables are missing (dropped after the store was opened?); open "
                "the store again to create them"
            )
        elif isinstance(exc, psycopg.OperationalError):
            fix = (
                f"check that PostgreSQL is running and reachable at {self._where} and that "
                "the user, password and database are right"
            )
            retryable = True
        else:
            fix = "check the database server and the bms_xero tables"
        error = StorageError(f"{self.location}: could not {doing} ({text}); {fix}")
        error.retryable = retryable
        return error

    def close(self) -> None:
        """Close the store's own connections (a host's pool stays open: it is the host's);
        further use raises StorageError. Idempotent."""
        self._source.close()


def _own_settings(conninfo: str, lock_timeout: float) -> str:
    """The URL with what the store's own connections need: UTF-8 text, and a connect timeout
    and a lock timeout unless the URL sets them (the lock timeout joins any ``options``)."""
    values = conninfo_to_dict(conninfo)
    extra: dict[str, Any] = {"client_encoding": "UTF8"}
    if "connect_timeout" not in values:
        extra["connect_timeout"] = _CONNECT_TIMEOUT
    options = str(values.get("options") or "")
    if "lock_timeout" not in options:  # the URL's own setting wins, as for connect_timeout
        extra["options"] = f"{options} -c lock_timeout={max(1, round(lock_timeout * 1000))}".strip()
    return make_conninfo(conninfo, **extra)


def _pool_name(pool: object) -> str:
    name = getattr(pool, "name", None)
    conninfo = getattr(pool, "conninfo", None)
    label = f"pool {name!r}" if isinstance(name, str) else f"a {type(pool).__name__}"
    return f"{label} on {redact(conninfo)}" if isinstance(conninfo, str) and conninfo else label


# --- migrations --------------------------------------------------------------------------------


def schema_version(cursor: Cursor, tables: Tables, component: str) -> int:
    """The component's recorded version (0 when absent)."""
    cursor.execute(
        f"SELECT version FROM {tables(SCHEMA_TABLE)} WHERE component = %s",  # noqa: S608
        (component,),
    )
    row = cursor.fetchone()
    return 0 if row is None else int(row[0])


def migrate(
    conn: Connection,
    *,
    tables: Tables,
    component: str,
    migrations: Sequence[Migration],
    location: str,
) -> int:
    """Bring ``component`` up to ``len(migrations)`` in one transaction.

    Processes opening one database at once are serialised by an advisory lock on the
    schema's name (held to the end of the transaction), so ``CREATE ... IF NOT EXISTS``
    never races and the later ones find the work done (no statement but the version read).
    A failing migration rolls everything back.

    Returns:
        The version the component is at now.

    Raises:
        SchemaVersionError: The database records a newer version than ``len(migrations)``.
    """
    target = len(migrations)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
        current = _recorded(cursor, tables, component)
        if current == target:
            return target  # the usual open: one read, no lock, no DDL
        cursor.execute("SELECT current_schema()")
        row = cursor.fetchone()
        schema = tables.schema or (str(row[0]) if row and row[0] else "")
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key("migrate", schema),))
        if tables.schema is not None:
            cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (tables.schema,))
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE SCHEMA {quote_ident(tables.schema)}")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {tables(SCHEMA_TABLE)} ("
            "component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        current = schema_version(cursor, tables, component)  # another process may have run
        if current > target:
            raise SchemaVersionError(
                location=location,
                component=component,
                found_version=current,
                supported_version=target,
            )
        for migration in migrations[current:]:
            migration(conn, tables)
        if current != target:
            cursor.execute(
                f"INSERT INTO {tables(SCHEMA_TABLE)} (component, version) "  # noqa: S608
                "VALUES (%s, %s) ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, target),
            )
    return target


def _recorded(cursor: Cursor, tables: Tables, component: str) -> int:
    """The component's version, or 0 when the schema table does not exist yet."""
    cursor.execute("SELECT to_regclass(%s)", (tables(SCHEMA_TABLE),))
    row = cursor.fetchone()
    if row is None or row[0] is None:
        return 0
    return schema_version(cursor, tables, component)
