"""SQLiteJobStore: background jobs in a SQLite file, shared safely by several worker processes.

The file may be the same one :class:`~bms_xero.storage.SQLiteStore` uses (tables are
prefixed, and the schema is versioned in ``bms_xero_schema`` under the component ``"jobs"``).
Like that store it runs in WAL mode, waits ``timeout`` seconds for the write lock, and does
every change in ``BEGIN IMMEDIATE``: a lease reads the due jobs and marks them leased under
the file's write lock, so two processes can never lease the same job.

Datetimes are stored as fixed-width ISO-8601 UTC text, so comparing the text compares times.

The hot paths read only what they return, however many jobs are pending or finished: a lease
walks partial indexes of pending jobs (per tenant, or of every tenant) and of leased jobs in
lease order, a page at a time; an enqueue finds the same work through its (tenant, kind,
invoice or customer) index; a list reads the index that gives its page newest first. Each
statement names its index (``INDEXED BY``): without ``ANALYZE`` statistics SQLite's planner
prefers any index led by ``tenant_id`` and would read and sort every job the tenant ever had.
"""

from __future__ import annotations

import heapq
import os
import sqlite3
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal

from bms_xero.errors import StorageError
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._base import JobStoreBase
from bms_xero.jobs._records import JOB_FIELDS, Job, JobKind, JobStatus
from bms_xero.storage._checks import check_keys
from bms_xero.storage._sqlite import SQLiteFile
from bms_xero.storage._sqlite_schema import Migration

__all__ = ["SQLiteJobStore"]

COMPONENT: Final = "jobs"
JOBS: Final = "bms_xero_jobs"
PARKS: Final = "bms_xero_job_parks"

_FIELDS: Final = JOB_FIELDS
_DATETIMES: Final = frozenset({"run_after", "lease_until", "created_at", "updated_at"})
_PAGE: Final = 200
_RUN_AFTER: Final = _FIELDS.index("run_after")
_CREATED_AT: Final = _FIELDS.index("created_at")


def _v1(conn: sqlite3.Connection) -> None:
    """Jobs and tenant parks."""
    conn.execute(
        f"CREATE TABLE {JOBS} ("
        "id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, kind TEXT NOT NULL, invoice_id TEXT, "
        "invoice_number TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "run_after TEXT NOT NULL, leased_by TEXT, lease_until TEXT, last_error TEXT, "
        "error_type TEXT, retryable INTEGER, created_at TEXT NOT NULL, "
        "updated_at TEXT NOT NULL, version INTEGER NOT NULL)"
    )
    conn.execute(f"CREATE INDEX {JOBS}_due ON {JOBS} (status, run_after)")
    conn.execute(f"CREATE INDEX {JOBS}_work ON {JOBS} (tenant_id, kind, invoice_id, status)")
    conn.execute(f"CREATE INDEX {JOBS}_created ON {JOBS} (created_at, id)")
    conn.execute(f"CREATE INDEX {JOBS}_invoice ON {JOBS} (invoice_id)")
    conn.execute(f"CREATE TABLE {PARKS} (tenant_id TEXT PRIMARY KEY, until TEXT NOT NULL)")


def _v2(conn: sqlite3.Connection) -> None:
    """Queues (a worker takes only its own) and customer jobs; the work a job does (invoice
    or customer) indexed, so an enqueue finds the same work without a scan."""
    conn.execute(f"ALTER TABLE {JOBS} ADD COLUMN customer_id TEXT")
    conn.execute(f"ALTER TABLE {JOBS} ADD COLUMN queue TEXT NOT NULL DEFAULT 'default'")
    conn.execute(f"CREATE INDEX {JOBS}_customer ON {JOBS} (tenant_id, kind, customer_id, status)")


