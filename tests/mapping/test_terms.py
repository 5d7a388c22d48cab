"""Due dates from Xero's four kinds of payment terms."""

from __future__ import annotations

from datetime import date

import pytest

from bms_xero import PaymentTerms
from bms_xero.errors import InvoiceValidationError
from bms_xero.mapping import due_date


@pytest.mark.parametrize(
    ("issued", "terms", "expected"),
    [
        # days after the invoice date
        (date(2026, 11, 2), PaymentTerms.days_after_invoice_date(30), date(2026, 12, 2)),
        (date(2026, 12, 20), PaymentTerms.days_after_invoice_date(20), date(2027, 1, 9)),
        (date(2028, 2, 28), PaymentTerms.days_after_invoice_date(1), date(2028, 2, 29)),
        (date(2026, 11, 2), PaymentTerms.days_after_invoice_date(0), date(2026, 11, 2)),
        # days after the end of the invoice month
        (date(2026, 11, 2), PaymentTerms.days_after_end_of_month(20), date(2026, 12, 20)),
        (date(2026, 1, 31), PaymentTerms.days_after_end_of_month(0), date(2026, 1, 31)),
        (date(2028, 2, 10), PaymentTerms.days_after_end_of_month(1), date(2028, 3, 1)),
        (date(2026, 12, 15), PaymentTerms.days_after_end_of_month(31), date(2027, 1, 31)),
        # day of the current month
        (date(2026, 11, 2), PaymentTerms.day_of_current_month(20), date(2026, 11, 20)),
        (date(2026, 11, 25), PaymentTerms.day_of_current_month(20), date(2026, 11, 25)),
        (date(2026, 2, 1), PaymentTerms.day_of_current_month(31), date(2026, 2, 28)),
        (date(2028, 2, 1), PaymentTerms.day_of_current_month(31), date(2028, 2, 29)),
        (date(2026, 4, 1), PaymentTerms.day_of_current_month(31), date(2026, 4, 30)),
        # day of the following month
        (date(2026, 11, 2), PaymentTerms.day_of_following_month(20), date(2026, 12, 20)),
        (date(2026, 12, 31), PaymentTerms.day_of_following_month(15), date(2027, 1, 15)),
        (date(2026, 1, 31), PaymentTerms.day_of_following_month(31), date(2026, 2, 28)),
        (date(2028, 1, 15), PaymentTerms.day_of_following_month(30), date(2028, 2, 29)),
        (date(2026, 3, 31), PaymentTerms.day_of_following_month(31), date(2026, 4, 30)),
        (date(2100, 1, 5), PaymentTerms.day_of_following_month(29), date(2100, 2, 28)),
    ],
)
def test_due_date(issued: date, terms: PaymentTerms, expected: date) -> None:
    """Each kind of term lands on Xero's due date, clamping day 31 to short months."""
    assert expected == due_date(issued, terms)


@pytest.mark.parametrize(
    ("kind", "days"),
    [("OFCURRENTMONTH", 0), ("OFFOLLOWINGMONTH", 32), ("DAYSAFTERBILLDATE", -1), ("NET", 3)],
)
def test_bad_terms_refused(kind: str, days: int) -> None:
    """Terms outside their range, or of an unknown kind, are refused with a typed error."""
    with pytest.raises(InvoiceValidationError):
        PaymentTerms(kind, days)  # type: ignore[arg-type]


def test_terms_accept_xero_names() -> None:
    """Terms can be built from Xero's own type names."""
    assert PaymentTerms.day_of_following_month(20) == PaymentTerms("OFFOLLOWINGMONTH", 20)  # type: ignore[arg-type]
