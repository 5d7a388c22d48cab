"""PostgresTokenStore: OAuth tokens in PostgreSQL, compare-and-swap, with the refresh lease.

A save is one statement that writes only if the stored version is still the one the caller
read, so two processes rotating one connection's tokens can never both win a version.

The refresh single-flight (:class:`~bms_xero.storage.RefreshLease`) is a row per connection
(``holder``, ``lease_until``) that every claim reads and rewrites under a transaction-scoped
advisory lock on the connection id (``pg_advisory_xact_lock``): claims of one connection take
turns across every process and machine, even the very first (when there is no row yet to
lock), and whether a claim is granted is decided by :func:`lease_granted`, a pure function of
the row and the claim. The lease runs out by the caller's clock, as the contract says, so a
refresher that dies holding it delays the others by at most its length.

Why not a session advisory lock held for the whole refresh: it would pin one connection per
refresh, it never runs out by the caller's clock (the contract, and the tests' fake clocks,
need that), and behind a transaction-pooling proxy (PgBouncer) a session lock stays on a
server connection that other clients then use. The transaction-scoped lock has none of these
problems: it lasts one short statement batch.

Tokens are stored as plain text: restrict who can read the table, or implement
:class:`~bms_xero.storage.TokenStore` over your own secret store.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import ClassVar, Final, Self

from bms_xero.errors import FieldProblem, StorageValueError
from bms_xero.storage._checks import to_utc
from bms_xero.storage._postgres import (
    Connection,
    ConnectionPool,
    Migration,
    PostgresDatabase,
    Tables,
    advisory_key,
    text_problems,
)
from bms_xero.storage._tokens import (
    StoredToken,
    TokenSet,
    _check_id,
    _check_lease,
    _check_token,
    _conflict,
)

__all__ = ["PostgresTokenStore", "lease_granted"]

COMPONENT: Final = "tokens"
TOKENS: Final = "bms_xero_tokens"
LEASES: Final = "bms_xero_token_leases"


def _v1(conn: Connection, t: Tables) -> None:
    """Tokens (one row per connection, versioned) and refresh leases."""
    conn.execute(
        f'CREATE TABLE {t(TOKENS)} (connection_id TEXT COLLATE "C" PRIMARY KEY, '
        "version BIGINT NOT NULL, access_token TEXT NOT NULL, refresh_token TEXT, "
        "expires_at TIMESTAMPTZ NOT NULL, scopes TEXT NOT NULL, "
        "updated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    conn.execute(
        f'CREATE TABLE {t(LEASES)} (connection_id TEXT COLLATE "C" PRIMARY KEY, '
        "holder TEXT NOT NULL, lease_until TIMESTAMPTZ NOT NULL)"
    )


#: The tokens component's migrations, oldest first; append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1,)


def lease_granted(
    current: tuple[str, datetime] | None, *, holder: str, now: datetime
) -> bool:
    """Whether a claim by ``holder`` at ``now`` gets the lease whose row is ``current``
    (``(holder, lease_until)``, or ``None`` when there is none): when there is none, when it
    ran out (its end at or before ``now``), or when it is ``holder``'s own (then renewed)."""
    if current is None:
        return True
    owner, until = current
    return owner == holder or until <= now


def _check_text(what: str, **values: object) -> None:
    bad = text_problems(values)
    if bad:
        raise StorageValueError(
            what=what,
            problems=[
                FieldProblem(name, "contains a NUL character, which PostgreSQL text can't hold")
                for name in bad
            ],
        )


