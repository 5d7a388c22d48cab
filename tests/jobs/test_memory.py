"""The in-memory helpers: the invoice source for tests, and a closed job store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bms_xero.errors import StorageError
from bms_xero.jobs import InvoiceSource, MemoryInvoiceSource, MemoryJobStore
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
