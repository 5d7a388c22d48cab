"""How a job moves between statuses, as pure functions both built-in stores apply.

A store's only jobs are to read and write atomically; every rule (what is due, what a lease
proves, what a retry resets) lives here once, so the memory and SQLite stores can't drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

from bms_xero.errors import FieldProblem, LeaseLost, StorageValueError
from bms_xero.jobs._records import FINISHED, Job, JobKind, JobStatus
from bms_xero.storage._checks import datetime_problem, key_problems, to_utc

__all__ = [
    "cancelled",
    "check_enqueue",
    "check_lease_args",
    "check_list_args",
    "check_now",
    "completed",
    "failed",
    "leased",
    "new_job",
    "pick",
    "proven",
    "released",
    "retried",
    "waiting",
]


def check_now(now: object, what: str = "job store call", name: str = "now") -> datetime:
    """``now`` in UTC, or StorageValueError when it is not an aware datetime."""
    problem = datetime_problem(name, now)
    if problem is not None:
        raise StorageValueError(what=what, problems=[problem])
    assert isinstance(now, datetime)
    return to_utc(now)


def check_enqueue(
    tenant_id: object, invoice_id: object, invoice_number: object, *, kind: JobKind
) -> None:
    """Raise StorageValueError listing every bad enqueue argument."""
    problems = key_problems(tenant_id=tenant_id)
    if kind is not JobKind.PULL:
        problems += key_problems(invoice_id=invoice_id)
    if invoice_number is not None and (not isinstance(invoice_number, str) or not invoice_number):
        problems.append(FieldProblem("invoice_number", "must be a non-empty string or None"))
    if problems:
        raise StorageValueError(what=f"{kind.value} job", problems=problems)


def check_lease_args(worker_id: object, lease_seconds: object, limit: object) -> None:
    """Raise StorageValueError listing every bad lease argument."""
    problems = key_problems(worker_id=worker_id)
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, int | float)
        or not lease_seconds > 0
        or lease_seconds == float("inf")
    ):
        problems.append(FieldProblem("lease_seconds", "must be a number of seconds > 0"))
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(FieldProblem("limit", "must be a whole number >= 1"))
    if problems:
        raise StorageValueError(what="job lease", problems=problems)


def check_list_args(limit: object, **datetimes: object) -> dict[str, datetime | None]:
    """Validate list filters; returns the datetimes in UTC."""
    problems: list[FieldProblem] = []
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        problems.append(FieldProblem("limit", "must be a whole number >= 1"))
    found: dict[str, datetime | None] = {}
    for name, value in datetimes.items():
        problem = None if value is None else datetime_problem(name, value)
        if problem is not None:
            problems.append(problem)
        found[name] = to_utc(value) if isinstance(value, datetime) and problem is None else None
    if problems:
        raise StorageValueError(what="job list", problems=problems)
    return found


def new_job(
    job_id: str,
    tenant_id: str,
    kind: JobKind,
    *,
    invoice_id: str | None,
    invoice_number: str | None,
    now: datetime,
) -> Job:
    """A fresh pending job, due now."""
    return Job(
        id=job_id,
        tenant_id=tenant_id,
        kind=kind,
        invoice_id=invoice_id,
        invoice_number=invoice_number,
        status=JobStatus.PENDING,
        run_after=now,
        created_at=now,
        updated_at=now,
        version=1,
    )


def waiting(job: Job, now: datetime) -> bool:
    """Whether the job will still run without anyone asking: pending, or leased by a worker
    whose lease ran out (it can no longer record an outcome, so the job runs again)."""
    return job.status is JobStatus.PENDING or (
        job.status is JobStatus.LEASED and not job.is_leased(now)
    )


def _bump(job: Job, now: datetime, **changes: object) -> Job:
    return job.evolve(updated_at=now, version=job.version + 1, **changes)


def renamed(job: Job, invoice_number: str | None, now: datetime) -> Job:
    """The job with ``invoice_number`` recorded (unchanged when it already says that)."""
    if invoice_number is None or invoice_number == job.invoice_number:
        return job
    return _bump(job, now, invoice_number=invoice_number)


def pick(
    candidates: Iterable[Job],
    *,
    now: datetime,
    limit: int,
    busy: Collection[tuple[str, str, str]],
    parked: Collection[str],
) -> list[Job]:
    """The jobs to lease, in the order given: due, tenant not parked, and no two doing the
    same work (``busy`` holds the work of jobs leased right now)."""
    taken: set[tuple[str, str, str]] = set(busy)
    chosen: list[Job] = []
    for job in candidates:
        if len(chosen) >= limit:
            break
        if not job.is_due(now) or job.tenant_id in parked or job.dedupe_key in taken:
            continue
        taken.add(job.dedupe_key)
        chosen.append(job)
    return chosen


def candidate_order(job: Job) -> tuple[datetime, datetime, str]:
    """The order leases take due jobs in: oldest ``run_after`` first."""
    return (job.run_after, job.created_at, job.id)


def leased(job: Job, *, worker_id: str, now: datetime, lease_seconds: float) -> Job:
    """The job leased to ``worker_id``, counting one more attempt."""
    return _bump(
        job,
        now,
        status=JobStatus.LEASED,
        leased_by=worker_id,
        lease_until=now + timedelta(seconds=lease_seconds),
        attempts=job.attempts + 1,
    )


def proven(stored: Job | None, held: Job, now: datetime) -> Job:
    """The stored job, if ``held`` (as leased) still holds its lease at ``now``.

    Raises:
        LeaseLost: Missing, changed since leased (version), or the lease ran out.
    """
    worker = held.leased_by or "?"
    if stored is None:
        raise LeaseLost(job_id=held.id, worker_id=worker, reason="missing")
    if (
        stored.version != held.version
        or stored.status is not JobStatus.LEASED
        or stored.leased_by != held.leased_by
    ):
        raise LeaseLost(job_id=held.id, worker_id=worker, reason="taken")
    if not stored.is_leased(now):
        raise LeaseLost(job_id=held.id, worker_id=worker, reason="expired")
    return stored


def completed(job: Job, *, now: datetime, invoice_number: str | None) -> Job:
    """The leased job, done."""
    return _bump(
        job,
        now,
        status=JobStatus.DONE,
        lease_until=None,
        invoice_number=invoice_number or job.invoice_number,
    )


def failed(
    job: Job,
    *,
    now: datetime,
    error: str,
    error_type: str,
    retry_at: datetime | None,
    retryable: bool | None,
    invoice_number: str | None,
) -> Job:
    """The leased job after a failure: pending again from ``retry_at``, or failed for good."""
    return _bump(
        job,
        now,
        status=JobStatus.FAILED if retry_at is None else JobStatus.PENDING,
        run_after=job.run_after if retry_at is None else retry_at,
        lease_until=None,
        last_error=error,
        error_type=error_type,
        retryable=(retry_at is not None) if retryable is None else retryable,
        invoice_number=invoice_number or job.invoice_number,
    )


def released(
    job: Job, *, now: datetime, run_after: datetime, error: str | None, error_type: str | None
) -> Job:
    """The leased job back to pending from ``run_after``, its attempt given back."""
    changes: dict[str, object] = {}
    if error is not None:
        changes.update(last_error=error, error_type=error_type, retryable=True)
    return _bump(
        job,
        now,
        status=JobStatus.PENDING,
        run_after=run_after,
        lease_until=None,
        attempts=max(0, job.attempts - 1),
        **changes,
    )


def retried(job: Job, now: datetime) -> Job:
    """The job made to run now with a fresh attempt budget (unchanged if done or running)."""
    if job.status is JobStatus.DONE or job.is_leased(now):
        return job
    return _bump(job, now, status=JobStatus.PENDING, run_after=now, lease_until=None, attempts=0)


def cancelled(job: Job, now: datetime) -> Job:
    """The job cancelled (unchanged if done or already cancelled)."""
    if job.status in (JobStatus.DONE, JobStatus.CANCELLED):
        return job
    return _bump(job, now, status=JobStatus.CANCELLED, lease_until=None)


def purgeable(job: Job, before: datetime) -> bool:
    """Whether ``purge(finished_before=before)`` deletes the job."""
    return job.status in FINISHED - {JobStatus.FAILED} and job.updated_at < before


def matches(
    job: Job,
    *,
    tenant_id: str | None,
    statuses: Collection[JobStatus] | None,
    kinds: Collection[JobKind] | None,
    invoice_id: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
) -> bool:
    """Whether the job passes every list filter given."""
    return (
        (tenant_id is None or job.tenant_id == tenant_id)
        and (statuses is None or job.status in statuses)
        and (kinds is None or job.kind in kinds)
        and (invoice_id is None or job.invoice_id == invoice_id)
        and (created_after is None or job.created_at >= created_after)
        and (created_before is None or job.created_at < created_before)
    )


E = TypeVar("E", JobStatus, JobKind)


def enum_set(values: Collection[E] | None, kind: type[E], name: str) -> frozenset[E] | None:
    """A list filter as a set of members (values like ``"failed"`` accepted), or ``None``."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]  # type: ignore[list-item]  # one value passed bare
    try:
        return frozenset(kind(v) for v in values)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise StorageValueError(
            what="job list", problems=[FieldProblem(name, f"each must be one of {allowed}")]
        ) from None
