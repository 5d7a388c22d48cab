"""The field-by-field readers (``mapping._read``) read what the converter reads, exactly.

``parse_invoice`` and ``parse_payment`` try the fast readers first and fall back to the cattrs
converter on anything unusual, so the one way they could differ is the fast path *accepting*
an object and reading it differently. The properties below feed both paths generated
objects, plain and odd (numbers where text belongs, ``null`` lists, ``...String`` twins,
unknown statuses, bad dates), and compare the results by value and by ``repr`` (so
``Decimal("1.0")`` against ``Decimal("1")``, or another timezone object, would show).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.domain import XeroInvoice, XeroPayment
from bms_xero.errors import UnexpectedResponse
from bms_xero.mapping import wire
from bms_xero.mapping._read import Unusual, read_invoice, read_payment
from tests import spec


def converter_invoice(data: Any) -> XeroInvoice:
    """``parse_invoice`` as it was before the fast path: flatten, then the converter."""
    flat = wire._fallback(data, "Date", "DueDate", "FullyPaidOnDate", "UpdatedDateUTC")
    flat["ContactID"] = wire._nested_id(data, "Contact", "ContactID")
    flat["Credits"] = wire._credits(data)
    return wire._structure(flat, XeroInvoice, "invoice")


def converter_payment(data: Any) -> XeroPayment:
    flat = wire._fallback(data, "Date", "UpdatedDateUTC")
    flat["InvoiceID"] = wire._nested_id(data, "Invoice", "InvoiceID")
    flat["InvoiceNumber"] = data.get("InvoiceNumber") or wire._nested_id(
        data, "Invoice", "InvoiceNumber"
    )
    return wire._structure(flat, XeroPayment, "payment")


def outcome(read: Any, data: Any) -> tuple[str, str]:
    """What a reader made of ``data``: its value's repr, or its error's type and text."""
    try:
        return ("value", repr(read(data)))
    except Exception as e:  # compared, not hidden: both paths must fail alike
        return (type(e).__name__, str(e))


# Plain values: what Xero sends, in all its variety (blank text, whole numbers, nulls, the
# three date forms, statuses added later). The fast path must read every one of these.
plain_text = st.one_of(st.text(max_size=6), st.none(), st.just(""))
plain_money = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=1000),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.integers(-1000, 1000),
    st.none(),
)
plain_when = st.sampled_from(
    [
        None,
        "",
        "/Date(1767657600000+0000)/",
        "/Date(1767657600000+1300)/",
        "/Date(1767657600000-0530)/",
        "/Date(1767603600022)/",
        " /Date(1767603600022)/ ",
        "2026-01-06T00:00:00",
        "2026-01-06",
        "2026-01-06T10:11:12Z",
    ]
)
# Odd values: what a spoiled field holds. The converter reads some (a number as text, an
# amount as a string) and refuses others; the fast path must step aside for all of them.
odd = st.one_of(
    st.integers(-3, 3),
    st.booleans(),
    st.just("12.50"),
    st.just(Decimal("NaN")),
    st.just("not a date"),
    st.just("/Date(x)/"),
    st.just([1]),
    st.just({"a": 1}),
    st.just("x"),
)


def spoiled(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Plain objects with these optional fields, half of them with one field (present or
    not) set to an odd value."""

    @st.composite
    def spoil(draw: st.DrawFn) -> dict[str, Any]:
        data = draw(st.fixed_dictionaries({}, optional=fields))
        if draw(st.booleans()):
            data[draw(st.sampled_from(sorted(fields)))] = draw(odd)
        return data

    return spoil()


trackings = st.lists(
    st.fixed_dictionaries(
        {"Name": st.text(max_size=6), "Option": st.text(max_size=6)},
        optional={"TrackingCategoryID": st.text(max_size=3)},
    ),
    max_size=2,
)
LINE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "LineItemID": plain_text,
    "Description": plain_text,
    "Quantity": plain_money,
    "UnitAmount": plain_money,
    "AccountCode": plain_text,
    "TaxType": plain_text,
    "TaxAmount": plain_money,
    "LineAmount": plain_money,
    "DiscountRate": plain_money,
    "ItemCode": plain_text,
    "Tracking": trackings,
}
lines = st.fixed_dictionaries({}, optional=LINE_FIELDS)
PAYMENT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "PaymentID": st.text(min_size=1, max_size=4),
    "Amount": plain_money,
    "Date": plain_when,
    "DateString": plain_when,
    "Status": st.sampled_from(["AUTHORISED", "DELETED", "ODD"]),
    "Invoice": st.fixed_dictionaries(
        {}, optional={"InvoiceID": plain_text, "InvoiceNumber": plain_text}
    ),
    "InvoiceNumber": plain_text,
    "Reference": plain_text,
    "PaymentType": plain_text,
    "UpdatedDateUTC": plain_when,
    "BatchPaymentID": plain_text,
}
plain_payments = st.fixed_dictionaries(
    {"PaymentID": PAYMENT_FIELDS["PaymentID"], "Amount": plain_money},
    optional={k: v for k, v in PAYMENT_FIELDS.items() if k not in ("PaymentID", "Amount")},
)


