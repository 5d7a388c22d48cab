"""The pytest plugin: host suites get ``fake_xero`` and ``fake_xero_server`` by installing us."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# A host's test file: it imports nothing from bms_xero to get the fixtures.
HOST_TESTS = """
from datetime import date
from decimal import Decimal

import httpx
import pytest

from bms_xero import Customer, Invoice, LineItem, SyncEngine
from bms_xero.storage import MemoryStore

SEEN = []


def test_the_fake_has_a_minimal_chart(fake_xero):
    client = fake_xero.client()
    codes = sorted(account.code for account in client.get_accounts().accounts)
    rates = [rate.tax_type for rate in client.get_tax_rates().rates]
    assert (["090", "200", "860"], ["OUTPUT2"], []) == (codes, rates, fake_xero.contacts())


def test_an_invoice_can_be_pushed_and_paid(fake_xero):
    engine = SyncEngine(
        client=fake_xero.client(), store=MemoryStore(), tax_map={"GST15": "OUTPUT2"},
        clock=fake_xero.clock,
    )
    customer = engine.link_customer(Customer(id="C-1", name="Acme Ltd"))
    invoice = Invoice(
        id="I-1", number="INV-0001", customer=customer,
        issue_date=date(2026, 1, 5), due_date=date(2026, 2, 5),
        lines=(LineItem(description="Widget", quantity=Decimal("1"),
                        unit_amount=Decimal("100.00"), account_code="200", tax_code="GST15"),),
    )
    pushed = engine.push(invoice)
    fake_xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"), account_code="090")
    assert "PAID" == fake_xero.invoice("INV-0001")["Status"]


def test_each_test_gets_a_fresh_fake(fake_xero):
    assert ([], []) == (fake_xero.invoices(), fake_xero.requests)


def test_the_server_serves_this_tests_fake(fake_xero_server, fake_xero):
    xero = fake_xero_server.xero
    with httpx.Client(timeout=10) as http:
        token = http.post(
            fake_xero_server.token_url,
            data={"grant_type": "client_credentials"},
            auth=(xero.client_id, xero.client_secret),
        ).json()["access_token"]
        answer = http.get(
            f"{fake_xero_server.api_url}/Accounts",
            headers={"Authorization": f"Bearer {token}", "xero-tenant-id": xero.tenant_id},
        )
    SEEN.append(fake_xero_server.url)
    assert xero is fake_xero
    assert fake_xero_server.url.startswith("http://127.0.0.1:")
    assert 200 == answer.status_code


def test_the_server_was_closed_after_its_test():
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as http:
        http.get(f"{SEEN[0]}/connections")
"""


def test_a_host_suite_gets_both_fixtures(pytester: pytest.Pytester) -> None:
    """With bms_xero installed, a host's tests use fake_xero and fake_xero_server without
    importing or configuring anything, and each test gets its own fake."""
    pytester.makepyfile(test_host=HOST_TESTS)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=5)


def test_the_fixtures_can_be_overridden(pytester: pytest.Pytester) -> None:
    """A host's own fake_xero replaces the plugin's, and fake_xero_server serves it."""
    pytester.makeconftest(
        """
        import pytest
        from bms_xero.testing import FakeXero

        @pytest.fixture
        def fake_xero():
            return FakeXero(seed=2, organisation_name="Host Ltd")
        """
    )
    pytester.makepyfile(
        test_host="""
        def test_override(fake_xero_server):
            assert "Host Ltd" == fake_xero_server.xero.client().get_organisation().name
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_with_autoload_off_the_plugin_loads_by_name(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PYTEST_DISABLE_PLUGIN_AUTOLOAD set, the fixtures come with ``-p bms_xero``."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_host="def test_it(fake_xero):\n    assert fake_xero.tenant_id\n")

    without = pytester.runpytest("-p", "no:cacheprovider")
    loaded = pytester.runpytest("-p", "no:cacheprovider", "-p", "bms_xero")

    without.assert_outcomes(errors=1)
    loaded.assert_outcomes(passed=1)


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    """The fixture example in docs/testing.md passes as a host's test file."""
    page = Path(__file__).resolve().parents[2] / "docs" / "testing.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
    (example,) = [b for b in blocks if "def test_" in b and "fake_xero_server" in b]
    pytester.makepyfile(test_host=example)

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
