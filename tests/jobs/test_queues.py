"""Queues, customer jobs and one live job per work, through the worker and the pure rules."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bms_xero.domain import Customer
from bms_xero.errors import ConfigurationError, StorageValueError
from bms_xero.jobs import (
    Job,
    JobKind,
    JobStatus,
    JobStore,
    MemoryInvoiceSource,
    MemoryJobStore,
    SQLiteJobStore,
    Worker,
)
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._sqlite import MIGRATIONS
from bms_xero.storage import SyncStore
from bms_xero.storage._sqlite_schema import migrate
from bms_xero.testing import FakeXero, InFlightRequest
from tests.jobs.conftest import EngineFactory, configure, contact_of, invoice, numbers_in_xero

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def job(
    job_id: str,
    status: JobStatus,
    *,
    created: float = 0,
    lease_until: float | None = None,
    queue: str = "default",
) -> Job:
    return Job(
        id=job_id,
        tenant_id="t1",
        kind=JobKind.PUSH,
        invoice_id="I-1",
        invoice_number="INV-1",
        status=status,
        attempts=2,
        run_after=at(created),
        leased_by="w" if lease_until is not None else None,
        lease_until=None if lease_until is None else at(lease_until),
        last_error="invoice INV-1: no contact" if status is JobStatus.FAILED else None,
        error_type="MissingContactId" if status is JobStatus.FAILED else None,
        created_at=at(created),
        updated_at=at(created),
        queue=queue,
    )


# --- the pure rule -------------------------------------------------------------------------------


def test_enqueue_of_new_work_creates_a_job() -> None:
    """Nothing live does the work: create one."""
    assert t.Enqueue(None, ()) == t.enqueue([], now=at(9), invoice_number=None, queue="default")


def test_enqueue_returns_the_waiting_job_and_supersedes_failed_ones() -> None:
    """Waiting work wins; a failed job of the same work beside it is superseded."""
    failed = job("j1", JobStatus.FAILED)
    waiting = job("j2", JobStatus.PENDING, created=5)
    plan = t.enqueue([waiting, failed], now=at(9), invoice_number=None, queue="default")
    assert waiting == plan.job
    assert [("j1", JobStatus.SUPERSEDED, 2)] == [(j.id, j.status, j.version) for j in plan.writes]


def test_enqueue_revives_the_newest_failed_job() -> None:
    """Failed work queued again: the newest failed job runs now with fresh attempts, on the
    queue asked for, its error kept visible until it runs; older ones are superseded."""
    old = job("j1", JobStatus.FAILED)
    newest = job("j2", JobStatus.FAILED, created=5)
    plan = t.enqueue([newest, old], now=at(9), invoice_number="INV-1b", queue="bms")
    expected = newest.evolve(
        status=JobStatus.PENDING,
        run_after=at(9),
        attempts=0,
        queue="bms",
        invoice_number="INV-1b",
        updated_at=at(9),
        version=2,
    )
    assert expected == plan.job
    assert [("j1", JobStatus.SUPERSEDED), ("j2", JobStatus.PENDING)] == [
        (j.id, j.status) for j in plan.writes
    ]
    assert "invoice INV-1: no contact" == plan.job.last_error


def test_enqueue_beside_a_running_job_creates_another() -> None:
    """A job whose lease is held is running: the new push must send the invoice as it is
    now, so a new job is created (and nothing is superseded yet)."""
    running = job("j1", JobStatus.LEASED, lease_until=60)
    assert t.Enqueue(None, ()) == t.enqueue(
        [running], now=at(9), invoice_number=None, queue="default"
    )


def test_settled_supersedes_only_failed_jobs_of_the_same_work() -> None:
    """A success supersedes failed jobs of its work; other work and other statuses stay."""
    done = job("j3", JobStatus.DONE, created=9)
    failed = job("j1", JobStatus.FAILED)
    other = job("j2", JobStatus.FAILED).evolve(invoice_id="I-2")
    cancelled = job("j4", JobStatus.CANCELLED)
    assert ["j1"] == [j.id for j in t.settled([failed, other, cancelled, done], done, at(10))]


def test_job_values_refuse_mixed_subjects() -> None:
    """A customer job names a customer and no invoice; a push names no customer."""
    with pytest.raises(StorageValueError) as caught:
        Job(
            id="j",
            tenant_id="t",
            kind=JobKind.LINK_CUSTOMER,
            invoice_id="I-1",
            run_after=T0,
            created_at=T0,
            updated_at=T0,
        )
    assert ["customer_id", "invoice_id"] == sorted(p.path for p in caught.value.problems)


# --- the worker ----------------------------------------------------------------------------------


def test_a_worker_leaves_other_queues_alone(
    make_engine: EngineFactory, jobs: JobStore, xero: FakeXero
) -> None:
    """The CLI's worker shares the host's store: it never takes (or fails) the host's job,
    whose invoice its own source does not have."""
    host_job = jobs.enqueue_push(xero.tenant_id, "I-1", now=xero.clock.now())
    cli_source = MemoryInvoiceSource([invoice(2, contact_of(xero))])
    cli_job = jobs.enqueue_push(xero.tenant_id, "I-2", now=xero.clock.now(), queue="cli")
    cli = Worker(make_engine(), jobs, cli_source, clock=xero.clock, queues=["cli"])
    report = cli.run_pending()
    assert [cli_job.id] == [j.id for j in report.done]
    assert JobStatus.PENDING == jobs.get(host_job.id).status  # type: ignore[union-attr]
    host_source = MemoryInvoiceSource([invoice(1, contact_of(xero))])
    Worker(make_engine(), jobs, host_source, clock=xero.clock).run_pending()
    assert JobStatus.DONE == jobs.get(host_job.id).status  # type: ignore[union-attr]
    assert ["INV-0001", "INV-0002"] == sorted(numbers_in_xero(xero))


class Customers:
    """The host's customers, as a CustomerSource."""

    def __init__(self, *customers: Customer) -> None:
        self.customers = {c.id: c for c in customers}

    def get_customer(self, tenant_id: str, customer_id: str) -> Customer | None:
        return self.customers.get(customer_id)


