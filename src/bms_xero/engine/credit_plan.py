"""The credit note push's decisions, as pure functions of what is known.

A credit note takes two writes in Xero: the create and the allocation to the invoice. Either
may land without its answer reaching us, so each has an intent stored before it is sent, and
:func:`next_step` reads the record to say which question to ask Xero before writing again:
look the number up after an unconfirmed create, read the credit note's allocations after an
unconfirmed allocation. :func:`allocation_for` decides how much to allocate (never more than
the invoice owes), and :func:`correction` works out the credit note that turns what Xero holds
into a corrected invoice. No I/O here; :mod:`._credit` carries the steps out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal

import attrs

from bms_xero.domain import (
    CreditNote,
    Invoice,
    LineAmountTypes,
    LineItem,
    XeroCreditNote,
    XeroInvoice,
)
from bms_xero.errors import CorrectionNotACredit, CreditNoteExceedsAmountDue
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._totals import invoice_totals, line_amount
from bms_xero.storage._credit_records import CreditNoteRecord, CreditNoteState

__all__ = [
    "IN_FLIGHT",
    "Allocation",
    "Claim",
    "OverCredit",
    "Step",
    "allocation_for",
    "correction",
    "credit_total",
    "full_credit",
    "holder_of",
    "in_flight",
    "next_step",
    "owner_of",
    "plan_allocations",
]

_ZERO = Decimal("0.00")
_CENT = Decimal("0.01")


class OverCredit(enum.StrEnum):
    """What to do with a credit note worth more than its invoice still owes in Xero.

    Xero refuses to allocate more than an invoice's AmountDue, so the choice is the host's:
    it decides whether the customer is owed money back.
    """

    #: Refuse before anything is sent (the default): a typed error names the note, the
    #: amounts, and these two ways forward.
    REFUSE = "refuse"
    #: Create it, allocate what the invoice owes (it becomes PAID); the rest stays on the
    #: credit note as RemainingCredit: refund it, or allocate it to another invoice.
    ALLOCATE_DUE = "allocate_due"
    #: Create it and allocate nothing: all of it is credit to refund (the invoice stays as it
    #: is in Xero).
    LEAVE_UNALLOCATED = "leave_unallocated"


# --- the next step for one credit note ----------------------------------------------------------


class Step(enum.StrEnum):
    """What one credit note needs next."""

    #: Nothing is stored, or the last try left nothing in Xero: create it.
    CREATE = "create"
    #: A create is unconfirmed: look its number up before creating anything.
    LOOKUP = "lookup"
    #: Xero has it, not allocated yet: allocate.
    ALLOCATE = "allocate"
    #: An allocation is unconfirmed: read the credit note's allocations first.
    CHECK_ALLOCATION = "check_allocation"
    #: Xero has it as the push leaves it.
    DONE = "done"
    #: Xero has it, but the BMS changed it since: Xero can't edit an allocated credit note.
    CHANGED = "changed"


#: How long an intent may be someone else's request in flight: the client's deadline with
#: its retries stays well inside it. A younger PENDING or ALLOCATING record is left to the
#: process that wrote it; an older one is taken to be a crashed process's, and resolved.
IN_FLIGHT = timedelta(minutes=5)


def next_step(record: CreditNoteRecord | None, fingerprint: str, invoice_id: str) -> Step:
    """The step a credit note needs, from its record, the content's fingerprint and the BMS
    invoice it credits.

    Order matters: an intent outranks everything (what Xero did with it must be known
    before anything else is written, even if the note has changed since), and a credit note
    Xero has is never created again, whatever the record's state says.
    """
    if record is None:
        return Step.CREATE
    if record.state in (CreditNoteState.PENDING, CreditNoteState.UNCERTAIN):
        return Step.LOOKUP
    if record.xero_credit_note_id is None:
        return Step.CREATE
    if record.state in (CreditNoteState.ALLOCATING, CreditNoteState.ALLOCATION_UNCERTAIN):
        return Step.CHECK_ALLOCATION
    if (
        record.fingerprint is not None and record.fingerprint != fingerprint
    ) or record.invoice_id != invoice_id:
        return Step.CHANGED
    if record.done:
        return Step.DONE
    return Step.ALLOCATE


def in_flight(record: CreditNoteRecord, now: datetime) -> bool:
    """Whether the record's intent may be another process's request still in flight.

    Only a PENDING create or an ALLOCATING allocation can be: an UNCERTAIN one's sender saw
    its answer go missing and gave up. A young one is left alone (``PushInProgress``): a
    lookup that finds nothing yet proves nothing while the request may still land.
    """
    if record.state is CreditNoteState.PENDING:
        started = record.intent_at
    elif record.state is CreditNoteState.ALLOCATING:
        started = record.allocation_at
    else:
        return False
    return started is not None and now - started < IN_FLIGHT


def owner_of(
    found: Iterable[XeroCreditNote],
    *,
    number: str,
    contact_id: str | None,
    total: Decimal | None,
    on: date,
) -> XeroCreditNote | None:
    """The credit note a lookup found that our create made, if any.

    The number alone proves nothing: Xero numbers credit notes raised by hand ``CN-0001``,
    ``CN-0002``..., which a BMS may use too. So a live sales credit note is ours only when
    it has our number, our contact, our date and our total (Xero's per-line total, as the
    push computed it before sending).
    """
    for note in found:
        if (
            note.credit_note_number == number
            and note.type == "ACCRECCREDIT"
            and note.status not in ("VOIDED", "DELETED")
            and (contact_id is None or note.contact_id == contact_id)
            and (total is None or note.total == total)
            and (note.date is None or note.date == on)
        ):
            return note
    return None


def holder_of(found: Iterable[XeroCreditNote], number: str) -> XeroCreditNote | None:
    """The live credit note that has this number in Xero, whoever made it."""
    return next(
        (
            n
            for n in found
            if n.credit_note_number == number and n.status not in ("VOIDED", "DELETED")
        ),
        None,
    )


# --- how much to allocate ---------------------------------------------------------------------


@attrs.frozen
class Allocation:
    """What to allocate, and what is left as credit.

    Attributes:
        amount: To allocate to the invoice now (0: nothing).
        refund_due: What stays on the credit note as RemainingCredit.
    """

    amount: Decimal
    refund_due: Decimal


def allocation_for(
    *,
    credit_note_number: str,
    invoice_number: str,
    total: Decimal,
    amount_due: Decimal,
    policy: OverCredit,
) -> Allocation:
    """How much of a credit note worth ``total`` to allocate to an invoice owing
    ``amount_due``.

    Raises:
        CreditNoteExceedsAmountDue: ``total`` is more than ``amount_due`` and the policy is
            REFUSE: nothing may be sent.
    """
    due = max(amount_due, _ZERO)
    if total <= due:
        return Allocation(total, _ZERO)
    if policy is OverCredit.REFUSE:
        raise CreditNoteExceedsAmountDue(
            credit_note_number=credit_note_number,
            invoice_number=invoice_number,
            total=total,
            amount_due=due,
        )
    if policy is OverCredit.ALLOCATE_DUE:
        return Allocation(due, total - due)
    return Allocation(_ZERO, total)


@attrs.frozen
class Claim:
    """One credit note that wants part of an invoice's AmountDue in this push.

    Attributes:
        index: Its place in the push.
        invoice_key: The Xero invoice (lower-cased id).
        credit: What it has to allocate: its total before it is created, its RemainingCredit
            after.
        policy: What to do if that is more than the invoice owes.
        number: The credit note's number, for the error.
        invoice_number: The invoice's, for the error.
        xero_credit_note_id: ``None`` before it is created.
    """

    index: int
    invoice_key: str
    credit: Decimal
    policy: OverCredit
    number: str
    invoice_number: str
    xero_credit_note_id: str | None = None


def plan_allocations(
    claims: Iterable[Claim], owed: Mapping[str, Decimal]
) -> dict[int, Allocation | CreditNoteExceedsAmountDue]:
    """How much each claim allocates, in push order, over one running AmountDue per invoice.

    Every claim of a push is judged here together: new credit notes and ones Xero already
    has (adopted, or left to allocate by an earlier push), so two notes for one invoice can
    never both be told the whole AmountDue. A refusal takes nothing, so the notes after it
    still see what it would have taken.
    """
    taken: dict[str, Decimal] = {}
    planned: dict[int, Allocation | CreditNoteExceedsAmountDue] = {}
    for claim in claims:
        ahead = taken.get(claim.invoice_key, _ZERO)
        due = max(owed.get(claim.invoice_key, _ZERO), _ZERO) - ahead
        try:
            allocation = allocation_for(
                credit_note_number=claim.number,
                invoice_number=claim.invoice_number,
                total=claim.credit,
                amount_due=due,
                policy=claim.policy,
            )
        except CreditNoteExceedsAmountDue as e:
            planned[claim.index] = CreditNoteExceedsAmountDue(
                credit_note_number=claim.number,
                invoice_number=claim.invoice_number,
                total=e.total,
                amount_due=e.amount_due,
                ahead=ahead,
                xero_credit_note_id=claim.xero_credit_note_id,
            )
            continue
        taken[claim.invoice_key] = ahead + allocation.amount
        planned[claim.index] = allocation
    return planned


def credit_total(note: CreditNote, rates: Mapping[str, Decimal]) -> Decimal:
    """Xero's total for the credit note: per-line rounding, as for invoices."""
    return invoice_totals(note, rates).total


