"""Recorded HTTP exchanges (tests/cassettes, recorded from FakeXero) replayed through a plain
``httpx.Client`` and ``HttpxTransport``: the wire format the client sends and reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import vcr

from bms_xero.clock import FakeClock
from bms_xero.domain import InvoiceStatus
from bms_xero.xero import RetryPolicy, XeroClient

from . import _scenarios

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
TENANT = "00000000-0000-0000-0000-00000000cafe"


@pytest.fixture(name="replay")
def _replay() -> Iterator:
    """Play cassettes; nothing goes to the network, and every recorded exchange must be used."""
    recorder = vcr.VCR(cassette_library_dir=str(CASSETTES), record_mode="none")
    with ExitStack() as stack:
        played = []

        def play(name: str) -> None:
            played.append(stack.enter_context(recorder.use_cassette(f"{name}.yaml")))

        yield play
        unused = [c._path for c in played if not c.all_played]
    assert [] == unused


def _client(clock: FakeClock | None = None) -> XeroClient:
    # A plain httpx.Client: vcrpy answers at httpx's own transport, so no socket is opened.
    return XeroClient.from_client_credentials(
        "cassette-client-id",
        "cassette-client-secret",
        http_client=httpx.Client(),
        tenant_id=TENANT,
        clock=clock or FakeClock(),
        retry=RetryPolicy.seeded(1),
    )


def test_invoices(replay):
    """A batch create reports each element; read, lookup by number and update round-trip."""
    replay("invoices")

    seen = _scenarios.invoices(_client())

    ok, bad = seen.created
    assert (True, False) == (ok.ok, bad.ok)
    assert ["Account code '999' is not a valid code for this document."] == sorted(
        {m.message for m in bad.errors}
    )
    assert (ok.invoice_id, Decimal("10.0250"), Decimal("23.06")) == (
        seen.fetched.invoice_id,
        seen.fetched.line_items[0].unit_amount,
        seen.fetched.total,
    )
    assert [ok.invoice_id] == [i.invoice_id for i in seen.by_number]
    assert seen.updated.invoice is not None
    assert ("PO-7", InvoiceStatus.AUTHORISED) == (
        seen.updated.invoice.reference,
        seen.updated.invoice.status,
    )


def test_pull(replay):
    """Payments and invoices changed since a time come back, invoices over two pages."""
    replay("pull")

    seen = _scenarios.pull(_client())

    assert [Decimal("10.00"), Decimal("10.00")] == [p.amount for p in seen.payments]
    assert ["INV-0001", "INV-0002", "INV-0003"] == sorted(
        i.invoice_number or "" for i in seen.invoices
    )
    paid = [i for i in seen.invoices if i.amount_paid]
    assert [Decimal("13.06"), Decimal("13.06")] == [i.amount_due for i in paid]


def test_settings(replay):
    """Accounts, tax rates, organisation, connections and a contact create decode."""
    replay("settings")

    seen = _scenarios.settings(_client())

    assert ("200", Decimal("15"), "Demo Company (NZ)") == (
        seen.accounts.revenue_account("200").code,
        seen.tax_rates.revenue_rate("OUTPUT2", tax_code="GST15").effective_rate,
        seen.organisation.name,
    )
    assert 1 == len(seen.connections)
    assert [("Globex Ltd", "C-2")] == [
        (c.contact.name, c.contact.contact_number) for c in seen.contacts if c.contact
    ]


def test_failures(replay):
    """An offline organisation (503) and a minute 429 are waited out, then the call succeeds."""
    replay("failures")
    clock = FakeClock()

    organisation = _scenarios.failures(_client(clock))

    assert "Demo Company (NZ)" == organisation.name
    assert clock.monotonic() >= 60  # the recorded Retry-After was waited out, on the clock
