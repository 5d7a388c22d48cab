"""The BMS side's JSON for invoices: what ``bms-xero push FILE`` reads, both ways.

The shape mirrors the domain types in snake_case (``docs/cli.md`` has the full reference)::

    {"id": "I-1001", "number": "INV-1001",
     "customer": {"id": "C-100", "name": "Acme Ltd", "xero_contact_id": "..."},
     "issue_date": "2026-11-02", "due_date": "2026-12-02",
     "lines": [{"description": "Widget", "quantity": 2, "unit_amount": "50.00",
                "account_code": "200", "tax_code": "GST15"}]}

Amounts may be JSON numbers or strings; numbers are read from the JSON text as exact
Decimals, never through a float. Reading is the domain's own reader (each type's rules live
with the type, see :meth:`bms_xero.domain.Invoice.build`) with JSON's view of values: it
checks the structure (missing keys, wrong types, unknown keys, dates) and the domain's rules
in one pass, and reports every problem of one invoice together in one
:class:`~bms_xero.errors.InvoiceValidationError` with paths such as ``lines[2].account_code``.
Absurd numbers (``1e999999999``, a 5000-digit day count) are problems like any other, found
at once. Pure: no I/O.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from bms_xero.domain import (
    Invoice,
    LineAmountTypes,
    PaymentTermType,
    _Reader,
    _Refused,
    _shown,
)
from bms_xero.errors import FieldProblem, InvoiceFileError, InvoiceValidationError

__all__ = [
    "invoice_from_dict",
    "invoice_items",
    "invoice_to_dict",
    "invoices_from_json",
    "read_invoices",
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBERS = (str, int, Decimal)  # what a JSON amount may be once parsed (strings included)
_E = TypeVar("_E", bound=enum.Enum)
#: Longer integer literals are read as Decimals: Python refuses to make an int of more than
#: 4300 digits from text (and a long one is slow to make); no count or amount comes near.
_LONG_INT = 20


def _json_type(value: object) -> str:
    """The JSON name of a Python value's type, for messages about a file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


