"""Background jobs as values: :class:`Job`, its :class:`JobKind` and :class:`JobStatus`.

Pure values, no I/O. A job validates itself when built (keys are non-empty strings, every
datetime is timezone-aware and normalised to UTC), so every store reads back exactly what was
written, and the Background Jobs list can name the invoice of each job before it first runs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from bms_xero.errors import FieldProblem, StorageValueError
from bms_xero.storage._checks import aware_utc, datetime_problem, key_problems, member

__all__ = ["Job", "JobKind", "JobStatus"]


class JobKind(enum.StrEnum):
    """What a job does."""

    #: Push one BMS invoice (``invoice_id``) to Xero, as it is when the job runs.
    PUSH = "push"
    #: Pull every payment and status change since the last pull (the periodic pull).
    PULL = "pull"
    #: Refresh one linked invoice (``invoice_id``) from Xero now (a webhook said it changed).
    PULL_INVOICES = "pull_invoices"
    #: Link one BMS customer (``customer_id``) to its Xero contact: found by ContactNumber,
    #: then by name, else created (``SyncEngine.link_customer``).
    LINK_CUSTOMER = "link_customer"


class JobStatus(enum.StrEnum):
    """Where a job stands."""

    #: Waiting to run once ``run_after`` has passed (new, or retrying after a failure).
    PENDING = "pending"
    #: A worker holds it until ``lease_until``; after that any worker may take it over.
    LEASED = "leased"
    #: Finished.
    DONE = "done"
    #: Failed for good (``last_error`` says why); an operator may retry it.
    FAILED = "failed"
    #: Cancelled by an operator.
    CANCELLED = "cancelled"
    #: Failed, then replaced by newer work for the same invoice (or customer) and kind: the
    #: same work queued again or done since. It never runs again and is not listed as
    #: failed, so a fixed invoice never shows an old error.
    SUPERSEDED = "superseded"


#: Statuses a job never leaves on its own.
FINISHED = frozenset(
    {JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.SUPERSEDED}
)

#: The queue a job goes to, and a worker takes from, unless told otherwise.
DEFAULT_QUEUE = "default"

_DATETIMES = ("run_after", "lease_until", "created_at", "updated_at")
_OPTIONAL_TEXT = (
    "invoice_id",
    "customer_id",
    "invoice_number",
    "leased_by",
    "last_error",
    "error_type",
)


_BAD_KIND = FieldProblem("kind", f"must be one of {', '.join(k.value for k in JobKind)}")
_BAD_STATUS = FieldProblem("status", f"must be one of {', '.join(s.value for s in JobStatus)}")


def _kind(value: JobKind | str) -> JobKind:
    """Accept a member or its value (``"push"``).

    The job has already refused anything else, with its path and its other problems (see
    ``__attrs_pre_init__``); this raises rather than let a bad value through.
    """
    kind = member(JobKind, value)
    if kind is None:
        raise StorageValueError(what="a job", problems=[_BAD_KIND])
    return kind


def _status(value: JobStatus | str) -> JobStatus:
    """Accept a member or its value (``"failed"``); like ``_kind``, never a bad value."""
    status = member(JobStatus, value)
    if status is None:
        raise StorageValueError(what="a job", problems=[_BAD_STATUS])
    return status


def _utc(value: datetime) -> datetime:
    """A required datetime, in UTC (``aware_utc`` raises for anything else)."""
    utc = aware_utc(value)
    if utc is None:
        raise StorageValueError(
            what="a job", problems=[FieldProblem("", "must be a datetime, not NoneType")]
        )
    return utc


@attrs.frozen(kw_only=True)
class Job:
    """One background job: push an invoice, pull payments, refresh one invoice, or link a
    customer.

    Stores create jobs (``enqueue_push``, ``enqueue_pull``) and move them between statuses;
    hosts read them to show a "Background Jobs" list. ``version`` changes on every write, and
    a worker's lease is only good for the version it was handed.

    Attributes:
        id: The job's id (unique in its store).
        tenant_id: The Xero organisation the job is for.
        kind: What the job does.
        invoice_id: The BMS invoice (for ``push`` and ``pull_invoices``; ``None`` otherwise).
        customer_id: The BMS customer (for ``link_customer`` only).
        invoice_number: The invoice's number when known, so the job can be named before it
            runs; refreshed from the invoice each time the job runs.
        status: Where the job stands.
        attempts: How many times a worker has taken the job (a day-limit park gives its
            attempt back; an operator's retry starts again from 0).
        run_after: The job is not run before this time.
        leased_by: The worker holding (or that last held) the lease.
        lease_until: When the lease runs out.
        last_error: The last failure, naming the invoice and quoting Xero.
        error_type: The class name of the last failure (e.g. ``"XeroValidationError"``).
        retryable: Whether the last failure was expected to pass on retry.
        created_at: When the job was enqueued.
        updated_at: When the job last changed.
        version: Set by the store: 1 on enqueue, +1 on every change.
        queue: Which workers may take it: a worker leases only the queues it was given
            (``"default"`` unless told otherwise), so a process never takes another's work.
    """

    id: str
    tenant_id: str
    kind: JobKind = attrs.field(converter=_kind)
    invoice_id: str | None = None
    invoice_number: str | None = None
    status: JobStatus = attrs.field(default=JobStatus.PENDING, converter=_status)
    attempts: int = 0
    run_after: datetime = attrs.field(converter=_utc)
    leased_by: str | None = None
    lease_until: datetime | None = attrs.field(default=None, converter=aware_utc)
    last_error: str | None = None
    error_type: str | None = None
    retryable: bool | None = None
    created_at: datetime = attrs.field(converter=_utc)
    updated_at: datetime = attrs.field(converter=_utc)
    version: int = 1
    customer_id: str | None = None
    queue: str = DEFAULT_QUEUE

    @property
    def subject(self) -> str:
        """What the job is about, for people: ``"invoice INV-0001"`` or ``"payments"``."""
        if self.kind is JobKind.PULL:
            return "payments"
        if self.kind is JobKind.LINK_CUSTOMER:
            return f"customer {self.customer_id}"
        if self.invoice_number:
            return f"invoice {self.invoice_number}"
        return f"invoice id {self.invoice_id}"

    @property
    def description(self) -> str:
        """One line for a Background Jobs list, e.g. ``"Push invoice INV-0001 to Xero"``."""
        if self.kind is JobKind.PUSH:
            return f"Push {self.subject} to Xero"
        if self.kind is JobKind.PULL_INVOICES:
            return f"Refresh {self.subject} from Xero"
        if self.kind is JobKind.LINK_CUSTOMER:
            return f"Link {self.subject} to Xero"
        return "Pull payments from Xero"

    @property
    def needs_reconnect(self) -> bool:
        """Whether the job failed because the Xero connection is gone: show "reconnect to
        Xero" and retry it once a person has connected again.

        .. versionadded:: Unreleased
        """
        return self.status is JobStatus.FAILED and self.error_type == "ReauthorizationRequired"

    @property
    def work(self) -> str:
        """The invoice or customer the job is about (``""`` for a full pull)."""
        return self.invoice_id or self.customer_id or ""

    @property
    def dedupe_key(self) -> tuple[str, str, str]:
        """Jobs with the same key do the same work: at most one runs at a time, and at most
        one is live (waiting, running or failed) per key."""
        return (self.tenant_id, self.kind.value, self.work)

    def is_leased(self, now: datetime) -> bool:
        """Whether a worker holds a lease that has not run out at ``now``."""
        return (
            self.status is JobStatus.LEASED
            and self.lease_until is not None
            and self.lease_until > now
        )

    def is_due(self, now: datetime) -> bool:
        """Whether a worker may take the job at ``now`` (tenant parking aside): pending and
        due, or leased by a worker whose lease has run out."""
        if self.status is JobStatus.PENDING:
            return self.run_after <= now
        return self.status is JobStatus.LEASED and not self.is_leased(now)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this job: nothing, since it checked itself when built."""
        return _problems(attrs.asdict(self, recurse=False))

    def __attrs_pre_init__(self, **values: Any) -> None:
        """Check every raw value before any converter runs, so one error lists them all and
        no field is ever set to a value the job would refuse."""
        problems = _problems(values)
        if problems:
            raise StorageValueError(what=f"job {values['id']!r}", problems=problems)

    def evolve(self, **changes: Any) -> Job:
        """A copy with ``changes`` applied (validated like a new job)."""
        return attrs.evolve(self, **changes)


def _problems(values: Mapping[str, Any]) -> list[FieldProblem]:
    """Everything wrong with a job's raw values (empty when it can be stored)."""
    found = key_problems(id=values["id"], tenant_id=values["tenant_id"], queue=values["queue"])
    kind = member(JobKind, values["kind"])
    invoice_id = values["invoice_id"]
    customer_id = values["customer_id"]
    if kind is None:
        found.append(_BAD_KIND)
    elif kind is JobKind.PULL:
        if invoice_id is not None:
            found.append(FieldProblem("invoice_id", "must be None for a full pull"))
    elif kind is JobKind.LINK_CUSTOMER:
        if invoice_id is not None:
            found.append(FieldProblem("invoice_id", "must be None for a link_customer job"))
        if not isinstance(customer_id, str) or not customer_id:
            found.append(
                FieldProblem("customer_id", "a link_customer job needs the BMS customer id")
            )
    elif not isinstance(invoice_id, str) or not invoice_id:
        found.append(FieldProblem("invoice_id", f"a {kind.value} job needs the BMS invoice id"))
    if kind not in (None, JobKind.LINK_CUSTOMER) and customer_id is not None:
        found.append(FieldProblem("customer_id", f"must be None for a {kind.value} job"))
    if member(JobStatus, values["status"]) is None:
        found.append(_BAD_STATUS)
    for name in ("attempts", "version"):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            found.append(FieldProblem(name, "must be a whole number >= 0"))
    for name in _OPTIONAL_TEXT:
        value = values[name]
        if value is not None and not isinstance(value, str):
            found.append(
                FieldProblem(name, f"must be a string or None, not {type(value).__name__}")
            )
    retryable = values["retryable"]
    if retryable is not None and not isinstance(retryable, bool):
        found.append(FieldProblem("retryable", "must be True, False or None"))
    for name in _DATETIMES:
        value = values[name]
        if value is None and name == "lease_until":
            continue
        problem = datetime_problem(name, value)
        if problem is not None:
            found.append(problem)
    return found


#: Every field of a job, in declaration order: the column order of the SQL job stores.
JOB_FIELDS: tuple[str, ...] = tuple(field.name for field in attrs.fields(Job))
