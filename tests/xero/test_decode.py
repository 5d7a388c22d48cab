"""Reading Xero's answers (pure): typed errors for every failure, per-element write results."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bms_xero.errors import (
    AuthError,
    DailyLimitReached,
    NotFound,
    RateLimited,
    UnexpectedResponse,
    XeroApiError,
    XeroUnavailable,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.xero import decode_error
from bms_xero.xero._decode import (
    decode_accounts,
    decode_connections,
    decode_contacts,
    decode_invoice_results,
    decode_invoices,
    decode_organisation,
    decode_payments,
    decode_tax_rates,
    parse_retry_after,
    remap_to_request,
)
from tests import spec

from ._support import invoice_json

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _json(value) -> bytes:
    return json.dumps(value).encode()


def _wire(example) -> bytes:
    """A spec example (YAML: floats, strings for dates) as the JSON bytes Xero would send."""
    return json.dumps(example, default=str).encode()


class TestDecodeError:
    def test_validation_exception_keeps_every_message_and_its_element(self):
        """A 400 keeps each message with its element index, number and nested path."""
        body = {
            "ErrorNumber": 10,
            "Type": "ValidationException",
            "Message": "A validation exception occurred",
            "Elements": [
                {
                    "InvoiceNumber": "INV-1",
                    "ValidationErrors": [{"Message": "Invoice # must be unique."}],
                },
                {
                    "InvoiceNumber": "INV-2",
                    "LineItems": [
                        {"ValidationErrors": []},
                        {"ValidationErrors": [{"Message": "Account code '999' is not valid."}]},
                    ],
                },
            ],
        }

        error = decode_error(400, {"Xero-Correlation-Id": "corr-1"}, _json(body), now=NOW)

        assert isinstance(error, XeroValidationError)
        assert (
            XeroValidationMessage("Invoice # must be unique.", 0, "INV-1", ""),
            XeroValidationMessage("Account code '999' is not valid.", 1, "INV-2", "LineItems[1]"),
        ) == error.messages
        assert ("ValidationException", "corr-1", 400) == (
            error.error_type,
            error.correlation_id,
            error.status_code,
        )

    def test_400_without_elements_uses_the_message(self):
        """A 400 with only a Message (e.g. a reused idempotency key) keeps that message."""
        body = {
            "Type": "ValidationException",
            "Message": "Idempotency Key: k is used with a different request.",
        }

        error = decode_error(400, {}, _json(body), now=NOW)

        assert isinstance(error, XeroValidationError)
        assert ["Idempotency Key: k is used with a different request."] == [
            m.message for m in error.messages
        ]

    def test_401_token_expired(self):
        """A 401 problem body names TokenExpired as the error type."""
        body = {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired"}

        error = decode_error(401, {}, _json(body), now=NOW)

        assert (AuthError, "TokenExpired") == (type(error), error.error_type)

    def test_403_names_the_tenant(self):
        """A 403 says the organisation may not be connected, naming it."""
        body = {"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"}

        error = decode_error(403, {}, _json(body), now=NOW, tenant_id="tenant-9")

        assert (AuthError, "AuthenticationUnsuccessful", "tenant-9") == (
            type(error),
            error.error_type,
            error.tenant_id,
        )
        assert "tenant-9" in str(error)

    def test_404(self):
        """A 404 is NotFound."""
        assert NotFound is type(decode_error(404, {}, b"The resource was not found", now=NOW))

    def test_minute_429_carries_retry_after(self):
        """A minute 429 is RateLimited with its problem and Retry-After."""
        error = decode_error(
            429, {"X-Rate-Limit-Problem": "minute", "Retry-After": "17"}, b"", now=NOW
        )

        assert (RateLimited, "minute", 17.0) == (type(error), error.problem, error.retry_after)

    def test_day_429_says_when_it_resets(self):
        """A day 429 is DailyLimitReached, resetting Retry-After seconds from now."""
        error = decode_error(
            429, {"X-Rate-Limit-Problem": "Day", "Retry-After": "66975"}, b"", now=NOW
        )

        assert isinstance(error, DailyLimitReached)
        assert NOW + timedelta(seconds=66975) == error.resets_at
        assert False is error.retryable

    def test_day_429_without_retry_after_parks_for_an_hour(self):
        """A day 429 without Retry-After still says when to try again (an hour)."""
        error = decode_error(429, {"X-Rate-Limit-Problem": "day"}, b"", now=NOW)

        assert isinstance(error, DailyLimitReached)
        assert NOW + timedelta(hours=1) == error.resets_at

    def test_offline_503_is_plain_text(self):
        """A plain-text 503 'The Organisation is offline' is XeroUnavailable, retryable."""
        error = decode_error(503, {}, b"The Organisation is offline", now=NOW)

        assert (XeroUnavailable, "OrganisationOffline", True) == (
            type(error),
            error.error_type,
            error.retryable,
        )

    def test_500_unknown_error(self):
        """A 500 JSON error keeps Xero's type."""
        body = {"ErrorNumber": 500, "Type": "UnknownErrorException", "Message": "An error"}

        error = decode_error(500, {}, _json(body), now=NOW)

        assert (XeroUnavailable, "UnknownErrorException") == (type(error), error.error_type)

    def test_html_is_named_not_quoted(self):
        """An HTML error page becomes a typed error that names it without quoting it."""
        error = decode_error(502, {}, b"<html><body>Bad gateway <script>x</script>", now=NOW)

        assert isinstance(error, XeroUnavailable)
        assert "an HTML page" in str(error)
        assert "<script>" not in str(error)

    def test_other_4xx(self):
        """Statuses without a special meaning are a plain XeroApiError with the status."""
        error = decode_error(405, {}, b"", now=NOW)

        assert (XeroApiError, 405) == (type(error), error.status_code)

    def test_a_success_status_is_unexpected(self):
        """Asked about a 2xx or 3xx, the decoder says the answer was unexpected."""
        assert UnexpectedResponse is type(decode_error(302, {}, b"", now=NOW))

    def test_long_bodies_are_cut(self):
        """A huge plain-text body is cut to a short, single-line snippet."""
        error = decode_error(500, {}, b"x\n" * 10_000, now=NOW)

        assert len(str(error)) < 400


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("5", 5.0),
            ("  2.5 ", 2.5),
            ("-3", 0.0),
            ("soon", None),
            ("nan", None),
            (None, None),
            ("Mon, 05 Jan 2026 09:01:00 GMT", 60.0),
        ],
    )
    def test_forms(self, value, expected):
        """Seconds and HTTP dates are read; anything else is ignored."""
        assert expected == parse_retry_after(value, now=NOW)