def credits_(id_key: str, reference_key: str) -> st.SearchStrategy[Any]:
    """One of an invoice's credit lists."""
    credit = st.fixed_dictionaries(
        {id_key: st.text(min_size=1, max_size=4)},
        optional={
            "AppliedAmount": plain_money,
            "Date": plain_when,
            "DateString": plain_when,
            reference_key: plain_text,
        },
    )
    return st.one_of(st.lists(credit, max_size=2), st.none())


INVOICE_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "Type": st.sampled_from(["ACCREC", "ACCPAY"]),
    "InvoiceID": plain_text,
    "InvoiceNumber": plain_text,
    "Status": st.sampled_from(["AUTHORISED", "PAID", "DRAFT", "VOIDED", "NEWTHING", None]),
    "Contact": st.fixed_dictionaries({}, optional={"ContactID": plain_text}),
    "Date": plain_when,
    "DateString": plain_when,
    "DueDate": plain_when,
    "DueDateString": plain_when,
    "FullyPaidOnDate": plain_when,
    "UpdatedDateUTC": plain_when,
    "UpdatedDateUTCString": plain_when,
    "LineAmountTypes": st.sampled_from(["Exclusive", "Inclusive", "NoTax", "Other", None]),
    "CurrencyCode": plain_text,
    "Reference": plain_text,
    "Url": plain_text,
    "SubTotal": plain_money,
    "TotalTax": plain_money,
    "Total": plain_money,
    "AmountDue": plain_money,
    "AmountPaid": plain_money,
    "AmountCredited": plain_money,
    "Payments": st.lists(plain_payments, max_size=2),
    "CreditNotes": credits_("CreditNoteID", "CreditNoteNumber"),
    "Prepayments": credits_("PrepaymentID", "Reference"),
    "Overpayments": credits_("OverpaymentID", "Reference"),
    "LineItems": st.lists(lines, max_size=3),
    "ValidationErrors": st.one_of(
        st.lists(st.fixed_dictionaries({"Message": plain_text}), max_size=2), st.none()
    ),
    "Warnings": st.one_of(st.lists(st.text(max_size=4), max_size=2), st.none()),
}
plain_invoices = st.fixed_dictionaries({}, optional=INVOICE_FIELDS)
# Spoiled invoices carry spoiled line items too: a line's fields are read field by field
# like the invoice's own.
invoices = spoiled({**INVOICE_FIELDS, "LineItems": st.lists(spoiled(LINE_FIELDS), max_size=3)})
payments = spoiled(PAYMENT_FIELDS)


@settings(max_examples=600, deadline=None)
@given(invoices)
def test_an_invoice_reads_the_same_by_either_path(data: dict[str, Any]) -> None:
    assert outcome(converter_invoice, data) == outcome(wire.parse_invoice, data)


# Every odd value in every field, one at a time, on an otherwise plain invoice: the random
# objects above meet each pairing only now and then, so each fast check is held here too.
ODD_VALUES = [
    0,
    3,
    False,
    True,
    1.5,
    "",
    "12.50",
    Decimal("NaN"),
    Decimal("Infinity"),
    "x",
    [],
    [1],
    {},
    {"a": 1},
    None,
]
PLAIN_LINE = {"LineItemID": "l-1", "Quantity": Decimal("1.0000"), "UnitAmount": Decimal("2.00")}
PLAIN_INVOICE = {
    "InvoiceID": "i-1",
    "Total": Decimal("2.30"),
    "UpdatedDateUTC": "/Date(1767603600022)/",
    "LineItems": [PLAIN_LINE],
}


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
@pytest.mark.parametrize("field", sorted(LINE_FIELDS))
def test_a_line_with_one_odd_field_reads_the_same_by_either_path(field: str, value: Any) -> None:
    data = {**PLAIN_INVOICE, "LineItems": [{**PLAIN_LINE, field: value}]}
    assert outcome(converter_invoice, data) == outcome(wire.parse_invoice, data)


