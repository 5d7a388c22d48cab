"""The job queue as jobs pile up: enqueue, lease and complete rates per job store.

Run from the repository root::

    .venv/bin/python benchmarks/job_queue.py            # 1k, 10k, 50k pending (+ 50k done)
    .venv/bin/python benchmarks/job_queue.py --quick    # 1k and 5k pending, a few seconds
    .venv/bin/python benchmarks/job_queue.py --stores sqlite --plans

Each row is a fresh store holding one tenant's ``pending`` push jobs, all due, plus
``finished`` done ones (finished jobs must not slow anything down). The jobs are written
straight into the store in one transaction (not through ``enqueue_push``, so that seeding
50,000 takes seconds) and are not timed. Then, timed, one call at a time as a worker and a
web page make them:

- **enqueue/s**: ``enqueue_push`` of an invoice not yet queued (a new job);
- **lease/s**: ``lease(limit=1)`` for the tenant on the default queue (a worker's first
  lease of a batch), each taking the oldest due job;
- **complete/s**: ``complete`` of each job just leased;
- **page ms** / **failed ms** / **pull ms**: one ``list_jobs`` of the Background Jobs page
  (the tenant's newest 100), of its "failed" filter (there are none, so every job of the
  tenant is a candidate), and the pull schedule's "newest pull of the tenant" (limit 1), in
  milliseconds, the median of several calls.

``--plans`` also prints SQLite's ``EXPLAIN QUERY PLAN`` of the statements each call runs, on
the biggest row. PostgreSQL rows are added when ``--stores`` names ``postgres`` and the server
at ``BMS_XERO_TEST_POSTGRES`` (else ``postgresql://postgres@127.0.0.1:5432/postgres``)
answers; each row uses a schema of its own, dropped afterwards. SQLite runs with its default
``synchronous="FULL"`` (one fsync per commit), so its rates include the disk.

Prints a Markdown table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import _common as c

from bms_xero.jobs import JobKind, JobStatus, JobStore, MemoryJobStore, SQLiteJobStore
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._records import Job

TENANT = "tenant-1"
#: The seeded jobs were created one a millisecond from T0, so they are all due at NOW.
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
LEASE_SECONDS = 300.0
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def seeded_jobs(pending: int, finished: int) -> list[Job]:
    """``finished`` done jobs (one in ten the periodic pull, the rest pushes), then
    ``pending`` pending pushes, oldest first."""
    jobs = []
    for n in range(finished + pending):
        pull = n < finished and n % 10 == 0
        job = t.new_job(
            f"seed-{n:07d}",
            TENANT,
            JobKind.PULL if pull else JobKind.PUSH,
            invoice_id=None if pull else f"I-{n}",
            invoice_number=None if pull else f"INV-{n:07d}",
            now=T0 + timedelta(milliseconds=n),
        )
        if n < finished:
            job = job.evolve(status=JobStatus.DONE, attempts=1, version=3)
        jobs.append(job)
    return jobs


# --- the stores, each with a way to write many jobs at once ------------------------------------


@contextmanager
def memory_store(jobs: Sequence[Job]) -> Iterator[JobStore]:
    store = MemoryJobStore()
    store._jobs.update((job.id, job) for job in jobs)
    yield store


@contextmanager
def sqlite_store(
    jobs: Sequence[Job], synchronous: Literal["FULL", "NORMAL"] = "FULL"
) -> Iterator[JobStore]:
    from bms_xero.jobs import _sqlite

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteJobStore(os.path.join(folder, "jobs.db"), synchronous=synchronous)
        with store._db.transaction("seed jobs", write=True) as conn:
            conn.executemany(_sqlite._INSERT, (_sqlite._encode(job) for job in jobs))
        try:
            yield store
        finally:
            store.close()


def postgres_url() -> str | None:
    """The server to use, or ``None`` when psycopg is missing or nothing answers."""
    try:
        import psycopg
    except ImportError:
        return None
    url = os.environ.get("BMS_XERO_TEST_POSTGRES", "").strip() or POSTGRES_URL
    try:
        psycopg.connect(url, connect_timeout=2, autocommit=True).close()
    except psycopg.Error:
        return None
    return url


@contextmanager
def postgres_store(jobs: Sequence[Job]) -> Iterator[JobStore]:
    import psycopg

    from bms_xero.jobs import PostgresJobStore
    from bms_xero.jobs._postgres import encode

    url = postgres_url()
    assert url is not None
    schema = f"bench_jobs_{uuid.uuid4().hex[:12]}"
    store = PostgresJobStore(url, schema=schema)
    try:
        with store._db.transaction("seed jobs") as cur:
            cur.executemany(store._insert, [encode(job) for job in jobs])
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ANALYZE {schema}.bms_xero_jobs")
        yield store
    finally:
        store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


STORES: dict[str, Callable[[Sequence[Job]], Any]] = {
    "memory": memory_store,
    "sqlite": sqlite_store,
    "postgres": postgres_store,
}


# --- the timed calls ------------------------------------------------------------------------------


def rate(calls: int, seconds: float) -> str:
    return f"{calls / seconds:,.0f}" if seconds > 0 else "n/a"


def millis(call: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``call``, in milliseconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def measure(store: JobStore, ops: int) -> dict[str, object]:
    began = time.perf_counter()
    for k in range(ops):
        store.enqueue_push(TENANT, f"new-{k}", now=NOW)
    enqueue = time.perf_counter() - began

    leased: list[Job] = []
    began = time.perf_counter()
    for _ in range(ops):
        leased.extend(
            store.lease(
                worker_id="w1",
                now=NOW,
                lease_seconds=LEASE_SECONDS,
                limit=1,
                tenant_ids=[TENANT],
                queues=["default"],
            )
        )
    lease = time.perf_counter() - began

    began = time.perf_counter()
    for job in leased:
        store.complete(job, now=NOW)
    complete = time.perf_counter() - began

    repeat = max(3, ops // 20)
    return {
        "enqueue/s": rate(ops, enqueue),
        "lease/s": rate(len(leased), lease),
        "complete/s": rate(len(leased), complete),
        "page ms": millis(lambda: store.list_jobs(tenant_id=TENANT, limit=100), repeat),
        "failed ms": millis(
            lambda: store.list_jobs(tenant_id=TENANT, statuses=[JobStatus.FAILED]), repeat
        ),
        "pull ms": millis(
            lambda: store.list_jobs(tenant_id=TENANT, kinds=[JobKind.PULL], limit=1), repeat
        ),
    }


def sqlite_plans(store: SQLiteJobStore) -> list[str]:
    """SQLite's plan for each statement one enqueue, lease, complete and list run."""
    import sqlite3

    statements: list[str] = []
    # The pool holds one idle connection here, which each call below borrows in turn.
    with store._db.connection() as conn:
        conn.set_trace_callback(statements.append)
    store.enqueue_push(TENANT, "plan-1", now=NOW)
    [job] = store.lease(
        worker_id="w-plan", now=NOW, lease_seconds=LEASE_SECONDS, limit=1,
        tenant_ids=[TENANT], queues=["default"],
    )  # fmt: skip
    store.complete(job, now=NOW)
    store.list_jobs(tenant_id=TENANT, limit=100)
    store.list_jobs(tenant_id=TENANT, statuses=[JobStatus.FAILED])
    store.list_jobs(tenant_id=TENANT, kinds=[JobKind.PULL], limit=1)
    with store._db.connection() as conn:
        conn.set_trace_callback(None)
    lines = []
    seen = set()
    with sqlite3.connect(store.path) as conn:
        for sql in statements:
            head = sql.split()[0].upper()
            if head not in ("SELECT", "UPDATE", "DELETE", "INSERT") or sql in seen:
                continue
            seen.add(sql)
            plan = conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
            lines.append(sql if len(sql) < 160 else sql[:157] + "...")
            lines.extend(f"    {row[3]}" for row in plan)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 5k pending, 50 calls")
    parser.add_argument("--ops", type=int, default=300, help="calls of each kind per row")
    parser.add_argument(
        "--stores", default=None, help="comma-separated: memory,sqlite,postgres (default: all)"
    )
    parser.add_argument("--plans", action="store_true", help="print SQLite's query plans")
    parser.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="SQLite's synchronous setting (NORMAL: no fsync per commit, the store's own work)",
    )
    args = parser.parse_args(argv)
    default_stores = "memory,sqlite" if args.quick else "memory,sqlite,postgres"
    stores = (args.stores or default_stores).split(",")
    if args.quick:
        sizes = [(1_000, 0), (5_000, 0), (1_000, 5_000)]
        args.ops = min(args.ops, 50)
    else:
        sizes = [(1_000, 0), (10_000, 0), (50_000, 0), (1_000, 50_000), (50_000, 50_000)]
    notes = []
    if "postgres" in stores and postgres_url() is None:
        stores.remove("postgres")
        notes.append("PostgreSQL left out: psycopg missing or no server answered.")
    rows = []
    plans: list[str] = []
    for name in stores:
        for pending, finished in sizes:
            jobs = seeded_jobs(pending, finished)
            opened = (
                sqlite_store(jobs, args.synchronous) if name == "sqlite" else STORES[name](jobs)
            )
            with opened as store:
                figures = measure(store, args.ops)
                if args.plans and name == "sqlite" and (pending, finished) == sizes[-1]:
                    plans = sqlite_plans(store)
            rows.append([name, pending, finished, *figures.values()])
    headers = ["store", "pending", "finished", *figures.keys()]
    print(
        f"One tenant's jobs, {args.ops} calls of each kind per row "
        f"(SQLite synchronous={args.synchronous})\n"
    )
    print(c.table(headers, rows))
    for note in notes:
        print(f"\n{note}")
    if plans:
        print("\nSQLite's plans (EXPLAIN QUERY PLAN), biggest row:\n")
        print("\n".join(plans))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
