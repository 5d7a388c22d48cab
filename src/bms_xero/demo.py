"""The whole story on the embedded default: FakeXero plus an SQLite file.

``bms-xero demo`` (or ``python -m bms_xero demo``) runs it: two organisations (New Zealand GST
and United Kingdom VAT), customers linked to Xero contacts, a handful of realistic invoices
(discounts, payment terms, a US-dollar one, one that fails preflight with the message a user
would see), a push, payments made in Xero, a pull, and each invoice's integration panel.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from bms_xero.domain import Customer, Invoice, LineItem, PaymentTerms
from bms_xero.engine import Panel, PaymentUpdate, SyncEngine
from bms_xero.storage import SQLiteStore
from bms_xero.testing import FakeXero

__all__ = ["run"]


class _Printer:
    """Collects payment updates the way a host's PaymentSink would, and prints them."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.applied: list[PaymentUpdate] = []

    def apply(self, update: PaymentUpdate) -> None:
        self.applied.append(update)
        self.out.write(
            f"    BMS applies {update.invoice_number}: {update.status.value}, paid "
            f"{update.amount_paid}, due {update.amount_due}\n"
        )


def _panel(out: TextIO, panel: Panel) -> None:
    out.write(f"  [{panel.invoice_number or panel.invoice_id}]\n")
    if not panel.linked:
        out.write(f"    not in Xero yet; last error: {panel.last_error}\n")
        return
    out.write(
        f"    status       {panel.status.value if panel.status else '-'}"
        f" (Xero: {panel.xero_status}), total {panel.total}, due {panel.amount_due}\n"
    )
    out.write(
        f"    last push    {panel.last_push_at:%Y-%m-%d %H:%M:%S} UTC\n"
        if panel.last_push_at
        else "    last push    -\n"
    )
    out.write(
        f"    last pull    {panel.last_pull_at:%Y-%m-%d %H:%M:%S} UTC\n"
        if panel.last_pull_at
        else "    last pull    -\n"
    )
    out.write(f"    View in Xero {panel.view_url}\n")


