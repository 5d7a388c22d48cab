"""Stored records as Xero's JSON (components/schemas/* in Xero's OpenAPI spec).

Amounts stay :class:`~decimal.Decimal` (written exactly by ``encode_json``): money at 2 decimal
places, unit amounts at 2 or (with ``unitdp=4``) 4, quantities and rates at 4. Date-only fields
are ``/Date(ms+0000)/`` with ``...String`` twins; ``UpdatedDateUTC`` is ``/Date(ms)/``.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, overload

from bms_xero.domain import LineAmountTypes
from bms_xero.mapping._dates import _EPOCH, format_ms_datetime
from bms_xero.mapping._dates import format_ms_date as _format_ms_date
from bms_xero.mapping._totals import round_money
from bms_xero.testing._encode import JsonText, dump_json_text, numbers_json, string_json
from bms_xero.testing._model import (
    ZERO,
    Org,
    StoredAccount,
    StoredAllocation,
    StoredBatchPayment,
    StoredContact,
    StoredCredit,
    StoredCreditNote,
    StoredDocument,
    StoredInvoice,
    StoredLine,
    StoredPayment,
    StoredTaxRate,
)

__all__ = [
    "date_string",
    "envelope",
    "invoice_json",
    "render_account",
    "render_allocation",
    "render_batch_payment",
    "render_contact",
    "render_credit",
    "render_credit_note",
    "render_invoice",
    "render_organisation",
    "render_payment",
    "render_tax_rate",
    "unit",
]

_FOUR = Decimal("0.0001")
_RATE_ONE = Decimal("1.0000")

# Organisation details Xero derives from the country (Version, CountryCode, Timezone).
_COUNTRIES: dict[str, tuple[str, str, str]] = {
    "NZD": ("NZ", "NZ", "NEWZEALANDSTANDARDTIME"),
    "AUD": ("AU", "AU", "AUSEASTERNSTANDARDTIME"),
    "GBP": ("UK", "GB", "GMTSTANDARDTIME"),
    "USD": ("US", "US", "EASTERNSTANDARDTIME"),
}


def four(value: Decimal) -> Decimal:
    """``value`` at 4 decimal places."""
    return value.quantize(_FOUR, rounding=ROUND_HALF_UP)


def unit(value: Decimal, unitdp: int) -> Decimal:
    """A unit amount at the precision the caller asked for (``unitdp``)."""
    return four(value) if unitdp == 4 else round_money(value)


# Date-only fields are formatted once per date: a page of invoices repeats a few dates, and
# the formatting was a tenth of rendering one.
format_ms_date = functools.lru_cache(maxsize=4096)(_format_ms_date)


@functools.lru_cache(maxsize=4096)
def date_string(value: date) -> str:
    """The ``DateString`` twin of a date-only field."""
    return f"{value.isoformat()}T00:00:00"


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def render_line(line: StoredLine, unitdp: int) -> dict[str, Any]:
    """One line item."""
    out: dict[str, Any] = {"LineItemID": line.line_item_id}
    _put(out, "Description", line.description)
    _put(out, "Quantity", None if line.quantity is None else four(line.quantity))
    _put(out, "UnitAmount", None if line.unit_amount is None else unit(line.unit_amount, unitdp))
    _put(out, "ItemCode", line.item_code)
    _put(out, "AccountCode", line.account_code)
    _put(out, "TaxType", line.tax_type)
    out["TaxAmount"] = line.tax_amount
    out["LineAmount"] = line.line_amount
    _put(out, "DiscountRate", line.discount_rate)
    _put(out, "DiscountAmount", line.discount_amount)
    out["Tracking"] = [{"Name": name, "Option": option} for name, option in line.tracking]
    return out


def _contact_ref(org: Org, contact_id: str) -> dict[str, Any]:
    contact = org.contacts.get(contact_id)
    out: dict[str, Any] = {"ContactID": contact_id}
    if contact is not None:
        out["Name"] = contact.name
        _put(out, "ContactNumber", contact.contact_number)
        out["ContactStatus"] = contact.status
    out["HasValidationErrors"] = False
    return out


def _payment_ref(payment: StoredPayment) -> dict[str, Any]:
    return {
        "PaymentID": payment.payment_id,
        "Date": format_ms_date(payment.date),
        "Amount": payment.amount,
        "Reference": payment.reference or "",
        "CurrencyRate": Decimal("1.0000"),
        "HasAccount": payment.account_id is not None,
        "HasValidationErrors": False,
    }


def _applied(invoice: StoredInvoice, org: Org) -> dict[str, Decimal]:
    """What each prepayment, overpayment or credit note applied to the invoice adds up to
    there (its ``AppliedAmount``), by its id, in the order first applied."""
    applied: dict[str, Decimal] = {}
    for allocation_id in invoice.allocation_ids:
        allocation = org.allocations[allocation_id]
        applied[allocation.credit_id] = applied.get(allocation.credit_id, ZERO) + allocation.amount
    return applied


def _applied_credit_notes(applied: dict[str, Decimal], org: Org) -> list[dict[str, Any]]:
    """The invoice's ``CreditNotes`` (``applied`` as :func:`_applied` gives it): one entry
    per credit note applied to it, in the order first applied, ``AppliedAmount`` being what
    that note's allocations to this invoice add up to (spec, CreditNote.AppliedAmount);
    Total, RemainingCredit and Status are the whole note's. The SDK's decoder reads
    CreditNoteID, AppliedAmount, Date and CreditNoteNumber (``bms_xero.mapping.wire._credits``)."""
    out = []
    for note_id, amount in applied.items():
        note = org.credit_notes.get(note_id)
        if note is None:
            continue
        out.append(
            {
                "CreditNoteID": note.credit_note_id,
                "CreditNoteNumber": note.number,
                "Type": note.type,
                "Date": format_ms_date(note.date),
                "Status": note.status,
                "Total": note.total,
                "RemainingCredit": note.remaining,
                "AppliedAmount": amount,
                "UpdatedDateUTC": format_ms_datetime(note.updated_at),
                "HasErrors": False,
            }
        )
    return out


def _applied_credits(applied: dict[str, Decimal], org: Org, kind: str) -> list[dict[str, Any]]:
    """The invoice's ``Prepayments`` or ``Overpayments`` (``applied`` as :func:`_applied`
    gives it): one entry per credit applied to it, ``AppliedAmount`` being what that
    credit's allocations to this invoice add up to."""
    out = []
    for credit_id, amount in applied.items():
        credit = org.credit(credit_id)
        if credit is None or credit.kind != kind:
            continue
        entry: dict[str, Any] = {
            f"{kind}ID": credit.credit_id,
            "Type": credit.type,
            "Date": format_ms_date(credit.date),
            "Status": credit.status,
            "Total": credit.total,
            "RemainingCredit": credit.remaining,
            "AppliedAmount": amount,
            "UpdatedDateUTC": format_ms_datetime(credit.updated_at),
        }
        _put(entry, "Reference", credit.reference)
        out.append(entry)
    return out


