"""FakeXero's transport and XeroClient over httpx2 (httpx's successor) behave as over httpx."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import ModuleType

import httpx
import pytest

from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.errors import TransportError
from bms_xero.mapping import invoice_payload
from bms_xero.testing import FakeXero, serve
from bms_xero.transport import HttpxTransport
from bms_xero.xero import ClientCredentials, RetryPolicy, XeroClient

httpx2 = pytest.importorskip("httpx2")


@pytest.fixture(name="library", params=["httpx", "httpx2"])
def _library(request: pytest.FixtureRequest) -> ModuleType:
    return httpx if request.param == "httpx" else httpx2


def _client(xero: FakeXero, library: ModuleType) -> XeroClient:
    return XeroClient(
        HttpxTransport(library.Client(transport=xero.transport)),
        auth=ClientCredentials(xero.client_id, xero.client_secret),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        retry=RetryPolicy.none(),
    )


def _payload(contact_id: str) -> dict:
    invoice = Invoice(
        id="I-1",
        number="INV-0001",
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("50.00"),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    )
    return invoice_payload(invoice, {"GST15": "OUTPUT2"})


def test_a_client_over_httpx2_pushes_and_reads_back(xero: FakeXero, contact_id: str) -> None:
    """XeroClient over HttpxTransport(httpx2.Client(transport=xero.transport)) creates an
    invoice in the fake and reads it back."""
    client = _client(xero, httpx2)

    (created,) = client.create_invoices([_payload(contact_id)], idempotency_key="k-1")
    assert created.invoice is not None and created.invoice.invoice_id is not None
    fetched = client.get_invoice(created.invoice.invoice_id)

    assert ("INV-0001", Decimal("115.00"), ["INV-0001"]) == (
        fetched.invoice_number,
        fetched.total,
        [i["InvoiceNumber"] for i in xero.invoices()],
    )


def test_the_transport_answers_each_library_with_its_own_types(xero: FakeXero) -> None:
    """One FakeXero.transport serves httpx and httpx2 clients, each getting its own Response."""
    with (
        httpx.Client(transport=xero.transport) as one,
        httpx2.Client(transport=xero.transport) as two,
    ):
        first = one.get("https://api.xero.com/connections")
        second = two.get("https://api.xero.com/connections")

    assert (httpx.Response, httpx2.Response, 401, 401) == (
        type(first),
        type(second),
        first.status_code,
        second.status_code,
    )


@pytest.mark.parametrize(
    ("fault", "sent", "cause"),
    [
        ("timeout_before_commit", True, "ReadTimeout"),
        ("connect_timeout", False, "ConnectTimeout"),
        ("connection_reset", True, "RemoteProtocolError"),
    ],
)
def test_faults_map_to_the_same_transport_error(
    xero: FakeXero, library: ModuleType, fault: str, sent: bool, cause: str
) -> None:
    """An injected network fault is the same typed TransportError over httpx and httpx2,
    caused by that library's own exception."""
    client = _client(xero, library)
    xero.inject(fault, method="GET", path="/Organisation")

    with pytest.raises(TransportError) as caught:
        client.get_organisation()

    assert (sent, cause, library.__name__) == (
        caught.value.sent,
        type(caught.value.__cause__).__name__,
        type(caught.value.__cause__).__module__.split(".")[0],
    )


def test_other_hosts_are_refused_with_httpx2s_connect_error(xero: FakeXero) -> None:
    """A request to a host the fake does not serve raises httpx2.ConnectError."""
    with pytest.raises(httpx2.ConnectError), httpx2.Client(transport=xero.transport) as http:
        http.get("https://example.invalid/")


def test_an_httpx2_client_talks_to_the_fake_server(xero: FakeXero) -> None:
    """Over real loopback HTTP, a client on httpx2 gets its token and the organisation."""
    with serve(xero) as server, httpx2.Client(timeout=10) as http:
        client = XeroClient(
            HttpxTransport(http),
            auth=ClientCredentials(xero.client_id, xero.client_secret, token_url=server.token_url),
            tenant_id=xero.tenant_id,
            clock=xero.clock,
            base_url=server.api_url,
        )
        name = client.get_organisation().name

    assert "Demo Company (NZ)" == name
