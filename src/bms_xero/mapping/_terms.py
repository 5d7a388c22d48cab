"""Due dates from payment terms, as Xero's four kinds of terms define them."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from bms_xero.domain import PaymentTerms, PaymentTermType

__all__ = ["due_date"]


def _day_of(year: int, month: int, day: int) -> date:
    # Day 31 in a 30-day month (or February) means the month's last day.
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day, last))


def _end_of_month(value: date) -> date:
    return _day_of(value.year, value.month, 31)


def _next_month(value: date) -> tuple[int, int]:
    return (value.year + 1, 1) if value.month == 12 else (value.year, value.month + 1)


def due_date(issue_date: date, terms: PaymentTerms) -> date:
    """The due date of an invoice dated ``issue_date`` under ``terms``.

    - days after the invoice date: ``issue_date + days``;
    - days after the end of the invoice month: last day of that month ``+ days``;
    - day of the current month: that day of the invoice's month (clamped to the month's last
      day), but never before the invoice date;
    - day of the following month: that day of the next month (clamped to its last day).
    """
    if terms.type is PaymentTermType.DAYS_AFTER_INVOICE_DATE:
        return issue_date + timedelta(days=terms.days)
    if terms.type is PaymentTermType.DAYS_AFTER_INVOICE_MONTH:
        return _end_of_month(issue_date) + timedelta(days=terms.days)
    if terms.type is PaymentTermType.OF_CURRENT_MONTH:
        return max(issue_date, _day_of(issue_date.year, issue_date.month, terms.days))
    year, month = _next_month(issue_date)
    return _day_of(year, month, terms.days)