def _invoice_ref(invoice: StoredInvoice) -> dict[str, Any]:
    return {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
    }


def render_allocation(
    allocation: StoredAllocation, org: Org, *, with_credit: bool = False
) -> dict[str, Any]:
    """One allocation: how much of a credit went to which invoice, on what date.

    ``with_credit`` names the prepayment, overpayment or credit note too, as the answer to
    ``PUT /Prepayments/{id}/Allocations`` (or ``/CreditNotes/{id}/Allocations``, spec
    createCreditNoteAllocation) does; inside a credit's own Allocations it is left out.
    """
    out: dict[str, Any] = {
        "AllocationID": allocation.allocation_id,
        "Amount": allocation.amount,
        "Date": format_ms_date(allocation.date),
        "Invoice": _invoice_ref(org.invoices[allocation.invoice_id]),
    }
    credit = org.credit(allocation.credit_id)
    if with_credit and credit is not None:
        out[credit.kind] = {f"{credit.kind}ID": credit.credit_id, "Type": credit.type}
    note = org.credit_notes.get(allocation.credit_id)
    if with_credit and note is not None:
        out["CreditNote"] = {
            "CreditNoteID": note.credit_note_id,
            "CreditNoteNumber": note.number,
            "Type": note.type,
        }
    return out


def render_credit_note(
    note: StoredCreditNote, org: Org, *, unitdp: int = 2, lines: bool = True
) -> dict[str, Any]:
    """One credit note (components/schemas/CreditNote), with its Allocations.

    Laid out as the spec's getCreditNotes example, less what the fake doesn't model:
    ``Payments`` (a credit note's cash refunds) is always empty, and there are no
    attachments. ``lines=False`` drops LineItems, as un-paged invoice lists do.
    """
    out: dict[str, Any] = {
        "CreditNoteID": note.credit_note_id,
        "CreditNoteNumber": note.number,
        "Payments": [],
        "CurrencyRate": note.currency_rate,
        "Type": note.type,
        "Reference": note.reference or "",
        "RemainingCredit": note.remaining,
        "Allocations": [render_allocation(org.allocations[a], org) for a in note.allocation_ids],
        "HasAttachments": False,
        "HasErrors": False,
    }
    _put_document(out, note, org, unitdp=unitdp, lines=lines)
    return out


