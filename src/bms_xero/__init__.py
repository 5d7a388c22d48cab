"""bms_xero: keep a business management system and Xero aligned on invoices.

Push released BMS invoices to Xero as sales invoices; pull payments back. See the README and
docs/ for the tour; ``bms_xero.testing.FakeXero`` is an in-memory Xero for your tests.
"""

from bms_xero.domain import (
    Account,
    Allocation,
    AllocationKind,
    Customer,
    Invoice,
    InvoiceStatus,
    LineAmountTypes,
    LineItem,
    Organisation,
    PaymentStatus,
    PaymentTerms,
    PaymentTermType,
    Settlement,
    TaxRate,
    Tracking,
    XeroContact,
    XeroInvoice,
    XeroLineItem,
    XeroPayment,
)
from bms_xero.engine import (
    BmsStatus,
    Panel,
    PaymentSink,
    PaymentUpdate,
    PushAction,
    PushFailure,
    PushOutcome,
    PushResult,
    SyncEngine,
)
from bms_xero.errors import BmsXeroError
from bms_xero.xero import XeroClient

__all__ = [
    "Account",
    "Allocation",
    "AllocationKind",
    "BmsStatus",
    "BmsXeroError",
    "Customer",
    "Invoice",
    "InvoiceStatus",
    "LineAmountTypes",
    "LineItem",
    "Organisation",
    "Panel",
    "PaymentSink",
    "PaymentStatus",
    "PaymentTermType",
    "PaymentTerms",
    "PaymentUpdate",
    "PushAction",
    "PushFailure",
    "PushOutcome",
    "PushResult",
    "Settlement",
    "SyncEngine",
    "TaxRate",
    "Tracking",
    "XeroClient",
    "XeroContact",
    "XeroInvoice",
    "XeroLineItem",
    "XeroPayment",
]
