"""PostgresJobStore: background jobs in PostgreSQL, for workers on several machines.

Every rule (what is due, one live job per work, what a lease proves, what a retry resets) is
:mod:`bms_xero.jobs._transitions`', applied here as in ``SQLiteJobStore``; this store only
reads and writes atomically, without one lock for everything:

- **Leasing** reads the due jobs oldest first ``FOR UPDATE SKIP LOCKED``: two workers leasing
  at once take different jobs instead of waiting for each other. "Never the same work twice
  at once" needs more than row locks (two jobs of one invoice are two rows), so a lease also
  takes a transaction-scoped advisory lock on each job's work (tenant, kind, invoice or
  customer) *without waiting* (``pg_try_advisory_xact_lock``: work someone else is handling
  right now is left for the next lease), then checks again, in a fresh statement, that no
  lease of that work was committed meanwhile.
- **Enqueue, complete, cancel and retries** wait for that work lock, so "one live job per
  work" holds across processes: the same work is enqueued by one at a time, and a success
  supersedes exactly the failed jobs it saw.
- **Every write is compare-and-swap on the version** (``UPDATE ... WHERE id = %s AND version
  = %s``): a change the locks did not serialise is refused, never lost.

Locks are always taken in one order (work lock, then rows), and a lease, which holds row
locks, never waits for a work lock, so the store cannot deadlock with itself.

Leases read two small partial indexes: pending jobs in lease order, and jobs in flight
(leased). So leasing and enqueueing cost the same at 1,000 or 50,000 pending jobs, and
finished jobs, or jobs other workers hold, stay out of the hot path. The schema is versioned
under the component ``"jobs"`` in ``bms_xero_schema``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar, Final

from bms_xero.errors import FieldProblem, StorageError, StorageValueError
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._base import JobStoreBase
from bms_xero.jobs._records import JOB_FIELDS, Job, JobKind, JobStatus
from bms_xero.storage._checks import check_keys, to_utc
from bms_xero.storage._postgres import (
    Connection,
    ConnectionPool,
    Cursor,
    Migration,
    PostgresDatabase,
    Tables,
    advisory_key,
    text_problems,
)

__all__ = ["PostgresJobStore"]

COMPONENT: Final = "jobs"
JOBS: Final = "bms_xero_jobs"
PARKS: Final = "bms_xero_job_parks"

_FIELDS: Final = JOB_FIELDS
_LIVE: Final = (JobStatus.PENDING.value, JobStatus.LEASED.value, JobStatus.FAILED.value)
_KEY = 'TEXT COLLATE "C"'


def _v1(conn: Connection, tables: Tables) -> None:
    """Jobs and tenant parks, with the indexes each query needs.

    ``work`` is what a job does the work on (its invoice or customer, ``''`` for a full
    pull), computed by the database so the work lookups and locks can't disagree with it.
    """
    jobs = tables(JOBS)
    conn.execute(
        f"CREATE TABLE {jobs} ("
        f"id {_KEY} PRIMARY KEY, tenant_id {_KEY} NOT NULL, kind TEXT NOT NULL, "
        f"invoice_id {_KEY}, customer_id {_KEY}, "
        f"work {_KEY} GENERATED ALWAYS AS (COALESCE(invoice_id, customer_id, '')) STORED, "
        "invoice_number TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL, "
        "run_after TIMESTAMPTZ NOT NULL, leased_by TEXT, lease_until TIMESTAMPTZ, "
        "last_error TEXT, error_type TEXT, retryable BOOLEAN, "
        "created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, "
        "version BIGINT NOT NULL, queue TEXT NOT NULL DEFAULT 'default')"
    )
    # The lease scan: pending jobs only, in lease order, so it reads what it takes.
    conn.execute(
        f"CREATE INDEX {JOBS}_pending ON {jobs} (run_after, created_at, id) "
        "WHERE status = 'pending'"
    )
    # Jobs in flight (as many as the workers hold): the leases that ran out, and the work
    # that is busy, found without reading anything else.
    conn.execute(
        f"CREATE INDEX {JOBS}_leased ON {jobs} (tenant_id, kind, work, lease_until) "
        "WHERE status = 'leased'"
    )
    conn.execute(f"CREATE INDEX {JOBS}_lease_until ON {jobs} (lease_until) WHERE status = 'leased'")
    # The same work (enqueue, complete): live jobs only.
    conn.execute(
        f"CREATE INDEX {JOBS}_work ON {jobs} (tenant_id, kind, work) "
        "WHERE status IN ('pending', 'leased', 'failed')"
    )
    conn.execute(f"CREATE INDEX {JOBS}_created ON {jobs} (created_at, id)")
    conn.execute(f"CREATE INDEX {JOBS}_tenant_created ON {jobs} (tenant_id, created_at, id)")
    conn.execute(f"CREATE INDEX {JOBS}_invoice ON {jobs} (invoice_id)")
    conn.execute(
        f"CREATE INDEX {JOBS}_finished ON {jobs} (updated_at) "
        "WHERE status IN ('done', 'cancelled', 'superseded')"
    )
    conn.execute(
        f"CREATE TABLE {tables(PARKS)} (tenant_id {_KEY} PRIMARY KEY, "
        "park_until TIMESTAMPTZ NOT NULL)"
    )


#: The jobs component's migrations, oldest first; append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1,)


def encode(job: Job) -> dict[str, object]:
    """The job's columns, as psycopg parameters (enums as their text)."""
    row: dict[str, object] = {name: getattr(job, name) for name in _FIELDS}
    row["kind"] = job.kind.value
    row["status"] = job.status.value
    return row


