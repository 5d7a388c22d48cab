"""The Xero Integration panel and Admin -> Background Jobs in a Flask host, from bms_xero.views.

Run: python examples/panel_flask.py
(serves http://127.0.0.1:8000 against an in-memory FakeXero with two released invoices;
open /invoices/I-1/xero, /invoices/I-2/xero and /admin/jobs)

The glue is the handful of lines in ``create_app``: each route builds a view model
(``panel_view``, ``job_rows``) or calls the engine, and the templates only print fields. The
Sync button never blocks on Xero: ``engine.sync(..., deadline=2, jobs=jobs)`` answers at once
with "queued" when Xero is busy. POST routes change state: protect them with your usual CSRF
middleware (Flask-WTF's ``CSRFProtect``, say); the demo leaves that out.
"""

from __future__ import annotations

from datetime import UTC, date, tzinfo
from decimal import Decimal

from flask import Flask, abort, redirect, render_template_string, request
from werkzeug.wrappers import Response

from bms_xero import Customer, Invoice, LineItem, SyncEngine
from bms_xero.clock import Clock, FakeClock, SystemClock
from bms_xero.jobs import InvoiceSource, JobStatus, JobStore, MemoryInvoiceSource, MemoryJobStore
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.views import job_rows, panel_view

PANEL = """
<section class="xero-panel {{ v.state.value }}">
  <h2>{{ v.labels.title }} <small>{{ v.state_label }}</small></h2>
  {% if v.status_label %}<p>Status: {{ v.status_label }}</p>{% endif %}
  {% for label, t in [(v.labels.last_push, v.last_push), (v.labels.last_pull, v.last_pull)] %}
    <p>{{ label }}: {% if t %}<time datetime="{{ t.iso }}" title="{{ t.absolute }}">
      {{ t.relative }}</time>{% else %}{{ v.labels.never }}{% endif %}</p>
  {% endfor %}
  {% if v.next_run %}<p>Runs {{ v.next_run.relative }}</p>{% endif %}
  {% if v.error %}<p class="error {{ v.error.code.value }}">{{ v.error.message }}.
    {{ v.error.fix }}</p>{% endif %}
  {% for a in v.actions %}
    {% if a.url %}<a href="{{ a.url }}" target="_blank">{{ a.label }}</a>
    {% else %}<form method="post" action="{{ a.action.value }}"><button>{{ a.label }}</button>
    </form>{% endif %}
  {% endfor %}
</section>
"""

JOBS = """
<table class="jobs">
  <tr><th>Job</th><th>Status</th><th>Attempts</th><th>Next run</th><th>Last error</th></tr>
  {% for r in rows %}
  <tr class="{{ r.status.value }}"><td>{{ r.description }}</td><td>{{ r.status_label }}</td>
    <td>{{ r.attempts }}</td><td>{{ r.next_run.relative if r.next_run else "" }}</td>
    <td>{% if r.error %}{{ r.error.message }}. {{ r.error.fix }}{% endif %}</td>
    <td>{% for a in r.actions %}<form method="post" action="/admin/jobs/{{ r.id }}/{{
      a.action.value }}"><button>{{ a.label }}</button></form>{% endfor %}</td></tr>
  {% endfor %}
</table>
"""


