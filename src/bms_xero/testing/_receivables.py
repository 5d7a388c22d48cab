"""Receivables details a sync needs besides invoices and money: the customer's online
invoice (pay) link, emailing an invoice, notes in its history, the organisation's currencies,
archived and merged contacts, and the Rounding system account.

The endpoints (``GET /Invoices/{InvoiceID}/OnlineInvoice``, ``POST .../Email``,
``GET``/``PUT .../History``, ``GET /Currencies``) answer with :mod:`._api`'s replies, which
routes them here; the rules below are shared with :class:`~bms_xero.testing.FakeXero`'s
helpers, so a helper and the API can never disagree. Messages Xero is known to use live in
:data:`._rules.XERO`; the ones here (:data:`FAKE`) are the fake's own wording, listed in
docs/testing.md.
"""

from __future__ import annotations

import hashlib
import string
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bms_xero.errors import UnexpectedResponse
from bms_xero.mapping._dates import format_ms_datetime
from bms_xero.mapping.wire import decode_json
from bms_xero.testing._api import (
    FakeRequest,
    Reply,
    _elements,
    _list_reply,
    _not_allowed,
    _not_found,
    _not_implemented,
    _post_data_invalid,
    error_reply,
    records_reply,
    validation_failed,
)
from bms_xero.testing._model import (
    Org,
    SentEmail,
    StoredAccount,
    StoredContact,
    StoredInvoice,
    StoredNote,
)
from bms_xero.testing._query import PageAsked, normal_guid
from bms_xero.testing._rules import Ctx, Outcome, mark_sent, update_contact

__all__ = [
    "CURRENCY_NAMES",
    "FAKE",
    "ROUNDING_ACCOUNT",
    "add_note",
    "add_system_accounts",
    "archive_contact",
    "below_invoice",
    "currencies",
    "email_invoice",
    "enable_currency",
    "enabled_currencies",
    "merge_contacts",
    "online_invoice_url",
    "render_note",
]

#: The fake's own wording, where Xero's is not known.
FAKE = {
    "online_type": (
        "An online invoice is only available for a sales invoice (ACCREC); this is {type}."
    ),
    "online_status": (
        "An online invoice is only available once the invoice is approved (AUTHORISED or "
        "PAID); this invoice is {status}."
    ),
    "email_type": "Only a sales invoice (ACCREC) can be emailed; this is {type}.",
    "email_status": (
        "Invoice not of valid status for sending: only SUBMITTED, AUTHORISED and PAID "
        "invoices can be emailed, and this one is {status}."
    ),
    "email_address": "The invoice cannot be emailed: its contact {name} has no email address.",
    "email_body": "The request body must be empty or a JSON object ({}).",
    "note_details": "The history record Details must be specified.",
}

# Xero's "Emailing an invoice" guide: "The invoice must be of Type ACCREC and a valid Status
# for sending (SUBMITTED, AUTHORISED or PAID)" (quoted by SDK wrappers). Only an approved one
# is then marked sent: Xero sets SentToContact only on approved invoices (spec,
# Invoice.SentToContact).
_SENDABLE = frozenset({"SUBMITTED", "AUTHORISED", "PAID"})
_APPROVED = frozenset({"AUTHORISED", "PAID"})

#: Currency names for GET /Currencies. NZD's is the spec's example (getCurrencies) and USD's
#: the spec's createCurrency example; the others are their usual English names (how Xero
#: words them is unconfirmed). Any other code needs a description given.
CURRENCY_NAMES: dict[str, str] = {
    "NZD": "New Zealand Dollar",
    "AUD": "Australian Dollar",
    "USD": "United States Dollar",
    "GBP": "British Pound",
    "EUR": "Euro",
    "CAD": "Canadian Dollar",
    "SGD": "Singapore Dollar",
    "HKD": "Hong Kong Dollar",
    "JPY": "Japanese Yen",
    "CNY": "Chinese Yuan",
    "INR": "Indian Rupee",
    "ZAR": "South African Rand",
    "FJD": "Fiji Dollar",
    "CHF": "Swiss Franc",
}