# --- the credit note a correction needs ---------------------------------------------------------


@attrs.frozen
class _Group:
    account_code: str
    tax_type: str | None


def _held_amounts(held: XeroInvoice) -> dict[_Group, Decimal]:
    amounts: dict[_Group, Decimal] = {}
    for line in held.line_items:
        if line.line_amount is None or line.account_code is None:
            continue
        group = _Group(line.account_code, line.tax_type)
        amounts[group] = amounts.get(group, _ZERO) + line.line_amount
    return amounts


def _corrected_amounts(invoice: Invoice, tax_map: TaxMap) -> dict[_Group, Decimal]:
    amounts: dict[_Group, Decimal] = {}
    for line in invoice.lines:
        tax_type = None if line.tax_code is None else tax_map.tax_type(line.tax_code)
        group = _Group(line.account_code, tax_type)
        amount = line_amount(line.quantity, line.unit_amount, line.discount_rate)
        amounts[group] = amounts.get(group, _ZERO) + amount
    return amounts


def correction(
    corrected: Invoice,
    held: XeroInvoice,
    *,
    tax_map: TaxMap,
    credit_note_id: str,
    number: str,
    issue_date: date,
    tax_codes: Mapping[str, str] | None = None,
) -> CreditNote:
    """The credit note that takes what Xero holds for an invoice down to the corrected one.

    Lines are compared by account and Xero TaxType: for each pair whose line amounts fell,
    one credit line for the difference ("Correction to INV-1"), with the BMS tax code of that
    TaxType. Xero then computes the credit's tax per line, as it did the invoice's, so the
    result can differ from the corrected total by a cent per line of rounding; the push
    reports it. ``tax_codes`` maps a Xero TaxType back to the BMS code (the tax map's
    inverse by default; give it when two BMS codes share a TaxType).

    Raises:
        CorrectionNotACredit: The correction adds to some account (a credit note can only
            take away: raise a new invoice for the increase), or changes nothing, or the
            invoice's line amount types or currency changed (credit the invoice in full and
            raise a new one).
    """
    if held.line_amount_types not in (None, corrected.line_amount_types.value):
        raise CorrectionNotACredit(
            invoice_number=corrected.number,
            reason=(
                f"line amounts changed from {held.line_amount_types} to "
                f"{corrected.line_amount_types.value}"
            ),
        )
    if held.currency_code is not None and corrected.currency_code not in (
        None,
        held.currency_code,
    ):
        raise CorrectionNotACredit(
            invoice_number=corrected.number,
            reason=f"the currency changed from {held.currency_code} to {corrected.currency_code}",
        )
    before = _held_amounts(held)
    after = _corrected_amounts(corrected, tax_map)
    increases = [g for g in after if after[g] > before.get(g, _ZERO)]
    if increases:
        listed = ", ".join(
            f"account {g.account_code} ({g.tax_type or 'no tax'}) by "
            f"{after[g] - before.get(g, _ZERO)}"
            for g in increases
        )
        raise CorrectionNotACredit(
            invoice_number=corrected.number,
            reason=f"it adds to {listed}; raise a new invoice for what it adds",
        )
    return _credit_for(
        corrected,
        held,
        before,
        after,
        tax_map=tax_map,
        tax_codes=tax_codes,
        credit_note_id=credit_note_id,
        number=number,
        issue_date=issue_date,
        reference=f"Correction to {corrected.number}",
    )


