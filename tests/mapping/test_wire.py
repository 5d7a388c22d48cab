"""The mapping between BMS invoices and Xero's JSON, checked against Xero's own spec."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bms_xero import InvoiceStatus, LineAmountTypes, PaymentStatus, PaymentTerms, Tracking
from bms_xero.errors import MissingContactId, TaxCodeError, UnexpectedResponse
from bms_xero.mapping import (
    decode_json,
    encode_json,
    invoice_payload,
    invoices_body,
    parse_accounts,
    parse_contacts,
    parse_invoice,
    parse_invoices,
    parse_organisation,
    parse_payments,
    parse_tax_rates,
)
from bms_xero.mapping._dates import (
    format_ms_date,
    format_ms_datetime,
    parse_date,
    parse_datetime,
)
from tests import spec
from tests.strategies import CURRENCIES
from tests.test_domain import CONTACT, invoice, line

TAX_MAP = {"GST15": "OUTPUT2"}


def wire(value: Any) -> Any:
    """What Xero would receive: our bytes, parsed back with exact decimals."""
    return decode_json(encode_json(value))


def test_payload_shape() -> None:
    """A BMS invoice becomes an ACCREC element with PascalCase names and YYYY-MM-DD dates."""
    built = invoice(
        reference="PO 7",
        url="https://bms.example.com/i/1",
        currency_code="NZD",
        lines=(
            line(
                discount_rate=Decimal("10"),
                item_code="W-1",
                tracking=(Tracking(name="Region", option="North"),),
            ),
        ),
    )
    expected = {
        "Type": "ACCREC",
        "Contact": {"ContactID": CONTACT},
        "InvoiceNumber": "INV-0001",
        "Date": "2026-11-02",
        "DueDate": "2026-12-02",
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "CurrencyCode": "NZD",
        "Reference": "PO 7",
        "Url": "https://bms.example.com/i/1",
        "LineItems": [
            {
                "Description": "Widget",
                "Quantity": Decimal("2"),
                "UnitAmount": Decimal("50.00"),
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
                "DiscountRate": Decimal("10"),
                "ItemCode": "W-1",
                "Tracking": [{"Name": "Region", "Option": "North"}],
            }
        ],
    }
    assert expected == wire(invoice_payload(built, TAX_MAP))


def test_payload_validates_against_spec() -> None:
    """The request body validates against components/schemas/Invoices."""
    body = invoices_body([invoice_payload(invoice(), TAX_MAP)])
    spec.validate(wire(body), "Invoices")


def test_update_carries_invoice_id() -> None:
    """An update names the Xero invoice it changes."""
    xero_id = "243216c5-369e-4056-ac67-05388f86dc81"
    assert xero_id == invoice_payload(invoice(), TAX_MAP, invoice_id=xero_id)["InvoiceID"]


def test_due_date_from_terms() -> None:
    """Without a due date, the payload's DueDate comes from the payment terms."""
    built = invoice(due_date=None, payment_terms=PaymentTerms.day_of_following_month(20))
    assert "2026-12-20" == invoice_payload(built, TAX_MAP)["DueDate"]


def test_amounts_written_exactly() -> None:
    """Amounts reach the wire as their exact decimal text, never through a float."""
    built = invoice(lines=(line(quantity=Decimal("0.3333"), unit_amount=Decimal("1234567.1234")),))
    raw = encode_json(invoice_payload(built, TAX_MAP))
    assert b'"Quantity":0.3333,"UnitAmount":1234567.1234' in raw


def test_encode_refuses_floats() -> None:
    """A float anywhere in a body is a programming error, caught before sending."""
    with pytest.raises(TypeError):
        encode_json({"Amount": 1.1})


def test_unmapped_tax_code_is_typed() -> None:
    """A tax code missing from the map names the code and the line."""
    with pytest.raises(TaxCodeError) as caught:
        invoice_payload(invoice(lines=(line(), line(tax_code="EXEMPT"))), TAX_MAP)
    assert ("EXEMPT", "not_mapped", ("lines[1].tax_code",)) == (
        caught.value.tax_code,
        caught.value.reason,
        caught.value.paths,
    )


