"""Reference data lookups and preflight name the code at fault and what to do."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bms_xero import Account, Customer, LineAmountTypes, TaxRate
from bms_xero.errors import (
    AccountCodeError,
    ConfigurationError,
    MissingContactId,
    PreflightError,
    TaxCodeError,
)
from bms_xero.mapping import ChartOfAccounts, PreflightFailed, TaxMap, TaxRates, preflight
from tests.test_domain import invoice, line

CHART = ChartOfAccounts(
    [
        Account(code="200", name="Sales", type="REVENUE", account_class="REVENUE"),
        Account(code="210", name="Old sales", type="REVENUE", status="ARCHIVED"),
        Account(code="400", name="Advertising", type="EXPENSE", account_class="EXPENSE"),
        Account(code="860", name="Rounding", type="CURRLIAB", system_account="ROUNDING"),
    ]
)
RATES = TaxRates(
    [
        TaxRate(tax_type="OUTPUT2", name="GST on Income", effective_rate=Decimal("15")),
        TaxRate(tax_type="OLDGST", name="Old", effective_rate=Decimal("12.5"), status="DELETED"),
        TaxRate(
            tax_type="INPUT2",
            name="GST on Expenses",
            effective_rate=Decimal("15"),
            can_apply_to_revenue=False,
        ),
    ]
)
TAXES = TaxMap({"GST15": "OUTPUT2", "OLD": "OLDGST", "IN": "INPUT2", "GHOST": "NOPE"})


def check(**overrides: object) -> dict[str, Decimal]:
    return preflight(invoice(**overrides), chart=CHART, tax_rates=RATES, tax_map=TAXES)


def test_valid_invoice_passes_with_rates() -> None:
    """A valid invoice passes preflight and gets each tax code's rate."""
    assert {"GST15": Decimal("15")} == check()


@pytest.mark.parametrize(
    ("code", "reason"), [("999", "unknown"), ("210", "archived"), ("400", "not_revenue")]
)
def test_account_codes(code: str, reason: str) -> None:
    """Unknown, archived and non-revenue account codes are refused, naming code and line."""
    with pytest.raises(AccountCodeError) as caught:
        check(lines=(line(), line(account_code=code)))
    assert (code, reason, ("lines[1].account_code",), "INV-0001") == (
        caught.value.code,
        caught.value.reason,
        caught.value.paths,
        caught.value.invoice_number,
    )
    assert str(caught.value).startswith("invoice INV-0001: account code")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("UNMAPPED", "not_mapped"),
        ("GHOST", "unknown_tax_type"),
        ("OLD", "inactive"),
        ("IN", "not_revenue"),
    ],
)
def test_tax_codes(code: str, reason: str) -> None:
    """Unmapped codes and unusable Xero tax types are refused with the reason."""
    with pytest.raises(TaxCodeError) as caught:
        check(lines=(line(tax_code=code),))
    assert (code, reason) == (caught.value.tax_code, caught.value.reason)


def test_missing_contact() -> None:
    """A customer with no Xero contact id fails preflight with the one-call fix."""
    with pytest.raises(MissingContactId) as caught:
        check(customer=Customer(id="C-2", name="New Co"))
    assert "link_customer" in str(caught.value)


def test_all_problems_at_once() -> None:
    """Several problems in one invoice are reported together."""
    with pytest.raises(PreflightFailed) as caught:
        check(
            customer=Customer(id="C-2", name="New Co"),
            lines=(line(account_code="999"), line(tax_code="UNMAPPED")),
        )
    kinds = [type(e) for e in caught.value.errors]
    assert [MissingContactId, AccountCodeError, TaxCodeError] == kinds
    assert all(e.invoice_number == "INV-0001" for e in caught.value.errors)
    assert isinstance(caught.value, PreflightError)


def test_no_tax_invoice_skips_rate_checks() -> None:
    """A NoTax invoice needs its codes mapped but not to revenue tax rates."""
    rates = check(line_amount_types=LineAmountTypes.NO_TAX, lines=(line(tax_code="IN"),))
    assert {"IN": Decimal(0)} == rates


def test_rounding_account() -> None:
    """The ROUNDING system account is found by its role, not a hard-coded code."""
    assert "860" == (CHART.rounding_account.code if CHART.rounding_account else None)


def test_tax_map_rejects_bad_entries() -> None:
    """A tax map with empty codes is a configuration error that shows the entry."""
    with pytest.raises(ConfigurationError) as caught:
        TaxMap({"GST15": ""})
    assert "'GST15': ''" in str(caught.value)


def test_tax_map_missing() -> None:
    """The tax map reports which codes it lacks."""
    assert frozenset({"X"}) == TAXES.missing(["GST15", "X"])
