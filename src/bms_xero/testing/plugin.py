"""pytest fixtures for host test suites: a fresh :class:`FakeXero` per test, and one served.

Installing bms_xero registers this module as a pytest plugin (the ``pytest11`` entry point
``bms_xero``), so a host suite can ask for the fixtures without importing anything::

    def test_pushes_an_invoice(fake_xero):
        client = fake_xero.client()
        ...

    def test_other_process(fake_xero_server):
        run_my_app(api_url=fake_xero_server.api_url, token_url=fake_xero_server.token_url)

With plugin autoloading off (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), load it with ``-p bms_xero``.
(Do not also name this module in ``pytest_plugins`` or ``-p`` while autoloading is on: pytest
refuses a plugin registered under two names.) To change what a test starts with, override
``fake_xero`` in a ``conftest.py``: ``fake_xero_server`` serves whatever ``fake_xero``
returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from bms_xero.clock import FakeClock
from bms_xero.testing._fake import FakeXero
from bms_xero.testing._server import FakeServer, serve

__all__ = ["fake_xero", "fake_xero_server"]


@pytest.fixture
def fake_xero() -> FakeXero[FakeClock]:
    """A fresh :class:`FakeXero` (seed 1, its own :class:`FakeClock`) with a minimal chart.

    The chart is what pushing a sales invoice and paying it need: account ``200`` Sales
    (REVENUE), account ``090`` Business Bank Account (BANK) and tax rate ``OUTPUT2`` GST on
    Income (15%), besides the Rounding system account (``860``) every organisation has. There
    are no contacts: add them with ``add_contact``, or through the API
    (``SyncEngine.link_customer`` creates one).
    """
    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="090", name="Business Bank Account", type="BANK")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    return xero


@pytest.fixture
def fake_xero_server(fake_xero: FakeXero[FakeClock]) -> Iterator[FakeServer]:
    """A :class:`FakeServer` on 127.0.0.1 (a free port) serving this test's ``fake_xero``.

    Set up data and inspect it through ``fake_xero_server.xero`` (the same object as the
    ``fake_xero`` fixture). The server is closed after the test.
    """
    with serve(fake_xero) as server:
        yield server
