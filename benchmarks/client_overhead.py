"""How much time XeroClient adds per call, against FakeXero and against canned answers.

Run from the repository root::

    .venv/bin/python benchmarks/client_overhead.py [--calls N]

Three measurements per call, each the median of five rounds of N calls:

- ``client + FakeXero``: the real client through ``HttpxTransport`` to FakeXero's transport
  (what a test suite using the fake pays);
- ``client + canned``: the same client, but httpx's ``MockTransport`` answers with a canned
  response, so the fake's own work is left out;
- ``httpx + canned``: a bare ``httpx.Client`` sending the same request to the same canned
  answer, the floor under any httpx-based client.

``client + canned`` minus ``httpx + canned`` is bms_xero's own overhead (building the request,
auth, rate limiter, decoding into domain types); ``client + FakeXero`` minus ``client +
canned`` is the fake's cost. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from bms_xero.clock import FakeClock
from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.mapping import encode_json, invoice_payload
from bms_xero.testing import FakeXero
from bms_xero.transport import HttpxTransport
from bms_xero.xero import ClientCredentials, RateLimits, RetryPolicy, XeroClient

UNLIMITED = RateLimits(per_minute=1_000_000_000, concurrent=5)
TAX_MAP = {"GST15": "OUTPUT2"}


def _payload(contact_id: str, number: str) -> dict[str, Any]:
    invoice = Invoice(
        id=number,
        number=number,
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        lines=tuple(
            LineItem(
                description=f"Widget {n}",
                quantity=Decimal("2"),
                unit_amount=Decimal("10.0250"),
                account_code="200",
                tax_code="GST15",
            )
            for n in range(3)
        ),
    )
    return invoice_payload(invoice, TAX_MAP)


def _fake() -> tuple[FakeXero, str]:
    xero = FakeXero(seed=1, minute_limit=1_000_000_000, day_limit=1_000_000_000)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    return xero, xero.add_contact(name="Acme Ltd")


def _timed(run: Callable[[int], None], calls: int) -> float:
    """Median seconds per call over five rounds."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        run(calls)
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


def _canned_client(answers: dict[str, httpx.Response]) -> tuple[XeroClient, httpx.Client]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 1800})
        canned = answers[request.method]
        return httpx.Response(canned.status_code, headers=canned.headers, content=canned.content)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = XeroClient(
        HttpxTransport(http),
        auth=ClientCredentials("id", "secret"),
        tenant_id="tenant",
        clock=FakeClock(),
        retry=RetryPolicy.none(),
        limits=UNLIMITED,
    )
    return client, http


def _repeat(call: Callable[[], object]) -> Callable[[int], None]:
    def run(n: int) -> None:
        for _ in range(n):
            call()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description="XeroClient overhead per call")
    parser.add_argument("--calls", type=int, default=300, help="calls per round (default 300)")
    calls = parser.parse_args().calls

    xero, contact_id = _fake()
    fake_client = xero.client(limits=UNLIMITED, retry=RetryPolicy.none())
    seed = fake_client.create_invoices([_payload(contact_id, "SEED-1")], idempotency_key="seed")
    invoice_id = seed[0].invoice_id or ""

    # Canned answers: exactly what the fake answered, so both sides decode the same bytes.
    raw = httpx.Client(transport=xero.transport)
    token = ClientCredentials(xero.client_id, xero.client_secret).access_token(
        HttpxTransport(raw), xero.clock
    )
    headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": xero.tenant_id}
    base = "https://api.xero.com/api.xro/2.0"
    one = [_payload(contact_id, "C-0")]
    body = encode_json({"Invoices": one})
    get_url = f"{base}/Invoices/{invoice_id}?unitdp=4"
    org_url = f"{base}/Organisation"
    put_url = f"{base}/Invoices?summarizeErrors=false&unitdp=4"
    get_answer = raw.get(get_url, headers=headers)
    org_answer = raw.get(org_url, headers=headers)
    put_answer = raw.put(put_url, headers=headers, content=body)
    canned_get, get_http = _canned_client({"GET": get_answer})
    canned_org, org_http = _canned_client({"GET": org_answer})
    canned_put, put_http = _canned_client({"PUT": put_answer})
    counter = iter(range(10**9))

    def create_fake() -> None:
        i = next(counter)
        fake_client.create_invoices([_payload(contact_id, f"B-{i}")], idempotency_key=f"b{i}")

    def create_canned() -> None:
        canned_put.create_invoices(one, idempotency_key=f"c{next(counter)}")

    rows = [
        (
            "get_invoice",
            _timed(_repeat(lambda: fake_client.get_invoice(invoice_id)), calls),
            _timed(_repeat(lambda: canned_get.get_invoice(invoice_id)), calls),
            _timed(_repeat(lambda: get_http.get(get_url, headers=headers)), calls),
        ),
        (
            "get_organisation",
            _timed(_repeat(fake_client.get_organisation), calls),
            _timed(_repeat(canned_org.get_organisation), calls),
            _timed(_repeat(lambda: org_http.get(org_url, headers=headers)), calls),
        ),
        (
            "create_invoices (1)",
            _timed(_repeat(create_fake), calls),
            _timed(_repeat(create_canned), calls),
            _timed(_repeat(lambda: put_http.put(put_url, headers=headers, content=body)), calls),
        ),
    ]

    print(f"XeroClient overhead per call ({calls} calls x 5 rounds, median)\n")
    print(
        f"{'call':<22}{'client+FakeXero':>18}{'client+canned':>16}{'httpx+canned':>15}"
        f"{'bms_xero adds':>15}{'calls/s (fake)':>16}"
    )
    for name, fake_s, canned_s, floor_s in rows:
        print(
            f"{name:<22}{fake_s * 1e6:>15.0f} µs{canned_s * 1e6:>13.0f} µs"
            f"{floor_s * 1e6:>12.0f} µs{(canned_s - floor_s) * 1e6:>12.0f} µs"
            f"{1 / fake_s:>16,.0f}"
        )


if __name__ == "__main__":
    main()