class _JsonReader(_Reader):
    """The domain's reader, for the BMS JSON shape.

    The rules are the domain's (``_Reader`` runs each type's own); this only changes how raw
    values look: types are named as JSON names them, dates are ``YYYY-MM-DD`` strings, a
    float means the file was parsed without ``parse_float=Decimal``, whole numbers may arrive
    as Decimals, terms may name their type readably, and ``null`` means "not given".
    """

    none_is_absent = True

    def __init__(self) -> None:
        super().__init__(parts_as_mappings=True)

    def type_name(self, value: object) -> str:
        return _json_type(value)

    def not_a_part(self, kind: type[Any], value: object) -> str:
        return f"must be an object, not {_json_type(value)}"

    def items(self, value: object, *, of: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise _Refused(f"must be an array, not {_json_type(value)}")
        return list(value)

    def amount(
        self,
        value: object,
        *,
        places: int,
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> Decimal:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _Refused(f"must be a finite number, not {value}")
            raise _Refused(
                f"was read as the binary float {value!r}, which loses cents; read the file "
                "with invoices_from_json (numbers become exact Decimals) or write the amount "
                "as a string"
            )
        if value is not None and (isinstance(value, bool) or not isinstance(value, _NUMBERS)):
            raise _Refused(f"must be a number or a decimal string, not {_json_type(value)}")
        return super().amount(value, places=places, low=low, high=high)

    def day(self, value: object) -> date:
        if value is None:
            raise _Refused("is required")
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise _Refused(f"{value!r} is not a real date") from None
        shown = _shown(value) if isinstance(value, str) else _json_type(value)
        raise _Refused(f"must be a date written YYYY-MM-DD, not {shown}")

    def whole(self, value: object, *, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _Refused(f"must be a whole number, not {_json_type(value)}")
        if isinstance(value, Decimal):
            # The range first: comparing is quick whatever the exponent, while int() of
            # 1E+2000000 takes minutes and a 5000-digit int can't even be printed.
            if not value.is_finite() or not low <= value <= high:
                raise _Refused(f"{_shown(value)} is not between {low} and {high}")
            if value != value.to_integral_value():
                raise _Refused(f"must be a whole number, not {_shown(value)}")
            value = int(value)
        return super().whole(value, low=low, high=high)

    def choice(self, value: object, kind: type[_E]) -> _E:
        if kind is PaymentTermType and isinstance(value, str):
            # Terms may also be written readably: "days_after_invoice_date".
            for member in kind:
                if value in (member.name, member.name.lower()):
                    return member
        if value is not None and not isinstance(value, str):
            raise _Refused(f"must be a string, not {_json_type(value)}")
        return super().choice(value, kind)


def invoice_from_dict(data: Any) -> Invoice:
    """An :class:`~bms_xero.domain.Invoice` from its BMS JSON shape (a parsed JSON object).

    Numbers should arrive as :class:`~decimal.Decimal` or ``int`` (parse with
    ``parse_float=Decimal``, as :func:`invoices_from_json` does) or as strings; a float is
    refused because it has already lost cents.

    Raises:
        InvoiceValidationError: Every problem of the invoice at once: missing keys, wrong
            types, unknown keys (named as such), bad dates and the domain's own rules, with
            paths such as ``lines[2].account_code``.
    """
    reader = _JsonReader()
    invoice = reader.invoice(data)
    if invoice is None:
        number = data.get("number") if isinstance(data, Mapping) else None
        raise InvoiceValidationError(
            reader.problems, invoice_number=number if isinstance(number, str) else None
        )
    return invoice


def invoice_to_dict(invoice: Invoice) -> dict[str, Any]:
    """The invoice in its BMS JSON shape, ready for ``json.dumps``.

    Amounts are written as strings (exact, whatever reads them), dates as ``YYYY-MM-DD``;
    fields that are unset are left out. ``invoice_from_dict`` reads it back to an equal
    invoice.
    """
    customer: dict[str, Any] = {"id": invoice.customer.id, "name": invoice.customer.name}
    for key in ("xero_contact_id", "contact_number", "email"):
        value = getattr(invoice.customer, key)
        if value is not None:
            customer[key] = value
    lines = []
    for line in invoice.lines:
        item: dict[str, Any] = {
            "description": line.description,
            "quantity": str(line.quantity),
            "unit_amount": str(line.unit_amount),
            "account_code": line.account_code,
        }
        if line.tax_code is not None:
            item["tax_code"] = line.tax_code
        if line.discount_rate is not None:
            item["discount_rate"] = str(line.discount_rate)
        if line.item_code is not None:
            item["item_code"] = line.item_code
        if line.tracking:
            item["tracking"] = [{"name": t.name, "option": t.option} for t in line.tracking]
        lines.append(item)
    out: dict[str, Any] = {
        "id": invoice.id,
        "number": invoice.number,
        "customer": customer,
        "issue_date": invoice.issue_date.isoformat(),
    }
    if invoice.due_date is not None:
        out["due_date"] = invoice.due_date.isoformat()
    if invoice.payment_terms is not None:
        out["payment_terms"] = {
            "type": invoice.payment_terms.type.value,
            "days": invoice.payment_terms.days,
        }
    out["lines"] = lines
    if invoice.currency_code is not None:
        out["currency_code"] = invoice.currency_code
    if invoice.currency_rate is not None:
        out["currency_rate"] = str(invoice.currency_rate)
    if invoice.line_amount_types is not LineAmountTypes.EXCLUSIVE:
        out["line_amount_types"] = invoice.line_amount_types.value
    for key in ("reference", "url"):
        value = getattr(invoice, key)
        if value is not None:
            out[key] = value
    out["status"] = invoice.status.value
    if invoice.total is not None:
        out["total"] = str(invoice.total)
    return out


def _json_int(text: str) -> int | Decimal:
    return Decimal(text) if len(text) > _LONG_INT else int(text)


def invoice_items(text: str | bytes, *, source: str | None = None) -> list[Any]:
    """The raw invoice objects of a JSON document: an array, or ``{"invoices": [...]}``.

    Numbers are read as exact Decimals (and ints; an integer of more than 20 digits is read as
    a Decimal too). The items are not checked yet.

    Raises:
        InvoiceFileError: The text is not JSON, or not one of the two shapes.
    """
    try:
        body = json.loads(text, parse_float=Decimal, parse_int=_json_int)
    except json.JSONDecodeError as e:
        raise InvoiceFileError(
            reason=f"not JSON ({e.msg})", source=source, line=e.lineno, column=e.colno
        ) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvoiceFileError(reason=f"not JSON ({e})", source=source) from None
    except RecursionError:
        # json.loads recurses once per nested array or object; Python's stack ends first.
        raise InvoiceFileError(
            reason="arrays or objects are nested too deeply to read", source=source
        ) from None
    except InvalidOperation:
        raise InvoiceFileError(
            reason="a number has an exponent past 10**18, more than a Decimal can hold",
            source=source,
        ) from None
    if isinstance(body, Mapping):
        if set(body) != {"invoices"}:
            extra = sorted(str(k) for k in body if k != "invoices")
            reason = (
                f"unknown top-level keys {', '.join(map(repr, extra))}"
                if "invoices" in body
                else 'an object without an "invoices" key'
            )
            raise InvoiceFileError(reason=reason, source=source)
        body = body["invoices"]
    if not isinstance(body, list):
        raise InvoiceFileError(
            reason=f"the invoices must be a JSON array, not {_json_type(body)}", source=source
        )
    return body


def read_invoices(
    text: str | bytes, *, source: str | None = None
) -> list[Invoice | InvoiceValidationError]:
    """Each invoice of a JSON document, or the error that says everything wrong with it.

    One bad invoice does not hide the others: the result has one entry per item, in order.

    Raises:
        InvoiceFileError: The text is not JSON, or not an array of invoices.
    """
    found: list[Invoice | InvoiceValidationError] = []
    for item in invoice_items(text, source=source):
        try:
            found.append(invoice_from_dict(item))
        except InvoiceValidationError as e:
            found.append(e)
    return found


def invoices_from_json(text: str | bytes) -> list[Invoice]:
    """Every invoice of a JSON document (an array, or ``{"invoices": [...]}``), all or none.

    Raises:
        InvoiceFileError: The text is not JSON, or not an array of invoices.
        InvoiceValidationError: Some invoices are not valid; lists every problem of every
            invoice, each path led by the item's index (``[3].lines[0].account_code``).
    """
    parsed = read_invoices(text)
    problems = [
        FieldProblem(f"[{i}].{p.path}" if p.path else f"[{i}]", p.message)
        for i, item in enumerate(parsed)
        if isinstance(item, InvoiceValidationError)
        for p in item.problems
    ]
    if problems:
        raise InvoiceValidationError(problems)
    return [item for item in parsed if isinstance(item, Invoice)]
