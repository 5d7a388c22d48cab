"""Xero's rules for writes, applied to one organisation's records.

Each write takes one element of a request body (already decoded, numbers as Decimal) and
either commits it and returns the stored record, or commits nothing and returns Xero's
validation messages. Messages Xero is known to use are copied verbatim (see ``XERO``); the
rest are the fake's own wording, listed in docs/testing.md.

Why a rule engine in a fake: a host's tests must meet Xero's refusals offline (a duplicate
number, an edit to a paid invoice, an archived account) in the shape and words the SDK's
decoder reads, so the same tests hold against FakeXero and against recorded Xero traffic.
The rules come from xero-api.md sections 3-5 and the spec. Where a fact is marked
unconfirmed there, the fake mostly takes the stricter reading (a deleted invoice's number
stays taken; nothing on an invoice with payments can be edited), so code that passes here
does not lean on leniency Xero may not have.

A refused element commits nothing: every check runs before the first change to ``Org``,
which is why the writes are split into a plan (``_draft``, ``_plan_payment``) and a commit.
The elements of one request are applied in turn, so a later element sees what an earlier one
stored (the same number twice in a batch is a duplicate); each stands or falls alone, as
Xero's batches are not transactional (xero-api.md section 2).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Generic, TypeVar

import attrs

from bms_xero.domain import LineAmountTypes
from bms_xero.mapping._dates import parse_date
from bms_xero.mapping._totals import line_amount, line_tax, round_money
from bms_xero.testing._ids import Ids
from bms_xero.testing._model import (
    CREDIT_NOTE_SIDES,
    ZERO,
    Org,
    StoredAllocation,
    StoredBatchPayment,
    StoredContact,
    StoredCredit,
    StoredCreditNote,
    StoredDocument,
    StoredInvoice,
    StoredLine,
    StoredPayment,
)
from bms_xero.testing._query import normal_guid

__all__ = [
    "Ctx",
    "Outcome",
    "add_credit",
    "add_credit_note",
    "allocate_credit",
    "batch_pay_invoices",
    "create_contact",
    "create_credit_note",
    "create_invoice",
    "delete_allocation",
    "delete_batch_payment",
    "delete_payment",
    "find_credit_note",
    "mark_sent",
    "number_problems",
    "pay_invoice",
    "update_contact",
    "update_credit_note",
    "update_invoice",
    "upsert_contact",
    "upsert_credit_note",
    "upsert_invoice",
]

#: Xero's own messages (xero-api.md sections 3-4, and the spec's payment example).
XERO = {
    "not_valid_status": "Invoice not of valid status for modification",
    "allocated": (
        "This document cannot be edited as it has a payment or credit note allocated to it."
    ),
    "restatus": (
        "The status {status} cannot be applied to the invoice because it has payments or "
        "credit notes allocated to it."
    ),
    "duplicate_number": "Invoice # must be unique.",
    "unknown_account": "Account code '{code}' is not a valid code for this document.",
    "archived_account": (
        "Account code '{code}' has been archived, or has been deleted. Each line item must "
        "reference a valid account."
    ),
    "bad_tax_type": (
        "The TaxType code {tax_type} does not exist or cannot be used for this type of transaction."
    ),
    "account_invalid": "Account must be valid.",
    "no_lines": "One or more line items must be specified",
    "no_contact": "Contact cannot be empty.",
    "no_due_date": "The document DueDate field must be specified.",
    "no_date": "The Date field must be specified.",
    "payment_exceeds": "Payment amount exceeds the amount outstanding on this document",
    "creation_status": "Invoice not of valid status for creation",
    "duplicate_contact": (
        "The contact name {name} is already assigned to another contact. The contact name "
        "must be unique across all active contacts."
    ),
    "description": "Description needs to be at least 1 char long",
    # Relayed word for word by several integrations' help pages (Re-Leased, FYI, AgriDigital,
    # Payaca); not in xero-api.md. Merged contacts are archived, so they meet it too.
    "archived_contact": (
        "The contact with the specified contact details has been archived. The contact must "
        "be un-archived before creating new invoices or credit notes."
    ),
    # Quoted by integrations that handle it (Expensify's XRO068, app code matching on it);
    # not in xero-api.md.
    "unsubscribed_currency": "Organisation is not subscribed to currency {code}",
    # The spec's createCreditNotes and updateOrCreateCreditNotes examples.
    "note_not_found": "An existing Credit Note with the specified CreditNoteID could not be found",
}

#: The fake's own wording, where Xero's is not known.
FAKE = {
    "unknown_contact": "The contact with ContactID '{id}' could not be found.",
    "bad_type": "Type '{value}' is not supported; FakeXero stores ACCREC and ACCPAY invoices.",
    "no_type": "The Type field must be specified.",
    "type_change": "The Type of an existing invoice cannot be changed.",
    "bad_status": "'{value}' is not a valid invoice status.",
    "bad_amount_types": "'{value}' is not a valid LineAmountTypes value.",
    "bad_date": "'{value}' is not a valid date for {field} (use YYYY-MM-DD).",
    "bad_number": "'{value}' is not a valid number for {field}.",
    "large_number": (
        "'{value}' is too large for {field}: FakeXero takes numbers of less than 1,000,000,000,000."
    ),
    "bad_boolean": "'{value}' is not a valid value for {field}; send true or false.",
    "duplicate_line": (
        "The LineItemID '{id}' is sent more than once; each line item can be sent once."
    ),
    "line_too_large": (
        "Quantity x UnitAmount is too large: FakeXero takes amounts of less than 1,000,000,000,000."
    ),
    "long_number": "InvoiceNumber must be 255 characters or fewer.",
    "bad_currency": "'{value}' is not a valid CurrencyCode.",
    "bad_url": "The Url must be an absolute http(s) URL of at most 2000 characters.",
    "not_approved_sent": "SentToContact can only be set on approved invoices.",
    "bad_line": "Each line item must be an object.",
    "bad_lines": "LineItems must be a list.",
    "discount_range": "DiscountRate must be between 0 and 100.",
    "discount_both": "Only one of DiscountRate and DiscountAmount can be given.",
    "discount_type": "Discounts are only supported on ACCREC invoices.",
    "tracking": "A line item can have at most 2 tracking categories.",
    "id_on_create": (
        "InvoiceID cannot be given when creating an invoice; update it with "
        "POST /Invoices/{InvoiceID}."
    ),
    "invoice_not_found": "The invoice '{id}' could not be found.",
    "payment_status": "Invoice not of valid status for payment",
    "payment_amount": "The payment Amount must be greater than zero.",
    "payment_invoice": "The payment must reference an invoice by InvoiceID or InvoiceNumber.",
    "payment_account": "Account must be valid.",
    "payment_deleted": "The payment has already been deleted.",
    "payment_update": "Only Status DELETED can be sent to an existing payment.",
    "payment_in_batch": (
        "This payment is part of a batch payment; delete the batch payment to reverse it."
    ),
    "batch_empty": "A batch payment must contain at least one payment.",
    "batch_types": "A batch payment cannot mix sales invoices and bills.",
    "batch_update": "Only Status DELETED can be sent to an existing batch payment.",
    "batch_deleted": "The batch payment has already been deleted.",
    "credit_amount": "The {kind} amount must be greater than zero.",
    "credit_status": "{kind} not of valid status for allocation",
    "allocation_invoice": "The allocation must reference an invoice by InvoiceID.",
    "allocation_amount": "The allocation Amount must be greater than zero.",
    "allocation_type": "A receive {kind} can only be allocated to a sales invoice (ACCREC).",
    "allocation_status": "Invoice not of valid status for allocation",
    "allocation_contact": "The invoice and the {kind} must be for the same contact.",
    "allocation_currency": "The invoice and the {kind} must be in the same currency.",
    "allocation_due": "The allocation Amount exceeds the amount outstanding on the invoice.",
    "allocation_credit": "The allocation Amount exceeds the remaining credit on the {kind}.",
    "contact_name": "The contact Name must be specified.",
    "contact_number": "ContactNumber must be 50 characters or fewer.",
    "contact_not_found": "The contact '{id}' could not be found.",
    "company_number": "CompanyNumber must be 50 characters or fewer.",
    "credit_note_type": "A sales credit note can only be allocated to a sales invoice (ACCREC).",
    "credit_note_status": "Invoice not of valid status for allocation",
    "credit_note_amount": "The credit note Amount must be greater than zero.",
    "credit_note_exceeds": (
        "The credit note Amount exceeds the amount outstanding on the invoice."
    ),
    "not_object": "Each element must be a JSON object.",
    "note_bad_type": "Type '{value}' is not a credit note type; send ACCRECCREDIT or ACCPAYCREDIT.",
    "note_type_change": "The Type of an existing credit note cannot be changed.",
    "note_bad_status": "'{value}' is not a valid credit note status.",
    "note_creation_status": "Credit note not of valid status for creation",
    "note_not_valid_status": "Credit note not of valid status for modification",
    "note_duplicate_number": (
        "The CreditNoteNumber '{number}' is already used by another sales credit note."
    ),
    "note_long_number": "CreditNoteNumber must be 255 characters or fewer.",
    "note_id_on_create": (
        "CreditNoteID cannot be given when creating a credit note; update it with "
        "POST /CreditNotes/{CreditNoteID}."
    ),
    "note_discount": "Credit notes do not support discounts (DiscountRate, DiscountAmount).",
    "note_bill": "A purchase credit note can only be allocated to a bill (ACCPAY).",
}

# components/schemas/Invoice, Status.
STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
# One shared string per status and type, however many invoices use it.
_CANONICAL = {value: value for value in (*STATUSES, "ACCREC", "ACCPAY")}
# PAID comes from money and VOIDED/DELETED from an update, never from a create (section 3).
_CREATABLE = frozenset({"DRAFT", "SUBMITTED", "AUTHORISED"})
# Allowed transitions, relayed from Xero support (xero-api.md section 3); staying put is an edit.
_TRANSITIONS: dict[str, frozenset[str]] = {
    "DRAFT": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"}),
    "SUBMITTED": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"}),
    "AUTHORISED": frozenset({"AUTHORISED", "VOIDED"}),
}
# Only approved invoices may be marked sent (spec, Invoice.SentToContact).
_APPROVED = frozenset({"AUTHORISED", "PAID"})
_FOUR = Decimal("0.0001")
_CENT = Decimal("0.01")
_ONE = Decimal("1.0")
# Decimals the line rules compare with or fill in, made once (a Decimal is immutable).
_NOUGHT = Decimal(0)
_HUNDRED = Decimal(100)
_ONE_QUANTITY = Decimal("1.0000")
_NO_UNIT = Decimal("0.00")
# LineAmountTypes by its text, as LineAmountTypes(text) finds it (its value-to-member map).
_AMOUNT_TYPES = {member.value: member for member in LineAmountTypes}
# The shape of an ISO 4217 code only; which currencies the organisation has is not modelled.
_CURRENCY = re.compile(r"[A-Z]{3}")
# The fake's own rule for Url (the spec says only "URL link to a source document").
_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_guid(value: object) -> bool:
    """Whether ``value`` looks like a Xero id.

    A reference to an invoice may be its InvoiceID or its InvoiceNumber; one shaped like a
    GUID is only ever taken as an id, so it can't land on an invoice numbered like one.
    """
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


@attrs.frozen(kw_only=True)
class Ctx:
    """What a write needs besides the organisation.

    Passed in rather than read from globals, so a write is deterministic: ids come from the
    seeded stream and time from the fake's clock, both under the test's control.

    Attributes:
        ids: Id stream.
        now: The clock's time.
        unitdp: Unit-amount precision the caller asked for (2 or 4).
        app: The client_id of the app making the request (``None`` for FakeXero's own
            methods, which act as a person in Xero would); ``createdByMyApp`` reads it.
    """

    ids: Ids
    now: datetime
    unitdp: int = 2
    app: str | None = None

    @property
    def today(self) -> date:
        """The organisation's today (UTC).

        Xero defaults a missing Date to today in the organisation's timezone (spec,
        Invoice.Date); the fake has no timezone, so near midnight its today can differ.
        """
        return self.now.date()


@attrs.frozen
class Outcome:
    """The result of one element of a write.

    Attributes:
        record: What was stored (``None`` when rejected).
        messages: Xero's validation messages for the element (empty when stored).
        line_messages: Messages per line index, for lines that caused them (not rendered:
            the answer carries each message once, on the element).
        changed: Whether anything was written (a no-op update stores nothing and leaves
            UpdatedDateUTC alone, so a repeated push is not a change to readers).
    """

    record: Any
    messages: tuple[str, ...] = ()
    line_messages: Mapping[int, tuple[str, ...]] = attrs.Factory(dict)
    changed: bool = True

    @property
    def ok(self) -> bool:
        """Whether the element was accepted."""
        return not self.messages


def _rejected(messages: Sequence[str], lines: Mapping[int, list[str]] | None = None) -> Outcome:
    """A refusal: nothing stored. A message raised by several lines (one archived account on
    three lines) is listed once for the element, in first-seen order; ``lines`` records
    which lines raised what. Whether Xero dedupes element messages this way is
    unconfirmed."""
    unique = tuple(dict.fromkeys(messages))
    per_line = {i: tuple(dict.fromkeys(m)) for i, m in (lines or {}).items() if m}
    return Outcome(None, unique, per_line, changed=False)


# --- value parsing --------------------------------------------------------------------------

#: Every number a write carries is below this in size (the fake's own limit; Xero documents
#: none). Money is a double in Xero's spec (xero-api.md section 5), which holds cents exactly
#: only to about 15 digits, and the fake's Decimal arithmetic (28 digits) must never overflow:
#: below 10^12, Quantity x UnitAmount stays below 10^24 and rounds to cents with room to spare.
MAX_NUMBER = Decimal(10) ** 12
#: Fields Xero reads as numbers (components/schemas/Invoice, LineItem, Payment, Allocation,
#: Contact balances): in XML they arrive as text, so they are checked whatever their type.
NUMBER_FIELDS = frozenset(
    {
        "Quantity",
        "UnitAmount",
        "DiscountRate",
        "DiscountAmount",
        "LineAmount",
        "TaxAmount",
        "SubTotal",
        "TotalTax",
        "Total",
        "TotalDiscount",
        "CurrencyRate",
        "Amount",
        "BankAmount",
        "AppliedAmount",
        "AmountDue",
        "AmountPaid",
        "AmountCredited",
        "RemainingCredit",
        "TotalAmount",
    }
)


_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _number_problem(value: Any, field: str) -> str | None:
    """Why ``value`` is no number Xero would take for ``field``, or ``None`` if it is one
    (or absent). See :func:`_number`."""
    if value is None:
        return None
    if isinstance(value, bool):
        return FAKE["bad_number"].format(value=value, field=field)
    shown = repr(value) if isinstance(value, float) else value
    if isinstance(shown, str) and not _PLAIN_NUMBER.fullmatch(shown):
        # Decimal() also takes "1_000", " 1.5 " and "Infinity"; Xero takes plain digits only.
        return FAKE["bad_number"].format(value=shown, field=field)
    try:
        number = Decimal(shown) if isinstance(shown, int | str | Decimal) else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        return FAKE["bad_number"].format(value=shown, field=field)
    if abs(number) >= MAX_NUMBER:
        return FAKE["large_number"].format(value=shown, field=field)
    return None


def number_problems(element: Any) -> list[str]:
    """What is wrong with the numbers anywhere in one element of a write, each message
    naming its field by path (``LineItems[0].UnitAmount``).

    Run on every element before its rules, so no number reaches the arithmetic unchecked:
    NaN and Infinity (which Python's JSON reader lets through, and which would make the
    echo of a refused element invalid JSON), numbers too large for the fake, and text in a
    field Xero reads as a number (XML bodies carry every value as text), including fields
    the rules ignore, such as a sent TaxAmount.
    """
    found: list[str] = []
    _walk_numbers(element, None, None, found)
    return found


# Where a value sits in an element, for its message: ``(parent, name, False)`` for the member
# ``name`` of an object, ``(parent, i, True)`` for item ``i`` of a list, ``None`` for the
# element itself. The message's path (``LineItems[0].UnitAmount``) is written from it only
# when a number is refused: almost every value passes, and writing every value's path cost
# more than checking it.
_Trail = tuple[Any, Any, bool] | None


def _path(trail: _Trail) -> str:
    """The path :func:`number_problems` names a value by, written as it always was: a member
    is ``path.name`` (just ``name`` while the path is empty), a list item ``path[i]``."""
    steps = []
    while trail is not None:
        trail, step, is_index = trail
        steps.append((step, is_index))
    path = ""
    for step, is_index in reversed(steps):
        if is_index:
            path = f"{path}[{step}]"
        elif path:
            path = f"{path}.{step}"
        else:
            path = str(step)
    return path


def _walk_numbers(value: Any, key: str | None, trail: _Trail, found: list[str]) -> None:
    """Add to ``found`` the message for each number :func:`_number_problem` refuses in
    ``value`` (at ``trail``, the member ``key`` of its object, if it is one), depth first in
    the element's order.

    Objects and lists are walked; any other value is checked when its member is one Xero
    reads as a number (:data:`NUMBER_FIELDS`) or it is itself a number (not a bool).
    ``dict`` and ``list`` are tested for first, by exact type: they are what JSON and XML
    bodies are made of, and neither is anything else (no ``list`` is a Mapping).
    """
    kind = type(value)
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        for name, item in value.items():
            member = name if type(name) is str else str(name)
            if type(item) is str:
                if member not in NUMBER_FIELDS:
                    continue  # text where no number is read: most of an element
            elif _plainly_fine(item):
                continue  # the usual amount, or a null: checked without a call down
            _walk_numbers(item, member, (trail, name, False), found)
    elif kind is list or isinstance(value, list):
        for i, item in enumerate(value):
            if type(item) is not str and not _plainly_fine(item):  # text in a list: no number
                _walk_numbers(item, None, (trail, i, True), found)
    elif (
        key in NUMBER_FIELDS
        or (isinstance(value, float | int | Decimal) and not isinstance(value, bool))
    ) and not _plainly_fine(value):
        problem = _number_problem(value, _path(trail))
        if problem is not None:
            found.append(problem)


def _plainly_fine(value: Any) -> bool:
    """Whether ``value`` is one of the numbers :func:`_number_problem` takes, found by the same
    arithmetic without its formatting and parsing (``False`` leaves it to decide): absent,
    or a finite Decimal or an int below :data:`MAX_NUMBER` in size (``abs`` of the Decimal, as
    it computes it, so the context rounds it alike)."""
    kind = type(value)
    if kind is Decimal:
        return bool(value.is_finite() and abs(value) < MAX_NUMBER)
    if kind is int:
        return bool(abs(Decimal(value)) < MAX_NUMBER)
    return value is None


class _Problems:
    """Collects messages for an element and its lines.

    An element's ``ValidationErrors`` is a list, so checks go on after the first problem and
    a client fixing its data sees every problem at once. A line's message is the element's
    too; which line raised it is kept as well (``lines``), though the answer reports it on
    the element only, the shape of every example in Xero's spec (the LineItem schema has no
    ValidationErrors).
    """

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.lines: dict[int, list[str]] = {}

    def add(self, message: str, line: int | None = None) -> None:
        self.messages.append(message)
        if line is not None:
            self.lines.setdefault(line, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)


def _number(value: Any, field: str, problems: _Problems, line: int | None = None) -> Decimal | None:
    """A number from a request field, or ``None`` (absent, or refused with a message).

    The HTTP layer decodes fractions as Decimal, so Decimal, int and str are the usual
    inputs. ``bool`` is refused because JSON ``true`` would otherwise count as 1. A float only
    comes from a caller that decoded JSON without Decimal; its repr keeps 0.1 as 0.1 rather
    than 0.1000000000000000055. NaN and Infinity, which Decimal accepts as text, are refused:
    no amount is either; so are numbers of :data:`MAX_NUMBER` or more. ``line`` files the
    message under that line too.
    """
    # The usual Decimal or int, or nothing, taken without _number_problem's formatting (a
    # Decimal is immutable: the one sent is the one kept).
    if _plainly_fine(value):
        return Decimal(value) if type(value) is int else value
    problem = _number_problem(value, field)
    if problem is not None:
        problems.add(problem, line)
        return None
    if value is None:
        return None
    return Decimal(repr(value) if isinstance(value, float) else value)


def _boolean(value: Any, field: str, problems: _Problems) -> bool | None:
    """A boolean from a request field: JSON ``true``/``false`` or, as XML sends them, the
    text ``"true"``/``"false"`` in any case; ``None`` when absent or refused. ``bool()``
    would read the text ``"false"`` as true."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    problems.add(FAKE["bad_boolean"].format(value=value, field=field))
    return None


