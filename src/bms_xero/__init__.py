"""bms_xero: keep a business management system and Xero aligned on invoices.

Push released BMS invoices to Xero as sales invoices; pull payments back. See the README and
docs/ for the tour; ``bms_xero.testing.FakeXero`` is an in-memory Xero for your tests.
"""

from bms_xero.domain import (
    Account,
    Customer,
    Invoice,
    InvoiceStatus,
    LineAmountTypes,
    LineItem,
    Organisation,
    PaymentStatus,
    PaymentTerms,
    PaymentTermType,
    TaxRate,
    Tracking,
    XeroContact,
    XeroInvoice,
    XeroLineItem,
    XeroPayment,
)
from bms_xero.errors import BmsXeroError

__all__ = [
    "Account",
    "BmsXeroError",
    "Customer",
    "Invoice",
    "InvoiceStatus",
    "LineAmountTypes",
    "LineItem",
    "Organisation",
    "PaymentStatus",
    "PaymentTermType",
    "PaymentTerms",
    "TaxRate",
    "Tracking",
    "XeroContact",
    "XeroInvoice",
    "XeroLineItem",
    "XeroPayment",
]
