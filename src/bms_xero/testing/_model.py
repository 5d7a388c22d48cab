"""What one fake organisation stores: plain records plus the indexes that keep reads fast.

Records are mutable and slotted (the fake may hold 100,000 invoices); JSON is rendered on
demand by :mod:`._render`, never stored. Every change goes through :meth:`Org.touch`, which
hands out strictly increasing ``UpdatedDateUTC`` values so ``If-Modified-Since`` cursors work
even when the clock stands still, and through a ``store_*`` method (or
:meth:`Org.bump_invoice`, :meth:`Org.money_changed`), which keeps the record's
:class:`~._index.UpdateOrder` in step: reads are answered from those orders, so a record
changed without them would be read wrong.
"""

from __future__ import annotations

import datetime as _dt
from datetime import datetime, timedelta
from decimal import Decimal
from operator import attrgetter

import attrs

from bms_xero.domain import LineAmountTypes
from bms_xero.testing._index import Key, UpdateOrder

__all__ = [
    "ACCOUNT_CLASSES",
    "CREDIT_NOTE_SIDES",
    "CREDIT_TYPES",
    "Org",
    "SentEmail",
    "StoredAccount",
    "StoredAllocation",
    "StoredBatchPayment",
    "StoredContact",
    "StoredCredit",
    "StoredCreditNote",
    "StoredDocument",
    "StoredInvoice",
    "StoredLine",
    "StoredNote",
    "StoredPayment",
    "StoredTaxRate",
]

ZERO = Decimal("0.00")
_MS = timedelta(milliseconds=1)

#: Xero derives an account's Class from its Type (components/schemas/AccountType).
ACCOUNT_CLASSES: dict[str, str] = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


@attrs.define(kw_only=True)
class StoredAccount:
    """One account in the chart of accounts."""

    account_id: str
    code: str
    name: str
    type: str
    status: str
    tax_type: str | None
    system_account: str | None
    updated_at: datetime

    @property
    def account_class(self) -> str:
        """Xero's Class, derived from the type."""
        return ACCOUNT_CLASSES[self.type]


@attrs.define(kw_only=True)
class StoredTaxRate:
    """One tax rate."""

    tax_type: str
    name: str
    rate: Decimal
    status: str
    can_apply_to_revenue: bool


@attrs.define(kw_only=True)
class StoredContact:
    """One contact."""

    contact_id: str
    name: str
    contact_number: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    status: str
    updated_at: datetime
    company_number: str | None = None
    merged_to: str | None = None  # MergedToContactID, once merged into another contact


@attrs.define(kw_only=True)
class StoredLine:
    """One line of a stored invoice, with the amounts Xero computed for it."""

    line_item_id: str
    description: str | None
    quantity: Decimal | None
    unit_amount: Decimal | None
    account_code: str | None
    tax_type: str | None
    tax_amount: Decimal
    line_amount: Decimal
    discount_rate: Decimal | None
    discount_amount: Decimal | None
    item_code: str | None
    tracking: tuple[tuple[str, str], ...]


@attrs.define(kw_only=True)
class StoredDocument:
    """What an invoice and a credit note both are: a document with a contact, dates, a status
    and lines with their totals (components/schemas/Invoice and CreditNote share these
    fields, and ``_rules`` applies the same header and line rules to both).

    Attributes:
        number: InvoiceNumber or CreditNoteNumber.
        fully_paid_on: FullyPaidOnDate, once nothing is left due on an invoice, or left to
            allocate on a credit note.
        allocation_ids: On an invoice, the prepayments, overpayments and credit notes applied
            to it; on a credit note, its own allocations; oldest first (in
            ``Org.allocations``).
        created_by: The client_id of the app that created it, if one did.
    """

    type: str
    number: str
    contact_id: str
    date: _dt.date
    due_date: _dt.date | None
    status: str
    line_amount_types: LineAmountTypes
    currency_code: str
    currency_rate: Decimal
    reference: str | None
    lines: tuple[StoredLine, ...]
    sub_total: Decimal
    total_tax: Decimal
    total: Decimal
    updated_at: datetime
    fully_paid_on: _dt.date | None = None
    allocation_ids: list[str] = attrs.Factory(list)
    created_by: str | None = None

    @property
    def has_allocations(self) -> bool:
        """Whether any of it is allocated: a credit note can then be neither edited nor
        voided (the fake's rule). An invoice counts its payments too (see
        :class:`StoredInvoice`)."""
        return bool(self.allocation_ids)


