"""The hot read path: Xero's invoice and payment objects to domain values, field by field.

A pull reads pages of 1,000 invoices, and cattrs' generated structure functions (a hook call
and an ``Optional`` dispatch per field, per line item) cost three times what parsing the JSON
does. These readers take the shapes Xero sends, field by field, with the same field names
and conversions as the converter in :mod:`bms_xero.mapping._converter`.

They are a fast path, not a second definition: on anything they do not plainly recognise (a
number where text belongs, a ``null`` where a list belongs, a bad date, a missing required
field) they raise :class:`Unusual` and the caller runs the converter, which then either
reads the value the same way or raises its own detailed error. So a good answer reads the
same either way and a bad one fails with the converter's message. A property test
(``tests/mapping/test_read.py``) holds the two paths equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bms_xero._slots import maker
from bms_xero.domain import (
    Allocation,
    AllocationKind,
    InvoiceStatus,
    LineAmountTypes,
    PaymentStatus,
    Tracking,
    XeroInvoice,
    XeroLineItem,
    XeroPayment,
)
from bms_xero.mapping._dates import parse_date, parse_datetime

__all__ = ["CREDIT_LISTS", "Unusual", "read_invoice", "read_payment"]

_ZERO = Decimal(0)
_STATUSES = {s.value: s for s in InvoiceStatus}
_LINE_TYPES = {t.value: t for t in LineAmountTypes}
_PAYMENT_STATUSES = {s.value: s for s in PaymentStatus}
_TEXT_TYPES = frozenset({str, type(None)})  # what _text takes as it is


# Built without attrs' __init__ (see bms_xero._slots): these classes check nothing there,
# and a page holds thousands of them.
_line_item = maker(XeroLineItem)
_invoice = maker(XeroInvoice)
_payment = maker(XeroPayment)
_allocation = maker(Allocation)


class Unusual(Exception):
    """A value outside the plain shapes: the caller reads this object with the converter."""


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    raise Unusual


def _money(value: Any) -> Decimal:
    """An amount: ``Decimal`` as ``decode_json`` reads a fraction, a whole number, or
    ``null`` for zero (as the converter reads them)."""
    if type(value) is Decimal and value.is_finite():
        return value
    if value is None:
        return _ZERO
    if type(value) is int:
        return Decimal(value)
    raise Unusual


def _optional_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _date(value: Any) -> date | None:
    if value is None:
        return None
    if type(value) is not str:
        raise Unusual
    try:
        return parse_date(value)
    except ValueError:
        raise Unusual from None


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str:
        raise Unusual
    try:
        return parse_datetime(value)
    except ValueError:
        raise Unusual from None


def _known(value: Any, members: Mapping[str, Any]) -> Any:
    """A tolerant enum: its member, else the raw text (a value Xero added later)."""
    if type(value) is not str:
        raise Unusual
    return members.get(value, value)


def _items(value: Any) -> list[Any]:
    """A list field that was sent (an absent one is left to its default, ``()``)."""
    if type(value) is not list:
        raise Unusual
    return value


def _messages(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if type(value) is not list:
        raise Unusual
    return tuple(
        str(item.get("Message", "")) if isinstance(item, dict) else str(item) for item in value
    )


def _object(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise Unusual
    return value


def _tracking(data: Any) -> Tracking:
    data = _object(data)
    name, option = data.get("Name"), data.get("Option")
    if type(name) is not str or type(option) is not str:
        raise Unusual
    try:
        return Tracking(name=name, option=option)
    except Exception:  # the domain refuses it: let the converter report it its way
        raise Unusual from None


def _trackings(value: Any) -> tuple[Tracking, ...]:
    return tuple(_tracking(t) for t in _items(value))


def _line(data: Any) -> XeroLineItem:
    # Checked inline rather than through _text and _optional_money: a page has 3,000 lines,
    # and a call per field cost 6% of reading the page's objects. The usual value (text or
    # null, a finite Decimal) is taken here; anything else goes the long way, to the same
    # result.
    if type(data) is not dict:
        data = _object(data)
    get = data.get
    line_item_id = get("LineItemID")
    description = get("Description")
    account_code = get("AccountCode")
    tax_type = get("TaxType")
    item_code = get("ItemCode")
    if not (
        type(line_item_id) in _TEXT_TYPES
        and type(description) in _TEXT_TYPES
        and type(account_code) in _TEXT_TYPES
        and type(tax_type) in _TEXT_TYPES
        and type(item_code) in _TEXT_TYPES
    ):
        raise Unusual
    quantity = get("Quantity")
    if type(quantity) is not Decimal or not quantity.is_finite():
        quantity = _optional_money(quantity)
    unit_amount = get("UnitAmount")
    if type(unit_amount) is not Decimal or not unit_amount.is_finite():
        unit_amount = _optional_money(unit_amount)
    tax_amount = get("TaxAmount")
    if type(tax_amount) is not Decimal or not tax_amount.is_finite():
        tax_amount = _optional_money(tax_amount)
    line_amount = get("LineAmount")
    if type(line_amount) is not Decimal or not line_amount.is_finite():
        line_amount = _optional_money(line_amount)
    discount_rate = get("DiscountRate")
    if discount_rate is not None:
        discount_rate = _money(discount_rate)
    tracking = get("Tracking")
    return _line_item(
        line_item_id=line_item_id,
        description=description,
        quantity=quantity,
        unit_amount=unit_amount,
        account_code=account_code,
        tax_type=tax_type,
        tax_amount=tax_amount,
        line_amount=line_amount,
        discount_rate=discount_rate,
        item_code=item_code,
        tracking=()
        if tracking == [] or (tracking is None and "Tracking" not in data)
        else _trackings(tracking),
    )


def read_payment(data: Mapping[str, Any]) -> XeroPayment:
    """A payment object (as :func:`~bms_xero.mapping.wire.parse_payment` flattens it, or as
    an invoice lists it).

    Raises:
        Unusual: Read it with the converter instead.
    """
    get = data.get
    payment_id = get("PaymentID")
    if type(payment_id) is not str or "Amount" not in data:
        raise Unusual
    status = get("Status", PaymentStatus.AUTHORISED)
    return _payment(
        payment_id=payment_id,
        amount=_money(get("Amount")),
        date=_date(get("Date")),
        status=status if status is PaymentStatus.AUTHORISED else _known(status, _PAYMENT_STATUSES),
        invoice_id=_text(get("InvoiceID")),
        invoice_number=_text(get("InvoiceNumber")),
        reference=_text(get("Reference")),
        payment_type=_text(get("PaymentType")),
        updated_at=_instant(get("UpdatedDateUTC")),
        batch_payment_id=_text(get("BatchPaymentID")),
    )


#: The invoice's lists of applied credits: (list key, id key, kind, reference key), read
#: here and by the converter path in :mod:`bms_xero.mapping.wire`.
CREDIT_LISTS = (
    ("CreditNotes", "CreditNoteID", AllocationKind.CREDIT_NOTE, "CreditNoteNumber"),
    ("Prepayments", "PrepaymentID", AllocationKind.PREPAYMENT, "Reference"),
    ("Overpayments", "OverpaymentID", AllocationKind.OVERPAYMENT, "Reference"),
)


def _credits(data: Mapping[str, Any]) -> tuple[Allocation, ...]:
    """Each credit applied to the invoice, for the amount it took off this one
    (``AppliedAmount``)."""
    found: list[Allocation] = []
    for key, id_key, kind, reference_key in CREDIT_LISTS:
        items = data.get(key)
        if items is None:
            continue
        for item in _items(items):
            item = _object(item)
            credit_id = item.get(id_key)
            if type(credit_id) is not str:
                raise Unusual
            found.append(
                _allocation(
                    kind=kind,
                    id=credit_id,
                    amount=_money(item.get("AppliedAmount")),
                    date=_date(_or_string(item, "Date")),
                    reference=_text(item.get(reference_key) or None),
                )
            )
    return tuple(found)


def _or_string(data: Mapping[str, Any], key: str) -> Any:
    """``key``'s value, or its ``...String`` twin's when Xero left ``key`` out or empty."""
    value = data.get(key)
    if value is None or value == "":
        twin = data.get(key + "String")
        if isinstance(twin, str):
            return twin
    return value


def read_invoice(data: Mapping[str, Any]) -> XeroInvoice:
    """An invoice object from Xero, as :func:`~bms_xero.mapping.wire.parse_invoice` reads
    it: ``...String`` twins stand in for absent dates, the contact's ContactID is lifted out,
    and the credit lists become allocations.

    Raises:
        Unusual: Read it with the converter instead.
    """
    get = data.get
    kind = get("Type", "ACCREC")
    if type(kind) is not str:
        raise Unusual
    status = get("Status")
    line_types = get("LineAmountTypes")
    contact = get("Contact")
    payments = get("Payments")
    lines = get("LineItems")
    errors, warnings = get("ValidationErrors"), get("Warnings")
    # The amounts, as in _line: a finite Decimal as it is, anything else the long way.
    sub_total, total_tax, total = get("SubTotal"), get("TotalTax"), get("Total")
    if type(sub_total) is not Decimal or not sub_total.is_finite():
        sub_total = _money(sub_total)
    if type(total_tax) is not Decimal or not total_tax.is_finite():
        total_tax = _money(total_tax)
    if type(total) is not Decimal or not total.is_finite():
        total = _money(total)
    due, paid, credited = get("AmountDue"), get("AmountPaid"), get("AmountCredited")
    if type(due) is not Decimal or not due.is_finite():
        due = _money(due)
    if type(paid) is not Decimal or not paid.is_finite():
        paid = _money(paid)
    if type(credited) is not Decimal or not credited.is_finite():
        credited = _money(credited)
    return _invoice(
        invoice_id=_text(get("InvoiceID")),
        invoice_number=_text(get("InvoiceNumber")),
        type=kind,
        status=None if status is None else _known(status, _STATUSES),
        contact_id=_text(contact.get("ContactID"))
        if type(contact) is dict or isinstance(contact, Mapping)
        else None,
        date=_date(_or_string(data, "Date")),
        due_date=_date(_or_string(data, "DueDate")),
        line_amount_types=None if line_types is None else _known(line_types, _LINE_TYPES),
        currency_code=_text(get("CurrencyCode")),
        reference=_text(get("Reference")),
        url=_text(get("Url")),
        sub_total=sub_total,
        total_tax=total_tax,
        total=total,
        amount_due=due,
        amount_paid=paid,
        amount_credited=credited,
        fully_paid_on=_date(_or_string(data, "FullyPaidOnDate")),
        # An absent or empty list is the usual case for payments, errors and warnings.
        payments=()
        if payments == [] or (payments is None and "Payments" not in data)
        else tuple([read_payment(_object(p)) for p in _items(payments)]),
        credits=_credits(data),
        line_items=()
        if lines is None and "LineItems" not in data
        else tuple([_line(line) for line in _items(lines)]),
        updated_at=_instant(_or_string(data, "UpdatedDateUTC")),
        validation_errors=() if errors is None else _messages(errors),
        warnings=() if warnings is None else _messages(warnings),
    )
