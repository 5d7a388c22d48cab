"""OAuth tokens at rest: :class:`TokenSet`, the :class:`TokenStore` port and two stores.

Xero rotates the refresh token on every refresh, and two processes refreshing the same token
set is how integrations end up with ``invalid_grant``. So a store is compare-and-swap: every
saved token set has a ``version``, and :meth:`TokenStore.save` writes only when the caller
read the version that is still current, otherwise it raises
:class:`~bms_xero.errors.VersionConflict` and the caller re-reads (and uses the winner's
tokens instead of refreshing again).

Compare-and-swap keeps the tokens whole, but it cannot stop several processes from *asking*
Xero at once: each spends the same refresh token, and under strict rotation all but the first
get ``invalid_grant``. A store that also implements :class:`RefreshLease` (both built-in ones
do) lets them agree on one refresher per expiry: it holds a short, expiring lease on the
connection while it refreshes, and the others wait for its save.

:class:`MemoryTokenStore` is for tests and single-process scripts; :class:`SQLiteTokenStore`
keeps tokens in a SQLite file shared safely by several processes on one machine. Tokens are
stored as plain text there: protect the file like a password (file permissions, disk
encryption), or implement :class:`TokenStore` over your own secret store.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

from bms_xero.errors import FieldProblem, StorageError, StorageValueError, VersionConflict
from bms_xero.storage._sqlite_schema import begin_immediate, enable_wal, migrate

__all__ = [
    "MemoryTokenStore",
    "RefreshLease",
    "SQLiteTokenStore",
    "StoredToken",
    "TokenSet",
    "TokenStore",
]


def _redacted(value: object) -> str:
    return "None" if value is None else "<redacted>"


def _scopes(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if value is None:
        return ()
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _aware(_instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise StorageValueError(
            what="token set",
            problems=[
                FieldProblem(attribute.name, "must be a timezone-aware datetime (e.g. in UTC)")
            ],
        )


@attrs.frozen(kw_only=True)
class TokenSet:
    """The tokens of one Xero connection. The repr never shows a token.

    Attributes:
        access_token: The bearer token for API calls (30 minutes at Xero).
        expires_at: When ``access_token`` expires (aware, UTC).
        refresh_token: The token that gets the next access token; ``None`` for client
            credentials (custom connections), which simply ask again.
        scopes: The scopes granted.
    """

    access_token: str = attrs.field(repr=_redacted)
    expires_at: datetime = attrs.field(validator=_aware)
    refresh_token: str | None = attrs.field(default=None, repr=_redacted)
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_scopes)

    def expires_within(self, now: datetime, seconds: float) -> bool:
        """Whether the access token expires less than ``seconds`` after ``now``."""
        return self.expires_at - timedelta(seconds=seconds) <= now


@attrs.frozen
class StoredToken:
    """A token set as read from a store, with the version to compare-and-swap against.

    Attributes:
        token: The tokens.
        version: Increases by one on every save; pass it as ``expected_version``.
    """

    token: TokenSet
    version: int


@runtime_checkable
class TokenStore(Protocol):
    """Keeps each connection's tokens, writing by compare-and-swap on a version.

    ``connection_id`` is the host's name for one authorised Xero connection (one token set,
    which may cover several tenants).
    """

    def load(self, connection_id: str) -> StoredToken | None:
        """The connection's tokens and their version, or ``None`` when none are stored."""
        ...

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        """Store ``token`` if the stored version is still ``expected_version``.

        ``expected_version=None`` means "no tokens stored yet" (first connection).

        Raises:
            VersionConflict: Someone else saved in between; load again.
        """
        ...

    def delete(self, connection_id: str) -> None:
        """Forget the connection's tokens (after a disconnect)."""
        ...


@runtime_checkable
class RefreshLease(Protocol):
    """An expiring claim on refreshing one connection's tokens, seen by every process that
    shares the store: one refresher per expiry, the others wait for its save.

    Optional, beside :class:`TokenStore`: :class:`~bms_xero.xero.RefreshTokenAuth` uses it
    when the store has it. A claim runs out by itself at ``now + seconds``, so a refresher
    that dies holding one delays the others by at most that long. ``PostgresTokenStore``
    keeps the claim as a row, taken under a transaction-scoped advisory lock keyed by the
    connection id.

    .. versionadded:: Unreleased
    """

    def acquire_refresh_lease(
        self, connection_id: str, *, holder: str, now: datetime, seconds: float
    ) -> bool:
        """Claim the connection's refresh for ``holder`` until ``now + seconds``.

        True when there was no claim, the claim had run out (its end at or before ``now``),
        or it was ``holder``'s own (then it is renewed); False while another holder's claim
        runs. Atomic across every process using the store.
        """
        ...

    def release_refresh_lease(self, connection_id: str, *, holder: str) -> None:
        """End ``holder``'s claim; nothing happens when it no longer holds one."""
        ...