def test_unlinked_customer_is_typed() -> None:
    """A customer without a Xero contact id can't be mapped, and the error says what to do."""
    built = invoice(customer=invoice().customer.__class__(id="C-9", name="New Co"))
    with pytest.raises(MissingContactId) as caught:
        invoice_payload(built, TAX_MAP)
    assert "sync the customer first" in str(caught.value)


def test_spec_currency_codes_cover_strategies() -> None:
    """Currencies our property tests draw are ones Xero's spec lists."""
    allowed = set(spec.accounting()["components"]["schemas"]["CurrencyCode"]["enum"])
    assert set(CURRENCIES) <= allowed


# --- read side -----------------------------------------------------------------------------


def examples(name: str) -> list[tuple[str, Any]]:
    """The spec's response examples as Xero would send them (JSON text, read exactly)."""
    return [
        (where, decode_json(body if isinstance(body, str) else json.dumps(body)))
        for where, body in spec.response_examples(name)
    ]


def test_every_spec_invoice_example_parses() -> None:
    """Every Invoices response example in Xero's spec parses into read-side types."""
    found = examples("Invoices")
    assert found, "the spec has Invoices examples"
    for where, body in found:
        parsed = parse_invoices(body)
        assert len(body["Invoices"]) == len(parsed), where
        for raw, inv in zip(body["Invoices"], parsed, strict=True):
            assert raw.get("InvoiceID") == inv.invoice_id, where
            assert Decimal(str(raw.get("Total", 0))) == inv.total, where


@pytest.mark.parametrize(
    ("name", "parse"),
    [
        ("Payments", parse_payments),
        ("Contacts", parse_contacts),
        ("Accounts", parse_accounts),
        ("TaxRates", parse_tax_rates),
        ("Organisations", parse_organisation),
    ],
)
def test_other_spec_examples_parse(name: str, parse: Any) -> None:
    """The spec's examples for the other endpoints we read parse without error."""
    found = examples(name)
    assert found, f"the spec has {name} examples"
    for _, body in found:
        parse(body)


def test_spec_get_invoice_example_details() -> None:
    """The spec's single-invoice example reads with its dates, status and payments intact."""
    where, body = next((w, b) for w, b in examples("Invoices") if w.startswith("GET /Invoices/"))
    parsed = parse_invoices(body)[0]
    raw = body["Invoices"][0]
    assert raw["Status"] == parsed.status, where
    assert isinstance(parsed.status, InvoiceStatus)
    assert parse_date(raw["Date"]) == parsed.date
    assert parsed.updated_at is not None and parsed.updated_at.tzinfo is not None


def test_ms_json_dates() -> None:
    """Both MS-JSON forms read as UTC; date-only values are never shifted."""
    assert datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC) == parse_datetime(
        "/Date(1573755038314)/"
    )
    assert datetime(2019, 2, 21, 23, 59, 9, 320000, tzinfo=UTC) == parse_datetime(
        "/Date(1550793549320+0000)/"
    )
    assert date(2019, 3, 11) == parse_date("/Date(1552262400000+0000)/")
    assert date(2019, 3, 11) == parse_date("2019-03-11T00:00:00")
    assert datetime(2019, 11, 14, 18, 10, 38, tzinfo=UTC) == parse_datetime("2019-11-14T18:10:38Z")


def _ms_by_expression(text: str) -> datetime | None:
    """What ``_parse_ms`` read before its shortcut: the regular expression alone."""
    from datetime import timedelta, timezone

    from bms_xero.mapping._dates import _EPOCH, _MS_DATE

    match = _MS_DATE.fullmatch(text) or _MS_DATE.fullmatch(text.strip())
    if match is None:
        return None
    millis, sign, hours, minutes = match.groups()
    instant = _EPOCH + timedelta(milliseconds=int(millis))
    if sign is None or hours == minutes == "00":
        return instant
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return instant.astimezone(timezone(offset if sign == "+" else -offset))


