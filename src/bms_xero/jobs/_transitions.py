"""How a job moves between statuses, as pure functions both built-in stores apply.

A store's only jobs are to read and write atomically; every rule (what is due, what a lease
proves, what a retry resets) lives here once, so the memory and SQLite stores can't drift.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TypeVar

import attrs

from bms_xero.errors import FieldProblem, LeaseLost, StorageValueError
from bms_xero.jobs._records import DEFAULT_QUEUE, FINISHED, Job, JobKind, JobStatus
from bms_xero.storage._checks import datetime_problem, key_problems, to_utc

__all__ = [
    "Enqueue",
    "cancelled",
    "check_enqueue",
    "check_lease_args",
    "check_list_args",
    "check_now",
    "completed",
    "enqueue",
    "failed",
    "in_queues",
    "leased",
    "new_job",
    "pick",
    "proven",
    "released",
    "retried",
    "settled",
    "superseded",
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
    tenant_id: object,
    invoice_id: object,
    invoice_number: object,
    *,
    kind: JobKind,
    queue: object = DEFAULT_QUEUE,
    customer_id: object = None,
) -> None:
    """Raise StorageValueError listing every bad enqueue argument."""
    problems = key_problems(tenant_id=tenant_id, queue=queue)
    if kind is JobKind.LINK_CUSTOMER:
        problems += key_problems(customer_id=customer_id)
    elif kind is not JobKind.PULL:
        problems += key_problems(invoice_id=invoice_id)
    if invoice_number is not None and (not isinstance(invoice_number, str) or not invoice_number):
        problems.append(FieldProblem("invoice_number", "must be a non-empty string or None"))
    if problems:
        raise StorageValueError(what=f"{kind.value} job", problems=problems)


def check_lease_args(
    worker_id: object, lease_seconds: object, limit: object, queues: object = None
) -> None:
    """Raise StorageValueError listing every bad lease argument."""
    problems = key_problems(worker_id=worker_id)
    if queues is not None and (
        isinstance(queues, str)
        or not isinstance(queues, Collection)
        or any(not isinstance(q, str) or not q for q in queues)
    ):
        problems.append(
            FieldProblem("queues", "must be a collection of queue names, e.g. ['default']")
        )
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


@attrs.frozen
class Scope:
    """Which jobs a lease or a list may touch, its arguments checked once for every store.

    ``None`` means any; an empty collection means none (then :attr:`empty`, and the store
    answers ``[]`` without reading anything). Tenants and queues come sorted, so a store
    can bind them as they are.
    """

    tenants: tuple[str, ...] | None = None
    kinds: frozenset[JobKind] | None = None
    queues: tuple[str, ...] | None = None
    statuses: frozenset[JobStatus] | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    @property
    def empty(self) -> bool:
        """Whether no job can match."""
        return any(
            part is not None and not part
            for part in (self.tenants, self.kinds, self.queues, self.statuses)
        )


def lease_scope(
    tenant_ids: Collection[str] | None,
    kinds: Collection[JobKind] | None,
    queues: Collection[str] | None,
) -> Scope:
    """The jobs a lease may take (its other arguments are checked by check_lease_args)."""
    return Scope(
        tenants=None if tenant_ids is None else tuple(sorted(set(tenant_ids))),
        kinds=enum_set(kinds, JobKind, "kinds"),
        queues=None if queues is None else tuple(sorted(set(queues))),
    )


def list_scope(
    limit: object,
    *,
    statuses: Collection[JobStatus] | None,
    kinds: Collection[JobKind] | None,
    created_after: object,
    created_before: object,
) -> Scope:
    """The jobs a list may return, every filter checked (StorageValueError otherwise)."""
    times = check_list_args(limit, created_after=created_after, created_before=created_before)
    return Scope(
        kinds=enum_set(kinds, JobKind, "kinds"),
        statuses=enum_set(statuses, JobStatus, "statuses"),
        created_after=times["created_after"],
        created_before=times["created_before"],
    )


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
    customer_id: str | None = None,
    queue: str = DEFAULT_QUEUE,
) -> Job:
    """A fresh pending job, due now."""
    return Job(
        id=job_id,
        tenant_id=tenant_id,
        kind=kind,
        invoice_id=invoice_id,
        customer_id=customer_id,
        invoice_number=invoice_number,
        status=JobStatus.PENDING,
        run_after=now,
        created_at=now,
        updated_at=now,
        version=1,
        queue=queue,
    )


@attrs.frozen
class Enqueue:
    """What enqueueing some work does, given the jobs that already do the same work.

    Attributes:
        job: The job the enqueue returns: one already waiting, a failed one made to run
            again, or ``None`` when a new job must be created.
        writes: The jobs to write back, changed (``job`` among them when it changed).
    """

    job: Job | None
    writes: tuple[Job, ...]


def enqueue(
    same_work: Iterable[Job], *, now: datetime, invoice_number: str | None, queue: str
) -> Enqueue:
    """One live job per work: the enqueue of work that is already queued, or that failed.

    ``same_work`` is every job with the enqueued work's ``dedupe_key`` that is pending,
    leased or failed. Waiting work (pending, or leased with a lease run out) is returned as it
    is, its number refreshed. Otherwise the newest failed job is made to run now with a fresh
    attempt budget (on the queue asked for): queueing an invoice again after fixing it must not
    leave its old failure listed beside the new attempt. Every other failed job of the work is
    superseded. A job that is running (lease held) is neither: the new attempt must push the
    invoice as it is after the change, so a new job is created beside it.
    """
    ordered = sorted(same_work, key=lambda j: (j.created_at, j.id))
    failed_jobs = [j for j in ordered if j.status is JobStatus.FAILED]
    kept = next((j for j in ordered if waiting(j, now)), None)
    if kept is not None:
        job = renamed(kept, invoice_number, now)
        others = failed_jobs
    elif failed_jobs:
        newest = failed_jobs[-1]
        job = _bump(
            newest,
            now,
            status=JobStatus.PENDING,
            run_after=now,
            lease_until=None,
            attempts=0,
            queue=queue,
            invoice_number=invoice_number or newest.invoice_number,
        )
        others = failed_jobs[:-1]
    else:
        return Enqueue(None, tuple(superseded(j, now) for j in failed_jobs))
    writes = [superseded(j, now) for j in others]
    if job is not kept:
        writes.append(job)
    return Enqueue(job, tuple(writes))


def superseded(job: Job, now: datetime) -> Job:
    """The failed job, replaced by newer work for the same invoice and kind."""
    return _bump(job, now, status=JobStatus.SUPERSEDED, lease_until=None)


def settled(same_work: Iterable[Job], done: Job, now: datetime) -> list[Job]:
    """The jobs ``done``'s success supersedes: the failed jobs of the same work."""
    return [
        superseded(j, now)
        for j in same_work
        if j.id != done.id and j.status is JobStatus.FAILED and j.dedupe_key == done.dedupe_key
    ]


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
    """The leased job, done: an error from an earlier attempt no longer applies."""
    return _bump(
        job,
        now,
        status=JobStatus.DONE,
        lease_until=None,
        last_error=None,
        error_type=None,
        retryable=None,
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
    """The job made to run now with a fresh attempt budget (unchanged if done, superseded
    by newer work, or running)."""
    if job.status in (JobStatus.DONE, JobStatus.SUPERSEDED) or job.is_leased(now):
        return job
    return _bump(job, now, status=JobStatus.PENDING, run_after=now, lease_until=None, attempts=0)


def cancelled(job: Job, now: datetime) -> Job:
    """The job cancelled (unchanged if done, superseded or already cancelled)."""
    if job.status in (JobStatus.DONE, JobStatus.CANCELLED, JobStatus.SUPERSEDED):
        return job
    return _bump(job, now, status=JobStatus.CANCELLED, lease_until=None)


def purgeable(job: Job, before: datetime) -> bool:
    """Whether ``purge(finished_before=before)`` deletes the job."""
    return job.status in FINISHED - {JobStatus.FAILED} and job.updated_at < before


def in_queues(job: Job, queues: Collection[str] | None) -> bool:
    """Whether a worker taking ``queues`` (``None``: every queue) may take the job."""
    return queues is None or job.queue in queues


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