def _put_document(
    out: dict[str, Any],
    doc: StoredDocument,
    org: Org,
    *,
    unitdp: int,
    lines: bool,
    total_discount: Decimal | None = None,
) -> None:
    """Write the fields an invoice and a credit note both show, Contact to FullyPaidOnDate,
    in one order for both (a credit note's is the spec's getCreditNotes example's). An
    invoice's TotalDiscount, shown only when it has one, comes after its Total."""
    out["Contact"] = _contact_ref(org, doc.contact_id)
    out["DateString"] = date_string(doc.date)
    out["Date"] = format_ms_date(doc.date)
    if doc.due_date is not None:
        out["DueDateString"] = date_string(doc.due_date)
        out["DueDate"] = format_ms_date(doc.due_date)
    out["Status"] = doc.status
    out["LineAmountTypes"] = doc.line_amount_types.value
    if lines:
        out["LineItems"] = [render_line(line, unitdp) for line in doc.lines]
    out["SubTotal"] = doc.sub_total
    out["TotalTax"] = doc.total_tax
    out["Total"] = doc.total
    if total_discount:
        out["TotalDiscount"] = total_discount
    out["UpdatedDateUTC"] = format_ms_datetime(doc.updated_at)
    out["CurrencyCode"] = doc.currency_code
    if doc.fully_paid_on is not None:
        out["FullyPaidOnDate"] = format_ms_date(doc.fully_paid_on)


def render_credit(credit: StoredCredit, org: Org) -> dict[str, Any]:
    """One prepayment or overpayment (components/schemas/Prepayment, Overpayment)."""
    out: dict[str, Any] = {
        f"{credit.kind}ID": credit.credit_id,
        "Type": credit.type,
    }
    if credit.reference is not None:
        out["Reference"] = credit.reference
        if credit.kind == "Prepayment":
            # A receive prepayment's Reference is its invoice number (spec, Prepayment).
            out["InvoiceNumber"] = credit.reference
    out.update(
        {
            "RemainingCredit": credit.remaining,
            "Allocations": [
                render_allocation(org.allocations[a], org) for a in credit.allocation_ids
            ],
            "Payments": [],
            "HasAttachments": False,
            "Contact": _contact_ref(org, credit.contact_id),
            "DateString": date_string(credit.date),
            "Date": format_ms_date(credit.date),
            "Status": credit.status,
            "LineAmountTypes": "NoTax",
            "LineItems": [],
            "SubTotal": credit.total,
            "TotalTax": ZERO,
            "Total": credit.total,
            "UpdatedDateUTC": format_ms_datetime(credit.updated_at),
            "CurrencyCode": credit.currency_code,
            "CurrencyRate": _RATE_ONE,
        }
    )
    return out


@overload
def render_invoice(
    invoice: StoredInvoice,
    org: Org,
    *,
    unitdp: int = 2,
    lines: bool = True,
    summary: bool = False,
    as_json: Literal[False] = False,
) -> dict[str, Any]: ...


@overload
def render_invoice(
    invoice: StoredInvoice,
    org: Org,
    *,
    unitdp: int = 2,
    lines: bool = True,
    summary: bool = False,
    as_json: Literal[True],
) -> JsonText: ...


