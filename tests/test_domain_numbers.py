"""Absurd numbers get a typed error naming the field, at once, on every amount path."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero import Customer, Invoice, LineItem, PaymentTerms, Tracking
from bms_xero.errors import InvoiceValidationError
from bms_xero.mapping import encode_json, invoice_payload, invoice_totals
from tests.strategies import RATES, TAX_MAP
from tests.test_domain import CONTACT, invoice, line, line_fields

#: Each is refused, however it is written, in every amount field.
ABSURD: list[Any] = [
    Decimal("1E+999999999"),
    Decimal("-1E+999999999"),
    Decimal("1E-999999999"),
    "1e999999999",
    "1e-999999999",
    "1e99999999999999999999",  # past the exponents a Decimal can hold
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    "-Infinity",
    "nan",
    float("nan"),
    float("inf"),
    10**5000,
    -(10**5000),
    Decimal("1" * 100_000),
    "1" * 100_000,
    Decimal("1." + "0" * 100_000),
    Decimal("0." + "0" * 100_000 + "1"),
    Decimal("0E-999999999"),
    Decimal("0E+999999999"),
    Decimal("1E+12"),
    10**12,
]
AMOUNTS = ["quantity", "unit_amount", "discount_rate"]
#: What a refusal of a number says is allowed (or why it can't be).
ALLOWED = ("at most", "finite", "decimal places", "floats lose cents")


def _id(value: Any) -> str:
    if isinstance(value, int) and value.bit_length() > 64:
        return f"int-{value.bit_length()}-bits"
    text = repr(value)
    return text if len(text) < 30 else f"{text[:20]}-{len(text)}-chars"


def _refused(make: Any) -> InvoiceValidationError:
    started = time.perf_counter()
    with pytest.raises(InvoiceValidationError) as caught:
        make()
    assert time.perf_counter() - started < 1, "refused at once"
    return caught.value


@pytest.mark.parametrize("value", ABSURD, ids=_id)
@pytest.mark.parametrize("field", AMOUNTS)
def test_a_line_refuses_absurd_amounts(field: str, value: Any) -> None:
    """A line's quantity, unit amount or discount that is absurd is named with what's allowed."""
    error = _refused(lambda: line(**{field: value}))

    [problem] = error.problems
    assert field == problem.path
    assert any(word in problem.message for word in ALLOWED), problem.message
    assert len(str(error)) < 500


@pytest.mark.parametrize("value", ABSURD, ids=_id)
def test_the_invoice_total_refuses_absurd_amounts(value: Any) -> None:
    """The invoice's total is checked the same way."""
    error = _refused(lambda: invoice(total=value))

    assert ("total",) == error.paths


@pytest.mark.parametrize("value", ABSURD, ids=_id)
def test_build_names_the_line(value: Any) -> None:
    """Through Invoice.build the refusal carries the line's path."""
    error = _refused(lambda: invoice(lines=[line_fields(), line_fields(quantity=value)]))

    assert ("lines[1].quantity",) == error.paths


@pytest.mark.parametrize("days", [10**5000, -(10**5000), 10**20, 3651, -1], ids=_id)
def test_terms_refuse_absurd_days(days: int) -> None:
    """Days far out of range are refused at once, the message printable."""
    error = _refused(lambda: PaymentTerms.days_after_invoice_date(days))

    [problem] = error.problems
    assert ("days", True) == (problem.path, "between 0 and 3650" in problem.message)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("999999999999.9999"),
        Decimal("-999999999999.9999"),
        Decimal("1.50000000"),  # trailing zeros don't count as places
        Decimal("0.00000"),
        Decimal("1E+11"),
        "  12.5 ",
        999_999_999_999,
    ],
)
def test_large_but_sane_amounts_are_kept(value: Any) -> None:
    """Amounts up to 12 digits before the point, trailing zeros included, are accepted."""
    built = line(quantity=value)

    assert Decimal(str(value).strip()) == built.quantity


def test_the_largest_amounts_still_total_and_map() -> None:
    """The largest quantity times the largest price totals and maps without a decimal error."""
    big = Decimal("999999999999.9999")
    built = invoice(lines=[line_fields(quantity=big, unit_amount=big, discount_rate="99.99")] * 3)

    totals = invoice_totals(built, RATES)
    body = encode_json(invoice_payload(built, TAX_MAP))

    assert (totals.total > 0, b"999999999999.9999" in body) == (True, True)


# --- any value at all --------------------------------------------------------------------------

exponents = st.integers(-(10**9), 10**9)
numbers = st.one_of(
    st.decimals(),
    st.builds(lambda digits, e: Decimal((0, digits, e)), st.tuples(st.integers(0, 9)), exponents),
    st.builds(lambda n, e: f"{n}e{e}", st.integers(), exponents),
    st.integers(),
    # Under 4,300 digits: Python refuses to print a longer int, and hypothesis prints inputs.
    st.integers(min_value=10**30, max_value=10**4000),
    st.floats(),
    st.sampled_from(["NaN", "-inf", "sNaN", "1_000", " 1.5 ", "", "0x10", "1e", "١٢٣"]),
)
anything = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        numbers,
        st.text(max_size=20),
        st.dates(),
        st.datetimes(),
        st.just(object()),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
LINE_FIELDS = [
    "description",
    "quantity",
    "unit_amount",
    "account_code",
    "tax_code",
    "discount_rate",
    "item_code",
    "tracking",
]


@settings(max_examples=300, deadline=timedelta(milliseconds=500))
@given(st.dictionaries(st.sampled_from(LINE_FIELDS), anything, min_size=1))
def test_a_line_from_anything_builds_or_raises_typed(changes: dict[str, Any]) -> None:
    """LineItem(...) with any values builds a valid line or raises InvoiceValidationError."""
    try:
        built = LineItem(**(line_fields() | changes))
    except InvoiceValidationError as e:
        assert {re.split(r"[.\[]", path)[0] for path in e.paths} <= set(LINE_FIELDS)
    else:
        assert isinstance(built.quantity, Decimal)
        assert isinstance(built.unit_amount, Decimal)
        assert all(isinstance(t, Tracking) for t in built.tracking)
        assert isinstance(built.gross_amount, Decimal)  # arithmetic on it never raises


HEADER_FIELDS = ["id", "number", "issue_date", "due_date", "currency_code", "status", "total"]


@settings(max_examples=300, deadline=timedelta(milliseconds=500))
@given(
    st.dictionaries(st.sampled_from(HEADER_FIELDS), anything),
    st.dictionaries(st.sampled_from(LINE_FIELDS), anything),
    st.one_of(st.none(), anything, st.fixed_dictionaries({"type": anything, "days": anything})),
)
def test_an_invoice_from_anything_builds_or_raises_typed(
    header: dict[str, Any], line_changes: dict[str, Any], terms: Any
) -> None:
    """Invoice.build with any values, in the header, a line or the terms, raises only typed."""
    values: dict[str, Any] = {
        "id": "I-1",
        "number": "INV-1",
        "customer": Customer(id="C-1", name="Acme", xero_contact_id=CONTACT),
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "lines": [line_fields() | line_changes],
        "payment_terms": terms,
    }
    try:
        built = Invoice.build(**(values | header))
    except InvoiceValidationError as e:
        assert e.problems
    else:
        if built.tax_codes <= RATES.keys():
            invoice_totals(built, RATES)  # arithmetic on what was accepted never raises
