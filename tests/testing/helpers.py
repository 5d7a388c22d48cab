"""Talking to FakeXero over HTTP as a client does, checking each answer against the spec."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from bms_xero.mapping.wire import decode_json, encode_json
from bms_xero.testing import FakeXero
from tests.spec import validate

API = "https://api.xero.com/api.xro/2.0"
TOKEN_URL = "https://identity.xero.com/connect/token"
CONNECTIONS_URL = "https://api.xero.com/connections"

# The spec schema each endpoint's 200 body follows.
_SCHEMAS = {
    "invoices": "Invoices",
    "payments": "Payments",
    "batchpayments": "BatchPayments",
    "prepayments": "Prepayments",
    "overpayments": "Overpayments",
    "creditnotes": "CreditNotes",
    "contacts": "Contacts",
    "accounts": "Accounts",
    "taxrates": "TaxRates",
    "currencies": "Currencies",
    "organisation": "Organisations",
    "organisations": "Organisations",
}


def _schema(parts: list[str]) -> str:
    """The schema of a 200 body, from the path's parts after ``/api.xro/2.0``.

    ``PUT /Prepayments/{id}/Allocations`` answers Allocations, and its DELETE
    ``.../Allocations/{AllocationID}`` a bare Allocation (spec, createPrepaymentAllocations and
    deletePrepaymentAllocations; the same for Overpayments and CreditNotes).
    """
    if len(parts) >= 3 and parts[2].lower() == "allocations":
        return "Allocation" if len(parts) == 4 else "Allocations"
    if len(parts) == 3 and parts[0].lower() == "invoices":
        # GET .../OnlineInvoice (getOnlineInvoice); GET and PUT .../History.
        return {"onlineinvoice": "OnlineInvoices", "history": "HistoryRecords"}[parts[2].lower()]
    return _SCHEMAS[parts[0].lower()]


_PROBLEM_KEYS = {"Type", "Title", "Status", "Detail", "Instance", "Extensions"}


def body_of(response: httpx.Response) -> Any:
    """The decoded body (numbers with a fraction as Decimal), text for a 503, ``None`` for
    a 204."""
    if response.status_code == 503:
        return response.text
    if response.status_code == 204:
        return None
    if not response.request.url.path.startswith("/api.xro/2.0/"):
        return response.json() if response.content else None
    return decode_json(response.content)


def check(response: httpx.Response) -> Any:
    """The decoded body, after checking it has the shape Xero's spec (or gateway) gives it."""
    path = response.request.url.path
    body = body_of(response)
    if not path.startswith("/api.xro/2.0/"):
        return body
    if response.status_code == 503:
        assert response.headers["content-type"].startswith("text/plain")
        return body
    if response.status_code == 204:  # emailInvoice: "no content", and none is sent
        assert (b"", None) == (response.content, response.headers.get("content-type"))
        return None
    if response.status_code == 200:
        validate(body, _schema(path.split("/")[3:]))
    elif response.status_code in (401, 403, 429):
        assert _PROBLEM_KEYS == set(body)
    else:
        validate(body, "Error")
    return body


def token(http: httpx.Client, xero: FakeXero) -> str:
    """A custom-connection access token."""
    response = http.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        auth=(xero.client_id, xero.client_secret),
    )
    assert 200 == response.status_code
    return str(response.json()["access_token"])


class Api:
    """An httpx client for one organisation of a fake, with a token and the tenant header.

    Every answer is checked against Xero's spec unless ``checked=False`` (for bulk runs).
    """

    def __init__(
        self, xero: FakeXero, tenant_id: str | None = None, *, checked: bool = True
    ) -> None:
        self.xero = xero
        self.checked = checked
        self.http = httpx.Client(transport=xero.transport)
        self.tenant_id = tenant_id or xero.tenant_id
        self.access_token = token(self.http, xero)

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authorization and tenant headers, plus ``extra``."""
        return {
            "Authorization": f"Bearer {self.access_token}",
            "xero-tenant-id": self.tenant_id,
            **(extra or {}),
        }

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one accounting API call (body written with exact Decimals)."""
        content = None if body is None else encode_json(body)
        extra = {"Content-Type": "application/json", **(headers or {})} if content else headers
        response = self.http.request(
            method,
            API + path,
            content=content,
            params=params,
            headers=self.headers(extra),
        )
        if self.checked:
            check(response)
        return response

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
        """Send and check one call; the status and the decoded body."""
        response = self.send(method, path, body, **kwargs)
        return response.status_code, body_of(response)

    def create(self, *invoices: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
        """PUT invoices with summarizeErrors=false; each element of the answer."""
        status, body = self.call(
            "PUT",
            "/Invoices",
            {"Invoices": list(invoices)},
            params={"summarizeErrors": "false"},
            **kwargs,
        )
        assert 200 == status
        return list(body["Invoices"])

    def invoice(self, invoice_id: str, **params: str) -> dict[str, Any]:
        """GET one invoice."""
        status, body = self.call("GET", f"/Invoices/{invoice_id}", params=params)
        assert 200 == status
        return dict(body["Invoices"][0])


def line(
    amount: str = "100.00",
    quantity: str = "1",
    *,
    account: str = "200",
    tax: str | None = "OUTPUT2",
    **extra: Any,
) -> dict[str, Any]:
    """A line item as a client sends it."""
    out: dict[str, Any] = {
        "Description": "Widget",
        "Quantity": Decimal(quantity),
        "UnitAmount": Decimal(amount),
        "AccountCode": account,
    }
    if tax is not None:
        out["TaxType"] = tax
    out.update(extra)
    return out


def invoice(
    contact_id: str,
    number: str | None = "INV-0001",
    *lines: dict[str, Any],
    status: str = "AUTHORISED",
    issued: date = date(2026, 1, 5),
    due: date | None = date(2026, 2, 5),
    **extra: Any,
) -> dict[str, Any]:
    """A sales invoice as a client sends it (dates as YYYY-MM-DD)."""
    out: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": issued.isoformat(),
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": list(lines) or [line()],
    }
    if number is not None:
        out["InvoiceNumber"] = number
    if due is not None:
        out["DueDate"] = due.isoformat()
    out.update(extra)
    return out


def messages(element: Mapping[str, Any]) -> list[str]:
    """The ValidationErrors messages of one element."""
    return [e["Message"] for e in element.get("ValidationErrors", [])]
