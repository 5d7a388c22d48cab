"""The mapping layer: pure functions between domain types and Xero's wire format.

Nothing here does I/O. Public modules: :mod:`.wire` (payloads, :class:`WireInvoice`, parsing)
and :mod:`.bms_json` (BMS-side invoice JSON). Behind this package's names, private modules
hold Xero's per-line rounding (``_totals``), due dates (``_terms``), MS-JSON dates
(``_dates``) and the reference data with preflight (``_reference``).
"""

from bms_xero.mapping._dates import (
    format_date,
    format_ms_date,
    format_ms_datetime,
    parse_date,
    parse_datetime,
)
from bms_xero.mapping._reference import (
    ChartOfAccounts,
    PreflightFailed,
    TaxMap,
    TaxRates,
    preflight,
)
from bms_xero.mapping._rounding import RoundingLine, RoundingPolicy, rounding_line
from bms_xero.mapping._terms import due_date
from bms_xero.mapping._totals import Totals, difference, invoice_totals
from bms_xero.mapping.wire import (
    WireInvoice,
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
    "RoundingLine",
    "RoundingPolicy",
    "TaxMap",
    "TaxRates",
    "Totals",
    "WireInvoice",
    "decode_json",
    "difference",
    "due_date",
    "due_date_of",
    "encode_json",
    "format_date",
    "format_ms_date",
    "format_ms_datetime",
    "invoice_payload",
    "invoice_totals",
    "invoices_body",
    "parse_accounts",
    "parse_contacts",
    "parse_date",
    "parse_datetime",
    "parse_invoice",
    "parse_invoices",
    "parse_organisation",
    "parse_payment",
    "parse_payments",
    "parse_tax_rates",
    "preflight",
    "rounding_line",
]