@attrs.define(kw_only=True)
class StoredInvoice(StoredDocument):
    """One invoice, its totals and what has been paid or allocated to it."""

    invoice_id: str
    url: str | None
    sent_to_contact: bool
    total_discount: Decimal
    amount_paid: Decimal = ZERO
    amount_credited: Decimal = ZERO
    payment_ids: list[str] = attrs.Factory(list)

    @property
    def amount_due(self) -> Decimal:
        """Total less everything paid or credited."""
        return self.total - self.amount_paid - self.amount_credited

    @property
    def has_allocations(self) -> bool:
        """Whether payments or credits are allocated (Xero then refuses edits and voids)."""
        return self.amount_paid != 0 or self.amount_credited != 0


@attrs.define(kw_only=True)
class StoredPayment:
    """One payment against an invoice."""

    payment_id: str
    invoice_id: str
    amount: Decimal
    date: _dt.date
    reference: str | None
    account_id: str | None
    status: str
    updated_at: datetime
    batch_payment_id: str | None = None


@attrs.define(kw_only=True)
class StoredBatchPayment:
    """Several payments made as one bank transaction (one line on the bank statement)."""

    batch_payment_id: str
    type: str  # RECBATCH (sales invoices) or PAYBATCH (bills)
    date: _dt.date
    reference: str | None
    account_id: str | None
    payment_ids: tuple[str, ...]
    total: Decimal
    status: str
    updated_at: datetime


#: What a receive prepayment or overpayment is called in Xero's Type field, by kind.
CREDIT_TYPES: dict[str, str] = {
    "Prepayment": "RECEIVE-PREPAYMENT",
    "Overpayment": "RECEIVE-OVERPAYMENT",
}


@attrs.define(kw_only=True)
class StoredCredit:
    """Money a customer paid before it was owed (a prepayment) or beyond it (an overpayment).

    It is credit waiting to be allocated to the customer's invoices; ``kind`` is
    ``"Prepayment"`` or ``"Overpayment"``, the word Xero builds its field names from.
    """

    credit_id: str
    kind: str
    contact_id: str
    total: Decimal
    date: _dt.date
    reference: str | None
    currency_code: str
    status: str
    updated_at: datetime
    allocated: Decimal = ZERO
    allocation_ids: list[str] = attrs.Factory(list)

    @property
    def type(self) -> str:
        """Xero's Type: ``RECEIVE-PREPAYMENT`` or ``RECEIVE-OVERPAYMENT``."""
        return CREDIT_TYPES[self.kind]

    @property
    def remaining(self) -> Decimal:
        """RemainingCredit: what is left to allocate."""
        return self.total - self.allocated


@attrs.frozen(kw_only=True)
class StoredAllocation:
    """Part of a prepayment, overpayment or credit note applied to one invoice.

    ``credit_id`` is the PrepaymentID, OverpaymentID or CreditNoteID it came from.
    """

    allocation_id: str
    credit_id: str
    invoice_id: str
    amount: Decimal
    date: _dt.date


#: A credit note's Type (components/schemas/CreditNote), and the Type of the invoices it can
#: be allocated to: a sales credit note credits sales invoices, a purchase one bills.
CREDIT_NOTE_SIDES: dict[str, str] = {"ACCRECCREDIT": "ACCREC", "ACCPAYCREDIT": "ACCPAY"}