def render_invoice(
    invoice: StoredInvoice,
    org: Org,
    *,
    unitdp: int = 2,
    lines: bool = True,
    summary: bool = False,
    as_json: bool = False,
) -> dict[str, Any] | JsonText:
    """One invoice (``lines=False`` drops LineItems; ``summary`` keeps only light fields).

    ``as_json`` writes it straight to JSON text instead (:func:`invoice_json`): the bytes
    ``dump_json`` would make of the dict, for answers. Both go through here, so whatever
    counts or wraps renders sees every invoice an answer shows.
    """
    if as_json:
        return invoice_json(invoice, org, unitdp=unitdp, lines=lines, summary=summary)
    out: dict[str, Any] = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Reference": invoice.reference or "",
    }
    applied = {} if summary else _applied(invoice, org)
    if not summary:
        out["Prepayments"] = _applied_credits(applied, org, "Prepayment")
        out["Overpayments"] = _applied_credits(applied, org, "Overpayment")
    out.update(
        {
            "AmountDue": invoice.amount_due,
            "AmountPaid": invoice.amount_paid,
            "AmountCredited": invoice.amount_credited,
            "SentToContact": invoice.sent_to_contact,
            "CurrencyRate": invoice.currency_rate,
            "IsDiscounted": invoice.total_discount != 0,
            "HasAttachments": False,
            "HasErrors": False,
        }
    )
    _put_document(
        out,
        invoice,
        org,
        unitdp=unitdp,
        lines=lines and not summary,
        total_discount=invoice.total_discount,
    )
    _put(out, "Url", invoice.url)
    if not summary:
        out["Payments"] = [
            _payment_ref(org.payments[pid])
            for pid in invoice.payment_ids
            if org.payments[pid].status == "AUTHORISED"
        ]
        out["CreditNotes"] = _applied_credit_notes(applied, org)
    return out


# --- invoices straight to JSON text -------------------------------------------------------------
# A page of 1,000 invoices, built as dicts and then encoded, cost a tenth of a second, most
# of it in the dicts and the encoder's handling of each amount. ``invoice_json`` writes the
# same bytes directly: each member in render_invoice's order, shown under the same
# conditions, strings through json's own escaping and amounts as number_json writes them
# (what dump_json writes). Lists that are empty on almost every invoice (Prepayments,
# Payments...) are written by dump_json from the dicts the renderers above build, when they
# are not. Whoever changes render_invoice, _put_document, render_line or _contact_ref
# changes the matching function here too; tests/testing/test_invoice_json.py checks the two
# agree, member for member, over invoices that show every optional part.


@functools.lru_cache(maxsize=4096)
def _date_json(value: date) -> str:
    """``Date``/``DueDate``-style members' values as JSON: the ``/Date(ms+0000)/`` text quoted
    (see format_ms_date), once per date."""
    return string_json(format_ms_date(value))


@functools.lru_cache(maxsize=4096)
def _date_string_json(value: date) -> str:
    """The ``...String`` twin of a date-only member, as JSON."""
    return string_json(date_string(value))


def _line_json(line: StoredLine, unitdp: int) -> str:
    """:func:`render_line` as JSON text."""
    text = string_json
    quantity = None if line.quantity is None else four(line.quantity)
    unit_amount = None if line.unit_amount is None else unit(line.unit_amount, unitdp)
    # Every amount written at once; an absent one as ZERO, whose text is not used.
    amounts = numbers_json(
        ZERO if quantity is None else quantity,
        ZERO if unit_amount is None else unit_amount,
        line.tax_amount,
        line.line_amount,
        ZERO if line.discount_rate is None else line.discount_rate,
        ZERO if line.discount_amount is None else line.discount_amount,
    )
    description = "" if line.description is None else ',"Description":' + text(line.description)
    quantity_json = "" if quantity is None else ',"Quantity":' + amounts[0]
    unit_json = "" if unit_amount is None else ',"UnitAmount":' + amounts[1]
    item_code = "" if line.item_code is None else ',"ItemCode":' + text(line.item_code)
    account = "" if line.account_code is None else ',"AccountCode":' + text(line.account_code)
    tax_type = "" if line.tax_type is None else ',"TaxType":' + text(line.tax_type)
    rate = "" if line.discount_rate is None else ',"DiscountRate":' + amounts[4]
    discount = "" if line.discount_amount is None else ',"DiscountAmount":' + amounts[5]
    tracking = ",".join(
        [f'{{"Name":{text(name)},"Option":{text(option)}}}' for name, option in line.tracking]
    )
    return (
        f'{{"LineItemID":{text(line.line_item_id)}{description}{quantity_json}{unit_json}'
        f"{item_code}{account}{tax_type}"
        f',"TaxAmount":{amounts[2]},"LineAmount":{amounts[3]}{rate}{discount}'
        f',"Tracking":[{tracking}]}}'
    )


