"""Pure domain types: what a BMS invoice is, and what Xero tells us back.

No I/O and no wire names live here: the domain says ``contact_id``, the mapping layer says
``ContactID``. Money is :class:`decimal.Decimal` everywhere; a float is refused with a message
that says to pass a ``Decimal`` or a string.

Write side (built by the host): :class:`Customer`, :class:`LineItem`, :class:`Tracking`,
:class:`PaymentTerms`, :class:`Invoice`, :class:`CreditNote`. Constructing one validates it:
an object either holds only valid, converted values or is never built, and everything wrong
with it is reported
together in one :class:`~bms_xero.errors.InvoiceValidationError`. Parts are built first (a
line raises before its invoice exists), so a host building from raw data uses
:meth:`Invoice.build`, which takes parts as mappings of their fields and reports every problem
of the whole invoice at once, each with its path (``lines[2].account_code``).

Read side (parsed from Xero): :class:`XeroInvoice`, :class:`XeroCreditNote`,
:class:`XeroLineItem`, :class:`XeroPayment`, :class:`XeroContact`, :class:`Account`,
:class:`TaxRate`, :class:`Organisation`; the money on an invoice is :class:`Allocation` (each
payment or credit applied) summed up as a :class:`Settlement`. Enumerated fields hold the enum
member when Xero sends a value we know and the raw string otherwise, so new values from Xero
never crash a parse.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import enum
import inspect
import math
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self, TypeVar

import attrs

from bms_xero.errors import FieldProblem, InvoiceValidationError

__all__ = [
    "Account",
    "Allocation",
    "AllocationKind",
    "CreditNote",
    "CreditNoteAllocation",
    "Customer",
    "Invoice",
    "InvoiceStatus",
    "LineAmountTypes",
    "LineItem",
    "Organisation",
    "PaymentStatus",
    "PaymentTermType",
    "PaymentTerms",
    "Settlement",
    "TaxRate",
    "Tracking",
    "XeroContact",
    "XeroCreditNote",
    "XeroInvoice",
    "XeroLineItem",
    "XeroPayment",
]

# Xero's documented limits (components/schemas/* in the OpenAPI spec).
MAX_INVOICE_NUMBER = 255
MAX_REFERENCE = 255
MAX_ACCOUNT_CODE = 10
MAX_DESCRIPTION = 4000
MAX_ITEM_CODE = 30
MAX_TRACKING_NAME = 100
MAX_CONTACT_NAME = 255
MAX_CONTACT_NUMBER = 50
MAX_URL = 2000
MAX_TRACKING_PER_LINE = 2
UNIT_DP = 4  # unitdp=4 is what we always send
RATE_DP = 6  # CurrencyRate: "max length = [18].[6]" (spec, Invoice.CurrencyRate)

#: Amounts and quantities have at most this many digits before the decimal point (below a
#: trillion). Far past any invoice, and small enough that every product and sum the mapping
#: computes (quantity × unit amount, discount, tax, totals) stays inside the default decimal
#: context: an exponent such as ``1E+999999999`` would raise ``decimal.Overflow`` there, and a
#: line amount of 27 digits ``InvalidOperation`` when rounded to cents.
MAX_WHOLE_DIGITS = 12
#: An amount is written with at most this many digits (the default decimal context's
#: precision), so no value drags a million digits into every message, payload and sum.
MAX_DIGITS = 28


class LineAmountTypes(enum.StrEnum):
    """Whether line amounts include tax."""

    EXCLUSIVE = "Exclusive"
    INCLUSIVE = "Inclusive"
    NO_TAX = "NoTax"


class PaymentTermType(enum.StrEnum):
    """Xero's four kinds of payment terms (``components/schemas/PaymentTermType``)."""

    DAYS_AFTER_INVOICE_DATE = "DAYSAFTERBILLDATE"
    DAYS_AFTER_INVOICE_MONTH = "DAYSAFTERBILLMONTH"
    OF_CURRENT_MONTH = "OFCURRENTMONTH"
    OF_FOLLOWING_MONTH = "OFFOLLOWINGMONTH"


