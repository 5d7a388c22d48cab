"""PostgresJobStore on a real server: the job store contract, leases raced by processes, one
live job per work under concurrent enqueues, the indexed lease, migrations, and a worker run.

Each test runs in a schema of its own in the database ``bms_xero_pg_test`` (see
``tests/storage/_pg.py``). Without a PostgreSQL server these tests skip, saying how to run
them; in CI (``CI=true``) they fail instead.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.services import require_psycopg

require_psycopg()  # before the stores import psycopg: skip (or, in CI, fail) without it
# ruff: noqa: E402  (the imports below need psycopg)

from bms_xero.engine import SyncEngine
from bms_xero.errors import SchemaVersionError, StorageError
from bms_xero.jobs import JobStatus, JobStore, MemoryInvoiceSource, PostgresJobStore, Worker
from bms_xero.jobs.contract import CHECKS, ContractCheck
from bms_xero.storage import PostgresStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.jobs import _pg_race
from tests.jobs.conftest import contact_of, invoice, numbers_in_xero
from tests.processes import run_processes
from tests.storage._pg import fresh_schema

NOW = _pg_race.NOW


@pytest.fixture(name="pg")
def _pg() -> Iterator[tuple[str, str]]:
    """``(url, schema)``: the test database and a schema of this test's own."""
    with fresh_schema() as where:
        yield where


@pytest.fixture(name="pg_jobs")
def _pg_jobs(pg: tuple[str, str]) -> Iterator[PostgresJobStore]:
    with PostgresJobStore(pg[0], schema=pg[1]) as store:
        yield store


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_job_store_keeps_the_contract(check: ContractCheck, pg_jobs: JobStore) -> None:
    """Each job store contract check holds for PostgresJobStore."""
    check(pg_jobs)


def _two_jobs_per_work(store: PostgresJobStore, works: int) -> None:
    """For each work (one invoice of its own tenant): a job whose lease ran out, and the
    push enqueued while it ran; in lease order they alternate (old, new, old, new...), so
    leases taken side by side meet both jobs of one work."""
    base = NOW - timedelta(hours=1)
    for k in range(works):
        at = base + timedelta(seconds=10 * k)
        first = store.enqueue_push(f"pair-{k}", "I-1", now=at)
        store.lease(worker_id="dead", now=at, lease_seconds=5, limit=1, tenant_ids=[f"pair-{k}"])
        second = store.enqueue_push(f"pair-{k}", "I-1", now=at + timedelta(seconds=1))
        assert first.id != second.id  # enqueued while the first ran: a job of its own


def test_processes_racing_lease_each_job_and_each_work_once(pg: tuple[str, str]) -> None:
    """Four processes leasing one database at once never lease a job twice, never hold two
    jobs of the same work at once (40 works have two due jobs each), and take every other
    due job. Without the work lock, leases side by side take both jobs of a work (~25 of 40
    works in a run of threads)."""
    url, schema = pg
    with PostgresJobStore(url, schema=schema) as store:
        _two_jobs_per_work(store, 40)
        for n in range(100):
            store.enqueue_push(f"t{n % 3}", f"I-{n}", now=NOW)
    reports, _ = run_processes(
        "spawn", _pg_race.lease_all, [(url, schema, f"w{i}") for i in range(4)], timeout=120
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    leased = [entry for _, batches in reports for batch in batches for entry in batch]  # type: ignore[attr-defined]
    ids = Counter(job_id for job_id, *_ in leased)
    works = Counter(tuple(work) for _, *work in leased)
    assert (140, [], []) == (
        len(works),
        [job_id for job_id, count in ids.items() if count > 1],
        [work for work, count in works.items() if count > 1],
    )


def test_threads_racing_lease_each_work_once(pg: tuple[str, str]) -> None:
    """The same race between threads of one process, each with its own store."""
    url, schema = pg
    with PostgresJobStore(url, schema=schema) as store:
        _two_jobs_per_work(store, 40)
    got: list[tuple[str, str, str]] = []
    failures: list[BaseException] = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            with PostgresJobStore(url, schema=schema) as mine:
                start.wait(timeout=10)
                while jobs := mine.lease(worker_id="w", now=NOW, lease_seconds=600, limit=3):
                    got.extend(job.dedupe_key for job in jobs)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert ([], 40, []) == (
        failures,
        len(set(got)),
        [key for key, count in Counter(got).items() if count > 1],
    )


def test_concurrent_enqueues_of_one_work_leave_one_job(pg_jobs: PostgresJobStore) -> None:
    """Eight threads enqueueing the same push at once get the same job; one job is listed."""
    threads = 8
    start = threading.Barrier(threads)
    got: list[str] = []
    failures: list[BaseException] = []

    def enqueue() -> None:
        try:
            start.wait(timeout=10)
            got.append(pg_jobs.enqueue_push("t1", "I-1", now=NOW).id)
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=enqueue) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    listed = pg_jobs.list_jobs(tenant_id="t1")
    assert ([], 1, 1, threads) == (failures, len(set(got)), len(listed), len(got))


