"""What only the SQLite job store does: one file with the sync store, durability, schema."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bms_xero.engine import SyncEngine
from bms_xero.errors import ConfigurationError, SchemaVersionError, StorageError
from bms_xero.jobs import (
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
from bms_xero.storage import SQLiteStore
from bms_xero.storage._sqlite_schema import migrate
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import contact_of, counter, invoice, numbers_in_xero

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_jobs_and_sync_records_share_one_file(tmp_path: Path, xero: FakeXero) -> None:
    """The embedded default: sync records and jobs in one SQLite file, each schema versioned."""
    path = tmp_path / "sync.db"
    source = MemoryInvoiceSource([invoice(1, contact_of(xero))])
    with SQLiteStore(path) as store, SQLiteJobStore(path) as jobs:
        engine = SyncEngine(
            client=xero.client(retry=RetryPolicy.none()),
            store=store,
            tax_map={"GST15": "OUTPUT2"},
            clock=xero.clock,
        )
        job = jobs.enqueue_push(xero.tenant_id, "I-1", now=xero.clock.now())
        Worker(engine, jobs, source, clock=xero.clock).run_pending()
        done = jobs.get(job.id)
        assert JobStatus.DONE == (done.status if done else None)
        assert "pushed" == engine.panel("I-1").state
    with sqlite3.connect(path) as conn:
        versions = dict(conn.execute("SELECT component, version FROM bms_xero_schema"))
    assert {"sync": SQLiteStore.schema_version, "jobs": SQLiteJobStore.schema_version} == versions
    assert ["INV-0001"] == numbers_in_xero(xero)


def test_jobs_survive_reopening(tmp_path: Path) -> None:
    """A job enqueued before the process stopped is there, unchanged, when the file reopens."""
    path = tmp_path / "jobs.db"
    with SQLiteJobStore(path) as jobs:
        job = jobs.enqueue_push("t1", "I-1", invoice_number="INV-1", now=T0)
        jobs.park_tenant("t1", datetime(2026, 1, 6, tzinfo=UTC))
    with SQLiteJobStore(path) as jobs:
        assert job == jobs.get(job.id)
        assert datetime(2026, 1, 6, tzinfo=UTC) == jobs.parked_until("t1", now=T0)


def test_a_newer_schema_is_refused_unchanged(tmp_path: Path) -> None:
    """A file whose jobs schema is newer than this code raises SchemaVersionError."""
    path = tmp_path / "jobs.db"
    SQLiteJobStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE bms_xero_schema SET version = 99 WHERE component = 'jobs'")
    with pytest.raises(SchemaVersionError) as caught:
        SQLiteJobStore(path)
    assert ("jobs", 99) == (caught.value.component, caught.value.found_version)


def test_a_row_changed_outside_bms_xero_is_a_storage_error(tmp_path: Path) -> None:
    """A job row that no longer reads as a job raises StorageError naming the row."""
    path = tmp_path / "jobs.db"
    with SQLiteJobStore(path) as jobs:
        job = jobs.enqueue_push("t1", "I-1", now=T0)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE bms_xero_jobs SET kind = 'teleport'")
    with SQLiteJobStore(path) as jobs, pytest.raises(StorageError, match=repr(job.id)):
        jobs.get(job.id)


@pytest.mark.parametrize(
    "kwargs", [{"path": ":memory:"}, {"path": ""}, {"timeout": -1}, {"synchronous": "OFF"}]
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object]) -> None:
    """In-memory paths, negative timeouts and unknown sync modes are configuration errors."""
    arguments: dict[str, object] = {"path": tmp_path / "jobs.db", **kwargs}
    with pytest.raises(ConfigurationError):
        SQLiteJobStore(**arguments)  # type: ignore[arg-type]


def test_a_closed_store_refuses_work(tmp_path: Path) -> None:
    """After close() every call raises StorageError."""
    jobs = SQLiteJobStore(tmp_path / "jobs.db")
    jobs.close()
    with pytest.raises(StorageError, match="closed"):
        jobs.enqueue_pull("t1", now=T0)


# --- the lease and the lists stay off a tenant's history ---------------------------------------


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _busy_queue(store: JobStore) -> None:
    """Twenty tenants' jobs in every state a lease must tell apart, made through the API.

    Per tenant: pushes enqueued at different times (so run_after differs, with ties broken
    by id), one released into the future, one leased with a lease that ran out at 30 s, one
    leased and held until 640 s (its work is busy: the new push of it waits), a pull,
    one on another queue, one done and one failed. Tenant t03 is parked until 1,000 s.
    """
    for n in range(20):
        tenant = f"t{n:02d}"
        for k in range(6):
            store.enqueue_push(tenant, f"I-{k}", now=_at(k % 3 + n % 4))
        store.enqueue_pull(tenant, now=_at(1))
        store.enqueue_push(tenant, "I-cli", now=_at(50), queue="cli")
        first = store.lease(
            worker_id="early", now=_at(10), lease_seconds=20, limit=4, tenant_ids=[tenant]
        )
        store.release(first[0], now=_at(10), run_after=_at(500))
        store.complete(first[1], now=_at(10))
        store.fail(first[2], now=_at(10), error="no", error_type="SyncError", retry_at=None)
        store.enqueue_push(tenant, "I-new", now=_at(20))
        [held] = store.lease(
            worker_id="held",
            now=_at(40),
            lease_seconds=600,
            limit=1,
            tenant_ids=[tenant],
            kinds=[JobKind.PUSH],
        )
        store.enqueue_push(tenant, held.invoice_id or "", now=_at(41))
    store.park_tenant("t03", _at(1_000))


_SCOPES: dict[str, dict[str, Any]] = {
    "every tenant": {},
    "twenty tenants by name": {"tenant_ids": [f"t{n:02d}" for n in range(20)]},
    "three tenants": {"tenant_ids": ["t01", "t03", "t07"]},
    "one tenant, pushes": {"tenant_ids": ["t05"], "kinds": [JobKind.PUSH]},
    "pulls, default queue": {"kinds": [JobKind.PULL], "queues": ["default"]},
    "cli queue": {"queues": ["cli"]},
}


@pytest.mark.parametrize("scope", _SCOPES, ids=str)
@pytest.mark.parametrize("limit", [1, 7])
def test_leases_match_the_memory_store_in_every_scope(
    tmp_path: Path, scope: str, limit: int
) -> None:
    """Leasing a busy queue to the end gives the same jobs in the same order as
    MemoryJobStore (the reference), whether the lease reads tenant by tenant (a few
    tenants) or walks every tenant's pending jobs (all, or more than sixteen): due pending
    jobs and ran-out leases merged by run_after, busy work and parked tenants passed over."""
    taken: dict[str, list[list[str]]] = {}
    stores: list[JobStore] = [
        MemoryJobStore(new_id=counter("job")),
        SQLiteJobStore(tmp_path / "jobs.db", new_id=counter("job")),
    ]
    for store in stores:
        _busy_queue(store)
        rounds = []
        while leased := store.lease(
            worker_id="w", now=_at(120), lease_seconds=600, limit=limit, **_SCOPES[scope]
        ):
            rounds.append([job.id for job in leased])
            for job in leased:  # done at once: the work is free for the next round
                store.complete(job, now=_at(120))
        taken[type(store).__name__] = rounds
        store.close()
    assert taken["MemoryJobStore"] == taken["SQLiteJobStore"]
    assert taken["SQLiteJobStore"]  # the scenario leases something in every scope


def _plans(store: SQLiteJobStore, calls: Callable[[], object]) -> dict[str, list[str]]:
    """SQLite's plan of each SELECT on the jobs table that ``calls`` runs, by statement."""
    statements: list[str] = []
    with store._db.connection() as conn:  # the pool's one idle connection, lent to each call
        conn.set_trace_callback(statements.append)
    try:
        calls()
    finally:
        with store._db.connection() as conn:
            conn.set_trace_callback(None)
    plans = {}
    with sqlite3.connect(store.path) as conn:
        for sql in statements:
            if sql.startswith("SELECT") and "FROM bms_xero_jobs" in sql:
                rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
                plans[sql] = [str(row[3]) for row in rows]
    return plans