@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
@pytest.mark.parametrize("field", sorted(INVOICE_FIELDS))
def test_an_invoice_with_one_odd_field_reads_the_same_by_either_path(
    field: str, value: Any
) -> None:
    data = {**PLAIN_INVOICE, field: value}
    assert outcome(converter_invoice, data) == outcome(wire.parse_invoice, data)


@settings(max_examples=400, deadline=None)
@given(payments)
def test_a_payment_reads_the_same_by_either_path(data: dict[str, Any]) -> None:
    assert outcome(converter_payment, data) == outcome(wire.parse_payment, data)


@settings(max_examples=300, deadline=None)
@given(plain_invoices)
def test_every_plain_invoice_takes_the_fast_path(data: dict[str, Any]) -> None:
    """Whatever the converter reads from Xero's usual shapes, the fast path reads too (else
    the speed is not real), and reads the same."""
    expected = outcome(converter_invoice, data)

    actual = outcome(read_invoice, data)

    if expected[0] == "value":
        assert expected == actual
    else:  # a blank date without its twin: refused either way
        assert actual[0] != "value"


def test_plain_xero_objects_take_the_fast_path() -> None:
    """The speed is only real if Xero's usual objects never need the converter."""
    invoice = {
        "Type": "ACCREC",
        "InvoiceID": "i-1",
        "InvoiceNumber": "INV-1",
        "Status": "PAID",
        "Contact": {"ContactID": "c-1", "Name": "Acme"},
        "Date": "/Date(1767657600000+0000)/",
        "DueDate": "/Date(1770336000000+0000)/",
        "LineAmountTypes": "Exclusive",
        "LineItems": [
            {
                "LineItemID": "l-1",
                "Description": "Widget",
                "Quantity": Decimal("3.0"),
                "UnitAmount": Decimal("49.95"),
                "AccountCode": "200",
                "TaxType": "OUTPUT2",
                "TaxAmount": Decimal("22.48"),
                "LineAmount": Decimal("149.85"),
                "DiscountRate": 10,
                "Tracking": [{"Name": "Region", "Option": "North", "TrackingCategoryID": "t"}],
            }
        ],
        "SubTotal": Decimal("149.85"),
        "TotalTax": Decimal("22.48"),
        "Total": Decimal("172.33"),
        "AmountDue": Decimal("0.00"),
        "AmountPaid": Decimal("172.33"),
        "AmountCredited": 0,
        "FullyPaidOnDate": "/Date(1767657600000+0000)/",
        "Payments": [{"PaymentID": "p-1", "Amount": Decimal("172.33"), "Date": "/Date(0)/"}],
        "CreditNotes": [],
        "Prepayments": [],
        "Overpayments": [],
        "UpdatedDateUTC": "/Date(1767603600022)/",
        "CurrencyCode": "NZD",
    }

    assert repr(converter_invoice(invoice)) == repr(read_invoice(invoice))
    payment = {"PaymentID": "p-1", "Amount": Decimal("1.50"), "Status": "AUTHORISED"}
    assert repr(converter_payment(payment)) == repr(read_payment(payment))


def test_an_odd_value_is_left_to_the_converter() -> None:
    with pytest.raises(Unusual):
        read_invoice({"Total": "12.50"})
    with pytest.raises(Unusual):
        read_payment({"PaymentID": "p", "Amount": Decimal(1), "Status": None})
    with pytest.raises(UnexpectedResponse, match="could not read a payment"):
        wire.parse_payment({"PaymentID": "p", "Amount": Decimal(1), "Status": None})


@pytest.mark.parametrize("name", ["Invoices", "Payments"])
def test_the_specs_examples_read_the_same_by_either_path(name: str) -> None:
    """Every example object in Xero's own spec, through both paths."""
    reader, reference = {
        "Invoices": (wire.parse_invoice, converter_invoice),
        "Payments": (wire.parse_payment, converter_payment),
    }[name]
    objects = [
        item
        for _, example in spec.response_examples(name)
        for item in wire.decode_json(json.dumps(example)).get(name, [])
        if isinstance(item, dict)
    ]

    assert objects, f"the spec has no {name} examples to read"
    assert [outcome(reference, o) for o in objects] == [outcome(reader, o) for o in objects]