@attrs.define(kw_only=True)
class StoredCreditNote(StoredDocument):
    """One credit note (components/schemas/CreditNote): a document with lines and totals, as
    an invoice has, whose Total is credit to allocate to the contact's invoices.

    A sales credit note (ACCRECCREDIT) lowers what a customer owes without money moving:
    allocated to an invoice, it counts in that invoice's AmountCredited (spec,
    Invoice.AmountCredited). RemainingCredit is what is left to allocate; a credit note with
    none left is PAID (spec, CreditNote.Status and FullyPaidOnDate). It has allocations
    exactly when it has ``allocation_ids``.

    Attributes:
        number: CreditNoteNumber; unique among ACCRECCREDIT notes (the fake's rule), and
            ``""`` on a purchase credit note sent without one (the spec's example).
        allocated: What its allocations add up to.
    """

    credit_note_id: str
    allocated: Decimal = ZERO

    @property
    def credit_id(self) -> str:
        """Its CreditNoteID, as its allocations name it (``StoredAllocation.credit_id``)."""
        return self.credit_note_id

    @property
    def remaining(self) -> Decimal:
        """RemainingCredit: the Total less what is allocated."""
        return self.total - self.allocated

    @property
    def invoice_type(self) -> str:
        """The Type of invoice it can be allocated to (see :data:`CREDIT_NOTE_SIDES`)."""
        return CREDIT_NOTE_SIDES.get(self.type, "ACCREC")


@attrs.frozen(kw_only=True)
class SentEmail:
    """One invoice Xero emailed to its contact (``POST /Invoices/{InvoiceID}/Email``).

    Attributes:
        invoice_id: The InvoiceID.
        invoice_number: Its InvoiceNumber.
        to: The contact's email address it went to.
        sent_at: The clock's time when it was sent.
    """

    invoice_id: str
    invoice_number: str
    to: str
    sent_at: datetime


@attrs.frozen(kw_only=True)
class StoredNote:
    """A note added to an invoice's history (``PUT /Invoices/{InvoiceID}/History``)."""

    details: str
    at: datetime