class InvoiceStatus(enum.StrEnum):
    """Xero invoice statuses. Read-side fields may also hold an unknown raw string."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"
    PAID = "PAID"
    VOIDED = "VOIDED"
    DELETED = "DELETED"


class PaymentStatus(enum.StrEnum):
    """Xero payment statuses. A DELETED payment was reversed."""

    AUTHORISED = "AUTHORISED"
    DELETED = "DELETED"


#: Statuses a BMS invoice may be sent with; PAID comes from payments, VOIDED from cancelling.
SENDABLE_STATUSES = frozenset(
    {InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED, InvoiceStatus.AUTHORISED}
)


# --- reading raw values ----------------------------------------------------------------------
#
# Every write type is built the same way: a _Reader converts each raw value and records every
# problem with its path, and only when there are none are the converted values assigned. The
# rules of each type live in one function (``_line_fields`` and so on), used by its
# constructor, by its ``build`` (raw data, parts as mappings) and, through a subclass, by the
# BMS JSON reader (``bms_xero.mapping.bms_json``).

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.Enum)
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_WHOLE_LIMIT = 10**MAX_WHOLE_DIGITS
_SHOWN = 40  # characters of a refused value quoted in a message
_MAX_NUMBER_TEXT = 100  # a decimal string longer than this can't be an amount
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?", re.IGNORECASE)
_REQUIRED = inspect.Parameter.empty
_ABSENT = object()  # a key a mapping does not have; never stored anywhere


class _Refused(Exception):
    """One raw value can't be a field's value; ``message`` says what the field allows.

    ``message`` is None when the problems were already recorded, deeper (a line of an
    invoice, say): the field is then left out without a second report.
    """

    def __init__(self, message: str | None) -> None:
        super().__init__(message)
        self.message = message


def _shown(value: object) -> str:
    """A refused value, short, for a message; safe for any value.

    Never a plain ``repr``: a deeply nested list raises RecursionError, an int past 4300
    digits raises ValueError, and a million-digit Decimal would make a megabyte message.
    """
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"a whole number of about {int(value.bit_length() * math.log10(2)) + 1} digits"
        return str(value)
    if isinstance(value, str | Decimal | float | date):
        text = repr(value) if isinstance(value, str) else str(value)
        if len(text) <= _SHOWN:
            return text
        return f"{text[:24]}...{text[-8:]} ({len(text)} characters)"
    return f"a {type(value).__name__}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _allowed(places: int) -> str:
    return (
        f"at most {MAX_WHOLE_DIGITS} digits before the decimal point and {places} after are allowed"
    )


def _decimal(value: object, *, places: int) -> Decimal:
    """``value`` as an exact Decimal that an amount field can hold, or :class:`_Refused`.

    Accepts Decimal, int or a decimal string, never a float (floats lose cents). Sizes are
    judged on the exponent and the digit count alone, before any arithmetic and without
    ``int()`` or ``quantize``, so an absurd value (``1E+999999999``, ``1E-999999999``, a
    million digits, a huge int) is refused at once instead of raising ``decimal.Overflow``
    or ``InvalidOperation`` (or taking minutes) further on.
    """
    if isinstance(value, bool):
        raise _Refused("must be a Decimal or a decimal string, not a bool")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _Refused(f"must be a finite number, not {value}")
        raise _Refused(
            f"got the float {value!r}; floats lose cents, pass Decimal({str(value)!r}) "
            "or the string instead"
        )
    if isinstance(value, int):
        if abs(value) >= _WHOLE_LIMIT:  # compared as an int: no Decimal of a huge int is made
            raise _Refused(f"{_shown(value)} is too large; {_allowed(places)}")
        return Decimal(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_TEXT:
            raise _Refused(f"is {len(text)} characters long; {_allowed(places)}")
        try:
            number = Decimal(text)
        except InvalidOperation:
            # Decimal holds exponents up to 10**18; past that a number is merely out of range.
            if _NUMBER.fullmatch(text):
                raise _Refused(f"{_shown(value)} is out of range; {_allowed(places)}") from None
            raise _Refused(f"{_shown(value)} is not a decimal number") from None
    elif isinstance(value, Decimal):
        number = value
    else:
        raise _Refused(f"must be a Decimal or a decimal string, not {type(value).__name__}")
    return _sized(number, places)


def _sized(number: Decimal, places: int) -> Decimal:
    """``number`` when it is finite and small enough (see ``_decimal``), else _Refused."""
    if not number.is_finite():
        raise _Refused(f"must be a finite number, not {number}")
    if number.adjusted() >= MAX_WHOLE_DIGITS:  # adjusted(): the leading digit's exponent
        raise _Refused(f"{_shown(number)} is too large; {_allowed(places)}")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) > MAX_DIGITS:
        raise _Refused(
            f"{_shown(number)} is written with {len(digits)} digits; "
            f"at most {MAX_DIGITS} are allowed"
        )
    if _places(digits, exponent) > places:
        raise _Refused(f"{_shown(number)} has more than {places} decimal places; round it first")
    if exponent < -MAX_DIGITS:  # only a zero gets here, e.g. 0E-999999999
        raise _Refused(
            f"{_shown(number)} is written with {-exponent} decimal places; "
            f"at most {MAX_DIGITS} are allowed"
        )
    return number


def _places(digits: tuple[int, ...], exponent: int) -> int:
    """The decimal places that count (``1.50`` has one), exactly.

    Not ``normalize()``: it rounds to the context's 28 digits, so ``1.000…0001`` with 30
    places would pass as a whole number.
    """
    trailing = 0
    for digit in reversed(digits):  # at most MAX_DIGITS of them
        if digit:
            break
        trailing += 1
    else:
        return 0  # zero
    return max(0, -(exponent + trailing))


def _unknown_field(key: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(known)}"
    return f"is not a known field ({hint})"


_PARAMETERS: dict[type[Any], dict[str, Any]] = {}


def _parameters(kind: type[Any]) -> dict[str, Any]:
    """The constructor's parameters of a write type, each with its default (or _REQUIRED)."""
    if kind not in _PARAMETERS:
        signature = inspect.signature(kind)
        _PARAMETERS[kind] = {name: p.default for name, p in signature.parameters.items()}
    return _PARAMETERS[kind]


#: What a type's rules look like: raw values in, converted values out, problems recorded.
_FieldsOf = Callable[["_Reader", Mapping[str, Any], str], dict[str, Any]]
_Convert = Callable[[Any, str], Any]