class TestInvoiceResults:
    def test_results_are_matched_by_number_not_position(self):
        """Results that come back in another order still land on the right request element."""
        sent = [{"InvoiceNumber": "A"}, {"InvoiceNumber": "B"}]
        body = _json({"Invoices": [invoice_json("B", "id-b"), invoice_json("A", "id-a")]})

        results = decode_invoice_results(sent, body)

        assert [(0, "A", "id-a"), (1, "B", "id-b")] == [
            (r.index, r.invoice_number, r.invoice_id) for r in results
        ]

    def test_elements_without_numbers_fall_back_to_position(self):
        """Elements sent without a number (Xero numbers them) are matched by position."""
        sent = [{"Type": "ACCREC"}, {"Type": "ACCREC"}]
        body = _json({"Invoices": [invoice_json("INV-7", "id-7"), invoice_json("INV-8", "id-8")]})

        results = decode_invoice_results(sent, body)

        assert [("INV-7", "id-7"), ("INV-8", "id-8")] == [
            (r.invoice_number, r.invoice_id) for r in results
        ]

    def test_one_bad_element_does_not_fail_the_others(self):
        """A failed element carries its messages (line items too); the others are ok."""
        bad = invoice_json(
            "B",
            "00000000-0000-0000-0000-000000000000",
            HasErrors=True,
            StatusAttributeString="ERROR",
            ValidationErrors=[{"Message": "Invoice # must be unique."}],
            LineItems=[{"ValidationErrors": [{"Message": "Account code '9' is not valid."}]}],
        )
        body = _json({"Invoices": [invoice_json("A", "id-a"), bad]})

        ok, failed = decode_invoice_results([{"InvoiceNumber": "A"}, {"InvoiceNumber": "B"}], body)

        assert (True, False, None) == (ok.ok, failed.ok, failed.invoice)
        assert (
            XeroValidationMessage("Invoice # must be unique.", 1, "B", ""),
            XeroValidationMessage("Account code '9' is not valid.", 1, "B", "LineItems[0]"),
        ) == failed.errors
        with pytest.raises(XeroValidationError):
            failed.raise_for_errors()

    def test_warnings_are_kept_on_a_saved_element(self):
        """Warnings on a saved invoice are kept without failing it."""
        body = _json({"Invoices": [invoice_json("A", "id-a", Warnings=[{"Message": "Rounded."}])]})

        (result,) = decode_invoice_results([{"InvoiceNumber": "A"}], body)

        assert (True, ("Rounded.",)) == (result.ok, result.warnings)

    def test_a_count_mismatch_is_unexpected(self):
        """Fewer results than elements sent can't be matched and is an UnexpectedResponse."""
        body = _json({"Invoices": [invoice_json("A", "id-a")]})

        with pytest.raises(UnexpectedResponse):
            decode_invoice_results([{"InvoiceNumber": "A"}, {"InvoiceNumber": "B"}], body)

    def test_amounts_stay_exact(self):
        """Amounts in a write's answer are read as exact Decimals."""
        body = b'{"Invoices":[{"InvoiceID":"i","InvoiceNumber":"A","Total":115.10}]}'

        (result,) = decode_invoice_results([{"InvoiceNumber": "A"}], body)

        assert result.invoice is not None
        assert Decimal("115.10") == result.invoice.total

    def test_remap_uses_request_positions(self):
        """A 400's messages are re-indexed to the request by invoice number."""
        error = XeroValidationError(
            [XeroValidationMessage("bad", element_index=0, invoice_number="B")]
        )

        remapped = remap_to_request(error, ["A", "B"])

        assert (1, "B") == (remapped.messages[0].element_index, remapped.invoice_number)


