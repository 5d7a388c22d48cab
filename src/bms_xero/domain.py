"""Pure domain types: what a BMS invoice is, and what Xero tells us back.

No I/O and no wire names live here: the domain says ``contact_id``, the mapping layer says
``ContactID``. Money is :class:`decimal.Decimal` everywhere; a float is refused with a message
that says to pass a ``Decimal`` or a string.

Write side (built by the host): :class:`Customer`, :class:`LineItem`, :class:`Tracking`,
:class:`PaymentTerms`, :class:`Invoice`. Constructing one validates it; everything wrong with
one object is reported together in one :class:`~bms_xero.errors.InvoiceValidationError`.

Read side (parsed from Xero): :class:`XeroInvoice`, :class:`XeroLineItem`,
:class:`XeroPayment`, :class:`XeroContact`, :class:`Account`, :class:`TaxRate`,
:class:`Organisation`; the money on an invoice is :class:`Allocation` (each payment or credit
applied) summed up as a :class:`Settlement`. Enumerated fields hold the enum member when Xero
sends a value we know and the raw string otherwise, so new values from Xero never crash a
parse.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import attrs

from bms_xero.errors import FieldProblem, InvoiceValidationError

__all__ = [
    "Account",
    "Allocation",
    "AllocationKind",
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


# --- validation helpers --------------------------------------------------------------------


@attrs.frozen
class _Bad:
    """A value a converter could not accept; turned into a FieldProblem by ``_check``."""

    message: str


def _money(value: Decimal | int | str) -> Decimal:
    """Accept Decimal, int or a decimal string; never a float (floats lose cents)."""
    if isinstance(value, bool):
        return cast(Decimal, _Bad("must be a Decimal or a decimal string, not a bool"))
    if isinstance(value, float):
        return cast(
            Decimal,
            _Bad(
                f"got the float {value!r}; floats lose cents, pass Decimal({str(value)!r}) "
                "or the string instead"
            ),
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            return cast(Decimal, _Bad(f"{value!r} is not a decimal number"))
    else:
        return cast(
            Decimal, _Bad(f"must be a Decimal or a decimal string, not {type(value).__name__}")
        )
    if not result.is_finite():
        return cast(Decimal, _Bad(f"must be a finite number, not {result}"))
    return result


def _optional_money(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else _money(value)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _text(
    problems: list[FieldProblem],
    path: str,
    value: object,
    *,
    max_len: int,
    required: bool = True,
) -> None:
    if value is None:
        if required:
            problems.append(FieldProblem(path, "is required"))
        return
    if not isinstance(value, str):
        problems.append(FieldProblem(path, f"must be a string, not {type(value).__name__}"))
        return
    if required and not value.strip():
        problems.append(FieldProblem(path, "must not be empty"))
    if len(value) > max_len:
        problems.append(
            FieldProblem(path, f"is {len(value)} characters; Xero allows at most {max_len}")
        )


def _amount(
    problems: list[FieldProblem],
    path: str,
    value: object,
    *,
    max_dp: int | None = None,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
) -> None:
    if isinstance(value, _Bad):
        problems.append(FieldProblem(path, value.message))
        return
    if value is None:
        return
    assert isinstance(value, Decimal)
    if max_dp is not None and _places(value) > max_dp:
        problems.append(
            FieldProblem(path, f"{value} has more than {max_dp} decimal places; round it first")
        )
    if minimum is not None and value < minimum:
        problems.append(FieldProblem(path, f"{value} is below {minimum}"))
    if maximum is not None and value > maximum:
        problems.append(FieldProblem(path, f"{value} is above {maximum}"))


def _plain_date(problems: list[FieldProblem], path: str, value: object, required: bool) -> None:
    if value is None:
        if required:
            problems.append(FieldProblem(path, "is required"))
    elif isinstance(value, datetime) or not isinstance(value, date):
        # A datetime would drag a timezone into a date-only field and shift it.
        problems.append(FieldProblem(path, f"must be a datetime.date (not {type(value).__name__})"))


def _enum(problems: list[FieldProblem], path: str, value: object, kind: type[enum.Enum]) -> None:
    if not isinstance(value, kind):
        allowed = ", ".join(str(m.value) for m in kind)
        problems.append(FieldProblem(path, f"{value!r} is not one of {allowed}"))


def _coerce(kind: type[enum.StrEnum], value: object) -> Any:
    if isinstance(value, str) and not isinstance(value, kind):
        try:
            return kind(value)
        except ValueError:
            return value  # reported by validation, with the allowed values
    return value


def _to_term_type(value: PaymentTermType | str) -> PaymentTermType:
    return cast(PaymentTermType, _coerce(PaymentTermType, value))


def _to_amount_types(value: LineAmountTypes | str) -> LineAmountTypes:
    return cast(LineAmountTypes, _coerce(LineAmountTypes, value))


def _to_status(value: InvoiceStatus | str) -> InvoiceStatus:
    return cast(InvoiceStatus, _coerce(InvoiceStatus, value))


def _tuple(value: Iterable[Any] | None) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
        # Not a sequence of items: keep it whole so validation names it.
        return (value,)
    return tuple(value)


def _raise_if(problems: list[FieldProblem], invoice_number: str | None = None) -> None:
    if problems:
        raise InvoiceValidationError(problems, invoice_number=invoice_number)


# --- write side ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Tracking:
    """One tracking category option on a line (Xero allows two per line).

    Attributes:
        name: The tracking category's name in Xero, e.g. ``"Region"``.
        option: The option within it, e.g. ``"North"``.
    """

    name: str
    option: str

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this tracking option, relative to it."""
        found: list[FieldProblem] = []
        _text(found, "name", self.name, max_len=MAX_TRACKING_NAME)
        _text(found, "option", self.option, max_len=MAX_TRACKING_NAME)
        return found

    def validate(self) -> None:
        """Raise InvoiceValidationError if anything is wrong (its line checks it too)."""
        _raise_if(self.problems())