def _plan(pg_jobs: PostgresJobStore, pg: tuple[str, str]) -> str:
    """The plan PostgreSQL chooses for the store's own lease statement, as a worker of two
    tenants asks it an hour after NOW (every job due), once the table was analysed."""
    import psycopg

    query, args = pg_jobs._lease_statement(["t0", "t1"], None, ["default"])
    with psycopg.connect(pg[0], autocommit=True) as conn:
        conn.execute(f'ANALYZE "{pg[1]}".bms_xero_jobs')  # the planner knows the table
        plan = conn.execute(
            "EXPLAIN " + query,
            {**args, "now": NOW + timedelta(hours=1), "seen": [], "page": 1},
        ).fetchall()
    return "\n".join(str(row[0]) for row in plan)


def test_the_lease_reads_the_live_jobs_index_in_order(
    pg_jobs: PostgresJobStore, pg: tuple[str, str]
) -> None:
    """With 15,000 pending and 5,000 finished jobs, the lease walks the partial index of
    pending jobs in lease order (no sort of every due job, no finished job read, no scan of
    the table), so its cost stays flat as the queue grows. The rows are written in bulk, as
    the store writes them."""
    import psycopg

    pg_jobs.enqueue_push("t0", "I-first", now=NOW)  # one the store wrote, for its shape
    with psycopg.connect(pg[0], autocommit=True) as conn:
        conn.execute(
            f'INSERT INTO "{pg[1]}".bms_xero_jobs (id, tenant_id, kind, invoice_id, '  # noqa: S608
            "status, attempts, run_after, created_at, updated_at, version, queue) "
            "SELECT 'job-' || n, 't' || (n %% 2), 'push', 'I-' || n, "
            "CASE WHEN n %% 4 = 0 THEN 'done' ELSE 'pending' END, 0, "
            "%(now)s + n * interval '1 microsecond', %(now)s, %(now)s, 1, 'default' "
            "FROM generate_series(1, 20000) AS n",
            {"now": NOW},
        )
    plan = _plan(pg_jobs, pg)
    pending_scan = plan.split("CTE pending")[1].split("CTE expired")[0]
    assert (True, False, False) == (
        "Index Scan using bms_xero_jobs_pending" in pending_scan,
        "Sort" in pending_scan,
        "Seq Scan on bms_xero_jobs" in plan,
    ), plan
    [first] = pg_jobs.lease(
        worker_id="w", now=NOW + timedelta(hours=1), lease_seconds=60, limit=1
    )
    assert "I-first" == first.invoice_id  # oldest run_after first


def test_the_schema_is_recorded_and_a_newer_one_refused(pg: tuple[str, str]) -> None:
    """The jobs component records its version beside the others; a newer one is refused and
    left as it was."""
    import psycopg

    url, schema = pg
    PostgresJobStore(url, schema=schema).close()
    PostgresJobStore(url, schema=schema).close()  # a second open: nothing to do
    with psycopg.connect(url, autocommit=True) as conn:
        before = conn.execute(
            f'SELECT version FROM "{schema}".bms_xero_schema WHERE component = %s',  # noqa: S608
            ("jobs",),
        ).fetchone()
        conn.execute(
            f'UPDATE "{schema}".bms_xero_schema SET version = 7 WHERE component = %s',  # noqa: S608
            ("jobs",),
        )
    with pytest.raises(SchemaVersionError) as caught:
        PostgresJobStore(url, schema=schema)
    assert ((PostgresJobStore.schema_version,), "jobs", 7) == (
        before,
        caught.value.component,
        caught.value.found_version,
    )


def test_a_closed_store_says_so(pg: tuple[str, str]) -> None:
    """Using a closed store is a StorageError that says to open a new one."""
    store = PostgresJobStore(pg[0], schema=pg[1])
    store.close()
    with pytest.raises(StorageError, match="is closed; open a new one"):
        store.get("job-1")


def test_a_worker_pushes_through_the_postgres_stores(pg: tuple[str, str], xero: FakeXero) -> None:
    """A worker on PostgresJobStore and PostgresStore pushes released invoices once each and
    leaves every job done; running again sends nothing."""
    url, schema = pg
    contact = contact_of(xero)
    source = MemoryInvoiceSource()
    with PostgresStore(url, schema=schema) as store, PostgresJobStore(url, schema=schema) as jobs:
        engine = SyncEngine(
            client=xero.client(retry=RetryPolicy.none()),
            store=store,
            tax_map={"GST15": "OUTPUT2"},
            clock=xero.clock,
        )
        for n in range(1, 6):
            inv = invoice(n, contact)
            source.put(inv)
            jobs.enqueue_push(
                xero.tenant_id, inv.id, invoice_number=inv.number, now=xero.clock.now()
            )
        worker = Worker(engine, jobs, source, clock=xero.clock, worker_id="w1")
        first = worker.run_pending()
        again = worker.run_pending()
        statuses = {job.status for job in jobs.list_jobs(tenant_id=xero.tenant_id)}
        pushed = store.get(xero.tenant_id, "I-3")
    assert ([f"INV-{n:04d}" for n in range(1, 6)], {JobStatus.DONE}, 5, 0) == (
        numbers_in_xero(xero),
        statuses,
        len(first.done),
        again.ran,
    )
    assert pushed is not None and pushed.xero_invoice_id is not None
