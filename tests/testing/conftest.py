"""Fixtures for FakeXero's tests: an organisation with a small chart of accounts and a contact."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bms_xero.testing import FakeXero
from tests.testing.helpers import Api


def furnish(xero: FakeXero, tenant_id: str | None = None) -> None:
    """The reference data most tests use."""
    xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant_id)
    xero.add_account(code="210", name="Old Sales", status="ARCHIVED", tenant_id=tenant_id)
    xero.add_account(code="090", name="Business Bank Account", type="BANK", tenant_id=tenant_id)
    xero.add_account(code="400", name="Advertising", type="OVERHEADS", tenant_id=tenant_id)
    xero.add_tax_rate(
        tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"), tenant_id=tenant_id
    )
    xero.add_tax_rate(
        tax_type="INPUT2",
        name="GST on Expenses",
        rate=Decimal("15"),
        can_apply_to_revenue=False,
        tenant_id=tenant_id,
    )
    xero.add_tax_rate(
        tax_type="OLDGST",
        name="Old GST",
        rate=Decimal("12.5"),
        status="DELETED",
        tenant_id=tenant_id,
    )


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    xero = FakeXero(seed=7)
    furnish(xero)
    return xero


@pytest.fixture(name="contact_id")
def _contact_id(xero: FakeXero) -> str:
    return xero.add_contact(name="Acme Ltd", contact_number="C-1")


@pytest.fixture(name="api")
def _api(xero: FakeXero) -> Api:
    return Api(xero)
