"""The BMS JSON shape of invoices: read with every problem named, written back exactly."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given

from bms_xero.domain import Invoice, PaymentTerms, PaymentTermType
from bms_xero.errors import InvoiceFileError, InvoiceValidationError
from bms_xero.mapping.bms_json import (
    invoice_from_dict,
    invoice_items,
    invoice_to_dict,
    invoices_from_json,
    read_invoices,
)
from tests.cli.conftest import EXAMPLES, invoice
from tests.strategies import invoices


def problems_of(data: Any) -> dict[str, str]:
    with pytest.raises(InvoiceValidationError) as caught:
        invoice_from_dict(data)
    return {p.path: p.message for p in caught.value.problems}


@given(invoices)
def test_round_trip(inv: Invoice) -> None:
    """invoice_from_dict reads back exactly what invoice_to_dict wrote, through JSON text."""
    text = json.dumps(invoice_to_dict(inv))

    assert inv == invoice_from_dict(json.loads(text))


def test_a_valid_invoice_is_read() -> None:
    """A complete invoice becomes the domain Invoice, dates and terms included."""
    data = invoice(1, payment_terms={"type": "DAYSAFTERBILLDATE", "days": 30}, total="115.00")

    read = invoice_from_dict(data)

    expected = (
        date(2026, 11, 2),
        PaymentTerms.days_after_invoice_date(30),
        Decimal("115.00"),
        Decimal("50.00"),
    )
    assert expected == (read.issue_date, read.payment_terms, read.total, read.lines[0].unit_amount)


def test_numbers_are_exact_decimals_from_the_json_text() -> None:
    """JSON numbers become Decimals exactly as written, never through a float."""
    text = json.dumps([invoice(1)]).replace('"50.00"', "25.4200").replace('"2"', "0.1")

    [read] = invoices_from_json(text)

    assert (Decimal("0.1"), "25.4200") == (read.lines[0].quantity, str(read.lines[0].unit_amount))


def test_every_problem_is_reported_with_its_path() -> None:
    """Missing keys, wrong types, unknown keys and bad dates are all reported at once."""
    data = invoice(1, issue_date="02/11/2026", customer={"id": "C-1", "name": 7}, colour="red")
    data["lines"] = [
        {"description": "A", "quantity": "x", "unit_amount": "1", "tax_code": "GST15"},
        {"description": "B", "quantity": 1, "unit_amount": 1, "acount_code": "200"},
        "not a line",
    ]

    found = problems_of(data)

    expected = {
        "colour",
        "customer.name",
        "issue_date",
        "lines[0].quantity",
        "lines[0].account_code",
        "lines[1].acount_code",
        "lines[1].account_code",
        "lines[1].tax_code",
        "lines[2]",
    }
    assert expected == set(found)


def test_unknown_keys_are_named_as_such() -> None:
    """An unknown key is called unknown, with the likely intended key."""
    data = invoice(1)
    data["lines"][0]["acount_code"] = data["lines"][0].pop("account_code")

    found = problems_of(data)

    assert "is not a known field (did you mean 'account_code'?)" == found["lines[0].acount_code"]


def test_missing_required_keys_say_missing() -> None:
    """A required key that is absent is reported as missing, not as a type problem."""
    data = invoice(1)
    del data["number"]

    assert {"number": "is required but missing"} == problems_of(data)


def test_the_error_names_the_invoice() -> None:
    """The error names the invoice number when the item has one."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice_from_dict(invoice(4, lines=[]))

    assert ("INV-4", ("lines",)) == (caught.value.invoice_number, caught.value.paths)


def test_a_float_is_refused() -> None:
    """A float (from json.loads without parse_float) is refused: it has already lost cents."""
    data = invoice(1)
    data["lines"][0]["unit_amount"] = 0.1

    assert "binary float" in problems_of(data)["lines[0].unit_amount"]


def test_domain_rules_apply_too() -> None:
    """The domain's own rules (a due date before the issue date) are reported with paths."""
    assert {"due_date"} == set(problems_of(invoice(1, due_date="2026-01-01")))


def test_terms_accept_the_member_name() -> None:
    """Payment terms take Xero's value or the readable member name."""
    data = invoice(1, payment_terms={"type": "days_after_invoice_date", "days": 7})

    assert PaymentTermType.DAYS_AFTER_INVOICE_DATE == invoice_from_dict(data).payment_terms.type


def test_an_object_with_invoices_is_accepted() -> None:
    """{"invoices": [...]} reads like a bare array."""
    text = json.dumps({"invoices": [invoice(1), invoice(2)]})

    assert ["I-1", "I-2"] == [i.id for i in invoices_from_json(text)]


@pytest.mark.parametrize(
    "text",
    ["{not json", '{"invoice": []}', '"text"', '{"invoices": [], "extra": 1}'],
)
def test_a_file_of_the_wrong_shape_is_refused(text: str) -> None:
    """Text that is not JSON, or not a list of invoices, raises InvoiceFileError."""
    with pytest.raises(InvoiceFileError):
        invoice_items(text)


def test_not_json_says_where() -> None:
    """The InvoiceFileError for broken JSON carries the line and column."""
    with pytest.raises(InvoiceFileError) as caught:
        invoice_items('[\n  {"id": }\n]', source="bad.json")

    assert ("bad.json", 2, 10) == (caught.value.source, caught.value.line, caught.value.column)


def test_one_bad_invoice_does_not_hide_the_others() -> None:
    """read_invoices returns each good invoice and each bad one's error, in order."""
    text = json.dumps([invoice(1), invoice(2, lines="none"), invoice(3)])

    read = read_invoices(text)

    assert [Invoice, InvoiceValidationError, Invoice] == [type(r) for r in read]


def test_all_or_nothing_lists_every_invoice_problem() -> None:
    """invoices_from_json raises one error whose paths lead with each item's index."""
    text = json.dumps([invoice(1, number=""), invoice(2), invoice(3, issue_date=None)])

    with pytest.raises(InvoiceValidationError) as caught:
        invoices_from_json(text)

    assert ("[0].number", "[2].issue_date") == caught.value.paths


def test_the_example_file_reads() -> None:
    """examples/invoices.json holds three valid invoices."""
    read = invoices_from_json((EXAMPLES / "invoices.json").read_text())

    assert ["INV-1001", "INV-1002", "INV-1003"] == [i.number for i in read]
