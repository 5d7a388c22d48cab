"""Contract checks for a ``JobStore``: run them against your own implementation.

Each check takes a store, exercises one behaviour the worker relies on, and raises
``AssertionError`` saying what differed. Checks use fresh random tenant ids and always filter
by them, so the store does not need to be empty. With pytest::

    import pytest
    from bms_xero.jobs.contract import CHECKS, ContractCheck

    @pytest.mark.parametrize("check", CHECKS, ids=str)
    def test_job_store_keeps_the_contract(check: ContractCheck, my_job_store) -> None:
        check(my_job_store)

or, in one call, ``run_contract(make_store)``, which reports every failing check at once.
``MemoryJobStore`` and ``SQLiteJobStore`` are tested with these same checks.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, timezone

from bms_xero._contract import ContractCheck as _Check
from bms_xero._contract import run_checks
from bms_xero.errors import LeaseLost, StorageValueError
from bms_xero.jobs._protocols import JobStore
from bms_xero.jobs._records import Job, JobKind, JobStatus

__all__ = ["CHECKS", "ContractCheck", "run_contract"]


ContractCheck = _Check
"""One behaviour a ``JobStore`` must have (``ContractCheck[JobStore]``)."""


# --- helpers -------------------------------------------------------------------------------

_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_LEASE = 60.0


def _tenant() -> str:
    return f"contract-{uuid.uuid4().hex}"


def _at(seconds: float) -> datetime:
    return _T0 + timedelta(seconds=seconds)


def _expect(expected: object, actual: object, what: str) -> None:
    if expected != actual:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def _lease(
    store: JobStore,
    tenant: str,
    *,
    at: float = 0,
    worker: str = "w1",
    limit: int = 10,
    kinds: Iterable[JobKind] | None = None,
) -> list[Job]:
    return store.lease(
        worker_id=worker,
        now=_at(at),
        lease_seconds=_LEASE,
        limit=limit,
        tenant_ids=[tenant],
        kinds=None if kinds is None else list(kinds),
    )


def _ids(jobs: Iterable[Job]) -> list[str]:
    return [job.id for job in jobs]


def _lost(action: Callable[[], object], reason: str, what: str) -> None:
    try:
        result = action()
    except LeaseLost as lost:
        _expect(reason, lost.reason, f"{what}: LeaseLost.reason")
        return
    raise AssertionError(f"{what}: expected LeaseLost ({reason}), but it returned {result!r}")


def _one(jobs: list[Job], what: str) -> Job:
    if len(jobs) != 1:
        raise AssertionError(f"{what}: expected one job, got {len(jobs)}: {jobs!r}")
    return jobs[0]


# --- enqueue ---------------------------------------------------------------------------------


def enqueue_creates_a_pending_job(store: JobStore) -> None:
    """enqueue_push returns a pending, due job at version 1 that get() reads back equal."""
    tenant = _tenant()
    job = store.enqueue_push(tenant, "I-1", invoice_number="INV-1", now=_T0)
    expected = Job(
        id=job.id,
        tenant_id=tenant,
        kind=JobKind.PUSH,
        invoice_id="I-1",
        invoice_number="INV-1",
        status=JobStatus.PENDING,
        attempts=0,
        run_after=_T0,
        created_at=_T0,
        updated_at=_T0,
        version=1,
    )
    _expect(expected, job, "enqueued job")
    _expect(job, store.get(job.id), "get after enqueue")
    _expect(None, store.get(f"missing-{uuid.uuid4().hex}"), "get of a missing job")


def enqueue_twice_leaves_one_waiting_job(store: JobStore) -> None:
    """Enqueueing the same push twice returns the waiting job (with the newer number)."""
    tenant = _tenant()
    first = store.enqueue_push(tenant, "I-1", now=_T0)
    second = store.enqueue_push(tenant, "I-1", invoice_number="INV-1b", now=_at(5))
    _expect(first.id, second.id, "id of the second enqueue")
    _expect("INV-1b", second.invoice_number, "number after the second enqueue")
    third = store.enqueue_push(tenant, "I-1", now=_at(6))
    _expect(second, third, "an enqueue without a number changes nothing")
    _expect(
        [first.id], _ids(store.list_jobs(tenant_id=tenant)), "jobs after enqueueing three times"
    )


def enqueue_while_running_queues_another(store: JobStore) -> None:
    """A push enqueued while the invoice's push is leased is a new job (it pushes the newer
    invoice); once the lease ran out, enqueueing returns the expired job instead."""
    tenant = _tenant()
    first = store.enqueue_push(tenant, "I-1", now=_T0)
    _lease(store, tenant)
    second = store.enqueue_push(tenant, "I-1", now=_at(1))
    if second.id == first.id:
        raise AssertionError("an enqueue during a live lease returned the running job")
    other = _tenant()
    expired = store.enqueue_push(other, "I-1", now=_T0)
    _lease(store, other)
    again = store.enqueue_push(other, "I-1", now=_at(_LEASE + 1))
    _expect(expired.id, again.id, "enqueue after the lease ran out")


def pulls_are_deduplicated_per_tenant_and_invoice(store: JobStore) -> None:
    """One waiting full pull per tenant and one waiting refresh per invoice; a push and a
    refresh of the same invoice are different work."""
    tenant = _tenant()
    pull = store.enqueue_pull(tenant, now=_T0)
    _expect((JobKind.PULL, None), (pull.kind, pull.invoice_id), "full pull")
    _expect(pull.id, store.enqueue_pull(tenant, now=_at(1)).id, "second full pull")
    refresh = store.enqueue_pull(tenant, invoice_id="I-1", now=_T0)
    _expect(JobKind.PULL_INVOICES, refresh.kind, "refresh kind")
    _expect(
        refresh.id, store.enqueue_pull(tenant, invoice_id="I-1", now=_at(1)).id, "second refresh"
    )
    push = store.enqueue_push(tenant, "I-1", now=_T0)
    refresh_2 = store.enqueue_pull(tenant, invoice_id="I-2", now=_T0)
    _expect(4, len({pull.id, refresh.id, push.id, refresh_2.id}), "distinct jobs")
    other_tenant = store.enqueue_pull(_tenant(), now=_T0)
    if other_tenant.id == pull.id:
        raise AssertionError("a pull of another tenant returned this tenant's pull")


def bad_arguments_are_refused(store: JobStore) -> None:
    """A naive datetime, an empty key or a bad lease limit raises StorageValueError."""
    calls: dict[str, Callable[[], object]] = {
        "naive now": lambda: store.enqueue_push(
            "t",
            "I-1",
            now=datetime(2026, 1, 5),  # noqa: DTZ001 (the point)
        ),
        "empty tenant": lambda: store.enqueue_push("", "I-1", now=_T0),
        "empty invoice": lambda: store.enqueue_push(_tenant(), "", now=_T0),
        "limit 0": lambda: store.lease(worker_id="w", now=_T0, lease_seconds=1, limit=0),
        "no lease time": lambda: store.lease(worker_id="w", now=_T0, lease_seconds=0, limit=1),
    }
    for what, call in calls.items():
        try:
            result = call()
        except StorageValueError:
            continue
        raise AssertionError(f"{what}: expected StorageValueError, got {result!r}")


def datetimes_read_back_in_utc(store: JobStore) -> None:
    """Datetimes given in any offset read back as the same instants, in UTC."""
    plus_ten = timezone(timedelta(hours=10))
    tenant = _tenant()
    local = datetime(2026, 1, 5, 19, 0, 0, 123456, tzinfo=plus_ten)
    job = store.enqueue_push(tenant, "I-1", now=local)
    read = store.get(job.id)
    _expect(local, None if read is None else read.created_at, "created_at instant")
    _expect(
        timedelta(0),
        None if read is None else read.created_at.utcoffset(),
        "created_at offset (UTC)",
    )


# --- lease ------------------------------------------------------------------------------------


def lease_takes_due_jobs_oldest_first(store: JobStore) -> None:
    """A lease takes due jobs by run_after, marks them leased to the worker until now +
    lease_seconds, and counts an attempt; future jobs and the limit are respected."""
    tenant = _tenant()
    late = store.enqueue_push(tenant, "I-late", now=_at(30))
    early = store.enqueue_push(tenant, "I-early", now=_at(10))
    store.enqueue_push(tenant, "I-future", now=_at(100))
    leased = _lease(store, tenant, at=50, limit=5)
    _expect([early.id, late.id], _ids(leased), "leased jobs, oldest first")
    first = leased[0]
    _expect(
        (JobStatus.LEASED, "w1", _at(50 + _LEASE), 1),
        (first.status, first.leased_by, first.lease_until, first.attempts),
        "lease fields",
    )
    _expect(first, store.get(first.id), "stored leased job")
    other = _tenant()
    for n in range(3):
        store.enqueue_push(other, f"I-{n}", now=_T0)
    _expect(2, len(_lease(store, other, limit=2)), "jobs leased with limit=2")


def live_lease_is_exclusive(store: JobStore) -> None:
    """While a lease is live no other worker gets the job."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    _one(_lease(store, tenant, worker="w1"), "first lease")
    _expect([], _lease(store, tenant, at=_LEASE - 1, worker="w2"), "second worker's lease")