@given(
    st.one_of(
        st.integers(-(10**13), 10**14).map(str),
        st.from_regex(r"-?[0-9\u0660-\u0669]{1,14}([+-][0-9]{4})?", fullmatch=True),
        st.text(max_size=20),
    ).flatmap(
        lambda inner: st.sampled_from(
            [f"/Date({inner})/", f"/Date({inner}+0000)/", f" /Date({inner})/ ", inner]
        )
    )
)
def test_the_ms_shortcut_reads_what_the_expression_reads(text: str) -> None:
    """``_parse_ms`` reads Xero's usual ``/Date(digits)/`` without its regular expression;
    every text, the usual or not (other scripts' digits, offsets, spaces, junk), reads the
    same as the expression alone reads it."""
    from bms_xero.mapping._dates import _parse_ms

    def outcome(read: Any) -> object:
        try:
            return read(text)
        except (ValueError, OverflowError) as e:  # an offset or instant out of range
            return type(e)

    assert outcome(_ms_by_expression) == outcome(_parse_ms)


def test_ms_date_round_trip() -> None:
    """Dates and timestamps we write in Xero's form read back the same."""
    stamp = datetime(2026, 11, 24, 15, 7, 54, 123000, tzinfo=UTC)
    assert stamp == parse_datetime(format_ms_datetime(stamp))
    assert date(2026, 2, 28) == parse_date(format_ms_date(date(2026, 2, 28)))


def test_ms_date_with_offset_keeps_local_date() -> None:
    """A /Date()/ with a positive offset reads as the date at that offset."""
    assert date(2019, 3, 11) == parse_date("/Date(1552215600000+1300)/")


def test_unknown_enum_values_kept() -> None:
    """Statuses Xero adds later are kept as strings, never a crash."""
    parsed = parse_invoice(
        {
            "InvoiceID": "x",
            "Status": "ARCHIVED_2030",
            "LineAmountTypes": "Mixed",
            "Payments": [{"PaymentID": "p", "Amount": 1, "Status": "PENDING"}],
        }
    )
    assert ("ARCHIVED_2030", "Mixed", "PENDING") == (
        parsed.status,
        parsed.line_amount_types,
        parsed.payments[0].status,
    )


def test_known_enum_values_become_members() -> None:
    """Known values become enum members."""
    parsed = parse_invoice(
        {
            "InvoiceID": "x",
            "Status": "PAID",
            "LineAmountTypes": "Inclusive",
            "Payments": [{"PaymentID": "p", "Amount": 1, "Status": "DELETED"}],
        }
    )
    assert (InvoiceStatus.PAID, LineAmountTypes.INCLUSIVE, PaymentStatus.DELETED) == (
        parsed.status,
        parsed.line_amount_types,
        parsed.payments[0].status,
    )


def test_missing_amounts_read_as_zero() -> None:
    """Create responses may omit payment amounts; they read as zero."""
    parsed = parse_invoice({"InvoiceID": "x", "Total": Decimal("115.00")})
    assert (Decimal(0), Decimal(0), Decimal("115.00")) == (
        parsed.amount_paid,
        parsed.amount_credited,
        parsed.total,
    )


def test_string_helpers_fill_missing_dates() -> None:
    """When Xero only sends the ...String twin of a date, it is used."""
    parsed = parse_invoice(
        {
            "InvoiceID": "x",
            "DateString": "2019-03-11T00:00:00",
            "UpdatedDateUTCString": "2019-11-14T18:10:38Z",
        }
    )
    assert (date(2019, 3, 11), datetime(2019, 11, 14, 18, 10, 38, tzinfo=UTC)) == (
        parsed.date,
        parsed.updated_at,
    )


def test_element_validation_errors_read() -> None:
    """A write element's ValidationErrors read as Xero's message texts."""
    parsed = parse_invoice(
        {
            "InvoiceNumber": "INV-1",
            "HasErrors": True,
            "ValidationErrors": [{"Message": "Invoice # must be unique."}],
        }
    )
    assert (("Invoice # must be unique.",), True) == (parsed.validation_errors, parsed.has_errors)


