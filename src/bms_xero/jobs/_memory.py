"""MemoryJobStore: background jobs in process memory, for tests and single-process hosts.

Also :class:`MemoryInvoiceSource`, an ``InvoiceSource`` over a dict for tests and scripts.

Same semantics as :class:`~bms_xero.jobs._sqlite.SQLiteJobStore` (the contract checks run
against both), minus durability: a process that exits forgets its jobs. Thread-safe: one lock
guards all state, so every call is atomic.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from bms_xero.errors import StorageError
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._base import JobStoreBase
from bms_xero.jobs._records import Job, JobKind, JobStatus
from bms_xero.storage._checks import check_keys

if TYPE_CHECKING:
    from bms_xero.domain import Invoice

__all__ = ["MemoryInvoiceSource", "MemoryJobStore"]

_LIVE = (JobStatus.PENDING, JobStatus.LEASED)


class MemoryJobStore(JobStoreBase):
    """Jobs and tenant parks in memory; implements ``JobStore``.

    Args:
        new_id: Makes job ids (default: random UUIDs); pass a counter for readable tests.
    """

    def __init__(self, *, new_id: Callable[[], str] | None = None) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        # Kept in step with _jobs by _put and _drop, so that an enqueue, a lease and a
        # completion read the jobs they are about, not every job the store ever held.
        self._work: dict[tuple[str, str, str], dict[str, Job]] = {}  # by dedupe_key
        self._live: dict[str, Job] = {}  # pending and leased: what a lease can take
        self._parks: dict[str, datetime] = {}
        self._new_id = new_id or (lambda: str(uuid.uuid4()))
        self._closed = False

    def __repr__(self) -> str:
        return f"MemoryJobStore(jobs={len(self._jobs)})"

    def _put(self, job: Job) -> None:
        """Store ``job`` (new, or a new state of a stored one) and index it."""
        old = self._jobs.get(job.id)
        if old is not None and old.dedupe_key != job.dedupe_key:  # no transition does this
            self._unindex(old)
        self._jobs[job.id] = job
        self._work.setdefault(job.dedupe_key, {})[job.id] = job
        if job.status in _LIVE:
            self._live[job.id] = job
        else:
            self._live.pop(job.id, None)

    def _drop(self, job_id: str) -> None:
        self._unindex(self._jobs.pop(job_id))

    def _unindex(self, job: Job) -> None:
        same = self._work[job.dedupe_key]
        del same[job.id]
        if not same:
            del self._work[job.dedupe_key]
        self._live.pop(job.id, None)

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
        key = (tenant_id, kind.value, invoice_id or customer_id or "")
        with self._lock:
            self._check_open()
            same = [
                job
                for job in self._work.get(key, {}).values()
                if job.status in (JobStatus.PENDING, JobStatus.LEASED, JobStatus.FAILED)
            ]
            plan = t.enqueue(same, now=now, invoice_number=invoice_number, queue=queue)
            for changed in plan.writes:
                self._put(changed)
            if plan.job is not None:
                return plan.job
            job = t.new_job(
                self._fresh_id(),
                tenant_id,
                kind,
                invoice_id=invoice_id,
                customer_id=customer_id,
                invoice_number=invoice_number,
                now=now,
                queue=queue,
            )
            self._put(job)
            return job

    def _fresh_id(self) -> str:
        job_id = self._new_id()
        if job_id in self._jobs:
            raise StorageError(f"new_id() returned {job_id!r} twice; job ids must be unique")
        return job_id

    # --- read --------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``."""
        check_keys("job lookup", job_id=job_id)
        with self._lock:
            self._check_open()
            return self._jobs.get(job_id)

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
        with self._lock:
            self._check_open()
            found = [
                job
                for job in self._jobs.values()
                if t.matches(
                    job,
                    tenant_id=tenant_id,
                    statuses=scope.statuses,
                    kinds=scope.kinds,
                    invoice_id=invoice_id,
                    created_after=scope.created_after,
                    created_before=scope.created_before,
                )
            ]
        found.sort(key=lambda j: (j.created_at, j.id), reverse=True)
        return found[:limit]

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
        """Take up to ``limit`` due jobs for ``worker_id`` (atomically)."""
        t.check_lease_args(worker_id, lease_seconds, limit, queues)
        now = t.check_now(now)
        scope = t.lease_scope(tenant_ids, kinds, queues)
        with self._lock:
            self._check_open()
            parked = {tenant for tenant, until in self._parks.items() if until > now}
            busy = {job.dedupe_key for job in self._live.values() if job.is_leased(now)}
            candidates = sorted(
                (
                    job
                    for job in self._live.values()
                    if (scope.tenants is None or job.tenant_id in scope.tenants)
                    and (scope.kinds is None or job.kind in scope.kinds)
                    and t.in_queues(job, scope.queues)
                ),
                key=t.candidate_order,
            )
            chosen = t.pick(candidates, now=now, limit=limit, busy=busy, parked=parked)
            result = []
            for job in chosen:
                taken = t.leased(job, worker_id=worker_id, now=now, lease_seconds=lease_seconds)
                self._put(taken)
                result.append(taken)
            return result

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        """Mark the leased job done (LeaseLost if the lease is no longer held)."""
        now = t.check_now(now)
        with self._lock:
            self._check_open()
            stored = t.proven(self._jobs.get(job.id), job, now)
            done = t.completed(stored, now=now, invoice_number=invoice_number)
            self._put(done)
            for moot in t.settled(list(self._work[done.dedupe_key].values()), done, now):
                self._put(moot)
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
        with self._lock:
            self._check_open()
            stored = t.proven(self._jobs.get(job.id), job, now)
            after = t.failed(
                stored,
                now=now,
                error=error,
                error_type=error_type,
                retry_at=retry,
                retryable=retryable,
                invoice_number=invoice_number,
            )
            self._put(after)
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
        with self._lock:
            self._check_open()
            stored = t.proven(self._jobs.get(job.id), job, now)
            after = t.released(
                stored, now=now, run_after=run_after, error=error, error_type=error_type
            )
            self._put(after)
            return after

    # --- parking -------------------------------------------------------------------------------

    def park_tenant(self, tenant_id: str, until: datetime) -> datetime:
        """Lease none of the tenant's jobs before ``until`` (a park is never shortened)."""
        check_keys("tenant park", tenant_id=tenant_id)
        until = t.check_now(until, "tenant park", "until")
        with self._lock:
            self._check_open()
            current = self._parks.get(tenant_id)
            if current is None or until > current:
                self._parks[tenant_id] = until
            return self._parks[tenant_id]

    def unpark_tenant(self, tenant_id: str) -> None:
        """Lift the tenant's park."""
        check_keys("tenant park", tenant_id=tenant_id)
        with self._lock:
            self._check_open()
            self._parks.pop(tenant_id, None)

    def parked_until(self, tenant_id: str, *, now: datetime) -> datetime | None:
        """When the tenant's park ends, or ``None`` if it is not parked at ``now``."""
        check_keys("tenant park", tenant_id=tenant_id)
        now = t.check_now(now)
        with self._lock:
            self._check_open()
            until = self._parks.get(tenant_id)
        return until if until is not None and until > now else None

    # --- operator actions ------------------------------------------------------------------------

    def retry_now(self, job_id: str, *, now: datetime) -> Job | None:
        """Run a failed, cancelled or waiting job now, with a fresh attempt budget."""
        check_keys("job retry", job_id=job_id)
        now = t.check_now(now)
        with self._lock:
            self._check_open()
            job = self._jobs.get(job_id)
            if job is None:
                return None
            after = t.retried(job, now)
            self._put(after)
            return after

    def retry_failed(self, *, now: datetime, tenant_id: str | None = None) -> list[Job]:
        """Retry every failed job (of one tenant when given)."""
        now = t.check_now(now)
        with self._lock:
            self._check_open()
            result = []
            for job in list(self._jobs.values()):
                if job.status is JobStatus.FAILED and tenant_id in (None, job.tenant_id):
                    after = t.retried(job, now)
                    self._put(after)
                    result.append(after)
        result.sort(key=lambda j: (j.created_at, j.id))
        return result

    def cancel(self, job_id: str, *, now: datetime) -> Job | None:
        """Cancel a pending, leased or failed job."""
        check_keys("job cancel", job_id=job_id)
        now = t.check_now(now)
        with self._lock:
            self._check_open()
            job = self._jobs.get(job_id)
            if job is None:
                return None
            after = t.cancelled(job, now)
            self._put(after)
            return after

    def purge(self, *, finished_before: datetime) -> int:
        """Delete done and cancelled jobs last changed before ``finished_before``."""
        before = t.check_now(finished_before, "job purge", "finished_before")
        with self._lock:
            self._check_open()
            gone = [job_id for job_id, job in self._jobs.items() if t.purgeable(job, before)]
            for job_id in gone:
                self._drop(job_id)
            return len(gone)

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Further use raises StorageError (as for the SQLite store). Idempotent."""
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this MemoryJobStore is closed; create a new one")


class MemoryInvoiceSource:
    """An ``InvoiceSource`` over a dict, for tests and scripts: ``put`` what the BMS holds.

    Invoices are kept per tenant; one put without a tenant is seen from every tenant.

    Args:
        invoices: Invoices every tenant sees.
    """

    def __init__(self, invoices: Iterable[Invoice] = ()) -> None:
        self._lock = threading.Lock()
        self._invoices: dict[tuple[str | None, str], Invoice] = {}
        for invoice in invoices:
            self.put(invoice)

    def __repr__(self) -> str:
        return f"MemoryInvoiceSource(invoices={len(self._invoices)})"

    def put(self, invoice: Invoice, *, tenant_id: str | None = None) -> None:
        """Add or replace an invoice (seen by every tenant unless ``tenant_id`` is given)."""
        with self._lock:
            self._invoices[(tenant_id, invoice.id)] = invoice

    def delete(self, invoice_id: str, *, tenant_id: str | None = None) -> None:
        """Forget an invoice, as if deleted in the BMS."""
        with self._lock:
            self._invoices.pop((tenant_id, invoice_id), None)

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        """The invoice as it is now, or ``None``."""
        with self._lock:
            found = self._invoices.get((tenant_id, invoice_id))
            return found if found is not None else self._invoices.get((None, invoice_id))