@attrs.define(kw_only=True)
class Org:
    """One Xero organisation (tenant) and everything in it."""

    tenant_id: str
    organisation_id: str
    name: str
    short_code: str
    base_currency: str
    created_at: datetime
    accounts: dict[str, StoredAccount] = attrs.Factory(dict)  # by code
    tax_rates: dict[str, StoredTaxRate] = attrs.Factory(dict)  # by TaxType
    contacts: dict[str, StoredContact] = attrs.Factory(dict)  # by id, creation order
    contacts_by_name: dict[str, str] = attrs.Factory(dict)  # casefolded name -> id
    invoices: dict[str, StoredInvoice] = attrs.Factory(dict)  # by id, creation order
    numbers: dict[str, str] = attrs.Factory(dict)  # ACCREC number -> id
    # contact -> its invoice ids, in the order they joined it (the order a merge moves them)
    by_contact: dict[str, dict[str, None]] = attrs.Factory(dict)
    payments: dict[str, StoredPayment] = attrs.Factory(dict)
    credit_notes: dict[str, StoredCreditNote] = attrs.Factory(dict)  # by id, creation order
    credit_note_numbers: dict[str, str] = attrs.Factory(dict)  # ACCRECCREDIT number -> id
    batch_payments: dict[str, StoredBatchPayment] = attrs.Factory(dict)
    prepayments: dict[str, StoredCredit] = attrs.Factory(dict)
    overpayments: dict[str, StoredCredit] = attrs.Factory(dict)
    allocations: dict[str, StoredAllocation] = attrs.Factory(dict)
    currencies: dict[str, str] = attrs.Factory(dict)  # enabled besides the base: code -> name
    emails: list[SentEmail] = attrs.Factory(list)  # invoices emailed, oldest first
    notes: dict[str, list[StoredNote]] = attrs.Factory(dict)  # invoice id -> history notes
    # Each kind in UpdatedDateUTC order (oldest first), with the fields reads filter on.
    invoice_order: UpdateOrder[StoredInvoice] = attrs.Factory(lambda: _invoice_order())
    payment_order: UpdateOrder[StoredPayment] = attrs.Factory(lambda: _payment_order())
    contact_order: UpdateOrder[StoredContact] = attrs.Factory(lambda: _contact_order())
    batch_payment_order: UpdateOrder[StoredBatchPayment] = attrs.Factory(
        lambda: UpdateOrder({}, ident=attrgetter("batch_payment_id"), id_field="BatchPaymentID")
    )
    prepayment_order: UpdateOrder[StoredCredit] = attrs.Factory(lambda: _credit_order())
    overpayment_order: UpdateOrder[StoredCredit] = attrs.Factory(lambda: _credit_order())
    credit_note_order: UpdateOrder[StoredCreditNote] = attrs.Factory(lambda: _credit_note_order())
    last_update: datetime | None = None
    payments_bump_invoices: bool = True
    next_invoice_number: int = 1
    next_credit_note_number: int = 1

    def touch(self, now: datetime) -> datetime:
        """The next UpdatedDateUTC: the clock's time to the millisecond, strictly increasing."""
        stamp = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self.last_update is not None and stamp <= self.last_update:
            stamp = self.last_update + _MS
        self.last_update = stamp
        return stamp

    def account_by_id(self, account_id: str) -> StoredAccount | None:
        """The account with this AccountID (a scan: charts of accounts are small)."""
        return next((a for a in self.accounts.values() if a.account_id == account_id), None)

    def has_currency(self, code: str) -> bool:
        """Whether invoices may be raised in this currency: the base currency, or one enabled
        (``GET /Currencies`` lists exactly these)."""
        return code == self.base_currency or code in self.currencies

    def contact_by_number(self, number: str) -> StoredContact | None:
        """The first contact (in creation order) with this ContactNumber.

        Looked up in the contacts' order; only a number several contacts share is settled
        by a walk in creation order (Xero does not require ContactNumbers to be unique).
        """
        ids = self.contact_order.ids_with("ContactNumber", number)
        if len(ids) <= 1:
            return self.contacts[ids[0]] if ids else None
        return next((c for c in self.contacts.values() if c.contact_number == number), None)

    def store_invoice(self, invoice: StoredInvoice, *, old_number: str | None = None) -> None:
        """Save a new or changed invoice and keep every index in step."""
        if old_number is not None and self.numbers.get(old_number) == invoice.invoice_id:
            del self.numbers[old_number]
        if invoice.type == "ACCREC":
            self.numbers[invoice.number] = invoice.invoice_id
        previous = self.invoices.get(invoice.invoice_id)
        if previous is not None and previous.contact_id != invoice.contact_id:
            self.by_contact.get(previous.contact_id, {}).pop(invoice.invoice_id, None)
        self.invoices[invoice.invoice_id] = invoice
        self.by_contact.setdefault(invoice.contact_id, {})[invoice.invoice_id] = None
        self.invoice_order.touch(invoice)

    def bump_invoice(self, invoice: StoredInvoice, now: datetime) -> None:
        """Mark an invoice changed in place (its status changed, say)."""
        invoice.updated_at = self.touch(now)
        self.invoice_order.touch(invoice)

    def money_changed(self, invoice: StoredInvoice, now: datetime, *, payment: bool) -> None:
        """A payment or credit landed on the invoice, or was taken back.

        Whether Xero bumps the invoice's UpdatedDateUTC for a payment is unconfirmed; with
        ``payments_bump_invoices=False`` the fake doesn't, the harder case for a puller (it
        must find the change through GET /Payments). A credit applied edits the invoice's
        AmountCredited, and bumps it either way.
        """
        if self.payments_bump_invoices or not payment:
            self.bump_invoice(invoice, now)
        else:  # its Status may have changed (PAID, or AUTHORISED again) where it stands
            self.invoice_order.rekey(invoice)

    def store_payment(self, payment: StoredPayment) -> None:
        """Save a new or changed payment."""
        self.payments[payment.payment_id] = payment
        self.payment_order.touch(payment)

    def store_batch_payment(self, batch: StoredBatchPayment) -> None:
        """Save a new or changed batch payment."""
        self.batch_payments[batch.batch_payment_id] = batch
        self.batch_payment_order.touch(batch)

    def credits(self, kind: str) -> tuple[dict[str, StoredCredit], UpdateOrder[StoredCredit]]:
        """The prepayments or overpayments, and their order by UpdatedDateUTC."""
        if kind == "Prepayment":
            return self.prepayments, self.prepayment_order
        return self.overpayments, self.overpayment_order

    def credit(self, credit_id: str) -> StoredCredit | None:
        """A prepayment or overpayment by its id."""
        return self.prepayments.get(credit_id) or self.overpayments.get(credit_id)

    def store_credit(self, credit: StoredCredit) -> None:
        """Save a new or changed prepayment or overpayment."""
        records, order = self.credits(credit.kind)
        records[credit.credit_id] = credit
        order.touch(credit)

    def store_credit_note(self, note: StoredCreditNote, *, old_number: str | None = None) -> None:
        """Save a new or changed credit note and keep its indexes in step (as
        :meth:`store_invoice` does; only ACCRECCREDIT numbers are indexed, being unique)."""
        if old_number is not None and self.credit_note_numbers.get(old_number) == (
            note.credit_note_id
        ):
            del self.credit_note_numbers[old_number]
        if note.type == "ACCRECCREDIT":
            self.credit_note_numbers[note.number] = note.credit_note_id
        self.credit_notes[note.credit_note_id] = note
        self.credit_note_order.touch(note)

    def next_credit_note_no(self) -> str:
        """The next free automatic credit note number (``CN-0001``, ...), skipping numbers
        already taken by credit notes created with one."""
        while True:
            number = f"CN-{self.next_credit_note_number:04d}"
            self.next_credit_note_number += 1
            if number not in self.credit_note_numbers:
                return number

    def store_contact(self, contact: StoredContact, *, old_name: str | None = None) -> None:
        """Save a new or changed contact."""
        if old_name is not None:
            self.contacts_by_name.pop(old_name.casefold(), None)
        self.contacts[contact.contact_id] = contact
        self.contacts_by_name[contact.name.casefold()] = contact.contact_id
        self.contact_order.touch(contact)

    def next_number(self) -> str:
        """The next free automatic invoice number (``INV-0001``, ...)."""
        while True:
            number = f"INV-{self.next_invoice_number:04d}"
            self.next_invoice_number += 1
            if number not in self.numbers:
                return number