def decode(row: Sequence[Any]) -> Job:
    """A job from a row of the store's columns, in their order (datetimes come back in the
    session's time zone; the Job puts them in UTC)."""
    return Job(**dict(zip(_FIELDS, row, strict=True)))


def work_key(scope: str, job: Job) -> int:
    """The advisory lock key of the job's work (tenant, kind, invoice or customer)."""
    return advisory_key(scope, *job.dedupe_key)


class PostgresJobStore(JobStoreBase):
    """Jobs and tenant parks in PostgreSQL; implements ``JobStore``.

    Creates the tables when missing and upgrades an older schema on open. Use it as a
    context manager, or call :meth:`close`. Several worker processes, on several machines,
    may lease from one database at once (see the module's notes for how).

    Args:
        database: A libpq URL or connection string (the store's own connections, safe across
            threads and ``fork``), or the host's ``psycopg_pool.ConnectionPool``.
        schema: The PostgreSQL schema for the tables (created when missing), or ``None`` for
            the connection's ``search_path``.
        lock_timeout: Seconds a statement of the store's own connections waits for another
            transaction's lock before failing (retryably).
        new_id: Makes job ids (default: random UUIDs).

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
        new_id: Callable[[], str] | None = None,
    ) -> None:
        self._db = PostgresDatabase(
            database,
            owner="PostgresJobStore",
            component=COMPONENT,
            migrations=MIGRATIONS,
            schema=schema,
            lock_timeout=lock_timeout,
        )
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._jobs = self._db.tables(JOBS)
        self._parks = self._db.tables(PARKS)
        self._scope = f"jobs:{self._db.schema or ''}"
        self._select = f"SELECT {', '.join(_FIELDS)} FROM {self._jobs}"  # noqa: S608
        self._insert = (
            f"INSERT INTO {self._jobs} ({', '.join(_FIELDS)}) "  # noqa: S608 (constants)
            f"VALUES ({', '.join(f'%({name})s' for name in _FIELDS)}) "
            "ON CONFLICT (id) DO NOTHING"
        )
        self._update = (
            f"UPDATE {self._jobs} SET "  # noqa: S608 (constants)
            + ", ".join(f"{name} = %({name})s" for name in _FIELDS[1:])
            + " WHERE id = %(id)s AND version = %(expected)s"
        )

    @property
    def location(self) -> str:
        """The database as messages name it (password redacted), with its schema."""
        return self._db.location

    def __repr__(self) -> str:
        return f"PostgresJobStore({self._db.location!r})"

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
        row = encode(job)
        _check_text(job, row)
        with self._db.transaction("enqueue a job") as cur:
            self._lock_work(cur, job)
            same = self._same_work(cur, job)
            plan = t.enqueue(same, now=now, invoice_number=invoice_number, queue=queue)
            for changed in plan.writes:
                self._write(cur, changed)
            if plan.job is not None:
                return plan.job
            cur.execute(self._insert, row)
            if cur.rowcount != 1:
                raise StorageError(
                    f"new_id() returned {job.id!r}, which is taken; job ids must be unique"
                )
            return job

    def _same_work(self, cur: Cursor, job: Job) -> list[Job]:
        """The live jobs (pending, leased, failed) doing ``job``'s work, through the index."""
        cur.execute(
            f"{self._select} WHERE tenant_id = %s AND kind = %s AND work = %s "
            "AND status IN ('pending', 'leased', 'failed')",
            (job.tenant_id, job.kind.value, job.work),
        )
        return [self._decode(row) for row in cur.fetchall()]

    # --- read --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``."""
        check_keys("job lookup", job_id=job_id)
        with self._db.transaction("read a job") as cur:
            return self._read(cur, job_id)

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
        where: list[str] = []
        args: list[object] = []
        if tenant_id is not None:
            where.append("tenant_id = %s")
            args.append(tenant_id)
        if scope.statuses is not None:
            where.append("status = ANY(%s::text[])")
            args.append(sorted(s.value for s in scope.statuses))
        if scope.kinds is not None:
            where.append("kind = ANY(%s::text[])")
            args.append(sorted(k.value for k in scope.kinds))
        if invoice_id is not None:
            where.append("invoice_id = %s")
            args.append(invoice_id)
        if scope.created_after is not None:
            where.append("created_at >= %s")
            args.append(scope.created_after)
        if scope.created_before is not None:
            where.append("created_at < %s")
            args.append(scope.created_before)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self._db.transaction("list jobs") as cur:
            cur.execute(
                f"{self._select}{clause} ORDER BY created_at DESC, id DESC LIMIT %s",
                (*args, limit),
            )
            rows = cur.fetchall()
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
        """Take up to ``limit`` due jobs for ``worker_id``, oldest ``run_after`` first.

        Skips jobs another worker is taking right now (their rows are locked) and work
        another transaction is handling (its work lock is taken), rather than wait for them.
        """
        t.check_lease_args(worker_id, lease_seconds, limit, queues)
        now = t.check_now(now)
        scope = t.lease_scope(tenant_ids, kinds, queues)
        if scope.empty:
            return []
        tenants, wanted_kinds, wanted_queues = scope.tenants, scope.kinds, scope.queues
        if "\x00" in worker_id:
            raise StorageValueError(
                what="job lease",
                problems=[FieldProblem("worker_id", "contains a NUL character")],
            )
        query, args = self._lease_statement(
            None if tenants is None else list(tenants),  # psycopg binds a list as an array
            wanted_kinds,
            None if wanted_queues is None else list(wanted_queues),
        )
        args["now"] = now
        result: list[Job] = []
        taken: set[tuple[str, str, str]] = set()
        seen: list[str] = []
        with self._db.transaction("lease jobs") as cur:
            while len(result) < limit:
                want = limit - len(result)
                cur.execute(query, {**args, "seen": seen, "page": want})
                rows = cur.fetchall()
                page = [self._decode(row) for row in rows]
                if not page:
                    break
                seen.extend(job.id for job in page)
                chosen = t.pick(page, now=now, limit=want, busy=taken, parked=())
                for job in self._claim_work(cur, chosen, now):
                    taken.add(job.dedupe_key)
                    leased = t.leased(
                        job, worker_id=worker_id, now=now, lease_seconds=lease_seconds
                    )
                    self._write(cur, leased)
                    result.append(leased)
                expired = sum(1 for job in page if job.status is JobStatus.LEASED)
                if len(page) - expired < want and expired < want:
                    break  # neither scan had more
        return result

    def _lease_statement(
        self,
        tenants: list[str] | None,
        kinds: frozenset[JobKind] | None,
        queues: list[str] | None,
    ) -> tuple[str, dict[str, object]]:
        """The statement that finds and locks due jobs, and its arguments but ``now``,
        ``seen`` (ids already read by this lease) and ``page`` (how many)."""
        where = ""
        args: dict[str, object] = {}
        if tenants is not None:
            where += " AND j.tenant_id = ANY(%(tenants)s::text[])"
            args["tenants"] = tenants
        if kinds is not None:
            where += " AND j.kind = ANY(%(kinds)s::text[])"
            args["kinds"] = sorted(k.value for k in kinds)
        if queues is not None:
            where += " AND j.queue = ANY(%(queues)s::text[])"
            args["queues"] = queues
        # Two scans, each locking what it returns and passing over rows other leases hold:
        # pending jobs that are due, through their index in lease order, and leases that ran
        # out (few: only jobs in flight are leased). Both leave out parked tenants and work
        # with a live lease on any queue (as last committed: the work lock below makes it
        # certain), and rows this lease already saw.
        common = (
            f"{where} AND NOT (j.id = ANY(%(seen)s::text[])) "  # noqa: S608 (constants)
            f"AND NOT EXISTS (SELECT 1 FROM {self._parks} p "
            "WHERE p.tenant_id = j.tenant_id AND p.park_until > %(now)s) "
            f"AND NOT EXISTS (SELECT 1 FROM {self._jobs} b "
            "WHERE b.status = 'leased' AND b.tenant_id = j.tenant_id AND b.kind = j.kind "
            "AND b.work = j.work AND b.lease_until > %(now)s) "
            "ORDER BY j.run_after, j.created_at, j.id LIMIT %(page)s FOR UPDATE OF j SKIP LOCKED"
        )
        query = (
            f"WITH pending AS (SELECT j.id FROM {self._jobs} j "  # noqa: S608 (constants)
            f"WHERE j.status = 'pending' AND j.run_after <= %(now)s{common}), "
            f"expired AS (SELECT j.id FROM {self._jobs} j "
            f"WHERE j.status = 'leased' AND j.lease_until <= %(now)s{common}) "
            f"{self._select} WHERE id IN (SELECT id FROM pending UNION ALL SELECT id FROM expired) "
            "ORDER BY run_after, created_at, id"
        )
        return query, args

    def _claim_work(self, cur: Cursor, chosen: list[Job], now: datetime) -> list[Job]:
        """The jobs among ``chosen`` whose work this transaction now holds, without waiting,
        and that no lease committed meanwhile is doing."""
        if not chosen:
            return []
        keys = {work_key(self._scope, job): job for job in chosen}
        cur.execute(
            "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_xact_lock(k)",
            (list(keys),),
        )
        held = [keys[int(row[0])] for row in cur.fetchall()]
        if not held:
            return []
        # A fresh statement sees every lease committed before the lock was ours.
        cur.execute(
            f"SELECT tenant_id, kind, work FROM {self._jobs} "  # noqa: S608 (constant)
            "WHERE status = 'leased' AND lease_until > %s AND (tenant_id, kind, work) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
            (
                now,
                [job.tenant_id for job in held],
                [job.kind.value for job in held],
                [job.work for job in held],
            ),
        )
        busy = {(str(r[0]), str(r[1]), str(r[2])) for r in cur.fetchall()}
        order = {job.id: n for n, job in enumerate(chosen)}
        return sorted((j for j in held if j.dedupe_key not in busy), key=lambda j: order[j.id])

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        """Mark the leased job done (LeaseLost if the lease is no longer held); the failed
        jobs of the same work are superseded."""
        now = t.check_now(now)
        with self._db.transaction("complete a job") as cur:
            self._lock_work(cur, job)
            stored = t.proven(self._read(cur, job.id, lock=True), job, now)
            done = t.completed(stored, now=now, invoice_number=invoice_number)
            _check_text(done, encode(done))
            self._write(cur, done)
            for moot in t.settled(self._same_work(cur, done), done, now):
                self._write(cur, moot)
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
        with self._db.transaction("record a job failure") as cur:
            stored = t.proven(self._read(cur, job.id, lock=True), job, now)
            after = t.failed(
                stored,
                now=now,
                error=error,
                error_type=error_type,
                retry_at=retry,
                retryable=retryable,
                invoice_number=invoice_number,
            )
            _check_text(after, encode(after))
            self._write(cur, after)
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
        with self._db.transaction("release a job") as cur:
            stored = t.proven(self._read(cur, job.id, lock=True), job, now)
            after = t.released(
                stored, now=now, run_after=run_after, error=error, error_type=error_type
            )
            _check_text(after, encode(after))
            self._write(cur, after)
        return after

    # --- parking -------------------------------------------------------------------------------

    def park_tenant(self, tenant_id: str, until: datetime) -> datetime:
        """Lease none of the tenant's jobs before ``until`` (a park is never shortened)."""
        check_keys("tenant park", tenant_id=tenant_id)
        until = t.check_now(until, "tenant park", "until")
        with self._db.transaction("park a tenant") as cur:
            cur.execute(
                f"INSERT INTO {self._parks} AS p (tenant_id, park_until) "  # noqa: S608
                "VALUES (%s, %s) ON CONFLICT (tenant_id) DO UPDATE "
                "SET park_until = GREATEST(p.park_until, excluded.park_until) "
                "RETURNING park_until",
                (tenant_id, until),
            )
            row = cur.fetchone()
        assert row is not None
        return to_utc(row[0])

    def unpark_tenant(self, tenant_id: str) -> None:
        """Lift the tenant's park."""
        check_keys("tenant park", tenant_id=tenant_id)
        with self._db.transaction("unpark a tenant") as cur:
            cur.execute(f"DELETE FROM {self._parks} WHERE tenant_id = %s", (tenant_id,))  # noqa: S608

    def parked_until(self, tenant_id: str, *, now: datetime) -> datetime | None:
        """When the tenant's park ends, or ``None`` if it is not parked at ``now``."""
        check_keys("tenant park", tenant_id=tenant_id)
        now = t.check_now(now)
        with self._db.transaction("read a tenant park") as cur:
            cur.execute(
                f"SELECT park_until FROM {self._parks} "  # noqa: S608 (constant)
                "WHERE tenant_id = %s AND park_until > %s",
                (tenant_id, now),
            )
            row = cur.fetchone()
        return None if row is None else to_utc(row[0])

    # --- operator actions ------------------------------------------------------------------------

    def retry_now(self, job_id: str, *, now: datetime) -> Job | None:
        """Run a failed, cancelled or waiting job now, with a fresh attempt budget."""
        check_keys("job retry", job_id=job_id)
        return self._change(job_id, t.retried, now, "retry a job")

    def retry_failed(self, *, now: datetime, tenant_id: str | None = None) -> list[Job]:
        """Retry every failed job (of one tenant when given), in one transaction; the work
        locks are taken in key order, so two of these at once can't deadlock."""
        now = t.check_now(now)
        where, args = "status = 'failed'", []
        if tenant_id is not None:
            where += " AND tenant_id = %s"
            args.append(tenant_id)
        result = []
        with self._db.transaction("retry failed jobs") as cur:
            cur.execute(f"{self._select} WHERE {where} ORDER BY created_at, id", args)
            found = [self._decode(row) for row in cur.fetchall()]
            for key in sorted({work_key(self._scope, job) for job in found}):
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
            for job in found:
                current = self._read(cur, job.id, lock=True)
                if current is None or current.status is not JobStatus.FAILED:
                    continue  # changed before the lock was ours: no longer this call's
                after = t.retried(current, now)
                if after is not current:
                    self._write(cur, after)
                result.append(after)
        return result

    def cancel(self, job_id: str, *, now: datetime) -> Job | None:
        """Cancel a pending, leased or failed job."""
        check_keys("job cancel", job_id=job_id)
        return self._change(job_id, t.cancelled, now, "cancel a job")

    def purge(self, *, finished_before: datetime) -> int:
        """Delete done, cancelled and superseded jobs last changed before ``finished_before``."""
        before = t.check_now(finished_before, "job purge", "finished_before")
        with self._db.transaction("purge jobs") as cur:
            cur.execute(
                f"DELETE FROM {self._jobs} "  # noqa: S608 (constant)
                "WHERE status IN ('done', 'cancelled', 'superseded') AND updated_at < %s",
                (before,),
            )
            return int(cur.rowcount)

    def _change(
        self, job_id: str, change: Callable[[Job, datetime], Job], now: datetime, doing: str
    ) -> Job | None:
        now = t.check_now(now)
        with self._db.transaction(doing) as cur:
            job = self._read(cur, job_id)
            if job is None:
                return None
            self._lock_work(cur, job)  # a job's work never changes: this read is enough
            job = self._read(cur, job_id, lock=True)
            if job is None:
                return None
            after = change(job, now)
            if after is not job:
                self._write(cur, after)
            return after

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's own connections (a host's pool stays open); further use raises
        StorageError. Idempotent."""
        self._db.close()

    # --- plumbing ------------------------------------------------------------------------------

    def _lock_work(self, cur: Cursor, job: Job) -> None:
        """Wait for, and hold to the end of the transaction, the lock on ``job``'s work."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (work_key(self._scope, job),))

    def _read(self, cur: Cursor, job_id: str, *, lock: bool = False) -> Job | None:
        cur.execute(f"{self._select} WHERE id = %s{' FOR UPDATE' if lock else ''}", (job_id,))
        row = cur.fetchone()
        return None if row is None else self._decode(row)

    def _write(self, cur: Cursor, job: Job) -> None:
        """Store ``job``, a change of the stored version ``job.version - 1``."""
        cur.execute(self._update, {**encode(job), "expected": job.version - 1})
        if cur.rowcount != 1:
            raise StorageError(
                f"{self._db.location}: job {job.id} changed while it was being written "
                "(another process wrote it without its lock); retry"
            )

    def _decode(self, row: Sequence[Any]) -> Job:
        try:
            return decode(row)
        except (ValueError, TypeError) as exc:
            raise StorageError(
                f"{self._db.location}: a stored job can't be read ({exc}); the row {row[0]!r} "
                "was changed outside bms_xero: fix or delete it"
            ) from exc


def _check_text(job: Job, row: dict[str, object]) -> None:
    bad = text_problems(row)
    if bad:
        raise StorageValueError(
            what=f"job {job.id!r}",
            problems=[
                FieldProblem(name, "contains a NUL character, which PostgreSQL text can't hold")
                for name in bad
            ],
        )