def expired_lease_is_taken_over(store: JobStore) -> None:
    """Once a lease runs out (the worker died) another worker leases the job, as a second
    attempt; the first worker can then neither complete nor fail it."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    dead = _one(_lease(store, tenant, worker="w1"), "first lease")
    taken = _one(_lease(store, tenant, at=_LEASE, worker="w2"), "lease after expiry")
    _expect((dead.id, "w2", 2), (taken.id, taken.leased_by, taken.attempts), "taken over")
    _lost(lambda: store.complete(dead, now=_at(_LEASE + 1)), "taken", "stale complete")
    _lost(
        lambda: store.fail(dead, now=_at(_LEASE + 1), error="x", error_type="X", retry_at=None),
        "taken",
        "stale fail",
    )
    done = store.complete(taken, now=_at(_LEASE + 2))
    _expect(JobStatus.DONE, done.status, "status after the new holder completes")


def outcome_after_expiry_is_refused(store: JobStore) -> None:
    """A worker whose lease ran out can't record an outcome even if nobody took the job."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    _lost(lambda: store.complete(held, now=_at(_LEASE)), "expired", "complete at expiry")
    _lost(
        lambda: store.release(held, now=_at(_LEASE + 5), run_after=_at(100)),
        "expired",
        "release after expiry",
    )
    stored = store.get(held.id)
    _expect(JobStatus.LEASED, None if stored is None else stored.status, "status after refusals")


