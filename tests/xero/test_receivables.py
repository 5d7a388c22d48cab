"""The receivables calls: online invoice links, emailing, currencies, contacts by name and
archived or merged contacts by id, built (pure), decoded (from the spec's examples) and made
against FakeXero."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from bms_xero.domain import Customer, Invoice, LineItem
from bms_xero.errors import InvalidRequest, UnexpectedResponse, XeroValidationError
from bms_xero.mapping import invoice_payload
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy, XeroClient
from bms_xero.xero._calls import (
    build_request,
    contacts_call,
    currencies_call,
    email_invoice_call,
    online_invoice_call,
)
from bms_xero.xero._decode import decode_currencies, decode_online_invoice
from tests import spec

from ._support import ScriptedXero, answer, make_client

INVOICE = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _query(call_url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call_url).query)


# --- calls ---------------------------------------------------------------------------------------


def test_online_invoice_is_a_get_below_the_invoice() -> None:
    """GET /Invoices/{InvoiceID}/OnlineInvoice, nothing else."""
    call = online_invoice_call(INVOICE)
    assert ("GET", f"/Invoices/{INVOICE}/OnlineInvoice", (), b"") == (
        call.method,
        call.path,
        call.query,
        call.body,
    )


def test_email_is_a_keyed_post_of_an_empty_object() -> None:
    """POST .../Email with the spec's RequestEmpty body and the caller's Idempotency-Key."""
    call = email_invoice_call(INVOICE, idempotency_key="k-1")
    request = build_request(call, access_token="t", tenant_id="tenant")
    assert ("POST", f"/Invoices/{INVOICE}/Email", b"{}", "k-1", True) == (
        call.method,
        call.path,
        call.body,
        request.headers.get("Idempotency-Key"),
        call.is_write,
    )


def test_email_needs_a_key_and_an_id() -> None:
    """A write without a key, or without an invoice, is refused unsent."""
    with pytest.raises(InvalidRequest) as keyless:
        email_invoice_call(INVOICE, idempotency_key="")
    with pytest.raises(InvalidRequest) as idless:
        email_invoice_call(" ", idempotency_key="k-1")
    assert ("idempotency_key", "invoice_id") == (keyless.value.argument, idless.value.argument)


def test_currencies_is_a_plain_get() -> None:
    """GET /Currencies."""
    assert ("GET", "/Currencies", ()) == (
        currencies_call().method,
        currencies_call().path,
        currencies_call().query,
    )


def test_contacts_by_id_can_include_archived_ones_and_is_always_paged() -> None:
    """includeArchived=true and page=1 (MergedToContactID comes only with paging)."""
    call = contacts_call(ids=["a", "b"], include_archived=True)
    assert [
        ("IDs", "a,b"),
        ("includeArchived", "true"),
        ("page", "1"),
        ("pageSize", "1000"),
    ] == _query(call.url())


def test_contacts_search_term_is_trimmed_and_required_to_say_something() -> None:
    """searchTerm carries the name; a blank one is refused."""
    call = contacts_call(search_term="  Acme Ltd ", page_size=100)
    assert [("searchTerm", "Acme Ltd"), ("page", "1"), ("pageSize", "100")] == _query(call.url())
    with pytest.raises(InvalidRequest):
        contacts_call(search_term=" ")


# --- decoding ------------------------------------------------------------------------------------


def test_online_invoice_url_decodes_from_the_spec_example() -> None:
    """The spec's getOnlineInvoice example gives its URL."""
    [(_, example)] = list(spec.response_examples("OnlineInvoices"))
    assert "https://in.xero.com/bCWCCfytGdTXoJam9HENWlQt07G6zcDaj4gQojHu" == (
        decode_online_invoice(json.dumps(example).encode())
    )


@pytest.mark.parametrize(
    "body",
    [b'{"OnlineInvoices": []}', b'{"OnlineInvoices": [{"OnlineInvoiceUrl": 3}]}', b"[]", b"<html>"],
)
def test_an_answer_without_a_url_is_unexpected(body: bytes) -> None:
    """No URL (or no JSON) is an UnexpectedResponse, never a KeyError."""
    with pytest.raises(UnexpectedResponse):
        decode_online_invoice(body)


def test_currencies_decode_from_the_spec_examples() -> None:
    """Every Currencies example reads as code -> description."""
    found = [
        decode_currencies(json.dumps(e).encode()) for _, e in spec.response_examples("Currencies")
    ]
    assert [{"NZD": "New Zealand Dollar"}, {"USD": "United States Dollar"}] == found


def test_a_currency_without_a_code_is_unexpected() -> None:
    """A currency must say which it is."""
    with pytest.raises(UnexpectedResponse):
        decode_currencies(b'{"Currencies": [{"Description": "Euro"}]}')


# --- against FakeXero ---------------------------------------------------------------------------


