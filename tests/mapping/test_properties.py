"""Property tests: the mapping holds for every valid invoice, and fails typed for invalid ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero import Invoice, LineAmountTypes
from bms_xero.errors import InvoiceValidationError
from bms_xero.mapping import (
    decode_json,
    encode_json,
    invoice_payload,
    invoice_totals,
    invoices_body,
    parse_invoice,
)
from tests import spec
from tests.strategies import RATES, TAX_MAP, invoice_kwargs, invoices


@settings(max_examples=60, deadline=None)
@given(st.lists(invoices, min_size=1, max_size=3))
def test_payloads_are_schema_valid(batch: list[Invoice]) -> None:
    """Every generated valid invoice maps to a body Xero's spec accepts."""
    body = invoices_body(invoice_payload(inv, TAX_MAP) for inv in batch)
    spec.validate(decode_json(encode_json(body)), "Invoices")


@settings(max_examples=100, deadline=None)
@given(invoices)
def test_mapping_then_parsing_preserves_amounts(inv: Invoice) -> None:
    """Amounts, dates and codes survive mapping, encoding and parsing back exactly."""
    parsed = parse_invoice(decode_json(encode_json(invoice_payload(inv, TAX_MAP))))
    sent = [
        (
            str(line.quantity),
            str(line.unit_amount),
            line.account_code,
            TAX_MAP[line.tax_code or ""],
            line.discount_rate,
        )
        for line in inv.lines
    ]
    back = [
        (
            str(line.quantity),
            str(line.unit_amount),
            line.account_code,
            line.tax_type,
            line.discount_rate,
        )
        for line in parsed.line_items
    ]
    assert sent == back
    assert (inv.number, inv.issue_date, inv.customer.xero_contact_id) == (
        parsed.invoice_number,
        parsed.date,
        parsed.contact_id,
    )


def _round2(value: Fraction) -> Fraction:
    """Half away from zero to cents, in exact rational arithmetic."""
    cents = value * 100
    whole = abs(cents.numerator) // cents.denominator
    if abs(cents) - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole if cents >= 0 else -whole, 100)


@settings(max_examples=150, deadline=None)
@given(invoices)
def test_totals_match_independent_computation(inv: Invoice) -> None:
    """Totals equal a per-line computation done independently in rational arithmetic."""
    lines = []
    for line in inv.lines:
        gross = Fraction(line.quantity) * Fraction(line.unit_amount)
        if line.discount_rate is not None:
            gross = gross * (100 - Fraction(line.discount_rate)) / 100
        amount = _round2(gross)
        rate = Fraction(RATES[line.tax_code or ""])
        if inv.line_amount_types is LineAmountTypes.NO_TAX:
            tax = Fraction(0)
        elif inv.line_amount_types is LineAmountTypes.INCLUSIVE:
            tax = _round2(amount * rate / (100 + rate))
        else:
            tax = _round2(amount * rate / 100)
        lines.append((amount, tax))
    amounts = sum(a for a, _ in lines)
    taxes = sum(t for _, t in lines)
    inclusive = inv.line_amount_types is LineAmountTypes.INCLUSIVE
    expected = (
        amounts - taxes if inclusive else amounts,
        taxes,
        amounts if inclusive else amounts + taxes,
    )
    totals = invoice_totals(inv, RATES)
    assert expected == (
        Fraction(totals.sub_total),
        Fraction(totals.total_tax),
        Fraction(totals.total),
    )


JUNK = st.one_of(
    st.none(),
    st.floats(allow_nan=True),
    st.integers(),
    st.booleans(),
    st.text(max_size=3),
    st.text(min_size=300, max_size=301),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(Decimal("NaN")),
    st.just(Decimal("Infinity")),
    st.dates(),
    st.just(object()),
)
HEADER_FIELDS = [
    "id",
    "number",
    "customer",
    "issue_date",
    "lines",
    "due_date",
    "payment_terms",
    "currency_code",
    "line_amount_types",
    "reference",
    "url",
    "status",
    "total",
]
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


@st.composite
def corrupted(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    kwargs = draw(invoice_kwargs())
    fields = set(draw(st.lists(st.sampled_from(HEADER_FIELDS), min_size=1, max_size=4)))
    for field in fields:
        kwargs[field] = draw(JUNK)
    # A broken date or terms can surface as a due_date problem; a broken amount-type as a
    # line's tax_code problem.
    return kwargs, fields | {"due_date", "lines"}


@st.composite
def corrupted_lines(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    # A line with junk can't be built, so the junk goes in as raw data, for Invoice.build.
    kwargs = draw(invoice_kwargs())
    lines: list[Any] = list(kwargs["lines"])
    i = draw(st.integers(0, len(lines) - 1))
    values = {f: getattr(lines[i], f) for f in LINE_FIELDS}
    for field in draw(st.lists(st.sampled_from(LINE_FIELDS), min_size=1, max_size=3)):
        values[field] = draw(JUNK)
    lines[i] = values
    kwargs["lines"] = tuple(lines)
    return kwargs, {f"lines[{i}]"}


def _root(path: str) -> str:
    return re.split(r"[.]", path, maxsplit=1)[0]


def _attempt(
    case: tuple[dict[str, Any], set[str]], *, roots: bool, make: Callable[..., Invoice] = Invoice
) -> None:
    kwargs, allowed = case
    try:
        make(**kwargs)  # junk can be valid by chance (None for an optional field, ...)
    except InvoiceValidationError as e:
        assert e.problems, "a validation error lists its problems"
        found = {re.split(r"\[", _root(p))[0] if roots else _root(p) for p in e.paths}
        assert found <= allowed


@settings(max_examples=200, deadline=None)
@given(corrupted())
def test_corrupt_headers_raise_typed_error(case: tuple[dict[str, Any], set[str]]) -> None:
    """Junk in header fields raises InvoiceValidationError naming those fields, nothing else."""
    _attempt(case, roots=True)


@settings(max_examples=200, deadline=None)
@given(corrupted_lines())
def test_corrupt_lines_raise_typed_error(case: tuple[dict[str, Any], set[str]]) -> None:
    """Junk in a line raises InvoiceValidationError naming only that line, nothing else."""
    _attempt(case, roots=False, make=Invoice.build)


@settings(max_examples=100, deadline=None)
@given(
    invoice_kwargs(),
    st.sampled_from(["quantity", "unit_amount", "discount_rate"]),
    st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_float_amounts_always_refused(kwargs: dict[str, Any], field: str, value: float) -> None:
    """A float in any line amount is always refused, naming the line and field."""
    import attrs

    # A line holding a float can't be built: it goes in as raw data, for Invoice.build.
    raw = attrs.asdict(kwargs["lines"][0], recurse=False) | {field: value}
    kwargs["lines"] = (raw, *kwargs["lines"][1:])
    try:
        Invoice.build(**kwargs)
    except InvoiceValidationError as e:
        assert f"lines[0].{field}" in e.paths
    else:
        raise AssertionError("a float amount was accepted")


@settings(max_examples=100, deadline=None)
@given(invoice_kwargs(), st.sets(st.sampled_from(HEADER_FIELDS), min_size=1))
def test_wrong_types_always_named(kwargs: dict[str, Any], fields: set[str]) -> None:
    """A value of the wrong type in any set of fields always raises, naming every one."""
    for field in fields:
        kwargs[field] = object()
    try:
        Invoice(**kwargs)
    except InvoiceValidationError as e:
        named = {re.split(r"[.\[]", p, maxsplit=1)[0] for p in e.paths}
        assert fields <= named <= fields | {"due_date"}
    else:
        raise AssertionError(f"accepted junk in {sorted(fields)}")
