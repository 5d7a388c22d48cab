"""The BMS side's JSON for invoices: what ``bms-xero push FILE`` reads, both ways.

The shape mirrors the domain types in snake_case (``docs/cli.md`` has the full reference)::

    {"id": "I-1001", "number": "INV-1001",
     "customer": {"id": "C-100", "name": "Acme Ltd", "xero_contact_id": "..."},
     "issue_date": "2026-11-02", "due_date": "2026-12-02",
     "lines": [{"description": "Widget", "quantity": 2, "unit_amount": "50.00",
                "account_code": "200", "tax_code": "GST15"}]}

Amounts may be JSON numbers or strings; numbers are read from the JSON text as exact
Decimals, never through a float. Reading checks the structure (missing keys, wrong types,
unknown keys, dates) and then the domain's own rules, and reports every problem of one
invoice together in one :class:`~bms_xero.errors.InvoiceValidationError` with paths such as
``lines[2].account_code``. Pure: no I/O.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bms_xero.domain import (
    Customer,
    Invoice,
    LineAmountTypes,
    LineItem,
    PaymentTerms,
    PaymentTermType,
    Tracking,
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
_MISSING = object()


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


class _Reader:
    """Walks one invoice's JSON, converting values and collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []
        self.bad: set[str] = set()  # paths already reported: domain checks skip them

    def fail(self, path: str, message: str) -> None:
        self.problems.append(FieldProblem(path, message))
        self.bad.add(path)

    def obj(self, value: object, path: str, known: tuple[str, ...]) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"must be an object, not {_json_type(value)}")
            return None
        for key in value:
            if key not in known:
                where = f"{path}.{key}" if path else str(key)
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
                self.fail(where, f"is not a known field ({hint})")
        return value

    def get(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        convert: Callable[[object, str], Any],
        *,
        required: bool = False,
    ) -> Any:
        where = f"{path}.{key}" if path else key
        value = data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.fail(where, "is required but missing" if value is _MISSING else "is required")
            return None
        return convert(value, where)

    def text(self, value: object, path: str) -> str | None:
        if not isinstance(value, str):
            self.fail(path, f"must be a string, not {_json_type(value)}")
            return None
        return value

    def amount(self, value: object, path: str) -> Decimal | None:
        if isinstance(value, bool):
            self.fail(path, "must be a number or a decimal string, not boolean")
            return None
        if isinstance(value, float):
            self.fail(
                path,
                f"was read as the binary float {value!r}, which loses cents; read the file with "
                "invoices_from_json (numbers become exact Decimals) or write the amount as a "
                "string",
            )
            return None
        if isinstance(value, Decimal | int):
            return Decimal(value)
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                self.fail(path, f"{value!r} is not a decimal number")
                return None
            if not number.is_finite():
                self.fail(path, f"must be a finite number, not {value!r}")
                return None
            return number
        self.fail(path, f"must be a number or a decimal string, not {_json_type(value)}")
        return None

    def day(self, value: object, path: str) -> date | None:
        if isinstance(value, str) and _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                self.fail(path, f"{value!r} is not a real date")
                return None
        shown = repr(value) if isinstance(value, str) else _json_type(value)
        self.fail(path, f"must be a date written YYYY-MM-DD, not {shown}")
        return None

    def whole(self, value: object, path: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.fail(path, f"must be a whole number, not {_json_type(value)}")
            return None
        if isinstance(value, Decimal) and value != value.to_integral_value():
            self.fail(path, f"must be a whole number, not {value}")
            return None
        return int(value)

    def items(self, value: object, path: str) -> list[Any] | None:
        if not isinstance(value, list | tuple):
            self.fail(path, f"must be an array, not {_json_type(value)}")
            return None
        return list(value)

    def adopt(self, error: InvoiceValidationError, prefix: str = "") -> None:
        """Take the domain's problems, except those about a field already reported."""
        for problem in error.problems:
            found = problem.under(prefix) if prefix else problem
            if not self._covered(found.path):
                self.problems.append(found)

    def _covered(self, path: str) -> bool:
        return any(
            path == bad or path.startswith((f"{bad}.", f"{bad}[")) or bad.startswith(f"{path}.")
            for bad in self.bad
        )


_CUSTOMER_KEYS = ("id", "name", "xero_contact_id", "contact_number", "email")
_LINE_KEYS = (
    "description",
    "quantity",
    "unit_amount",
    "account_code",
    "tax_code",
    "discount_rate",
    "item_code",
    "tracking",
)
_TRACKING_KEYS = ("name", "option")
_TERMS_KEYS = ("type", "days")
_INVOICE_KEYS = (
    "id",
    "number",
    "customer",
    "issue_date",
    "due_date",
    "payment_terms",
    "lines",
    "currency_code",
    "line_amount_types",
    "reference",
    "url",
    "status",
    "total",
)
# A stand-in for a part that failed, so the rest of the invoice is still checked.
_PLACEHOLDER_CUSTOMER = Customer(id="-", name="-")
_PLACEHOLDER_TERMS = PaymentTerms.days_after_invoice_date(0)


def _customer(r: _Reader, value: object, path: str) -> Customer:
    data = r.obj(value, path, _CUSTOMER_KEYS)
    if data is None:
        return _PLACEHOLDER_CUSTOMER
    fields = {
        key: r.get(data, key, path, r.text, required=key in ("id", "name"))
        for key in _CUSTOMER_KEYS
    }
    try:
        return Customer(**fields)
    except InvoiceValidationError as e:
        r.adopt(e, path)
        return _PLACEHOLDER_CUSTOMER


def _terms_type(r: _Reader, value: object, path: str) -> PaymentTermType | None:
    text = r.text(value, path)
    if text is None:
        return None
    for member in PaymentTermType:
        if text in (member.value, member.name, member.name.lower()):
            return member
    allowed = ", ".join(m.value for m in PaymentTermType)
    r.fail(path, f"{text!r} is not one of {allowed}")
    return None


def _terms(r: _Reader, value: object, path: str) -> PaymentTerms:
    data = r.obj(value, path, _TERMS_KEYS)
    if data is None:
        return _PLACEHOLDER_TERMS
    kind = r.get(data, "type", path, lambda v, p: _terms_type(r, v, p), required=True)
    days = r.get(data, "days", path, r.whole, required=True)
    if kind is None or days is None:
        return _PLACEHOLDER_TERMS
    try:
        return PaymentTerms(kind, days)
    except InvoiceValidationError as e:
        r.adopt(e, path)
        return _PLACEHOLDER_TERMS


def _tracking(r: _Reader, value: object, path: str) -> tuple[Tracking, ...]:
    options = r.items(value, path)
    found: list[Tracking] = []
    for i, item in enumerate(options or ()):
        where = f"{path}[{i}]"
        data = r.obj(item, where, _TRACKING_KEYS)
        if data is None:
            continue
        name = r.get(data, "name", where, r.text, required=True)
        option = r.get(data, "option", where, r.text, required=True)
        if name is not None and option is not None:
            found.append(Tracking(name=name, option=option))
    return tuple(found)


def _line(r: _Reader, value: object, path: str) -> LineItem | None:
    data = r.obj(value, path, _LINE_KEYS)
    if data is None:
        return None
    convert: dict[str, Callable[[object, str], Any]] = {
        "description": r.text,
        "quantity": r.amount,
        "unit_amount": r.amount,
        "account_code": r.text,
        "tax_code": r.text,
        "discount_rate": r.amount,
        "item_code": r.text,
    }
    required = ("description", "quantity", "unit_amount", "account_code")
    fields = {
        key: r.get(data, key, path, fn, required=key in required) for key, fn in convert.items()
    }
    fields["tracking"] = r.get(data, "tracking", path, lambda v, p: _tracking(r, v, p)) or ()
    for key in ("quantity", "unit_amount"):
        if fields[key] is None:
            fields[key] = Decimal(0)  # reported above; keeps the line buildable
    return LineItem(**fields)


def _lines(r: _Reader, value: object, path: str) -> tuple[LineItem, ...]:
    items = r.items(value, path)
    lines: list[LineItem] = []
    for i, item in enumerate(items or ()):
        line = _line(r, item, f"{path}[{i}]")
        # A line that isn't an object is reported; a stand-in keeps later indexes right.
        lines.append(line if line is not None else _stand_in_line())
    return tuple(lines)


def _stand_in_line() -> LineItem:
    return LineItem(
        description="-",
        quantity=Decimal(0),
        unit_amount=Decimal(0),
        account_code="-",
        tax_code="-",
    )


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
    r = _Reader()
    top = r.obj(data, "", _INVOICE_KEYS)
    if top is None:
        raise InvoiceValidationError(r.problems)
    number = top.get("number") if isinstance(top.get("number"), str) else None
    fields: dict[str, Any] = {
        "id": r.get(top, "id", "", r.text, required=True),
        "number": r.get(top, "number", "", r.text, required=True),
        "customer": r.get(top, "customer", "", lambda v, p: _customer(r, v, p), required=True),
        "issue_date": r.get(top, "issue_date", "", r.day, required=True),
        "due_date": r.get(top, "due_date", "", r.day),
        "payment_terms": r.get(top, "payment_terms", "", lambda v, p: _terms(r, v, p)),
        "lines": r.get(top, "lines", "", lambda v, p: _lines(r, v, p), required=True) or (),
        "currency_code": r.get(top, "currency_code", "", r.text),
        "reference": r.get(top, "reference", "", r.text),
        "url": r.get(top, "url", "", r.text),
        "total": r.get(top, "total", "", r.amount),
    }
    for key in ("line_amount_types", "status"):
        value = r.get(top, key, "", r.text)
        if value is not None:
            fields[key] = value
    if fields["customer"] is None:
        fields["customer"] = _PLACEHOLDER_CUSTOMER
    try:
        invoice = Invoice(**fields)
    except InvoiceValidationError as e:
        r.adopt(e)
        invoice = None
    if r.problems or invoice is None:
        raise InvoiceValidationError(r.problems, invoice_number=number)
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


def invoice_items(text: str | bytes, *, source: str | None = None) -> list[Any]:
    """The raw invoice objects of a JSON document: an array, or ``{"invoices": [...]}``.

    Numbers are read as exact Decimals (and ints). The items are not checked yet.

    Raises:
        InvoiceFileError: The text is not JSON, or not one of the two shapes.
    """
    try:
        body = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as e:
        raise InvoiceFileError(
            reason=f"not JSON ({e.msg})", source=source, line=e.lineno, column=e.colno
        ) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvoiceFileError(reason=f"not JSON ({e})", source=source) from None
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
