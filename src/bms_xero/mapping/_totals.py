"""Invoice totals exactly as Xero computes them.

Xero computes each line's amount and tax, rounds each to 2 decimal places (half away from
zero), and only then sums. A system that totals first can be a cent off; :func:`difference`
reports that gap so the engine can reconcile it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import attrs

from bms_xero.domain import CreditNote, Invoice, LineAmountTypes

__all__ = [
    "LineInput",
    "LineTotals",
    "Totals",
    "compute",
    "difference",
    "invoice_totals",
    "line_amount",
    "line_tax",
    "round_money",
]

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half away from zero (Xero's rule: 2.165 → 2.17, -2.165 → -2.17)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_amount: Decimal, discount_rate: Decimal | None) -> Decimal:
    """Quantity × unit amount × (100 − discount)/100, rounded to cents."""
    gross = quantity * unit_amount
    if discount_rate:
        gross = gross * (HUNDRED - discount_rate) / HUNDRED
    return round_money(gross)


def line_tax(amount: Decimal, rate: Decimal, amount_types: LineAmountTypes) -> Decimal:
    """The tax on one line's (rounded) amount at ``rate`` percent, rounded to cents."""
    if amount_types is LineAmountTypes.NO_TAX or not rate:
        return Decimal("0.00")
    if amount_types is LineAmountTypes.INCLUSIVE:
        return round_money(amount * rate / (HUNDRED + rate))
    return round_money(amount * rate / HUNDRED)


@attrs.frozen
class LineInput:
    """What totals need of a line.

    Attributes:
        quantity: Quantity.
        unit_amount: Unit price.
        rate: Tax rate in percent (Xero's EffectiveRate).
        discount_rate: Percentage discount, if any.
    """

    quantity: Decimal
    unit_amount: Decimal
    rate: Decimal
    discount_rate: Decimal | None = None


@attrs.frozen
class LineTotals:
    """One line's rounded amount and tax.

    Attributes:
        line_amount: As Xero's LineAmount (tax-inclusive for Inclusive invoices).
        tax_amount: As Xero's TaxAmount.
    """

    line_amount: Decimal
    tax_amount: Decimal


@attrs.frozen
class Totals:
    """An invoice's totals, per Xero's rules.

    Attributes:
        sub_total: Total excluding tax.
        total_tax: Sum of the per-line rounded taxes.
        total: sub_total + total_tax.
        lines: Each line's amount and tax.
    """

    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    lines: tuple[LineTotals, ...]


def compute(lines: Sequence[LineInput], amount_types: LineAmountTypes) -> Totals:
    """Totals of lines under ``amount_types``, rounding per line as Xero does."""
    per_line = tuple(
        LineTotals(amount, line_tax(amount, line.rate, amount_types))
        for line in lines
        for amount in (line_amount(line.quantity, line.unit_amount, line.discount_rate),)
    )
    amounts = sum((t.line_amount for t in per_line), Decimal("0.00"))
    tax = sum((t.tax_amount for t in per_line), Decimal("0.00"))
    if amount_types is LineAmountTypes.INCLUSIVE:
        return Totals(amounts - tax, tax, amounts, per_line)
    return Totals(amounts, tax, amounts + tax, per_line)


def invoice_totals(invoice: Invoice | CreditNote, rates: Mapping[str, Decimal]) -> Totals:
    """Xero's totals for a BMS invoice (or credit note), given each BMS tax code's rate in percent.

    Raises:
        KeyError: A line's tax code has no rate in ``rates``.
    """
    no_tax = invoice.line_amount_types is LineAmountTypes.NO_TAX
    return compute(
        [
            LineInput(
                line.quantity,
                line.unit_amount,
                Decimal(0) if no_tax or line.tax_code is None else rates[line.tax_code],
                line.discount_rate,
            )
            for line in invoice.lines
        ],
        invoice.line_amount_types,
    )


def difference(bms_total: Decimal, xero_total: Decimal) -> Decimal:
    """Xero's total minus the BMS's total (positive when Xero asks for more)."""
    return xero_total - bms_total