class _Reader:
    """Turns raw values into domain values, collecting every problem with its path.

    The value methods (``text``, ``amount``, ``day``, ``whole``, ``choice``, ``items``) either
    return a converted value or raise :class:`_Refused`; ``fields`` and ``part`` record those
    refusals as problems at their paths and go on, so one pass finds everything.
    A subclass changes how raw values look (the BMS JSON reader names JSON types and reads
    dates from strings) without touching the rules.

    Attributes:
        problems: Everything found so far, in order.
        parts_as_mappings: Whether parts (customer, lines, terms, tracking options) may be
            given as mappings of their fields, as ``build`` allows, or must be built already,
            as constructors require.
    """

    #: Whether an explicit None for a field with a default means "not given" (JSON's null).
    none_is_absent = False

    def __init__(self, *, parts_as_mappings: bool = False) -> None:
        self.problems: list[FieldProblem] = []
        self.parts_as_mappings = parts_as_mappings

    def fail(self, path: str, message: str) -> None:
        """Record one problem."""
        self.problems.append(FieldProblem(path, message))

    def fields(
        self, raw: Mapping[str, Any], path: str, converters: Mapping[str, _Convert]
    ) -> dict[str, Any]:
        """Each raw value converted; a refused one is reported at its path and left out.

        A key ``raw`` lacks is skipped: ``read`` has reported it as missing already.
        """
        values: dict[str, Any] = {}
        for key, convert in converters.items():
            if key in raw:
                where = f"{path}.{key}" if path else key
                try:
                    values[key] = convert(raw[key], where)
                except _Refused as refused:
                    if refused.message is not None:
                        self.fail(where, refused.message)
        return values

    def read(self, kind: type[_T], fields_of: _FieldsOf, data: object, path: str) -> _T | None:
        """A ``kind`` built from a mapping of its fields, or None when anything is wrong.

        Unknown keys and missing required ones are reported like any other problem (a
        constructor would raise TypeError at the first); absent optional ones take the
        constructor's defaults.
        """
        if not isinstance(data, Mapping):
            self.fail(path, self.not_a_part(kind, data))
            return None
        start = len(self.problems)
        parameters = _parameters(kind)
        for key in data:
            if key not in parameters:
                self.fail(_join(path, str(key)), _unknown_field(str(key), parameters))
        raw: dict[str, Any] = {}
        for name, default in parameters.items():
            value = data.get(name, _ABSENT)
            if value is None and self.none_is_absent and default is not _REQUIRED:
                value = _ABSENT
            if value is not _ABSENT:
                raw[name] = value
            elif default is _REQUIRED:
                self.fail(_join(path, name), "is required but missing")
            else:
                raw[name] = default
        values = fields_of(self, raw, path)
        if len(self.problems) > start:
            return None
        return kind(**values)  # cannot fail: the same rules just passed

    def part(self, value: object, path: str, kind: type[_T], fields_of: _FieldsOf) -> _T:
        """A part of a bigger object: an instance as it is (it checked itself when built),
        or, where allowed, one read from a mapping of its fields. Problems are recorded
        here, so a refusal carries no message."""
        if isinstance(value, kind):
            return value
        if self.parts_as_mappings and isinstance(value, Mapping):
            built = self.read(kind, fields_of, value, path)
            if built is None:
                raise _Refused(None)
            return built
        self.fail(path, self.not_a_part(kind, value))
        raise _Refused(None)

    def not_a_part(self, kind: type[Any], value: object) -> str:
        """Why ``value`` can't be a ``kind`` part."""
        if self.parts_as_mappings:
            return (
                f"must be a {kind.__name__} or a mapping of its fields, not {self.type_name(value)}"
            )
        return f"must be a {kind.__name__}"

    def type_name(self, value: object) -> str:
        """How messages name the type of a wrong value."""
        return type(value).__name__

    def text(self, value: object, *, max_len: int) -> str:
        """A required, non-blank string of at most ``max_len`` characters."""
        if value is None:
            raise _Refused("is required")
        text = self.optional_text(value, max_len=max_len)
        assert text is not None
        if not text.strip():
            raise _Refused("must not be empty")
        return text

    def optional_text(self, value: object, *, max_len: int) -> str | None:
        """A string of at most ``max_len`` characters, or None."""
        if value is None:
            return None
        if not isinstance(value, str):
            raise _Refused(f"must be a string, not {self.type_name(value)}")
        if len(value) > max_len:
            raise _Refused(f"is {len(value)} characters; Xero allows at most {max_len}")
        return value

    def amount(
        self,
        value: object,
        *,
        places: int,
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> Decimal:
        """A required exact amount with at most ``places`` decimal places (see ``_decimal``)."""
        if value is None:
            raise _Refused("is required")
        number = _decimal(value, places=places)
        if low is not None and number < low:
            raise _Refused(f"{_shown(number)} is below {low}")
        if high is not None and number > high:
            raise _Refused(f"{_shown(number)} is above {high}")
        return number

    def optional_amount(
        self,
        value: object,
        *,
        places: int,
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> Decimal | None:
        """An amount, or None."""
        return None if value is None else self.amount(value, places=places, low=low, high=high)

    def day(self, value: object) -> date:
        """A required plain date. A datetime would drag a timezone in and shift the day."""
        if value is None:
            raise _Refused("is required")
        if isinstance(value, datetime) or not isinstance(value, date):
            raise _Refused(f"must be a datetime.date (not {type(value).__name__})")
        return value

    def optional_day(self, value: object) -> date | None:
        """A plain date, or None."""
        return None if value is None else self.day(value)

    def whole(self, value: object, *, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Refused("must be a whole number")
        if not low <= value <= high:
            raise _Refused(f"{_shown(value)} is not between {low} and {high}")
        return value

    def choice(self, value: object, kind: type[_E]) -> _E:
        """The member of ``kind`` that ``value`` is, or names by its value."""
        if isinstance(value, kind):
            return value
        for member in kind:
            if isinstance(value, str) and value == member.value:
                return member
        allowed = ", ".join(str(m.value) for m in kind)
        raise _Refused(f"{_shown(value)} is not one of {allowed}")

    def items(self, value: object, *, of: str) -> list[Any]:
        """The items of a sequence (None means none). A string or a mapping is one value,
        not a sequence of them, so it is refused rather than split up."""
        if value is None:
            return []
        if isinstance(value, tuple | list):
            return list(value)
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise _Refused(f"must be a sequence of {of}, not {self.type_name(value)}")
        return list(value)

    def invoice(self, data: object) -> Invoice | None:
        """An :class:`Invoice` read from a mapping of its fields, or None (see ``problems``)."""
        return self.read(Invoice, _invoice_fields, data, "")


def _document(kind: type[Any]) -> str:
    """What an error calls the document being built."""
    return "credit note" if kind is CreditNote else "invoice"


def _init(obj: Any, fields_of: _FieldsOf, raw: dict[str, Any], number: object = None) -> None:
    """A constructor's body: check every argument, raise once for all problems, then assign.

    The attrs fields are only ever set to converted values, so no object holds a float, a
    string for an enum or a placeholder: it is fully valid or it does not exist.
    """
    reader = _Reader()
    values = fields_of(reader, raw, "")
    if reader.problems:
        raise InvoiceValidationError(
            reader.problems,
            invoice_number=number if isinstance(number, str) else None,
            document=_document(type(obj)),
        )
    obj.__attrs_init__(**values)


def _build(kind: type[_T], fields_of: _FieldsOf, fields: Mapping[str, Any]) -> _T:
    """``kind.build``: read raw fields, parts as mappings, raising once for all problems."""
    reader = _Reader(parts_as_mappings=True)
    built = reader.read(kind, fields_of, fields, "")
    if built is None:
        number = fields.get("number") if kind in (Invoice, CreditNote) else None
        raise InvoiceValidationError(
            reader.problems,
            invoice_number=number if isinstance(number, str) else None,
            document=_document(kind),
        )
    return built


def _recheck(obj: Any, fields_of: _FieldsOf) -> list[FieldProblem]:
    """The problems of a built object's own values: none, as it checked them when built."""
    reader = _Reader()
    fields_of(reader, attrs.asdict(obj, recurse=False), "")
    return reader.problems


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise InvoiceValidationError(problems)


# --- write side ----------------------------------------------------------------------------


def _tracking_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A tracking option's rules: name and option each 1 to 100 characters."""
    return r.fields(
        raw,
        path,
        {
            "name": lambda v, _: r.text(v, max_len=MAX_TRACKING_NAME),
            "option": lambda v, _: r.text(v, max_len=MAX_TRACKING_NAME),
        },
    )


@attrs.frozen(kw_only=True, init=False)
class Tracking:
    """One tracking category option on a line (Xero allows two per line).

    Attributes:
        name: The tracking category's name in Xero, e.g. ``"Region"``.
        option: The option within it, e.g. ``"North"``.
    """

    name: str
    option: str

    def __init__(self, *, name: str, option: str) -> None:
        _init(self, _tracking_fields, {"name": name, "option": option})

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A tracking option from raw fields, every problem reported at once."""
        return _build(cls, _tracking_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this option: nothing, since it checked itself when built."""
        return _recheck(self, _tracking_fields)

    def validate(self) -> None:
        """Raise InvoiceValidationError if anything is wrong (it never is once built)."""
        _raise_if(self.problems())


def _contact_id(r: _Reader, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Refused(f"must be a string GUID or None, not {r.type_name(value)}")
    try:
        uuid.UUID(value)
    except ValueError:
        raise _Refused(
            f"{_shown(value)} is not a Xero ContactID (a GUID such as "
            "'9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4')"
        ) from None
    return value


def _customer_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A customer's rules: id and name required, a GUID contact id, Xero's lengths."""
    return r.fields(
        raw,
        path,
        {
            "id": lambda v, _: r.text(v, max_len=MAX_CONTACT_NUMBER * 10),
            "name": lambda v, _: r.text(v, max_len=MAX_CONTACT_NAME),
            "xero_contact_id": lambda v, _: _contact_id(r, v),
            "contact_number": lambda v, _: r.optional_text(v, max_len=MAX_CONTACT_NUMBER),
            "email": lambda v, _: r.optional_text(v, max_len=255),
        },
    )


@attrs.frozen(kw_only=True, init=False)
class Customer:
    """The BMS customer an invoice is for.

    Attributes:
        id: The BMS customer id.
        name: The customer's name (Xero contact names are unique per organisation).
        xero_contact_id: The Xero ContactID once the customer is linked; pushing an invoice
            needs it (see ``SyncEngine.link_customer``).
        contact_number: Xero's ContactNumber for this customer (defaults to ``id`` when
            linking); at most 50 characters.
        email: Optional e-mail address, used when a Xero contact is created.
    """

    id: str
    name: str
    xero_contact_id: str | None
    contact_number: str | None
    email: str | None

    def __init__(
        self,
        *,
        id: str,
        name: str,
        xero_contact_id: str | None = None,
        contact_number: str | None = None,
        email: str | None = None,
    ) -> None:
        _init(
            self,
            _customer_fields,
            {
                "id": id,
                "name": name,
                "xero_contact_id": xero_contact_id,
                "contact_number": contact_number,
                "email": email,
            },
        )

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A customer from raw fields, every problem reported at once."""
        return _build(cls, _customer_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this customer: nothing, since it checked itself when built."""
        return _recheck(self, _customer_fields)

    def with_xero_contact_id(self, contact_id: str) -> Customer:
        """A copy linked to the given Xero ContactID."""
        return attrs.evolve(self, xero_contact_id=contact_id)


def _tracking(r: _Reader, value: object, path: str) -> tuple[Tracking, ...]:
    options = r.items(value, of="Tracking")
    failed = len(options) > MAX_TRACKING_PER_LINE
    if failed:
        r.fail(
            path,
            f"has {len(options)} options; Xero allows at most {MAX_TRACKING_PER_LINE} per line",
        )
    built: list[Tracking] = []
    for i, option in enumerate(options):
        try:
            built.append(r.part(option, f"{path}[{i}]", Tracking, _tracking_fields))
        except _Refused:
            failed = True
    if failed:
        raise _Refused(None)
    return tuple(built)


def _line_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A line's rules: Xero's lengths, 4-dp quantity and unit amount, a 0-100 discount with
    2 dp, at most two tracking options. Whether it needs a tax code is its invoice's rule."""
    return r.fields(
        raw,
        path,
        {
            "description": lambda v, _: r.text(v, max_len=MAX_DESCRIPTION),
            "quantity": lambda v, _: r.amount(v, places=UNIT_DP),
            "unit_amount": lambda v, _: r.amount(v, places=UNIT_DP),
            "account_code": lambda v, _: r.text(v, max_len=MAX_ACCOUNT_CODE),
            "tax_code": lambda v, _: r.optional_text(v, max_len=255),
            "discount_rate": lambda v, _: r.optional_amount(v, places=2, low=_ZERO, high=_HUNDRED),
            "item_code": lambda v, _: r.optional_text(v, max_len=MAX_ITEM_CODE),
            "tracking": lambda v, p: _tracking(r, v, p),
        },
    )


@attrs.frozen(kw_only=True, init=False)
class LineItem:
    """One line of a BMS invoice.

    Attributes:
        description: What was sold (1 to 4000 characters).
        quantity: How many; up to 4 decimal places.
        unit_amount: Price per unit; up to 4 decimal places (sent with ``unitdp=4``).
        account_code: The Xero revenue account code (at most 10 characters).
        tax_code: The BMS's own tax code; the engine's tax map turns it into a Xero TaxType.
            May be omitted only on ``NoTax`` invoices.
        discount_rate: Percentage discount, 0 to 100, up to 2 decimal places.
        item_code: Xero item code (at most 30 characters).
        tracking: Up to two tracking category options.

    Amounts may be given as Decimal, int or a decimal string (never a float), with at most
    12 digits before the decimal point.
    """

    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_code: str | None
    discount_rate: Decimal | None
    item_code: str | None
    tracking: tuple[Tracking, ...]

    def __init__(
        self,
        *,
        description: str,
        quantity: Decimal | int | str,
        unit_amount: Decimal | int | str,
        account_code: str,
        tax_code: str | None = None,
        discount_rate: Decimal | int | str | None = None,
        item_code: str | None = None,
        tracking: Iterable[Tracking] | None = (),
    ) -> None:
        _init(
            self,
            _line_fields,
            {
                "description": description,
                "quantity": quantity,
                "unit_amount": unit_amount,
                "account_code": account_code,
                "tax_code": tax_code,
                "discount_rate": discount_rate,
                "item_code": item_code,
                "tracking": tracking,
            },
        )

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A line from raw fields (tracking options may be mappings), every problem at once."""
        return _build(cls, _line_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this line: nothing, since it checked itself when built."""
        return _recheck(self, _line_fields)

    def validate(self) -> None:
        """Raise InvoiceValidationError if anything is wrong (it never is once built).

        A line checks itself when it is constructed; to have a line's problems reported with
        its path in an invoice (``lines[2].account_code``), give it to :meth:`Invoice.build`
        as a mapping of its fields.
        """
        _raise_if(self.problems())

    @property
    def gross_amount(self) -> Decimal:
        """quantity × unit amount, before discount and rounding."""
        return self.quantity * self.unit_amount


_MONTH_DAY_TERMS = (PaymentTermType.OF_CURRENT_MONTH, PaymentTermType.OF_FOLLOWING_MONTH)


def _day_range(kind: object) -> tuple[int, int]:
    """The days a term allows: a day of the month, or days after a date or a month's end."""
    return (1, 31) if kind in _MONTH_DAY_TERMS else (0, 3650)


def _terms_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """Terms' rules: one of the four kinds, and days in that kind's range."""
    values = r.fields(raw, path, {"type": lambda v, _: r.choice(v, PaymentTermType)})
    low, high = _day_range(values.get("type"))
    days = r.fields(raw, path, {"days": lambda v, _: r.whole(v, low=low, high=high)})
    return values | days


@attrs.frozen(init=False)
class PaymentTerms:
    """When an invoice falls due, in one of Xero's four ways.

    Attributes:
        type: Which kind of term.
        days: Days after the invoice date or after the end of its month (0 to 3650), or the
            day of the month (1 to 31; a day past the month's end means its last day).
    """

    type: PaymentTermType
    days: int

    def __init__(self, type: PaymentTermType | str, days: int) -> None:
        _init(self, _terms_fields, {"type": type, "days": days})

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """Terms from raw fields (``type=``, ``days=``), every problem reported at once."""
        return _build(cls, _terms_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with these terms: nothing, since they checked themselves."""
        return _recheck(self, _terms_fields)

    @classmethod
    def days_after_invoice_date(cls, days: int) -> PaymentTerms:
        """Due ``days`` after the invoice date (e.g. net 30)."""
        return cls(PaymentTermType.DAYS_AFTER_INVOICE_DATE, days)

    @classmethod
    def days_after_end_of_month(cls, days: int) -> PaymentTerms:
        """Due ``days`` after the end of the invoice's month (e.g. 20th of next month = 20)."""
        return cls(PaymentTermType.DAYS_AFTER_INVOICE_MONTH, days)

    @classmethod
    def day_of_current_month(cls, day: int) -> PaymentTerms:
        """Due on ``day`` of the invoice's month."""
        return cls(PaymentTermType.OF_CURRENT_MONTH, day)

    @classmethod
    def day_of_following_month(cls, day: int) -> PaymentTerms:
        """Due on ``day`` of the month after the invoice's month."""
        return cls(PaymentTermType.OF_FOLLOWING_MONTH, day)


_CURRENCY = re.compile(r"[A-Z]{3}")
_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)


def _invoice_number(r: _Reader, value: object) -> str:
    number = r.text(value, max_len=MAX_INVOICE_NUMBER)
    if number != number.strip():
        # Xero trims numbers; a padded one would never match its own lookup.
        raise _Refused("must not start or end with spaces")
    return number


def _customer(r: _Reader, value: object, path: str) -> Customer:
    if value is None:
        raise _Refused("is required")
    return r.part(value, path, Customer, _customer_fields)


def _terms(r: _Reader, value: object, path: str) -> PaymentTerms | None:
    return None if value is None else r.part(value, path, PaymentTerms, _terms_fields)


def _lines(
    r: _Reader, value: object, path: str, tax_codes: list[tuple[int, object]]
) -> tuple[LineItem, ...]:
    """The lines, each read in turn; ``tax_codes`` gets each line's tax code, even of a line
    that failed, so the invoice can still say which lines need one."""
    if value is None:
        raise _Refused("is required")
    items = r.items(value, of="LineItem")
    if not items:
        raise _Refused("needs at least one line")
    lines: list[LineItem] = []
    for i, item in enumerate(items):
        try:
            line = r.part(item, f"{path}[{i}]", LineItem, _line_fields)
        except _Refused:
            if r.parts_as_mappings and isinstance(item, Mapping):
                tax_codes.append((i, item.get("tax_code")))
            continue
        lines.append(line)
        tax_codes.append((i, line.tax_code))
    if len(lines) < len(items):
        raise _Refused(None)
    return tuple(lines)


def _currency(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and _CURRENCY.fullmatch(value):
        return value
    raise _Refused(f"{_shown(value)} is not a three-letter ISO 4217 code such as 'NZD'")


def _rate(r: _Reader, value: object) -> Decimal | None:
    rate = r.optional_amount(value, places=RATE_DP)
    if rate is not None and rate <= 0:
        raise _Refused(f"{_shown(rate)} must be a positive exchange rate")
    return rate


def _url(r: _Reader, value: object) -> str | None:
    url = r.optional_text(value, max_len=MAX_URL)
    if url is not None and not _URL.fullmatch(url):
        raise _Refused("must be an absolute http(s) URL")
    return url


def _sendable(r: _Reader, value: object) -> InvoiceStatus:
    if isinstance(value, str) and value in SENDABLE_STATUSES:
        return InvoiceStatus(value)
    what = _shown(value) if value is None or isinstance(value, str) else r.type_name(value)
    raise _Refused(
        f"{what} cannot be sent; use AUTHORISED, SUBMITTED or DRAFT "
        "(PAID comes from payments; cancel an invoice to void it)"
    )


def _invoice_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """An invoice's rules: its own fields, its parts', and the rules across them.

    A rule across fields is only applied when the fields it reads converted: a bad due date
    is reported once, not again as "needs a due date".
    """
    tax_codes: list[tuple[int, object]] = []
    values = r.fields(
        raw,
        path,
        {
            "id": lambda v, _: r.text(v, max_len=MAX_INVOICE_NUMBER),
            "number": lambda v, _: _invoice_number(r, v),
            "customer": lambda v, p: _customer(r, v, p),
            "issue_date": lambda v, _: r.day(v),
            "lines": lambda v, p: _lines(r, v, p, tax_codes),
            "due_date": lambda v, _: r.optional_day(v),
            "payment_terms": lambda v, p: _terms(r, v, p),
            "currency_code": lambda v, _: _currency(v),
            "currency_rate": lambda v, _: _rate(r, v),
            "line_amount_types": lambda v, _: r.choice(v, LineAmountTypes),
            "reference": lambda v, _: r.optional_text(v, max_len=MAX_REFERENCE),
            "url": lambda v, _: _url(r, v),
            "status": lambda v, _: _sendable(r, v),
            "total": lambda v, _: r.optional_amount(v, places=2),
        },
    )
    amount_types = values.get("line_amount_types")
    if amount_types is not None and amount_types is not LineAmountTypes.NO_TAX:
        for i, tax_code in tax_codes:
            if tax_code is None:
                r.fail(
                    _join(path, f"lines[{i}].tax_code"),
                    "is required unless line_amount_types is NoTax",
                )
    # A currency_code that failed to convert is missing from values: reported once, there.
    if values.get("currency_rate") is not None and values.get("currency_code", "") is None:
        r.fail(
            _join(path, "currency_rate"),
            "needs a currency_code: a rate converts the invoice's currency to the base currency",
        )
    issued, due = values.get("issue_date"), values.get("due_date")
    if issued is not None and due is not None and due < issued:
        r.fail(
            _join(path, "due_date"),
            f"{due.isoformat()} is before the issue date {issued.isoformat()}",
        )
    if (
        {"due_date", "payment_terms", "status"} <= values.keys()
        and due is None
        and values["payment_terms"] is None
        and values["status"] is not InvoiceStatus.DRAFT
    ):
        r.fail(
            _join(path, "due_date"),
            "Xero needs a due date for approved invoices; give due_date or payment_terms",
        )
    return values


class _Lined:
    """What an invoice and a credit note both answer about their lines (preflight asks)."""

    __slots__ = ()
    lines: tuple[LineItem, ...]

    @property
    def tax_codes(self) -> frozenset[str]:
        """The BMS tax codes its lines use."""
        return frozenset(line.tax_code for line in self.lines if line.tax_code is not None)

    def lines_using(
        self, *, account_code: str | None = None, tax_code: str | None = None
    ) -> Iterator[str]:
        """Paths (``lines[i].account_code``/``.tax_code``) of the lines that use a code."""
        for i, line in enumerate(self.lines):
            if account_code is not None and line.account_code == account_code:
                yield f"lines[{i}].account_code"
            if tax_code is not None and line.tax_code == tax_code:
                yield f"lines[{i}].tax_code"


@attrs.frozen(kw_only=True, init=False)
class Invoice(_Lined):
    """A released BMS invoice, as it should appear in Xero (a sales invoice, ``ACCREC``).

    Attributes:
        id: The BMS invoice id (the key of its sync record).
        number: The invoice number; unique in Xero for sales invoices (at most 255 characters).
        customer: Who it is for; must be linked to a Xero contact before pushing.
        issue_date: The invoice date.
        lines: At least one line.
        due_date: When payment is due; computed from ``payment_terms`` when omitted.
        payment_terms: Used to compute ``due_date`` when that is not given.
        currency_code: ISO 4217 code; ``None`` means the organisation's base currency.
        currency_rate: The exchange rate the BMS used, sent as Xero's CurrencyRate (a positive
            Decimal, at most 6 decimal places; needs ``currency_code``). ``None``: Xero
            applies its own daily rate.

            .. versionadded:: Unreleased
        line_amount_types: Whether line amounts include tax.
        reference: Xero's Reference field (at most 255 characters).
        url: A link back to the invoice in the BMS, shown in Xero as "Go to ...".
        status: The status to create it with in Xero: AUTHORISED (the default), SUBMITTED or
            DRAFT.
        total: The total the BMS shows, when known; pushes report any difference from the total
            Xero computes (Xero rounds tax per line).
    """

    id: str
    number: str
    customer: Customer
    issue_date: date
    lines: tuple[LineItem, ...]
    due_date: date | None
    payment_terms: PaymentTerms | None
    currency_code: str | None
    line_amount_types: LineAmountTypes
    reference: str | None
    url: str | None
    status: InvoiceStatus
    total: Decimal | None
    currency_rate: Decimal | None

    def __init__(
        self,
        *,
        id: str,
        number: str,
        customer: Customer,
        issue_date: date,
        lines: Iterable[LineItem],
        due_date: date | None = None,
        payment_terms: PaymentTerms | None = None,
        currency_code: str | None = None,
        line_amount_types: LineAmountTypes | str = LineAmountTypes.EXCLUSIVE,
        reference: str | None = None,
        url: str | None = None,
        status: InvoiceStatus | str = InvoiceStatus.AUTHORISED,
        total: Decimal | int | str | None = None,
        currency_rate: Decimal | int | str | None = None,
    ) -> None:
        _init(
            self,
            _invoice_fields,
            {
                "id": id,
                "number": number,
                "customer": customer,
                "issue_date": issue_date,
                "lines": lines,
                "due_date": due_date,
                "payment_terms": payment_terms,
                "currency_code": currency_code,
                "line_amount_types": line_amount_types,
                "reference": reference,
                "url": url,
                "status": status,
                "total": total,
                "currency_rate": currency_rate,
            },
            number,
        )

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """An invoice from raw data, with every problem of the whole invoice reported at once.

        Takes the constructor's keywords, but its parts may be mappings of their fields:
        ``customer={"id": ..., "name": ...}``, ``lines=[{"description": ..., ...}, ...]``,
        ``payment_terms={"type": ..., "days": ...}`` and, in a line, ``tracking=[{"name":
        ..., "option": ...}]`` (built parts are taken as they are). Unknown and missing
        fields are problems too, not a TypeError.

        Raises:
            InvoiceValidationError: Everything wrong, with paths such as
                ``lines[2].account_code`` and ``customer.name``.
        """
        return _build(cls, _invoice_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with the invoice: nothing, since it checked itself when built.

        Kept for callers of versions that built invalid objects; check raw data with
        :meth:`build`.
        """
        return _recheck(self, _invoice_fields)


def _credit_note_fields(r: _Reader, raw: Mapping[str, Any], path: str) -> dict[str, Any]:
    """A credit note's rules: an invoice's, less what only invoices have (due dates, terms,
    a status to send: a credit note is always created AUTHORISED, so it can be allocated)."""
    tax_codes: list[tuple[int, object]] = []
    values = r.fields(
        raw,
        path,
        {
            "id": lambda v, _: r.text(v, max_len=MAX_INVOICE_NUMBER),
            "number": lambda v, _: _invoice_number(r, v),
            "invoice_id": lambda v, _: r.text(v, max_len=MAX_INVOICE_NUMBER),
            "customer": lambda v, p: _customer(r, v, p),
            "issue_date": lambda v, _: r.day(v),
            "lines": lambda v, p: _lines(r, v, p, tax_codes),
            "currency_code": lambda v, _: _currency(v),
            "line_amount_types": lambda v, _: r.choice(v, LineAmountTypes),
            "reference": lambda v, _: r.optional_text(v, max_len=MAX_REFERENCE),
            "total": lambda v, _: r.optional_amount(v, places=2, low=_ZERO),
        },
    )
    amount_types = values.get("line_amount_types")
    if amount_types is not None and amount_types is not LineAmountTypes.NO_TAX:
        for i, tax_code in tax_codes:
            if tax_code is None:
                r.fail(
                    _join(path, f"lines[{i}].tax_code"),
                    "is required unless line_amount_types is NoTax",
                )
    return values


@attrs.frozen(kw_only=True, init=False)
class CreditNote(_Lined):
    """A BMS credit note: a correction after payment, as a sales credit note in Xero
    (``ACCRECCREDIT``), allocated to the Xero invoice of the BMS invoice it credits.

    Xero can't edit an invoice once payments or credits are allocated to it, so a BMS that
    corrects a paid invoice raises a credit note for the difference instead
    (:meth:`SyncEngine.correction_credit_note <bms_xero.SyncEngine.correction_credit_note>`
    builds it). Lines are positive amounts: what the customer is credited.

    Attributes:
        id: The BMS credit note id (the key of its sync record).
        number: Its number; Xero's CreditNoteNumber (at most 255 characters).
        invoice_id: The BMS invoice it credits; that invoice must have been pushed.
        customer: Who it is for: the invoice's customer (Xero allocates a credit note only to
            an invoice of the same contact).
        issue_date: The credit note's date.
        lines: At least one line, as on an invoice (account codes, tax codes, quantities).
        currency_code: ISO 4217 code; ``None`` means the organisation's base currency. Must
            be the invoice's currency for the allocation.
        line_amount_types: Whether line amounts include tax.
        reference: Xero's Reference field (at most 255 characters).
        total: The total the BMS shows, when known; the push reports any difference from the
            total Xero computes.
    """

    id: str
    number: str
    invoice_id: str
    customer: Customer
    issue_date: date
    lines: tuple[LineItem, ...]
    currency_code: str | None
    line_amount_types: LineAmountTypes
    reference: str | None
    total: Decimal | None

    def __init__(
        self,
        *,
        id: str,
        number: str,
        invoice_id: str,
        customer: Customer,
        issue_date: date,
        lines: Iterable[LineItem],
        currency_code: str | None = None,
        line_amount_types: LineAmountTypes | str = LineAmountTypes.EXCLUSIVE,
        reference: str | None = None,
        total: Decimal | int | str | None = None,
    ) -> None:
        _init(
            self,
            _credit_note_fields,
            {
                "id": id,
                "number": number,
                "invoice_id": invoice_id,
                "customer": customer,
                "issue_date": issue_date,
                "lines": lines,
                "currency_code": currency_code,
                "line_amount_types": line_amount_types,
                "reference": reference,
                "total": total,
            },
            number,
        )

    @classmethod
    def build(cls, **fields: Any) -> Self:
        """A credit note from raw data (parts as mappings), every problem reported at once.

        Raises:
            InvoiceValidationError: Everything wrong, with paths (``document`` is
                ``"credit note"``).
        """
        return _build(cls, _credit_note_fields, fields)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with it: nothing, since it checked itself when built."""
        return _recheck(self, _credit_note_fields)


# --- read side -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class XeroLineItem:
    """A line of an invoice as Xero stores it.

    Attributes:
        line_item_id: Xero's LineItemID (needed to update the line in place).
        description: The line's description.
        quantity: Quantity.
        unit_amount: Unit price.
        account_code: Account code.
        tax_type: Xero TaxType code.
        tax_amount: Tax Xero computed for this line (rounded to 2 dp).
        line_amount: The line's amount after discount (rounded to 2 dp).
        discount_rate: Percentage discount, if any.
        item_code: Item code, if any.
        tracking: Tracking options.
    """

    line_item_id: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_amount: Decimal | None = None
    account_code: str | None = None
    tax_type: str | None = None
    tax_amount: Decimal | None = None
    line_amount: Decimal | None = None
    discount_rate: Decimal | None = None
    item_code: str | None = None
    tracking: tuple[Tracking, ...] = ()


@attrs.frozen(kw_only=True)
class XeroPayment:
    """A payment in Xero against an invoice.

    Attributes:
        payment_id: Xero's PaymentID.
        amount: Amount in the invoice's currency.
        date: When it was paid.
        status: AUTHORISED, or DELETED when reversed (or a new raw value).
        invoice_id: The invoice it pays, when Xero said.
        invoice_number: That invoice's number, when Xero said.
        reference: Payment reference.
        payment_type: Xero's PaymentType, e.g. ``ACCRECPAYMENT``.
        updated_at: Xero's UpdatedDateUTC (UTC).
        batch_payment_id: The batch payment it is part of, if any.
    """

    payment_id: str
    amount: Decimal
    date: date | None = None
    status: PaymentStatus | str = PaymentStatus.AUTHORISED
    invoice_id: str | None = None
    invoice_number: str | None = None
    reference: str | None = None
    payment_type: str | None = None
    updated_at: _dt.datetime | None = None
    batch_payment_id: str | None = None


class AllocationKind(enum.StrEnum):
    """What settled (part of) an invoice in Xero."""

    #: A payment received against the invoice (``Payments[]``; batch payments included).
    PAYMENT = "payment"
    #: A credit note applied to it (``CreditNotes[]``): the invoice was reduced, not paid.
    CREDIT_NOTE = "credit_note"
    #: A customer's prepayment applied to it (``Prepayments[]``): paid, in advance.
    PREPAYMENT = "prepayment"
    #: A customer's overpayment of another invoice applied to it (``Overpayments[]``): paid.
    OVERPAYMENT = "overpayment"


@attrs.frozen(kw_only=True)
class Allocation:
    """One payment or credit applied to an invoice, as the invoice lists it.

    Attributes:
        kind: What it is.
        id: Xero's PaymentID, CreditNoteID, PrepaymentID or OverpaymentID.
        amount: The amount applied to this invoice (a payment's Amount, a credit's
            AppliedAmount).
        date: When it was paid or applied, when Xero said.
        reference: The payment's reference or the credit note's number, when Xero said.
    """

    kind: AllocationKind
    id: str
    amount: Decimal
    date: _dt.date | None = None
    reference: str | None = None


@attrs.frozen(kw_only=True)
class Settlement:
    """How much of an invoice is settled, and by what.

    Xero's ``AmountPaid`` counts payments only, and its ``AmountCredited`` sums credit notes
    *and* prepayments and overpayments applied. A prepayment or an overpayment is the
    customer's money, so a BMS should show it as paid: this splits the two apart.

    Attributes:
        payments: Paid by payments (Xero's AmountPaid).
        prepayments: Paid by prepayments applied.
        overpayments: Paid by overpayments applied.
        credit_notes: Credited by credit notes (Xero's AmountCredited less the other two).
    """

    payments: Decimal = _ZERO
    prepayments: Decimal = _ZERO
    overpayments: Decimal = _ZERO
    credit_notes: Decimal = _ZERO

    @classmethod
    def of(
        cls,
        *,
        amount_paid: Decimal,
        amount_credited: Decimal,
        credits: Iterable[Allocation] = (),
    ) -> Settlement:
        """Split Xero's two amounts with the credits an invoice lists.

        When Xero left the credit lists out (some answers do), all of ``amount_credited``
        counts as credit notes: the cautious reading, since it never shows a credit as cash.
        """
        prepaid = overpaid = _ZERO
        for credit in credits:
            if credit.kind is AllocationKind.PREPAYMENT:
                prepaid += credit.amount
            elif credit.kind is AllocationKind.OVERPAYMENT:
                overpaid += credit.amount
        return cls(
            payments=amount_paid,
            prepayments=prepaid,
            overpayments=overpaid,
            credit_notes=amount_credited - prepaid - overpaid,
        )

    @property
    def paid(self) -> Decimal:
        """What the customer paid: payments, prepayments and overpayments."""
        return self.payments + self.prepayments + self.overpayments

    @property
    def credited(self) -> Decimal:
        """What credit notes took off."""
        return self.credit_notes


@attrs.frozen(kw_only=True)
class XeroInvoice:
    """An invoice as Xero returns it. Missing amounts are read as zero, as Xero means them.

    Attributes:
        invoice_id: Xero's InvoiceID.
        invoice_number: Its number.
        type: ``ACCREC`` for sales invoices.
        status: Xero's status (an :class:`InvoiceStatus`, or a raw string Xero added later).
        contact_id: The contact's ContactID.
        date: The invoice date.
        due_date: The due date.
        line_amount_types: Whether lines include tax.
        currency_code: Currency.
        reference: Reference.
        url: The link back to the BMS.
        sub_total: Total before tax.
        total_tax: Total tax (the sum of per-line rounded tax).
        total: SubTotal + TotalTax.
        amount_due: Left to pay.
        amount_paid: Paid so far.
        amount_credited: Credited (credit notes, prepayments, overpayments).
        fully_paid_on: When it became fully paid.
        payments: Payments against it (in the order Xero listed them).
        credits: Credit notes, prepayments and overpayments applied to it, with the amount
            applied to this invoice (empty when Xero left the lists out).
        line_items: Its lines (absent from some list calls).
        updated_at: Xero's UpdatedDateUTC (UTC).
        validation_errors: Xero's messages when this element of a write failed.
        warnings: Xero's warnings on this element.
    """

    invoice_id: str | None = None
    invoice_number: str | None = None
    type: str = "ACCREC"
    status: InvoiceStatus | str | None = None
    contact_id: str | None = None
    date: date | None = None
    due_date: _dt.date | None = None
    line_amount_types: LineAmountTypes | str | None = None
    currency_code: str | None = None
    reference: str | None = None
    url: str | None = None
    sub_total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    amount_due: Decimal = Decimal(0)
    amount_paid: Decimal = Decimal(0)
    amount_credited: Decimal = Decimal(0)
    fully_paid_on: _dt.date | None = None
    payments: tuple[XeroPayment, ...] = ()
    credits: tuple[Allocation, ...] = ()
    line_items: tuple[XeroLineItem, ...] = ()
    updated_at: _dt.datetime | None = None
    validation_errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        """Whether Xero rejected this element of a write."""
        return bool(self.validation_errors)

    @property
    def has_allocations(self) -> bool:
        """Whether payments or credits are allocated (Xero then refuses edits and voids)."""
        return self.amount_paid != 0 or self.amount_credited != 0

    @property
    def settlement(self) -> Settlement:
        """What settled it so far: payments, prepayments, overpayments, credit notes."""
        return Settlement.of(
            amount_paid=self.amount_paid,
            amount_credited=self.amount_credited,
            credits=self.credits,
        )

    @property
    def allocations(self) -> tuple[Allocation, ...]:
        """Every live payment and credit applied to it (reversed payments left out)."""
        paid = tuple(
            Allocation(
                kind=AllocationKind.PAYMENT,
                id=p.payment_id,
                amount=p.amount,
                date=p.date,
                reference=p.reference,
            )
            for p in self.payments
            if p.status != PaymentStatus.DELETED
        )
        return paid + self.credits


@attrs.frozen(kw_only=True)
class CreditNoteAllocation:
    """Part of a credit note applied to one invoice, as the credit note lists it.

    Attributes:
        allocation_id: Xero's AllocationID (``None`` when Xero left it out).
        invoice_id: The Xero InvoiceID it was applied to.
        amount: How much of the credit note went to that invoice.
        date: The allocation's date.
        is_deleted: Whether the allocation was taken back.
    """

    allocation_id: str | None = None
    invoice_id: str | None = None
    amount: Decimal = Decimal(0)
    date: _dt.date | None = None
    is_deleted: bool = False


@attrs.frozen(kw_only=True)
class XeroCreditNote:
    """A credit note as Xero returns it. Missing amounts are read as zero, as Xero means them.

    Attributes:
        credit_note_id: Xero's CreditNoteID.
        credit_note_number: Its number.
        type: ``ACCRECCREDIT`` for sales credit notes.
        status: Xero's status (``AUTHORISED``; ``PAID`` once fully allocated; or a raw
            string Xero added later).
        contact_id: The contact's ContactID.
        date: Its date.
        line_amount_types: Whether lines include tax.
        currency_code: Currency.
        reference: Reference.
        sub_total: Total before tax.
        total_tax: Total tax (per-line rounded, as on invoices).
        total: SubTotal + TotalTax.
        remaining_credit: What is not allocated yet (a refund is due for it, or it waits for
            another invoice).
        allocations: Where it was applied.
        line_items: Its lines (absent from some list calls).
        updated_at: Xero's UpdatedDateUTC (UTC).
        validation_errors: Xero's messages when this element of a write failed.
        warnings: Xero's warnings on this element.
    """

    credit_note_id: str | None = None
    credit_note_number: str | None = None
    type: str = "ACCRECCREDIT"
    status: InvoiceStatus | str | None = None
    contact_id: str | None = None
    date: _dt.date | None = None
    line_amount_types: LineAmountTypes | str | None = None
    currency_code: str | None = None
    reference: str | None = None
    sub_total: Decimal = Decimal(0)
    total_tax: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    remaining_credit: Decimal = Decimal(0)
    allocations: tuple[CreditNoteAllocation, ...] = ()
    line_items: tuple[XeroLineItem, ...] = ()
    updated_at: _dt.datetime | None = None
    validation_errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def has_errors(self) -> bool:
        """Whether Xero rejected this element of a write."""
        return bool(self.validation_errors)

    def allocated_to(self, invoice_id: str) -> Decimal:
        """What its live allocations applied to this Xero invoice (0 when none)."""
        return sum(
            (
                a.amount
                for a in self.allocations
                if a.invoice_id is not None
                and a.invoice_id.lower() == invoice_id.lower()
                and not a.is_deleted
            ),
            Decimal(0),
        )


@attrs.frozen(kw_only=True)
class XeroContact:
    """A contact in Xero.

    Attributes:
        contact_id: Xero's ContactID.
        name: Contact name (unique per organisation).
        contact_number: Xero's ContactNumber (our natural key for the BMS customer).
        status: ``ACTIVE``, ``ARCHIVED`` or ``GDPRREQUEST``.
        email: E-mail address.
        merged_to_contact_id: Set when the contact was merged into another.
    """

    contact_id: str
    name: str | None = None
    contact_number: str | None = None
    status: str | None = None
    email: str | None = None
    merged_to_contact_id: str | None = None


@attrs.frozen(kw_only=True)
class Account:
    """An account in the organisation's chart of accounts.

    Attributes:
        code: Account code (e.g. ``"200"``).
        name: Account name.
        type: Account type, e.g. ``REVENUE`` or ``SALES``.
        status: ``ACTIVE`` or ``ARCHIVED``.
        account_class: ``REVENUE``, ``EXPENSE``, ...; Xero derives it from the type.
        account_id: Xero's AccountID.
        system_account: e.g. ``ROUNDING`` for the rounding account.
        tax_type: The account's default TaxType.
    """

    code: str | None
    name: str
    type: str
    status: str = "ACTIVE"
    account_class: str | None = None
    account_id: str | None = None
    system_account: str | None = None
    tax_type: str | None = None

    @property
    def is_active(self) -> bool:
        """Whether the account can be used."""
        return self.status == "ACTIVE"

    @property
    def is_revenue(self) -> bool:
        """Whether sales invoice lines can post to it."""
        if self.account_class is not None:
            return self.account_class == "REVENUE"
        return self.type in {"REVENUE", "SALES", "OTHERINCOME"}


@attrs.frozen(kw_only=True)
class TaxRate:
    """A tax rate the organisation has.

    Attributes:
        tax_type: The code to send as a line's TaxType (e.g. ``OUTPUT2``).
        name: Display name.
        effective_rate: The percentage Xero applies (e.g. ``Decimal("15")``).
        status: ``ACTIVE``, ``DELETED``, ``ARCHIVED`` or ``PENDING``.
        can_apply_to_revenue: Whether sales lines can use it.
    """

    tax_type: str
    name: str
    effective_rate: Decimal
    status: str = "ACTIVE"
    can_apply_to_revenue: bool = True

    @property
    def is_active(self) -> bool:
        """Whether the rate can be used."""
        return self.status == "ACTIVE"


@attrs.frozen(kw_only=True)
class Organisation:
    """The Xero organisation (tenant) we talk to.

    Attributes:
        name: Organisation name.
        short_code: Xero's ShortCode, used in deep links (e.g. ``"!NLglS"``).
        base_currency: The organisation's base currency.
        organisation_id: Xero's OrganisationID.
        timezone: Xero's timezone name.
    """

    name: str
    short_code: str | None = None
    base_currency: str | None = None
    organisation_id: str | None = None
    timezone: str | None = None
