"""Record the cassettes in this folder from FakeXero (not from live Xero).

Run from the repository root::

    .venv/bin/python tests/cassettes/record.py

Each scenario in ``tests/xero/_scenarios.py`` runs through the real ``XeroClient`` and
``HttpxTransport`` while vcrpy records. FakeXero's transport is wrapped in an
``httpx.MockTransport`` because vcrpy patches httpx's own transport classes, not custom ones.
Secrets are scrubbed before anything is written: the ``Authorization`` header, the
``xero-tenant-id`` header, the token endpoint's form fields and every token in its answers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import vcr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.xero import _scenarios  # noqa: E402

from bms_xero.testing import FakeXero  # noqa: E402 - after the path set-up
from bms_xero.xero import RetryPolicy, XeroClient  # noqa: E402

HERE = Path(__file__).resolve().parent
TENANT_PLACEHOLDER = "00000000-0000-0000-0000-00000000cafe"
_TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def scrub_request(request: Any) -> Any:
    """Drop secret form fields from token endpoint requests (API bodies stay byte-exact)."""
    if request.uri.endswith("/connect/token") and request.body:
        kept = [
            (k, v)
            for k, v in parse_qsl(request.body.decode())
            if k not in ("client_secret", "refresh_token", "code", "code_verifier")
        ]
        request.body = urlencode(kept).encode()
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Replace every token in a token endpoint answer with a placeholder."""
    body = response["body"]["string"]
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return response
    if isinstance(data, dict) and any(field in data for field in _TOKEN_FIELDS):
        for field in _TOKEN_FIELDS:
            if field in data:
                data[field] = f"REDACTED-{field.upper()}"
        scrubbed = json.dumps(data).encode()
        response["body"]["string"] = scrubbed
        for name in list(response["headers"]):
            if name.lower() == "content-length":
                response["headers"][name] = [str(len(scrubbed))]
    return response


def recorder() -> vcr.VCR:
    """vcrpy, configured to scrub secrets and the tenant id."""
    return vcr.VCR(
        cassette_library_dir=str(HERE),
        record_mode="all",
        filter_headers=[("authorization", None), ("xero-tenant-id", TENANT_PLACEHOLDER)],
        before_record_request=scrub_request,
        before_record_response=scrub_response,
        decode_compressed_response=True,
    )


def fake() -> tuple[FakeXero, str]:
    """An organisation with a revenue account, GST and one contact."""
    xero = FakeXero(seed=20260105)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    contact_id = xero.add_contact(name="Acme Ltd", contact_number="C-1")
    return xero, contact_id


def client_for(xero: FakeXero) -> XeroClient:
    """A real client whose httpx transport vcrpy can see."""
    recordable = httpx.MockTransport(xero.transport.handle_request)
    return XeroClient.from_client_credentials(
        xero.client_id,
        xero.client_secret,
        http_client=httpx.Client(transport=recordable),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        retry=RetryPolicy.seeded(1),  # reproducible waits, so re-recording changes nothing
    )


def record(name: str, scenario: Callable[[XeroClient], object], xero: FakeXero) -> None:
    """Run ``scenario`` against ``xero`` while recording ``name``.yaml."""
    path = HERE / f"{name}.yaml"
    path.unlink(missing_ok=True)
    with recorder().use_cassette(path.name):
        scenario(client_for(xero))
    print(f"recorded {path.relative_to(ROOT)}")


def main() -> None:
    xero, contact_id = fake()
    record("invoices", lambda c: _scenarios.invoices(c, contact_id), xero)

    xero, contact_id = fake()
    created = xero.client().create_invoices(
        [_scenarios.payload(f"INV-{n:04}", contact_id=contact_id) for n in range(1, 4)],
        idempotency_key="setup",
    )
    for result in created[:2]:
        assert result.invoice_id is not None
        xero.pay(result.invoice_id, amount=Decimal("10.00"))
    xero.clock.advance(60)
    record("pull", _scenarios.pull, xero)

    xero, _ = fake()
    record("settings", _scenarios.settings, xero)

    xero, _ = fake()
    other_process = xero.client()
    for _ in range(60):  # another process spends this minute's budget
        other_process.get_organisation()
    xero.inject("offline_503", method="GET", path="/Organisation")
    record("failures", _scenarios.failures, xero)


if __name__ == "__main__":
    main()