#: The Rounding system account every organisation has (spec, Account.SystemAccount
#: ``ROUNDING``), as (Code, Name, Type). Code 860 is the usual one (xero-api.md section 5:
#: "often code 860") and CURRLIAB the type of Xero's demo company's (unconfirmed); clients
#: should find it by SystemAccount, never by code.
ROUNDING_ACCOUNT = ("860", "Rounding", "CURRLIAB")

_URL_ALPHABET = string.ascii_letters + string.digits


def _digest(*parts: str) -> bytes:
    return hashlib.sha256(":".join(parts).encode()).digest()


def add_system_accounts(org: Org) -> None:
    """Give a new organisation the system accounts Xero always has: the Rounding account.

    Its AccountID is derived from the organisation's id rather than drawn from the fake's id
    stream, so seeded ids stay what they were before the fake had it; its UpdatedDateUTC is
    the organisation's creation time.
    """
    code, name, kind = ROUNDING_ACCOUNT
    org.accounts[code] = StoredAccount(
        account_id=str(uuid.UUID(bytes=_digest(org.organisation_id, "ROUNDING")[:16], version=4)),
        code=code,
        name=name,
        type=kind,
        status="ACTIVE",
        tax_type=None,
        system_account="ROUNDING",
        updated_at=org.created_at,
    )


# --- online invoices -------------------------------------------------------------------------


def online_invoice_url(org: Org, invoice: StoredInvoice) -> Outcome:
    """The customer's online invoice (pay) link, as ``GET .../OnlineInvoice`` gives it.

    Xero's guide: "you can retrieve the online invoice url for sales (ACCREC) invoices ...
    you cannot retrieve an online invoice url for DRAFT invoices" (quoted in xero-node #186;
    xero-api.md marks it unconfirmed). The fake also refuses SUBMITTED, VOIDED and DELETED
    invoices (its stricter reading: the link is the approved invoice's). Refusals are in the
    fake's words. The URL has Xero's shape (``https://in.xero.com/`` and 40 letters and
    digits) and is derived from the organisation and the invoice: the same on every call.
    """
    if invoice.type != "ACCREC":
        return Outcome(None, (FAKE["online_type"].format(type=invoice.type),))
    if invoice.status not in _APPROVED:
        return Outcome(None, (FAKE["online_status"].format(status=invoice.status),))
    number = int.from_bytes(_digest(org.organisation_id, invoice.invoice_id, "online"), "big")
    token = []
    for _ in range(40):
        number, digit = divmod(number, len(_URL_ALPHABET))
        token.append(_URL_ALPHABET[digit])
    return Outcome(f"https://in.xero.com/{''.join(token)}", changed=False)


# --- emailing ----------------------------------------------------------------------------------


def email_invoice(org: Org, invoice: StoredInvoice, ctx: Ctx) -> Outcome:
    """``POST /Invoices/{InvoiceID}/Email``: Xero emails the invoice to its contact.

    A sales invoice that is SUBMITTED, AUTHORISED or PAID can be sent (Xero's guide, see
    :data:`_SENDABLE`), to the contact's email address (Xero also writes to contact persons
    flagged IncludeInEmails, which the fake does not model); a contact without one is
    refused. Sending records a :class:`SentEmail` and marks an approved invoice
    SentToContact (:func:`~._rules.mark_sent`; a SUBMITTED one is sent but not marked, as
    only approved invoices can be). Sending again sends again. Refusals are in the fake's
    words.
    """
    if invoice.type != "ACCREC":
        return Outcome(None, (FAKE["email_type"].format(type=invoice.type),))
    if invoice.status not in _SENDABLE:
        return Outcome(None, (FAKE["email_status"].format(status=invoice.status),))
    contact = org.contacts[invoice.contact_id]
    address = (contact.email or "").strip()
    if not address:
        return Outcome(None, (FAKE["email_address"].format(name=contact.name),))
    email = SentEmail(
        invoice_id=invoice.invoice_id, invoice_number=invoice.number, to=address, sent_at=ctx.now
    )
    org.emails.append(email)
    if invoice.status in _APPROVED:
        mark_sent(org, invoice, ctx)
    return Outcome(email)


# --- history -----------------------------------------------------------------------------------