def _seed(store: SQLiteJobStore, pending: int, finished: int) -> None:
    """One tenant's jobs written in bulk (``finished`` done ones, every tenth a pull)."""
    from bms_xero.jobs._sqlite import _INSERT, _encode

    jobs = []
    for n in range(pending + finished):
        pull = n < finished and n % 10 == 0
        job = t.new_job(
            f"seed-{n:06d}",
            "t1",
            JobKind.PULL if pull else JobKind.PUSH,
            invoice_id=None if pull else f"I-{n}",
            invoice_number=None,
            now=_at(n / 1000),
        )
        jobs.append(job.evolve(status=JobStatus.DONE) if n < finished else job)
    with store._db.transaction("seed", write=True) as conn:
        conn.executemany(_INSERT, [_encode(job) for job in jobs])


def test_a_lease_reads_the_pending_index_in_order(tmp_path: Path) -> None:
    """With 3,000 pending and 3,000 finished jobs of one tenant, each scan of a lease is an
    index range in lease order (no sort, no scan of the tenant's jobs), for one tenant and
    for every tenant; the pages after the first start where the last one ended."""
    with SQLiteJobStore(tmp_path / "jobs.db") as store:
        _seed(store, pending=3_000, finished=3_000)
        held = store.lease(
            worker_id="w0", now=_at(9_000), lease_seconds=600, limit=2, tenant_ids=["t1"]
        )

        def lease() -> None:
            for tenants in (["t1"], None):
                for job in store.lease(
                    worker_id="w", now=_at(9_000), lease_seconds=600, limit=3, tenant_ids=tenants
                ):
                    store.complete(job, now=_at(9_000))
            # New pushes of the held jobs' invoices, due first: their work is busy, so the
            # next leases pass over them and read a second page.
            for job in held:
                store.enqueue_push("t1", job.invoice_id or "", now=_at(0))
            for tenants in (["t1"], None):
                store.lease(
                    worker_id="w", now=_at(9_000), lease_seconds=600, limit=1, tenant_ids=tenants
                )

        plans = _plans(store, lease)
    pending = {sql: plan for sql, plan in plans.items() if "status = 'pending'" in sql}
    assert 6 == len(pending)  # both paths, two first pages each, and a second page each
    assert {
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_tenant_pending "
        "(tenant_id=? AND run_after<?)",
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_tenant_pending "
        "(tenant_id=? AND (run_after,created_at,id)>(?,?,?) AND run_after<?)",
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_pending (run_after<?)",
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_pending "
        "((run_after,created_at,id)>(?,?,?) AND run_after<?)",
    } == {line for plan in pending.values() for line in plan}
    leased = {plan[0] for sql, plan in plans.items() if "status = 'leased'" in sql}
    assert {
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_leased (lease_until<?)",
        "SEARCH bms_xero_jobs USING INDEX bms_xero_jobs_leased (lease_until>?)",
    } == leased
    assert [] == [line for plan in plans.values() for line in plan if "SCAN" in line]


