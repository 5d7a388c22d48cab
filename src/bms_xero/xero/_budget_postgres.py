"""The rate budget in PostgreSQL (psycopg 3): one budget per organisation for every process.

For a host that already runs PostgreSQL and would rather not add Redis. Four tables
(component ``rate_budget`` in ``bms_xero_schema``, versioned like the stores' tables), each
keyed by the budget's ``name`` and the tenant id:

- ``bms_xero_rate_slots``: one row per in-flight slot, expiring at ``expires_at`` on the
  *server's* clock (``clock_timestamp()``), renewed by its process every third of its life;
  a killed process's rows simply expire;
- ``bms_xero_rate_sends``: one row per request in the minute window (sent and answered, epoch
  seconds on the limiter's clock), pruned as the window moves;
- ``bms_xero_rate_tenants``: the request counter, Xero's last readings, the hold, the park;
- ``bms_xero_rate_apps``: the app-wide counter and reading.

The tables are ``UNLOGGED``: what they hold matters for a minute (a day for a park), so no
write waits for the WAL; a server crash empties them, and the budget starts again from
Xero's next headers (a park is then re-learnt from Xero's next day-limit 429).

Taking a slot and counting a request lock the tenant with a transaction-scoped advisory lock,
so "fewer than 5" and "fewer than 60" are decided by one process at a time; the other
operations are single statements. Connections come from a libpq URL (a small pool of the
budget's own, fork-safe) or the host's ``psycopg_pool.ConnectionPool``
(:class:`bms_xero.storage._postgres.PostgresDatabase`). The tables are created on first use,
so building a client never needs the server. Install with ``pip install "bms-xero[postgres]"``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict

from bms_xero.errors import ConfigurationError, StorageError
from bms_xero.storage._postgres import (
    Connection,
    ConnectionPool,
    PostgresDatabase,
    Tables,
    advisory_key,
    redact,
)
from bms_xero.xero._budget import (
    BudgetReadings,
    LeaseKeeper,
    RateBudgetUnavailable,
    RequestStart,
    SentRequest,
    SlotLease,
    XeroReading,
    describe_failure,
    new_lease_id,
)

__all__ = ["PostgresRateBudget"]

COMPONENT: Final = "rate_budget"
SLOTS: Final = "bms_xero_rate_slots"
SENDS: Final = "bms_xero_rate_sends"
TENANTS: Final = "bms_xero_rate_tenants"
APPS: Final = "bms_xero_rate_apps"


def _v1(conn: Connection, t: Tables) -> None:
    # UNLOGGED: the budget is about the next minute, not worth a WAL flush per request (a
    # logged table costs ~5 ms a commit; unlogged ~0.3 ms). After a server crash the tables
    # start empty, as after a quiet minute, and Xero's next headers refill the readings.
    conn.execute(
        f"CREATE UNLOGGED TABLE {t(TENANTS)} ("
        "budget TEXT NOT NULL, tenant_id TEXT NOT NULL, seq BIGINT NOT NULL DEFAULT 0, "
        "minute_remaining INTEGER, minute_seq BIGINT, minute_at DOUBLE PRECISION, "
        "day_remaining INTEGER, day_seq BIGINT, day_at DOUBLE PRECISION, "
        "hold_until DOUBLE PRECISION, hold_seq BIGINT NOT NULL DEFAULT 0, "
        "parked_until TIMESTAMPTZ, PRIMARY KEY (budget, tenant_id))"
    )
    conn.execute(
        f"CREATE UNLOGGED TABLE {t(APPS)} ("
        "budget TEXT PRIMARY KEY, seq BIGINT NOT NULL DEFAULT 0, remaining INTEGER, "
        "reading_seq BIGINT, reading_at DOUBLE PRECISION)"
    )
    conn.execute(
        f"CREATE UNLOGGED TABLE {t(SENDS)} ("
        "budget TEXT NOT NULL, tenant_id TEXT NOT NULL, seq BIGINT NOT NULL, "
        "sent_at DOUBLE PRECISION NOT NULL, answered_at DOUBLE PRECISION, "
        "PRIMARY KEY (budget, tenant_id, seq))"
    )
    conn.execute(
        f"CREATE INDEX bms_xero_rate_sends_by_time ON {t(SENDS)} (budget, tenant_id, sent_at)"
    )
    conn.execute(
        f"CREATE UNLOGGED TABLE {t(SLOTS)} ("
        "budget TEXT NOT NULL, tenant_id TEXT NOT NULL, lease_id TEXT NOT NULL, "
        "expires_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (budget, tenant_id, lease_id))"
    )


MIGRATIONS: Final = (_v1,)


def _positive_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"PostgresRateBudget {name} must be a number of seconds > 0")
    return float(value)


def _key(tenant_id: str | None) -> str:
    if tenant_id is not None and (not isinstance(tenant_id, str) or not tenant_id):
        raise ConfigurationError("tenant_id must be a non-empty string or None")
    return tenant_id or ""  # a custom connection without a tenant id is ''


def _request(seq: Any, sent: Any, answered: Any) -> SentRequest | None:
    if seq is None:
        return None
    return SentRequest(int(seq), float(sent), None if answered is None else float(answered))


def _reading(remaining: Any, seq: Any, at: Any) -> XeroReading | None:
    if remaining is None or seq is None or at is None:
        return None
    return XeroReading(int(remaining), int(seq), float(at))


class PostgresRateBudget:
    """One rate budget per organisation, in PostgreSQL, for every process sharing it.

    Give every process that calls Xero for the same app the same database and ``name``::

        budget = PostgresRateBudget("postgresql://bms@db.internal/bms")
        client = XeroClient.from_token_store(..., rate_budget=budget)

    If PostgreSQL can't be reached, calls fail closed with
    :class:`~bms_xero.xero.RateBudgetUnavailable` before anything is sent.

    Args:
        database: A libpq URL or connection string (its password is redacted in reprs and
            errors), or a ``psycopg_pool.ConnectionPool`` the host owns.
        name: Names this budget's rows: one budget per Xero app.
        schema: The PostgreSQL schema of the tables (created when missing), or ``None`` for
            the connection's ``search_path``.
        lease: Seconds an in-flight slot stays taken without a renewal: how long a killed
            process can hold one. Renewed every third of it while the request runs.
        lock_timeout: Seconds a statement of the budget's own connections waits for a lock.
    """

    def __init__(
        self,
        database: str | ConnectionPool,
        *,
        name: str = "default",
        schema: str | None = None,
        lease: float = 5.0,
        lock_timeout: float = 5.0,
    ) -> None:
        if isinstance(database, str):
            try:
                secret = conninfo_to_dict(database).get("password")
            except psycopg.Error:
                raise ConfigurationError(
                    f"PostgresRateBudget: {redact(database)} is not a libpq URL; write it as "
                    "postgresql://user:password@host:port/dbname"
                ) from None
            self._secret = str(secret) if secret else None
            self._where = redact(database)
        elif isinstance(database, ConnectionPool):
            self._secret = None
            conninfo = getattr(database, "conninfo", None)
            self._where = redact(conninfo) if isinstance(conninfo, str) else "a connection pool"
        else:
            raise ConfigurationError(
                "PostgresRateBudget needs a libpq URL (postgresql://user@host/db) or a "
                f"psycopg_pool.ConnectionPool, not {type(database).__name__}"
            )
        if not isinstance(name, str) or not name or "\x00" in name:
            raise ConfigurationError(f"name must be a non-empty string, not {name!r}")
        self._database = database
        self._name = name
        self._schema = schema
        self._tables = Tables(schema)
        self._lease = _positive_seconds("lease", lease)
        self._lock_timeout = _positive_seconds("lock_timeout", lock_timeout)
        self._db: PostgresDatabase | None = None
        self._opening = threading.Lock()
        self._keeper = LeaseKeeper(self._renew, every=self._lease / 3, name=f"postgres {name}")
        self._closed = False

    # --- plumbing --------------------------------------------------------------------------

    def _open(self) -> PostgresDatabase:
        with self._opening:
            if self._closed:
                raise StorageError(f"{self!r} is closed; create a new PostgresRateBudget")
            if self._db is None:
                self._db = PostgresDatabase(
                    self._database,
                    owner="PostgresRateBudget",
                    component=COMPONENT,
                    migrations=MIGRATIONS,
                    schema=self._schema,
                    lock_timeout=self._lock_timeout,
                )
            return self._db

    @contextmanager
    def _calling(self, operation: str, tenant_id: str | None) -> Iterator[Any]:
        """A cursor in a transaction; a server that can't be reached is RateBudgetUnavailable."""
        try:
            db = self._open()
            with db.transaction(operation) as cursor:
                yield cursor
        except StorageError as e:
            if not e.retryable or isinstance(e, RateBudgetUnavailable):
                raise
            cause = e.__cause__
            reason = (
                describe_failure(cause, self._secret)
                if cause is not None
                else "the driver's message quoted the password, so it is not shown"
            )
            raise RateBudgetUnavailable(
                backend=f"PostgreSQL at {self._where}",
                operation=operation,
                reason=reason,
                tenant_id=tenant_id,
            ) from None

    def _lock_tenant(self, cursor: Any, tenant: str) -> None:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", (advisory_key("rate_budget", self._name, tenant),)
        )

    # --- the port --------------------------------------------------------------------------

    def take_slot(
        self, tenant_id: str | None, *, concurrent: int, timeout: float
    ) -> SlotLease | None:
        """A slot when fewer than ``concurrent`` live leases exist, polling up to ``timeout``."""
        tenant = _key(tenant_id)
        lease = SlotLease(tenant_id, new_lease_id())
        t = self._tables
        deadline = time.monotonic() + max(0.0, timeout)
        delay = 0.005
        while True:
            with self._calling("take an in-flight slot", tenant_id) as cursor:
                self._lock_tenant(cursor, tenant)
                cursor.execute(
                    f"WITH expired AS (DELETE FROM {t(SLOTS)} WHERE budget = %(b)s "  # noqa: S608
                    "AND tenant_id = %(t)s AND expires_at <= clock_timestamp()) "
                    f"INSERT INTO {t(SLOTS)} (budget, tenant_id, lease_id, expires_at) "
                    "SELECT %(b)s, %(t)s, %(lease)s, clock_timestamp() + make_interval(secs => "
                    f"%(secs)s) WHERE (SELECT count(*) FROM {t(SLOTS)} WHERE budget = %(b)s "
                    "AND tenant_id = %(t)s AND expires_at > clock_timestamp()) < %(n)s",
                    {
                        "b": self._name,
                        "t": tenant,
                        "lease": lease.lease_id,
                        "secs": self._lease,
                        "n": concurrent,
                    },
                )
                taken = cursor.rowcount == 1
            if taken:
                self._keeper.add(lease)
                return lease
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            # A real wait: the slot is another request's, not something on our clock.
            time.sleep(min(left, random.uniform(0, delay)))  # noqa: S311 (not security)
            delay = min(delay * 2, 0.05)

    def _renew(self, leases: list[SlotLease]) -> list[SlotLease]:
        t = self._tables
        with self._calling("renew in-flight slot leases", None) as cursor:
            cursor.execute(
                f"UPDATE {t(SLOTS)} SET expires_at = clock_timestamp() + "  # noqa: S608
                "make_interval(secs => %s) WHERE budget = %s AND lease_id = ANY(%s) "
                "AND expires_at > clock_timestamp() RETURNING lease_id",
                (self._lease, self._name, [lease.lease_id for lease in leases]),
            )
            kept = {row[0] for row in cursor.fetchall()}
        return [lease for lease in leases if lease.lease_id not in kept]

    def record_start(
        self, tenant_id: str | None, *, now: float, window: float, keep: float, limit: int
    ) -> RequestStart | None:
        """Count a request if the window has room (the tenant locked meanwhile)."""
        tenant = _key(tenant_id)
        t = self._tables
        with self._calling("count a request in the minute window", tenant_id) as cursor:
            self._lock_tenant(cursor, tenant)
            cursor.execute(
                f"WITH pruned AS (DELETE FROM {t(SENDS)} WHERE budget = %(b)s "  # noqa: S608
                "AND tenant_id = %(t)s AND sent_at <= %(cutoff)s), "
                f"room AS (SELECT count(*) < %(limit)s AS ok FROM {t(SENDS)} "
                "WHERE budget = %(b)s AND tenant_id = %(t)s AND sent_at > %(since)s), "
                f"counted AS (INSERT INTO {t(TENANTS)} AS r (budget, tenant_id, seq) "
                "SELECT %(b)s, %(t)s, 1 FROM room WHERE ok "
                "ON CONFLICT (budget, tenant_id) DO UPDATE SET seq = r.seq + 1 RETURNING seq), "
                f"sent AS (INSERT INTO {t(SENDS)} (budget, tenant_id, seq, sent_at) "
                "SELECT %(b)s, %(t)s, seq, %(now)s FROM counted), "
                f"app AS (INSERT INTO {t(APPS)} AS a (budget, seq) SELECT %(b)s, 1 FROM counted "
                "ON CONFLICT (budget) DO UPDATE SET seq = a.seq + 1 RETURNING seq) "
                "SELECT counted.seq, app.seq FROM counted, app",
                {
                    "b": self._name,
                    "t": tenant,
                    "cutoff": now - keep,
                    "since": now - window,
                    "limit": limit,
                    "now": now,
                },
            )
            row = cursor.fetchone()
        return None if row is None else RequestStart(int(row[0]), int(row[1]))

    def finish(
        self,
        lease: SlotLease,
        *,
        start: RequestStart | None,
        now: float,
        minute: int | None = None,
        day: int | None = None,
        app: int | None = None,
    ) -> None:
        """Give the slot back and keep the answer's readings (one statement)."""
        self._keeper.discard(lease)
        tenant = _key(lease.tenant_id)
        t = self._tables
        values = {"b": self._name, "t": tenant, "lease": lease.lease_id}
        with self._calling("give an in-flight slot back", lease.tenant_id) as cursor:
            if start is None:
                cursor.execute(
                    f"DELETE FROM {t(SLOTS)} WHERE budget = %(b)s "  # noqa: S608
                    "AND tenant_id = %(t)s AND lease_id = %(lease)s",
                    values,
                )
                return
            # Each reading is kept only if it is about a request no older than the one kept
            # (answers come back out of order).
            m_new = (
                "%(minute)s::integer IS NOT NULL AND (minute_seq IS NULL OR minute_seq <= %(seq)s)"
            )
            d_new = "%(day)s::integer IS NOT NULL AND (day_seq IS NULL OR day_seq <= %(seq)s)"
            fields = {
                **values,
                "now": now,
                "seq": start.seq,
                "app_seq": start.app_seq,
                "minute": minute,
                "day": day,
                "app": app,
            }
            # The tenant's row first, then the app's, in that order: as record_start locks
            # them, so two transactions never wait for each other in a circle.
            cursor.execute(
                f"WITH gone AS (DELETE FROM {t(SLOTS)} WHERE budget = %(b)s "  # noqa: S608
                "AND tenant_id = %(t)s AND lease_id = %(lease)s), "
                f"answered AS (UPDATE {t(SENDS)} SET answered_at = %(now)s "
                "WHERE budget = %(b)s AND tenant_id = %(t)s AND seq = %(seq)s) "
                f"UPDATE {t(TENANTS)} SET "
                f"minute_remaining = CASE WHEN {m_new} THEN %(minute)s ELSE minute_remaining END, "
                f"minute_seq = CASE WHEN {m_new} THEN %(seq)s ELSE minute_seq END, "
                f"minute_at = CASE WHEN {m_new} THEN %(now)s ELSE minute_at END, "
                f"day_remaining = CASE WHEN {d_new} THEN %(day)s ELSE day_remaining END, "
                f"day_seq = CASE WHEN {d_new} THEN %(seq)s ELSE day_seq END, "
                f"day_at = CASE WHEN {d_new} THEN %(now)s ELSE day_at END "
                "WHERE budget = %(b)s AND tenant_id = %(t)s",
                fields,
            )
            if app is not None:
                cursor.execute(
                    f"UPDATE {t(APPS)} SET remaining = %(app)s, "  # noqa: S608
                    "reading_seq = %(app_seq)s, reading_at = %(now)s WHERE budget = %(b)s "
                    "AND (reading_seq IS NULL OR reading_seq <= %(app_seq)s)",
                    fields,
                )

    def hold(self, tenant_id: str | None, *, until: float) -> None:
        """Hold the tenant until ``until`` in every process."""
        t = self._tables
        with self._calling("share a hold after a 429", tenant_id) as cursor:
            cursor.execute(
                f"INSERT INTO {t(TENANTS)} AS r (budget, tenant_id, hold_until) "  # noqa: S608
                "VALUES (%s, %s, %s) ON CONFLICT (budget, tenant_id) DO UPDATE SET "
                "hold_until = GREATEST(r.hold_until, excluded.hold_until), hold_seq = r.seq",
                (self._name, _key(tenant_id), until),
            )

    def park(self, tenant_id: str | None, *, until: datetime) -> None:
        """Park the tenant until ``until`` in every process."""
        if until.utcoffset() is None:
            raise ConfigurationError("park(until=...) must be a timezone-aware datetime")
        t = self._tables
        with self._calling("share a day-limit park", tenant_id) as cursor:
            cursor.execute(
                f"INSERT INTO {t(TENANTS)} AS r (budget, tenant_id, parked_until) "  # noqa: S608
                "VALUES (%s, %s, %s) ON CONFLICT (budget, tenant_id) DO UPDATE SET "
                "parked_until = GREATEST(r.parked_until, excluded.parked_until)",
                (self._name, _key(tenant_id), until),
            )

    def readings(
        self, tenant_id: str | None, *, now: float, window: float, margin: float, limit: int
    ) -> BudgetReadings:
        """What every process knows about the tenant (one statement, one snapshot)."""
        t = self._tables
        with self._calling("read the rate budget", tenant_id) as cursor:
            cursor.execute(
                "SELECT r.seq, r.minute_remaining, r.minute_seq, r.minute_at, "  # noqa: S608
                "r.day_remaining, r.day_seq, r.day_at, r.hold_until, r.hold_seq, r.parked_until, "
                "a.seq, a.remaining, a.reading_seq, a.reading_at, "
                f"(SELECT count(*) FROM {t(SLOTS)} WHERE budget = %(b)s AND tenant_id = %(t)s "
                "AND expires_at > clock_timestamp()), "
                f"(SELECT count(*) FROM {t(SENDS)} WHERE budget = %(b)s AND tenant_id = %(t)s "
                "AND sent_at > %(since)s), "
                f"(SELECT count(*) FROM {t(SENDS)} WHERE budget = %(b)s AND tenant_id = %(t)s "
                "AND sent_at > %(recent)s), "
                "k.seq, k.sent_at, k.answered_at, o.seq, o.sent_at, o.answered_at "
                "FROM (SELECT 1) AS one "
                f"LEFT JOIN {t(TENANTS)} r ON r.budget = %(b)s AND r.tenant_id = %(t)s "
                f"LEFT JOIN {t(APPS)} a ON a.budget = %(b)s "
                # the limit-th newest request that may still count: the one blocking the window
                f"LEFT JOIN LATERAL (SELECT seq, sent_at, answered_at FROM {t(SENDS)} "
                "WHERE budget = %(b)s AND tenant_id = %(t)s AND sent_at > %(recent)s "
                "ORDER BY sent_at DESC, seq DESC OFFSET %(offset)s LIMIT 1) k ON true "
                # bms_xero.xero._budget.opener_seq: seq - (limit - remaining) + 1
                f"LEFT JOIN LATERAL (SELECT seq, sent_at, answered_at FROM {t(SENDS)} "
                "WHERE budget = %(b)s AND tenant_id = %(t)s "
                "AND seq = r.minute_seq - (%(limit)s - r.minute_remaining) + 1) o ON true",
                {
                    "b": self._name,
                    "t": _key(tenant_id),
                    "since": now - window,
                    "recent": now - window - margin,
                    "offset": limit - 1,
                    "limit": limit,
                },
            )
            row = cursor.fetchone()
        assert row is not None  # FROM (SELECT 1) always gives one row
        (seq, m_rem, m_seq, m_at, d_rem, d_seq, d_at, hold, hold_seq, parked) = row[:10]
        (app_seq, a_rem, a_seq, a_at, in_flight, in_window, recent) = row[10:17]
        return BudgetReadings(
            tenant_id=tenant_id,
            seq=int(seq or 0),
            in_flight=int(in_flight),
            in_window=int(in_window),
            recent=int(recent),
            blocking=_request(*row[17:20]),
            minute=_reading(m_rem, m_seq, m_at),
            opener=_request(*row[20:23]),
            day=_reading(d_rem, d_seq, d_at),
            app_seq=int(app_seq or 0),
            app=_reading(a_rem, a_seq, a_at),
            hold_until=None if hold is None else float(hold),
            hold_seq=int(hold_seq or 0),
            parked_until=parked,
        )

    def held_leases(self) -> list[SlotLease]:
        """The slot leases this process holds and renews now (for tests and diagnostics)."""
        return self._keeper.held()

    def forget(self, tenant_ids: Iterable[str | None]) -> None:
        """Delete what is kept for these tenants (tests, or an organisation disconnected)."""
        t = self._tables
        keys = [_key(tenant_id) for tenant_id in tenant_ids]
        with self._calling("forget tenants' budgets", None) as cursor:
            for table in (SLOTS, SENDS, TENANTS):
                cursor.execute(
                    f"DELETE FROM {t(table)} WHERE budget = %s AND tenant_id = ANY(%s)",  # noqa: S608
                    (self._name, keys),
                )

    def close(self) -> None:
        """Stop renewing leases (held ones expire within one lease) and close the budget's
        own connections (a host's pool stays open). Idempotent."""
        self._keeper.close()
        with self._opening:
            self._closed = True
            db, self._db = self._db, None
        if db is not None:
            db.close()

    def __repr__(self) -> str:
        return f"PostgresRateBudget({self._where!r}, name={self._name!r}, lease={self._lease:g})"