def same_work_is_never_leased_twice(store: JobStore) -> None:
    """Two waiting jobs for one invoice are never leased at once: the second waits until the
    first is finished."""
    tenant = _tenant()
    first = store.enqueue_push(tenant, "I-1", now=_T0)
    running = _one(_lease(store, tenant), "first lease")
    second = store.enqueue_push(tenant, "I-1", now=_at(1))
    store.enqueue_push(tenant, "I-2", now=_at(1))
    _expect(["I-2"], [j.invoice_id for j in _lease(store, tenant, at=2)], "lease while running")
    store.complete(running, now=_at(3))
    _expect([second.id], _ids(_lease(store, tenant, at=4)), "lease after completion")
    _expect(JobStatus.DONE, (store.get(first.id) or first).status, "first job")
    other = _tenant()
    store.enqueue_push(other, "I-1", now=_T0)
    held = _one(_lease(store, other), "lease")
    store.enqueue_push(other, "I-1", now=_at(1))
    store.fail(held, now=_at(2), error="boom", error_type="X", retry_at=_at(3))
    _expect(1, len(_lease(store, other, at=10)), "two waiting jobs for one invoice in one lease")


def lease_filters_by_tenant_and_kind(store: JobStore) -> None:
    """A lease takes only the tenants and kinds it asks for."""
    one, two = _tenant(), _tenant()
    push = store.enqueue_push(one, "I-1", now=_T0)
    pull = store.enqueue_pull(one, now=_T0)
    other = store.enqueue_push(two, "I-1", now=_T0)
    _expect([push.id], _ids(_lease(store, one, kinds=[JobKind.PUSH])), "pushes of tenant one")
    _expect([pull.id], _ids(_lease(store, one)), "the rest of tenant one")
    _expect([other.id], _ids(_lease(store, two)), "tenant two")


