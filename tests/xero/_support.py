"""A scripted Xero for unit tests: canned answers through ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from bms_xero.clock import FakeClock
from bms_xero.transport import HttpxTransport
from bms_xero.xero import ClientCredentials, RateLimits, RetryPolicy, XeroClient

TENANT = "8c1ba6c9-5fbd-4c4e-9d4e-3a1f1c1c2a10"
CLIENT_ID = "APP-CLIENT-ID"
CLIENT_SECRET = "s3cr3t-client-secret-value"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def answer(
    status: int = 200,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    """A canned response (JSON when ``body`` is given, else ``text``)."""
    if body is not None:
        return httpx.Response(status, json=body, headers=headers)
    return httpx.Response(status, text=text or "", headers=headers)


def invoice_json(number: str, invoice_id: str, **extra: Any) -> dict[str, Any]:
    """An invoice element as Xero answers a write."""
    return {
        "Type": "ACCREC",
        "InvoiceID": invoice_id,
        "InvoiceNumber": number,
        "Status": "AUTHORISED",
        "Contact": {"ContactID": "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"},
        "Total": 115.0,
        "StatusAttributeString": "OK",
        **extra,
    }


class ScriptedXero:
    """Answers API requests from a queue; the token endpoint issues numbered tokens.

    Attributes:
        requests: Every API request received (token requests are in ``token_requests``).
    """

    def __init__(self, *answers: Answer, token_lifetime: int = 1800) -> None:
        self.queue: list[Answer] = list(answers)
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []
        self.token_lifetime = token_lifetime
        self.tokens_issued = 0

    def add(self, *answers: Answer) -> None:
        """Queue more answers."""
        self.queue.extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "identity.xero.com":
            self.token_requests.append(request)
            self.tokens_issued += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"ACCESS-TOKEN-{self.tokens_issued}",
                    "expires_in": self.token_lifetime,
                    "token_type": "Bearer",
                    "scope": "accounting.invoices",
                },
            )
        self.requests.append(request)
        if not self.queue:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        item = self.queue.pop(0)
        if isinstance(item, Exception):
            raise item
        if callable(item):
            return item(request)
        return item

    def bodies(self) -> list[Any]:
        """The JSON bodies of the API requests."""
        return [json.loads(r.content) if r.content else None for r in self.requests]


def make_client(
    script: ScriptedXero,
    *,
    clock: FakeClock | None = None,
    retry: RetryPolicy | None = None,
    limits: RateLimits | None = None,
    tenant_id: str | None = TENANT,
) -> XeroClient:
    """A real XeroClient over the scripted Xero."""
    http = httpx.Client(transport=httpx.MockTransport(script))
    return XeroClient(
        HttpxTransport(http),
        auth=ClientCredentials(CLIENT_ID, CLIENT_SECRET),
        tenant_id=tenant_id,
        clock=clock or FakeClock(),
        retry=retry or RetryPolicy.seeded(7),
        limits=limits,
    )
