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

import attrs

from bms_xero.clock import FakeClock
from bms_xero.domain import Customer, Invoice, LineItem, PaymentTerms
from bms_xero.engine import Panel, PaymentUpdate, SyncEngine
from bms_xero.errors import CreditNoteRequired
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
    xero, nz, uk = _organisations()
    sink = _Printer(out)
    with SQLiteStore(db_path) as store:
        demo = _Demo(out, xero, sink, _engines(xero, store, sink, nz=nz, uk=uk), nz, uk)
        out.write(f"bms_xero demo: FakeXero with two organisations, sync state in {db_path}\n\n")
        customers = demo.link_customers()
        invoices = _invoices(customers, issued=xero.clock.now().date())
        by_tenant = {nz: invoices[:4], uk: invoices[4:]}
        failed = demo.push(by_tenant)
        demo.pay()
        demo.pull()
        demo.panels(by_tenant)
        demo.sync_button(invoices[2])
        demo.correct_after_payment(invoices[1])
    out.write(
        f"\nDone: {len(sink.applied)} payment updates applied, {failed} invoice(s) need "
        "attention (see FAILED above).\n"
    )
    return 0


def _organisations() -> tuple[FakeXero[FakeClock], str, str]:
    """A New Zealand organisation (GST) and a United Kingdom one (VAT), each with a chart."""
    xero = FakeXero(seed=2026)
    nz = xero.tenant_id
    uk = xero.add_tenant(name="Demo UK Ltd", short_code="!UKdem", base_currency="GBP")
    xero.add_currency("USD", tenant_id=nz)  # INV-1002 is billed in US dollars
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
    return xero, nz, uk


def _engines(
    xero: FakeXero[FakeClock], store: SQLiteStore, sink: _Printer, *, nz: str, uk: str
) -> dict[str, SyncEngine]:
    """One engine per organisation over one store, each with its own tax map."""
    tax_maps = {nz: {"GST15": "OUTPUT2", "EXPORT": "ZERORATEDOUTPUT"}, uk: {"VAT20": "OUTPUT2"}}
    return {
        tenant: SyncEngine(
            client=xero.client(tenant),
            store=store,
            payment_sink=sink,
            tax_map=tax_map,
            clock=xero.clock,
        )
        for tenant, tax_map in tax_maps.items()
    }


def _line(text: str, qty: str, price: str, tax: str, discount: str | None = None) -> LineItem:
    return LineItem(
        description=text,
        quantity=Decimal(qty),
        unit_amount=Decimal(price),
        account_code="200",
        tax_code=tax,
        discount_rate=None if discount is None else Decimal(discount),
    )


