"""DjangoJobStore: the job contract on SQLite and PostgreSQL, workers racing in separate
processes, and the SQLite transaction mode it needs."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bms_xero.contrib.django import models
from bms_xero.contrib.django.stores import DjangoJobStore, advisory_lock_key
from bms_xero.errors import ConfigurationError, StorageError, StorageValueError
from bms_xero.jobs import JobKind, JobStatus, JobStore
from bms_xero.jobs.contract import CHECKS, ContractCheck, run_contract
from tests.contrib.django._race import lease_all
from tests.processes import run_processes

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _tenant() -> str:
    return f"tenant-{uuid.uuid4().hex}"


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_job_store_keeps_the_contract(check: ContractCheck, alias: str) -> None:
    """Each job contract check holds for DjangoJobStore."""
    store = DjangoJobStore(using=alias)
    if check.name == "purge_deletes_old_finished_jobs":
        # The one check that is not confined to its tenant: it counts what a purge of 2001
        # deletes. The PostgreSQL database outlives test runs, so first clear what an
        # interrupted run of this check may have left there (only jobs finished in 2001).
        store.purge(finished_before=datetime(2002, 1, 1, tzinfo=UTC))
    check(store)


def test_run_contract_passes_in_one_call(alias: str) -> None:
    """run_contract, as a host would call it on its own database, returns quietly."""
    store = DjangoJobStore(using=alias)
    assert isinstance(store, JobStore)
    run_contract(lambda: DjangoJobStore(using=alias))


def test_processes_racing_lease_each_job_once(alias: str) -> None:
    """Worker processes leasing from one database never lease the same job twice."""
    total, processes, tenant = 60, 3, _tenant()
    store = DjangoJobStore(using=alias)
    for n in range(total):
        store.enqueue_push(tenant, f"I-{n}", now=T0)
    sqlite_dir = os.environ["BMS_XERO_DJANGO_SQLITE_DIR"]
    reports, _ = run_processes(
        "spawn",
        lease_all,
        [(sqlite_dir, alias, f"w{i}", tenant) for i in range(processes)],
        timeout=120,
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    leased = [job_id for _, ids in reports for job_id in ids]
    assert (total, total) == (len(leased), len(set(leased)))


def test_rows_hold_the_job_values(alias: str) -> None:
    """A link_customer job's row has the value's fields, so the admin reads what the SDK
    documents: the customer, the queue, the kind and status by value."""
    store, tenant = DjangoJobStore(using=alias), _tenant()
    job = store.enqueue_link_customer(tenant, "C-7", now=T0, queue="web")
    row = models.Job.objects.using(alias).get(id=job.id)
    assert ("link_customer", "pending", "C-7", None, "web", T0) == (
        row.kind,
        row.status,
        row.customer_id,
        row.invoice_id,
        row.queue,
        row.created_at,
    )
    assert (job, "Link customer C-7 to Xero") == (row.as_value(), row.as_value().description)


def test_a_row_changed_outside_is_a_storage_error(alias: str) -> None:
    """A job row edited into something no Job can be (a push without its invoice) is
    reported naming the job and the fix, not as a bare ValueError."""
    store, tenant = DjangoJobStore(using=alias), _tenant()
    job = store.enqueue_push(tenant, "I-1", now=T0)
    models.Job.objects.using(alias).filter(id=job.id).update(invoice_id=None)
    with pytest.raises(StorageError, match=f"the job '{job.id}' can't be read"):
        store.get(job.id)


def test_an_over_long_worker_id_is_refused_before_leasing(alias: str) -> None:
    """A worker id longer than the column is a StorageValueError, and no job is leased."""
    store, tenant = DjangoJobStore(using=alias), _tenant()
    job = store.enqueue_push(tenant, "I-1", now=T0)
    with pytest.raises(StorageValueError):
        store.lease(worker_id="w" * 300, now=T0, lease_seconds=60, limit=1, tenant_ids=[tenant])
    stored = store.get(job.id)
    assert JobStatus.PENDING == (stored.status if stored else None)


def test_sqlite_without_immediate_transactions_refuses_to_lease() -> None:
    """On SQLite in the default (deferred) mode, lease raises a ConfigurationError saying
    which OPTIONS to set, before touching a job."""
    store = DjangoJobStore(using="deferred")
    with pytest.raises(ConfigurationError) as caught:
        store.lease(worker_id="w", now=T0, lease_seconds=60, limit=1)
    assert '"OPTIONS": {"transaction_mode": "IMMEDIATE"}' in str(caught.value)


def test_advisory_lock_keys_are_stable_and_distinct() -> None:
    """The lock key of some work is the same in every process (fixed here) and differs
    between pieces of work."""
    push = advisory_lock_key("work", "t1", JobKind.PUSH.value, "I-1")
    assert (push, True) == (
        advisory_lock_key("work", "t1", "push", "I-1"),
        len({push, advisory_lock_key("work", "t1", "push", "I-2"), advisory_lock_key("lease")})
        == 3,
    )
    assert -(2**63) <= push < 2**63


def test_purge_keeps_failed_jobs(alias: str) -> None:
    """purge deletes old done jobs and keeps a failed one for the operator."""
    store, tenant = DjangoJobStore(using=alias), _tenant()
    old = T0 - timedelta(days=400)
    store.enqueue_push(tenant, "I-1", now=old)
    store.enqueue_push(tenant, "I-2", now=old)
    first, second = store.lease(
        worker_id="w", now=old, lease_seconds=60, limit=2, tenant_ids=[tenant]
    )
    store.complete(first, now=old)
    store.fail(second, now=old, error="bad", error_type="X", retry_at=None)
    store.purge(finished_before=old + timedelta(days=1))
    assert [(second.id, JobStatus.FAILED)] == [
        (j.id, j.status) for j in store.list_jobs(tenant_id=tenant)
    ]
