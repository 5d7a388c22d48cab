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
from datetime import date
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
    "Allocation",
    "OverCredit",
    "Step",
    "allocation_for",
    "correction",
    "credit_total",
    "full_credit",
    "next_step",
    "owner_of",
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


def next_step(record: CreditNoteRecord | None, fingerprint: str) -> Step:
    """The step a credit note needs, from its record and the content's fingerprint.

    Order matters: an intent outranks everything (what Xero did with it must be known
    before anything else is written), and a credit note Xero has is never created again.
    """
    if record is None or (record.state is CreditNoteState.FAILED and record.intent_key is None):
        return Step.CREATE
    if record.state in (CreditNoteState.PENDING, CreditNoteState.UNCERTAIN):
        return Step.LOOKUP
    if record.xero_credit_note_id is None:
        return Step.CREATE
    if record.fingerprint is not None and record.fingerprint != fingerprint:
        return Step.CHANGED
    if record.state is CreditNoteState.ALLOCATING:
        return Step.CHECK_ALLOCATION
    if record.done:
        return Step.DONE
    return Step.ALLOCATE


def owner_of(
    found: Iterable[XeroCreditNote], *, number: str, contact_id: str | None
) -> XeroCreditNote | None:
    """The credit note a lookup found that our unconfirmed create made, if any.

    Numbers of sales credit notes are ours to choose, so a live one with our number and our
    contact is what the create made. One with our number for another contact is not ours:
    it is left alone, and the create then fails on Xero's own checks.
    """
    for note in found:
        if (
            note.credit_note_number == number
            and note.type == "ACCRECCREDIT"
            and note.status not in ("VOIDED", "DELETED")
            and (contact_id is None or note.contact_id == contact_id)
        ):
            return note
    return None


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
    if held.currency_code not in (None, corrected.currency_code) and corrected.currency_code:
        raise CorrectionNotACredit(
            invoice_number=corrected.number,
            reason=f"the currency changed from {held.currency_code} to {corrected.currency_code}",
        )
    back = dict(tax_codes) if tax_codes is not None else _inverse(tax_map)
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
    lines: list[LineItem] = []
    for group, amount in before.items():
        difference = amount - after.get(group, _ZERO)
        if difference <= 0:
            continue
        tax_code = None
        if group.tax_type is not None and corrected.line_amount_types is not LineAmountTypes.NO_TAX:
            tax_code = back.get(group.tax_type)
            if tax_code is None:
                raise CorrectionNotACredit(
                    invoice_number=corrected.number,
                    reason=(
                        f"Xero TaxType {group.tax_type} has no BMS tax code in the tax map; "
                        "pass tax_codes={TaxType: bms_code}"
                    ),
                )
        lines.append(
            LineItem(
                description=f"Correction to {corrected.number}",
                quantity=Decimal(1),
                unit_amount=difference,
                account_code=group.account_code,
                tax_code=tax_code,
            )
        )
    if not lines:
        raise CorrectionNotACredit(
            invoice_number=corrected.number, reason="nothing was taken off: there is no credit"
        )
    return CreditNote(
        id=credit_note_id,
        number=number,
        invoice_id=corrected.id,
        customer=corrected.customer,
        issue_date=issue_date,
        lines=lines,
        currency_code=corrected.currency_code,
        line_amount_types=corrected.line_amount_types,
        reference=f"Correction to {corrected.number}",
    )


def _inverse(tax_map: TaxMap) -> dict[str, str]:
    """Xero TaxType -> BMS code; the first BMS code (in sorted order) wins a shared TaxType."""
    inverse: dict[str, str] = {}
    for code in sorted(tax_map.entries):
        inverse.setdefault(tax_map.entries[code], code)
    return inverse


def full_credit(
    invoice: Invoice, *, credit_note_id: str, number: str, issue_date: date
) -> CreditNote:
    """A credit note for the whole invoice, line for line: what cancelling an invoice with
    payments on it takes (Xero can't void it)."""
    return CreditNote(
        id=credit_note_id,
        number=number,
        invoice_id=invoice.id,
        customer=invoice.customer,
        issue_date=issue_date,
        lines=invoice.lines,
        currency_code=invoice.currency_code,
        line_amount_types=invoice.line_amount_types,
        reference=f"Cancels {invoice.number}",
    )