def parked_tenants_are_skipped(store: JobStore) -> None:
    """A parked tenant's jobs are not leased until the park ends; a park is never shortened
    and can be lifted."""
    tenant = _tenant()
    job = store.enqueue_push(tenant, "I-1", now=_T0)
    _expect(_at(3600), store.park_tenant(tenant, _at(3600)), "park end")
    _expect(_at(3600), store.park_tenant(tenant, _at(60)), "park end after a shorter park")
    _expect(_at(3600), store.parked_until(tenant, now=_at(10)), "parked_until during the park")
    _expect(None, store.parked_until(_tenant(), now=_at(10)), "parked_until of another tenant")
    _expect([], _lease(store, tenant, at=3599), "lease during the park")
    _expect(None, store.parked_until(tenant, now=_at(3600)), "parked_until at the end")
    _expect([job.id], _ids(_lease(store, tenant, at=3600)), "lease when the park ends")
    other = _tenant()
    store.enqueue_push(other, "I-1", now=_T0)
    store.park_tenant(other, _at(3600))
    store.unpark_tenant(other)
    _expect(1, len(_lease(store, other, at=1)), "lease after unpark")


# --- outcomes -------------------------------------------------------------------------------


def complete_marks_done(store: JobStore) -> None:
    """complete records done (and the invoice number when given); a done job is not leased
    again."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    done = store.complete(held, now=_at(5), invoice_number="INV-1")
    _expect(
        (JobStatus.DONE, "INV-1", _at(5), held.version + 1),
        (done.status, done.invoice_number, done.updated_at, done.version),
        "done job",
    )
    _expect(done, store.get(held.id), "stored done job")
    _expect([], _lease(store, tenant, at=_LEASE * 3), "lease after done")


def fail_with_retry_time_runs_again_later(store: JobStore) -> None:
    """fail with retry_at puts the job back to pending from then, keeping the error."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    after = store.fail(
        held,
        now=_at(5),
        error="invoice INV-1: Xero is unavailable",
        error_type="XeroUnavailable",
        retry_at=_at(120),
    )
    _expect(
        (
            JobStatus.PENDING,
            _at(120),
            "invoice INV-1: Xero is unavailable",
            "XeroUnavailable",
            True,
        ),
        (after.status, after.run_after, after.last_error, after.error_type, after.retryable),
        "job after a retryable failure",
    )
    _expect([], _lease(store, tenant, at=119), "lease before retry_at")
    again = _one(_lease(store, tenant, at=120), "lease at retry_at")
    _expect(2, again.attempts, "attempts on the second lease")


