"""Fixtures: job stores of both kinds, a FakeXero with a chart and a contact, and invoices."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.engine import SyncEngine
from bms_xero.jobs import JobStore, MemoryInvoiceSource, MemoryJobStore, SQLiteJobStore
from bms_xero.storage import MemoryStore, SyncStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy

JobStoreFactory = Callable[[], JobStore]
EngineFactory = Callable[..., SyncEngine]


def counter(prefix: str) -> Callable[[], str]:
    """Readable, deterministic ids: ``job-1``, ``job-2``, ..."""
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


@pytest.fixture(name="make_jobs", params=["memory", "sqlite"])
def _make_jobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStoreFactory]:
    """A factory of fresh job stores of one kind; each is closed afterwards."""
    made: list[MemoryJobStore | SQLiteJobStore] = []

    def make() -> JobStore:
        store: MemoryJobStore | SQLiteJobStore
        if request.param == "memory":
            store = MemoryJobStore(new_id=counter(f"job{len(made)}"))
        else:
            store = SQLiteJobStore(tmp_path / f"jobs-{len(made)}.db")
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


@pytest.fixture(name="jobs")
def _jobs(make_jobs: JobStoreFactory) -> JobStore:
    """One fresh job store (memory, then SQLite)."""
    return make_jobs()


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    """A FakeXero with a revenue account, a 15% tax rate and one contact."""
    xero = FakeXero(seed=7)
    configure(xero, xero.tenant_id)
    return xero


def configure(xero: FakeXero, tenant_id: str) -> str:
    """Give a tenant a revenue account 200, tax type OUTPUT2 at 15% and the contact Acme."""
    xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant_id)
    xero.add_tax_rate(
        tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"), tenant_id=tenant_id
    )
    return xero.add_contact(name="Acme Ltd", tenant_id=tenant_id)


def contact_of(xero: FakeXero, tenant_id: str | None = None) -> str:
    """The ContactID of Acme in the tenant."""
    [contact] = xero.contacts(tenant_id)
    return str(contact["ContactID"])


def invoice(
    n: int, contact_id: str | None, *, amount: str = "100.00", tax_code: str = "GST15"
) -> Invoice:
    """BMS invoice ``I-n`` / ``INV-n`` with one line."""
    return Invoice(
        id=f"I-{n}",
        number=f"INV-{n:04d}",
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("1"),
                unit_amount=Decimal(amount),
                account_code="200",
                tax_code=tax_code,
            ),
        ),
    )


@pytest.fixture(name="store")
def _store() -> MemoryStore:
    """The engines' sync store."""
    return MemoryStore()


@pytest.fixture(name="source")
def _source() -> MemoryInvoiceSource:
    """The BMS's invoices."""
    return MemoryInvoiceSource()


@pytest.fixture(name="make_engine")
def _make_engine(xero: FakeXero, store: SyncStore) -> EngineFactory:
    """Engines on the fake (no client retries, so every failure reaches the worker)."""

    def make(tenant_id: str | None = None, *, sync_store: SyncStore | None = None) -> SyncEngine:
        return SyncEngine(
            client=xero.client(tenant_id, retry=RetryPolicy.none()),
            store=sync_store if sync_store is not None else store,
            tax_map={"GST15": "OUTPUT2"},
            clock=xero.clock,
        )

    return make


def numbers_in_xero(xero: FakeXero, tenant_id: str | None = None) -> list[str]:
    """Every InvoiceNumber the fake holds, sorted (duplicates would show twice)."""
    return sorted(str(i["InvoiceNumber"]) for i in xero.invoices(tenant_id))
