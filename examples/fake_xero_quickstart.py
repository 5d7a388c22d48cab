"""FakeXero in five minutes: Xero's rules, limits and failures without a Xero account.

Run it: ``python examples/fake_xero_quickstart.py``. It talks to the fake over HTTP with plain
httpx, exactly as a client talks to api.xero.com, and prints what Xero would say.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from bms_xero.mapping.wire import decode_json, encode_json
from bms_xero.testing import FakeXero

API = "https://api.xero.com/api.xro/2.0"


def main() -> None:
    # One organisation with a chart of accounts, a tax rate and a customer; seeded ids.
    xero = FakeXero(seed=2026)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_account(code="090", name="Business Bank Account", type="BANK")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    contact_id = xero.add_contact(name="Acme Ltd", contact_number="C-1")

    # A custom-connection token from the identity endpoint, then calls with the tenant header.
    http = httpx.Client(transport=xero.transport)
    token = http.post(
        "https://identity.xero.com/connect/token",
        data={"grant_type": "client_credentials"},
        auth=(xero.client_id, xero.client_secret),
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": xero.tenant_id}

    def send(
        method: str, path: str, body: Any = None, *, extra: dict[str, str] | None = None
    ) -> httpx.Response:
        content = None if body is None else encode_json(body)
        # summarizeErrors=false: every element answers for itself, with HTTP 200.
        return http.request(
            method,
            API + path,
            content=content,
            params={"summarizeErrors": "false"} if content else None,
            headers=headers | (extra or {}),
        )

    # Three lines of 10.03 at 15%: Xero rounds tax per line, so the tax is 4.50, not 4.51.
    line = {
        "Description": "Widget",
        "Quantity": Decimal("1"),
        "UnitAmount": Decimal("10.03"),
        "AccountCode": "200",
        "TaxType": "OUTPUT2",
    }
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "InvoiceNumber": "INV-0001",
        "Date": "2026-01-05",
        "DueDate": "2026-02-05",
        "Status": "AUTHORISED",
        "LineItems": [line, line, line],
    }
    created = decode_json(send("PUT", "/Invoices", {"Invoices": [invoice]}).content)
    stored = created["Invoices"][0]
    print(f"created {stored['InvoiceNumber']}: total {stored['Total']}, tax {stored['TotalTax']}")

    # The same number again: Xero's own message.
    again = decode_json(send("PUT", "/Invoices", {"Invoices": [invoice]}).content)
    print(f"duplicate number: {again['Invoices'][0]['ValidationErrors'][0]['Message']}")

    # The customer pays in Xero; a pull with If-Modified-Since sees the invoice change.
    xero.clock.advance(600)
    xero.pay(stored["InvoiceID"], amount=Decimal("20.00"))
    pulled = decode_json(
        send("GET", "/Invoices", extra={"If-Modified-Since": "2026-01-05T09:05:00Z"}).content
    )["Invoices"][0]
    print(f"after payment: paid {pulled['AmountPaid']}, due {pulled['AmountDue']}")

    # A write whose answer is lost after Xero committed it, retried with the same key.
    xero.inject("timeout_after_commit", method="PUT", path="/Invoices")
    second = dict(invoice, InvoiceNumber="INV-0002")
    key = {"Idempotency-Key": "push-INV-0002"}
    try:
        send("PUT", "/Invoices", {"Invoices": [second]}, extra=key)
    except httpx.ReadTimeout:
        print("lost answer: httpx.ReadTimeout (but Xero stored the invoice)")
    retried = send("PUT", "/Invoices", {"Invoices": [second]}, extra=key)
    print(f"retry with the same Idempotency-Key: {retried.status_code}, replayed, no duplicate")

    # Xero's rate-limit headers, and the fake's request log for counting calls.
    print(f"calls left this minute: {retried.headers['X-MinLimit-Remaining']}")
    print(
        f"invoices stored: {len(xero.invoices())}; PUT /Invoices calls: "
        f"{xero.count_requests('PUT', '/Invoices')}"
    )


if __name__ == "__main__":
    main()
