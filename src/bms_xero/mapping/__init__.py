"""The mapping layer: pure functions between domain types and Xero's wire format.

Nothing here does I/O. Submodules: :mod:`.wire` (payloads and parsing), :mod:`.totals`
(Xero's per-line rounding), :mod:`.terms` (due dates), :mod:`.dates` (MS-JSON dates) and
:mod:`.reference` (chart of accounts, tax rates, the tax map, preflight).
"""

from bms_xero.mapping.reference import ChartOfAccounts, PreflightFailed, TaxMap, TaxRates, preflight
from bms_xero.mapping.terms import due_date
from bms_xero.mapping.totals import Totals, difference, invoice_totals
from bms_xero.mapping.wire import (
    decode_json,
    due_date_of,
    encode_json,
    invoice_payload,
    invoices_body,
    parse_accounts,
    parse_contacts,
    parse_invoice,
    parse_invoices,
    parse_organisation,
    parse_payment,
    parse_payments,
    parse_tax_rates,
)

__all__ = [
    "ChartOfAccounts",
    "PreflightFailed",
    "TaxMap",
    "TaxRates",
    "Totals",
    "decode_json",
    "difference",
    "due_date",
    "due_date_of",
    "encode_json",
    "invoice_payload",
    "invoice_totals",
    "invoices_body",
    "parse_accounts",
    "parse_contacts",
    "parse_invoice",
    "parse_invoices",
    "parse_organisation",
    "parse_payment",
    "parse_payments",
    "parse_tax_rates",
    "preflight",
]