@attrs.frozen(kw_only=True)
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
    xero_contact_id: str | None = None
    contact_number: str | None = None
    email: str | None = None

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this customer, relative to it."""
        found: list[FieldProblem] = []
        _text(found, "id", self.id, max_len=MAX_CONTACT_NUMBER * 10)
        _text(found, "name", self.name, max_len=MAX_CONTACT_NAME)
        _text(
            found, "contact_number", self.contact_number, max_len=MAX_CONTACT_NUMBER, required=False
        )
        _text(found, "email", self.email, max_len=255, required=False)
        if isinstance(self.xero_contact_id, str):
            try:
                uuid.UUID(self.xero_contact_id)
            except ValueError:
                found.append(
                    FieldProblem(
                        "xero_contact_id",
                        f"{self.xero_contact_id!r} is not a Xero ContactID (a GUID such as "
                        "'9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4')",
                    )
                )
        elif self.xero_contact_id is not None:
            found.append(FieldProblem("xero_contact_id", "must be a string GUID or None"))
        return found

    def __attrs_post_init__(self) -> None:
        _raise_if(self.problems())

    def with_xero_contact_id(self, contact_id: str) -> Customer:
        """A copy linked to the given Xero ContactID."""
        return attrs.evolve(self, xero_contact_id=contact_id)


@attrs.frozen(kw_only=True)
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
    """

    description: str
    quantity: Decimal = attrs.field(converter=_money)
    unit_amount: Decimal = attrs.field(converter=_money)
    account_code: str
    tax_code: str | None = None
    discount_rate: Decimal | None = attrs.field(default=None, converter=_optional_money)
    item_code: str | None = None
    tracking: tuple[Tracking, ...] = attrs.field(default=(), converter=_tuple)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with this line, relative to it."""
        found: list[FieldProblem] = []
        _text(found, "description", self.description, max_len=MAX_DESCRIPTION)
        _amount(found, "quantity", self.quantity, max_dp=UNIT_DP)
        _amount(found, "unit_amount", self.unit_amount, max_dp=UNIT_DP)
        _text(found, "account_code", self.account_code, max_len=MAX_ACCOUNT_CODE)
        _text(found, "tax_code", self.tax_code, max_len=255, required=False)
        _amount(
            found,
            "discount_rate",
            self.discount_rate,
            max_dp=2,
            minimum=Decimal(0),
            maximum=Decimal(100),
        )
        _text(found, "item_code", self.item_code, max_len=MAX_ITEM_CODE, required=False)
        if len(self.tracking) > MAX_TRACKING_PER_LINE:
            found.append(
                FieldProblem(
                    "tracking",
                    f"has {len(self.tracking)} options; Xero allows at most "
                    f"{MAX_TRACKING_PER_LINE} per line",
                )
            )
        for i, option in enumerate(self.tracking):
            if isinstance(option, Tracking):
                found.extend(p.under(f"tracking[{i}]") for p in option.problems())
            else:
                found.append(FieldProblem(f"tracking[{i}]", "must be a Tracking"))
        return found

    def validate(self) -> None:
        """Raise InvoiceValidationError if anything is wrong.

        Lines are checked when their :class:`Invoice` is built, so that every problem of the
        invoice is reported at once with its full path (``lines[2].account_code``); call this
        only to check a line on its own.
        """
        _raise_if(self.problems())

    @property
    def gross_amount(self) -> Decimal:
        """quantity × unit amount, before discount and rounding."""
        return self.quantity * self.unit_amount


def _max_day(kind: object) -> int:
    months = (PaymentTermType.OF_CURRENT_MONTH, PaymentTermType.OF_FOLLOWING_MONTH)
    return 31 if kind in months else 3650


@attrs.frozen
class PaymentTerms:
    """When an invoice falls due, in one of Xero's four ways.

    Attributes:
        type: Which kind of term.
        days: Days after the invoice date or after the end of its month (0 to 3650), or the
            day of the month (1 to 31; a day past the month's end means its last day).
    """

    type: PaymentTermType = attrs.field(converter=_to_term_type)
    days: int

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with these terms, relative to them."""
        found: list[FieldProblem] = []
        _enum(found, "type", self.type, PaymentTermType)
        if isinstance(self.days, bool) or not isinstance(self.days, int):
            found.append(FieldProblem("days", "must be a whole number"))
        else:
            low = (
                1
                if self.type
                in (
                    PaymentTermType.OF_CURRENT_MONTH,
                    PaymentTermType.OF_FOLLOWING_MONTH,
                )
                else 0
            )
            high = _max_day(self.type)
            if not low <= self.days <= high:
                found.append(FieldProblem("days", f"{self.days} is not between {low} and {high}"))
        return found

    def __attrs_post_init__(self) -> None:
        _raise_if(self.problems())

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


@attrs.frozen(kw_only=True)
class Invoice:
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
    lines: tuple[LineItem, ...] = attrs.field(converter=_tuple)
    due_date: date | None = None
    payment_terms: PaymentTerms | None = None
    currency_code: str | None = None
    line_amount_types: LineAmountTypes = attrs.field(
        default=LineAmountTypes.EXCLUSIVE, converter=_to_amount_types
    )
    reference: str | None = None
    url: str | None = None
    status: InvoiceStatus = attrs.field(default=InvoiceStatus.AUTHORISED, converter=_to_status)
    total: Decimal | None = attrs.field(default=None, converter=_optional_money)

    def problems(self) -> list[FieldProblem]:
        """Everything wrong with the invoice, its customer and its lines, with full paths."""
        found: list[FieldProblem] = []
        _text(found, "id", self.id, max_len=MAX_INVOICE_NUMBER)
        _text(found, "number", self.number, max_len=MAX_INVOICE_NUMBER)
        if isinstance(self.number, str) and self.number != self.number.strip():
            # Xero trims numbers; a padded one would never match its own lookup.
            found.append(FieldProblem("number", "must not start or end with spaces"))
        if not isinstance(self.customer, Customer):
            found.append(FieldProblem("customer", "must be a Customer"))
        else:
            found.extend(p.under("customer") for p in self.customer.problems())
        _plain_date(found, "issue_date", self.issue_date, required=True)
        _plain_date(found, "due_date", self.due_date, required=False)
        if not self.lines:
            found.append(FieldProblem("lines", "an invoice needs at least one line"))
        for i, line in enumerate(self.lines):
            if not isinstance(line, LineItem):
                found.append(FieldProblem(f"lines[{i}]", "must be a LineItem"))
                continue
            found.extend(p.under(f"lines[{i}]") for p in line.problems())
            if line.tax_code is None and self.line_amount_types != LineAmountTypes.NO_TAX:
                found.append(
                    FieldProblem(
                        f"lines[{i}].tax_code",
                        "is required unless line_amount_types is NoTax",
                    )
                )
        if self.payment_terms is not None and not isinstance(self.payment_terms, PaymentTerms):
            found.append(FieldProblem("payment_terms", "must be a PaymentTerms"))
        if self.currency_code is not None and not (
            isinstance(self.currency_code, str) and _CURRENCY.fullmatch(self.currency_code)
        ):
            found.append(
                FieldProblem(
                    "currency_code",
                    f"{self.currency_code!r} is not a three-letter ISO 4217 code such as 'NZD'",
                )
            )
        _enum(found, "line_amount_types", self.line_amount_types, LineAmountTypes)
        _text(found, "reference", self.reference, max_len=MAX_REFERENCE, required=False)
        _text(found, "url", self.url, max_len=MAX_URL, required=False)
        if isinstance(self.url, str) and not _URL.fullmatch(self.url):
            found.append(FieldProblem("url", "must be an absolute http(s) URL"))
        if not isinstance(self.status, str) or self.status not in SENDABLE_STATUSES:
            found.append(
                FieldProblem(
                    "status",
                    f"{self.status!r} cannot be sent; use AUTHORISED, SUBMITTED or DRAFT "
                    "(PAID comes from payments; cancel an invoice to void it)",
                )
            )
        _amount(found, "total", self.total, max_dp=2)
        dates_ok = isinstance(self.issue_date, date) and not isinstance(self.issue_date, datetime)
        if (
            dates_ok
            and isinstance(self.due_date, date)
            and not isinstance(self.due_date, datetime)
            and self.due_date < self.issue_date
        ):
            found.append(
                FieldProblem(
                    "due_date",
                    f"{self.due_date.isoformat()} is before the issue date "
                    f"{self.issue_date.isoformat()}",
                )
            )
        if (
            self.due_date is None
            and self.payment_terms is None
            and self.status != InvoiceStatus.DRAFT
        ):
            found.append(
                FieldProblem(
                    "due_date",
                    "Xero needs a due date for approved invoices; give due_date or payment_terms",
                )
            )
        return found

    def __attrs_post_init__(self) -> None:
        number = self.number if isinstance(self.number, str) else None
        _raise_if(self.problems(), invoice_number=number)

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


_ZERO = Decimal(0)


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
