"""Totals are computed as Xero computes them: per line, rounded, then summed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bms_xero import LineAmountTypes
from bms_xero.mapping._totals import (
    LineInput,
    compute,
    difference,
    line_amount,
    line_tax,
    round_money,
)

D = Decimal


def test_per_line_rounding_differs_from_total_first() -> None:
    """Three lines at 15% sum their rounded taxes (11.43), not the tax of the sum (11.44)."""
    lines = [LineInput(D(1), D("25.42"), D(15))] * 3
    totals = compute(lines, LineAmountTypes.EXCLUSIVE)
    assert (D("76.26"), D("11.43"), D("87.69")) == (
        totals.sub_total,
        totals.total_tax,
        totals.total,
    )
    assert D("11.44") == round_money(D("76.26") * D("0.15"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.165", "2.17"),
        ("2.164", "2.16"),
        ("-2.165", "-2.17"),
        ("0.005", "0.01"),
        ("2.175", "2.18"),
    ],
)
def test_half_away_from_zero(value: str, expected: str) -> None:
    """Rounding is half away from zero, as Xero's community manager describes."""
    assert D(expected) == round_money(D(value))


def test_inclusive_extracts_tax_per_line() -> None:
    """Inclusive lines carry tax inside the amount: tax = amount × r/(100+r) per line."""
    totals = compute(
        [LineInput(D(1), D("115.00"), D(15)), LineInput(D(3), D("9.99"), D(15))],
        LineAmountTypes.INCLUSIVE,
    )
    # 115.00 → 15.00 tax; 29.97 → 3.909… → 3.91 tax
    assert (D("126.06"), D("18.91"), D("144.97")) == (
        totals.sub_total,
        totals.total_tax,
        totals.total,
    )


def test_no_tax_has_no_tax() -> None:
    """NoTax invoices have zero tax whatever the rate."""
    totals = compute([LineInput(D(2), D("10.005"), D(15))], LineAmountTypes.NO_TAX)
    assert (D("20.01"), D("0.00"), D("20.01")) == (totals.sub_total, totals.total_tax, totals.total)


def test_discount_applies_before_rounding() -> None:
    """LineAmount = quantity × unit × (100 − discount)/100, rounded once."""
    assert D("26.99") == line_amount(D(3), D("9.995"), D("10"))
    assert D("4.05") == line_tax(D("26.99"), D(15), LineAmountTypes.EXCLUSIVE)


def test_four_dp_unit_amounts() -> None:
    """Unit amounts with 4 decimal places give 2-dp line amounts."""
    assert D("0.37") == line_amount(D(3), D("0.1234"), None)


def test_difference_is_xero_minus_bms() -> None:
    """The reconciliation difference is Xero's total minus the BMS's."""
    assert D("-0.01") == difference(D("87.70"), D("87.69"))