@pytest.fixture(name="xero")
def _xero() -> FakeXero:
    xero = FakeXero(seed=1)
    xero.add_account(code="200", name="Sales", type="REVENUE")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST on Income", rate=Decimal("15"))
    return xero


def _create(client: XeroClient, contact_id: str, status: str = "AUTHORISED") -> str:
    invoice = Invoice(
        id="I-1",
        number="INV-0001",
        customer=Customer(id="C-1", name="Acme Ltd", xero_contact_id=contact_id),
        issue_date=date(2026, 1, 5),
        due_date=date(2026, 2, 5),
        status=status,
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
    [result] = client.create_invoices(
        [invoice_payload(invoice, {"GST15": "OUTPUT2"})], idempotency_key="create-1"
    )
    assert result.invoice is not None and result.invoice.invoice_id is not None
    return result.invoice.invoice_id


def test_the_online_invoice_url_of_an_approved_invoice(xero: FakeXero) -> None:
    """Xero's link is returned as it gave it, the same every time."""
    client = xero.client()
    invoice_id = _create(client, xero.add_contact(name="Acme Ltd"))
    url = client.get_online_invoice_url(invoice_id)
    assert (True, 60, url) == (
        url.startswith("https://in.xero.com/"),
        len(url),
        client.get_online_invoice_url(invoice_id),
    )


def test_a_draft_has_no_online_invoice(xero: FakeXero) -> None:
    """Xero refuses the link of a draft with a validation error."""
    client = xero.client()
    invoice_id = _create(client, xero.add_contact(name="Acme Ltd"), status="DRAFT")
    with pytest.raises(XeroValidationError):
        client.get_online_invoice_url(invoice_id)


def test_email_invoice_sends_one_email_and_marks_it_sent(xero: FakeXero) -> None:
    """Xero emails the contact's address and marks the invoice sent; a resend with the same
    key is a replay, not a second email."""
    client = xero.client()
    invoice_id = _create(client, xero.add_contact(name="Acme Ltd", email="a@acme.example"))
    client.email_invoice(invoice_id, idempotency_key="email-1")
    client.email_invoice(invoice_id, idempotency_key="email-1")
    assert (["a@acme.example"], True) == (
        [e.to for e in xero.emails()],
        xero.invoices()[0]["SentToContact"],
    )


def test_email_to_a_contact_without_an_address_is_refused(xero: FakeXero) -> None:
    """No address: a validation error, and no email."""
    client = xero.client(retry=RetryPolicy.none())
    invoice_id = _create(client, xero.add_contact(name="Acme Ltd"))
    with pytest.raises(XeroValidationError):
        client.email_invoice(invoice_id, idempotency_key="email-1")
    assert [] == xero.emails()


def test_get_currencies_lists_the_base_currency_first(xero: FakeXero) -> None:
    """The base currency, then those enabled."""
    xero.add_currency("USD")
    assert {"NZD": "New Zealand Dollar", "USD": "United States Dollar"} == (
        xero.client().get_currencies()
    )


def test_archived_and_merged_contacts_come_only_when_asked(xero: FakeXero) -> None:
    """By id, a merged contact is left out unless archived ones are included; then it names
    the contact kept."""
    merged = xero.add_contact(name="Acme Ltd")
    kept = xero.add_contact(name="Acme Group")
    xero.merge_contacts(merged, kept)
    client = xero.client()
    [found] = client.get_contacts(ids=[merged], include_archived=True)
    assert ([], "ARCHIVED", kept) == (
        client.get_contacts(ids=[merged]),
        found.status,
        found.merged_to_contact_id,
    )


def test_find_contact_by_name_matches_the_whole_name(xero: FakeXero) -> None:
    """A search that also finds longer names returns only the contact with the name itself,
    whatever its case."""
    xero.add_contact(name="Acme Ltd Holdings")
    wanted = xero.add_contact(name="Acme Ltd")
    client = xero.client()
    found = client.find_contact_by_name("ACME LTD ")
    assert (wanted, None) == (
        None if found is None else found.contact_id,
        client.find_contact_by_name("Zephyr"),
    )


def test_find_contact_by_name_reads_pages_until_it_finds_the_name() -> None:
    """The name can be on a later page of the search; no page after it is read."""
    first = {"Contacts": [{"ContactID": "c-1", "Name": "Acme Ltd Holdings"}]}
    second = {"Contacts": [{"ContactID": "c-2", "Name": "Acme Ltd"}]}
    script = ScriptedXero(answer(200, first), answer(200, second), answer(200, {"Contacts": []}))
    found = make_client(script).find_contact_by_name("Acme Ltd", page_size=1)
    assert ("c-2", ["1", "2"]) == (
        None if found is None else found.contact_id,
        [r.url.params["page"] for r in script.requests],
    )
