"""The Django stores under the real engine and worker: what a Django BMS runs, end to end on
the fake Xero, on SQLite and on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from bms_xero.contrib.django.stores import DjangoJobStore, DjangoSyncStore
from bms_xero.engine import SyncEngine
from bms_xero.jobs import JobStatus, MemoryInvoiceSource, Worker
from bms_xero.storage import SyncState
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.jobs.conftest import configure, invoice


def test_a_released_invoice_is_pushed_paid_and_pulled(alias: str) -> None:
    """Queue a push, run the worker, pay the invoice in Xero, pull: the Django records say
    pushed, then paid, and the job list shows the push done with no error."""
    xero = FakeXero()  # random ids: a tenant of its own in the shared database
    contact = configure(xero, xero.tenant_id)
    store, jobs = DjangoSyncStore(using=alias), DjangoJobStore(using=alias)
    engine = SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=store,
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
    )
    source = MemoryInvoiceSource()
    bms_invoice = invoice(1, contact)
    source.put(bms_invoice)
    jobs.enqueue_push(
        xero.tenant_id, bms_invoice.id, invoice_number=bms_invoice.number, now=xero.clock.now()
    )
    worker = Worker(engine, jobs, source, clock=xero.clock, worker_id="w1")

    pushed = worker.run_pending()
    record = store.get(xero.tenant_id, bms_invoice.id)
    assert record is not None and record.xero_invoice_id is not None
    xero.pay(record.xero_invoice_id, Decimal("115.00"))
    xero.clock.advance(60)
    jobs.enqueue_pull(xero.tenant_id, now=xero.clock.now())
    pulled = worker.run_pending()

    paid = store.get(xero.tenant_id, bms_invoice.id)
    assert paid is not None
    assert (
        [JobStatus.DONE],
        [JobStatus.DONE],
        SyncState.PUSHED,
        Decimal("115.00"),
        Decimal("0.00"),
    ) == (
        [j.status for j in pushed.jobs],
        [j.status for j in pulled.jobs],
        paid.state,
        paid.amount_paid,
        paid.amount_due,
    )
    assert [(JobStatus.DONE, None)] * 2 == [
        (j.status, j.last_error) for j in jobs.list_jobs(tenant_id=xero.tenant_id)
    ]