def full_credit(
    invoice: Invoice,
    held: XeroInvoice,
    *,
    tax_map: TaxMap,
    credit_note_id: str,
    number: str,
    issue_date: date,
    tax_codes: Mapping[str, str] | None = None,
) -> CreditNote:
    """A credit note for everything Xero holds on the invoice (what cancelling an invoice
    with payments on it takes, as Xero can't void it): one line per account and TaxType,
    built from Xero's lines, not the BMS's, which may have changed since (a refused edit).

    Raises:
        CorrectionNotACredit: Xero holds nothing to credit, or a TaxType has no BMS code.
    """
    return _credit_for(
        invoice,
        held,
        _held_amounts(held),
        {},
        tax_map=tax_map,
        tax_codes=tax_codes,
        credit_note_id=credit_note_id,
        number=number,
        issue_date=issue_date,
        reference=f"Cancels {invoice.number}",
    )


def _credit_for(
    invoice: Invoice,
    held: XeroInvoice,
    before: Mapping[_Group, Decimal],
    after: Mapping[_Group, Decimal],
    *,
    tax_map: TaxMap,
    tax_codes: Mapping[str, str] | None,
    credit_note_id: str,
    number: str,
    issue_date: date,
    reference: str,
) -> CreditNote:
    """One credit line per account and TaxType whose amount falls from ``before`` to
    ``after``, in the invoice's (Xero's) currency and line amount types."""
    back = dict(tax_codes) if tax_codes is not None else _inverse(tax_map)
    lines: list[LineItem] = []
    for group, amount in before.items():
        difference = amount - after.get(group, _ZERO)
        if difference <= 0:
            continue
        tax_code = None
        if group.tax_type is not None and invoice.line_amount_types is not LineAmountTypes.NO_TAX:
            tax_code = back.get(group.tax_type)
            if tax_code is None:
                raise CorrectionNotACredit(
                    invoice_number=invoice.number,
                    reason=(
                        f"Xero TaxType {group.tax_type} has no BMS tax code in the tax map; "
                        "pass tax_codes={TaxType: bms_code}"
                    ),
                )
        lines.append(
            LineItem(
                description=reference,
                quantity=Decimal(1),
                unit_amount=difference,
                account_code=group.account_code,
                tax_code=tax_code,
            )
        )
    if not lines:
        raise CorrectionNotACredit(
            invoice_number=invoice.number, reason="nothing was taken off: there is no credit"
        )
    return CreditNote(
        id=credit_note_id,
        number=number,
        invoice_id=invoice.id,
        customer=invoice.customer,
        issue_date=issue_date,
        lines=lines,
        currency_code=held.currency_code or invoice.currency_code,
        line_amount_types=invoice.line_amount_types,
        reference=reference,
    )


def _inverse(tax_map: TaxMap) -> dict[str, str]:
    """Xero TaxType -> BMS code; the first BMS code (in sorted order) wins a shared TaxType."""
    inverse: dict[str, str] = {}
    for code in sorted(tax_map.entries):
        inverse.setdefault(tax_map.entries[code], code)
    return inverse