def _v3(conn: sqlite3.Connection) -> None:
    """The hot paths off a tenant's history: a lease, its busy check and a Background Jobs
    page read only what they return, however many jobs are pending or finished.

    Every job is in exactly one of four partial indexes by status: pending jobs in lease
    order (twice: of all tenants, and tenant by tenant; with their kind and queue, so jobs
    a lease passes over are filtered without reading their rows), jobs in flight by lease
    end, failed jobs by tenant, and finished jobs by last change (what purge deletes). They
    replace ``(status, run_after)``. Two more read a tenant's jobs newest first, of any kind
    or of one kind (the page, and the pull schedule's newest pull).
    """
    conn.execute(f"DROP INDEX {JOBS}_due")
    conn.execute(
        f"CREATE INDEX {JOBS}_pending ON {JOBS} "
        "(run_after, created_at, id, tenant_id, kind, queue) WHERE status = 'pending'"
    )
    conn.execute(
        f"CREATE INDEX {JOBS}_tenant_pending ON {JOBS} "
        "(tenant_id, run_after, created_at, id, kind, queue) WHERE status = 'pending'"
    )
    conn.execute(f"CREATE INDEX {JOBS}_leased ON {JOBS} (lease_until) WHERE status = 'leased'")
    conn.execute(
        f"CREATE INDEX {JOBS}_failed ON {JOBS} (tenant_id, created_at, id) WHERE status = 'failed'"
    )
    conn.execute(
        f"CREATE INDEX {JOBS}_finished ON {JOBS} (updated_at) "
        "WHERE status IN ('done', 'cancelled', 'superseded')"
    )
    conn.execute(f"CREATE INDEX {JOBS}_tenant_created ON {JOBS} (tenant_id, created_at, id)")
    conn.execute(
        f"CREATE INDEX {JOBS}_tenant_kind_created ON {JOBS} (tenant_id, kind, created_at, id)"
    )


#: The jobs component's migrations, oldest first; append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1, _v2, _v3)

_SELECT: Final = f"SELECT {', '.join(_FIELDS)} FROM {JOBS}"  # noqa: S608 (constants)
_INSERT: Final = (
    f"INSERT INTO {JOBS} ({', '.join(_FIELDS)}) "  # noqa: S608 (constants)
    f"VALUES ({', '.join('?' for _ in _FIELDS)})"
)
#: What a lease may take, each through its partial index: pending jobs that are due (of
#: any tenant, or of one), and leases that ran out. The index is named, so that the plan
#: can't silently fall back to reading every job of the tenant (SQLite refuses the
#: statement instead).
_PENDING_DUE: Final = f"INDEXED BY {JOBS}_pending WHERE status = 'pending' AND run_after <= ?"
_TENANT_DUE: Final = (
    f"INDEXED BY {JOBS}_tenant_pending WHERE status = 'pending' AND tenant_id = ? "
    "AND run_after <= ?"
)
_EXPIRED: Final = f"INDEXED BY {JOBS}_leased WHERE status = 'leased' AND lease_until <= ?"
#: A lease of at most this many tenants reads each one's due jobs through its own range
#: of the tenant index (one short query each), so the due jobs of other tenants (parked,
#: or served by other workers) cost it nothing; a wider lease walks the all-tenant index.
_FEW_TENANTS: Final = 16


def _text(value: datetime) -> str:
    # Fixed width (microseconds always, +00:00), so comparing the text compares the times.
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(job: Job) -> tuple[object, ...]:
    row: list[object] = []
    for name in _FIELDS:
        value = getattr(job, name)
        if value is None:
            row.append(None)
        elif name in _DATETIMES:
            row.append(_text(value))
        elif name == "retryable":
            row.append(int(value))
        elif name in ("kind", "status"):
            row.append(value.value)
        else:
            row.append(value)
    return tuple(row)


def _decode(row: Sequence[Any]) -> Job:
    values: dict[str, Any] = {}
    for name, value in zip(_FIELDS, row, strict=True):
        if value is not None and name in _DATETIMES:
            values[name] = datetime.fromisoformat(value)
        elif value is not None and name == "retryable":
            values[name] = bool(value)
        else:
            values[name] = value
    return Job(**values)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _lease_order(row: Sequence[Any]) -> tuple[str, str, str]:
    """A stored row's place in lease order (``candidate_order`` of its job: the datetimes
    are fixed-width text, so the text sorts as the times do)."""
    return (row[_RUN_AFTER], row[_CREATED_AT], row[0])


def _list_index(*, tenant: bool, invoice: bool, scope: t.Scope) -> str:
    """The index a list of jobs reads, newest first.

    Chosen here, not by SQLite: without statistics (``ANALYZE``) its planner takes any index
    led by ``tenant_id`` and reads, then sorts, every job the tenant ever had, finished ones
    included, even for a page of 100 that an index would give in order. An invoice's jobs
    are few (read them all); failed and leased jobs are few, each status in a partial index;
    otherwise the tenant's jobs (of one kind, when one is asked for) newest first.
    """
    statuses, kinds = scope.statuses, scope.kinds
    if invoice:
        return f"{JOBS}_invoice"
    if statuses == frozenset({JobStatus.FAILED}):
        return f"{JOBS}_failed"
    if statuses == frozenset({JobStatus.LEASED}):
        return f"{JOBS}_leased"
    if not tenant:
        return f"{JOBS}_created"
    if kinds is not None and len(kinds) == 1:
        return f"{JOBS}_tenant_kind_created"
    return f"{JOBS}_tenant_created"


