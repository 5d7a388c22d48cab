"""Rounding lines: opt-in, a few cents at most, to the organisation's Rounding account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bms_xero import Customer, LineItem, SyncEngine
from bms_xero.engine import PushAction
from bms_xero.errors import AccountCodeError, ConfigurationError
from bms_xero.mapping import RoundingPolicy
from bms_xero.testing import FakeXero
from tests.engine.conftest import TAX_MAP, make_invoice

D = Decimal
#: Three lines of 25.42 + 15% GST: Xero rounds tax per line (3.81 each), so it holds 87.69
#: where a BMS rounding once on the total (76.26 * 1.15 = 87.699) shows 87.70.
WIDGETS = tuple(
    LineItem(
        description=f"Widget {colour}",
        quantity=D(1),
        unit_amount=D("25.42"),
        account_code="200",
        tax_code="GST15",
    )
    for colour in ("red", "blue", "green")
)


def engine_with(xero: FakeXero[Any], store: Any, policy: RoundingPolicy | None) -> SyncEngine:
    return SyncEngine(
        client=xero.client(), store=store, tax_map=TAX_MAP, clock=xero.clock, rounding=policy
    )


def lines_of(xero: FakeXero[Any], xero_id: str | None) -> list[tuple[str, str, D, str]]:
    return [
        (li["Description"], li["AccountCode"], li["LineAmount"], li["TaxType"])
        for li in xero.invoice(xero_id or "")["LineItems"]
    ]


def test_a_cent_is_rounded_to_the_rounding_account(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """BMS 87.70 against Xero's 87.69: a 0.01 line to the system Rounding account, no tax,
    and Xero then holds the BMS's total."""
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.02"))

    result = engine.push(make_invoice(customer, lines=WIDGETS, total=D("87.70")))

    assert (D("87.70"), D("0.00"), D("0.01")) == (
        result.total,
        result.rounding_difference,
        result.rounding_adjustment,
    )
    assert ("Rounding", "860", D("0.01"), "NONE") == lines_of(xero, result.xero_invoice_id)[-1]


def test_a_lower_bms_total_gets_a_negative_line(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The BMS shows less than Xero: the line takes the difference off."""
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.05"))

    result = engine.push(make_invoice(customer, lines=WIDGETS, total=D("87.66")))

    assert (D("87.66"), D("-0.03")) == (result.total, result.rounding_adjustment)


def test_pushing_again_is_unchanged(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """The rounding line is content: the same invoice pushed again sends nothing."""
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.02"))
    invoice = make_invoice(customer, lines=WIDGETS, total=D("87.70"))
    engine.push(invoice)
    xero.clear_requests()

    again = engine.push(invoice)

    writes = [r for r in xero.requests if r.api == "accounting" and r.method in ("PUT", "POST")]
    assert (PushAction.UNCHANGED, [], D("0.01")) == (
        again.action,
        writes,
        again.rounding_adjustment,
    )


@pytest.mark.parametrize(
    ("policy", "total", "difference"),
    [
        (None, D("87.70"), D("-0.01")),  # off by default: reported, not rounded
        (RoundingPolicy(max_difference="0.02"), D("87.75"), D("-0.06")),  # over the limit
    ],
    ids=["off", "over-the-limit"],
)
def test_no_line_when_off_or_over_the_limit(
    xero: FakeXero[Any],
    store: Any,
    customer: Customer,
    policy: RoundingPolicy | None,
    total: D,
    difference: D,
) -> None:
    """Without a policy, or past its limit, nothing is added and the difference is reported."""
    engine = engine_with(xero, store, policy)

    result = engine.push(make_invoice(customer, lines=WIDGETS, total=total))

    assert (D("87.69"), difference, None, 3) == (
        result.total,
        result.rounding_difference,
        result.rounding_adjustment,
        len(lines_of(xero, result.xero_invoice_id)),
    )


def test_no_total_no_line(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """Only an invoice that carries the BMS's total can be rounded."""
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.02"))

    result = engine.push(make_invoice(customer, lines=WIDGETS))

    assert (None, None, 3) == (
        result.rounding_difference,
        result.rounding_adjustment,
        len(lines_of(xero, result.xero_invoice_id)),
    )


def test_the_policy_may_name_its_account(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """An account named by the policy is used instead of the system one."""
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.02", account_code="260"))

    result = engine.push(make_invoice(customer, lines=WIDGETS, total=D("87.70")))

    assert "260" == lines_of(xero, result.xero_invoice_id)[-1][1]


def test_an_archived_rounding_account_is_refused_unsent(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The Rounding account archived: a typed error naming the setting, nothing sent."""
    xero.archive_account("860")
    engine = engine_with(xero, store, RoundingPolicy(max_difference="0.02"))
    xero.clear_requests()

    with pytest.raises(AccountCodeError) as raised:
        engine.push(make_invoice(customer, lines=WIDGETS, total=D("87.70")))

    writes = [r for r in xero.requests if r.api == "accounting" and r.method in ("PUT", "POST")]
    assert ([], "archived", ("RoundingPolicy.account_code",)) == (
        writes,
        raised.value.reason,
        raised.value.paths,
    )


@pytest.mark.parametrize("limit", ["0", "0.015", "2.00", "-0.01", 0.05, "abc"])
def test_a_policy_that_could_hide_a_disagreement_is_refused(limit: Any) -> None:
    """Limits are whole cents from 0.01 to 1.00, given exactly (never a float)."""
    with pytest.raises(ConfigurationError) as raised:
        RoundingPolicy(max_difference=limit)

    assert "RoundingPolicy.max_difference" in str(raised.value)
