"""Property tests: whatever Xero (or a proxy in between) answers, only our typed errors come out."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.errors import BmsXeroError, XeroApiError
from bms_xero.xero import decode_error
from bms_xero.xero._decode import (
    decode_accounts,
    decode_connections,
    decode_contact_results,
    decode_contacts,
    decode_invoice_results,
    decode_invoices,
    decode_organisation,
    decode_payments,
    decode_tax_rates,
)

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

_KEYS = st.sampled_from(
    [
        "Invoices",
        "InvoiceID",
        "InvoiceNumber",
        "ValidationErrors",
        "Message",
        "Elements",
        "Type",
        "Detail",
        "Title",
        "error",
        "LineItems",
        "Total",
        "Date",
        "pagination",
        "page",
        "pageCount",
        "Payments",
        "Contacts",
        "Organisations",
        "Accounts",
        "TaxRates",
        "HasErrors",
        "StatusAttributeString",
        "Warnings",
        "id",
        "tenantId",
    ]
) | st.text(max_size=8)

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["/Date(1573755038314)/", "/Date(-1+0000)/", "2026-01-05", "ERROR"])
)

_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=25,
)


def _body(value) -> bytes:
    return json.dumps(value).encode()


_BODIES = st.one_of(
    st.binary(max_size=200),
    _JSON.map(_body),
    st.sampled_from(
        [
            b"",
            b"<html><h1>502 Bad Gateway</h1></html>",
            b"The Organisation is offline",
            b'{"Type":"ValidationException","Elements":[{"ValidationErrors":[{"Message":1}]}]}',
            b"[" * 5000,
            b'{"a": 1e999999}',
            b"1" * 5000,
        ]
    ),
)

_HEADERS = st.dictionaries(
    st.sampled_from(["Retry-After", "X-Rate-Limit-Problem", "Xero-Correlation-Id", "Content-Type"])
    | st.text(min_size=1, max_size=10),
    st.text(max_size=30)
    | st.sampled_from(
        ["day", "minute", "60", "-1", "1e308", "inf", "Mon, 05 Jan 2026 09:01:00 GMT"]
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=0, max_value=999), headers=_HEADERS, body=_BODIES)
def test_decode_error_always_returns_a_typed_error(status, headers, body):
    """decode_error returns an XeroApiError for any status, headers and body, and never raises."""
    error = decode_error(status, headers, body, now=NOW, tenant_id="t")

    assert isinstance(error, XeroApiError)
    assert str(error)


_DECODERS = [
    lambda b: decode_invoices(b),
    lambda b: decode_payments(b),
    lambda b: decode_contacts(b),
    decode_accounts,
    decode_tax_rates,
    decode_organisation,
    decode_connections,
    lambda b: decode_invoice_results([{"InvoiceNumber": "A"}], b),
    lambda b: decode_contact_results([{"Name": "A"}], b),
]


@settings(max_examples=300, deadline=None)
@given(body=_BODIES, which=st.integers(min_value=0, max_value=len(_DECODERS) - 1))
def test_success_decoders_raise_only_our_errors(body, which):
    """Every success decoder either returns or raises a bms_xero error, whatever the body."""
    with contextlib.suppress(BmsXeroError):
        _DECODERS[which](body)
