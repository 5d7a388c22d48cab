"""The public surface hosts write against is pinned, so a change to it is deliberate."""

from __future__ import annotations

import bms_xero
import bms_xero.engine
import bms_xero.storage


def test_top_level_names() -> None:
    """`bms_xero` exports the names of architecture section 3, sorted."""
    expected = [
        "Account",
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
        "PushOutcome",
        "PushResult",
        "SyncEngine",
        "TaxRate",
        "Tracking",
        "XeroClient",
        "XeroContact",
        "XeroInvoice",
        "XeroLineItem",
        "XeroPayment",
    ]
    assert expected == bms_xero.__all__
    assert all(hasattr(bms_xero, name) for name in expected)


def test_storage_names() -> None:
    """`bms_xero.storage` exports the stores and their protocols, token stores included."""
    assert {
        "MemoryStore",
        "SQLiteStore",
        "SyncStore",
        "TokenStore",
        "SQLiteTokenStore",
        "MemoryTokenStore",
    } <= set(bms_xero.storage.__all__)


def test_every_exported_name_exists() -> None:
    """Every name in a public module's __all__ is importable from it."""
    import importlib

    for module in (
        "bms_xero",
        "bms_xero.errors",
        "bms_xero.mapping",
        "bms_xero.engine",
        "bms_xero.storage",
        "bms_xero.xero",
        "bms_xero.testing",
        "bms_xero.jobs",
        "bms_xero.webhooks",
        "bms_xero.clock",
        "bms_xero.transport",
    ):
        loaded = importlib.import_module(module)
        missing = [n for n in loaded.__all__ if not hasattr(loaded, n)]
        assert [] == missing, module