_MILLISECOND = timedelta(milliseconds=1)


def _ms_datetime_json(value: datetime) -> str:
    """``format_ms_datetime(value)`` as JSON: ``"/Date(ms)/"``.

    The stamps the fake stores are in UTC (``Org.touch``); for those the milliseconds are
    worked out here, as format_ms_datetime works them out (whole milliseconds since 1970,
    rounded down) but with the epoch and the millisecond made once rather than per call,
    which was most of writing one. Any other datetime is left to format_ms_datetime.
    tests/testing/test_invoice_json.py checks the two agree.
    """
    if value.tzinfo is not UTC:
        return string_json(format_ms_datetime(value))
    return f'"/Date({(value - _EPOCH) // _MILLISECOND})/"'


# LineAmountTypes' text as JSON, by member (the member's ``value``, quoted).
_AMOUNT_TYPES_JSON = {member: string_json(member.value) for member in LineAmountTypes}


def _contact_ref_json(org: Org, contact_id: str) -> str:
    """:func:`_contact_ref` as JSON text."""
    contact = org.contacts.get(contact_id)
    if contact is None:
        return f'{{"ContactID":{string_json(contact_id)},"HasValidationErrors":false}}'
    number = (
        ""
        if contact.contact_number is None
        else ',"ContactNumber":' + string_json(contact.contact_number)
    )
    return (
        f'{{"ContactID":{string_json(contact_id)},"Name":{string_json(contact.name)}{number},'
        f'"ContactStatus":{string_json(contact.status)},"HasValidationErrors":false}}'
    )


def _list_json(items: list[dict[str, Any]]) -> str:
    return dump_json_text(items) if items else "[]"


def invoice_json(
    invoice: StoredInvoice,
    org: Org,
    *,
    unitdp: int = 2,
    lines: bool = True,
    summary: bool = False,
) -> JsonText:
    """:func:`render_invoice` written straight to JSON text: exactly what
    ``dump_json(render_invoice(invoice, org, ...))`` writes, at a fraction of the cost (see
    the note above :func:`_date_json`)."""
    text = string_json
    # _applied reads allocations only: with none, every list built from it is empty.
    applied = {} if summary or not invoice.allocation_ids else _applied(invoice, org)
    credits = ""
    if not summary:
        prepayments = _list_json(_applied_credits(applied, org, "Prepayment")) if applied else "[]"
        overpayments = (
            _list_json(_applied_credits(applied, org, "Overpayment")) if applied else "[]"
        )
        credits = f',"Prepayments":{prepayments},"Overpayments":{overpayments}'
    # _put_document's optional members, for an invoice.
    due = (
        ""
        if invoice.due_date is None
        else f',"DueDateString":{_date_string_json(invoice.due_date)}'
        f',"DueDate":{_date_json(invoice.due_date)}'
    )
    line_items = (
        f',"LineItems":[{",".join([_line_json(line, unitdp) for line in invoice.lines])}]'
        if lines and not summary
        else ""
    )
    # The invoice's own amounts, written at once.
    due_amount, paid, credited, rate, sub_total, total_tax, total, total_discount = numbers_json(
        invoice.amount_due,
        invoice.amount_paid,
        invoice.amount_credited,
        invoice.currency_rate,
        invoice.sub_total,
        invoice.total_tax,
        invoice.total,
        invoice.total_discount,
    )
    discount = f',"TotalDiscount":{total_discount}' if invoice.total_discount else ""
    paid_on = (
        ""
        if invoice.fully_paid_on is None
        else f',"FullyPaidOnDate":{_date_json(invoice.fully_paid_on)}'
    )
    # render_invoice's own tail.
    url = "" if invoice.url is None else f',"Url":{text(invoice.url)}'
    money = ""
    if not summary:
        payments = [
            _payment_ref(org.payments[pid])
            for pid in invoice.payment_ids
            if org.payments[pid].status == "AUTHORISED"
        ]
        notes = _list_json(_applied_credit_notes(applied, org)) if applied else "[]"
        money = f',"Payments":{_list_json(payments)},"CreditNotes":{notes}'
    return JsonText(
        f'{{"Type":{text(invoice.type)},"InvoiceID":{text(invoice.invoice_id)}'
        f',"InvoiceNumber":{text(invoice.number)},"Reference":{text(invoice.reference or "")}'
        f"{credits}"
        f',"AmountDue":{due_amount},"AmountPaid":{paid},"AmountCredited":{credited}'
        f',"SentToContact":{"true" if invoice.sent_to_contact else "false"}'
        f',"CurrencyRate":{rate}'
        f',"IsDiscounted":{"true" if invoice.total_discount != 0 else "false"}'
        ',"HasAttachments":false,"HasErrors":false'
        # _put_document, for an invoice.
        f',"Contact":{_contact_ref_json(org, invoice.contact_id)}'
        f',"DateString":{_date_string_json(invoice.date)},"Date":{_date_json(invoice.date)}'
        f"{due}"
        f',"Status":{text(invoice.status)}'
        f',"LineAmountTypes":{_AMOUNT_TYPES_JSON[invoice.line_amount_types]}'
        f"{line_items}"
        f',"SubTotal":{sub_total},"TotalTax":{total_tax},"Total":{total}{discount}'
        f',"UpdatedDateUTC":{_ms_datetime_json(invoice.updated_at)}'
        f',"CurrencyCode":{text(invoice.currency_code)}{paid_on}'
        f"{url}{money}}}"
    )


