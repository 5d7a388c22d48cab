"""Rounding lines: when the BMS's total and Xero's per-line total differ by a few cents.

Xero rounds tax per line and never adds a rounding line itself; its rounding guide tells
integrations to add their own adjustment line (xero-api.md section 14). A BMS that rounds
once on the total (or per tax group) can therefore disagree with Xero by a cent or two. The
policy here is opt-in: a line of ``BMS total - Xero total`` to the organisation's Rounding
account, only when that difference is non-zero and at most the policy's limit (anything
larger is a real disagreement, reported rather than hidden). Pure: the engine hands in the
reference data it holds.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from bms_xero.domain import Invoice, LineAmountTypes
from bms_xero.errors import AccountCodeError, ConfigurationError, TaxCodeError
from bms_xero.mapping._reference import ChartOfAccounts, TaxMap, TaxRates
from bms_xero.mapping._totals import invoice_totals

__all__ = ["RoundingLine", "RoundingPolicy", "rounding_line"]

_CENT = Decimal("0.01")
#: A rounding line is for cents, not for disagreements: the policy's limit is capped here.
MAX_ROUNDING = Decimal("1.00")


def _amount(value: object) -> Decimal:
    """The limit as an exact Decimal (a string or an int is read; a float is refused)."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except ArithmeticError:
            pass
    raise ConfigurationError(
        f"RoundingPolicy.max_difference must be a Decimal or a decimal string such as '0.05', "
        f"not {value!r}"
    )


@attrs.frozen(kw_only=True)
class RoundingPolicy:
    """Add a rounding line when the BMS total and Xero's total differ by a few cents.

    Off unless a host passes one to ``SyncEngine(rounding=...)``. Only invoices that carry
    ``Invoice.total`` can be rounded: it is the total the BMS shows.

    Attributes:
        max_difference: The largest difference rounded away (0.01 to 1.00, whole cents).
            A larger one is left alone and reported as ``PushResult.rounding_difference``.
        tax_type: The Xero TaxType of the rounding line; ``NONE`` (no tax) by default, so the
            line moves the total by exactly the difference.
        account_code: The account to post it to; ``None`` uses the organisation's system
            Rounding account (``SystemAccount == "ROUNDING"``, which every Xero organisation
            has).
        description: The line's description.
    """

    max_difference: Decimal = attrs.field(converter=_amount)
    tax_type: str = "NONE"
    account_code: str | None = None
    description: str = "Rounding"

    def __attrs_post_init__(self) -> None:
        """Refuse a policy that could hide a real disagreement, or name nothing."""
        limit = self.max_difference
        if not _CENT <= limit <= MAX_ROUNDING or limit != limit.quantize(_CENT):
            raise ConfigurationError(
                f"RoundingPolicy.max_difference must be between 0.01 and {MAX_ROUNDING} in "
                f"whole cents, not {limit}: a larger difference is a real disagreement to fix "
                "in the BMS"
            )
        for name in ("tax_type", "account_code", "description"):
            value = getattr(self, name)
            if value is None and name == "account_code":
                continue
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"RoundingPolicy.{name} must be a non-empty string")


@attrs.frozen
class RoundingLine:
    """The adjustment line to add to an invoice's wire form.

    Attributes:
        amount: BMS total minus Xero's total: positive adds to the invoice, negative takes off.
        account_code: Where it is posted.
        tax_type: Its Xero TaxType.
        description: Its description.
    """

    amount: Decimal
    account_code: str
    tax_type: str
    description: str


def rounding_line(
    invoice: Invoice,
    *,
    policy: RoundingPolicy,
    chart: ChartOfAccounts,
    tax_rates: TaxRates,
    tax_map: TaxMap,
) -> RoundingLine | None:
    """The rounding line this invoice needs, or ``None``.

    ``None`` when the BMS gave no total, the totals agree, the difference is over the
    policy's limit, or a tax code can't be rated (preflight then reports that code: the
    invoice can't go as it is anyway).

    Raises:
        AccountCodeError: The policy names no account and the chart has no Rounding account,
            or the account it names is not in the chart or is archived.
    """
    if invoice.total is None:
        return None
    rates: dict[str, Decimal] = {}
    if invoice.line_amount_types is not LineAmountTypes.NO_TAX:
        try:
            for code in invoice.tax_codes:
                tax_type = tax_map.tax_type(code)
                rates[code] = tax_rates.revenue_rate(tax_type, tax_code=code).effective_rate
        except TaxCodeError:
            return None
    difference = invoice.total - invoice_totals(invoice, rates).total
    if difference == 0 or abs(difference) > policy.max_difference:
        return None
    return RoundingLine(
        amount=difference,
        account_code=_account(policy, chart),
        tax_type=policy.tax_type,
        description=policy.description,
    )


def _account(policy: RoundingPolicy, chart: ChartOfAccounts) -> str:
    """The rounding line's account: the policy's (active, in the chart) or the system one."""
    if policy.account_code is None:
        system = chart.rounding_account
        if system is None:
            raise AccountCodeError(
                code="ROUNDING",
                reason="unknown",
                paths=("RoundingPolicy.account_code",),
            )
        if system.code is None or not system.is_active:
            raise AccountCodeError(
                code=system.code or "ROUNDING",
                reason="unknown" if system.code is None else "archived",
                paths=("RoundingPolicy.account_code",),
            )
        return system.code
    found = next((a for a in chart.accounts if a.code == policy.account_code), None)
    if found is None or not found.is_active:
        raise AccountCodeError(
            code=policy.account_code,
            reason="unknown" if found is None else "archived",
            paths=("RoundingPolicy.account_code",),
        )
    return policy.account_code