def fail_without_retry_time_is_final(store: JobStore) -> None:
    """fail with retry_at=None fails the job for good; it is never leased again."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    after = store.fail(
        held,
        now=_at(5),
        error="invoice INV-1: Xero rejected the data: Account code '999' is not valid",
        error_type="XeroValidationError",
        retry_at=None,
        invoice_number="INV-1",
    )
    _expect(
        (JobStatus.FAILED, False, "INV-1"),
        (after.status, after.retryable, after.invoice_number),
        "failed job",
    )
    _expect([], _lease(store, tenant, at=10_000), "lease after a final failure")


def release_gives_the_attempt_back(store: JobStore) -> None:
    """release puts the job back to pending from run_after without counting the attempt."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    after = store.release(
        held, now=_at(1), run_after=_at(900), error="day limit", error_type="DailyLimitReached"
    )
    _expect(
        (JobStatus.PENDING, 0, _at(900), "day limit"),
        (after.status, after.attempts, after.run_after, after.last_error),
        "released job",
    )
    _expect([], _lease(store, tenant, at=899), "lease before run_after")
    _expect(1, _one(_lease(store, tenant, at=900), "lease at run_after").attempts, "attempts")


# --- operator actions -----------------------------------------------------------------------


def list_filters_and_orders_newest_first(store: JobStore) -> None:
    """list_jobs applies every filter given and returns the newest first, up to limit."""
    tenant = _tenant()
    a = store.enqueue_push(tenant, "I-1", now=_at(1))
    b = store.enqueue_push(tenant, "I-2", now=_at(2))
    c = store.enqueue_pull(tenant, now=_at(3))
    d = store.enqueue_pull(tenant, invoice_id="I-1", now=_at(4))
    held = _one(_lease(store, tenant, at=5, kinds=[JobKind.PUSH], limit=1), "lease")
    store.fail(held, now=_at(6), error="x", error_type="X", retry_at=None)

    def ids(**filters: object) -> list[str]:
        return _ids(store.list_jobs(tenant_id=tenant, **filters))  # type: ignore[arg-type]

    _expect([d.id, c.id, b.id, a.id], ids(), "all, newest first")
    _expect([a.id], ids(statuses=[JobStatus.FAILED]), "failed")
    _expect([], ids(statuses=[]), "no statuses")
    _expect([c.id], ids(kinds=[JobKind.PULL]), "full pulls")
    _expect([d.id, a.id], ids(invoice_id="I-1"), "invoice I-1")
    _expect([c.id, b.id], ids(created_after=_at(2), created_before=_at(4)), "created in [2, 4)")
    _expect([d.id, c.id], ids(limit=2), "limit")
    _expect([], _ids(store.list_jobs(tenant_id=_tenant())), "another tenant")


def retry_now_makes_a_job_due_with_fresh_attempts(store: JobStore) -> None:
    """retry_now makes a failed job pending and due now with attempts reset, keeping its
    last error; done and running jobs are unchanged; a missing job gives None."""
    tenant = _tenant()
    store.enqueue_push(tenant, "I-1", now=_T0)
    held = _one(_lease(store, tenant), "lease")
    store.fail(held, now=_at(1), error="boom", error_type="X", retry_at=None)
    retried = store.retry_now(held.id, now=_at(50))
    assert retried is not None
    _expect(
        (JobStatus.PENDING, _at(50), 0, "boom"),
        (retried.status, retried.run_after, retried.attempts, retried.last_error),
        "retried job",
    )
    running = _one(_lease(store, tenant, at=50), "lease after retry")
    _expect(running, store.retry_now(running.id, now=_at(51)), "retry of a running job")
    done = store.complete(running, now=_at(52))
    _expect(done, store.retry_now(done.id, now=_at(53)), "retry of a done job")
    _expect(None, store.retry_now(f"missing-{uuid.uuid4().hex}", now=_at(53)), "missing job")


def retry_failed_retries_every_failed_job_of_the_tenant(store: JobStore) -> None:
    """retry_failed makes every failed job of the tenant due again, and no other."""
    tenant, other = _tenant(), _tenant()
    for t in (tenant, other):
        for n in range(2):
            store.enqueue_push(t, f"I-{n}", now=_T0)
        for held in _lease(store, t):
            store.fail(held, now=_at(1), error="x", error_type="X", retry_at=None)
    store.enqueue_push(tenant, "I-pending", now=_at(2))
    retried = store.retry_failed(now=_at(10), tenant_id=tenant)
    _expect(
        ["I-0", "I-1"], sorted(j.invoice_id or "" for j in retried), "retried jobs of the tenant"
    )
    _expect(2, len(store.list_jobs(tenant_id=other, statuses=[JobStatus.FAILED])), "other tenant")