def test_link_customer_jobs_link_or_wait_for_a_worker_that_can(
    make_engine: EngineFactory, jobs: JobStore, xero: FakeXero, store: SyncStore
) -> None:
    """A worker without a customer source leaves customer jobs; one with it finds the contact
    by name (or creates it) and records the link, and a push then uses it."""
    engine = make_engine()
    source = MemoryInvoiceSource()
    linked = jobs.enqueue_link_customer(xero.tenant_id, "C-9", now=xero.clock.now())
    gone = jobs.enqueue_link_customer(xero.tenant_id, "C-0", now=xero.clock.now())
    assert 0 == Worker(engine, jobs, source, clock=xero.clock).run_pending().ran
    customers = Customers(Customer(id="C-9", name="Brand New Ltd"))
    report = Worker(engine, jobs, source, clock=xero.clock, customers=customers).run_pending()
    assert {linked.id: JobStatus.DONE, gone.id: JobStatus.FAILED} == {
        j.id: j.status for j in report.jobs
    }
    failed = jobs.get(gone.id)
    assert failed is not None and failed.last_error is not None
    assert failed.last_error.startswith("customer C-0: no longer exists in the BMS")
    [made] = [c["ContactID"] for c in xero.contacts() if c["Name"] == "Brand New Ltd"]
    assert made == store.get_contact_id(xero.tenant_id, "C-9")


@pytest.mark.parametrize("queues", [[], [""], "", ["cli", 3]])
def test_queues_must_be_named(
    make_engine: EngineFactory, jobs: JobStore, queues: object
) -> None:
    """A worker with no queue could never take a job: refused with how to fix it."""
    with pytest.raises(ConfigurationError, match=r"queues=\['default'\]"):
        Worker(make_engine(), jobs, MemoryInvoiceSource(), queues=queues)  # type: ignore[arg-type]


# --- the SQLite schema ---------------------------------------------------------------------------


def test_a_jobs_file_from_before_queues_is_upgraded(tmp_path: Path) -> None:
    """Schema 1 jobs read back on queue 'default' with no customer, and lease as before."""
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, component="jobs", migrations=MIGRATIONS[:1], location=str(path))
    conn.execute(
        "INSERT INTO bms_xero_jobs (id, tenant_id, kind, invoice_id, invoice_number, status, "
        "attempts, run_after, created_at, updated_at, version) VALUES "
        "('j1', 't1', 'push', 'I-1', 'INV-1', 'pending', 0, ?, ?, ?, 1)",
        (T0.isoformat(timespec="microseconds"),) * 3,
    )
    conn.close()
    with SQLiteJobStore(path) as store:
        stored = store.get("j1")
        assert stored is not None
        assert (3, "default", None) == (store.schema_version, stored.queue, stored.customer_id)
        taken = store.lease(worker_id="w", now=at(1), lease_seconds=60, limit=5, queues=["default"])
        assert ["j1"] == [j.id for j in taken]


# --- tenants side by side ------------------------------------------------------------------------


def test_tenants_run_side_by_side(
    make_engine: EngineFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
) -> None:
    """One worker serving three organisations has a push of each in flight at once: each
    PUT waits at a barrier that only opens when all three are in flight, so a worker that ran
    tenants one after another would break it (and fail the jobs)."""
    tenants = [xero.tenant_id, xero.add_tenant(name="Second Ltd"), xero.add_tenant(name="Third")]
    contacts = {t: contact_of(xero) if t == xero.tenant_id else configure(xero, t) for t in tenants}
    for n, tenant in enumerate(tenants, start=1):
        source.put(invoice(n, contacts[tenant]), tenant_id=tenant)
        jobs.enqueue_push(tenant, f"I-{n}", now=xero.clock.now())
    barrier = threading.Barrier(len(tenants), timeout=10)
    seen: set[str] = set()

    def all_in_flight(request: InFlightRequest) -> None:
        if request.method == "PUT" and request.path == "/Invoices":
            seen.add(request.tenant_id)
            barrier.wait()

    xero.in_flight_hook = all_in_flight
    worker = Worker([make_engine(t) for t in tenants], jobs, source, clock=xero.clock)
    report = worker.run_pending()
    assert (set(tenants), 3) == (seen, len(report.done))
    assert [["INV-0001"], ["INV-0002"], ["INV-0003"]] == [numbers_in_xero(xero, t) for t in tenants]