def _invoices(customers: dict[str, Customer], *, issued: date) -> list[Invoice]:
    """Released invoices: four in New Zealand (discounts, terms, a US-dollar one, and one
    whose customer was never linked, which must fail with the message a user would see),
    then one in the United Kingdom."""
    acme, globex, initech, tyrell = (customers[k] for k in ("C-100", "C-200", "C-300", "C-900"))
    fortnight = date.fromordinal(issued.toordinal() + 14)
    return [
        Invoice(
            id="I-1001",
            number="INV-1001",
            customer=acme,
            issue_date=issued,
            payment_terms=PaymentTerms.day_of_following_month(20),
            url="https://bms.example.com/invoices/I-1001",
            lines=(
                _line("Widget (red)", "1", "25.42", "GST15"),
                _line("Widget (blue)", "1", "25.42", "GST15"),
                _line("Widget (green)", "1", "25.42", "GST15"),
                _line("Installation", "1.5", "80.00", "GST15", discount="10"),
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
            lines=(_line("Consulting (export)", "12", "150.0000", "EXPORT"),),
        ),
        Invoice(
            id="I-1003",
            number="INV-1003",
            customer=acme,
            issue_date=issued,
            due_date=fortnight,
            lines=(_line("Support plan", "1", "499.00", "GST15"),),
        ),
        Invoice(
            id="I-1004",
            number="INV-1004",
            customer=initech,
            issue_date=issued,
            due_date=fortnight,
            lines=(_line("Printer toner", "3", "45.00", "GST15"),),
        ),
        Invoice(
            id="I-2001",
            number="UK-2001",
            customer=tyrell,
            issue_date=issued,
            payment_terms=PaymentTerms.days_after_end_of_month(30),
            lines=(_line("Replicant maintenance", "2", "1200.00", "VAT20"),),
        ),
    ]


@attrs.define
class _Demo:
    """The story's steps, each writing what a user would see."""

    out: TextIO
    xero: FakeXero[FakeClock]
    sink: _Printer
    engines: dict[str, SyncEngine]
    nz: str
    uk: str

    def link_customers(self) -> dict[str, Customer]:
        """1. Customers found in Xero by ContactNumber, else created; one left unlinked."""
        self.out.write(
            "1. Link BMS customers to Xero contacts (found by ContactNumber, else created)\n"
        )
        nz, uk = self.engines[self.nz], self.engines[self.uk]
        linked = [
            nz.link_customer(Customer(id="C-100", name="Acme Ltd")),
            nz.link_customer(Customer(id="C-200", name="Globex Corp", email="ap@globex.example")),
            uk.link_customer(Customer(id="C-900", name="Tyrell plc")),
        ]
        initech = Customer(id="C-300", name="Initech")  # never linked: its invoice must fail
        for c in linked:
            self.out.write(f"   {c.id} {c.name} -> Xero contact {c.xero_contact_id}\n")
        self.out.write(f"   {initech.id} {initech.name} -> not linked\n\n")
        return {c.id: c for c in [*linked, initech]}

    def push(self, by_tenant: dict[str, list[Invoice]]) -> int:
        """2. Push, then push again: unchanged invoices send nothing. Returns the failures."""
        self.out.write("2. Push released invoices (one request per batch of up to 50)\n")
        failed = 0
        for tenant, batch in by_tenant.items():
            for outcome in self.engines[tenant].push_many(batch):
                if outcome.result is None:
                    failed += 1
                    self.out.write(f"   FAILED {outcome.error}\n")
                    continue
                r = outcome.result
                diff = (
                    f", BMS total differs by {r.rounding_difference}"
                    if r.rounding_difference
                    else ""
                )
                self.out.write(
                    f"   {r.invoice_number}: {r.action.value} in Xero, total {r.total}{diff}\n"
                )
        again = self.engines[self.nz].push_many(by_tenant[self.nz][:3])
        self.out.write(
            "   pushing again sends nothing for unchanged invoices: "
            + ", ".join(f"{o.invoice_number} {o.result.action.value}" for o in again if o.result)
            + "\n\n"
        )
        return failed

    def pay(self) -> None:
        """3. Three days later, customers pay in Xero."""
        self.out.write("3. Customers pay in Xero\n")
        held = {
            inv["InvoiceNumber"]: inv["InvoiceID"]
            for tenant in (self.nz, self.uk)
            for inv in self.xero.invoices(tenant)
        }
        self.xero.clock.advance(3 * 24 * 3600)
        self.xero.pay(held["INV-1001"], amount=Decimal("211.89"), tenant_id=self.nz)
        self.xero.pay(held["INV-1002"], amount=Decimal("800.00"), tenant_id=self.nz)
        self.xero.pay(held["UK-2001"], amount=Decimal("2880.00"), tenant_id=self.uk)
        self.out.write("   INV-1001 paid in full, INV-1002 part paid, UK-2001 paid in full\n\n")

    def pull(self) -> None:
        """4. The pull tells the BMS (the printing sink) about each payment."""
        self.out.write("4. Pull payments back into the BMS\n")
        for engine in self.engines.values():
            engine.pull()

    def panels(self, by_tenant: dict[str, list[Invoice]]) -> None:
        """5. What the BMS shows beside each invoice."""
        self.out.write("\n5. The integration panel of each invoice\n")
        for tenant, batch in by_tenant.items():
            for invoice in batch:
                _panel(self.out, self.engines[tenant].panel(invoice.id))

    def correct_after_payment(self, invoice: Invoice) -> None:
        """7. A correction to a part-paid invoice: Xero refuses the edit, a credit note for
        the difference does it, and the BMS hears of the credit as of a payment."""
        self.out.write(
            f"\n7. A correction after payment: {invoice.number} bills 10 hours, not 12\n"
        )
        engine = self.engines[self.nz]
        line = attrs.evolve(invoice.lines[0], quantity=Decimal("10"))
        corrected = attrs.evolve(invoice, lines=(line,))
        try:
            engine.push(corrected)
        except CreditNoteRequired as e:
            self.out.write(f"   editing it is refused: {e}\n")
        note = engine.correction_credit_note(corrected, credit_note_id="CN-1001", number="CN-1001")
        result = engine.push_credit_note(note)
        self.out.write(
            f"   {result.credit_note_number}: {result.action.value} in Xero, total "
            f"{result.total}, allocated to {invoice.number} {result.allocated}\n"
            f"   View in Xero {result.view_url}\n"
        )

    def sync_button(self, invoice: Invoice) -> None:
        """6. The "Sync Invoice with Xero Invoice" button."""
        self.out.write(f"\n6. The 'Sync Invoice with Xero Invoice' button on {invoice.number}\n")
        panel = self.engines[self.nz].sync(invoice)
        status = panel.status.value if panel.status else "-"
        self.out.write(
            f"   pushed again at {panel.last_push_at:%Y-%m-%d %H:%M:%S}, pulled at "
            f"{panel.last_pull_at:%Y-%m-%d %H:%M:%S}, status {status}\n"
        )
