"""Building requests (pure): query, headers and bodies as Xero expects them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.errors import InvalidRequest
from bms_xero.mapping import invoice_payload
from bms_xero.xero._calls import (
    build_request,
    connections_call,
    contact_by_number_call,
    create_invoices_call,
    format_modified_since,
    get_invoice_call,
    invoices_call,
    payments_call,
    update_invoice_call,
)
from tests import spec

CONTACT = "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"


def _invoice(number: str = "INV-0001") -> Invoice:
    return Invoice(
        id="I-1",
        number=number,
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=CONTACT),
        issue_date=date(2026, 11, 2),
        due_date=date(2026, 12, 2),
        lines=(
            LineItem(
                description="Widget",
                quantity=Decimal("2"),
                unit_amount=Decimal("10.0250"),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    )


def _payload(number: str = "INV-0001") -> dict:
    return invoice_payload(_invoice(number), {"GST15": "OUTPUT2"})


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


class TestWrites:
    def test_create_sends_put_with_summarize_errors_false_and_the_key(self):
        """A create is a PUT /Invoices with summarizeErrors=false, unitdp=4 and the key."""
        call = create_invoices_call([_payload()], idempotency_key="key-1")
        request = build_request(call, access_token="tok", tenant_id="tenant-1")

        assert ("PUT", "/api.xro/2.0/Invoices") == (request.method, request.path)
        assert {"summarizeErrors": "false", "unitdp": "4"} == _query(request.url)
        assert ("key-1", "tenant-1", "Bearer tok", "application/json") == (
            request.headers["Idempotency-Key"],
            request.headers["xero-tenant-id"],
            request.headers["Authorization"],
            request.headers["Content-Type"],
        )

    def test_create_body_is_valid_per_spec_with_exact_decimals(self):
        """The batch body is a valid Invoices object and keeps 4-dp unit amounts exactly."""
        call = create_invoices_call([_payload("A-1"), _payload("A-2")], idempotency_key="k")
        body = json.loads(call.body, parse_float=Decimal)

        spec.validate(body, "Invoices")
        assert ["A-1", "A-2"] == [i["InvoiceNumber"] for i in body["Invoices"]]
        assert b'"UnitAmount":10.0250' in call.body

    def test_batch_over_fifty_is_refused(self):
        """51 invoices in one request are refused before anything is sent."""
        with pytest.raises(InvalidRequest) as caught:
            create_invoices_call([_payload(f"N-{i}") for i in range(51)], idempotency_key="k")

        assert "payloads" == caught.value.argument

    def test_empty_batch_is_refused(self):
        """An empty batch is refused."""
        with pytest.raises(InvalidRequest):
            create_invoices_call([], idempotency_key="k")

    @pytest.mark.parametrize("key", ["", "   ", "k" * 129, None, "kéy", "line\nbreak"])
    def test_bad_idempotency_keys_are_refused(self, key):
        """Missing, overlong (over 128) or non-header-safe keys are refused."""
        with pytest.raises(InvalidRequest) as caught:
            create_invoices_call([_payload()], idempotency_key=key)

        assert "idempotency_key" == caught.value.argument

    def test_a_key_of_128_characters_is_accepted(self):
        """A key of exactly 128 characters is Xero's maximum and is sent."""
        call = create_invoices_call([_payload()], idempotency_key="k" * 128)

        assert "k" * 128 == call.idempotency_key

    def test_floats_are_refused(self):
        """A float amount in a payload is refused, never rounded onto the wire."""
        payload = {**_payload(), "Total": 1.1}

        with pytest.raises(InvalidRequest):
            create_invoices_call([payload], idempotency_key="k")

    def test_create_refuses_an_invoice_id(self):
        """A create naming an InvoiceID is refused (creating never names one)."""
        with pytest.raises(InvalidRequest):
            create_invoices_call([{**_payload(), "InvoiceID": "x"}], idempotency_key="k")

    def test_update_posts_to_the_invoice(self):
        """An update is POST /Invoices/{id} with the element in an Invoices list."""
        payload = invoice_payload(_invoice(), {"GST15": "OUTPUT2"}, invoice_id="abc")
        call = update_invoice_call("abc", payload, idempotency_key="k")

        assert ("POST", "/Invoices/abc", {"summarizeErrors": "false", "unitdp": "4"}) == (
            call.method,
            call.path,
            dict(call.query),
        )
        assert "abc" == json.loads(call.body)["Invoices"][0]["InvoiceID"]

    def test_update_refuses_a_different_invoice_id(self):
        """An update whose payload names another invoice is refused."""
        with pytest.raises(InvalidRequest):
            update_invoice_call("abc", {"InvoiceID": "def"}, idempotency_key="k")


