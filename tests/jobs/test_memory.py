"""The in-memory helpers: the invoice source for tests, a closed job store, and the job
store's indexes."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.errors import LeaseLost, StorageError
from bms_xero.jobs import InvoiceSource, Job, JobStatus, MemoryInvoiceSource, MemoryJobStore
from tests.jobs.conftest import invoice

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_invoice_source_scopes_by_tenant_when_asked() -> None:
    """An invoice put for one tenant is seen only there; one put without a tenant by all."""
    contact = "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"
    shared, own = invoice(1, contact), invoice(2, contact)
    source = MemoryInvoiceSource([shared])
    source.put(own, tenant_id="t1")
    assert isinstance(source, InvoiceSource)
    found = [source.get(t, i) for t in ("t1", "t2") for i in ("I-1", "I-2")]
    assert [shared, own, shared, None] == found
    source.delete("I-1")
    assert None is source.get("t1", "I-1")


def test_a_closed_memory_store_refuses_work() -> None:
    """After close() the memory job store raises StorageError, like the SQLite one."""
    jobs = MemoryJobStore()
    jobs.close()
    with pytest.raises(StorageError, match="closed"):
        jobs.enqueue_pull("t1", now=T0)


def test_a_repeated_job_id_is_refused() -> None:
    """An id generator that repeats itself is a StorageError, not a silent overwrite."""
    jobs = MemoryJobStore(new_id=lambda: "same")
    jobs.enqueue_push("t1", "I-1", now=T0)
    with pytest.raises(StorageError, match="'same' twice"):
        jobs.enqueue_push("t1", "I-2", now=T0)


def _indexes_match(jobs: MemoryJobStore) -> None:
    """The store's indexes hold exactly what its jobs say, and nothing emptied stays."""
    stored = jobs._jobs
    live = {i: j for i, j in stored.items() if j.status in (JobStatus.PENDING, JobStatus.LEASED)}
    by_work: dict[tuple[str, str, str], dict[str, Job]] = {}
    for job_id, job in stored.items():
        by_work.setdefault(job.dedupe_key, {})[job_id] = job
    assert (live, by_work) == (jobs._live, jobs._work)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 8), st.integers(0, 3), st.integers(0, 2)), max_size=40))
def test_the_indexes_follow_every_change(steps: list[tuple[int, int, int]]) -> None:
    """Whatever is enqueued, leased, completed, failed, released, retried, cancelled or
    purged, the indexes an enqueue, a lease and a completion read agree with the jobs."""
    jobs, now, leased = MemoryJobStore(), T0, []
    for op, n, tenant in steps:
        now += timedelta(seconds=7)
        tenant_id, invoice_id = f"t{tenant}", f"I-{n}"
        if op == 0:
            jobs.enqueue_push(tenant_id, invoice_id, now=now)
        elif op == 1:
            jobs.enqueue_pull(tenant_id, now=now)
        elif op == 2:
            leased += jobs.lease(worker_id="w", now=now, lease_seconds=10, limit=n + 1)
        elif op in (3, 4, 5) and leased:
            job = leased.pop(n % len(leased))
            with contextlib.suppress(LeaseLost):  # its lease may have run out
                if op == 3:
                    jobs.complete(job, now=now)
                elif op == 4:
                    retry = None if n % 2 else now + timedelta(seconds=5)
                    jobs.fail(job, now=now, error="x", error_type="XeroError", retry_at=retry)
                else:
                    jobs.release(job, now=now, run_after=now)
        elif op == 6:
            jobs.retry_failed(now=now, tenant_id=tenant_id if n % 2 else None)
        elif op == 7:
            listed = jobs.list_jobs(limit=1000)
            if listed:
                jobs.cancel(listed[n % len(listed)].id, now=now)
        elif op == 8:
            jobs.purge(finished_before=now - timedelta(seconds=20 * n))
        _indexes_match(jobs)
