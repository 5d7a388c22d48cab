"""The organisation's reference data (chart of accounts, tax rates) and the BMS tax map.

Each lookup either returns what an invoice may use or raises a typed
:class:`~bms_xero.errors.PreflightError` naming the code and what to do about it;
:func:`preflight` checks a whole invoice and reports every problem at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from bms_xero.domain import Account, CreditNote, Invoice, LineAmountTypes, TaxRate
from bms_xero.errors import (
    AccountCodeError,
    ConfigurationError,
    MissingContactId,
    PreflightError,
    PreflightFailed,
    TaxCodeError,
)

__all__ = ["ChartOfAccounts", "PreflightFailed", "TaxMap", "TaxRates", "preflight"]


def _accounts_tuple(accounts: Iterable[Account]) -> tuple[Account, ...]:
    return tuple(accounts)


def _rates_tuple(rates: Iterable[TaxRate]) -> tuple[TaxRate, ...]:
    return tuple(rates)


def _accounts_by_code(accounts: tuple[Account, ...]) -> dict[str, Account]:
    return {a.code: a for a in accounts if a.code}


@attrs.frozen
class ChartOfAccounts:
    """The organisation's accounts, looked up by code.

    Attributes:
        accounts: Every account Xero returned, archived ones included.
    """

    accounts: tuple[Account, ...] = attrs.field(converter=_accounts_tuple)
    _by_code: dict[str, Account] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: _accounts_by_code(self.accounts), takes_self=True),
    )

    def get(self, code: str) -> Account | None:
        """The account with this code, if any."""
        return self._by_code.get(code)

    def revenue_account(self, code: str, *, paths: Iterable[str] = ()) -> Account:
        """The ACTIVE revenue account with this code.

        Raises:
            AccountCodeError: The code is unknown, archived or not a revenue account.
        """
        account = self._by_code.get(code)
        if account is None:
            raise AccountCodeError(code=code, reason="unknown", paths=tuple(paths))
        if not account.is_active:
            raise AccountCodeError(code=code, reason="archived", paths=tuple(paths))
        if not account.is_revenue:
            raise AccountCodeError(code=code, reason="not_revenue", paths=tuple(paths))
        return account

    @property
    def rounding_account(self) -> Account | None:
        """The system ROUNDING account (where rounding adjustments go), if Xero has one."""
        return next((a for a in self.accounts if a.system_account == "ROUNDING"), None)


@attrs.frozen
class TaxRates:
    """The organisation's tax rates, looked up by TaxType.

    Attributes:
        rates: Every tax rate Xero returned.
    """

    rates: tuple[TaxRate, ...] = attrs.field(converter=_rates_tuple)
    _by_type: dict[str, TaxRate] = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: {r.tax_type: r for r in self.rates}, takes_self=True),
    )

    def get(self, tax_type: str) -> TaxRate | None:
        """The rate with this TaxType, if any."""
        return self._by_type.get(tax_type)

    def revenue_rate(self, tax_type: str, *, tax_code: str, paths: Iterable[str] = ()) -> TaxRate:
        """The ACTIVE rate with this TaxType that sales lines may use.

        Raises:
            TaxCodeError: The TaxType is unknown, inactive or not for revenue.
        """
        rate = self._by_type.get(tax_type)
        reason = (
            "unknown_tax_type"
            if rate is None
            else "inactive"
            if not rate.is_active
            else "not_revenue"
            if not rate.can_apply_to_revenue
            else None
        )
        if reason is not None or rate is None:
            raise TaxCodeError(
                tax_code=tax_code,
                tax_type=tax_type,
                reason=reason or "unknown_tax_type",
                paths=tuple(paths),
            )
        return rate


def _as_dict(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


@attrs.frozen
class TaxMap:
    """The host's mapping from BMS tax codes to Xero TaxTypes, e.g. ``{"GST15": "OUTPUT2"}``.

    Attributes:
        entries: BMS tax code → Xero TaxType.
    """

    entries: Mapping[str, str] = attrs.field(converter=_as_dict)

    def __attrs_post_init__(self) -> None:
        bad = [
            f"{code!r}: {tax_type!r}"
            for code, tax_type in self.entries.items()
            if not (isinstance(code, str) and code and isinstance(tax_type, str) and tax_type)
        ]
        if bad:
            raise ConfigurationError(
                "tax map entries must map non-empty BMS tax codes to non-empty Xero TaxType "
                f"codes (e.g. 'GST15': 'OUTPUT2'); bad entries: {', '.join(bad)}"
            )

    @classmethod
    def of(cls, value: TaxMap | Mapping[str, str]) -> TaxMap:
        """A TaxMap from a TaxMap or a plain mapping."""
        return value if isinstance(value, TaxMap) else cls(value)

    def tax_type(self, tax_code: str, *, paths: Iterable[str] = ()) -> str:
        """The Xero TaxType for a BMS tax code.

        Raises:
            TaxCodeError: The code is not in the map.
        """
        try:
            return self.entries[tax_code]
        except KeyError:
            raise TaxCodeError(tax_code=tax_code, reason="not_mapped", paths=tuple(paths)) from None

    def missing(self, tax_codes: Iterable[str]) -> frozenset[str]:
        """The codes among ``tax_codes`` that the map lacks."""
        return frozenset(code for code in tax_codes if code not in self.entries)


def preflight(
    invoice: Invoice | CreditNote,
    *,
    chart: ChartOfAccounts,
    tax_rates: TaxRates,
    tax_map: TaxMap,
) -> dict[str, Decimal]:
    """Check that this organisation can accept the invoice (or credit note); return each
    tax code's rate.

    Checks the customer's Xero contact id, every line's account code (ACTIVE, revenue) and
    every tax code (mapped, to an ACTIVE TaxType that may apply to revenue).

    Raises:
        PreflightError: One problem (the specific subclass), or :class:`PreflightFailed`
            listing several. Every error names the invoice number; a credit note's errors
            name no invoice (the engine names the credit note and its invoice).
    """
    number = invoice.number if isinstance(invoice, Invoice) else None
    errors: list[PreflightError] = []
    if invoice.customer.xero_contact_id is None:
        errors.append(
            MissingContactId(
                customer_id=invoice.customer.id,
                customer_name=invoice.customer.name,
                invoice_number=number,
            )
        )
    for code in dict.fromkeys(line.account_code for line in invoice.lines):
        try:
            chart.revenue_account(code, paths=invoice.lines_using(account_code=code))
        except AccountCodeError as e:
            errors.append(
                AccountCodeError(code=e.code, reason=e.reason, paths=e.paths, invoice_number=number)
            )
    rates: dict[str, Decimal] = {}
    uses_tax = invoice.line_amount_types is not LineAmountTypes.NO_TAX
    for code in sorted(invoice.tax_codes):
        paths = tuple(invoice.lines_using(tax_code=code))
        try:
            tax_type = tax_map.tax_type(code, paths=paths)
            rates[code] = (
                tax_rates.revenue_rate(tax_type, tax_code=code, paths=paths).effective_rate
                if uses_tax
                else Decimal(0)
            )
        except TaxCodeError as e:
            errors.append(
                TaxCodeError(
                    tax_code=e.tax_code,
                    reason=e.reason,
                    tax_type=e.tax_type,
                    paths=e.paths,
                    invoice_number=number,
                )
            )
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PreflightFailed(errors, invoice_number=number)
    return rates
