"""Fixtures of the app's screen tests: a FakeXero organisation wired in through ``BMS_XERO``,
empty tables, a staff user and a signed-in test client.

Import the fixtures into a test module with ``from tests.contrib.django.app_support import
*``; each test starts from empty tables on the ``default`` (SQLite) database.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest
from django.conf import settings
from django.test import Client, override_settings

from bms_xero import Customer, Invoice, LineItem
from bms_xero.testing import FakeXero
from tests.contrib.django import app_settings
from tests.contrib.django.conftest import migrated

__all__ = ["App", "csrf_token", "make_invoice", "the_app", "the_client", "the_staff"]

CLIENT_ID_ENV = "BMS_XERO_TEST_CLIENT_ID"
CLIENT_SECRET_ENV = "BMS_XERO_TEST_CLIENT_SECRET"


def require_app_settings() -> None:
    """Fail with what to do when Django was configured without the app's test settings."""
    if settings.SETTINGS_MODULE != "tests.contrib.django.app_settings":
        pytest.fail(
            "the app's screen tests need DJANGO_SETTINGS_MODULE=tests.contrib.django.app_settings"
            f" (a superset of the stores' settings), not {settings.SETTINGS_MODULE}: make it the "
            "default in tests/contrib/django/conftest.py",
            pytrace=False,
        )


@attrs.define
class App:
    """One test's world: the fake organisation, the host's invoices, the settings."""

    xero: FakeXero[Any]
    invoices: Any
    tenant_id: str
    contact_id: str
    bms_xero: dict[str, Any]

    def customer(self, linked: bool = True) -> Customer:
        if linked:
            return Customer(id="C-1", name="Acme Ltd", xero_contact_id=self.contact_id)
        return Customer(id="C-2", name="Nobody Yet Ltd")

    def invoice(self, n: int = 1, *, linked: bool = True, **changes: Any) -> Invoice:
        """An invoice of the host, added to its invoice source."""
        invoice = make_invoice(self.customer(linked), n, **changes)
        self.invoices.put(invoice, tenant_id=self.tenant_id)
        return invoice

    def settings(self, **changes: Any) -> Any:
        """``override_settings`` with ``BMS_XERO`` changed."""
        return override_settings(BMS_XERO={**self.bms_xero, **changes})


def make_invoice(customer: Customer, n: int = 1, **overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": f"I-{n}",
        "number": f"INV-{n:04d}",
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


def _wipe() -> None:
    from django.apps import apps
    from django.db import transaction

    with transaction.atomic():  # one commit (one fsync) for all of it
        for model in apps.get_app_config("bms_xero").get_models():
            model.objects.all().delete()
        for label in ("auth.User", "sessions.Session"):
            apps.get_model(label).objects.all().delete()


@pytest.fixture(name="app")
def the_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[App]:
    """A FakeXero organisation (chart, tax rate, a contact) behind ``BMS_XERO``, credentials
    in the environment, empty tables."""
    require_app_settings()
    migrated("sqlite")
    _wipe()
    from bms_xero.jobs import MemoryInvoiceSource

    xero = FakeXero(seed=11, short_code="!Demo1")
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    contact = xero.add_contact(name="Acme Ltd", contact_number="C-1")
    invoices = MemoryInvoiceSource()
    monkeypatch.setattr(app_settings.FAKE, "xero", xero)
    monkeypatch.setattr(app_settings.FAKE, "invoices", invoices)
    monkeypatch.setenv(CLIENT_ID_ENV, xero.client_id)
    monkeypatch.setenv(CLIENT_SECRET_ENV, xero.client_secret)
    values = {**settings.BMS_XERO, "TENANT_ID": xero.tenant_id}
    with override_settings(BMS_XERO=values):
        yield App(
            xero=xero,
            invoices=invoices,
            tenant_id=xero.tenant_id,
            contact_id=contact,
            bms_xero=values,
        )
    _wipe()


@pytest.fixture(name="staff")
def the_staff(app: App) -> Any:
    """A staff user (not a superuser)."""
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("operator", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="bms_xero"))
    return user


@pytest.fixture(name="client")
def the_client(staff: Any) -> Client:
    """A test client signed in as the staff user, enforcing CSRF like a browser."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return client


def csrf_token(client: Client, page: str) -> str:
    """The CSRF token of a form on ``page`` (as a browser would read it), so a POST made
    with it passes the CSRF check."""
    import re

    html = client.get(page).content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None, f"no CSRF token in {page}"
    return found.group(1)