def test_payment_links_invoice() -> None:
    """A payment read from /Payments names its invoice."""
    [payment] = parse_payments(
        {
            "Payments": [
                {
                    "PaymentID": "p1",
                    "Amount": Decimal("10.50"),
                    "Date": "/Date(1552262400000+0000)/",
                    "Invoice": {"InvoiceID": "i1", "InvoiceNumber": "INV-1"},
                    "Status": "AUTHORISED",
                    "UpdatedDateUTC": "/Date(1573755038314)/",
                }
            ]
        }
    )
    assert ("i1", "INV-1", Decimal("10.50"), date(2019, 3, 11)) == (
        payment.invoice_id,
        payment.invoice_number,
        payment.amount,
        payment.date,
    )


@pytest.mark.parametrize(
    "body",
    [b"<html>502 Bad Gateway</html>", b"", b'{"Invoices": ', b"\xff\xfe"],
)
def test_garbage_bodies_are_typed(body: bytes) -> None:
    """A body that is not JSON becomes UnexpectedResponse."""
    with pytest.raises(UnexpectedResponse):
        decode_json(body)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Invoices": {}},
        {"Invoices": [1]},
        {"Invoices": [{"Total": "abc"}]},
        {"Invoices": [{"Date": "yesterday"}]},
        {"Invoices": [{"Payments": [{"Amount": True}]}]},
        {"Invoices": [{"LineItems": "none"}]},
    ],
)
def test_wrong_shapes_are_typed(body: Any) -> None:
    """JSON of the wrong shape becomes UnexpectedResponse, never a KeyError or TypeError."""
    with pytest.raises(UnexpectedResponse):
        parse_invoices(body)


def test_organisation_short_code() -> None:
    """The organisation's ShortCode (for deep links) is read."""
    org = parse_organisation(
        {"Organisations": [{"Name": "Demo", "ShortCode": "!NLglS", "BaseCurrency": "NZD"}]}
    )
    assert ("Demo", "!NLglS", "NZD") == (org.name, org.short_code, org.base_currency)


def test_no_organisation_is_typed() -> None:
    """An empty Organisations answer is a typed error."""
    with pytest.raises(UnexpectedResponse):
        parse_organisation({"Organisations": []})


def test_invoice_credits_are_read_with_the_amount_applied_here() -> None:
    """CreditNotes, Prepayments and Overpayments become allocations of AppliedAmount, and
    split AmountCredited: prepaid and overpaid are paid, the rest credited."""
    parsed = parse_invoice(
        {
            "InvoiceID": "i-1",
            "AmountPaid": Decimal("10.00"),
            "AmountCredited": Decimal("60.00"),
            "Payments": [{"PaymentID": "p-1", "Amount": Decimal("10.00"), "Reference": "r"}],
            "CreditNotes": [
                {
                    "CreditNoteID": "cn-1",
                    "CreditNoteNumber": "CN-0001",
                    "Total": Decimal("100.00"),
                    "AppliedAmount": Decimal("20.00"),
                    "DateString": "2026-11-03T00:00:00",
                }
            ],
            "Prepayments": [{"PrepaymentID": "pp-1", "AppliedAmount": Decimal("30.00")}],
            "Overpayments": [{"OverpaymentID": "op-1", "AppliedAmount": Decimal("10.00")}],
        }
    )
    assert [
        ("payment", "p-1", Decimal("10.00"), "r"),
        ("credit_note", "cn-1", Decimal("20.00"), "CN-0001"),
        ("prepayment", "pp-1", Decimal("30.00"), None),
        ("overpayment", "op-1", Decimal("10.00"), None),
    ] == [(a.kind.value, a.id, a.amount, a.reference) for a in parsed.allocations]
    assert (Decimal("50.00"), Decimal("20.00"), date(2026, 11, 3)) == (
        parsed.settlement.paid,
        parsed.settlement.credited,
        parsed.credits[0].date,
    )


@pytest.mark.parametrize(
    "credits",
    [{"Prepayments": "none"}, {"CreditNotes": ["x"]}, {"Overpayments": [{"AppliedAmount": 1}]}],
)
def test_unreadable_credit_lists_are_unexpected(credits: dict[str, object]) -> None:
    """A credit list of the wrong shape is an UnexpectedResponse, never a KeyError."""
    with pytest.raises(UnexpectedResponse):
        parse_invoice({"InvoiceID": "i-1", **credits})