_PAGE = "bms_xero_jobs_tenant_created (tenant_id=?)"
_NEWEST_PULL = "bms_xero_jobs_tenant_kind_created (tenant_id=? AND kind=?)"
_INVOICE = "bms_xero_jobs_invoice (invoice_id=?)"
_WAITING = [JobStatus.FAILED, JobStatus.PENDING]


@pytest.mark.parametrize(
    ("filters", "index", "sorted_"),
    [
        ({"tenant_id": "t1"}, _PAGE, False),
        ({"tenant_id": "t1", "kinds": [JobKind.PULL], "limit": 1}, _NEWEST_PULL, False),
        ({"tenant_id": "t1", "statuses": [JobStatus.FAILED]}, "bms_xero_jobs_failed", False),
        ({"statuses": [JobStatus.LEASED]}, "SCAN:bms_xero_jobs_leased", True),
        ({"tenant_id": "t1", "invoice_id": "I-7", "statuses": _WAITING}, _INVOICE, True),
        ({"created_after": T0}, "bms_xero_jobs_created (created_at>?)", False),
    ],
    ids=["page", "newest pull", "failed", "leased", "an invoice's", "all tenants"],
)  # fmt: skip
def test_a_list_reads_the_index_of_its_filters(
    tmp_path: Path, filters: dict[str, Any], index: str, sorted_: bool
) -> None:
    """Each list reads the index that gives its page newest first, or the few rows it can
    match (then sorted), never every job the tenant had through the first index led by
    tenant_id."""
    with SQLiteJobStore(tmp_path / "jobs.db") as store:
        _seed(store, pending=1_000, finished=2_000)
        plans = _plans(store, lambda: store.list_jobs(**filters))
    [plan] = plans.values()
    # A SCAN of a partial index reads only the rows of its status (jobs in flight: few).
    how, _, index = index.rpartition(":")
    assert (f"{how or 'SEARCH'} bms_xero_jobs USING INDEX {index}", sorted_) == (
        plan[0] if "(" in index else plan[0].split(" (")[0],
        "USE TEMP B-TREE FOR ORDER BY" in plan,
    )


def test_a_schema_2_file_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file from before the partial indexes gets them (its ``(status, run_after)`` index
    goes), records schema 3, and its jobs lease and list as before."""
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, component="jobs", migrations=MIGRATIONS[:2], location=str(path))
    stamp = T0.isoformat(timespec="microseconds")
    for job_id, status in (("j1", "pending"), ("j2", "done"), ("j3", "failed")):
        conn.execute(
            "INSERT INTO bms_xero_jobs (id, tenant_id, kind, invoice_id, status, attempts, "
            "run_after, created_at, updated_at, version) VALUES (?, 't1', 'push', ?, ?, 0, "
            "?, ?, ?, 1)",
            (job_id, f"I-{job_id}", status, stamp, stamp, stamp),
        )
    conn.close()
    with SQLiteJobStore(path) as store:
        failed = [j.id for j in store.list_jobs(tenant_id="t1", statuses=[JobStatus.FAILED])]
        taken = [j.id for j in store.lease(worker_id="w", now=_at(1), lease_seconds=60, limit=5)]
    with sqlite3.connect(path) as conn:
        version = conn.execute(
            "SELECT version FROM bms_xero_schema WHERE component = 'jobs'"
        ).fetchone()[0]
        indexes = {
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = 'bms_xero_jobs' AND sql IS NOT NULL"
            )
        }
    assert (3, ["j3"], ["j1"]) == (version, failed, taken)
    assert {
        f"bms_xero_jobs_{name}"
        for name in (
            "pending", "tenant_pending", "leased", "failed", "finished", "tenant_created",
            "tenant_kind_created", "work", "customer", "created", "invoice",
        )
    } == indexes  # fmt: skip