def _date(value: Any, field: str, problems: _Problems) -> date | None:
    """A date from a request field, or ``None`` (absent, or refused with a message).

    Absent is not an error here: the callers own the defaults (Date is today). Text is read
    as Xero's answers are, so both forms clients send work: ``YYYY-MM-DD`` (the spec's PUT
    example) and ``/Date(ms)/`` (the official SDK; xero-api.md section 6). A ``date`` object
    comes from FakeXero's own Python methods (``pay(on=...)``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            pass
    problems.add(FAKE["bad_date"].format(value=value, field=field))
    return None


def _text(value: Any) -> str | None:
    """Text from a request field; ``None`` stays ``None`` (not sent) and anything else is
    stringified, so an InvoiceNumber sent as the JSON number 123 is stored as "123". Whether
    Xero coerces the same way is unconfirmed."""
    if value is None or type(value) is str:
        return value
    return value if isinstance(value, str) else str(value)


def _unit_round(value: Decimal, unitdp: int) -> Decimal:
    """A unit price at the precision the call asked for: 2 dp, or 4 with ``unitdp=4``
    (xero-api.md section 5). More precision is rounded half up rather than refused; what
    Xero does with it is unconfirmed."""
    return value.quantize(_FOUR if unitdp == 4 else _CENT, rounding=ROUND_HALF_UP)


# --- contacts referenced by invoices ---------------------------------------------------------


@attrs.frozen
class _NewContact:
    """A contact an invoice names that doesn't exist yet. Xero creates it (a name alone finds
    or creates a contact, xero-api.md section 3); here it is only planned, and
    :func:`_commit_contact` creates it once the invoice passed every check."""

    name: str
    number: str | None


def _resolve_contact(org: Org, value: Any, problems: _Problems) -> str | _NewContact | None:
    """The contact an invoice's ``Contact`` refers to: an existing ContactID, or one to create.

    The order follows xero-api.md section 3. A ContactID must name an existing contact (Xero's
    message for an unknown one is unconfirmed, and an invalid GUID once made it answer 500; the
    fake answers a validation message). A ContactNumber finds its contact (a number-only
    reference is unconfirmed; the fake accepts one that exists). A Name then finds a contact,
    case-insensitively, or plans a new one. Other contact fields in the reference are
    ignored, though Xero reportedly updates the contact with them.
    """
    if not (type(value) is dict or isinstance(value, Mapping)) or not value:
        problems.add(XERO["no_contact"])
        return None
    contact_id = value.get("ContactID")
    if contact_id:
        found_id = normal_guid(contact_id) if isinstance(contact_id, str) else None
        if found_id is not None and found_id in org.contacts:
            return found_id
        problems.add(FAKE["unknown_contact"].format(id=contact_id))
        return None
    name = _text(value.get("Name"))
    number = _text(value.get("ContactNumber"))
    if number:
        found = org.contact_by_number(number)
        if found is not None:
            return found.contact_id
    if name and name.strip():
        # A name alone finds or creates the contact, as Xero does.
        existing = org.contacts_by_name.get(name.strip().casefold())
        return existing if existing is not None else _NewContact(name.strip(), number)
    if number:
        problems.add(FAKE["unknown_contact"].format(id=number))
        return None
    problems.add(XERO["no_contact"])
    return None


def _commit_contact(org: Org, ref: str | _NewContact, ctx: Ctx) -> str:
    """The id of the invoice's contact, creating a planned one now that nothing can refuse
    the invoice. The stored id string is returned so invoices share it (the fake may hold
    100,000 of them); a new contact has only what a reference carries: name and number."""
    if isinstance(ref, str):
        return org.contacts[ref].contact_id  # the stored string, not the request's copy
    contact = StoredContact(
        contact_id=ctx.ids.guid(),
        name=ref.name,
        contact_number=ref.number,
        email=None,
        first_name=None,
        last_name=None,
        status="ACTIVE",
        updated_at=org.touch(ctx.now),
    )
    org.store_contact(contact)
    return contact.contact_id


# --- invoices and credit notes ----------------------------------------------------------------
# A credit note is a document with lines, as an invoice is, and the fake applies one set of
# header and line rules to both (:func:`_draft`); a :class:`_Kind` holds what differs between
# them only in names and words, and the rules that differ in substance are said where they do.


@attrs.frozen(kw_only=True)
class _Draft:
    """An invoice or credit note that passed every check, not yet stored. Create and update
    both build one with :func:`_draft`, so the same rules apply to both, and the commit can't
    fail half-way.

    Attributes:
        type: Its Type (checked, and never changed by an update).
        number: The number sent or kept; ``None`` on a create that sent none (one is
            generated when it is stored).
        contact: Its contact, or one to create once it is stored (:func:`_commit_contact`).
        fields: Everything else the write sets, by the stored record's attribute names:
            Date to the totals, and an invoice's Url, SentToContact and TotalDiscount.
    """

    type: str
    number: str | None
    contact: str | _NewContact
    fields: Mapping[str, Any]


def _line(
    org: Org,
    raw: Any,
    index: int,
    base: StoredLine | None,
    *,
    invoice_type: str,
    status: str,
    amount_types: LineAmountTypes,
    ctx: Ctx,
    problems: _Problems,
) -> tuple[StoredLine, Decimal] | None:
    """One line, validated and with its amounts computed, plus its discount.

    ``base`` is the stored line whose LineItemID the update sent. An update must resend every
    line it keeps, with its LineItemID (xero-api.md section 4); fields left out of a resent
    line keep their stored values here, which is unconfirmed for Xero. An explicit ``null``
    clears a value (which may then be missing). ``None`` means the line was refused, after
    every check ran. The discount
    (gross less LineAmount) goes to the invoice's TotalDiscount.
    """
    if not (type(raw) is dict or isinstance(raw, Mapping)):
        problems.add(FAKE["bad_line"], index)
        return None
    # Problems are shared by the whole element: only messages added from here on are this
    # line's, and earlier lines' problems must not stop this one from being checked.
    before = len(problems.messages)
    # A field left out keeps the stored line's value: raw.get(key, stored value).
    pick = raw.get

    # Spec, LineItem.Description: at least 1 character (a line may be only a description).
    description = _text(pick("Description", base.description if base else None))
    if not description or not description.strip():
        problems.add(XERO["description"], index)
    sent_quantity = _number(raw.get("Quantity"), "Quantity", problems, index)
    sent_unit = _number(raw.get("UnitAmount"), "UnitAmount", problems, index)
    sent_amount = _number(raw.get("LineAmount"), "LineAmount", problems, index)
    quantity = sent_quantity if "Quantity" in raw else (base.quantity if base else None)
    unit = (
        _unit_round(sent_unit, ctx.unitdp)
        if sent_unit is not None
        else (base.unit_amount if base and "UnitAmount" not in raw else None)
    )
    if quantity is not None:  # Xero keeps quantities at 4 dp
        quantity = quantity.quantize(_FOUR, rounding=ROUND_HALF_UP)
    discount_rate = _number(
        pick("DiscountRate", base.discount_rate if base else None), "DiscountRate", problems, index
    )
    discount_amount = _number(
        pick("DiscountAmount", base.discount_amount if base else None),
        "DiscountAmount",
        problems,
        index,
    )
    # Discounts are ACCREC only (spec, LineItem.DiscountRate and DiscountAmount); the range
    # and one-of rules are the fake's, as a rate over 100 would make a negative line. Both are
    # picked over the stored line, so switching a kept line from one to the other needs the
    # old one sent as null or 0.
    if discount_rate is not None and not _NOUGHT <= discount_rate <= _HUNDRED:
        problems.add(FAKE["discount_range"], index)
    if discount_rate and discount_amount:
        problems.add(FAKE["discount_both"], index)
    if (discount_rate or discount_amount) and invoice_type != "ACCREC":
        problems.add(FAKE["discount_type"], index)
    description_only = quantity is None and unit is None and sent_amount is None
    if not description_only:
        # Xero fills in whichever of Quantity and UnitAmount is missing from LineAmount (spec,
        # LineItem.LineAmount). With both sent, a LineAmount sent too is ignored.
        if unit is None:
            if quantity is None:
                quantity = _ONE_QUANTITY
            unit = (
                _unit_round(sent_amount / quantity, ctx.unitdp)
                if sent_amount is not None and quantity
                else _NO_UNIT
            )
        if quantity is None:
            quantity = (
                (sent_amount / unit).quantize(_FOUR, rounding=ROUND_HALF_UP)
                if sent_amount is not None and unit
                else _ONE_QUANTITY
            )

    # AccountID may stand in for AccountCode (spec, LineItem.AccountID). Either way, a BANK
    # account is refused, and so is an archived one, even on a draft. Drafts may be
    # incomplete, so only a line of a non-draft needs an account ("Account must be valid.",
    # Xero-Java #353). Whether Xero insists on a REVENUE account is unconfirmed; not checked.
    account_code = _text(pick("AccountCode", base.account_code if base else None))
    account_id = raw.get("AccountID")
    account = None
    if not account_code and account_id:
        account = org.account_by_id(normal_guid(str(account_id)))
        if account is None:
            problems.add(XERO["account_invalid"], index)
        else:
            account_code = account.code
    elif account_code:
        account = org.accounts.get(account_code)
        if account is None:
            problems.add(XERO["unknown_account"].format(code=account_code), index)
    elif not description_only and status != "DRAFT":
        problems.add(XERO["account_invalid"], index)
    if account is not None and account.type == "BANK":
        problems.add(XERO["unknown_account"].format(code=account.code), index)
        account = None
    elif account is not None and account.status != "ACTIVE":
        problems.add(XERO["archived_account"].format(code=account.code), index)

    # A TaxType must be ACTIVE and, on a sales invoice, usable on revenue (xero-api.md
    # section 5). NONE is accepted even when the organisation has no such rate: it means no
    # tax. A line that sends none takes its account's default TaxType (the fake's reading of
    # Xero's account defaults), else NONE. A TaxAmount sent by the caller is not honoured,
    # though Xero lets callers override it (section 3).
    tax_type = _text(pick("TaxType", base.tax_type if base else None))
    rate = _NOUGHT
    if tax_type:
        found = org.tax_rates.get(tax_type)
        usable = (
            found is not None
            and found.status == "ACTIVE"
            and (found.can_apply_to_revenue or invoice_type != "ACCREC")
        )
        if usable and found is not None:
            rate, tax_type = found.rate, found.tax_type
        elif not (tax_type == "NONE" and found is None):
            problems.add(XERO["bad_tax_type"].format(tax_type=tax_type), index)
    elif not description_only:
        default = account.tax_type if account is not None else None
        default_rate = org.tax_rates.get(default) if default else None
        tax_type = default or "NONE"
        rate = default_rate.rate if default_rate is not None else _NOUGHT

    tracking_raw = pick(
        "Tracking", [{"Name": n, "Option": o} for n, o in base.tracking] if base else None
    )
    tracking: list[tuple[str, str]] = []
    # At most 2 tracking categories per line (spec, LineItem.Tracking); entries that are not
    # objects are dropped without a message.
    if isinstance(tracking_raw, list):
        if len(tracking_raw) > 2:
            problems.add(FAKE["tracking"], index)
        for entry in tracking_raw:
            if isinstance(entry, Mapping):
                tracking.append((str(entry.get("Name", "")), str(entry.get("Option", ""))))
    gross = None if quantity is None or unit is None else quantity * unit
    # ``abs`` rounds to the context as it always did; adding a zero discount changes nothing.
    if gross is not None and (
        (abs(gross) + discount_amount if discount_amount else abs(gross)) >= MAX_NUMBER
    ):
        problems.add(FAKE["line_too_large"], index)
    if len(problems.messages) > before:
        return None

    # Xero's per-line rule (xero-api.md section 5): each LineAmount is rounded to cents and
    # each line's tax is computed on it and rounded half away from zero (line_tax), before any
    # sum; totalling first can be a cent off. A description-only line carries no money.
    if description_only or quantity is None or unit is None or gross is None:
        amount = tax = discount = ZERO
    else:
        if discount_amount:
            amount = round_money(gross - discount_amount)
        else:
            amount = line_amount(quantity, unit, discount_rate)
        discount = round_money(gross) - amount
        tax = (
            ZERO if amount_types is LineAmountTypes.NO_TAX else line_tax(amount, rate, amount_types)
        )
    line_id = base.line_item_id if base is not None else ctx.ids.guid()
    return (
        StoredLine(
            line_item_id=line_id,
            description=description,
            quantity=quantity,
            unit_amount=unit,
            account_code=account.code if account is not None else account_code,
            tax_type=tax_type,
            tax_amount=tax,
            line_amount=amount,
            discount_rate=discount_rate,
            discount_amount=discount_amount,
            item_code=_text(pick("ItemCode", base.item_code if base else None)),
            tracking=tuple(tracking),
        ),
        discount,
    )


def _lines(
    org: Org,
    raw_lines: Any,
    base: StoredDocument | None,
    *,
    invoice_type: str,
    status: str,
    amount_types: LineAmountTypes,
    ctx: Ctx,
    problems: _Problems,
) -> tuple[tuple[StoredLine, ...], Decimal]:
    """Every line of the element and their total discount, each line checked even after an
    earlier one failed.

    Lines are matched to the stored ones by LineItemID. A stored line the element leaves out
    is dropped (xero-api.md section 4: lines left out are removed), and a LineItemID the
    invoice doesn't have starts a new line with a new id. LineItems must be a non-empty list
    ("One or more line items must be specified", xeroizer #40).
    """
    if not isinstance(raw_lines, list):
        problems.add(FAKE["bad_lines"])
        return (), ZERO
    if not raw_lines:
        problems.add(XERO["no_lines"])
        return (), ZERO
    known = {line.line_item_id: line for line in base.lines} if base else {}
    built: list[StoredLine] = []
    discount_total = ZERO
    sent_ids: set[str] = set()
    for i, raw in enumerate(raw_lines):
        line_id = raw.get("LineItemID") if type(raw) is dict or isinstance(raw, Mapping) else None
        line_id = normal_guid(str(line_id)) if line_id else None
        if line_id is not None:
            # One stored line can't become two lines sharing its id (the fake's rule; Xero's
            # answer to a repeated LineItemID is not documented).
            if line_id in sent_ids:
                problems.add(FAKE["duplicate_line"].format(id=line_id), i)
            sent_ids.add(line_id)
        line_base = known.get(line_id) if line_id is not None else None
        result = _line(
            org,
            raw,
            i,
            line_base,
            invoice_type=invoice_type,
            status=status,
            amount_types=amount_types,
            ctx=ctx,
            problems=problems,
        )
        if result is not None:
            built.append(result[0])
            discount_total += result[1]
    return tuple(built), discount_total


def _retax(
    lines: tuple[StoredLine, ...], org: Org, amount_types: LineAmountTypes
) -> tuple[StoredLine, ...]:
    """Kept lines under a changed LineAmountTypes: recompute each line's tax.

    An update may switch LineAmountTypes without resending its lines. Each LineAmount stays
    (it is what was priced), but whether tax sits on top of it, inside it or nowhere changes,
    so the tax and the totals must follow or AmountDue would be wrong. A TaxType the
    organisation no longer has counts as 0%.
    """
    out = []
    for line in lines:
        found = org.tax_rates.get(line.tax_type) if line.tax_type else None
        rate = found.rate if found is not None else Decimal(0)
        tax = (
            ZERO
            if amount_types is LineAmountTypes.NO_TAX or line.quantity is None
            else line_tax(line.line_amount, rate, amount_types)
        )
        out.append(attrs.evolve(line, tax_amount=tax))
    return tuple(out)


def _check_kept(
    org: Org, lines: Sequence[StoredLine], invoice_type: str, problems: _Problems
) -> None:
    """Approving a draft checks the lines it keeps, as a write of them would.

    A draft may be stored with lines a non-draft would refuse (no account: drafts may be
    incomplete), and the chart may have changed since (an archived account, a deleted tax
    rate). Without this, a status-only update would approve an invoice Xero would refuse.
    The request sent no lines, so the messages are reported for the element only.
    """
    for i, line in enumerate(lines):
        if line.quantity is None:
            continue  # a description-only line
        account = org.accounts.get(line.account_code) if line.account_code else None
        if not line.account_code:
            problems.add(XERO["account_invalid"], i)
        elif account is None or account.type == "BANK":
            problems.add(XERO["unknown_account"].format(code=line.account_code), i)
        elif account.status != "ACTIVE":
            problems.add(XERO["archived_account"].format(code=line.account_code), i)
        rate = org.tax_rates.get(line.tax_type) if line.tax_type else None
        usable = (
            rate is not None
            and rate.status == "ACTIVE"
            and (rate.can_apply_to_revenue or invoice_type != "ACCREC")
        )
        if line.tax_type and line.tax_type != "NONE" and not usable:
            problems.add(XERO["bad_tax_type"].format(tax_type=line.tax_type), i)


def _totals(
    lines: Sequence[StoredLine], amount_types: LineAmountTypes
) -> tuple[Decimal, Decimal, Decimal]:
    """SubTotal, TotalTax and Total, summed from lines already rounded (Xero never rounds a
    total, xero-api.md section 5). Inclusive LineAmounts already hold their tax, so it comes
    out of the subtotal rather than onto the total. Totals a client sends are ignored: they
    are read-only (section 3)."""
    amounts = sum((line.line_amount for line in lines), ZERO)
    tax = sum((line.tax_amount for line in lines), ZERO)
    if amount_types is LineAmountTypes.INCLUSIVE:
        return amounts - tax, tax, amounts
    return amounts, tax, amounts + tax


def _unsubscribed(org: Org, currency: str, stored: str | None) -> bool:
    """Whether ``currency`` is one the organisation has not enabled (GET /Currencies), and
    not the stored document's own (which stays usable: the fake never disables one)."""
    return currency != stored and not org.has_currency(currency)


def _archived_contact_refused(
    org: Org,
    contact: str | _NewContact | None,
    stored_contact: str | None,
    stored_status: str | None,
    status: str,
) -> bool:
    """Whether Xero's archived-contact refusal applies: ``contact`` is an existing contact
    that is ARCHIVED (merged contacts are too), and the write creates a document for it,
    moves one to it, or (the fake's reading of "before creating new invoices") approves one
    of its drafts. Anything else on a stored document of an archived contact (a void, a
    payment, an edit) goes on, as Xero keeps such documents usable."""
    if not isinstance(contact, str) or org.contacts[contact].status != "ARCHIVED":
        return False
    if stored_contact is None or contact != stored_contact:
        return True
    return status != stored_status and status in ("SUBMITTED", "AUTHORISED")


def _pick(el: Mapping[str, Any], key: str, current: Any) -> Any:
    """``el[key]``, or ``current`` when it is not sent. A null is "not sent", as a field left
    out is: Xero's readers cannot tell them apart (and xero-python writes neither). So
    ``"Status": null`` keeps the stored status."""
    value = el.get(key)
    return current if value is None else value


_D = TypeVar("_D", bound=StoredDocument)


@attrs.frozen(kw_only=True)
class _Kind(Generic[_D]):
    """What differs between invoices and credit notes where their rules are otherwise the
    same: their names, where they are stored, and the words of their refusals (Xero's own
    for invoices; the fake's for credit notes wherever Xero's name an invoice). The rules
    that differ are flags and functions here, each said where it is used.

    Attributes:
        types: The Types the fake stores.
        typed: The Type the later checks take, from the Type sent (``None`` when none was).
        line_type: The invoice Type whose line rules its lines follow (revenue tax rates and
            discounts for ACCREC).
        sales_type: The Type whose numbers are unique, and matched by ``POST``.
        id_field, number_field: The element's id and number fields.
        records, numbers, id_of, store: The organisation's records of this kind, its index of
            sales numbers, a record's id, and how a new or changed record is saved (with the
            number it had before, so a renumbering frees it).
        not_changes: What an update may carry besides the change it makes (see
            :func:`_others`).
        lock: The refusal, if any, of an update to a record with something allocated, from
            its status, the status sent and whether anything would change.
        create, update: The public create and update (``POST`` goes to one of them).
        due_required: Whether AUTHORISED needs a DueDate.
        discounts: Whether lines may carry discounts.
        sends: Whether it has Url and SentToContact.
    """

    types: Collection[str]
    typed: Callable[[str | None], str]
    line_type: Callable[[str], str]
    sales_type: str
    id_field: str
    number_field: str
    records: Callable[[Org], Mapping[str, _D]]
    numbers: Callable[[Org], Mapping[str, str]]
    id_of: Callable[[_D], str]
    store: Callable[[Org, _D, str | None], None]
    not_changes: frozenset[str]
    lock: Callable[[str, Any, bool], str | None]
    create: Callable[[Org, Any, Ctx], Outcome]
    update: Callable[[Org, _D, Any, Ctx], Outcome]
    due_required: bool
    discounts: bool
    sends: bool
    type_change: str
    bad_type: str
    long_number: str
    duplicate_number: str
    bad_status: str
    creation_status: str
    not_valid_status: str
    not_found: str


def _draft(
    org: Org, el: Mapping[str, Any], base: _D | None, ctx: Ctx, kind: _Kind[_D]
) -> _Draft | _Problems:
    """The invoice or credit note ``el`` describes (over ``base`` for an update), or what is
    wrong with it.

    On an update every field the element leaves out keeps its stored value, so even a
    status-only POST re-validates what stays (see :func:`_check_kept`). A missing Type is taken
    as ACCREC and an unreadable LineAmountTypes as Exclusive, so that the later checks still
    run and report their own problems. Status transitions are judged by :func:`_status_problem`;
    here a status only has to exist and, on a create, be one a new document may have.

    A credit note follows the invoice's rules wherever the spec gives it the same field
    (Contact, archived contacts included, Date, Status, LineAmountTypes, CurrencyCode and the
    currencies enabled, CurrencyRate, Reference), and its lines are checked and priced by
    exactly the invoice's per-line rules (:func:`_lines`, xero-api.md section 5): a sales
    credit note's lines as a sales invoice's (revenue tax rates), a purchase one's as a
    bill's. What differs:

    - Type is ACCRECCREDIT or ACCPAYCREDIT (spec, CreditNote.Type), required on create and
      never changed (the fake's rule, as for invoices); an unreadable one is checked on as
      ACCRECCREDIT.
    - CreditNoteNumber is generated when missing on a sales credit note (spec,
      CreditNote.CreditNoteNumber), and unique among sales credit notes: the fake's rule,
      unconfirmed, taken from invoices' ``Invoice # must be unique.``; voided and deleted
      notes keep theirs.
    - No DueDate is required, even when AUTHORISED (the spec marks none required; the
      invoice rule comes from a report about invoices only).
    - No discounts (see :func:`_undiscounted`), and no Url or SentToContact.
    """
    problems = _Problems()

    # Only ACCREC and ACCPAY invoices (and ACCRECCREDIT and ACCPAYCREDIT notes) are stored. A
    # type change is refused: numbering, discounts and tax rules all depend on the type
    # (Xero's behaviour is unconfirmed).
    sent_type = _text(_pick(el, "Type", base.type if base else None))
    if not sent_type:
        problems.add(FAKE["no_type"])
    elif base is not None and sent_type != base.type:
        problems.add(kind.type_change)
    elif sent_type not in kind.types:
        problems.add(kind.bad_type.format(value=sent_type))
    doc_type = kind.typed(sent_type)
    line_type = kind.line_type(doc_type)

    # Spec, Invoice.InvoiceNumber: at most 255 characters, unique for ACCREC only (bills carry
    # suppliers' numbers); CreditNoteNumber likewise. A blank number keeps the stored one, or
    # is generated on create. The numbers index keeps the numbers of VOIDED and DELETED
    # documents too: a voided invoice keeps its number (section 3), and whether deleting
    # frees one is unconfirmed.
    number = _text(el.get(kind.number_field))
    number = number.strip() if number else (base.number if base else None)
    if number is not None and len(number) > 255:
        problems.add(kind.long_number)
    if number and doc_type == kind.sales_type:
        holder = kind.numbers(org).get(number)
        if holder is not None and (base is None or holder != kind.id_of(base)):
            problems.add(kind.duplicate_number.format(number=number))

    contact: str | _NewContact | None
    if el.get("Contact") is not None or base is None:
        contact = _resolve_contact(org, el.get("Contact"), problems)
    else:
        contact = base.contact_id

    # A missing Date keeps the stored one or, on create, is today (spec, Invoice.Date and
    # CreditNote.Date); so Xero's "The Date field must be specified." is never produced here.
    doc_date = _date(el.get("Date"), "Date", problems)
    if doc_date is None:
        doc_date = base.date if base is not None else ctx.today
    due_date = (
        _date(el.get("DueDate"), "DueDate", problems)
        if el.get("DueDate") is not None
        else (base.due_date if base else None)
    )

    status = _text(_pick(el, "Status", base.status if base else "DRAFT")) or (
        base.status if base else "DRAFT"
    )
    status = _CANONICAL.get(status, status)
    if status not in STATUSES:  # CreditNote.Status has the invoice's six values
        problems.add(kind.bad_status.format(value=status))
    elif base is None and status not in _CREATABLE:
        problems.add(kind.creation_status)
    # An AUTHORISED invoice needs a DueDate (xeroizer #395; payment terms are not known to
    # fill it, xero-python #78); a credit note does not. An unreadable one already has its
    # message: not also "missing".
    due_unreadable = due_date is None and el.get("DueDate") not in (None, "")
    if kind.due_required and status == "AUTHORISED" and due_date is None and not due_unreadable:
        problems.add(XERO["no_due_date"])
    # Xero's message names credit notes as well as invoices.
    if _archived_contact_refused(
        org, contact, base.contact_id if base else None, base.status if base else None, status
    ):
        problems.add(XERO["archived_contact"])

    # Exclusive is Xero's default (section 3).
    raw_types = _pick(el, "LineAmountTypes", base.line_amount_types.value if base else "Exclusive")
    found_types = _AMOUNT_TYPES.get(raw_types) if type(raw_types) is str else None
    try:
        amount_types = found_types or LineAmountTypes(raw_types)
    except ValueError:
        problems.add(FAKE["bad_amount_types"].format(value=raw_types))
        amount_types = LineAmountTypes.EXCLUSIVE

    currency = _text(_pick(el, "CurrencyCode", base.currency_code if base else org.base_currency))
    if currency == org.base_currency:  # share the organisation's string
        currency = org.base_currency
    if not currency or not _CURRENCY.fullmatch(currency):
        problems.add(FAKE["bad_currency"].format(value=currency))
    elif _unsubscribed(org, currency, base.currency_code if base else None):
        problems.add(XERO["unsubscribed_currency"].format(code=currency))
    rate = _number(
        _pick(el, "CurrencyRate", base.currency_rate if base else None), "CurrencyRate", problems
    )
    invoice = base if isinstance(base, StoredInvoice) else None
    fields: dict[str, Any] = {}
    if kind.sends:
        # The rule that a Url must not contain "xero" is unconfirmed and not applied.
        url = _text(_pick(el, "Url", invoice.url if invoice else None)) or None
        if url and (len(url) > 2000 or not _URL.fullmatch(url)):
            problems.add(FAKE["bad_url"])
        sent_value = _boolean(el.get("SentToContact"), "SentToContact", problems)
        sent = (invoice.sent_to_contact if invoice else False) if sent_value is None else sent_value
        if sent and status not in _APPROVED:
            problems.add(FAKE["not_approved_sent"])
        fields.update(url=url, sent_to_contact=sent)

    # On an update, leaving LineItems out keeps the lines (a void or an approval need not
    # resend them); sending it replaces them. A credit note's discounts are refused first.
    raw_lines = el.get("LineItems")
    if not kind.discounts:
        raw_lines = _undiscounted(raw_lines, problems)
    if raw_lines is not None or base is None:
        if raw_lines is None:
            problems.add(XERO["no_lines"])
            lines: tuple[StoredLine, ...] = ()
            discount = ZERO
        else:
            lines, discount = _lines(
                org,
                raw_lines,
                base,
                invoice_type=line_type,
                status=status,
                amount_types=amount_types,
                ctx=ctx,
                problems=problems,
            )
    else:
        lines, discount = base.lines, (invoice.total_discount if invoice else ZERO)
        if amount_types is not base.line_amount_types:
            lines = _retax(lines, org, amount_types)
        if status != base.status and status in ("SUBMITTED", "AUTHORISED"):
            _check_kept(org, lines, line_type, problems)
    if problems or contact is None:
        return problems
    sub_total, total_tax, total = _totals(lines, amount_types)
    fields.update(
        date=doc_date,
        due_date=due_date,
        status=status,
        line_amount_types=amount_types,
        currency_code=currency or org.base_currency,
        # Without a rate Xero uses the XE.com day rate (spec, Invoice.CurrencyRate); the fake
        # has no rates, so it uses 1, and a rate of 0 or less counts as none.
        currency_rate=rate if rate is not None and rate > 0 else _ONE,
        reference=_text(_pick(el, "Reference", base.reference if base else None)) or None,
        lines=lines,
        sub_total=sub_total,
        total_tax=total_tax,
        total=total,
    )
    if kind.discounts:
        fields["total_discount"] = discount or ZERO
    return _Draft(type=doc_type, number=number, contact=contact, fields=fields)


def _written(org: Org, draft: _Draft, ctx: Ctx) -> dict[str, Any]:
    """What storing ``draft`` sets besides the record's id, Type, number and stamps: its
    fields and its contact, a planned contact being created now that nothing can refuse."""
    return {"contact_id": _commit_contact(org, draft.contact, ctx), **draft.fields}


# What a draft holds that follows from its lines (and LineAmountTypes).
_DERIVED = frozenset({"sub_total", "total_tax", "total", "total_discount"})


def _same(doc: StoredDocument, draft: _Draft) -> bool:
    """Whether storing the draft would change nothing.

    Such an update is a no-op: nothing stored, UpdatedDateUTC left alone, so a repeated push
    is not a change to If-Modified-Since readers, and an invoice with payments can be resent
    unchanged without meeting the allocation lock. Whether Xero bumps UpdatedDateUTC on such
    an update is unconfirmed. Type can't change and the totals follow from the lines.
    """
    return (
        doc.number == draft.number
        and doc.contact_id == draft.contact
        and all(
            getattr(doc, key) == value for key, value in draft.fields.items() if key not in _DERIVED
        )
    )


def _status_problem(doc: _D, el: Mapping[str, Any], changes: bool, kind: _Kind[_D]) -> str | None:
    """The refusal of this update on status or allocation grounds, if any.

    ``changes`` says whether the update would change anything (an invalid edit counts). In
    order:

    - VOIDED and DELETED are final: nothing changes them (Xero-NetStandard #79). Sending
      an unchanged document its own status (a retried void) changes nothing, and passes.
    - With anything allocated, ``kind.lock`` decides (:func:`_invoice_lock`,
      :func:`_note_lock`).
    - PAID is never sent; it comes from payments and credits (section 3).
    - Otherwise, the transitions relayed from Xero support (xeroizer #48). Xero documents no
      rules for credit notes; the fake applies the invoice's, in its own words.
    """
    current = doc.status
    requested = el.get("Status")  # null is not sent (see _pick)
    if current in ("VOIDED", "DELETED"):
        if requested in (None, current) and not changes:
            return None
        return kind.not_valid_status
    if requested is not None and requested not in STATUSES:
        return kind.bad_status.format(value=requested)
    if doc.has_allocations:
        return kind.lock(current, requested, changes)
    if requested == "PAID" and current != "PAID":
        return kind.not_valid_status
    if requested is not None and requested not in _TRANSITIONS.get(current, frozenset()):
        return kind.not_valid_status
    return None


def _update(org: Org, doc: _D, el: Mapping[str, Any], ctx: Ctx, kind: _Kind[_D]) -> Outcome:
    """Change one invoice or credit note (see :func:`update_invoice`).

    Voids and deletes are status updates (Xero staff, Xero-NetStandard #79). A bare void or
    delete is judged on status alone, so a document whose account has since been archived
    can still be voided. Any other update is validated in full by :func:`_draft`, and a
    status or allocation refusal wins over the field problems: a locked document answers
    with the lock. A no-op stores nothing (see :func:`_same`).
    """
    requested = el.get("Status")
    if requested in ("VOIDED", "DELETED") and not _others(el, kind.not_changes):
        # Voiding or deleting is a status change only; lines are not re-checked. Voiding a
        # voided document (or deleting a deleted one) is a retry: a no-op that succeeds.
        if requested == doc.status:
            return Outcome(doc, changed=False)
        problem = _status_problem(doc, el, True, kind)
        if problem is not None:
            return _rejected([problem])
        doc.status = requested
        doc.updated_at = org.touch(ctx.now)
        kind.store(org, doc, None)
        return Outcome(doc)
    draft = _draft(org, el, doc, ctx, kind)
    # An invalid edit counts as a change, so a locked document reports its lock, not the edit.
    changes = not isinstance(draft, _Problems) and not _same(doc, draft)
    problem = _status_problem(doc, el, changes or isinstance(draft, _Problems), kind)
    if problem is not None:
        return _rejected([problem])
    if isinstance(draft, _Problems):
        return _rejected(draft.messages, draft.lines)
    if not changes:
        return Outcome(doc, changed=False)
    old_number = doc.number  # so a renumbering frees the old number in the numbers index
    doc.number = draft.number or doc.number
    for key, value in _written(org, draft, ctx).items():
        setattr(doc, key, value)
    doc.updated_at = org.touch(ctx.now)
    kind.store(org, doc, old_number)
    return Outcome(doc)


def _upsert(org: Org, el: Any, ctx: Ctx, kind: _Kind[_D]) -> Outcome:
    """``POST``: update the record matched by its id or (a sales one) its number, else create.

    Xero's POST creates or updates, matching by InvoiceID or InvoiceNumber (xero-api.md
    section 1); that is why the SDK creates only with PUT, as a number already in Xero would
    be silently updated. An unknown id is an element error, not a new record (Xero staff,
    section 14). Only a sales document is matched by number; no Type counts as a sales one.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    doc_id = el.get(kind.id_field)
    if doc_id:
        found = kind.records(org).get(normal_guid(str(doc_id)))
        if found is None:
            return _rejected([kind.not_found.format(id=doc_id)])
        return kind.update(org, found, el, ctx)
    number = _text(el.get(kind.number_field))
    if number and el.get("Type", kind.sales_type) == kind.sales_type:
        matched = kind.numbers(org).get(number.strip())
        if matched is not None:
            return kind.update(org, kind.records(org)[matched], el, ctx)
    return kind.create(org, el, ctx)


# What an update may carry besides the change it makes: identifying fields and Status; Type
# (clients resend it with a void, and it can't change anyway); and read-only flags SDKs send
# back from their models (xero-python sends HasAttachments: false with every Invoice).
_READ_ONLY = frozenset(
    {
        "Status",
        "Type",
        "HasAttachments",
        "HasErrors",
        "StatusAttributeString",
        "ValidationErrors",
        "Warnings",
    }
)
_NOT_CHANGES = _READ_ONLY | {"InvoiceID", "InvoiceNumber", "IsDiscounted"}
# A credit note has no discounts, so no IsDiscounted.
_NOTE_NOT_CHANGES = _READ_ONLY | {"CreditNoteID", "CreditNoteNumber"}


def _others(el: Mapping[str, Any], not_changes: frozenset[str] = _NOT_CHANGES) -> bool:
    """Whether an update sends anything besides what ``not_changes`` lists (a null counts as
    not sent)."""
    return any(key not in not_changes and value is not None for key, value in el.items())


# --- invoices -------------------------------------------------------------------------------


def create_invoice(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``PUT /Invoices``: create one invoice.

    PUT only creates (xero-api.md section 1). An element naming an InvoiceID is refused: a
    client can't choose a new invoice's id (xero-node #204), and accepting it would let a
    client believe it had updated that invoice. A missing number is generated (spec,
    Invoice.InvoiceNumber), and a new contact is created only now that nothing can refuse.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    if el.get("InvoiceID"):
        return _rejected([FAKE["id_on_create"]])
    draft = _draft(org, el, None, ctx, _INVOICE)
    if isinstance(draft, _Problems):
        return _rejected(draft.messages, draft.lines)
    invoice = StoredInvoice(
        invoice_id=ctx.ids.guid(),
        type=draft.type,
        number=draft.number or org.next_number(),
        **_written(org, draft, ctx),
        updated_at=org.touch(ctx.now),
        created_by=ctx.app,
    )
    org.store_invoice(invoice)
    return Outcome(invoice)


def _invoice_lock(current: str, requested: Any, changes: bool) -> str | None:
    """The refusal of an update to an invoice with payments or credits allocated, if any
    (see :func:`_status_problem`).

    PAID is never sent, allocated or not. Sending DRAFT, SUBMITTED or AUTHORISED is refused
    with Xero's re-status message, and any change, void or delete with the "allocated" one
    (section 4: remove the payments first). Which fields stay editable after a payment is
    unconfirmed; the fake allows none. A resend that changes nothing and sends the current
    status (or none) passes, so a retry is harmless; AUTHORISED sent to a PAID invoice is a
    re-status, and refused.
    """
    if requested == "PAID" and current != "PAID":
        return XERO["not_valid_status"]
    if requested in ("DRAFT", "SUBMITTED", "AUTHORISED") and (
        requested != current or current == "PAID"
    ):
        return XERO["restatus"].format(status=requested)
    if changes or requested in ("VOIDED", "DELETED"):
        return XERO["allocated"]
    return None


def update_invoice(org: Org, invoice: StoredInvoice, el: Any, ctx: Ctx) -> Outcome:
    """``POST /Invoices/{InvoiceID}`` (or a matched ``POST /Invoices`` element): change one.

    SentToContact sent alone to an approved invoice only marks it (:func:`_set_sent`);
    anything else is an update by the rules invoices share with credit notes
    (:func:`_update`).
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    if invoice.status in _APPROVED and _only_sent_to_contact(el, invoice):
        return _set_sent(org, invoice, el, ctx)
    return _update(org, invoice, el, ctx, _INVOICE)


def _only_sent_to_contact(el: Mapping[str, Any], invoice: StoredInvoice) -> bool:
    """Whether an update sends SentToContact and nothing else that changes the invoice (its
    own Status, identifying fields and read-only flags may come along)."""
    return (
        el.get("SentToContact") is not None
        and el.get("Status") in (None, invoice.status)
        and el.get("InvoiceNumber") in (None, invoice.number)
        and el.get("Type") in (None, invoice.type)
        and not any(
            key not in _NOT_CHANGES and key != "SentToContact" and value is not None
            for key, value in el.items()
        )
    )


def _set_sent(org: Org, invoice: StoredInvoice, el: Mapping[str, Any], ctx: Ctx) -> Outcome:
    """``SentToContact`` sent alone to an approved invoice: marked (or unmarked) sent.

    Allowed with payments or credits allocated too, unlike other edits: Xero documents that a
    SentToContact edit on a part-paid invoice does not bump UpdatedDateUTC (xero-api.md
    section 7), so such edits are made. See :func:`mark_sent`.
    """
    problems = _Problems()
    sent = _boolean(el.get("SentToContact"), "SentToContact", problems)
    if sent is None:
        return _rejected(problems.messages)
    return Outcome(invoice, changed=mark_sent(org, invoice, ctx, sent=sent))


def mark_sent(org: Org, invoice: StoredInvoice, ctx: Ctx, *, sent: bool = True) -> bool:
    """Set an approved invoice's SentToContact, as emailing it or a SentToContact-only update
    does; whether anything changed.

    The change bumps UpdatedDateUTC, except on an invoice with payments or credits allocated:
    Xero lists SentToContact edits on a part-paid invoice among the changes that do not bump
    it (xero-api.md section 7, from Xero's requests-and-responses page), so a reader polling
    with If-Modified-Since does not see them.
    """
    if invoice.sent_to_contact == sent:
        return False
    invoice.sent_to_contact = sent
    if not invoice.has_allocations:
        org.bump_invoice(invoice, ctx.now)
    return True


def find_invoice(org: Org, reference: str) -> StoredInvoice | None:
    """An invoice by InvoiceID, or (for a sales invoice) by InvoiceNumber.

    Payments and FakeXero's own methods may name an invoice either way. Only ACCREC numbers
    are indexed, as only they are unique; a GUID-shaped reference is only ever an id.
    """
    found = org.invoices.get(normal_guid(reference))
    if found is None and not is_guid(normal_guid(reference)):
        invoice_id = org.numbers.get(reference)
        found = org.invoices.get(invoice_id) if invoice_id else None
    return found


def upsert_invoice(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``POST /Invoices``: update the invoice matched by InvoiceID or number, else create
    (see :func:`_upsert`). An unknown InvoiceID is refused in the fake's words."""
    return _upsert(org, el, ctx, _INVOICE)


_INVOICE: _Kind[StoredInvoice] = _Kind(
    types=("ACCREC", "ACCPAY"),
    # An unreadable Type is kept, so the lines are checked as a bill's; none is ACCREC.
    typed=lambda sent: _CANONICAL.get(sent or "ACCREC", sent or "ACCREC"),
    line_type=lambda invoice_type: invoice_type,
    sales_type="ACCREC",
    id_field="InvoiceID",
    number_field="InvoiceNumber",
    records=lambda org: org.invoices,
    numbers=lambda org: org.numbers,
    id_of=lambda invoice: invoice.invoice_id,
    store=lambda org, invoice, old: org.store_invoice(invoice, old_number=old),
    not_changes=_NOT_CHANGES,
    lock=_invoice_lock,
    create=create_invoice,
    update=update_invoice,
    due_required=True,
    discounts=True,
    sends=True,
    type_change=FAKE["type_change"],
    bad_type=FAKE["bad_type"],
    long_number=FAKE["long_number"],
    duplicate_number=XERO["duplicate_number"],
    bad_status=FAKE["bad_status"],
    creation_status=XERO["creation_status"],
    not_valid_status=XERO["not_valid_status"],
    not_found=FAKE["invoice_not_found"],
)


# --- payments and credits --------------------------------------------------------------------


def _allocate(
    org: Org, invoice: StoredInvoice, on: date, ctx: Ctx, *, payment: bool = False
) -> None:
    """After money lands on an invoice: an AUTHORISED invoice with nothing left due becomes
    PAID, with FullyPaidOnDate the date of what settled it (spec, Invoice.FullyPaidOnDate).
    ``payment`` says whether a payment landed rather than a credit: whether a payment bumps
    its invoice's UpdatedDateUTC is unconfirmed (xero-api.md section 7), and
    :meth:`Org.money_changed` can be set either way."""
    if invoice.amount_due == 0 and invoice.status == "AUTHORISED":
        invoice.status = "PAID"
        invoice.fully_paid_on = on
    org.money_changed(invoice, ctx.now, payment=payment)


def _deallocate(org: Org, invoice: StoredInvoice, ctx: Ctx, *, payment: bool = False) -> None:
    """After a payment or credit is taken back: a PAID invoice with something due reopens
    (AUTHORISED, no FullyPaidOnDate). ``payment`` as for :func:`_allocate`."""
    if invoice.status == "PAID" and invoice.amount_due != 0:
        invoice.status = "AUTHORISED"
        invoice.fully_paid_on = None
    org.money_changed(invoice, ctx.now, payment=payment)


@attrs.frozen(kw_only=True)
class _PaymentPlan:
    """A payment that passed every rule, not yet stored: planning apart from storing lets a
    batch check all its payments before it stores any."""

    invoice: StoredInvoice
    amount: Decimal
    date: _dt.date
    reference: str | None
    account_id: str | None


def _plan_payment(
    org: Org,
    el: Any,
    ctx: Ctx,
    *,
    require_account: bool,
    planned: Mapping[str, Decimal] | None = None,
) -> _PaymentPlan | _Problems:
    """Check one payment; ``planned`` is what earlier payments of the same batch take off
    each invoice's AmountDue.

    The invoice is named by InvoiceID or InvoiceNumber (spec, Payment.Invoice). The account
    must be an ACTIVE BANK account, by Code or AccountID (the fake's rule; accounts with
    EnablePaymentsToAccount are not modelled); HTTP requires one, FakeXero's methods don't.
    The invoice's status and amount due are checked only once the rest is readable, so one
    mistake doesn't bring a second, derived message. Above the amount due, Xero's own message
    (spec examples). The amount is rounded to cents first, then checked, so a payment of
    0.001 is refused as nothing rather than stored as 0.00.
    """
    problems = _Problems()
    if not isinstance(el, Mapping):
        problems.add(FAKE["not_object"])
        return problems
    ref = el.get("Invoice")
    invoice = None
    if isinstance(ref, Mapping) and (ref.get("InvoiceID") or ref.get("InvoiceNumber")):
        key = _text(ref.get("InvoiceID") or ref.get("InvoiceNumber")) or ""
        invoice = find_invoice(org, key)
        if invoice is None:
            problems.add(FAKE["invoice_not_found"].format(id=key))
    else:
        problems.add(FAKE["payment_invoice"])
    account_ref = el.get("Account")
    account = None
    if isinstance(account_ref, Mapping) and (
        account_ref.get("Code") or account_ref.get("AccountID")
    ):
        if account_ref.get("AccountID"):
            account = org.account_by_id(normal_guid(str(account_ref["AccountID"])))
        else:
            account = org.accounts.get(str(account_ref["Code"]))
        if account is None or account.status != "ACTIVE" or account.type != "BANK":
            problems.add(FAKE["payment_account"])
    elif require_account:
        problems.add(FAKE["payment_account"])
    raw = _number(el.get("Amount"), "Amount", problems)
    amount = round_money(raw) if raw is not None else None
    if amount is None or amount <= 0:
        problems.add(FAKE["payment_amount"])
    on = _date(el.get("Date"), "Date", problems) or ctx.today
    if invoice is not None and not problems:
        due = invoice.amount_due - (planned or {}).get(invoice.invoice_id, ZERO)
        if invoice.status != "AUTHORISED":
            problems.add(FAKE["payment_status"])
        elif amount is not None and amount > due:
            problems.add(XERO["payment_exceeds"])
    if problems or invoice is None or amount is None:
        return problems
    return _PaymentPlan(
        invoice=invoice,
        amount=amount,
        date=on,
        reference=_text(el.get("Reference")),
        account_id=account.account_id if account is not None else None,
    )


def _commit_payment(
    org: Org, plan: _PaymentPlan, ctx: Ctx, *, batch_payment_id: str | None = None
) -> StoredPayment:
    """Store a planned payment and apply it to its invoice's AmountPaid; the invoice turns
    PAID when nothing is due. A ``batch_payment_id`` ties the payment to its batch, which
    then owns its reversal."""
    payment = StoredPayment(
        payment_id=ctx.ids.guid(),
        invoice_id=plan.invoice.invoice_id,
        amount=plan.amount,
        date=plan.date,
        reference=plan.reference,
        account_id=plan.account_id,
        status="AUTHORISED",
        updated_at=org.touch(ctx.now),
        batch_payment_id=batch_payment_id,
    )
    org.store_payment(payment)
    invoice = plan.invoice
    invoice.amount_paid += payment.amount
    invoice.payment_ids.append(payment.payment_id)
    _allocate(org, invoice, plan.date, ctx, payment=True)
    return payment


def pay_invoice(org: Org, el: Any, ctx: Ctx, *, require_account: bool = True) -> Outcome:
    """``PUT /Payments``: pay (part of) an AUTHORISED invoice.

    ``require_account`` is False for :meth:`FakeXero.pay`: a test recording a payment as a
    person would needn't name a bank account, while Xero's API needs one.
    """
    plan = _plan_payment(org, el, ctx, require_account=require_account)
    if isinstance(plan, _Problems):
        return _rejected(plan.messages)
    return Outcome(_commit_payment(org, plan, ctx))


def batch_pay_invoices(
    org: Org,
    elements: Sequence[Any],
    ctx: Ctx,
    *,
    on: date,
    reference: str | None,
    account_code: str | None,
) -> Outcome:
    """A batch payment: one payment per element, all stored or (if any is refused) none.

    Every element follows :func:`pay_invoice`'s rules, checked against what the elements
    before it already take off the same invoice.

    A batch payment is one deposit on the bank statement, so all its payments share its date
    and account, it is all or nothing (FakeXero's reading; the elements of a
    ``PUT /Payments`` stand alone), and sales invoices and bills can't be mixed: RECBATCH and
    PAYBATCH are different bank transactions.
    """
    if not elements:
        return _rejected([FAKE["batch_empty"]])
    planned: dict[str, Decimal] = {}
    plans: list[_PaymentPlan] = []
    messages: list[str] = []
    for el in elements:
        element = dict(el) if isinstance(el, Mapping) else el  # the caller's stays untouched
        if isinstance(element, dict):  # one bank transaction: one date, one account
            element["Date"] = on
            if account_code is not None:
                element["Account"] = {"Code": account_code}
        plan = _plan_payment(org, element, ctx, require_account=False, planned=planned)
        if isinstance(plan, _Problems):
            messages.extend(plan.messages)
            continue
        planned[plan.invoice.invoice_id] = planned.get(plan.invoice.invoice_id, ZERO) + plan.amount
        plans.append(plan)
    if len({plan.invoice.type for plan in plans}) > 1:
        messages.append(FAKE["batch_types"])
    if messages:
        return _rejected(messages)
    batch_payment_id = ctx.ids.guid()
    payments = [
        _commit_payment(org, plan, ctx, batch_payment_id=batch_payment_id) for plan in plans
    ]
    batch = StoredBatchPayment(
        batch_payment_id=batch_payment_id,
        type="RECBATCH" if plans[0].invoice.type == "ACCREC" else "PAYBATCH",
        date=on,
        reference=reference,
        account_id=plans[0].account_id,
        payment_ids=tuple(p.payment_id for p in payments),
        total=sum((p.amount for p in payments), ZERO),
        status="AUTHORISED",
        updated_at=org.touch(ctx.now),
    )
    org.store_batch_payment(batch)
    return Outcome(batch)


def _reverse_payment(org: Org, payment: StoredPayment, ctx: Ctx) -> None:
    """Mark a payment DELETED and give its amount back to the invoice, which reopens if it
    was PAID. The record stays, DELETED (Payment.Status is ``AUTHORISED | DELETED``), so a
    changed-since poll of GET /Payments sees the reversal (xero-api.md section 7)."""
    payment.status = "DELETED"
    payment.updated_at = org.touch(ctx.now)
    org.store_payment(payment)
    invoice = org.invoices[payment.invoice_id]
    invoice.amount_paid -= payment.amount
    _deallocate(org, invoice, ctx, payment=True)


def delete_payment(org: Org, payment: StoredPayment, el: Any, ctx: Ctx) -> Outcome:
    """``POST /Payments/{PaymentID}`` with ``Status: DELETED``: reverse a payment.

    Deleting is the only update a payment takes (spec, deletePayment and its PaymentDelete
    body, whose one field is Status). A payment of a batch is reversed only with its batch
    (the fake's rule: one bank transaction can't lose a part). Deleting twice is refused, not
    a no-op.
    """
    if not isinstance(el, Mapping) or el.get("Status") != "DELETED":
        return _rejected([FAKE["payment_update"]])
    if payment.status == "DELETED":
        return _rejected([FAKE["payment_deleted"]])
    if payment.batch_payment_id is not None:
        return _rejected([FAKE["payment_in_batch"]])
    _reverse_payment(org, payment, ctx)
    return Outcome(payment)


def delete_batch_payment(org: Org, batch: StoredBatchPayment, el: Any, ctx: Ctx) -> Outcome:
    """``POST /BatchPayments/{BatchPaymentID}`` with ``Status: DELETED``: reverse every
    payment in the batch (each becomes DELETED and its invoice is due again)."""
    if not isinstance(el, Mapping) or el.get("Status") != "DELETED":
        return _rejected([FAKE["batch_update"]])
    if batch.status == "DELETED":
        return _rejected([FAKE["batch_deleted"]])
    for payment_id in batch.payment_ids:
        payment = org.payments[payment_id]
        if payment.status != "DELETED":
            _reverse_payment(org, payment, ctx)
    batch.status = "DELETED"
    batch.updated_at = org.touch(ctx.now)
    org.store_batch_payment(batch)
    return Outcome(batch)


def add_credit(
    org: Org,
    kind: str,
    contact_id: str,
    amount: Decimal,
    on: date,
    ctx: Ctx,
    *,
    reference: str | None = None,
) -> Outcome:
    """A receive prepayment or overpayment (``kind``) of ``amount`` from a contact, all of it
    credit still to allocate.

    This is money the customer paid, which reaches an invoice only when allocated (then as
    AmountCredited, spec Invoice.AmountCredited). It is always in the base currency.
    """
    if contact_id not in org.contacts:
        return _rejected([FAKE["unknown_contact"].format(id=contact_id)])
    problems = _Problems()
    if _number(amount, "Amount", problems) is None:
        return _rejected(problems.messages)
    if round_money(amount) <= 0:
        return _rejected([FAKE["credit_amount"].format(kind=kind)])
    credit = StoredCredit(
        credit_id=ctx.ids.guid(),
        kind=kind,
        contact_id=org.contacts[contact_id].contact_id,
        total=round_money(amount),
        date=on,
        reference=reference,
        currency_code=org.base_currency,
        status="AUTHORISED",
        updated_at=org.touch(ctx.now),
    )
    org.store_credit(credit)
    return Outcome(credit)


def _allocation_problems(
    credit: StoredCredit | StoredCreditNote, invoice: StoredInvoice, amount: Decimal
) -> list[str]:
    """Why this allocation of a prepayment, overpayment or credit note is refused, in the
    fake's own words (Xero's are not known).

    The credit must be AUTHORISED (a DRAFT credit note has no credit yet; a PAID credit has
    none left). A prepayment or overpayment credits a sales invoice; a sales credit note a
    sales invoice and a purchase one a bill (spec, CreditNote.Type). The invoice must be
    AUTHORISED, of the same contact and currency. Each of these makes the amount moot, so
    only the first is reported; the two amount limits are independent and both are.
    """
    if isinstance(credit, StoredCreditNote):
        kind = "Credit note"
        wrong_type = invoice.type != credit.invoice_type
        type_problem = (
            FAKE["credit_note_type"] if credit.type == "ACCRECCREDIT" else FAKE["note_bill"]
        )
    else:
        kind = credit.kind
        wrong_type = invoice.type != "ACCREC"
        type_problem = FAKE["allocation_type"].format(kind=kind.lower())
    noun = kind.lower()
    if credit.status != "AUTHORISED":
        return [FAKE["credit_status"].format(kind=kind)]
    if wrong_type:
        return [type_problem]
    if invoice.status != "AUTHORISED":
        return [FAKE["allocation_status"]]
    if invoice.contact_id != credit.contact_id:
        return [FAKE["allocation_contact"].format(kind=noun)]
    if invoice.currency_code != credit.currency_code:
        return [FAKE["allocation_currency"].format(kind=noun)]
    problems = []
    if amount > invoice.amount_due:
        problems.append(FAKE["allocation_due"])
    if amount > credit.remaining:
        problems.append(FAKE["allocation_credit"].format(kind=noun))
    return problems


def _allocation_asked(
    org: Org, el: Any, ctx: Ctx
) -> tuple[StoredInvoice, Decimal, date] | _Problems:
    """What one element of ``PUT .../Allocations`` asks for: the invoice (by InvoiceID or
    InvoiceNumber), the amount (rounded to cents, more than zero) and the date (today when
    none is sent), or what is wrong with it. Prepayments, overpayments and credit notes all
    read their allocations this way."""
    problems = _Problems()
    if not isinstance(el, Mapping):
        problems.add(FAKE["not_object"])
        return problems
    ref = el.get("Invoice")
    invoice = None
    if isinstance(ref, Mapping) and (ref.get("InvoiceID") or ref.get("InvoiceNumber")):
        key = _text(ref.get("InvoiceID") or ref.get("InvoiceNumber")) or ""
        invoice = find_invoice(org, key)
        if invoice is None:
            problems.add(FAKE["invoice_not_found"].format(id=key))
    else:
        problems.add(FAKE["allocation_invoice"])
    raw = _number(el.get("Amount"), "Amount", problems)
    amount = round_money(raw) if raw is not None else None
    if amount is None or amount <= 0:
        problems.add(FAKE["allocation_amount"])
    on = _date(el.get("Date"), "Date", problems) or ctx.today
    if problems or invoice is None or amount is None:
        return problems
    return invoice, amount, on


def _credit_changed(org: Org, credit: StoredCredit | StoredCreditNote, ctx: Ctx) -> None:
    """Stamp and save a changed prepayment, overpayment or credit note."""
    credit.updated_at = org.touch(ctx.now)
    if isinstance(credit, StoredCreditNote):
        org.store_credit_note(credit)
    else:
        org.store_credit(credit)


def _commit_allocation(
    org: Org,
    credit: StoredCredit | StoredCreditNote,
    invoice: StoredInvoice,
    amount: Decimal,
    on: date,
    ctx: Ctx,
) -> StoredAllocation:
    """Store an allocation that passed every check.

    The credit's RemainingCredit falls and it becomes PAID when none is left (spec,
    Prepayment.Status: AUTHORISED, PAID, VOIDED; CreditNote.Status), a credit note with
    FullyPaidOnDate ``on`` (spec, CreditNote.FullyPaidOnDate; the fake's prepayments and
    overpayments have none). The invoice's AmountCredited grows (Xero's AmountCredited counts
    prepayments and overpayments as well as credit notes) and it becomes PAID when nothing is
    left due. Both move their UpdatedDateUTC, the credit first.
    """
    allocation = StoredAllocation(
        allocation_id=ctx.ids.guid(),
        credit_id=credit.credit_id,
        invoice_id=invoice.invoice_id,
        amount=amount,
        date=on,
    )
    org.allocations[allocation.allocation_id] = allocation
    credit.allocation_ids.append(allocation.allocation_id)
    credit.allocated += amount
    if credit.remaining == 0:
        credit.status = "PAID"
        if isinstance(credit, StoredCreditNote):
            credit.fully_paid_on = on
    _credit_changed(org, credit, ctx)
    invoice.amount_credited += amount
    invoice.allocation_ids.append(allocation.allocation_id)
    _allocate(org, invoice, on, ctx)
    return allocation


def allocate_credit(
    org: Org, credit: StoredCredit | StoredCreditNote, el: Any, ctx: Ctx
) -> Outcome:
    """``PUT /Prepayments/{id}/Allocations`` (or Overpayments, or
    ``PUT /CreditNotes/{id}/Allocations``): apply part of a credit to an AUTHORISED invoice
    of the same contact.

    Read by :func:`_allocation_asked` (the Date defaults to today), checked by
    :func:`_allocation_problems`, stored by :func:`_commit_allocation`. Every refusal here
    is in the fake's own words: Xero's are not known.
    """
    asked = _allocation_asked(org, el, ctx)
    if isinstance(asked, _Problems):
        return _rejected(asked.messages)
    invoice, amount, on = asked
    refused = _allocation_problems(credit, invoice, amount)
    if refused:
        return _rejected(refused)
    return Outcome(_commit_allocation(org, credit, invoice, amount, on, ctx))


def delete_allocation(
    org: Org, credit: StoredCredit | StoredCreditNote, allocation: StoredAllocation, ctx: Ctx
) -> Outcome:
    """``DELETE /Prepayments/{id}/Allocations/{AllocationID}`` (or Overpayments, or
    ``DELETE /CreditNotes/{id}/Allocations/{AllocationID}``): take an allocation back.

    The credit has that much to allocate again (a PAID credit is AUTHORISED again, a credit
    note without its FullyPaidOnDate); the invoice's AmountCredited falls and a PAID invoice
    is AUTHORISED again, without its FullyPaidOnDate. Nothing is checked: the caller found
    ``allocation`` on ``credit``.
    """
    del org.allocations[allocation.allocation_id]
    credit.allocation_ids.remove(allocation.allocation_id)
    credit.allocated -= allocation.amount
    if credit.status == "PAID" and credit.remaining != 0:
        credit.status = "AUTHORISED"
        if isinstance(credit, StoredCreditNote):
            credit.fully_paid_on = None
    _credit_changed(org, credit, ctx)
    invoice = org.invoices[allocation.invoice_id]
    invoice.allocation_ids.remove(allocation.allocation_id)
    invoice.amount_credited -= allocation.amount
    _deallocate(org, invoice, ctx)
    return Outcome(allocation)


# --- credit notes ---------------------------------------------------------------------------


def _undiscounted(raw_lines: Any, problems: _Problems) -> Any:
    """A credit note's LineItems with every discount refused and taken out.

    "ACCPAY invoices and credit notes in Xero do not support discounts" (spec,
    LineItem.DiscountRate and DiscountAmount); the message is the fake's. The discount is
    dropped from what the line checks then see, so a line's other problems are still
    reported, once each. A discount that is no readable number is left for those checks to
    report.
    """
    if not isinstance(raw_lines, list):
        return raw_lines
    out = []
    for i, raw in enumerate(raw_lines):
        if isinstance(raw, Mapping) and any(
            _number(raw.get(key), key, _Problems()) for key in ("DiscountRate", "DiscountAmount")
        ):
            problems.add(FAKE["note_discount"], i)
            raw = {k: v for k, v in raw.items() if k not in ("DiscountRate", "DiscountAmount")}
        out.append(raw)
    return out


def find_credit_note(org: Org, reference: str) -> StoredCreditNote | None:
    """A credit note by CreditNoteID or (a sales one) by CreditNoteNumber, as
    :func:`find_invoice` finds invoices: a GUID-shaped reference is only ever an id. Unlike
    an invoice's, the number is read without the spaces around it."""
    found = org.credit_notes.get(normal_guid(reference))
    if found is None and not is_guid(normal_guid(reference)):
        note_id = org.credit_note_numbers.get(reference.strip())
        found = org.credit_notes.get(note_id) if note_id else None
    return found


def create_credit_note(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``PUT /CreditNotes``: create one credit note.

    PUT only creates, as for invoices (xero-api.md section 1). An element naming a
    CreditNoteID is refused: one the organisation doesn't have with Xero's message (the
    spec's createCreditNotes example answers exactly that), one it has with the fake's (an
    update goes through POST). A missing number is generated for a sales credit note
    (``CN-0001``, ...); a purchase credit note without one keeps ``""`` (the spec's example).
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    note_id = el.get("CreditNoteID")
    if note_id:
        known = normal_guid(str(note_id)) in org.credit_notes
        return _rejected([FAKE["note_id_on_create"] if known else XERO["note_not_found"]])
    draft = _draft(org, el, None, ctx, _CREDIT_NOTE)
    if isinstance(draft, _Problems):
        return _rejected(draft.messages, draft.lines)
    number = draft.number or (org.next_credit_note_no() if draft.type == "ACCRECCREDIT" else "")
    note = StoredCreditNote(
        credit_note_id=ctx.ids.guid(),
        type=draft.type,
        number=number,
        **_written(org, draft, ctx),
        updated_at=org.touch(ctx.now),
        created_by=ctx.app,
    )
    org.store_credit_note(note)
    return Outcome(note)


def _note_lock(current: str, requested: Any, changes: bool) -> str | None:
    """The refusal of an update to a credit note with anything allocated, if any (see
    :func:`_status_problem`).

    Xero documents no rule; the fake's is stricter than the invoice's (:func:`_invoice_lock`):
    nothing that changes the note and no status but its own is taken, PAID included, all
    with Xero's message for an allocated invoice (whose words, "this document", fit a credit
    note: unconfirmed for credit notes), so there is no re-status message. Take the
    allocations back first. A resend that changes nothing and sends the current status (or
    none) passes.
    """
    if changes or (requested is not None and requested != current):
        return XERO["allocated"]
    return None


def update_credit_note(org: Org, note: StoredCreditNote, el: Any, ctx: Ctx) -> Outcome:
    """``POST /CreditNotes/{CreditNoteID}`` (or a matched ``POST /CreditNotes`` element).

    As for invoices (:func:`_update`): voiding (``Status: VOIDED``) and deleting are status
    updates judged on status alone; any other update is validated in full by
    :func:`_draft`; a status or allocation refusal wins over field problems; a no-op stores
    nothing.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    return _update(org, note, el, ctx, _CREDIT_NOTE)


def upsert_credit_note(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``POST /CreditNotes``: update the credit note matched by CreditNoteID or (a sales
    one) by number, else create, as :func:`upsert_invoice` does for invoices.

    An unknown CreditNoteID is an element error with Xero's message (the spec's
    updateOrCreateCreditNotes example), not a new credit note. No Type counts as
    ACCRECCREDIT when matching by number.
    """
    return _upsert(org, el, ctx, _CREDIT_NOTE)


_CREDIT_NOTE: _Kind[StoredCreditNote] = _Kind(
    types=CREDIT_NOTE_SIDES,
    # The model's own string (shared by every note), ACCRECCREDIT when unreadable so the
    # later checks still run.
    typed=lambda sent: next((t for t in CREDIT_NOTE_SIDES if t == sent), "ACCRECCREDIT"),
    line_type=lambda note_type: CREDIT_NOTE_SIDES[note_type],
    sales_type="ACCRECCREDIT",
    id_field="CreditNoteID",
    number_field="CreditNoteNumber",
    records=lambda org: org.credit_notes,
    numbers=lambda org: org.credit_note_numbers,
    id_of=lambda note: note.credit_note_id,
    store=lambda org, note, old: org.store_credit_note(note, old_number=old),
    not_changes=_NOTE_NOT_CHANGES,
    lock=_note_lock,
    create=create_credit_note,
    update=update_credit_note,
    due_required=False,
    discounts=False,
    sends=False,
    type_change=FAKE["note_type_change"],
    bad_type=FAKE["note_bad_type"],
    long_number=FAKE["note_long_number"],
    duplicate_number=FAKE["note_duplicate_number"],
    bad_status=FAKE["note_bad_status"],
    creation_status=FAKE["note_creation_status"],
    not_valid_status=FAKE["note_not_valid_status"],
    not_found=XERO["note_not_found"],
)


def add_credit_note(
    org: Org, invoice: StoredInvoice, amount: Decimal, on: date, ctx: Ctx
) -> Outcome:
    """A sales credit note for ``amount``, allocated in full to ``invoice``: what a person
    crediting an invoice in Xero makes.

    It is a real credit note (AUTHORISED, then PAID once allocated) with one line: the
    amount, at the account of the invoice's first line that has one, NoTax and TaxType NONE,
    so its Total is exactly ``amount``. The line is built here rather than through
    :func:`_draft`, as a person picks a usable account in Xero's screen, so an account
    archived since the invoice was raised doesn't stop it. The refusals are in the fake's
    words, as for allocations; the amount is rounded to cents before it is checked.
    """
    problems = _Problems()
    raw = _number(amount, "Amount", problems)
    if raw is None:
        return _rejected(problems.messages)
    amount = round_money(raw)
    if invoice.type != "ACCREC":
        return _rejected([FAKE["credit_note_type"]])
    if invoice.status != "AUTHORISED":
        return _rejected([FAKE["credit_note_status"]])
    if amount <= 0:
        return _rejected([FAKE["credit_note_amount"]])
    if amount > invoice.amount_due:
        return _rejected([FAKE["credit_note_exceeds"]])
    account = next((line.account_code for line in invoice.lines if line.account_code), None)
    line = StoredLine(
        line_item_id=ctx.ids.guid(),
        description=f"Credit for {invoice.number}",
        quantity=Decimal("1.0000"),
        unit_amount=amount,
        account_code=account,
        tax_type="NONE",
        tax_amount=ZERO,
        line_amount=amount,
        discount_rate=None,
        discount_amount=None,
        item_code=None,
        tracking=(),
    )
    note = StoredCreditNote(
        credit_note_id=ctx.ids.guid(),
        type="ACCRECCREDIT",
        number=org.next_credit_note_no(),
        contact_id=invoice.contact_id,
        date=on,
        due_date=None,
        status="AUTHORISED",
        line_amount_types=LineAmountTypes.NO_TAX,
        currency_code=invoice.currency_code,
        currency_rate=invoice.currency_rate,
        reference=None,
        lines=(line,),
        sub_total=amount,
        total_tax=ZERO,
        total=amount,
        updated_at=org.touch(ctx.now),
    )
    org.store_credit_note(note)
    _commit_allocation(org, note, invoice, amount, on, ctx)
    return Outcome(note)


# --- contacts -----------------------------------------------------------------------------


def _contact_fields(
    org: Org, el: Mapping[str, Any], base: StoredContact | None
) -> dict[str, Any] | _Problems:
    """The fields ``el`` gives a contact (over ``base`` for an update), or what is wrong.

    A Name is required and unique among ACTIVE contacts (Xero's message, spec examples;
    compared case-insensitively, which is unconfirmed), so an archived contact's name can be
    taken again. ContactNumber is at most 50 characters and ContactStatus one of the spec's
    values (components/schemas/Contact). Fields left out keep their stored values.
    """
    problems = _Problems()

    def pick(key: str, current: Any) -> Any:
        return _text(el[key]) if key in el else current

    name = pick("Name", base.name if base else None)
    name = name.strip() if name else None
    if not name:
        problems.add(FAKE["contact_name"])
    else:
        holder = org.contacts_by_name.get(name.casefold())
        taken = holder is not None and (base is None or holder != base.contact_id)
        if taken and holder is not None and org.contacts[holder].status == "ACTIVE":
            problems.add(XERO["duplicate_contact"].format(name=name))
    number = pick("ContactNumber", base.contact_number if base else None)
    if number is not None and len(number) > 50:
        problems.add(FAKE["contact_number"])
    company = pick("CompanyNumber", base.company_number if base else None)
    if company is not None and len(company) > 50:  # spec, Contact.CompanyNumber
        problems.add(FAKE["company_number"])
    status = pick("ContactStatus", base.status if base else "ACTIVE") or "ACTIVE"
    if status not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):  # the fake's wording, not in FAKE
        problems.add(f"'{status}' is not a valid ContactStatus.")
    if problems:
        return problems
    return {
        "name": name,
        "contact_number": number,
        "email": pick("EmailAddress", base.email if base else None),
        "first_name": pick("FirstName", base.first_name if base else None),
        "last_name": pick("LastName", base.last_name if base else None),
        "company_number": company,
        "status": status,
    }


def create_contact(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``PUT /Contacts``: create one contact (names are unique among active contacts).

    Unlike an invoice's Contact reference, a create never reuses a contact found by name: a
    name already taken by an active contact is refused with Xero's message.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    fields = _contact_fields(org, el, None)
    if isinstance(fields, _Problems):
        return _rejected(fields.messages)
    contact = StoredContact(contact_id=ctx.ids.guid(), updated_at=org.touch(ctx.now), **fields)
    org.store_contact(contact)
    return Outcome(contact)


def update_contact(org: Org, contact: StoredContact, el: Any, ctx: Ctx) -> Outcome:
    """``POST /Contacts/{ContactID}`` (or a matched element of ``POST /Contacts``).

    An update that changes nothing stores nothing (as for invoices, see :func:`_same`); the
    old name is passed on so the name index frees it.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    fields = _contact_fields(org, el, contact)
    if isinstance(fields, _Problems):
        return _rejected(fields.messages)
    if all(getattr(contact, k) == v for k, v in fields.items()):
        return Outcome(contact, changed=False)
    old_name = contact.name
    for key, value in fields.items():
        setattr(contact, key, value)
    contact.updated_at = org.touch(ctx.now)
    org.store_contact(contact, old_name=old_name)
    return Outcome(contact)


def upsert_contact(org: Org, el: Any, ctx: Ctx) -> Outcome:
    """``POST /Contacts``: update the contact matched by ContactID, number or name, else create.

    ContactNumber comes before Name: it is the natural key for a BMS customer id (xero-api.md
    section 3), while names change. An unknown ContactID is an error, not a new contact.
    """
    if not isinstance(el, Mapping):
        return _rejected([FAKE["not_object"]])
    contact_id = el.get("ContactID")
    if contact_id:
        found = org.contacts.get(normal_guid(str(contact_id)))
        if found is None:
            return _rejected([FAKE["contact_not_found"].format(id=contact_id)])
        return update_contact(org, found, el, ctx)
    number = _text(el.get("ContactNumber"))
    matched = org.contact_by_number(number) if number else None
    if matched is None and _text(el.get("Name")):
        by_name = org.contacts_by_name.get(str(el["Name"]).strip().casefold())
        matched = org.contacts.get(by_name) if by_name else None
    if matched is not None:
        return update_contact(org, matched, el, ctx)
    return create_contact(org, el, ctx)