def create_app(
    engine: SyncEngine,
    jobs: JobStore,
    invoices: InvoiceSource,
    *,
    tz: tzinfo = UTC,
    clock: Clock | None = None,
) -> Flask:
    """A Flask app with the panel (HTML and JSON), its Sync button and the jobs page."""
    app = Flask(__name__)
    clock = clock or SystemClock()

    def invoice_of(invoice_id: str) -> Invoice:
        return invoices.get(engine.tenant_id, invoice_id) or abort(404)

    @app.get("/invoices/<invoice_id>/xero")
    def panel(invoice_id: str) -> str:
        view = panel_view(engine, invoice_id, jobs=jobs, now=clock.now(), tz=tz)
        return render_template_string(PANEL, v=view)

    @app.get("/invoices/<invoice_id>/xero.json")
    def panel_json(invoice_id: str) -> dict[str, object]:
        return panel_view(engine, invoice_id, jobs=jobs, now=clock.now(), tz=tz).to_dict()

    @app.post("/invoices/<invoice_id>/sync")
    def sync(invoice_id: str) -> Response:
        engine.sync(invoice_of(invoice_id), deadline=2.0, jobs=jobs)  # never blocks on Xero
        return redirect(f"/invoices/{invoice_id}/xero", code=303)

    def link_and_requeue(invoice_id: str) -> None:
        # Finds the customer's Xero contact (by number, then name) or creates it: a Xero call
        # or two. A host that must never wait queues a link_customer job instead.
        engine.link_customer(invoice_of(invoice_id).customer)
        jobs.enqueue_push(engine.tenant_id, invoice_id, now=clock.now())  # revives a failed one

    @app.post("/invoices/<invoice_id>/link_customer")
    def link_customer(invoice_id: str) -> Response:
        link_and_requeue(invoice_id)
        return redirect(f"/invoices/{invoice_id}/xero", code=303)

    @app.post("/invoices/<invoice_id>/retry")
    def retry(invoice_id: str) -> Response:
        view = panel_view(engine, invoice_id, jobs=jobs, now=clock.now())
        if view.job_id is not None:  # the failed job the panel shows
            jobs.retry_now(view.job_id, now=clock.now())
        return redirect(f"/invoices/{invoice_id}/xero", code=303)

    # Action.RECONNECT posts to /invoices/<id>/reconnect: route it to your connect view.

    @app.get("/admin/jobs")
    def jobs_page() -> str:
        only = {JobStatus.FAILED} if request.args.get("failed") else None
        rows = job_rows(jobs, now=clock.now(), tz=tz, tenant_id=engine.tenant_id, statuses=only)
        return render_template_string(JOBS, rows=rows)

    @app.post("/admin/jobs/<job_id>/<action>")
    def job_action(job_id: str, action: str) -> Response:
        job = jobs.get(job_id) or abort(404)
        if action == "link_customer" and job.invoice_id is not None:
            link_and_requeue(job.invoice_id)
        elif action in ("retry", "run_now"):
            jobs.retry_now(job_id, now=clock.now())
        elif action == "cancel":
            jobs.cancel(job_id, now=clock.now())
        return redirect("/admin/jobs", code=303)

    return app


def demo() -> tuple[Flask, FakeXero[FakeClock], SyncEngine, MemoryJobStore, MemoryInvoiceSource]:
    """The app over a FakeXero: I-1's customer has a Xero contact, I-2's has none yet."""
    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    engine = SyncEngine(
        client=xero.client(), store=MemoryStore(), tax_map={"GST15": "OUTPUT2"}, clock=xero.clock
    )
    line = LineItem(
        description="Widget",
        quantity=Decimal("2"),
        unit_amount=Decimal("50.00"),
        account_code="200",
        tax_code="GST15",
    )
    acme = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme Ltd"))
    initech = Customer(id="C-2", name="Initech")
    invoices = MemoryInvoiceSource(
        Invoice(
            id=f"I-{n}",
            number=f"INV-000{n}",
            customer=customer,
            issue_date=date(2026, 11, 2),
            due_date=date(2026, 12, 2),
            lines=(line,),
        )
        for n, customer in ((1, acme), (2, initech))
    )
    jobs = MemoryJobStore()
    for n in (1, 2):  # the BMS released both: queue their pushes
        jobs.enqueue_push(
            engine.tenant_id, f"I-{n}", invoice_number=f"INV-000{n}", now=xero.clock.now()
        )
    app = create_app(engine, jobs, invoices, clock=xero.clock)
    return app, xero, engine, jobs, invoices


if __name__ == "__main__":
    app, xero, engine, jobs, invoices = demo()
    engine.run_pending(jobs=jobs, source=invoices)  # the worker's part, once
    app.run(port=8000)
