"""An organisation in FakeXero with a chart, tax rates and contacts, and an engine over it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

from bms_xero import Customer, Invoice, LineItem
from bms_xero.engine import PaymentUpdate, SyncEngine
from bms_xero.storage import MemoryStore, SQLiteStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy

TAX_MAP = {"GST15": "OUTPUT2", "ZERO": "ZERORATEDOUTPUT", "OLD": "OLDGST", "IN": "INPUT2"}


class RecordingSink:
    """A PaymentSink that keeps what it was given (and can be told to fail)."""

    def __init__(self) -> None:
        self.applied: list[PaymentUpdate] = []
        self.fail_with: Exception | None = None

    def apply(self, update: PaymentUpdate) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.applied.append(update)


def make_xero(seed: int = 1, **kwargs: Any) -> FakeXero[Any]:
    xero = FakeXero(seed=seed, short_code="!Demo1", **kwargs)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="260", name="Other Revenue", type="REVENUE")
    xero.add_account(code="210", name="Old Sales", type="REVENUE", status="ARCHIVED")
    xero.add_account(code="400", name="Advertising", type="EXPENSE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    xero.add_tax_rate(tax_type="ZERORATEDOUTPUT", name="Zero Rated", rate=Decimal("0"))
    xero.add_tax_rate(tax_type="OLDGST", name="Old GST", rate=Decimal("12.5"), status="DELETED")
    xero.add_tax_rate(
        tax_type="INPUT2", name="GST on Expenses", rate=Decimal("15"), can_apply_to_revenue=False
    )
    return xero


@pytest.fixture(name="xero")
def _xero() -> FakeXero[Any]:
    return make_xero()


@pytest.fixture(name="store", params=["memory", "sqlite"])
def _store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    store: Any = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield store
    store.close()


@pytest.fixture(name="sink")
def _sink() -> RecordingSink:
    return RecordingSink()


def make_engine(
    xero: FakeXero[Any], store: Any, sink: RecordingSink | None = None, **client_kwargs: Any
) -> SyncEngine:
    client_kwargs.setdefault("retry", RetryPolicy.seeded(7))
    return SyncEngine(
        client=xero.client(**client_kwargs),
        store=store,
        tax_map=TAX_MAP,
        payment_sink=sink,
        clock=xero.clock,
    )


@pytest.fixture(name="engine")
def _engine(xero: FakeXero[Any], store: Any, sink: RecordingSink) -> SyncEngine:
    return make_engine(xero, store, sink)


@pytest.fixture(name="customer")
def _customer(xero: FakeXero[Any]) -> Customer:
    return Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme Ltd"))


def make_invoice(customer: Customer, n: int = 1, **overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": f"I-{n}",
        "number": f"INV-{n:05d}",
        "customer": customer,
        "issue_date": date(2026, 1, 5),
        "due_date": date(2026, 2, 5),
        "lines": (
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("50.00"),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    }
    return Invoice(**(values | overrides))


def with_line(invoice: Invoice, **changes: Any) -> Invoice:
    """The invoice with its first line changed."""
    return attrs.evolve(
        invoice, lines=(attrs.evolve(invoice.lines[0], **changes), *invoice.lines[1:])
    )


def xero_by_number(xero: FakeXero[Any], tenant_id: str | None = None) -> dict[str, list[Any]]:
    """Stored Xero invoices grouped by number (to spot duplicates)."""
    grouped: dict[str, list[Any]] = {}
    for inv in xero.invoices(tenant_id):
        grouped.setdefault(inv["InvoiceNumber"], []).append(inv)
    return grouped


def writes(xero: FakeXero[Any]) -> int:
    return sum(1 for r in xero.requests if r.api == "accounting" and r.method in ("PUT", "POST"))
