"""The credit note push's I/O: gather, look up, read, plan, create, allocate, read back.

The decisions are in :mod:`bms_xero.engine.credit_plan`. Exactly once, under every fault:

- the create's intent (its Idempotency-Key, fingerprint, total and policy) is stored before
  ``PUT /CreditNotes``; a record left with an intent is looked up by CreditNoteNumber before
  anything is created again, and what the lookup finds is adopted only when it is the note
  we sent (number, contact, date and total): Xero numbers hand-made notes ``CN-0001`` too;
- the allocation's intent is stored before ``PUT /CreditNotes/{id}/Allocations``; a record
  left with one, or left created-but-unallocated by an earlier push, has its credit note
  read, and is allocated again only if Xero shows no allocation to the invoice;
- an intent young enough to be another process's request in flight is left to it
  (``PushInProgress``), never resolved under it;
- every allocation of a push is planned in one pass over each invoice's AmountDue, so two
  notes for one invoice never both take the whole of it, and a note worth more than its
  invoice owes is refused before anything is sent unless the host said what to do with the
  rest (:class:`~bms_xero.engine.credit_plan.OverCredit`, kept on the record, so a retry of
  a note Xero has follows the decision it was created under).

Writes made after Xero answered are guarded by the intent's key: if the record moved meanwhile
they are re-applied to the newer record while it still carries that key, so an answer is never
dropped. After the allocations the credited invoices are read back, so what Xero now holds
reaches the host's PaymentSink through the outbox like any other change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
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
    CreditNoteExceedsAmountDue,
    CreditNoteMismatch,
    CreditNoteNumberTaken,
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
#: Steps that need the invoice as Xero holds it now (what it owes, its contact, currency).
_READS_INVOICE = (cp.Step.CREATE, cp.Step.ALLOCATE, cp.Step.CHECK_ALLOCATION)

#: What a record says once Xero holds no write in flight for it.
_NO_INTENT: dict[str, Any] = {"intent_key": None, "intent_fingerprint": None, "intent_at": None}
_NO_ERROR: dict[str, Any] = {"last_error": None, "last_error_at": None}


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
    total: Decimal | None = None  # Xero's per-line total, as preflight computed it
    action: PushAction = PushAction.UNCHANGED
    policy: cp.OverCredit = cp.OverCredit.REFUSE
    outcome: CreditNoteOutcome | None = None


class CreditNotePusher:
    """Pushes credit notes for one organisation: see :meth:`SyncEngine.push_credit_notes`.

    ``read_back`` refreshes the credited BMS invoices from Xero (the engine's targeted pull);
    ``linked`` fills in a customer's Xero contact from the store's links.
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
        items = self._gather(notes, over_credit)
        self._lookup(self._at(items, cp.Step.LOOKUP))
        self._refuse_changed(items)
        invoices = self._read_invoices([i for i in items if self._step(i) in _READS_INVOICE])
        self._check_allocations(
            self._at(items, cp.Step.CHECK_ALLOCATION) + self._at(items, cp.Step.ALLOCATE)
        )
        creating = self._at(items, cp.Step.CREATE)
        self._preflight(creating, invoices)
        owed = {key: x.amount_due for key, x in invoices.items()}
        # Refused before any write: a new note worth more than is left once every note of
        # the push (new and old, in order) has taken its share.
        for index, decided in self._plan(items, owed).items():
            if (
                isinstance(decided, CreditNoteExceedsAmountDue)
                and decided.xero_credit_note_id is None
            ):
                self._fail(items[index], decided, store=True)
        self._create(self._at(items, cp.Step.CREATE))
        # Planned again now the creates are answered: a note whose create failed takes
        # nothing, and every allocation is judged against Xero's own totals.
        self._allocate(self._at(items, cp.Step.ALLOCATE), self._plan(items, owed))
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
        return cp.next_step(item.record, item.fingerprint, item.note.invoice_id)

    def _at(self, items: list[_Item], step: cp.Step) -> list[_Item]:
        return [i for i in items if self._step(i) is step]

    def _gather(self, notes: Sequence[CreditNote], over_credit: cp.OverCredit) -> list[_Item]:
        """Each note with its record, its invoice's link and its wire form; a note the push
        can't send (a repeat, an invoice not in Xero, a bad tax code) fails here, unsent."""
        items: list[_Item] = []
        seen: set[str] = set()
        tenant = self._ctx.tenant_id
        for index, raw in enumerate(notes):
            invoice = self._ctx.store.get(tenant, raw.invoice_id)
            number = invoice.invoice_number if invoice is not None else raw.invoice_id
            item = _Item(index=index, note=self._linked(raw), invoice_number=number)
            items.append(item)
            if raw.id in seen:
                self._fail(item, SyncError("appears twice in this push; it is pushed once"))
                continue
            seen.add(raw.id)
            item.record = self._store.get_credit_note(tenant, raw.id)
            record = item.record
            # A note Xero has keeps the policy it was created under; a retry can't change it.
            stored = None if record is None else record.policy
            item.policy = cp.OverCredit(stored) if stored else over_credit
            if record is not None and record.xero_credit_note_id is not None:
                item.xero_invoice_id = record.xero_invoice_id
            elif invoice is None or invoice.xero_invoice_id is None:
                self._fail(item, CreditNoteMismatch(reason="not_pushed"), store=True)
                continue
            else:
                item.xero_invoice_id = invoice.xero_invoice_id
            try:
                item.payload = credit_note_payload(item.note, self._tax_map)
                item.fingerprint = content_hash(encode_json(item.payload))
            except BmsXeroError as e:
                if self._step(item) is not cp.Step.LOOKUP:
                    self._fail(item, e, store=True)
        return items

    def _refuse_changed(self, items: list[_Item]) -> None:
        """A note Xero has that the BMS has changed since: refused, unsent (also right after
        an adoption, which may find an older version of it)."""
        for item in self._at(items, cp.Step.CHANGED):
            assert item.record is not None and item.record.xero_credit_note_id is not None
            self._fail(item, CreditNoteChanged(xero_credit_note_id=item.record.xero_credit_note_id))

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
            record = item.record
            assert record is not None
            ours = _ours(found, item.note, record.total)
            if ours is not None:
                self._answered(item, record.intent_key, **self._linked_to(ours, record))
                item.action = PushAction.ADOPTED
                continue
            holder = cp.holder_of(found, item.note.number)
            if holder is not None:
                taken = CreditNoteNumberTaken(
                    number=item.note.number,
                    xero_credit_note_id=holder.credit_note_id,
                    total=holder.total,
                )
                self._answered(item, record.intent_key, **_dropped(str(taken), self._now()))
                self._fail(item, taken)
            elif cp.in_flight(record, self._now()):
                self._fail(
                    item, PushInProgress(invoice_number=item.invoice_number, what="credit note")
                )
            else:
                # Nothing landed and no request is in flight: the intent is spent.
                self._answered(item, record.intent_key, state=CreditNoteState.FAILED, **_NO_INTENT)

    def _read_invoices(self, items: list[_Item]) -> dict[str, XeroInvoice]:
        """The Xero invoices these credit notes go to, read now: what they owe decides the
        allocations, and their contact and currency must match. If they can't be read, every
        note that needed them stops with that error (retryable), not a guess."""
        wanted = sorted({i.xero_invoice_id for i in items if i.xero_invoice_id is not None})
        found: dict[str, XeroInvoice] = {}
        try:
            for start in range(0, len(wanted), MAX_BATCH):
                for xero in self._ctx.client.iter_invoices(ids=wanted[start : start + MAX_BATCH]):
                    if xero.invoice_id is not None:
                        found[xero.invoice_id.lower()] = xero
        except BmsXeroError as e:
            for item in items:
                self._fail(item, e)
            return {}
        for item in items:
            if (item.xero_invoice_id or "").lower() not in found:
                self._fail(item, CreditNoteMismatch(reason="not_pushed"), store=True)
        return found

    def _check_allocations(self, items: list[_Item]) -> None:
        """Credit notes Xero has, not known to be allocated: read each before allocating.

        An unconfirmed allocation may have landed; and one left unallocated by an earlier
        push may have been allocated since (by a person, or another process). Only a note
        Xero shows no allocation to the invoice for is allocated again, and a young
        allocation intent that may still be in flight is left to its sender.
        """
        for item in items:
            record = item.record
            assert record is not None and record.xero_credit_note_id is not None
            try:
                held = self._ctx.client.get_credit_note(record.xero_credit_note_id)
            except BmsXeroError as e:
                self._fail(item, e)
                continue
            key = record.allocation_key
            allocated = held.allocated_to(item.xero_invoice_id or "")
            if allocated > 0:
                self._answered(item, key, **_settled(held, allocated))
                item.action = PushAction.UPDATED  # the invoice's news is read back
            elif cp.in_flight(record, self._now()):
                self._fail(
                    item, PushInProgress(invoice_number=item.invoice_number, what="credit note")
                )
            else:
                self._answered(
                    item,
                    key,
                    state=CreditNoteState.CREATED,
                    allocation_key=None,
                    remaining_credit=held.remaining_credit,
                    xero_status=_status(held),
                )

    def _preflight(self, items: list[_Item], invoices: dict[str, XeroInvoice]) -> None:
        """Everything about a new note that can be checked before it is sent: accounts and
        tax codes (as for invoices), a positive total, and that it suits its invoice."""
        if not items:
            return
        try:
            reference = self._reference.get()
            base = self._reference.organisation().base_currency
        except BmsXeroError as e:
            for item in items:
                self._fail(item, e)
            return
        for item in items:
            held = invoices[(item.xero_invoice_id or "").lower()]
            try:
                rates = preflight(
                    item.note,
                    chart=reference.chart,
                    tax_rates=reference.tax_rates,
                    tax_map=self._tax_map,
                )
                total = cp.credit_total(item.note, rates)
                if total <= 0:
                    raise CreditNoteMismatch(reason="amount", actual=str(total))
                _check_against(item.note, held, base)
            except BmsXeroError as e:
                self._fail(item, e, store=True)
                continue
            item.total = total

    def _plan(
        self, items: list[_Item], owed: dict[str, Decimal]
    ) -> dict[int, cp.Allocation | CreditNoteExceedsAmountDue]:
        """Every allocation of the push, judged together in push order (see
        :func:`~bms_xero.engine.credit_plan.plan_allocations`)."""
        claims: list[cp.Claim] = []
        for item in items:
            step = self._step(item)
            record = item.record
            if step is cp.Step.CREATE and item.total is not None:
                credit, xero_id = item.total, None
            elif step is cp.Step.ALLOCATE and record is not None:
                credit = record.remaining_credit if record.remaining_credit is not None else _ZERO
                xero_id = record.xero_credit_note_id
            else:
                continue
            claims.append(
                cp.Claim(
                    index=item.index,
                    invoice_key=(item.xero_invoice_id or "").lower(),
                    credit=credit,
                    policy=item.policy,
                    number=item.note.number,
                    invoice_number=item.invoice_number,
                    xero_credit_note_id=xero_id,
                )
            )
        return cp.plan_allocations(claims, owed)

    def _create(self, items: list[_Item]) -> None:
        """One ``PUT /CreditNotes`` per 50, each intent stored before it is sent."""
        for start in range(0, len(items), MAX_BATCH):
            self._send(items[start : start + MAX_BATCH])

    def _send(self, batch: list[_Item]) -> None:
        key = self._ctx.new_key()
        now = self._now()
        sending: list[_Item] = []
        for item in batch:
            if item.payload is None:  # only a lookup could use it, and the lookup is done
                self._fail(item, SyncError("can't be sent as it is; push it again"))
                continue
            try:
                self._save(
                    item,
                    state=CreditNoteState.PENDING,
                    intent_key=key,
                    intent_fingerprint=item.fingerprint,
                    intent_at=now,
                    xero_invoice_id=item.xero_invoice_id,
                    total=item.total,
                    policy=item.policy.value,
                    **_NO_ERROR,
                )
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
                self._answered(
                    item, key, state=CreditNoteState.UNCERTAIN, last_error=str(e), last_error_at=now
                )
                self._fail(item, e)
            return
        except BmsXeroError as e:  # refused as a whole, before any create
            for item in sending:
                self._answered(item, key, **_dropped(str(e), now))
                self._fail(item, e)
            return
        refused: list[tuple[_Item, XeroValidationError]] = []
        for item, result in zip(sending, results, strict=True):
            if result.ok and result.credit_note is not None:
                record = item.record
                assert record is not None
                self._answered(item, key, **self._linked_to(result.credit_note, record))
                item.action = PushAction.CREATED
            else:
                refused.append((item, XeroValidationError(result.errors, status_code=200)))
        self._after_refusals(refused, key, now)

    def _after_refusals(
        self, refused: list[tuple[_Item, XeroValidationError]], key: str, now: datetime
    ) -> None:
        """Refused creates: the number may already hold our credit note (a create of an
        earlier push whose record was resolved by another process), so it is looked up
        before the refusal stands. What is ours is adopted; anything else keeps Xero's words."""
        if not refused:
            return
        try:
            found = self._ctx.client.get_credit_notes_by_number([i.note.number for i, _ in refused])
        except BmsXeroError:
            found = []
        for item, error in refused:
            ours = _ours(found, item.note, item.total)
            record = item.record
            if ours is not None and record is not None:
                self._answered(item, key, **self._linked_to(ours, record))
                item.action = PushAction.ADOPTED
                continue
            self._answered(item, key, **_dropped(str(error), now))
            self._fail(item, error)

    def _allocate(
        self, items: list[_Item], planned: dict[int, cp.Allocation | CreditNoteExceedsAmountDue]
    ) -> None:
        """``PUT /CreditNotes/{id}/Allocations`` for each, as planned, its intent stored first."""
        for item in items:
            record = item.record
            assert record is not None and record.xero_credit_note_id is not None
            decided = planned.get(item.index)
            if decided is None:
                continue
            if isinstance(decided, CreditNoteExceedsAmountDue):
                self._fail(item, decided, store=True)
                continue
            if decided.amount <= 0:
                self._answered(
                    item, None, state=CreditNoteState.UNALLOCATED, allocated=_ZERO, **_NO_ERROR
                )
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
                    amount=decided.amount,
                    on=now.date(),
                    idempotency_key=key,
                )
            except UncertainOutcome as e:
                self._answered(
                    item,
                    key,
                    state=CreditNoteState.ALLOCATION_UNCERTAIN,
                    last_error=str(e),
                    last_error_at=now,
                )
                self._fail(item, e)
                continue
            except BmsXeroError as e:
                # Refused: nothing was allocated. The credit note stays, to allocate again
                # (after a fresh read of it: see _check_allocations).
                self._answered(
                    item,
                    key,
                    state=CreditNoteState.CREATED,
                    allocation_key=None,
                    last_error=str(e),
                    last_error_at=now,
                )
                self._fail(item, e)
                continue
            credit = record.remaining_credit if record.remaining_credit is not None else _ZERO
            left = credit - allocation.amount
            self._answered(
                item,
                key,
                state=CreditNoteState.ALLOCATED,
                allocation_key=None,
                allocated=(record.allocated or _ZERO) + allocation.amount,
                remaining_credit=left,
                xero_status=InvoiceStatus.PAID.value if left == 0 else record.xero_status,
                **_NO_ERROR,
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
            self._answered(item, None, view_url=view_url)
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

    def _now(self) -> datetime:
        return self._ctx.clock.now()

    def _linked_to(self, xero: XeroCreditNote, record: CreditNoteRecord) -> dict[str, Any]:
        """The record's changes once Xero has the credit note (made or found): what landed
        is what the intent sent."""
        return {
            "state": CreditNoteState.CREATED,
            "xero_credit_note_id": xero.credit_note_id,
            "fingerprint": record.intent_fingerprint,
            "total": xero.total,
            "remaining_credit": xero.remaining_credit,
            "xero_status": _status(xero),
            "last_push_at": self._now(),
            **_NO_INTENT,
            **_NO_ERROR,
        }

    def _fresh(self, item: _Item) -> CreditNoteRecord:
        """The record to change: the stored one, keyed to the note as it is now while Xero
        has nothing of it (the host may have fixed its number or invoice since)."""
        record = item.record or CreditNoteRecord(
            tenant_id=self._ctx.tenant_id,
            credit_note_id=item.note.id,
            credit_note_number=item.note.number,
            invoice_id=item.note.invoice_id,
            state=CreditNoteState.FAILED,
        )
        if record.xero_credit_note_id is None and record.intent_key is None:
            return record.evolve(
                credit_note_number=item.note.number, invoice_id=item.note.invoice_id
            )
        return record

    def _save(self, item: _Item, **changes: Any) -> None:
        """Write ``changes`` to the item's record (a new one if none), compare-and-swap.

        Raises:
            PushInProgress: Someone else wrote the record first.
        """
        expected = None if item.record is None else item.record.version
        try:
            item.record = self._store.put_credit_note(
                self._fresh(item).evolve(**changes), expected_version=expected
            )
        except VersionConflict:
            raise PushInProgress(invoice_number=item.invoice_number, what="credit note") from None

    def _answered(self, item: _Item, key: str | None, **changes: Any) -> None:
        """Write what Xero answered. If the record moved meanwhile, the answer is applied to
        the newer record as long as it still carries the intent ``key`` this answer is for
        (another process may have read it and moved on): an answer is never dropped, and
        never written over another request's intent."""
        for _ in range(5):
            try:
                self._save(item, **changes)
                return
            except PushInProgress:
                latest = self._store.get_credit_note(self._ctx.tenant_id, item.note.id)
                holds = latest is not None and (
                    key is None or key in (latest.intent_key, latest.allocation_key)
                )
                if not holds:
                    log.info(
                        "credit note %s: another push moved its record on; its answer is theirs",
                        item.note.number,
                    )
                    item.record = latest
                    return
                item.record = latest
        log.warning(
            "credit note %s: its record kept moving; the next push settles it", item.note.number
        )

    def _fail(self, item: _Item, error: BmsXeroError, *, store: bool = False) -> None:
        """Stop the item, naming the credit note and its invoice; keep the error on a record
        that has no write in flight (``store``), so the panel shows it."""
        named = error.for_credit_note(item.note.number, item.invoice_number)
        item.outcome = CreditNoteFailure(
            credit_note_id=item.note.id, credit_note_number=item.note.number, error=named
        )
        if store and (item.record is None or item.record.intent_key is None):
            try:
                self._save(item, last_error=str(named), last_error_at=self._now())
            except BmsXeroError:
                log.info(
                    "credit note %s: its error was not recorded (record moved)", item.note.number
                )


def _ours(
    found: Sequence[XeroCreditNote], note: CreditNote, total: Decimal | None
) -> XeroCreditNote | None:
    """The credit note among ``found`` that is the one we sent for ``note`` (see
    :func:`~bms_xero.engine.credit_plan.owner_of`)."""
    return cp.owner_of(
        found,
        number=note.number,
        contact_id=note.customer.xero_contact_id,
        total=total,
        on=note.issue_date,
    )


def _check_against(note: CreditNote, held: XeroInvoice, base_currency: str | None) -> None:
    """The credit note must suit the invoice Xero holds: same contact and currency (no
    currency means the organisation's base currency, on either side), and an approved
    invoice (Xero allocates to nothing else)."""
    if held.status not in (InvoiceStatus.AUTHORISED, InvoiceStatus.PAID):
        raise CreditNoteMismatch(reason="status", expected=str(held.status))
    contact = note.customer.xero_contact_id
    if held.contact_id is not None and contact is not None and held.contact_id != contact:
        raise CreditNoteMismatch(reason="customer", expected=held.contact_id, actual=contact)
    ours = note.currency_code or base_currency
    theirs = held.currency_code or base_currency
    if ours is not None and theirs is not None and ours != theirs:
        raise CreditNoteMismatch(reason="currency", expected=theirs, actual=ours)


def _status(xero: XeroCreditNote) -> str | None:
    return None if xero.status is None else str(xero.status)


def _settled(held: XeroCreditNote, allocated: Decimal) -> dict[str, Any]:
    """The record's changes once Xero shows the credit note allocated to the invoice."""
    return {
        "state": CreditNoteState.ALLOCATED,
        "allocation_key": None,
        "allocated": allocated,
        "remaining_credit": held.remaining_credit,
        "xero_status": _status(held),
        **_NO_ERROR,
    }


def _dropped(message: str, now: datetime) -> dict[str, Any]:
    """Xero certainly created nothing for the intent: drop it and keep why."""
    return {
        "state": CreditNoteState.FAILED,
        **_NO_INTENT,
        "last_error": message,
        "last_error_at": now,
    }
