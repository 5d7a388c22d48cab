"""The credit note push's I/O: gather, look up, check, create, allocate, read the invoice.

The decisions are in :mod:`bms_xero.engine.credit_plan`. Exactly once, under every fault:

- the create's intent (its Idempotency-Key and fingerprint) is stored before
  ``PUT /CreditNotes``; a record left with an intent is looked up by CreditNoteNumber before
  anything is created again, and what the lookup finds is adopted;
- the allocation's intent is stored before ``PUT /CreditNotes/{id}/Allocations``; a record
  left with one has its credit note read, and is allocated again only if Xero shows no
  allocation to the invoice, so a lost answer never allocates twice;
- nothing is sent for a credit note worth more than the invoice owes, unless the host said
  what to do with the rest (:class:`~bms_xero.engine.credit_plan.OverCredit`).

After the allocations the credited invoices are read back, so what Xero now holds reaches
the host's PaymentSink through the outbox like any other change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from bms_xero.domain import CreditNote, InvoiceStatus, XeroCreditNote, XeroInvoice
from bms_xero.engine import credit_plan as cp
from bms_xero.engine import plan
from bms_xero.engine._context import Context
from bms_xero.engine._reference import ReferenceCache
from bms_xero.engine._results import (
    CreditNoteFailure,
    CreditNoteOutcome,
    CreditNotePushResult,
    PushAction,
)
from bms_xero.errors import (
    BmsXeroError,
    CreditNoteChanged,
    CreditNoteMismatch,
    PushInProgress,
    SyncError,
    UncertainOutcome,
    VersionConflict,
    XeroValidationError,
)
from bms_xero.mapping._reference import TaxMap, preflight
from bms_xero.mapping.wire import content_hash, credit_note_payload, encode_json
from bms_xero.storage._credit_records import CreditNoteRecord, CreditNoteState
from bms_xero.storage._protocols import CreditNoteStore
from bms_xero.xero._calls import MAX_BATCH

__all__ = ["CreditNotePusher"]

log = logging.getLogger("bms_xero.engine")

_ZERO = Decimal("0.00")


@attrs.define
class _Item:
    """One credit note on its way through a push (mutable: each stage fills it in)."""

    index: int
    note: CreditNote
    invoice_number: str
    payload: dict[str, Any] | None = None
    fingerprint: str = ""
    record: CreditNoteRecord | None = None
    xero_invoice_id: str | None = None
    action: PushAction = PushAction.UNCHANGED
    allocation: cp.Allocation | None = None
    outcome: CreditNoteOutcome | None = None


class CreditNotePusher:
    """Pushes credit notes for one organisation: see :meth:`SyncEngine.push_credit_notes`.

    ``read_back`` refreshes the credited BMS invoices from Xero (the engine's targeted pull);
    ``link_customer`` fills in a customer's Xero contact from the store's links.
    """

    def __init__(
        self,
        ctx: Context,
        *,
        credit_notes: CreditNoteStore,
        tax_map: TaxMap,
        reference: ReferenceCache,
        read_back: Callable[[Iterable[str]], object],
        linked: Callable[[CreditNote], CreditNote],
    ) -> None:
        self._ctx = ctx
        self._store = credit_notes
        self._tax_map = tax_map
        self._reference = reference
        self._read_back = read_back
        self._linked = linked

    def push_many(
        self, notes: Sequence[CreditNote], *, over_credit: cp.OverCredit
    ) -> list[CreditNoteOutcome]:
        """Each credit note to Xero and allocated, every one with its own outcome."""
        items = self._gather(notes)
        self._lookup([i for i in items if self._step(i) is cp.Step.LOOKUP])
        invoices = self._read_invoices([i for i in items if i.outcome is None])
        self._create([i for i in items if self._step(i) is cp.Step.CREATE], invoices, over_credit)
        self._check_allocations([i for i in items if self._step(i) is cp.Step.CHECK_ALLOCATION])
        self._allocate(
            [i for i in items if self._step(i) is cp.Step.ALLOCATE], invoices, over_credit
        )
        for item in items:
            if item.outcome is None:
                self._settle(item)
        credited = [i.note.invoice_id for i in items if i.action is not PushAction.UNCHANGED]
        if credited:
            try:
                self._read_back(credited)
            except BmsXeroError as e:
                # The credit notes are in Xero and recorded; the invoices' news reaches the
                # host with the next pull (a sink failure stays in the outbox).
                log.warning("credited invoices not read back now (%s): the next pull does", e)
        return [i.outcome for i in items if i.outcome is not None]

    # --- stages --------------------------------------------------------------------------------

    def _step(self, item: _Item) -> cp.Step | None:
        if item.outcome is not None:
            return None
        return cp.next_step(item.record, item.fingerprint)

    def _gather(self, notes: Sequence[CreditNote]) -> list[_Item]:
        """Each note with its record, its invoice's link and its wire form; a note the push
        can't send (a repeat, an invoice not in Xero, a bad tax code) fails here, unsent."""
        items: list[_Item] = []
        seen: set[str] = set()
        tenant = self._ctx.tenant_id
        for index, raw in enumerate(notes):
            invoice = self._ctx.store.get(tenant, raw.invoice_id)
            number = invoice.invoice_number if invoice is not None else raw.invoice_id
            note = self._linked(raw)
            item = _Item(index=index, note=note, invoice_number=number)
            items.append(item)
            if raw.id in seen:
                self._fail(item, SyncError("appears twice in this push; it is pushed once"))
                continue
            seen.add(raw.id)
            item.record = self._store.get_credit_note(tenant, raw.id)
            if invoice is None or invoice.xero_invoice_id is None:
                self._fail(item, CreditNoteMismatch(reason="not_pushed"), store=True)
                continue
            item.xero_invoice_id = invoice.xero_invoice_id
            try:
                item.payload = credit_note_payload(note, self._tax_map)
            except BmsXeroError as e:
                if item.record is None or item.record.intent_key is None:
                    self._fail(item, e, store=True)
                    continue
            if item.payload is not None:
                item.fingerprint = content_hash(encode_json(item.payload))
            if self._step(item) is cp.Step.CHANGED:
                assert item.record is not None and item.record.xero_credit_note_id is not None
                changed = CreditNoteChanged(xero_credit_note_id=item.record.xero_credit_note_id)
                self._fail(item, changed)
        return items

    def _lookup(self, items: list[_Item]) -> None:
        """Unconfirmed creates: find what landed, by number, before anything is created."""
        if not items:
            return
        try:
            found = self._ctx.client.get_credit_notes_by_number([i.note.number for i in items])
        except BmsXeroError as e:
            for item in items:
                self._fail(item, e)
            return
        for item in items:
            ours = cp.owner_of(
                found, number=item.note.number, contact_id=item.note.customer.xero_contact_id
            )
            if ours is None:
                # Nothing landed: the intent is spent, and the create goes again.
                self._save(item, state=CreditNoteState.FAILED, intent_key=None)
                continue
            assert item.record is not None
            fingerprint = item.record.intent_fingerprint
            self._save(item, **_linked_to(ours, fingerprint, self._now()))
            item.action = PushAction.ADOPTED
            if item.xero_invoice_id is not None and ours.allocated_to(item.xero_invoice_id) > 0:
                self._save(item, **_allocated(ours, item.xero_invoice_id))

    def _read_invoices(self, items: list[_Item]) -> dict[str, XeroInvoice]:
        """The Xero invoices these credit notes go to, read now: what they owe decides the
        allocation, and their contact and currency must match."""
        wanted = sorted(
            {
                i.xero_invoice_id
                for i in items
                if i.xero_invoice_id is not None
                and self._step(i) in (cp.Step.CREATE, cp.Step.ALLOCATE, cp.Step.CHECK_ALLOCATION)
            }
        )
        found: dict[str, XeroInvoice] = {}
        try:
            for start in range(0, len(wanted), MAX_BATCH):
                chunk = wanted[start : start + MAX_BATCH]
                for xero in self._ctx.client.iter_invoices(ids=chunk):
                    if xero.invoice_id is not None:
                        found[xero.invoice_id.lower()] = xero
        except BmsXeroError as e:
            for item in items:
                if self._step(item) in (cp.Step.CREATE, cp.Step.ALLOCATE):
                    self._fail(item, e)
        return found

    def _create(
        self, items: list[_Item], invoices: dict[str, XeroInvoice], policy: cp.OverCredit
    ) -> None:
        """Preflight every note, then one ``PUT /CreditNotes`` per 50, intents stored first."""
        if not items:
            return
        try:
            reference = self._reference.get()
        except BmsXeroError as e:
            for item in items:
                self._fail(item, e)
            return
        due = _owed(invoices)
        ready: list[_Item] = []
        for item in items:
            held = invoices.get((item.xero_invoice_id or "").lower())
            try:
                rates = preflight(
                    item.note,
                    chart=reference.chart,
                    tax_rates=reference.tax_rates,
                    tax_map=self._tax_map,
                )
                _check_against(item, held)
                assert held is not None and held.invoice_id is not None
                key = held.invoice_id.lower()
                item.allocation = cp.allocation_for(
                    credit_note_number=item.note.number,
                    invoice_number=item.invoice_number,
                    total=cp.credit_total(item.note, rates),
                    amount_due=due[key],
                    policy=policy,
                )
                due[key] -= item.allocation.amount
            except BmsXeroError as e:
                self._fail(item, e, store=True)
                continue
            ready.append(item)
        for start in range(0, len(ready), MAX_BATCH):
            self._send(ready[start : start + MAX_BATCH])

    def _send(self, batch: list[_Item]) -> None:
        key = self._ctx.new_key()
        now = self._now()
        sending: list[_Item] = []
        for item in batch:
            intent = {
                "state": CreditNoteState.PENDING,
                "intent_key": key,
                "intent_fingerprint": item.fingerprint,
                "intent_at": now,
                "xero_invoice_id": item.xero_invoice_id,
                "last_error": None,
            }
            try:
                self._save(item, **intent)
            except BmsXeroError as e:
                self._fail(item, e)
                continue
            sending.append(item)
        if not sending:
            return
        payloads = [i.payload for i in sending if i.payload is not None]
        try:
            results = self._ctx.client.create_credit_notes(payloads, idempotency_key=key)
        except UncertainOutcome as e:
            for item in sending:
                self._save_quietly(item, state=CreditNoteState.UNCERTAIN, last_error=str(e))
                self._fail(item, e)
            return
        except BmsXeroError as e:  # refused as a whole, before any create
            for item in sending:
                self._save_quietly(item, **_dropped(str(e), now))
                self._fail(item, e)
            return
        for item, result in zip(sending, results, strict=True):
            if not result.ok or result.credit_note is None:
                error = XeroValidationError(result.errors, status_code=200)
                self._save_quietly(item, **_dropped(str(error), now))
                self._fail(item, error)
                continue
            made = result.credit_note
            fingerprint = item.fingerprint
            self._save_quietly(item, **_linked_to(made, fingerprint, now))
            item.action = PushAction.CREATED

    def _check_allocations(self, items: list[_Item]) -> None:
        """Unconfirmed allocations: read each credit note; allocated again only if Xero shows
        nothing applied to the invoice."""
        for item in items:
            record = item.record
            assert record is not None and record.xero_credit_note_id is not None
            try:
                held = self._ctx.client.get_credit_note(record.xero_credit_note_id)
            except BmsXeroError as e:
                self._fail(item, e)
                continue
            if item.xero_invoice_id and held.allocated_to(item.xero_invoice_id) > 0:
                self._save_quietly(item, **_allocated(held, item.xero_invoice_id))
            else:
                self._save_quietly(
                    item,
                    state=CreditNoteState.CREATED,
                    allocation_key=None,
                    remaining_credit=held.remaining_credit,
                )

    def _allocate(
        self, items: list[_Item], invoices: dict[str, XeroInvoice], policy: cp.OverCredit
    ) -> None:
        """``PUT /CreditNotes/{id}/Allocations`` for each, its intent stored first."""
        due = _owed(invoices)
        for item in items:
            record = item.record
            assert record is not None and record.xero_credit_note_id is not None
            held = invoices.get((item.xero_invoice_id or "").lower())
            if item.allocation is None:  # an adoption or a retry: decide from Xero's figures
                if held is None:
                    self._fail(item, CreditNoteMismatch(reason="not_pushed"), store=True)
                    continue
                try:
                    item.allocation = cp.allocation_for(
                        credit_note_number=item.note.number,
                        invoice_number=item.invoice_number,
                        total=record.remaining_credit
                        if record.remaining_credit is not None
                        else _ZERO,
                        amount_due=due.get((held.invoice_id or "").lower(), _ZERO),
                        policy=policy,
                    )
                except BmsXeroError as e:
                    self._fail(item, e, store=True)
                    continue
            if held is not None and held.invoice_id is not None:
                due[held.invoice_id.lower()] = due.get(held.invoice_id.lower(), _ZERO) - (
                    item.allocation.amount
                )
            amount = item.allocation.amount
            if amount <= 0:
                self._save_quietly(item, state=CreditNoteState.UNALLOCATED)
                continue
            key = self._ctx.new_key()
            now = self._now()
            try:
                self._save(
                    item, state=CreditNoteState.ALLOCATING, allocation_key=key, allocation_at=now
                )
            except BmsXeroError as e:
                self._fail(item, e)
                continue
            try:
                allocation = self._ctx.client.allocate_credit_note(
                    record.xero_credit_note_id,
                    invoice_id=item.xero_invoice_id or "",
                    amount=amount,
                    on=self._ctx.clock.now().date(),
                    idempotency_key=key,
                )
            except UncertainOutcome as e:
                self._save_quietly(item, last_error=str(e))
                self._fail(item, e)
                continue
            except BmsXeroError as e:
                # Refused: nothing was allocated. The credit note stays, to allocate again.
                self._save_quietly(
                    item, state=CreditNoteState.CREATED, allocation_key=None, last_error=str(e)
                )
                self._fail(item, e)
                continue
            credit = record.remaining_credit if record.remaining_credit is not None else amount
            self._save_quietly(
                item,
                state=CreditNoteState.ALLOCATED,
                allocation_key=None,
                allocated=(record.allocated or _ZERO) + allocation.amount,
                remaining_credit=credit - allocation.amount,
                last_error=None,
            )
            if item.action is PushAction.UNCHANGED:
                item.action = PushAction.UPDATED

    def _settle(self, item: _Item) -> None:
        """The outcome of a credit note that came through every stage."""
        record = item.record
        if record is None or not record.done or record.xero_credit_note_id is None:
            self._fail(item, SyncError("was not settled by the push; push it again"))
            return
        total = record.total if record.total is not None else _ZERO
        view_url = plan.credit_note_link(record.xero_credit_note_id, self._reference.short_code())
        if record.view_url != view_url:
            self._save_quietly(item, view_url=view_url)
        difference = None if item.note.total is None else total - item.note.total
        item.outcome = CreditNotePushResult(
            credit_note_id=item.note.id,
            credit_note_number=item.note.number,
            invoice_id=item.note.invoice_id,
            xero_credit_note_id=record.xero_credit_note_id,
            xero_invoice_id=record.xero_invoice_id or item.xero_invoice_id or "",
            action=item.action,
            state=record.state,
            total=total,
            allocated=record.allocated if record.allocated is not None else _ZERO,
            refund_due=record.remaining_credit if record.remaining_credit is not None else _ZERO,
            rounding_difference=difference,
            view_url=view_url,
        )

    # --- records --------------------------------------------------------------------------------

    def _now(self) -> Any:
        return self._ctx.clock.now()

    def _save(self, item: _Item, **changes: Any) -> None:
        """Write ``changes`` to the item's record (a new one if none), compare-and-swap.

        Raises:
            PushInProgress: Someone else wrote the record first.
        """
        current = item.record or CreditNoteRecord(
            tenant_id=self._ctx.tenant_id,
            credit_note_id=item.note.id,
            credit_note_number=item.note.number,
            invoice_id=item.note.invoice_id,
            state=CreditNoteState.FAILED,
        )
        expected = None if item.record is None else item.record.version
        try:
            item.record = self._store.put_credit_note(
                current.evolve(**changes), expected_version=expected
            )
        except VersionConflict:
            raise PushInProgress(invoice_number=item.invoice_number) from None

    def _save_quietly(self, item: _Item, **changes: Any) -> None:
        """:meth:`_save` after Xero answered: a lost race leaves the intent for the next push
        to resolve (it looks before writing again), so it is logged, not raised."""
        try:
            self._save(item, **changes)
        except PushInProgress:
            log.info(
                "credit note %s: its record moved meanwhile; the next push settles it",
                item.note.number,
            )

    def _fail(self, item: _Item, error: BmsXeroError, *, store: bool = False) -> None:
        """Stop the item, naming the credit note and its invoice; keep the error on a record
        that has no write in flight (``store``), so the panel shows it."""
        named = error.for_credit_note(item.note.number, item.invoice_number)
        item.outcome = CreditNoteFailure(
            credit_note_id=item.note.id, credit_note_number=item.note.number, error=named
        )
        if store and (item.record is None or item.record.intent_key is None):
            now = self._now()
            self._save_quietly(item, last_error=str(named), last_error_at=now)


def _owed(invoices: dict[str, XeroInvoice]) -> dict[str, Decimal]:
    return {key: x.amount_due for key, x in invoices.items()}


def _check_against(item: _Item, held: XeroInvoice | None) -> None:
    """The credit note must suit the invoice Xero holds: same contact and currency, and an
    approved invoice (Xero allocates to nothing else)."""
    if held is None:
        raise CreditNoteMismatch(reason="not_pushed")
    if held.status not in (InvoiceStatus.AUTHORISED, InvoiceStatus.PAID):
        raise CreditNoteMismatch(reason="status", expected=str(held.status))
    contact = item.note.customer.xero_contact_id
    if held.contact_id is not None and contact is not None and held.contact_id != contact:
        raise CreditNoteMismatch(reason="customer", expected=held.contact_id, actual=contact)
    currency = item.note.currency_code
    if currency is not None and held.currency_code is not None and currency != held.currency_code:
        raise CreditNoteMismatch(reason="currency", expected=held.currency_code, actual=currency)


def _linked_to(xero: XeroCreditNote, fingerprint: str | None, now: Any) -> dict[str, Any]:
    """The record's changes once Xero has the credit note (made or found)."""
    return dict(
        state=CreditNoteState.CREATED,
        xero_credit_note_id=xero.credit_note_id,
        fingerprint=fingerprint,
        intent_key=None,
        intent_fingerprint=None,
        intent_at=None,
        total=xero.total,
        remaining_credit=xero.remaining_credit,
        xero_status=None if xero.status is None else str(xero.status),
        last_push_at=now,
        last_error=None,
        last_error_at=None,
    )


def _allocated(xero: XeroCreditNote, xero_invoice_id: str | None) -> dict[str, Any]:
    """The record's changes once Xero shows the credit note allocated to the invoice."""
    return dict(
        state=CreditNoteState.ALLOCATED,
        allocation_key=None,
        allocated=xero.allocated_to(xero_invoice_id or ""),
        remaining_credit=xero.remaining_credit,
        last_error=None,
    )


def _dropped(message: str, now: Any) -> dict[str, Any]:
    """Xero certainly created nothing for the intent: drop it and keep why."""
    return dict(
        state=CreditNoteState.FAILED,
        intent_key=None,
        intent_fingerprint=None,
        intent_at=None,
        last_error=message,
        last_error_at=now,
    )
