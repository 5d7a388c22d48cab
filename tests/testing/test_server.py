"""FakeXero over real HTTP on loopback: the same API on one host, for other processes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from bms_xero.errors import ConfigurationError
from bms_xero.mapping.wire import encode_json
from bms_xero.testing import FakeServer, FakeXero, serve
from tests.testing.helpers import check, invoice


@pytest.fixture(name="server")
def _server(xero: FakeXero) -> Iterator[FakeServer]:
    with serve(xero) as server:
        yield server


@pytest.fixture(name="http")
def _http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def _token(http: httpx.Client, server: FakeServer) -> str:
    xero = server.xero
    response = http.post(
        server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(xero.client_id, xero.client_secret),
    )
    return str(response.json()["access_token"])


def _headers(http: httpx.Client, server: FakeServer) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {_token(http, server)}",
        "xero-tenant-id": server.xero.tenant_id,
        "Content-Type": "application/json",
    }


def test_serves_on_loopback(server: FakeServer) -> None:
    """The server listens on 127.0.0.1 on a port it picked."""
    assert server.url.startswith("http://127.0.0.1:")


def test_create_and_read_over_http(server: FakeServer, http: httpx.Client, contact_id: str) -> None:
    """A token, a PUT and a GET over loopback behave as through the transport."""
    headers = _headers(http, server)
    body = encode_json({"Invoices": [invoice(contact_id, "INV-0001")]})

    created = http.put(f"{server.api_url}/Invoices", content=body, headers=headers)
    read = http.get(f"{server.api_url}/Invoices", params={"page": "1"}, headers=headers)

    check(created)
    answer = check(read)
    assert (200, 200, ["INV-0001"], Decimal("115.00")) == (
        created.status_code,
        read.status_code,
        [i["InvoiceNumber"] for i in answer["Invoices"]],
        answer["Invoices"][0]["Total"],
    )


def test_rate_limit_headers_over_http(server: FakeServer, http: httpx.Client) -> None:
    """Responses over loopback carry Xero's rate-limit and correlation headers."""
    response = http.get(f"{server.api_url}/Organisation", headers=_headers(http, server))

    check(response)
    assert ("59", True) == (
        response.headers["X-MinLimit-Remaining"],
        "Xero-Correlation-Id" in response.headers,
    )


def test_connections_over_http(server: FakeServer, http: httpx.Client) -> None:
    """/connections is served on the same host."""
    response = http.get(
        server.connections_url, headers={"Authorization": f"Bearer {_token(http, server)}"}
    )

    assert [server.xero.tenant_id] == [c["tenantId"] for c in response.json()]


def test_faults_without_an_answer_drop_the_connection(
    server: FakeServer, http: httpx.Client
) -> None:
    """A timeout or reset fault closes the connection without answering."""
    headers = _headers(http, server)
    server.xero.inject("connection_reset")

    with pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{server.api_url}/Organisation", headers=headers)


def test_unknown_paths_are_404(server: FakeServer, http: httpx.Client) -> None:
    """Paths outside the three APIs get 404."""
    assert 404 == http.get(f"{server.url}/nothing").status_code


def test_non_loopback_is_refused(xero: FakeXero) -> None:
    """Serving on a non-loopback address needs allow_remote=True."""
    with pytest.raises(ConfigurationError, match="loopback"):
        serve(xero, host="192.0.2.1")


def test_close_is_idempotent(xero: FakeXero) -> None:
    """close() may be called twice, and the port is released."""
    server = serve(xero)
    server.close()
    server.close()

    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as http:
        http.get(f"{server.url}/connections")
