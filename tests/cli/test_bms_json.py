"""The BMS JSON shape of invoices: read with every problem named, written back exactly."""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _json(items: Any, **numbers: str) -> str:
    """``items`` as JSON text, each ``"@name"`` string replaced by the raw number text given."""
    text = json.dumps(items)
    for name, number in numbers.items():
        text = text.replace(f'"@{name}"', number)
    return text


def _quickly(read: Any) -> Any:
    started = time.perf_counter()
    try:
        return read()
    finally:
        assert time.perf_counter() - started < 1, "answered at once"


class TestAbsurdInput:
    """Absurd files and numbers are typed problems with their paths, found at once."""

    def test_deeply_nested_arrays_are_a_file_error(self) -> None:
        """200,000 nested arrays are an InvoiceFileError, not a RecursionError."""
        text = "[" * 200_000 + "]" * 200_000

        with pytest.raises(InvoiceFileError) as caught:
            _quickly(lambda: read_invoices(text, source="deep.json"))

        assert ("deep.json", True) == (caught.value.source, "nested" in caught.value.reason)

    def test_deep_nesting_inside_an_invoice_is_a_file_error(self) -> None:
        """Nesting too deep anywhere in the file is reported for the file."""
        text = _json([invoice(1, lines="@deep")], deep="[" * 200_000 + "]" * 200_000)

        with pytest.raises(InvoiceFileError):
            _quickly(lambda: invoices_from_json(text))

    def test_deep_nesting_in_parsed_data_is_named(self) -> None:
        """Deeply nested lists given to invoice_from_dict are wrong values, named by path."""
        deep: list[Any] = []
        for _ in range(200_000):
            deep = [deep]

        found = _quickly(lambda: problems_of(invoice(1, status=deep, lines=deep)))

        assert {"status", "lines[0]"} == set(found)

    def test_a_quantity_of_1e999999999(self) -> None:
        """A quantity of 1e999999999 is invalid, with its path, not decimal.Overflow."""
        text = _json(
            [invoice(1, lines=[invoice(1)["lines"][0] | {"quantity": "@q"}])], q="1e999999999"
        )

        with pytest.raises(InvoiceValidationError) as caught:
            _quickly(lambda: invoices_from_json(text))

        [problem] = caught.value.problems
        assert ("[0].lines[0].quantity", True) == (
            problem.path,
            "at most 12 digits" in problem.message,
        )

    @pytest.mark.parametrize(
        "days", ["1e5000", "1e2000000", "1" * 5000, "-1e5000", "1.5e-999999999"]
    )
    def test_absurd_days(self, days: str) -> None:
        """Payment-terms days of 1e5000, 1e2000000 or 5000 digits are invalid at once."""
        terms = {"type": "DAYSAFTERBILLDATE", "days": "@days"}
        text = _json([invoice(1, payment_terms=terms)], days=days)

        [read] = _quickly(lambda: read_invoices(text))

        assert isinstance(read, InvoiceValidationError)
        assert ("payment_terms.days",) == read.paths

    def test_a_long_integer_is_a_number_not_a_file_error(self) -> None:
        """A 5000-digit integer amount is read (as a Decimal) and refused with its path."""
        line = invoice(1)["lines"][0] | {"unit_amount": "@n"}
        text = _json([invoice(1, lines=[line])], n="9" * 5000)

        [read] = _quickly(lambda: read_invoices(text))

        assert isinstance(read, InvoiceValidationError)
        assert ("lines[0].unit_amount",) == read.paths

    def test_a_number_past_what_a_decimal_holds_is_a_file_error(self) -> None:
        """An exponent past 10**18 can't be read at all: InvoiceFileError, not InvalidOperation."""
        text = _json([invoice(1, total="@t")], t="1e99999999999999999999")

        with pytest.raises(InvoiceFileError):
            _quickly(lambda: invoice_items(text))

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_and_infinity_are_not_amounts(self, constant: str) -> None:
        """JSON's NaN and Infinity are refused as amounts, saying a finite number is needed."""
        text = _json([invoice(1, total="@t")], t=constant)

        [read] = read_invoices(text)

        assert isinstance(read, InvoiceValidationError)
        assert "finite" in read.problems[0].message


json_numbers = st.one_of(
    st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,22})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999999999", "1e-999999999", "0e9999"]),
)
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.text(st.characters(exclude_characters='@"\\'), max_size=12),
        json_numbers.map(lambda n: f"@{n}"),  # becomes the raw number in the text
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
PLACES = [
    ("id",),
    ("number",),
    ("customer",),
    ("customer", "name"),
    ("issue_date",),
    ("due_date",),
    ("payment_terms",),
    ("lines",),
    ("lines", 0),
    ("lines", 0, "quantity"),
    ("lines", 0, "unit_amount"),
    ("lines", 0, "discount_rate"),
    ("lines", 0, "tracking"),
    ("currency_code",),
    ("line_amount_types",),
    ("status",),
    ("total",),
    ("colour",),
]


def _with(data: dict[str, Any], place: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    target: Any = data
    for step in place[:-1]:
        target = target[step]
    target[place[-1]] = value
    return data


def _raw_numbers(value: Any) -> str:
    """JSON text where every ``"@<number>"`` string is the bare number."""
    return re.sub(r'"@([^"]*)"', r"\1", json.dumps(value))


@settings(max_examples=300, deadline=timedelta(milliseconds=500))
@given(
    st.lists(st.tuples(st.sampled_from(PLACES), json_values), min_size=1, max_size=4),
    st.booleans(),
)
def test_any_file_reads_to_invoices_or_typed_errors(
    changes: list[tuple[tuple[Any, ...], Any]], with_terms: bool
) -> None:
    """Any values anywhere in a file give invoices, typed invalid reports or a file error."""
    data = (
        invoice(1, payment_terms={"type": "OFFOLLOWINGMONTH", "days": 20})
        if with_terms
        else invoice(1)
    )
    for place, value in changes:
        if place[0] == "payment_terms" and len(place) > 1 and not with_terms:
            continue
        try:
            data = _with(data, place, value)
        except (TypeError, IndexError, KeyError):
            continue  # an earlier change replaced the container
    text = _raw_numbers([data])
    try:
        read = read_invoices(text)
    except InvoiceFileError:
        return
    assert all(isinstance(r, Invoice | InvoiceValidationError) for r in read)