def add_note(org: Org, invoice: StoredInvoice, el: Any, ctx: Ctx) -> Outcome:
    """One element of ``PUT /Invoices/{InvoiceID}/History``: a note in the invoice's history.

    ``Details`` is required (the fake's rule); nothing else is read. A note changes nothing
    on the invoice, so its UpdatedDateUTC stays (unconfirmed for Xero).
    """
    details = el.get("Details") if isinstance(el, Mapping) else None
    if not isinstance(details, str) or not details.strip():
        return Outcome(None, (FAKE["note_details"],))
    note = StoredNote(details=details, at=ctx.now)
    org.notes.setdefault(invoice.invoice_id, []).append(note)
    return Outcome(note)


def render_note(note: StoredNote, *, created: bool = False) -> dict[str, Any]:
    """One HistoryRecord. Read back (``GET .../History``) it has Changes, User, Details and
    the dates, as the spec's getInvoiceHistory example; ``created`` gives the answer to the
    PUT, as the spec's HistoryRecordCreated example (no Changes or User). Changes ``Note`` and
    User ``System Generated`` are unconfirmed for notes an app adds."""
    dates = {
        "DateUTCString": note.at.strftime("%Y-%m-%dT%H:%M:%S"),
        "DateUTC": format_ms_datetime(note.at),
    }
    if created:
        return {**dates, "Details": note.details, "ValidationErrors": []}
    return {"Changes": "Note", **dates, "User": "System Generated", "Details": note.details}


# --- currencies --------------------------------------------------------------------------------


def enabled_currencies(org: Org) -> list[tuple[str, str]]:
    """(Code, Description) of every currency invoices may use: the base currency first, then
    those enabled, in the order they were."""
    base = org.base_currency
    return [(base, CURRENCY_NAMES.get(base, base)), *org.currencies.items()]


def enable_currency(org: Org, code: str, description: str) -> None:
    """Let invoices use ``code``. Enabling one already enabled changes only its description;
    the base currency is always enabled, so enabling it changes nothing."""
    if code != org.base_currency:
        org.currencies[code] = description


def _render_currency(currency: tuple[str, str]) -> dict[str, Any]:
    return {"Code": currency[0], "Description": currency[1]}


# --- contacts ----------------------------------------------------------------------------------


def archive_contact(org: Org, contact: StoredContact, ctx: Ctx) -> Outcome:
    """Archive a contact, as ``POST /Contacts/{ContactID}`` with ``ContactStatus: ARCHIVED``
    does (the same rule). Its invoices stay as they are; new ones for it are refused with
    Xero's archived-contact message (see :func:`~._rules._archived_contact_refused`)."""
    return update_contact(org, contact, {"ContactStatus": "ARCHIVED"}, ctx)


def merge_contacts(org: Org, source: StoredContact, target: StoredContact, ctx: Ctx) -> None:
    """Merge ``source`` into ``target`` as a person does in Xero: the merged contact is
    archived with ``MergedToContactID`` naming the one kept, and its transactions move there.

    Xero moves "all transactions" to the contact kept (Xero's merge dialog, as described by
    several bookkeeping guides); here that is its invoices, prepayments and overpayments,
    each with a new UpdatedDateUTC (whether Xero bumps them is unconfirmed). Credit notes
    are not moved. The caller checks the two are different, existing, active contacts.
    """
    moved = org.by_contact.pop(source.contact_id, {})
    kept = org.by_contact.setdefault(target.contact_id, {})
    for invoice_id in moved:
        invoice = org.invoices[invoice_id]
        invoice.contact_id = target.contact_id
        kept[invoice_id] = None
        org.bump_invoice(invoice, ctx.now)
    for kind in ("Prepayment", "Overpayment"):
        records, _ = org.credits(kind)
        for credit in [c for c in records.values() if c.contact_id == source.contact_id]:
            credit.contact_id = target.contact_id
            credit.updated_at = org.touch(ctx.now)
            org.store_credit(credit)
    source.status = "ARCHIVED"
    source.merged_to = target.contact_id
    source.updated_at = org.touch(ctx.now)
    org.store_contact(source)


# --- the endpoints -----------------------------------------------------------------------------


def _online_invoice(org: Org, call: FakeRequest, invoice: StoredInvoice, ctx: Ctx) -> Reply:
    """``GET /Invoices/{InvoiceID}/OnlineInvoice`` (spec getOnlineInvoice, OnlineInvoices)."""
    if call.method != "GET":
        return _not_allowed(call)
    outcome = online_invoice_url(org, invoice)
    if not outcome.ok:
        return _refusal(invoice, outcome)
    return records_reply("OnlineInvoices", [{"OnlineInvoiceUrl": outcome.record}], ctx)