# The orders' indexed fields, named as a ``where`` clause names them (and read as the
# rendered record has them: ``_api``'s ``*_FIELDS`` read the same attributes).


def _invoice_order() -> UpdateOrder[StoredInvoice]:
    return UpdateOrder(
        {
            "Type": Key(attrgetter("type"), few=True),
            "Status": Key(attrgetter("status"), few=True),
            "InvoiceNumber": Key(attrgetter("number")),
            "Contact.ContactID": Key(attrgetter("contact_id"), ids=True),
        },
        ident=attrgetter("invoice_id"),
        id_field="InvoiceID",
    )


def _payment_order() -> UpdateOrder[StoredPayment]:
    return UpdateOrder(
        {
            "Status": Key(attrgetter("status"), few=True),
            "Invoice.InvoiceID": Key(attrgetter("invoice_id"), ids=True),
        },
        ident=attrgetter("payment_id"),
        id_field="PaymentID",
    )


def _contact_order() -> UpdateOrder[StoredContact]:
    # ContactNumber is indexed for Org.contact_by_number (a where on contacts renders).
    return UpdateOrder(
        {"ContactNumber": Key(attrgetter("contact_number"))},
        ident=attrgetter("contact_id"),
        id_field="ContactID",
    )


def _credit_order() -> UpdateOrder[StoredCredit]:
    return UpdateOrder(
        {
            "Status": Key(attrgetter("status"), few=True),
            "Contact.ContactID": Key(attrgetter("contact_id"), ids=True),
        },
        ident=attrgetter("credit_id"),
    )


def _credit_note_order() -> UpdateOrder[StoredCreditNote]:
    return UpdateOrder(
        {
            "Type": Key(attrgetter("type"), few=True),
            "Status": Key(attrgetter("status"), few=True),
            "CreditNoteNumber": Key(attrgetter("number")),
            "Contact.ContactID": Key(attrgetter("contact_id"), ids=True),
        },
        ident=attrgetter("credit_note_id"),
        id_field="CreditNoteID",
    )