def render_payment(payment: StoredPayment, org: Org) -> dict[str, Any]:
    """One payment, with a summary of its invoice and account."""
    invoice = org.invoices[payment.invoice_id]
    out: dict[str, Any] = {"PaymentID": payment.payment_id}
    if payment.batch_payment_id is not None:
        out["BatchPaymentID"] = payment.batch_payment_id
        out["BatchPayment"] = render_batch_payment(
            org.batch_payments[payment.batch_payment_id], org, payments=False
        )
    out.update(
        {
            "Date": format_ms_date(payment.date),
            "BankAmount": payment.amount,
            "Amount": payment.amount,
            "Reference": payment.reference or "",
            "CurrencyRate": _RATE_ONE,
            "PaymentType": "ACCRECPAYMENT" if invoice.type == "ACCREC" else "ACCPAYPAYMENT",
            "Status": payment.status,
            "UpdatedDateUTC": format_ms_datetime(payment.updated_at),
            "HasAccount": payment.account_id is not None,
            "IsReconciled": False,
        }
    )
    account = None if payment.account_id is None else org.account_by_id(payment.account_id)
    if account is not None:
        out["Account"] = {"AccountID": account.account_id, "Code": account.code}
    out["Invoice"] = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Contact": _contact_ref(org, invoice.contact_id),
        "CurrencyCode": invoice.currency_code,
    }
    out["HasValidationErrors"] = False
    return out


def _batch_member(payment: StoredPayment, org: Org) -> dict[str, Any]:
    invoice = org.invoices[payment.invoice_id]
    return {
        "Invoice": {**_invoice_ref(invoice), "CurrencyCode": invoice.currency_code},
        "PaymentID": payment.payment_id,
        "Amount": payment.amount,
        "BankAmount": payment.amount,
    }