class TestReads:
    def test_invoice_filters_are_comma_separated(self):
        """List filters go as comma-separated IDs/InvoiceNumbers/ContactIDs/Statuses."""
        call = invoices_call(
            numbers=["INV-1", "INV 2"],
            statuses=["AUTHORISED", "PAID"],
            page=2,
            page_size=100,
        )

        assert {
            "InvoiceNumbers": "INV-1,INV 2",
            "Statuses": "AUTHORISED,PAID",
            "page": "2",
            "pageSize": "100",
            "unitdp": "4",
        } == _query(call.url())

    def test_modified_since_is_a_header_in_utc_to_the_second(self):
        """If-Modified-Since is sent in UTC, rounded down to the second."""
        plus_two = timezone(timedelta(hours=2))
        call = invoices_call(modified_since=datetime(2026, 1, 5, 11, 0, 7, 900_000, plus_two))

        assert (("If-Modified-Since", "2026-01-05T09:00:07"),) == call.headers

    def test_naive_modified_since_is_refused(self):
        """A naive datetime is refused: it would shift with the machine's timezone."""
        with pytest.raises(InvalidRequest):
            format_modified_since(datetime(2026, 1, 5))  # noqa: DTZ001 - the point of the test

    def test_page_size_is_bounded(self):
        """Page sizes above Xero's 1000 are refused."""
        with pytest.raises(InvalidRequest):
            payments_call(page_size=1001)

    def test_a_bare_string_is_not_a_list(self):
        """A single string passed as a list filter is refused instead of split into letters."""
        with pytest.raises(InvalidRequest):
            invoices_call(numbers="INV-1")  # type: ignore[arg-type]

    def test_numbers_with_commas_are_refused_in_list_filters(self):
        """A number containing a comma can't go in InvoiceNumbers=."""
        with pytest.raises(InvalidRequest):
            invoices_call(numbers=["A,B"])

    def test_get_invoice_quotes_the_id(self):
        """The id is one path segment, quoted."""
        assert "/Invoices/a%2Fb" == get_invoice_call("a/b").path

    def test_contact_number_lookup_is_one_quoted_segment(self):
        """A ContactNumber is looked up as one quoted path segment."""
        assert "/Contacts/C%2F1%20x" == contact_by_number_call("C/1 x").path

    def test_connections_is_not_tenant_scoped(self):
        """GET /connections goes to the identity host without xero-tenant-id."""
        request = build_request(connections_call(), access_token="t", tenant_id="tenant-1")

        assert ("https://api.xero.com/connections", False) == (
            request.url,
            "xero-tenant-id" in request.headers,
        )

    def test_reads_send_no_idempotency_key(self):
        """Reads carry no Idempotency-Key and are not writes."""
        call = invoices_call()

        assert (False, None) == (call.is_write, call.idempotency_key)


def test_custom_connection_without_tenant_sends_no_tenant_header():
    """A custom connection's client may omit xero-tenant-id."""
    request = build_request(get_invoice_call("x"), access_token="t", tenant_id=None)

    assert "xero-tenant-id" not in request.headers


def test_modified_since_accepts_utc():
    """An aware UTC datetime is formatted as is."""
    assert "2026-01-05T09:00:00" == format_modified_since(datetime(2026, 1, 5, 9, tzinfo=UTC))


def test_batch_update_refuses_elements_without_invoice_id() -> None:
    """A batch update never sends an element that could be read as a create."""
    from bms_xero.errors import InvalidRequest
    from bms_xero.xero._calls import update_invoices_call

    with pytest.raises(InvalidRequest) as caught:
        update_invoices_call([{"InvoiceID": "a"}, {"InvoiceNumber": "INV-2"}], idempotency_key="k")
    assert "element 1 has no InvoiceID" in str(caught.value)


def test_batch_update_is_post_to_invoices() -> None:
    """A batch update is POST /Invoices with summarizeErrors=false and the key."""
    from bms_xero.xero._calls import update_invoices_call

    call = update_invoices_call([{"InvoiceID": "a"}], idempotency_key="k")
    assert ("POST", "/Invoices", "k") == (call.method, call.path, call.idempotency_key)
    assert ("summarizeErrors", "false") in call.query