class TestSpecExamples:
    """Xero's published response examples decode into domain values."""

    def test_invoices(self):
        """Every Invoices example in the spec decodes."""
        for where, example in spec.response_examples("Invoices"):
            invoices, _ = decode_invoices(_wire(example))
            assert len(example.get("Invoices", [])) == len(invoices), where

    def test_payments(self):
        """Every Payments example in the spec decodes."""
        for where, example in spec.response_examples("Payments"):
            payments, _ = decode_payments(_wire(example))
            assert len(example.get("Payments", [])) == len(payments), where

    def test_contacts(self):
        """Every Contacts example in the spec decodes."""
        for where, example in spec.response_examples("Contacts"):
            contacts, _ = decode_contacts(_wire(example))
            assert len(example.get("Contacts", [])) == len(contacts), where

    def test_settings(self):
        """The Accounts, TaxRates and Organisations examples decode."""
        accounts = [decode_accounts(_wire(e)) for _, e in spec.response_examples("Accounts")]
        rates = [decode_tax_rates(_wire(e)) for _, e in spec.response_examples("TaxRates")]
        orgs = [decode_organisation(_wire(e)) for _, e in spec.response_examples("Organisations")]

        assert (True, True, True) == (bool(accounts), bool(rates), bool(orgs))

    def test_pagination_is_read(self):
        """The getInvoices example's pagination block is read."""
        example = next(
            e for w, e in spec.response_examples("Invoices") if w.startswith("GET /Invoices ")
        )
        _, page = decode_invoices(_wire(example))

        assert (1, 100, 1, 3) == (page.page, page.page_size, page.page_count, page.item_count)


def test_connections():
    """GET /connections is a bare list of tenants."""
    body = _json(
        [
            {
                "id": "c-1",
                "authEventId": "e-1",
                "tenantId": "t-1",
                "tenantType": "ORGANISATION",
                "tenantName": "Demo Company",
                "createdDateUtc": "2026-01-05T09:00:00.0000000",
                "updatedDateUtc": "2026-01-05T09:00:00.0000000",
            }
        ]
    )

    (connection,) = decode_connections(body)

    assert ("c-1", "t-1", "Demo Company") == (
        connection.id,
        connection.tenant_id,
        connection.tenant_name,
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>", b"null", b"[1]", b'{"Invoices": 3}', b'{"Invoices": [7]}', b"\xff\xfe"],
)
def test_unreadable_bodies_are_unexpected(body):
    """A body of the wrong shape is an UnexpectedResponse, never a KeyError or TypeError."""
    with pytest.raises(UnexpectedResponse):
        decode_invoice_results([{"InvoiceNumber": "A"}], body)