def test_parallel_tenants_1_runs_them_one_after_another(
    make_engine: EngineFactory, jobs: JobStore, xero: FakeXero, source: MemoryInvoiceSource
) -> None:
    """parallel_tenants=1 keeps the old order: never two tenants' requests in flight."""
    tenants = [xero.tenant_id, xero.add_tenant(name="Second Ltd")]
    contacts = {t: contact_of(xero) if t == xero.tenant_id else configure(xero, t) for t in tenants}
    for n, tenant in enumerate(tenants, start=1):
        source.put(invoice(n, contacts[tenant]), tenant_id=tenant)
        jobs.enqueue_push(tenant, f"I-{n}", now=xero.clock.now())
    flying: set[str] = set()
    most = 0
    lock = threading.Lock()

    def count(request: InFlightRequest) -> None:
        nonlocal most
        with lock:
            flying.add(request.tenant_id)
            most = max(most, len(flying))
        time.sleep(0.01)
        with lock:
            flying.discard(request.tenant_id)

    xero.in_flight_hook = count
    worker = Worker(
        [make_engine(t) for t in tenants], jobs, source, clock=xero.clock, parallel_tenants=1
    )
    assert (2, 1) == (len(worker.run_pending().done), most)


class SlowLeases(MemoryJobStore):
    """A job store whose leases take a database round trip."""

    def lease(self, **kwargs: Any) -> list[Job]:  # type: ignore[override]
        time.sleep(0.05)
        return super().lease(**kwargs)


class BrokenLeases(MemoryJobStore):
    """A job store that fails one tenant's leases."""

    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    def lease(self, **kwargs: Any) -> list[Job]:  # type: ignore[override]
        if kwargs.get("tenant_ids") == [self.broken]:
            raise RuntimeError("database is locked")
        time.sleep(0.05)
        return super().lease(**kwargs)


def test_max_jobs_is_shared_without_starving_the_tenant_that_has_work(
    make_engine: EngineFactory, xero: FakeXero, source: MemoryInvoiceSource
) -> None:
    """max_jobs=1 with one due job, on the tenant whose thread starts last: it runs, though
    the first thread took the only room (and gave it back after leasing nothing)."""
    other = xero.add_tenant(name="Second Ltd")
    configure(xero, other)
    busy = max(xero.tenant_id, other)  # tenants start in sorted order: this one second
    contact = contact_of(xero) if busy == xero.tenant_id else contact_of(xero, other)
    source.put(invoice(1, contact), tenant_id=busy)
    for _ in range(5):
        jobs = SlowLeases()
        jobs.enqueue_push(busy, "I-1", now=xero.clock.now())
        worker = Worker([make_engine(), make_engine(other)], jobs, source, clock=xero.clock)
        assert 1 == worker.run_pending(max_jobs=1).ran


def test_a_failing_tenant_waits_for_the_others_before_the_run_raises(
    make_engine: EngineFactory, xero: FakeXero, source: MemoryInvoiceSource
) -> None:
    """One tenant's job store call fails: the run raises only once every other tenant's
    run has ended, so nothing of this run is still going when the next begins."""
    other = xero.add_tenant(name="Second Ltd")
    configure(xero, other)
    broken, busy = sorted([xero.tenant_id, other])  # the failing one is looked at first
    contact = contact_of(xero) if busy == xero.tenant_id else contact_of(xero, other)
    source.put(invoice(1, contact), tenant_id=busy)
    jobs = BrokenLeases(broken)
    job = jobs.enqueue_push(busy, "I-1", now=xero.clock.now())
    worker = Worker([make_engine(), make_engine(other)], jobs, source, clock=xero.clock)
    with pytest.raises(RuntimeError, match="database is locked"):
        worker.run_pending()
    stored = jobs.get(job.id)
    assert stored is not None and JobStatus.DONE == stored.status  # finished before the raise


def test_scopes_say_when_nothing_can_match() -> None:
    """An empty collection of tenants, kinds, queues or statuses matches nothing; None is any."""
    assert (False, ("a", "b"), ("cli",)) == (
        t.lease_scope(["b", "a", "b"], None, ["cli"]).empty,
        t.lease_scope(["b", "a", "b"], None, ["cli"]).tenants,
        t.lease_scope(None, None, ["cli"]).queues,
    )
    assert [True, True, True] == [
        t.lease_scope([], None, None).empty,
        t.lease_scope(None, [], None).empty,
        t.lease_scope(None, None, []).empty,
    ]
    listed = t.list_scope(5, statuses=[], kinds=None, created_after=None, created_before=None)
    assert (True, frozenset()) == (listed.empty, listed.statuses)
