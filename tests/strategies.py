"""Hypothesis strategies for valid BMS invoices (and the raw parts to corrupt them)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from bms_xero.domain import (
    Customer,
    Invoice,
    LineAmountTypes,
    LineItem,
    PaymentTerms,
    PaymentTermType,
    Tracking,
)

# Codes present in the spec's CurrencyCode enum (checked by a test).
CURRENCIES = ("NZD", "AUD", "USD", "GBP", "EUR", "CAD", "ZAR", "SGD", "JPY")
TAX_MAP = {"GST15": "OUTPUT2", "GST10": "OUTPUT", "ZERO": "ZERORATEDOUTPUT", "VAT20": "OUTPUT3"}
RATES = {
    "GST15": Decimal("15"),
    "GST10": Decimal("10"),
    "ZERO": Decimal("0"),
    "VAT20": Decimal("20"),
}
ACCOUNT_CODES = ("200", "260", "SALES", "4400")

text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda s: s.strip() != "")


def decimals(max_dp: int, low: str, high: str) -> st.SearchStrategy[Decimal]:
    """Finite decimals with at most ``max_dp`` places between ``low`` and ``high``."""
    return st.decimals(
        min_value=Decimal(low),
        max_value=Decimal(high),
        places=max_dp,
        allow_nan=False,
        allow_infinity=False,
    )


quantities = decimals(4, "-1000", "10000")
unit_amounts = st.one_of(decimals(2, "-100000", "100000"), decimals(4, "-1000", "1000"))
discounts = st.one_of(st.none(), decimals(2, "0", "100"))
trackings = st.lists(st.builds(Tracking, name=text, option=text), max_size=2).map(tuple)

lines = st.builds(
    LineItem,
    description=text,
    quantity=quantities,
    unit_amount=unit_amounts,
    account_code=st.sampled_from(ACCOUNT_CODES),
    tax_code=st.sampled_from(sorted(TAX_MAP)),
    discount_rate=discounts,
    item_code=st.one_of(st.none(), st.text(alphabet="ABC123-", min_size=1, max_size=30)),
    tracking=trackings,
)

payment_terms = st.one_of(
    st.builds(
        PaymentTerms,
        st.sampled_from(
            [PaymentTermType.DAYS_AFTER_INVOICE_DATE, PaymentTermType.DAYS_AFTER_INVOICE_MONTH]
        ),
        st.integers(0, 120),
    ),
    st.builds(
        PaymentTerms,
        st.sampled_from([PaymentTermType.OF_CURRENT_MONTH, PaymentTermType.OF_FOLLOWING_MONTH]),
        st.integers(1, 31),
    ),
)

issue_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))
contact_ids = st.uuids().map(str)
customers = st.builds(
    Customer,
    id=text,
    name=text,
    xero_contact_id=contact_ids,
    contact_number=st.one_of(st.none(), st.text("ABC0123456789", min_size=1, max_size=50)),
)


@st.composite
def invoice_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a valid Invoice."""
    issue = draw(issue_dates)
    terms = draw(st.one_of(st.none(), payment_terms))
    due = (
        None
        if terms is not None and draw(st.booleans())
        else issue + timedelta(days=draw(st.integers(0, 90)))
    )
    return {
        "id": draw(text),
        "number": draw(st.text(alphabet="INV-0123456789ABC", min_size=1, max_size=30)),
        "customer": draw(customers),
        "issue_date": issue,
        "due_date": due,
        "payment_terms": terms,
        "lines": tuple(draw(st.lists(lines, min_size=1, max_size=8))),
        "currency_code": draw(st.one_of(st.none(), st.sampled_from(CURRENCIES))),
        "line_amount_types": draw(st.sampled_from(list(LineAmountTypes))),
        "reference": draw(st.one_of(st.none(), text)),
        "url": draw(
            st.one_of(st.none(), st.just(f"https://bms.example.com/invoices/{uuid.UUID(int=1)}"))
        ),
    }


invoices = invoice_kwargs().map(lambda kw: Invoice(**kw))
