"""The ports of background jobs: where jobs live, where invoices come from, who syncs them.

- :class:`JobStore`: durable jobs (enqueue, lease with expiry, complete, fail, list, retry,
  cancel) and day-limit parking per tenant. ``MemoryJobStore`` and ``SQLiteJobStore``
  implement it; :mod:`bms_xero.jobs.contract` checks a host's own implementation.
- :class:`InvoiceSource`: the host's BMS, asked for an invoice as it is when the job runs.
- :class:`CustomerSource`: the host's customers, for ``link_customer`` jobs (optional).
- :class:`TenantSync`: what the worker needs from a ``SyncEngine`` (one per tenant).

Every method that changes a job takes ``now`` (aware): a store has no clock of its own, so the
worker's clock (a ``FakeClock`` in tests) decides what is due and when leases run out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bms_xero.jobs._records import Job, JobKind, JobStatus

if TYPE_CHECKING:
    from bms_xero.domain import Customer, Invoice
    from bms_xero.engine._results import PaymentUpdate, PushOutcome

__all__ = ["CustomerSource", "InvoiceSource", "JobStore", "TenantSync"]


@runtime_checkable
class JobStore(Protocol):
    """Background jobs and tenant parking; ``docs/jobs.md`` spells out each rule."""

    def enqueue_push(
        self,
        tenant_id: str,
        invoice_id: str,
        *,
        now: datetime,
        invoice_number: str | None = None,
        queue: str = "default",
    ) -> Job:
        """Queue a push of this invoice, due now, on ``queue``.

        One live job per work (tenant, kind, invoice): if a push of the same invoice is
        already waiting (pending, or leased by a worker whose lease ran out), that job is
        returned instead (with ``invoice_number`` updated when given), so releasing an
        invoice twice leaves one waiting job. Otherwise, if one failed, the newest failed
        job is made to run now (attempts back to 0, on ``queue``) rather than listing a
        second job beside it; any older failed ones become ``SUPERSEDED``. A job that is
        leased and running does not count: the new job pushes the invoice as it is after
        the change.
        """
        ...

    def enqueue_pull(
        self,
        tenant_id: str,
        *,
        now: datetime,
        invoice_id: str | None = None,
        invoice_number: str | None = None,
        queue: str = "default",
    ) -> Job:
        """Queue a full pull (``invoice_id=None``) or a refresh of one invoice, due now.

        Deduplicated like :meth:`enqueue_push`: one live full pull per tenant, one live
        refresh per invoice.
        """
        ...

    def enqueue_link_customer(
        self, tenant_id: str, customer_id: str, *, now: datetime, queue: str = "default"
    ) -> Job:
        """Queue linking this BMS customer to its Xero contact, due now; deduplicated like
        :meth:`enqueue_push` (one live job per customer)."""
        ...

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``."""
        ...

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
        """Take up to ``limit`` due jobs for ``worker_id`` until ``now + lease_seconds``.

        Due means pending with ``run_after <= now``, or leased with a lease that ran out (its
        worker died). Only jobs of ``tenant_ids``, ``kinds`` and ``queues`` when given (an
        empty collection leases nothing). Jobs of parked tenants are left alone. Never hands
        out two jobs that do the same work (same tenant, kind and invoice or customer) while
        one of them is leased, whatever its queue. Oldest
        ``run_after`` first. Each leased job's ``attempts`` goes up by one. Atomic: two
        workers never lease the same job.
        """
        ...

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        """Mark the leased ``job`` (as returned by :meth:`lease`) done, clearing the error of
        an earlier attempt; failed jobs of the same work become ``SUPERSEDED``.

        Raises:
            LeaseLost: The lease ran out, or the job changed since it was leased.
        """
        ...

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
        """Record a failure of the leased ``job``.

        With ``retry_at`` the job goes back to pending and runs again from then; with
        ``None`` it fails for good. ``retryable`` defaults to ``retry_at is not None``.

        Raises:
            LeaseLost: The lease ran out, or the job changed since it was leased.
        """
        ...

    def release(
        self,
        job: Job,
        *,
        now: datetime,
        run_after: datetime,
        error: str | None = None,
        error_type: str | None = None,
    ) -> Job:
        """Put the leased ``job`` back to pending without counting the attempt (a day-limit
        park is not the job's fault), noting ``error`` when given.

        Raises:
            LeaseLost: The lease ran out, or the job changed since it was leased.
        """
        ...

    def park_tenant(self, tenant_id: str, until: datetime) -> datetime:
        """Lease none of the tenant's jobs before ``until``; never shortens an existing park.
        Returns when the park ends."""
        ...

    def unpark_tenant(self, tenant_id: str) -> None:
        """Lift the tenant's park at once."""
        ...

    def parked_until(self, tenant_id: str, *, now: datetime) -> datetime | None:
        """When the tenant's park ends, or ``None`` when it is not parked at ``now``."""
        ...

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
        """Jobs matching every filter given, newest first (``created_at``, then ``id``).

        ``created_after`` is inclusive, ``created_before`` exclusive; an empty collection of
        statuses or kinds matches nothing.
        """
        ...

    def retry_now(self, job_id: str, *, now: datetime) -> Job | None:
        """Make a failed, cancelled or waiting job run now with a fresh attempt budget.

        A job that is done or leased (lease not run out) is returned unchanged; ``None`` when
        there is no such job. The last error stays visible until the job runs.
        """
        ...

    def retry_failed(self, *, now: datetime, tenant_id: str | None = None) -> list[Job]:
        """:meth:`retry_now` for every failed job (of one tenant when given)."""
        ...

    def cancel(self, job_id: str, *, now: datetime) -> Job | None:
        """Cancel a pending, leased or failed job (a worker holding it then gets LeaseLost).

        A done or cancelled job is returned unchanged; ``None`` when there is no such job.
        """
        ...

    def purge(self, *, finished_before: datetime) -> int:
        """Delete done, cancelled and superseded jobs last changed before
        ``finished_before``; returns how many. Failed jobs are kept for the operator."""
        ...


@runtime_checkable
class InvoiceSource(Protocol):
    """The host's BMS: the invoice as it is now, loaded when its push job runs."""

    def get(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        """The invoice, or ``None`` when it no longer exists (the job then fails for good)."""
        ...


@runtime_checkable
class CustomerSource(Protocol):
    """The host's BMS customers, loaded when a ``link_customer`` job runs."""

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        """The customer as it is now, or ``None`` when it no longer exists."""
        ...


class TenantSync(Protocol):
    """What a worker needs from a :class:`~bms_xero.engine.SyncEngine` (one per tenant)."""

    @property
    def tenant_id(self) -> str:
        """The Xero organisation the engine syncs."""
        ...

    def push_many(self, invoices: Iterable[Invoice]) -> list[PushOutcome]:
        """Push invoices; one outcome per invoice, in order."""
        ...

    def pull(self) -> list[PaymentUpdate]:
        """Pull changes since the last pull."""
        ...

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """Refresh these BMS invoices from Xero now."""
        ...

    def link_customer(self, customer: Customer) -> Customer:
        """Link the customer to its Xero contact (found or created); returns it linked."""
        ...