def _check_lease(holder: object, now: object, seconds: object) -> None:
    problems = []
    if not isinstance(holder, str) or not holder:
        problems.append(FieldProblem("holder", "must be a non-empty string"))
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        problems.append(FieldProblem("now", "must be a timezone-aware datetime"))
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        problems.append(FieldProblem("seconds", "must be a number of seconds > 0"))
    if problems:
        raise StorageValueError(what="refresh lease", problems=problems)


def _check_id(connection_id: object) -> str:
    if not isinstance(connection_id, str) or not connection_id:
        raise StorageValueError(
            what="tokens", problems=[FieldProblem("connection_id", "must be a non-empty string")]
        )
    return connection_id


def _check_token(token: object) -> TokenSet:
    if not isinstance(token, TokenSet):
        raise StorageValueError(
            what="tokens",
            problems=[FieldProblem("token", f"must be a TokenSet, not {type(token).__name__}")],
        )
    return token


def _conflict(connection_id: str, expected: int | None, actual: int | None) -> VersionConflict:
    return VersionConflict(
        key=f"tokens for connection {connection_id!r}",
        expected_version=expected,
        actual_version=actual,
    )


class MemoryTokenStore:
    """A thread-safe in-memory :class:`TokenStore` (tests, single-process scripts)."""

    def __init__(self) -> None:
        self._tokens: dict[str, StoredToken] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def load(self, connection_id: str) -> StoredToken | None:
        """See :meth:`TokenStore.load`."""
        with self._lock:
            return self._tokens.get(_check_id(connection_id))

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        """See :meth:`TokenStore.save`."""
        key = _check_id(connection_id)
        _check_token(token)
        with self._lock:
            current = self._tokens.get(key)
            actual = None if current is None else current.version
            if actual != expected_version:
                raise _conflict(key, expected_version, actual)
            stored = StoredToken(token, (actual or 0) + 1)
            self._tokens[key] = stored
            return stored

    def delete(self, connection_id: str) -> None:
        """See :meth:`TokenStore.delete`."""
        with self._lock:
            self._tokens.pop(_check_id(connection_id), None)
            self._leases.pop(connection_id, None)

    def acquire_refresh_lease(
        self, connection_id: str, *, holder: str, now: datetime, seconds: float
    ) -> bool:
        """See :meth:`RefreshLease.acquire_refresh_lease`."""
        key = _check_id(connection_id)
        _check_lease(holder, now, seconds)
        with self._lock:
            current = self._leases.get(key)
            if current is not None and current[0] != holder and current[1] > now:
                return False
            self._leases[key] = (holder, now + timedelta(seconds=seconds))
            return True

    def release_refresh_lease(self, connection_id: str, *, holder: str) -> None:
        """See :meth:`RefreshLease.release_refresh_lease`."""
        key = _check_id(connection_id)
        with self._lock:
            current = self._leases.get(key)
            if current is not None and current[0] == holder:
                del self._leases[key]

    def __repr__(self) -> str:
        return f"MemoryTokenStore(connections={sorted(self._tokens)!r})"


_COMPONENT = "tokens"


def _create_tokens(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bms_xero_tokens ("
        "connection_id TEXT PRIMARY KEY, "
        "version INTEGER NOT NULL, "
        "access_token TEXT NOT NULL, "
        "refresh_token TEXT, "
        "expires_at TEXT NOT NULL, "
        "scopes TEXT NOT NULL, "
        "updated_at TEXT NOT NULL)"
    )


def _create_leases(conn: sqlite3.Connection) -> None:
    # ``until`` is POSIX seconds (UTC), so "has it run out?" is one comparison in SQL.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bms_xero_token_leases ("
        "connection_id TEXT PRIMARY KEY, "
        "holder TEXT NOT NULL, "
        "until REAL NOT NULL)"
    )


# Version N of the 'tokens' component means the first N of these have run.
_MIGRATIONS = (_create_tokens, _create_leases)