def render_batch_payment(
    batch: StoredBatchPayment, org: Org, *, payments: bool = True
) -> dict[str, Any]:
    """One batch payment (components/schemas/BatchPayment).

    ``payments=False`` leaves out the list of payments, as a payment's own ``BatchPayment``
    does.
    """
    out: dict[str, Any] = {}
    account = None if batch.account_id is None else org.account_by_id(batch.account_id)
    if account is not None:
        out["Account"] = {"AccountID": account.account_id}
    _put(out, "Reference", batch.reference)
    out.update(
        {
            "BatchPaymentID": batch.batch_payment_id,
            "DateString": date_string(batch.date),
            "Date": format_ms_date(batch.date),
        }
    )
    if payments:
        out["Payments"] = [_batch_member(org.payments[p], org) for p in batch.payment_ids]
    out.update(
        {
            "Type": batch.type,
            "Status": batch.status,
            "TotalAmount": batch.total,
            "UpdatedDateUTC": format_ms_datetime(batch.updated_at),
            "IsReconciled": False,
        }
    )
    return out


def render_contact(contact: StoredContact, *, merged: bool = False) -> dict[str, Any]:
    """One contact; ``merged`` adds MergedToContactID to a merged one, which Xero returns
    "only when using paging or when fetching a contact by ContactId or ContactNumber"
    (spec, Contact.MergedToContactID)."""
    out: dict[str, Any] = {"ContactID": contact.contact_id}
    if merged and contact.merged_to is not None:
        out["MergedToContactID"] = contact.merged_to
    out["ContactStatus"] = contact.status
    _put(out, "ContactNumber", contact.contact_number)
    _put(out, "CompanyNumber", contact.company_number)
    out["Name"] = contact.name
    _put(out, "FirstName", contact.first_name)
    _put(out, "LastName", contact.last_name)
    _put(out, "EmailAddress", contact.email)
    out.update(
        {
            "Addresses": [],
            "Phones": [],
            "UpdatedDateUTC": format_ms_datetime(contact.updated_at),
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": True,
            "ContactPersons": [],
            "HasAttachments": False,
            "HasValidationErrors": False,
        }
    )
    return out


def render_account(account: StoredAccount) -> dict[str, Any]:
    """One account."""
    out: dict[str, Any] = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Status": account.status,
        "Type": account.type,
    }
    _put(out, "TaxType", account.tax_type)
    out.update(
        {
            "Class": account.account_class,
            "EnablePaymentsToAccount": account.type == "BANK",
            "ShowInExpenseClaims": False,
            "ReportingCode": "",
            "HasAttachments": False,
            "UpdatedDateUTC": format_ms_datetime(account.updated_at),
            "AddToWatchlist": False,
        }
    )
    if account.type == "BANK":
        out["BankAccountType"] = "BANK"
    _put(out, "SystemAccount", account.system_account)
    return out


def render_tax_rate(rate: StoredTaxRate) -> dict[str, Any]:
    """One tax rate (a single component)."""
    return {
        "Name": rate.name,
        "TaxType": rate.tax_type,
        "TaxComponents": [
            {
                "Name": rate.name,
                "Rate": four(rate.rate),
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
        ],
        "Status": rate.status,
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": not rate.can_apply_to_revenue,
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": rate.can_apply_to_revenue,
        "DisplayTaxRate": four(rate.rate),
        "EffectiveRate": four(rate.rate),
    }


def render_organisation(org: Org) -> dict[str, Any]:
    """The organisation."""
    version, country, timezone = _COUNTRIES.get(org.base_currency, ("GLOBAL", "US", "UTC"))
    return {
        "APIKey": "",
        "Name": org.name,
        "LegalName": org.name,
        "PaysTax": True,
        "Version": version,
        "OrganisationType": "COMPANY",
        "BaseCurrency": org.base_currency,
        "CountryCode": country,
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "ACCRUALS" if version == "NZ" else "ACCRUAL",
        "SalesTaxPeriod": "TWOMONTHS",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": format_ms_datetime(org.created_at),
        "OrganisationEntityType": "COMPANY",
        "Timezone": timezone,
        "ShortCode": org.short_code,
        "OrganisationID": org.organisation_id,
        "Edition": "BUSINESS",
        "Class": "PREMIUM",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }


def envelope(
    key: str,
    items: list[dict[str, Any]],
    *,
    response_id: str,
    now: datetime,
    pagination: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Xero's response envelope around a list of records."""
    out: dict[str, Any] = {
        "Id": response_id,
        "Status": "OK",
        "ProviderName": "FakeXero",
        "DateTimeUTC": format_ms_datetime(now),
    }
    if pagination is not None:
        out["pagination"] = pagination
    out[key] = items
    return out
