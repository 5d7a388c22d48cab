"""The client calls recorded in tests/cassettes, shared by the recorder and the replay tests.

Each scenario makes the same calls in the same order whether it runs against FakeXero (while
``tests/cassettes/record.py`` records) or against a cassette (in ``test_cassettes.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from bms_xero.domain import Customer, Invoice, LineItem, Organisation, XeroInvoice, XeroPayment
from bms_xero.mapping import ChartOfAccounts, TaxRates, invoice_payload
from bms_xero.xero import Connection, ContactResult, InvoiceResult, XeroClient

#: The contact the recorded invoices are for (any GUID works on replay: bodies aren't matched).
CONTACT_ID = "7f0a7c5e-3b8e-4c55-9d0b-6b1de7c1a0f1"
#: Where the pull scenario starts reading (before anything in the recording happened).
SINCE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def payload(number: str, *, account_code: str = "200", contact_id: str = CONTACT_ID) -> dict:
    """A sales invoice element for ``number``."""
    invoice = Invoice(
        id=f"I-{number}",
        number=number,
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("10.0250"),
                account_code=account_code,
                tax_code="GST15",
            ),
        ),
    )
    return invoice_payload(invoice, {"GST15": "OUTPUT2"})


@dataclass
class InvoicesSeen:
    """What the invoices scenario observed."""

    created: list[InvoiceResult]
    fetched: XeroInvoice
    by_number: list[XeroInvoice]
    updated: InvoiceResult


def invoices(client: XeroClient, contact_id: str = CONTACT_ID) -> InvoicesSeen:
    """Create a batch of two (one with an unknown account), read back, look up, update."""
    created = client.create_invoices(
        [
            payload("INV-0001", contact_id=contact_id),
            payload("INV-0002", account_code="999", contact_id=contact_id),
        ],
        idempotency_key="cassette-create-1",
    )
    invoice_id = created[0].invoice_id
    assert invoice_id is not None
    fetched = client.get_invoice(invoice_id)
    by_number = client.get_invoices_by_number(["INV-0001", "INV-0404"])
    change: dict[str, Any] = {
        **payload("INV-0001", contact_id=contact_id),
        "InvoiceID": invoice_id,
        "Reference": "PO-7",
    }
    updated = client.update_invoice(invoice_id, change, idempotency_key="cassette-update-1")
    return InvoicesSeen(created, fetched, by_number, updated)


@dataclass
class PullSeen:
    """What the pull scenario observed."""

    payments: list[XeroPayment]
    invoices: list[XeroInvoice]


def pull(client: XeroClient) -> PullSeen:
    """Payments and invoices changed since SINCE, a page of two at a time."""
    return PullSeen(
        payments=list(client.iter_payments(modified_since=SINCE)),
        invoices=list(client.iter_invoices(modified_since=SINCE, page_size=2)),
    )


@dataclass
class SettingsSeen:
    """What the settings scenario observed."""

    accounts: ChartOfAccounts
    tax_rates: TaxRates
    organisation: Organisation
    connections: list[Connection]
    contacts: list[ContactResult]


def settings(client: XeroClient) -> SettingsSeen:
    """Reference data, the tenants, and a contact created then found by number."""
    return SettingsSeen(
        accounts=client.get_accounts(),
        tax_rates=client.get_tax_rates(),
        organisation=client.get_organisation(),
        connections=client.connections(),
        contacts=client.create_contacts(
            [{"Name": "Globex Ltd", "ContactNumber": "C-2"}], idempotency_key="cassette-contact-1"
        ),
    )


def failures(client: XeroClient) -> Organisation:
    """An offline organisation and a minute 429, both waited out, then the organisation."""
    return client.get_organisation()