class SQLiteTokenStore:
    """A :class:`TokenStore` in a SQLite file (WAL), safe for several processes.

    Compare-and-swap runs inside ``BEGIN IMMEDIATE``, so two processes saving at once are
    serialised by SQLite and the second sees the first's version. It is also a
    :class:`RefreshLease`: one row per connection in ``bms_xero_token_leases``, claimed by a
    single upsert that only overwrites a claim that ran out (or the holder's own). The tokens
    table is ``bms_xero_tokens``; the schema version (2) is recorded in the shared
    ``bms_xero_schema`` table under the component ``'tokens'`` (the sync store keeps its own
    row there, so both can live in one file). Tokens are stored in plain text: protect the
    file.

    Args:
        path: The database file (created if missing), or ``":memory:"``.
        timeout: Seconds to wait for another process's lock before failing.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self._location = os.fspath(path)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._pid = os.getpid()
        try:
            self._db = self._open()
            migrate(self._db, component=_COMPONENT, migrations=_MIGRATIONS, location=self._location)
        except sqlite3.Error as e:
            raise StorageError(f"could not open the token store {self._location}: {e}") from e

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self._location, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )
        if self._location != ":memory:":
            enable_wal(db, timeout=self._timeout)
        return db

    def _connection(self) -> sqlite3.Connection:
        """This process's connection: a store opened before a fork reopens in the child."""
        if os.getpid() != self._pid:
            # The parent's connection (and lock state) must not be used across a fork.
            self._lock = threading.Lock()
            self._pid = os.getpid()
            try:
                self._db = self._open()
            except sqlite3.Error as e:
                raise StorageError(f"could not reopen the token store {self._location}: {e}") from e
        return self._db

    @staticmethod
    def _token(row: tuple[str, str | None, str, str]) -> TokenSet:
        access, refresh, expires_at, scopes = row
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=datetime.fromisoformat(expires_at),
            scopes=tuple(scopes.split()),
        )

    def load(self, connection_id: str) -> StoredToken | None:
        """See :meth:`TokenStore.load`."""
        key = _check_id(connection_id)
        db = self._connection()
        with self._lock:
            try:
                row = db.execute(
                    "SELECT version, access_token, refresh_token, expires_at, scopes "
                    "FROM bms_xero_tokens WHERE connection_id = ?",
                    (key,),
                ).fetchone()
            except sqlite3.Error as e:
                raise StorageError(f"could not read tokens from {self._location}: {e}") from e
        if row is None:
            return None
        return StoredToken(self._token(row[1:]), row[0])

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        """See :meth:`TokenStore.save`."""
        key = _check_id(connection_id)
        _check_token(token)
        values = (
            token.access_token,
            token.refresh_token,
            token.expires_at.astimezone(UTC).isoformat(),
            " ".join(token.scopes),
            datetime.now(UTC).isoformat(),
        )
        db = self._connection()
        with self._lock:
            try:
                begin_immediate(db)  # waits fairly for another writer (see _sqlite_schema)
                try:
                    row = db.execute(
                        "SELECT version FROM bms_xero_tokens WHERE connection_id = ?", (key,)
                    ).fetchone()
                    actual = None if row is None else int(row[0])
                    if actual != expected_version:
                        raise _conflict(key, expected_version, actual)
                    version = (actual or 0) + 1
                    if actual is None:
                        db.execute(
                            "INSERT INTO bms_xero_tokens (connection_id, version, access_token, "
                            "refresh_token, expires_at, scopes, updated_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (key, version, *values),
                        )
                    else:
                        db.execute(
                            "UPDATE bms_xero_tokens SET version = ?, access_token = ?, "
                            "refresh_token = ?, expires_at = ?, scopes = ?, updated_at = ? "
                            "WHERE connection_id = ?",
                            (version, *values, key),
                        )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as e:
                raise StorageError(f"could not save tokens to {self._location}: {e}") from e
        return StoredToken(token, version)

    def delete(self, connection_id: str) -> None:
        """See :meth:`TokenStore.delete`."""
        key = _check_id(connection_id)
        db = self._connection()
        with self._lock:
            try:
                db.execute("DELETE FROM bms_xero_tokens WHERE connection_id = ?", (key,))
                db.execute("DELETE FROM bms_xero_token_leases WHERE connection_id = ?", (key,))
            except sqlite3.Error as e:
                raise StorageError(f"could not delete tokens in {self._location}: {e}") from e

    def acquire_refresh_lease(
        self, connection_id: str, *, holder: str, now: datetime, seconds: float
    ) -> bool:
        """See :meth:`RefreshLease.acquire_refresh_lease`."""
        key = _check_id(connection_id)
        _check_lease(holder, now, seconds)
        at = now.timestamp()
        db = self._connection()
        with self._lock:
            try:
                # One statement, so atomic across processes: a live claim of another
                # holder is left alone (the WHERE fails and nothing changes).
                cursor = db.execute(
                    "INSERT INTO bms_xero_token_leases (connection_id, holder, until) "
                    "VALUES (?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET "
                    "holder = excluded.holder, until = excluded.until "
                    "WHERE bms_xero_token_leases.until <= ? "
                    "OR bms_xero_token_leases.holder = excluded.holder",
                    (key, holder, at + seconds, at),
                )
            except sqlite3.Error as e:
                raise StorageError(
                    f"could not claim the token refresh in {self._location}: {e}"
                ) from e
        return cursor.rowcount == 1

    def release_refresh_lease(self, connection_id: str, *, holder: str) -> None:
        """See :meth:`RefreshLease.release_refresh_lease`."""
        key = _check_id(connection_id)
        db = self._connection()
        with self._lock:
            try:
                db.execute(
                    "DELETE FROM bms_xero_token_leases WHERE connection_id = ? AND holder = ?",
                    (key, holder),
                )
            except sqlite3.Error as e:
                raise StorageError(
                    f"could not release the token refresh in {self._location}: {e}"
                ) from e

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteTokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteTokenStore({self._location!r})"
