"""The tour from the README: push an invoice to (Fake)Xero, pay it there, pull it back.

Run: python examples/quickstart.py
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bms_xero import Customer, Invoice, LineItem, SyncEngine
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero

xero = FakeXero(seed=1)  # one Xero organisation, in memory
xero.add_account(code="200", name="Sales", type="REVENUE")
xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
contact_id = xero.add_contact(name="Acme Ltd")

engine = SyncEngine(
    client=xero.client(),  # a real XeroClient wired to the fake
    store=MemoryStore(),  # or SQLiteStore("sync.db")
    tax_map={"GST15": "OUTPUT2"},  # BMS tax code -> Xero TaxType
    clock=xero.clock,
)
customer = Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id)
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
pushed = engine.push(invoice)  # -> PushResult
print(f"pushed {pushed.invoice_number}: {pushed.action.value}, Xero total {pushed.total}")

xero.clock.advance(3600)
xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
for update in engine.pull():  # payment/status updates since the last pull
    print(f"pulled {update.invoice_number}: {update.status.value}, due {update.amount_due}")

panel = engine.panel("I-1")  # what the BMS shows beside the invoice
print(f"panel: {panel.status.value if panel.status else '-'}, open in Xero: {panel.view_url}")
engine.sync(invoice)  # the "Sync Invoice with Xero Invoice" button