class SQLiteJobStore(JobStoreBase):
    """Jobs and tenant parks in one SQLite file; implements ``JobStore``.

    Creates the tables when missing and upgrades an older schema on open. Use it as a
    context manager, or call :meth:`close`.

    Args:
        path: The database file (may be shared with ``SQLiteStore``). ``":memory:"`` is
            refused: use ``MemoryJobStore``.
        timeout: Seconds a write waits for another process to release the lock before
            failing with :class:`~bms_xero.errors.StorageError`.
        synchronous: SQLite's ``synchronous`` setting (``"FULL"``: every commit survives
            power loss).
        new_id: Makes job ids (default: random UUIDs).

    Raises:
        ConfigurationError: A bad argument.
        SchemaVersionError: The file was written by a newer bms_xero.
        StorageError: The file can't be opened or isn't a database.
    """

    schema_version: ClassVar[int] = len(MIGRATIONS)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._db = SQLiteFile(
            path,
            owner="SQLiteJobStore",
            component=COMPONENT,
            migrations=MIGRATIONS,
            timeout=timeout,
            synchronous=synchronous,
            in_memory_hint="use MemoryJobStore() for jobs that live in memory",
        )
        self._path = self._db.path
        self._new_id = new_id or (lambda: str(uuid.uuid4()))

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteJobStore({self._path!r})"

    # --- enqueue -----------------------------------------------------------------------------

    def _enqueue(
        self,
        tenant_id: str,
        kind: JobKind,
        invoice_id: str | None,
        invoice_number: str | None,
        now: datetime,
        *,
        queue: str,
        customer_id: str | None = None,
    ) -> Job:
        t.check_enqueue(
            tenant_id, invoice_id, invoice_number, kind=kind, queue=queue, customer_id=customer_id
        )
        now = t.check_now(now)
        with self._db.transaction("enqueue a job", write=True) as conn:
            same = self._same_work(conn, tenant_id, kind, invoice_id, customer_id)
            plan = t.enqueue(same, now=now, invoice_number=invoice_number, queue=queue)
            read = {j.id: j for j in same}
            for changed in plan.writes:
                self._write(conn, changed, read[changed.id])
            if plan.job is not None:
                return plan.job
            job = t.new_job(
                self._new_id(),
                tenant_id,
                kind,
                invoice_id=invoice_id,
                customer_id=customer_id,
                invoice_number=invoice_number,
                now=now,
                queue=queue,
            )
            try:
                conn.execute(_INSERT, _encode(job))
            except sqlite3.IntegrityError as exc:
                raise StorageError(
                    f"new_id() returned {job.id!r}, which is taken; job ids must be unique"
                ) from exc
            return job

    def _same_work(
        self,
        conn: sqlite3.Connection,
        tenant_id: str,
        kind: JobKind,
        invoice_id: str | None,
        customer_id: str | None,
    ) -> list[Job]:
        """The live jobs (pending, leased, failed) doing this work, through the indexes."""
        column, value = ("customer_id", customer_id) if customer_id else ("invoice_id", invoice_id)
        match = f"{column} = ?" if value else "invoice_id IS NULL AND customer_id IS NULL"
        rows = conn.execute(
            f"{_SELECT} WHERE tenant_id = ? AND kind = ? AND {match} "
            "AND status IN ('pending', 'leased', 'failed')",
            (tenant_id, kind.value, *([value] if value else [])),
        ).fetchall()
        return [self._decode(row) for row in rows]

    # --- read --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``."""
        check_keys("job lookup", job_id=job_id)
        with self._db.errors("read a job"), self._db.connection() as conn:
            row = conn.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._decode(row)

    def list_jobs(
        self,
        *,
        tenant_id: str | None = None,
        statuses: Collection[JobStatus] | None = None,
        kinds: Collection[JobKind] | None = None,
        invoice_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 100,
    ) -> list[Job]:
        """Jobs matching every filter given, newest first."""
        scope = t.list_scope(
            limit,
            statuses=statuses,
            kinds=kinds,
            created_after=created_after,
            created_before=created_before,
        )
        if scope.empty:
            return []
        index = _list_index(
            tenant=tenant_id is not None, invoice=invoice_id is not None, scope=scope
        )
        where: list[str] = []
        args: list[object] = []
        if tenant_id is not None:
            where.append("tenant_id = ?")
            args.append(tenant_id)
        if scope.statuses is not None and len(scope.statuses) == 1:
            # Written out, not bound: a partial index of one status serves only a statement
            # that names that status (the value is a JobStatus member's).
            where.append(f"status = '{next(iter(scope.statuses)).value}'")
        elif scope.statuses is not None:
            where.append(f"status IN ({_marks(len(scope.statuses))})")
            args.extend(sorted(s.value for s in scope.statuses))
        if scope.kinds is not None:
            where.append(f"kind IN ({_marks(len(scope.kinds))})")
            args.extend(sorted(k.value for k in scope.kinds))
        if invoice_id is not None:
            where.append("invoice_id = ?")
            args.append(invoice_id)
        after, before = scope.created_after, scope.created_before
        if after is not None:
            where.append("created_at >= ?")
            args.append(_text(after))
        if before is not None:
            where.append("created_at < ?")
            args.append(_text(before))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db.errors("list jobs"), self._db.connection() as conn:
            rows = conn.execute(
                f"{_SELECT} INDEXED BY {index}{clause} ORDER BY created_at DESC, id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [self._decode(row) for row in rows]

    # --- lease and outcomes ----------------------------------------------------------------------

    def lease(
        self,
        *,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        tenant_ids: Collection[str] | None = None,
        kinds: Collection[JobKind] | None = None,
        queues: Collection[str] | None = None,
    ) -> list[Job]:
        """Take up to ``limit`` due jobs for ``worker_id`` (under the file's write lock)."""
        t.check_lease_args(worker_id, lease_seconds, limit, queues)
        now = t.check_now(now)
        scope = t.lease_scope(tenant_ids, kinds, queues)
        if scope.empty:
            return []
        tenants, wanted_kinds, wanted_queues = scope.tenants, scope.kinds, scope.queues
        stamp = _text(now)
        tenant_where = "" if tenants is None else f" AND tenant_id IN ({_marks(len(tenants))})"
        where, args = "", []
        if wanted_kinds is not None:
            where += f" AND kind IN ({_marks(len(wanted_kinds))})"
            args.extend(sorted(k.value for k in wanted_kinds))
        # Work running on any queue is busy: two workers must never do the same work at once.
        busy_where, busy_args = tenant_where + where, [*(tenants or ()), *args]
        if wanted_queues is not None:
            where += f" AND queue IN ({_marks(len(wanted_queues))})"
            args.extend(wanted_queues)
        result: list[Job] = []
        with self._db.transaction("lease jobs", write=True) as conn:
            parked = {
                str(row[0])
                for row in conn.execute(
                    f"SELECT tenant_id FROM {PARKS} WHERE until > ?",  # noqa: S608 (constant)
                    (stamp,),
                )
            }
            busy = {
                (str(row[0]), str(row[1]), row[2] or "")
                for row in conn.execute(
                    "SELECT tenant_id, kind, COALESCE(invoice_id, customer_id) "  # noqa: S608
                    f"FROM {JOBS} INDEXED BY {JOBS}_leased "
                    f"WHERE status = 'leased' AND lease_until > ?{busy_where}",
                    (stamp, *busy_args),
                )
            }
            # Index range scans in lease order, merged: the due pending jobs (tenant by
            # tenant, or of every tenant), and leases that ran out (few: only jobs in flight
            # are leased).
            if parked:
                tenant_where += f" AND tenant_id NOT IN ({_marks(len(parked))})"
            scoped = [*(tenants or ()), *sorted(parked)]
            scans: list[Iterator[Sequence[Any]]]
            if tenants is not None and len(tenants) <= _FEW_TENANTS:
                scans = [
                    self._due(conn, _TENANT_DUE, (tenant, stamp), where, args, limit)
                    for tenant in tenants
                    if tenant not in parked
                ]
            else:
                scans = [
                    self._due(
                        conn, _PENDING_DUE, (stamp,), tenant_where + where, [*scoped, *args], limit
                    )
                ]
            scans.append(
                self._due(conn, _EXPIRED, (stamp,), tenant_where + where, [*scoped, *args], limit)
            )
            rows = heapq.merge(*scans, key=_lease_order)
            candidates = (self._decode(row) for row in rows)
            for job in t.pick(candidates, now=now, limit=limit, busy=busy, parked=parked):
                leased = t.leased(job, worker_id=worker_id, now=now, lease_seconds=lease_seconds)
                self._write(conn, leased, job)
                result.append(leased)
        return result

    def _due(
        self,
        conn: sqlite3.Connection,
        condition: str,
        condition_args: tuple[object, ...],
        where: str,
        args: Sequence[object],
        limit: int,
    ) -> Iterator[Sequence[Any]]:
        """The rows matching ``condition`` and ``where``, oldest ``run_after`` first, read a
        page at a time as the caller consumes them.

        Each page starts after the last row of the one before (not at an offset), so a page
        costs what it returns however many jobs precede it. A lease usually takes the first
        jobs it sees, so the first page is ``limit`` jobs and one more (``pick`` asks for the
        next candidate before it sees it has enough); pages double from there while jobs
        are passed over (their work is busy).
        """
        after: tuple[object, ...] = ()
        size = limit + 1
        while True:
            start = " AND (run_after, created_at, id) > (?, ?, ?)" if after else ""
            rows = conn.execute(
                f"{_SELECT} {condition}{start}{where} ORDER BY run_after, created_at, id LIMIT ?",
                (*condition_args, *after, *args, size),
            ).fetchall()
            yield from rows
            if len(rows) < size:
                return
            after = _lease_order(rows[-1])
            size = min(size * 2, max(limit, _PAGE))

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        """Mark the leased job done (LeaseLost if the lease is no longer held)."""
        now = t.check_now(now)
        with self._db.transaction("complete a job", write=True) as conn:
            stored = t.proven(self._read(conn, job.id), job, now)
            done = t.completed(stored, now=now, invoice_number=invoice_number)
            self._write(conn, done, stored)
            same = self._same_work(
                conn, done.tenant_id, done.kind, done.invoice_id, done.customer_id
            )
            read = {j.id: j for j in same}
            for moot in t.settled(same, done, now):
                self._write(conn, moot, read[moot.id])
        return done

    def fail(
        self,
        job: Job,
        *,
        now: datetime,
        error: str,
        error_type: str,
        retry_at: datetime | None,
        retryable: bool | None = None,
        invoice_number: str | None = None,
    ) -> Job:
        """Record a failure: retry from ``retry_at``, or fail for good when it is ``None``."""
        now = t.check_now(now)
        retry = None if retry_at is None else t.check_now(retry_at, "job failure", "retry_at")
        with self._db.transaction("record a job failure", write=True) as conn:
            stored = t.proven(self._read(conn, job.id), job, now)
            after = t.failed(
                stored,
                now=now,
                error=error,
                error_type=error_type,
                retry_at=retry,
                retryable=retryable,
                invoice_number=invoice_number,
            )
            self._write(conn, after, stored)
        return after

    def release(
        self,
        job: Job,
        *,
        now: datetime,
        run_after: datetime,
        error: str | None = None,
        error_type: str | None = None,
    ) -> Job:
        """Put the leased job back to pending without counting the attempt."""
        now = t.check_now(now)
        run_after = t.check_now(run_after, "job release", "run_after")
        with self._db.transaction("release a job", write=True) as conn:
            stored = t.proven(self._read(conn, job.id), job, now)
            after = t.released(
                stored, now=now, run_after=run_after, error=error, error_type=error_type
            )
            self._write(conn, after, stored)
        return after

    # --- parking -------------------------------------------------------------------------------

    def park_tenant(self, tenant_id: str, until: datetime) -> datetime:
        """Lease none of the tenant's jobs before ``until`` (a park is never shortened)."""
        check_keys("tenant park", tenant_id=tenant_id)
        until = t.check_now(until, "tenant park", "until")
        with self._db.transaction("park a tenant", write=True) as conn:
            conn.execute(
                f"INSERT INTO {PARKS} (tenant_id, until) VALUES (?, ?) "  # noqa: S608
                f"ON CONFLICT (tenant_id) DO UPDATE SET until = excluded.until "
                f"WHERE excluded.until > {PARKS}.until",
                (tenant_id, _text(until)),
            )
            row = conn.execute(
                f"SELECT until FROM {PARKS} WHERE tenant_id = ?",  # noqa: S608 (constant)
                (tenant_id,),
            ).fetchone()
        return datetime.fromisoformat(row[0])

    def unpark_tenant(self, tenant_id: str) -> None:
        """Lift the tenant's park."""
        check_keys("tenant park", tenant_id=tenant_id)
        with self._db.transaction("unpark a tenant", write=True) as conn:
            conn.execute(f"DELETE FROM {PARKS} WHERE tenant_id = ?", (tenant_id,))  # noqa: S608

    def parked_until(self, tenant_id: str, *, now: datetime) -> datetime | None:
        """When the tenant's park ends, or ``None`` if it is not parked at ``now``."""
        check_keys("tenant park", tenant_id=tenant_id)
        now = t.check_now(now)
        with self._db.errors("read a tenant park"), self._db.connection() as conn:
            row = conn.execute(
                f"SELECT until FROM {PARKS} WHERE tenant_id = ? AND until > ?",  # noqa: S608
                (tenant_id, _text(now)),
            ).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    # --- operator actions ------------------------------------------------------------------------

    def retry_now(self, job_id: str, *, now: datetime) -> Job | None:
        """Run a failed, cancelled or waiting job now, with a fresh attempt budget."""
        check_keys("job retry", job_id=job_id)
        return self._change(job_id, lambda job, at: t.retried(job, at), now, "retry a job")

    def retry_failed(self, *, now: datetime, tenant_id: str | None = None) -> list[Job]:
        """Retry every failed job (of one tenant when given)."""
        now = t.check_now(now)
        where, args = "status = 'failed'", []
        if tenant_id is not None:
            where += " AND tenant_id = ?"
            args.append(tenant_id)
        result = []
        with self._db.transaction("retry failed jobs", write=True) as conn:
            rows = conn.execute(
                f"{_SELECT} INDEXED BY {JOBS}_failed WHERE {where} ORDER BY created_at, id", args
            )
            for row in rows.fetchall():
                failed = self._decode(row)
                after = t.retried(failed, now)
                self._write(conn, after, failed)
                result.append(after)
        return result

    def cancel(self, job_id: str, *, now: datetime) -> Job | None:
        """Cancel a pending, leased or failed job."""
        check_keys("job cancel", job_id=job_id)
        return self._change(job_id, lambda job, at: t.cancelled(job, at), now, "cancel a job")

    def purge(self, *, finished_before: datetime) -> int:
        """Delete done and cancelled jobs last changed before ``finished_before``."""
        before = t.check_now(finished_before, "job purge", "finished_before")
        with self._db.transaction("purge jobs", write=True) as conn:
            cursor = conn.execute(
                f"DELETE FROM {JOBS} INDEXED BY {JOBS}_finished "  # noqa: S608 (constants)
                "WHERE status IN ('done', 'cancelled', 'superseded') "
                "AND updated_at < ?",
                (_text(before),),
            )
            return int(cursor.rowcount)

    def _change(
        self, job_id: str, change: Callable[[Job, datetime], Job], now: datetime, doing: str
    ) -> Job | None:
        now = t.check_now(now)
        with self._db.transaction(doing, write=True) as conn:
            job = self._read(conn, job_id)
            if job is None:
                return None
            after = change(job, now)
            if after is not job:
                self._write(conn, after, job)
            return after

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection; further use raises StorageError. Idempotent."""
        self._db.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _read(self, conn: sqlite3.Connection, job_id: str) -> Job | None:
        row = conn.execute(f"{_SELECT} WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else self._decode(row)

    def _write(self, conn: sqlite3.Connection, job: Job, was: Job) -> None:
        """Store ``job`` over ``was`` (its row as read in this transaction), setting only the
        columns that changed: SQLite rewrites a row's entry in every index on a column the
        UPDATE sets, even to the value it had, and the jobs table has eleven indexes."""
        new, old = _encode(job), _encode(was)
        changed = [n for n in range(1, len(_FIELDS)) if new[n] != old[n]]
        if not changed:
            return
        conn.execute(
            f"UPDATE {JOBS} SET "  # noqa: S608 (column names)
            + ", ".join(f"{_FIELDS[n]} = ?" for n in changed)
            + " WHERE id = ?",
            (*(new[n] for n in changed), job.id),
        )

    def _decode(self, row: Sequence[Any]) -> Job:
        try:
            return _decode(row)
        except (ValueError, TypeError) as exc:
            raise StorageError(
                f"{self._path}: a stored job can't be read ({exc}); the row {row[0]!r} was "
                "changed outside bms_xero"
            ) from exc