def run(db_path: str | Path | None = None, out: TextIO = sys.stdout) -> int:
    """Run the demo, writing its story to ``out``; returns a process exit code."""
    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="bms-xero-demo-")) / "sync.db"
    elif Path(db_path).exists():
        # FakeXero starts empty every run; old sync state would point at invoices it lacks.
        sys.stderr.write(
            f"bms-xero demo: {db_path} already exists; the demo needs a new file "
            "(remove it or choose another --db)\n"
        )
        return 2
    xero = FakeXero(seed=2026)
    nz = xero.tenant_id
    uk = xero.add_tenant(name="Demo UK Ltd", short_code="!UKdem", base_currency="GBP")
    for tenant in (nz, uk):
        xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant)
        xero.add_account(code="260", name="Other Revenue", type="REVENUE", tenant_id=tenant)
        xero.add_account(
            code="210", name="Old Sales", type="REVENUE", status="ARCHIVED", tenant_id=tenant
        )
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"), tenant_id=nz)
    xero.add_tax_rate(
        tax_type="ZERORATEDOUTPUT", name="Zero Rated", rate=Decimal("0"), tenant_id=nz
    )
    xero.add_tax_rate(
        tax_type="OUTPUT2", name="20% (VAT on Income)", rate=Decimal("20"), tenant_id=uk
    )

    store = SQLiteStore(db_path)
    sink = _Printer(out)
    engines = {
        nz: SyncEngine(
            client=xero.client(nz),
            store=store,
            payment_sink=sink,
            tax_map={"GST15": "OUTPUT2", "EXPORT": "ZERORATEDOUTPUT"},
            clock=xero.clock,
        ),
        uk: SyncEngine(
            client=xero.client(uk),
            store=store,
            payment_sink=sink,
            tax_map={"VAT20": "OUTPUT2"},
            clock=xero.clock,
        ),
    }
    out.write(f"bms_xero demo: FakeXero with two organisations, sync state in {db_path}\n\n")

    out.write("1. Link BMS customers to Xero contacts (found by ContactNumber, else created)\n")
    acme = engines[nz].link_customer(Customer(id="C-100", name="Acme Ltd"))
    globex = engines[nz].link_customer(
        Customer(id="C-200", name="Globex Corp", email="ap@globex.example")
    )
    initech = Customer(id="C-300", name="Initech")  # never linked: its invoice must fail
    tyrell = engines[uk].link_customer(Customer(id="C-900", name="Tyrell plc"))
    for c in (acme, globex, tyrell):
        out.write(f"   {c.id} {c.name} -> Xero contact {c.xero_contact_id}\n")
    out.write(f"   {initech.id} {initech.name} -> not linked\n\n")

    def line(text: str, qty: str, price: str, tax: str, discount: str | None = None) -> LineItem:
        return LineItem(
            description=text,
            quantity=Decimal(qty),
            unit_amount=Decimal(price),
            account_code="200",
            tax_code=tax,
            discount_rate=None if discount is None else Decimal(discount),
        )

    issued = xero.clock.now().date()
    nz_invoices = [
        Invoice(
            id="I-1001",
            number="INV-1001",
            customer=acme,
            issue_date=issued,
            payment_terms=PaymentTerms.day_of_following_month(20),
            url="https://bms.example.com/invoices/I-1001",
            lines=(
                line("Widget (red)", "1", "25.42", "GST15"),
                line("Widget (blue)", "1", "25.42", "GST15"),
                line("Widget (green)", "1", "25.42", "GST15"),
                line("Installation", "1.5", "80.00", "GST15", discount="10"),
            ),
            total=Decimal("211.90"),
        ),
        Invoice(
            id="I-1002",
            number="INV-1002",
            customer=globex,
            issue_date=issued,
            payment_terms=PaymentTerms.days_after_invoice_date(30),
            currency_code="USD",
            reference="PO-7781",
            lines=(line("Consulting (export)", "12", "150.0000", "EXPORT"),),
        ),
        Invoice(
            id="I-1003",
            number="INV-1003",
            customer=acme,
            issue_date=issued,
            due_date=date.fromordinal(issued.toordinal() + 14),
            lines=(line("Support plan", "1", "499.00", "GST15"),),
        ),
        Invoice(
            id="I-1004",
            number="INV-1004",
            customer=initech,
            issue_date=issued,
            due_date=date.fromordinal(issued.toordinal() + 14),
            lines=(line("Printer toner", "3", "45.00", "GST15"),),
        ),
    ]
    uk_invoices = [
        Invoice(
            id="I-2001",
            number="UK-2001",
            customer=tyrell,
            issue_date=issued,
            payment_terms=PaymentTerms.days_after_end_of_month(30),
            lines=(line("Replicant maintenance", "2", "1200.00", "VAT20"),),
        ),
    ]

    out.write("2. Push released invoices (one request per batch of up to 50)\n")
    failed = 0
    for tenant, batch in ((nz, nz_invoices), (uk, uk_invoices)):
        for outcome in engines[tenant].push_many(batch):
            if outcome.result is not None:
                r = outcome.result
                diff = (
                    f", BMS total differs by {r.rounding_difference}"
                    if r.rounding_difference
                    else ""
                )
                out.write(
                    f"   {r.invoice_number}: {r.action.value} in Xero, total {r.total}{diff}\n"
                )
            else:
                failed += 1
                out.write(f"   FAILED {outcome.error}\n")
    out.write(
        "   pushing again sends nothing for unchanged invoices: "
        + ", ".join(
            f"{o.invoice_number} {o.result.action.value}"
            for o in engines[nz].push_many(nz_invoices[:3])
            if o.result
        )
        + "\n\n"
    )

    out.write("3. Customers pay in Xero\n")
    by_number = {inv["InvoiceNumber"]: inv for t in (nz, uk) for inv in xero.invoices(t)}
    xero.clock.advance(3 * 24 * 3600)
    xero.pay(by_number["INV-1001"]["InvoiceID"], amount=Decimal("211.89"), tenant_id=nz)
    xero.pay(by_number["INV-1002"]["InvoiceID"], amount=Decimal("800.00"), tenant_id=nz)
    xero.pay(by_number["UK-2001"]["InvoiceID"], amount=Decimal("2880.00"), tenant_id=uk)
    out.write("   INV-1001 paid in full, INV-1002 part paid, UK-2001 paid in full\n\n")

    out.write("4. Pull payments back into the BMS\n")
    for tenant in (nz, uk):
        engines[tenant].pull()
    out.write("\n5. The integration panel of each invoice\n")
    for tenant, batch in ((nz, nz_invoices), (uk, uk_invoices)):
        for inv in batch:
            _panel(out, engines[tenant].panel(inv.id))

    out.write("\n6. The 'Sync Invoice with Xero Invoice' button on INV-1003\n")
    panel = engines[nz].sync(nz_invoices[2])
    status = panel.status.value if panel.status else "-"
    out.write(
        f"   pushed again at {panel.last_push_at:%Y-%m-%d %H:%M:%S}, pulled at "
        f"{panel.last_pull_at:%Y-%m-%d %H:%M:%S}, status {status}\n"
    )
    store.close()
    out.write(
        f"\nDone: {len(sink.applied)} payment updates applied, {failed} invoice(s) need "
        "attention (see FAILED above).\n"
    )
    return 0