class PostgresTokenStore:
    """A :class:`~bms_xero.storage.TokenStore` and
    :class:`~bms_xero.storage.RefreshLease` in PostgreSQL, for workers on several machines.

    Tables ``bms_xero_tokens`` and ``bms_xero_token_leases``; the schema version is recorded
    under ``'tokens'`` in ``bms_xero_schema`` (the sync and job stores keep their own rows
    there, so all can share one database and schema).

    Args:
        database: A libpq URL or connection string (the store's own connections), or the
            host's ``psycopg_pool.ConnectionPool``.
        schema: The PostgreSQL schema for the tables (created when missing), or ``None`` for
            the connection's ``search_path``.
        lock_timeout: Seconds a statement of the store's own connections waits for a lock.

    Raises:
        ConfigurationError: A bad argument, or psycopg missing.
        SchemaVersionError: The schema was migrated by a newer bms_xero.
        StorageError: The server can't be reached (retryable) or refused the upgrade.
    """

    schema_version: ClassVar[int] = len(MIGRATIONS)

    def __init__(
        self,
        database: str | ConnectionPool,
        *,
        schema: str | None = None,
        lock_timeout: float = 10.0,
    ) -> None:
        self._db = PostgresDatabase(
            database,
            owner="PostgresTokenStore",
            component=COMPONENT,
            migrations=MIGRATIONS,
            schema=schema,
            lock_timeout=lock_timeout,
        )
        self._tokens = self._db.tables(TOKENS)
        self._leases = self._db.tables(LEASES)
        # Claims of one connection id take turns on this key (schema included: stores in two
        # schemas never wait for each other).
        self._lease_scope = f"tokens:{self._db.schema or ''}"

    @property
    def location(self) -> str:
        """The database as messages name it (password redacted), with its schema."""
        return self._db.location

    def load(self, connection_id: str) -> StoredToken | None:
        """See :meth:`TokenStore.load`."""
        key = _check_id(connection_id)
        with self._db.transaction("read tokens") as cur:
            cur.execute(
                "SELECT version, access_token, refresh_token, expires_at, scopes "  # noqa: S608
                f"FROM {self._tokens} WHERE connection_id = %s",
                (key,),
            )
            row = cur.fetchone()
        if row is None:
            return None
        version, access, refresh, expires_at, scopes = row
        token = TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=to_utc(expires_at),
            scopes=tuple(str(scopes).split()),
        )
        return StoredToken(token, int(version))

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        """See :meth:`TokenStore.save`: one compare-and-swap statement."""
        key = _check_id(connection_id)
        _check_token(token)
        scopes = " ".join(token.scopes)
        _check_text(
            "tokens",
            connection_id=key,
            access_token=token.access_token,
            refresh_token=token.refresh_token,
            scopes=scopes,
        )
        version = 1 if expected_version is None else expected_version + 1
        values = {
            "id": key,
            "version": version,
            "expected": expected_version,
            "access": token.access_token,
            "refresh": token.refresh_token,
            "expires": to_utc(token.expires_at),
            "scopes": scopes,
        }
        with self._db.transaction("save tokens") as cur:
            if expected_version is None:
                cur.execute(
                    f"INSERT INTO {self._tokens} (connection_id, version, access_token, "  # noqa: S608
                    "refresh_token, expires_at, scopes) VALUES (%(id)s, %(version)s, "
                    "%(access)s, %(refresh)s, %(expires)s, %(scopes)s) "
                    "ON CONFLICT (connection_id) DO NOTHING RETURNING version",
                    values,
                )
            else:
                cur.execute(
                    f"UPDATE {self._tokens} SET version = %(version)s, "  # noqa: S608
                    "access_token = %(access)s, refresh_token = %(refresh)s, "
                    "expires_at = %(expires)s, scopes = %(scopes)s, updated_at = now() "
                    "WHERE connection_id = %(id)s AND version = %(expected)s RETURNING version",
                    values,
                )
            if cur.fetchone() is None:
                cur.execute(
                    f"SELECT version FROM {self._tokens} WHERE connection_id = %s",  # noqa: S608
                    (key,),
                )
                row = cur.fetchone()
                raise _conflict(key, expected_version, None if row is None else int(row[0]))
        return StoredToken(token, version)

    def delete(self, connection_id: str) -> None:
        """See :meth:`TokenStore.delete`: the tokens and any refresh lease go together."""
        key = _check_id(connection_id)
        with self._db.transaction("delete tokens") as cur:
            cur.execute(f"DELETE FROM {self._tokens} WHERE connection_id = %s", (key,))  # noqa: S608
            cur.execute(f"DELETE FROM {self._leases} WHERE connection_id = %s", (key,))  # noqa: S608

    def acquire_refresh_lease(
        self, connection_id: str, *, holder: str, now: datetime, seconds: float
    ) -> bool:
        """See :meth:`RefreshLease.acquire_refresh_lease`.

        Under the connection's advisory lock (held to the end of this short transaction):
        read the claim, decide with :func:`lease_granted`, write the new claim when granted.
        """
        key = _check_id(connection_id)
        _check_lease(holder, now, seconds)
        _check_text("refresh lease", connection_id=key, holder=holder)
        at = to_utc(now)
        with self._db.transaction("claim the token refresh") as cur:
            cur.execute(
                "SELECT pg_advisory_xact_lock(%s)", (advisory_key(self._lease_scope, key),)
            )
            cur.execute(
                f"SELECT holder, lease_until FROM {self._leases} "  # noqa: S608
                "WHERE connection_id = %s",
                (key,),
            )
            row = cur.fetchone()
            current = None if row is None else (str(row[0]), to_utc(row[1]))
            granted = lease_granted(current, holder=holder, now=at)
            if granted:
                cur.execute(
                    f"INSERT INTO {self._leases} (connection_id, holder, lease_until) "  # noqa: S608
                    "VALUES (%s, %s, %s) ON CONFLICT (connection_id) DO UPDATE SET "
                    "holder = excluded.holder, lease_until = excluded.lease_until",
                    (key, holder, at + timedelta(seconds=seconds)),
                )
        return granted

    def release_refresh_lease(self, connection_id: str, *, holder: str) -> None:
        """See :meth:`RefreshLease.release_refresh_lease`: only ``holder``'s claim ends."""
        key = _check_id(connection_id)
        with self._db.transaction("release the token refresh") as cur:
            cur.execute(
                f"DELETE FROM {self._leases} WHERE connection_id = %s AND holder = %s",  # noqa: S608
                (key, holder),
            )

    def close(self) -> None:
        """Close the store's own connections (a host's pool stays open). Idempotent."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self._db.location!r})"