def _email(org: Org, call: FakeRequest, invoice: StoredInvoice, ctx: Ctx) -> Reply:
    """``POST /Invoices/{InvoiceID}/Email`` (spec emailInvoice): 204 No Content when sent.

    The spec's body is RequestEmpty (``{}``); an empty body is taken too, anything but a
    JSON object is refused, and what an object holds is ignored.
    """
    if call.method != "POST":
        return _not_allowed(call)
    if call.body.strip():
        try:
            body = decode_json(call.body)
        except (UnexpectedResponse, RecursionError):
            body = None
        if not isinstance(body, Mapping):
            return _post_data_invalid(FAKE["email_body"])
    outcome = email_invoice(org, invoice, ctx)
    if not outcome.ok:
        return _refusal(invoice, outcome)
    return Reply(204, (), b"")


def _history(org: Org, call: FakeRequest, invoice: StoredInvoice, ctx: Ctx) -> Reply:
    """``GET`` (getInvoiceHistory) and ``PUT`` (createInvoiceHistory) ``.../History``.

    GET lists the notes added, oldest first (Xero's own records of what happened to the
    invoice, such as its approval or payments, are not modelled). PUT takes
    ``{"HistoryRecords": [{"Details": ...}]}`` (or one object) and answers the records made;
    any refused element makes it a 400 ValidationException (the operation has no
    summarizeErrors), the valid ones being kept, as in Xero's other batches.
    """
    if call.method == "GET":
        items = [render_note(n) for n in org.notes.get(invoice.invoice_id, [])]
        return records_reply("HistoryRecords", items, ctx)
    if call.method != "PUT":
        return _not_allowed(call)
    elements = _elements(call, "HistoryRecords")
    if isinstance(elements, Reply):
        return elements
    outcomes = [add_note(org, invoice, el, ctx) for el in elements]
    if any(not o.ok for o in outcomes):
        return validation_failed(elements, outcomes, flag=None)
    return records_reply(
        "HistoryRecords", [render_note(o.record, created=True) for o in outcomes], ctx
    )


def _refusal(invoice: StoredInvoice, outcome: Outcome) -> Reply:
    """A 400 ValidationException naming the invoice, its messages as ValidationErrors (spec,
    components/schemas/Error and Element)."""
    element = {
        "InvoiceID": invoice.invoice_id,
        "ValidationErrors": [{"Message": m} for m in outcome.messages],
    }
    return error_reply(400, "A validation exception occurred", elements=[element])


_BELOW_INVOICE: dict[str, Callable[[Org, FakeRequest, StoredInvoice, Ctx], Reply]] = {
    "onlineinvoice": _online_invoice,
    "email": _email,
    "history": _history,
}


def below_invoice(org: Org, call: FakeRequest, rest: Sequence[str], ctx: Ctx) -> Reply:
    """``/Invoices/{InvoiceID}/{what}``: ``rest`` is the path after ``/Invoices``.

    The invoice is named by its InvoiceID only (the spec's path parameter); a number there is
    a 404. Anything else below an invoice (its PDF, attachments) is a 501.
    """
    handler = _BELOW_INVOICE.get(rest[1].casefold()) if len(rest) == 2 else None
    if handler is None:
        return _not_implemented(call, "/Invoices/" + "/".join(rest))
    invoice = org.invoices.get(normal_guid(rest[0]))
    if invoice is None:
        return _not_found()
    return handler(org, call, invoice, ctx)


def currencies(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    """``GET /Currencies`` (spec getCurrencies): the base currency and those enabled, with
    ``where`` and ``order``. Creating one (``PUT``) is not served: the spec calls it
    unsupported; enable one with :meth:`FakeXero.add_currency`."""
    if call.method != "GET" or ident is not None:
        return _not_allowed(call)
    return _list_reply(
        "Currencies",
        call,
        enabled_currencies(org),
        page=PageAsked(None, 0),
        full=_render_currency,
        shown=_render_currency,
        ctx=ctx,
    )
