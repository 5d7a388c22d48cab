"""What only the SQLite job store does: one file with the sync store, durability, schema."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bms_xero.engine import SyncEngine
from bms_xero.errors import ConfigurationError, SchemaVersionError, StorageError
from bms_xero.jobs import JobStatus, MemoryInvoiceSource, SQLiteJobStore, Worker
from bms_xero.storage import SQLiteStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import contact_of, invoice, numbers_in_xero

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
