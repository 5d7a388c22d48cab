"""The push's I/O: gather what is known, apply the plan's actions, fold the answers back.

The decisions are in :mod:`bms_xero.engine.push_plan`; this module only carries them out.
The store is written before every create (the intent, with its Idempotency-Key) and after
every answer, so a crash at any point leaves a record that the next push resolves by
looking the invoice up in Xero before it creates anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import attrs

from bms_xero.domain import Invoice, XeroInvoice
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._contacts import Contacts
from bms_xero.engine._context import Context
from bms_xero.engine._records import (
    Change,
    cleared,
    dropped_intent,
    if_intent,
    marked_uncertain,
    record_error,
    save,
    save_many,
    seed_cursors,
)
from bms_xero.engine._reference import ReferenceCache
from bms_xero.engine._results import PushAction, PushFailure, PushOutcome
from bms_xero.engine.plan import Step
from bms_xero.errors import (
    BmsXeroError,
    PreflightError,
    SyncError,
    UncertainOutcome,
    VersionConflict,
)
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._rounding import RoundingPolicy, rounding_line
from bms_xero.mapping.wire import WireInvoice, status_change
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.xero import InvoiceResult

__all__ = ["Pusher"]

log = logging.getLogger("bms_xero.engine")

#: A push settles in a handful of rounds; this many means a bug, not a slow Xero.
MAX_ROUNDS = 100
#: Invoices gathered at a time, and the work that is sent together. A push gathers this many
#: (wire forms and records), settles at once those that need no request (unchanged, or
#: refused before sending), and sends once this many are waiting with work, or the input
#: ends. So what a push holds at once (each invoice's wire form, record and Xero's answer) is
#: bounded by the slice, not by the push: 100,000 invoices in one call hold about as much as
#: 1,000. A run of 1,000 creates is 20 full batches, four full rounds of five in flight, so a
#: part-filled batch costs at most one request per 1,000 invoices sent, and a re-push with a
#: few changes scattered through many slices sends them together.
SLICE = 1_000


@attrs.define
class _Seen:
    """The ids and numbers a push has taken so far: a repeat is refused even when its first
    occurrence was in an earlier slice."""

    ids: set[str] = attrs.field(factory=set)
    numbers: set[str] = attrs.field(factory=set)


class Pusher:
    """Pushes invoices for one organisation: see :meth:`SyncEngine.push_many`."""

    def __init__(
        self,
        ctx: Context,
        *,
        tax_map: TaxMap,
        reference: ReferenceCache,
        mark_sent: bool = False,
        contacts: Contacts | None = None,
        rounding: RoundingPolicy | None = None,
        max_in_flight: int = 1,
    ) -> None:
        self._ctx = ctx
        self._max_in_flight = max_in_flight
        self._tax_map = tax_map
        self._reference = reference
        self._mark_sent = mark_sent
        self._contacts = contacts
        self._rounding = rounding
        self._rounding_reference: pp.Reference | None = None

    def push_many(self, invoices: Sequence[Invoice], *, force: bool) -> list[PushOutcome]:
        """Gather, then plan and apply until every invoice is done or failed, :data:`SLICE`
        invoices gathered at a time (what needs no request settled at once, the rest sent
        once a slice's worth waits), so a push's memory is bounded by the slice.

        Each round asks the planner for the next actions and applies them all before asking
        again: the planner sees only facts, so a round's answers (a lookup's finds, a batch's
        results) must be folded in before the next decision. Terminal actions produce the
        outcome at once, so an invoice that failed early never waits for the others.
        """
        if self._rounding is not None and any(i.total is not None for i in invoices):
            # A rounding line needs the tax rates and the chart before the wire form can be
            # built (its line is content, so it is part of the fingerprint).
            try:
                self._rounding_reference = self._reference.get()
            except BmsXeroError as e:  # nothing was sent: every invoice waits for the next push
                return [
                    PushFailure(
                        invoice_id=i.id, invoice_number=i.number, error=e.for_invoice(i.number)
                    )
                    for i in invoices
                ]
        # A push's own state, never the Pusher's: one engine may run several pushes at once.
        seen = _Seen()
        outcomes: dict[int, PushOutcome] = {}
        waiting: dict[int, pp.Item] = {}  # gathered, with requests still to make
        sent = False  # a run of requests finished: its outcomes must reach the host
        try:
            for start in range(0, len(invoices), SLICE):
                gathered, warmed = self._gather(
                    invoices[start : start + SLICE], force=force, seen=seen, offset=start
                )
                waiting.update((item.index, item) for item in gathered)
                # What needs no request (unchanged, refused before sending) is settled now,
                # so only invoices with work wait: a re-push with a few changes scattered
                # through many slices still sends them in full batches.
                self._settle(waiting, outcomes, pp.plan_push(gathered, None, self._tax_map))
                if len(waiting) >= SLICE or start + SLICE >= len(invoices):
                    self._run(waiting, outcomes, warmed)
                    waiting = {}
                    sent = True
        except BmsXeroError as e:
            if not sent:
                raise  # no run finished: the push fails as a whole, as it always did
            # An earlier run's invoices are settled (and in Xero): report them, and fail the
            # rest with the error, rather than lose outcomes the host must see.
            for i, invoice in enumerate(invoices):
                if i not in outcomes:
                    outcomes[i] = PushFailure(
                        invoice_id=invoice.id,
                        invoice_number=invoice.number,
                        error=e.for_invoice(invoice.number),
                    )
        return [outcomes[i] for i in range(len(invoices))]

    def _settle(
        self,
        items: dict[int, pp.Item],
        outcomes: dict[int, PushOutcome],
        actions: Sequence[pp.Action],
    ) -> None:
        """Apply the terminal actions among ``actions`` (no request), dropping their items."""
        for action in actions:
            if isinstance(action, pp.Done | pp.Fail):
                outcomes[action.index] = self._finish(items.pop(action.index), action)

    def _run(
        self, items: dict[int, pp.Item], outcomes: dict[int, PushOutcome], warmed: Warmed
    ) -> None:
        """Plan and apply rounds until every item in ``items`` has its outcome."""
        reference: pp.Reference | None = None
        for _ in range(MAX_ROUNDS):
            open_ = [item for i, item in items.items() if i not in outcomes]
            actions = pp.plan_push(open_, reference, self._tax_map)
            if not actions:
                return
            for group in _groups(actions):
                if isinstance(group, list):
                    self._send(group, items, reference)
                elif isinstance(group, pp.Done | pp.Fail):
                    outcomes[group.index] = self._finish(items[group.index], group)
                elif isinstance(group, pp.Adopt):
                    self._adopt(group, items)
                else:
                    reference = self._load(group, items, reference, warmed)
                    warmed = None  # handed over: a later load reads afresh
        raise SyncError(f"the push did not settle in {MAX_ROUNDS} rounds; this is a bug")

    def _send(
        self,
        requests: list[_Request],
        items: dict[int, pp.Item],
        reference: pp.Reference | None,
    ) -> None:
        """A round's requests, up to ``max_in_flight`` at once.

        The plan gives each action its own invoices, so the requests share nothing but the
        store (thread-safe, compare-and-swap) and the client (whose rate limiter keeps the
        organisation inside Xero's 5 in flight and 60 a minute): each writes only its own
        ``items`` entries, and every intent is stored by its request before that request is
        sent, as when they run one after another.
        """

        landed: list[XeroInvoice] | None = None

        def run(action: _Request) -> None:
            if isinstance(action, pp.Lookup):
                self._lookup(action, items)
            elif isinstance(action, pp.Create):
                self._create(action, items, reference, landed)
            else:
                self._update(action, items, reference, landed)

        if self._max_in_flight == 1 or len(requests) == 1:
            for action in requests:
                run(action)
            return
        # The cursors are seeded once, from every link of the round: seeded per request, a
        # later batch answering first would set them past an earlier batch's invoices (a
        # cursor never moves back), and the pull would skip what those did first.
        landed = []
        try:
            with ThreadPoolExecutor(max_workers=min(self._max_in_flight, len(requests))) as pool:
                for done in [pool.submit(run, action) for action in requests]:
                    done.result()
        finally:
            seed_cursors(self._ctx.store, self._ctx.tenant_id, landed)

    def settle_before_cancel(self, invoice: Invoice, record: SyncRecord) -> SyncRecord:
        """A record whose create is unconfirmed, looked up before a cancel: adopted if Xero
        has it (then it is voided there), left as it is if not (then it is tombstoned).

        Raises:
            BmsXeroError: The lookup failed, or the number belongs to someone else.
        """
        items = {0: pp.Item(index=0, invoice=invoice, wire=None, record=record, trust_intent=True)}
        self._lookup(pp.Lookup((0,), pp.numbers_of(items[0])), items)
        step = pp.resolved_step(items[0]) if items[0].answer is None else None
        if isinstance(step, pp.Adopt):
            self._adopt(step, items)
        elif isinstance(step, pp.Fail):
            raise self._fail(items[0], step).error
        answer = items[0].answer
        if isinstance(answer, pp.Stopped):
            raise answer.error
        settled = items[0].record
        assert settled is not None
        return settled

    # --- gather --------------------------------------------------------------------------------

    def _gather(
        self, invoices: Sequence[Invoice], *, force: bool, seen: _Seen, offset: int = 0
    ) -> tuple[list[pp.Item], Warmed]:
        """What is known before anything is decided: each invoice's wire form and record.

        The wire form is built here, once: its fingerprint says whether Xero already has this
        content, its size decides the batches, and its bytes are what the request carries.
        An invoice whose form can't be built is kept with its problem rather than failed
        now: its record may say an earlier create is unconfirmed, and a lookup must still
        link what landed. A repeat within the push is marked, not gathered: its record would
        be read twice and written by two items. Last, the contacts of the invoices that will
        be sent are checked (:meth:`Contacts.checked`: archived, merged).
        """
        items: list[pp.Item] = []
        ids, numbers = seen.ids, seen.numbers
        for i, raw in enumerate(invoices):
            twice = "id" if raw.id in ids else "number" if raw.number in numbers else None
            if twice is None:  # a refused repeat claims neither its id nor its number
                ids.add(raw.id)
                numbers.add(raw.number)
            invoice = self.linked(raw) if twice is None else raw
            wire: WireInvoice | None = None
            problem: PreflightError | None = None
            if twice is None:
                wire, problem = self._build(invoice)
            items.append(
                pp.Item(
                    index=offset + i,
                    invoice=invoice,
                    wire=wire,
                    problem=problem,
                    force=force,
                    twice=twice,
                    trust_intent=True,
                )
            )
        records = self._ctx.store.get_many(
            self._ctx.tenant_id, (it.invoice.id for it in items if not it.twice)
        )
        gathered = [it if it.twice else pp.stored(it, records.get(it.invoice.id)) for it in items]
        if self._contacts is None:
            return gathered, None
        if self._max_in_flight == 1 or not any(_may_send(it) for it in gathered):
            return self._contacts.checked(gathered, self._build), None
        # The reference data (three reads) will be needed once the contacts are checked:
        # read it meanwhile, side by side, into the cache; what came of it is this push's
        # alone, handed to its first LoadReference.
        with ThreadPoolExecutor(max_workers=1) as pool:
            warming = pool.submit(
                self._reference.warm, currencies=[it.invoice.currency_code for it in gathered]
            )
            checked = self._contacts.checked(gathered, self._build)
            warmed = warming.result()
        return checked, warmed

    def _build(self, invoice: Invoice) -> tuple[WireInvoice | None, PreflightError | None]:
        """The invoice's wire form, encoded once, here; or why it can't be built (reported
        unless the record only needs a lookup)."""
        try:
            rounding = None
            reference = self._rounding_reference
            if self._rounding is not None and reference is not None:
                rounding = rounding_line(
                    invoice,
                    policy=self._rounding,
                    chart=reference.chart,
                    tax_rates=reference.tax_rates,
                    tax_map=self._tax_map,
                )
            wire = WireInvoice.of(
                invoice, self._tax_map, mark_sent=self._mark_sent, rounding=rounding
            )
            return wire, None
        except PreflightError as e:
            return None, e

    def linked(self, invoice: Invoice) -> Invoice:
        """The invoice with its customer's Xero contact filled in from the store's links."""
        if invoice.customer.xero_contact_id is not None:
            return invoice
        contact_id = self._ctx.store.get_contact_id(self._ctx.tenant_id, invoice.customer.id)
        if contact_id is None:
            return invoice
        return _with_customer(invoice, contact_id)

    # --- apply ---------------------------------------------------------------------------------

    def _lookup(self, action: pp.Lookup, items: dict[int, pp.Item]) -> None:
        """Look the numbers up (one request per 40 numbers, by the client), and say who owns
        what was found: a Xero invoice already linked to another BMS invoice is never ours,
        whatever its number says. A failed lookup stops those invoices with nothing to undo:
        it sent nothing, and their records still say "look before creating"."""
        try:
            found = self._ctx.client.get_invoices_by_number(list(action.numbers))
        except BmsXeroError as e:
            for i in action.indexes:
                items[i] = pp.answered(items[i], pp.Stopped(e))
            return
        linked = self._ctx.store.by_xero_ids(
            self._ctx.tenant_id, (x.invoice_id for x in found if x.invoice_id)
        )
        owners = {xid: r.invoice_id for xid, r in linked.items()}
        for i in action.indexes:
            items[i] = pp.found(items[i], found, owners)

    def _adopt(self, action: pp.Adopt, items: dict[int, pp.Item]) -> None:
        """Link the invoice an earlier create of ours made, with what Xero holds on it.

        The fingerprint is the intent's only when the lookup was for our own unconfirmed
        create (``trust_intent``): then what landed is what we sent. After "number taken" it
        is unknown, and the plan resends the content. The link is never told to the host as
        its own result: the invoice may have been paid, or a payment the host was told of
        reversed, while the record was unconfirmed.
        """
        item = items[action.index]
        assert item.record is not None
        xero = action.xero
        fingerprint = item.record.intent_fingerprint if item.trust_intent else None
        view_url = plan.deep_link(xero.invoice_id or "", self._reference.short_code())
        cancelled = plan.is_tombstone(item.record)
        try:
            record = self._save_link(item, xero, fingerprint, view_url, ours=False)
        except VersionConflict as e:
            items[action.index] = pp.answered(item, pp.Stopped(e))
            return
        seed_cursors(self._ctx.store, self._ctx.tenant_id, [xero])
        if cancelled:
            items[action.index] = pp.answered(item, self._void_landed(item, record), record)
            return
        same = pp.adoption_is_same(item, xero)
        items[action.index] = pp.answered(item, pp.AdoptedAs(xero, same), record)

    def _void_landed(self, item: pp.Item, record: SyncRecord) -> pp.Stopped:
        """The BMS cancelled the invoice while its create was in flight, and the create
        landed: the cancel's promise holds, so what Xero made is voided (or deleted), now
        that it is linked. If Xero refuses, the link stays and the panel says so: cancelling
        again voids it."""
        assert record.xero_invoice_id is not None
        xero_id, number = record.xero_invoice_id, item.invoice.number
        try:
            result = self._ctx.client.update_invoice(
                xero_id,
                status_change(xero_id, number, plan.cancel_status(record)),
                idempotency_key=self._ctx.new_key(),
            )
        except BmsXeroError as e:
            return pp.Stopped(e)
        if not result.ok or result.invoice is None:
            said = "; ".join(m.message for m in result.errors) or "no reason given"
            return pp.Stopped(
                SyncError(
                    f"was cancelled while its create was in flight; the invoice Xero made is "
                    f"linked but Xero refused to void it ({said}): cancel it again",
                    invoice_number=number,
                )
            )
        voided = result.invoice
        save(
            self._ctx.store,
            record,
            lambda r: plan.apply_xero(
                r,
                voided,
                pulled_at=None,
                reported=plan.CANCELLED_STATUSES,
                also={"state": SyncState.VOIDED},
            ),
        )
        return pp.Stopped(
            SyncError(
                "was cancelled while its create was in flight; the invoice Xero made from it "
                "is voided",
                invoice_number=number,
            )
        )

    def _load(
        self,
        action: pp.LoadReference,
        items: dict[int, pp.Item],
        current: pp.Reference | None,
        warmed: Warmed = None,
    ) -> pp.Reference | None:
        """The reference data for preflight (from the cache unless stale or a refresh);
        ``warmed`` is what this push's read ahead came to, if it made one."""
        try:
            return self._reference.get(
                refresh=action.refresh,
                currencies=[items[i].invoice.currency_code for i in action.indexes],
                warmed=warmed,
            )
        except BmsXeroError as e:
            # The chart or tax rates could not be read: the invoices waiting to be checked
            # stop with the same error (asked once, not per invoice); the others go on.
            for i in action.indexes:
                items[i] = pp.answered(items[i], pp.Stopped(e))
            return current

    def _create(
        self,
        action: pp.Create,
        items: dict[int, pp.Item],
        reference: pp.Reference | None,
        landed: list[XeroInvoice] | None = None,
    ) -> None:
        """One ``PUT /Invoices``: intents stored first, then the batch, then each answer.

        The order is the whole of "exactly once": a process that dies after the send and
        before the answer is stored leaves intents, which the next push looks up before it
        creates anything. An uncertain outcome marks the records ``uncertain`` (guarded by
        our key: another pusher's newer intent is left alone) and the plan looks them up; a
        refusal of the whole request (a 429, an auth failure) came before any create, so the
        intents are dropped.
        """
        key = self._ctx.new_key()
        now = self._ctx.clock.now()
        sending = self._store_intents(action.indexes, items, key, now)
        if not sending:
            return
        wires = [_wire(items[i]) for i in sending]
        try:
            results = self._ctx.client.create_invoices(wires, idempotency_key=key)
        except UncertainOutcome as e:
            for i in sending:
                item = items[i]
                assert item.record is not None
                message = str(e.for_invoice(item.invoice.number))
                record = save(
                    self._ctx.store,
                    item.record,
                    if_intent(item.record.intent_key, marked_uncertain(message, now)),
                )
                items[i] = pp.answered(item, pp.Uncertain(e), record)
            return
        except BmsXeroError as e:
            # Xero refused the request as a whole (rate limit, auth, ...) before any create.
            for i in sending:
                items[i] = pp.answered(items[i], pp.Failed(e))
            return
        self._record_answers(sending, results, items, reference, pp.Created, landed)

    def _store_intents(
        self, indexes: Iterable[int], items: dict[int, pp.Item], key: str, now: datetime
    ) -> list[int]:
        """Store every intent before sending (one transaction); return who may be sent.

        If someone else touched one of the records, they are stored one by one, and the
        contested ones are left to their other pusher (the next push looks them up).
        """
        chunk = list(indexes)
        intents = [pp.intent(items[i], self._ctx.tenant_id, key, now) for i in chunk]
        try:
            stored = self._ctx.store.put_many(intents)
        except VersionConflict:
            stored = []
        if stored:
            for i, record in zip(chunk, stored, strict=True):
                items[i] = pp.stored(items[i], record)
            return chunk
        sending = []
        for i, (record, expected) in zip(chunk, intents, strict=True):
            try:
                written = self._ctx.store.put(record, expected_version=expected)
            except VersionConflict:
                items[i] = pp.answered(items[i], pp.in_progress(items[i]))
                continue
            items[i] = pp.stored(items[i], written)
            sending.append(i)
        return sending

    def _update(
        self,
        action: pp.Update,
        items: dict[int, pp.Item],
        reference: pp.Reference | None,
        landed: list[XeroInvoice] | None = None,
    ) -> None:
        """One ``POST /Invoices`` of up to 50 linked invoices, each element naming its
        InvoiceID (spliced into the bytes already encoded). No intent is needed: an update is
        idempotent by content, so a failure is simply sent again by the next push."""
        wires = []
        for i in action.indexes:
            record = items[i].record
            assert record is not None and record.xero_invoice_id is not None
            wires.append(_wire(items[i]).for_update(record.xero_invoice_id))
        try:
            results = self._ctx.client.update_invoices(wires, idempotency_key=self._ctx.new_key())
        except BmsXeroError as e:
            # An update is idempotent by content: the next push simply sends it again.
            for i in action.indexes:
                items[i] = pp.answered(items[i], pp.Failed(e))
            return
        self._record_answers(action.indexes, results, items, reference, pp.Updated, landed)

    def _record_answers(
        self,
        indexes: Sequence[int],
        results: Sequence[InvoiceResult],
        items: dict[int, pp.Item],
        reference: pp.Reference | None,
        answer: Callable[[XeroInvoice], pp.Created | pp.Updated],
        landed: list[XeroInvoice] | None = None,
    ) -> None:
        """Store what Xero answered each element of a write (one result per element, in
        request order): the link for what it wrote, the refusal for what it did not."""
        short_code = None if reference is None else reference.short_code
        linked: list[XeroInvoice] = []
        links: list[tuple[int, XeroInvoice, Change]] = []
        for i, result in zip(indexes, results, strict=True):
            item = items[i]
            if not result.ok or result.invoice is None:
                if self._contacts is not None:  # archived or merged meanwhile, perhaps
                    self._contacts.forget(item.invoice.customer.xero_contact_id)
                items[i] = pp.answered(item, pp.Refused(result))
                continue
            xero = result.invoice
            view_url = plan.deep_link(xero.invoice_id or "", short_code)
            links.append((i, xero, self._link(item, xero, item.content, view_url, ours=True)))
        # Every link of the write in one transaction (one commit, not one per invoice).
        saved = save_many(
            self._ctx.store, [(_record_of(items[i]), change) for i, _, change in links]
        )
        for (i, xero, _), record in zip(links, saved, strict=True):
            if isinstance(record, VersionConflict):  # a create's intent stays: the next looks
                items[i] = pp.answered(items[i], pp.Stopped(record))
                continue
            items[i] = pp.answered(items[i], answer(xero), record)
            linked.append(xero)
        if landed is not None:  # requests side by side: seeded once they all answered
            landed.extend(linked)
        else:
            seed_cursors(self._ctx.store, self._ctx.tenant_id, linked)

    def _save_link(
        self,
        item: pp.Item,
        xero: XeroInvoice,
        fingerprint: str | None,
        view_url: str,
        *,
        ours: bool,
    ) -> SyncRecord:
        return save(
            self._ctx.store,
            _record_of(item),
            self._link(item, xero, fingerprint, view_url, ours=ours),
        )

    def _link(
        self,
        item: pp.Item,
        xero: XeroInvoice,
        fingerprint: str | None,
        view_url: str,
        *,
        ours: bool,
    ) -> Change:
        """The change that links the item's record to ``xero``, as of now."""
        now = self._ctx.clock.now()

        def change(r: SyncRecord) -> SyncRecord:
            return pp.link(
                r,
                xero,
                number=item.invoice.number,
                fingerprint=fingerprint,
                now=now,
                view_url=view_url,
                ours=ours,
            )

        return change

    def _finish(self, item: pp.Item, action: pp.Done | pp.Fail) -> PushOutcome:
        """The outcome of a settled invoice; an unchanged one also loses a stale error (Xero
        has its content, so the panel should not say it failed)."""
        if isinstance(action, pp.Fail):
            return self._fail(item, action)
        record = item.record
        assert record is not None
        if action.action is PushAction.UNCHANGED and record.last_error is not None:
            record = save(self._ctx.store, record, cleared)  # Xero has it: an old error is moot
        rounding = item.wire.rounding if item.wire is not None else None
        return pp.result_of(item.invoice, record, action.action, action.xero, rounding=rounding)

    def _fail(self, item: pp.Item, action: pp.Fail) -> PushFailure:
        """Stop the invoice: name it in the error, and keep the error where the plan says.

        Dropping the intent records the error with it; otherwise a stored error goes on the
        record without touching the link or the fingerprint, so a failed edit never makes a
        linked invoice look unlinked.
        """
        invoice = item.invoice
        named = action.error.for_invoice(invoice.number)
        now = self._ctx.clock.now()
        record = item.record
        dropped = False
        if action.drop_intent and record is not None and record.intent_key is not None:
            # Xero certainly created nothing for this intent: drop it, keep the error.
            kept = save(
                self._ctx.store,
                record,
                if_intent(
                    record.intent_key, dropped_intent(str(named), now, type(named).__name__)
                ),
            )
            dropped = kept.intent_key is None  # not if another pusher's intent is there now
        if action.store and not dropped:
            record_error(
                self._ctx.store,
                tenant_id=self._ctx.tenant_id,
                invoice_id=invoice.id,
                invoice_number=invoice.number,
                error=named,
                now=now,
            )
        return PushFailure(invoice_id=invoice.id, invoice_number=invoice.number, error=named)


def _wire(item: pp.Item) -> WireInvoice:
    assert item.wire is not None, "the plan sends only invoices whose wire form was built"
    return item.wire


def _with_customer(invoice: Invoice, contact_id: str) -> Invoice:
    return attrs.evolve(invoice, customer=invoice.customer.with_xero_contact_id(contact_id))


#: What a push's read ahead of the reference data came to: read for it (True), not needed
#: (False), failed (the error its first load raises), or no read ahead (None).
Warmed = bool | BmsXeroError | None

#: The actions that are one request each, and may go side by side.
_Request = pp.Lookup | pp.Create | pp.Update


def _groups(
    actions: Sequence[pp.Action],
) -> Iterator[list[_Request] | pp.Done | pp.Fail | pp.Adopt | pp.LoadReference]:
    """A round's actions in order, consecutive requests (lookups, creates, updates) gathered
    into one list that may be sent side by side; every other action stands alone, where it
    was, so what it changes (the reference data, an adoption) is seen by what follows."""
    run: list[_Request] = []
    for action in actions:
        if isinstance(action, _Request):
            run.append(action)
            continue
        if run:
            yield run
            run = []
        yield action
    if run:
        yield run


def _may_send(item: pp.Item) -> bool:
    """Whether the push may send this invoice (so it will need the reference data)."""
    if item.twice is not None or item.wire is None:
        return False
    step = plan.step_for(item.record, item.content, force=item.force)
    return step not in (Step.SKIP, Step.REFUSE_VOIDED)


def _record_of(item: pp.Item) -> SyncRecord:
    """The item's record: every invoice a write answered has one (its intent, or its link)."""
    assert item.record is not None
    return item.record
