"""The Xero Integration panel and the Background Jobs list as a JSON API, in FastAPI.

Run: uvicorn panel_fastapi:app --app-dir examples --port 8000
(needs ``pip install fastapi uvicorn``; serves an in-memory FakeXero with one released
invoice: GET /invoices/I-1/xero, POST /invoices/I-1/sync, GET /admin/jobs)

For a BMS whose own front end draws the panel: every answer is a view model's ``to_dict()``
(bms_xero.views), so the front end prints fields and never decides anything. The routes are
plain ``def``: FastAPI runs them in its thread pool, where the engine's blocking calls
belong, and the Sync route answers within its deadline whatever Xero does.
"""

from __future__ import annotations

from datetime import UTC, date, tzinfo
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException

from bms_xero import Customer, Invoice, LineItem, SyncEngine
from bms_xero.clock import Clock, SystemClock
from bms_xero.jobs import InvoiceSource, JobStatus, JobStore, MemoryInvoiceSource, MemoryJobStore
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.views import PanelView, job_rows, panel_view


def create_app(
    engine: SyncEngine,
    jobs: JobStore,
    invoices: InvoiceSource,
    *,
    tz: tzinfo = UTC,
    clock: Clock | None = None,
) -> FastAPI:
    """A FastAPI app: the panel, its Sync button, the jobs list and a job's Retry."""
    app = FastAPI()
    clock = clock or SystemClock()

    @app.get("/invoices/{invoice_id}/xero")
    def panel(invoice_id: str) -> dict[str, Any]:
        return panel_view(engine, invoice_id, jobs=jobs, now=clock.now(), tz=tz).to_dict()

    @app.post("/invoices/{invoice_id}/sync")
    def sync(invoice_id: str) -> dict[str, Any]:
        invoice = invoices.get(engine.tenant_id, invoice_id)
        if invoice is None:
            raise HTTPException(404, f"no invoice {invoice_id}")
        outcome = engine.sync(invoice, deadline=2.0, jobs=jobs)  # synced, queued or failed
        view = PanelView.of(outcome, now=clock.now(), tz=tz)
        return {"outcome": outcome.kind.value, "panel": view.to_dict()}

    @app.get("/admin/jobs")
    def jobs_list(failed: bool = False) -> list[dict[str, Any]]:
        only = {JobStatus.FAILED} if failed else None
        rows = job_rows(jobs, now=clock.now(), tz=tz, tenant_id=engine.tenant_id, statuses=only)
        return [row.to_dict() for row in rows]

    @app.post("/admin/jobs/{job_id}/retry")
    def retry(job_id: str) -> dict[str, Any]:
        job = jobs.retry_now(job_id, now=clock.now())
        if job is None:
            raise HTTPException(404, f"no job {job_id}")
        return {"status": job.status.value}

    return app


def demo() -> tuple[FastAPI, SyncEngine, MemoryJobStore, MemoryInvoiceSource]:
    """The app over a FakeXero, with invoice I-1 released (its push queued)."""
    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    engine = SyncEngine(
        client=xero.client(), store=MemoryStore(), tax_map={"GST15": "OUTPUT2"}, clock=xero.clock
    )
    customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme"))
    invoice = Invoice(
        id="I-1",
        number="INV-0001",
        customer=customer,
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 12, 2),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("50.00"),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    )
    jobs = MemoryJobStore()
    jobs.enqueue_push(
        engine.tenant_id, invoice.id, invoice_number=invoice.number, now=xero.clock.now()
    )
    invoices = MemoryInvoiceSource([invoice])
    return create_app(engine, jobs, invoices, clock=xero.clock), engine, jobs, invoices


app = demo()[0]
