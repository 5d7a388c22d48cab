"""Map a BMS invoice to the JSON body Xero receives, and compute Xero's totals.

Run: python examples/map_invoice.py
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bms_xero import Customer, Invoice, LineItem, PaymentTerms
from bms_xero.mapping import encode_json, invoice_payload, invoice_totals, invoices_body

TAX_MAP = {"GST15": "OUTPUT2"}  # BMS tax code -> Xero TaxType
RATES = {"GST15": Decimal("15")}  # what Xero's TaxRates say OUTPUT2 is

invoice = Invoice(
    id="I-1",
    number="INV-0001",
    customer=Customer(
        id="C-1", name="Acme Ltd", xero_contact_id="9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"
    ),
    issue_date=date(2026, 11, 2),
    payment_terms=PaymentTerms.day_of_following_month(20),
    lines=(
        *(
            LineItem(
                description=f"Widget ({colour})",
                quantity=Decimal("1"),
                unit_amount=Decimal("25.42"),
                account_code="200",
                tax_code="GST15",
            )
            for colour in ("red", "green", "blue")
        ),
        LineItem(
            description="Install",
            quantity=Decimal("1.5"),
            unit_amount=Decimal("80.00"),
            account_code="200",
            tax_code="GST15",
            discount_rate=Decimal("10"),
        ),
    ),
    total=Decimal("211.90"),  # what the BMS computed by taxing the sum, not each line
)

body = invoices_body([invoice_payload(invoice, TAX_MAP)])
print(encode_json(body).decode())

totals = invoice_totals(invoice, RATES)
print(f"Xero totals: sub-total {totals.sub_total}, tax {totals.total_tax}, total {totals.total}")
if invoice.total is not None and invoice.total != totals.total:
    print(f"BMS total {invoice.total} differs from Xero's by {totals.total - invoice.total}")
