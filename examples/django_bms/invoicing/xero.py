"""The host glue: everything this BMS writes to use ``bms_xero.contrib.django``.

``BMS_XERO`` in settings.py names the three classes here (what an invoice and a customer are
for Xero, and what a payment does to the BMS); the app's worker, panel and admin do the rest.
The Release and Link to Xero buttons (one ``queue_push`` and one ``queue_link_customer``
call) are in views.py.
"""

from __future__ import annotations

from django.db import transaction

import bms_xero
from bms_xero.contrib.django import wiring
from invoicing.models import Customer, Invoice


def contact_of(customer: Customer) -> str | None:
    """The customer's Xero ContactID: given in the BMS, or found by a link job."""
    tenant = wiring.get_settings().tenant_id
    code = customer.contact_number
    return customer.xero_contact_id or wiring.get_store().get_contact_id(tenant, code)


def to_xero_customer(customer: Customer) -> bms_xero.Customer:
    """The customer as bms_xero sees it; its code is its id there (jobs and links name it)."""
    return bms_xero.Customer(
        id=customer.contact_number,
        name=customer.name,
        contact_number=customer.contact_number,
        email=customer.email or None,
        xero_contact_id=customer.xero_contact_id or None,
    )


def to_xero_invoice(invoice: Invoice) -> bms_xero.Invoice:
    return bms_xero.Invoice(
        id=str(invoice.pk),
        number=invoice.number,
        customer=to_xero_customer(invoice.customer),
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency_code=invoice.currency,
        lines=tuple(
            bms_xero.LineItem(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                account_code=line.account_code,
                tax_code=line.tax_code,
            )
            for line in invoice.lines.all()
        ),
    )


class Invoices:
    """The InvoiceSource: a released invoice as it is now (``None``: gone, or a draft again)."""

    def get(self, tenant_id: str, invoice_id: str) -> bms_xero.Invoice | None:
        found = (
            Invoice.objects.exclude(status=Invoice.Status.DRAFT)
            .select_related("customer")
            .prefetch_related("lines")
            .filter(pk=int(invoice_id))
            .first()
        )
        return None if found is None else to_xero_invoice(found)


class Customers:
    """The CustomerSource, for "link customer" jobs."""

    def get_customer(self, tenant_id: str, customer_id: str) -> bms_xero.Customer | None:
        found = Customer.objects.filter(contact_number=customer_id).first()
        return None if found is None else to_xero_customer(found)


class Payments:
    """The PaymentSink: what Xero says was paid becomes the BMS invoice's status."""

    def apply(self, update: bms_xero.PaymentUpdate) -> None:
        with transaction.atomic():
            invoice = Invoice.objects.select_for_update().filter(pk=int(update.invoice_id)).first()
            if invoice is None or update.sequence <= invoice.payment_sequence:
                return  # deleted in the BMS, or an update we applied already
            invoice.amount_paid = update.amount_paid
            paid = update.status is bms_xero.BmsStatus.PAID
            invoice.status = Invoice.Status.PAID if paid else Invoice.Status.RELEASED
            invoice.payment_sequence = update.sequence
            invoice.save(update_fields=["amount_paid", "status", "payment_sequence"])