def cancel_stops_a_job(store: JobStore) -> None:
    """cancel stops a pending or leased job (its holder then gets LeaseLost); a done job is
    unchanged; a missing job gives None."""
    tenant = _tenant()
    pending = store.enqueue_push(tenant, "I-1", now=_T0)
    cancelled = store.cancel(pending.id, now=_at(1))
    _expect(JobStatus.CANCELLED, None if cancelled is None else cancelled.status, "cancelled")
    _expect([], _lease(store, tenant, at=2), "lease after cancel")
    store.enqueue_push(tenant, "I-2", now=_at(3))
    held = _one(_lease(store, tenant, at=3), "lease")
    store.cancel(held.id, now=_at(4))
    _lost(lambda: store.complete(held, now=_at(5)), "taken", "complete after cancel")
    store.enqueue_push(tenant, "I-3", now=_at(6))
    done = store.complete(_one(_lease(store, tenant, at=6), "lease"), now=_at(7))
    _expect(done, store.cancel(done.id, now=_at(8)), "cancel of a done job")
    _expect(None, store.cancel(f"missing-{uuid.uuid4().hex}", now=_at(8)), "missing job")


def purge_deletes_old_finished_jobs(store: JobStore) -> None:
    """purge deletes done and cancelled jobs changed before the cut-off, and keeps failed,
    pending and newer ones."""
    tenant = _tenant()
    old = datetime(2001, 1, 1, tzinfo=UTC)  # before anything a real store holds

    def lease_one() -> Job:
        return _one(
            store.lease(worker_id="w", now=old, lease_seconds=60, limit=1, tenant_ids=[tenant]),
            "lease",
        )

    done = store.enqueue_push(tenant, "I-done", now=old)
    store.complete(lease_one(), now=old)
    cancelled = store.enqueue_push(tenant, "I-cancelled", now=old)
    store.cancel(cancelled.id, now=old)
    failed = store.enqueue_push(tenant, "I-failed", now=old)
    store.fail(lease_one(), now=old, error="x", error_type="X", retry_at=None)
    pending = store.enqueue_push(tenant, "I-pending", now=old)
    newer = store.enqueue_push(tenant, "I-newer", now=old + timedelta(days=2))
    store.cancel(newer.id, now=old + timedelta(days=2))
    _expect(2, store.purge(finished_before=old + timedelta(days=1)), "jobs purged")
    _expect(
        sorted([failed.id, pending.id, newer.id]),
        sorted(_ids(store.list_jobs(tenant_id=tenant))),
        "jobs kept",
    )
    _expect(None, store.get(done.id), "purged done job")


# --- concurrency -----------------------------------------------------------------------------


def racing_workers_lease_each_job_once(store: JobStore) -> None:
    """Threads leasing from one store at the same moment never get the same job."""
    tenant = _tenant()
    total, threads = 40, 4
    for n in range(total):
        store.enqueue_push(tenant, f"I-{n}", now=_T0)
    got: list[list[str]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(index: int) -> None:
        try:
            start.wait(timeout=10)
            while True:
                leased = store.lease(
                    worker_id=f"w{index}", now=_T0, lease_seconds=60, limit=3, tenant_ids=[tenant]
                )
                if not leased:
                    return
                got[index].extend(_ids(leased))
        except BaseException as exc:  # reported below, in the calling thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    if failures:
        raise AssertionError(f"a leasing thread failed: {failures[0]!r}") from failures[0]
    leased = [job_id for mine in got for job_id in mine]
    _expect(total, len(leased), "jobs leased in all")
    _expect(total, len(set(leased)), "distinct jobs leased")


# --- one live job per work, queues, customers -------------------------------------------------


def _failed_for_good(store: JobStore, tenant: str, job: Job, *, at: float) -> Job:
    [leased] = [j for j in _lease(store, tenant, at=at) if j.id == job.id]
    return store.fail(
        leased, now=_at(at + 1), error="invoice INV-1: no contact", error_type="E", retry_at=None
    )


def success_clears_the_last_error(store: JobStore) -> None:
    """A job that failed, was retried and then succeeded shows no error any more."""
    tenant = _tenant()
    job = store.enqueue_push(tenant, "I-1", now=_T0)
    [leased] = _lease(store, tenant)
    store.fail(leased, now=_at(1), error="boom", error_type="XeroUnavailable", retry_at=_at(2))
    [again] = _lease(store, tenant, at=3)
    done = store.complete(again, now=_at(4))
    _expect(
        (JobStatus.DONE, None, None, None),
        (done.status, done.last_error, done.error_type, done.retryable),
        "status and error after a success",
    )
    _expect(done, store.get(job.id), "the done job read back")


def enqueue_after_a_failure_revives_the_failed_job(store: JobStore) -> None:
    """Queueing failed work again runs the failed job again (fresh attempts, due now, the
    queue asked for) instead of listing a second job beside it."""
    tenant = _tenant()
    job = store.enqueue_push(tenant, "I-1", invoice_number="INV-1", now=_T0)
    failed = _failed_for_good(store, tenant, job, at=0)
    _expect(JobStatus.FAILED, failed.status, "status after the failure")
    again = store.enqueue_push(tenant, "I-1", invoice_number="INV-1b", now=_at(10), queue="bms")
    revived = (again.id, again.status, again.attempts, again.run_after, again.invoice_number)
    _expect(
        (job.id, JobStatus.PENDING, 0, _at(10), "INV-1b", "bms"),
        (*revived, again.queue),
        "the revived job",
    )
    _expect([job.id], _ids(store.list_jobs(tenant_id=tenant)), "jobs of the invoice")
    _expect(again, store.get(job.id), "the revived job read back")


def success_supersedes_failed_jobs_of_the_same_work(store: JobStore) -> None:
    """A failed job left beside newer work of the same invoice and kind is superseded when
    that work succeeds; it never runs, counts as failed, or can be retried again."""
    tenant = _tenant()
    first = store.enqueue_push(tenant, "I-1", now=_T0)
    [running] = _lease(store, tenant)
    second = store.enqueue_push(tenant, "I-1", now=_at(1))  # the invoice changed meanwhile
    store.fail(running, now=_at(2), error="bad", error_type="E", retry_at=None)
    other = store.enqueue_push(tenant, "I-2", now=_at(2))
    taken = {job.id: job for job in _lease(store, tenant, at=3)}
    _expect(sorted([second.id, other.id]), sorted(taken), "jobs leased at 3 s")
    store.fail(taken[other.id], now=_at(4), error="bad", error_type="E", retry_at=None)
    store.complete(taken[second.id], now=_at(4))
    first_now = store.get(first.id)
    if first_now is None:
        raise AssertionError("the failed job disappeared instead of being superseded")
    _expect(JobStatus.SUPERSEDED, first_now.status, "the failed job after the success")
    _expect(
        [other.id],
        _ids(store.list_jobs(tenant_id=tenant, statuses=[JobStatus.FAILED])),
        "failed jobs (another invoice's failure stays)",
    )
    _expect(first_now, store.retry_now(first.id, now=_at(12)), "retry of a superseded job")
    _expect(first_now, store.cancel(first.id, now=_at(12)), "cancel of a superseded job")
    store.purge(finished_before=_at(10**6))
    _expect(None, store.get(first.id), "a superseded job after a purge")


def a_worker_takes_only_its_queues(store: JobStore) -> None:
    """``queues=`` leases only those queues; the same work stays exclusive across queues."""
    tenant = _tenant()
    host = store.enqueue_push(tenant, "I-1", now=_T0)
    cli = store.enqueue_push(tenant, "I-2", now=_T0, queue="cli")
    _expect("default", host.queue, "queue of a job enqueued without one")

    def lease(worker: str, queues: list[str], at: float) -> list[Job]:
        return store.lease(
            worker_id=worker,
            now=_at(at),
            lease_seconds=_LEASE,
            limit=10,
            tenant_ids=[tenant],
            queues=queues,
        )

    _expect([cli.id], _ids(lease("cli-worker", ["cli"], 1)), "jobs leased from queue cli")
    again = store.enqueue_push(tenant, "I-2", now=_at(2))  # the same work, queue default
    _expect(True, again.id != cli.id, "work queued again while it runs is a new job")
    _expect(
        [host.id],
        _ids(lease("host-worker", ["default"], 3)),
        "queue default while I-2 runs on queue cli: only I-1",
    )
    _expect([], lease("nobody", [], 3), "an empty collection of queues leases nothing")


def customers_are_linked_by_their_own_jobs(store: JobStore) -> None:
    """enqueue_link_customer queues one job per customer, deduplicated like pushes."""
    tenant = _tenant()
    job = store.enqueue_link_customer(tenant, "C-1", now=_T0)
    _expect(
        (JobKind.LINK_CUSTOMER, "C-1", None, JobStatus.PENDING),
        (job.kind, job.customer_id, job.invoice_id, job.status),
        "the link job",
    )
    _expect(job, store.enqueue_link_customer(tenant, "C-1", now=_at(1)), "enqueued twice")
    other = store.enqueue_link_customer(tenant, "C-2", now=_at(1))
    taken = _lease(store, tenant, at=2, kinds=[JobKind.LINK_CUSTOMER])
    _expect(sorted([job.id, other.id]), sorted(_ids(taken)), "both customers leased")
    done = store.complete(next(j for j in taken if j.id == job.id), now=_at(3))
    _expect(done, store.get(job.id), "the done link job read back")


#: Every check, in a sensible reading order.
CHECKS: tuple[ContractCheck[JobStore], ...] = tuple(
    ContractCheck[JobStore].of(check)
    for check in (
        enqueue_creates_a_pending_job,
        enqueue_twice_leaves_one_waiting_job,
        enqueue_while_running_queues_another,
        pulls_are_deduplicated_per_tenant_and_invoice,
        bad_arguments_are_refused,
        datetimes_read_back_in_utc,
        lease_takes_due_jobs_oldest_first,
        live_lease_is_exclusive,
        expired_lease_is_taken_over,
        outcome_after_expiry_is_refused,
        same_work_is_never_leased_twice,
        lease_filters_by_tenant_and_kind,
        parked_tenants_are_skipped,
        complete_marks_done,
        fail_with_retry_time_runs_again_later,
        fail_without_retry_time_is_final,
        release_gives_the_attempt_back,
        list_filters_and_orders_newest_first,
        retry_now_makes_a_job_due_with_fresh_attempts,
        retry_failed_retries_every_failed_job_of_the_tenant,
        cancel_stops_a_job,
        purge_deletes_old_finished_jobs,
        racing_workers_lease_each_job_once,
        success_clears_the_last_error,
        enqueue_after_a_failure_revives_the_failed_job,
        success_supersedes_failed_jobs_of_the_same_work,
        a_worker_takes_only_its_queues,
        customers_are_linked_by_their_own_jobs,
    )
)


def run_contract(
    make_store: Callable[[], JobStore], *, checks: Iterable[ContractCheck[JobStore]] = CHECKS
) -> None:
    """Run ``checks`` (all by default), each on a store from ``make_store``.

    A store with a ``close()`` method is closed after its check. Every check runs even when
    an earlier one fails.

    Raises:
        AssertionError: Listing every check that failed (or raised), with what differed.
    """
    run_checks(make_store, checks, what="job store")
