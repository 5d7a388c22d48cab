"""The push, planned: what to look up, create, update, and which invoices are done or failed.

A push is a loop: **gather** what is known of each invoice (its sync record, its wire form),
**plan** the next actions from those facts alone, **apply** them (the only I/O, in
:mod:`bms_xero.engine._push`), fold what they taught back into the facts, and **replan**,
until every invoice is :class:`Done` or :class:`Fail`. Everything here is pure: an invoice's
next step is a function of its :class:`Item`, so every path, the awkward ones included (a
create whose answer was lost, a number Xero says is taken, a lookup that finds someone
else's invoice), is a literal-in, literal-out test in ``tests/engine/test_push_plan.py``.

The order of a round is the order of safety: lookups first (an earlier create may have
landed, and a lookup sends nothing), then adoptions, then reference data (only if something
must be checked), then creates, then updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from bms_xero.domain import Invoice, XeroInvoice
from bms_xero.engine import plan
from bms_xero.engine._results import PushAction, PushResult
from bms_xero.engine.plan import Resolution, Step
from bms_xero.errors import (
    AccountCodeError,
    BmsXeroError,
    CreditNoteRequired,
    CurrencyNotEnabled,
    InvoiceNumberConflict,
    PreflightError,
    PreflightFailed,
    PushInProgress,
    ReauthorizationRequired,
    SyncError,
    TaxCodeError,
    UncertainOutcome,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping._reference import ChartOfAccounts, TaxMap, TaxRates, preflight
from bms_xero.mapping._totals import difference
from bms_xero.mapping.wire import WireInvoice
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.xero import InvoiceResult
from bms_xero.xero._calls import MAX_BATCH, MAX_BODY_BYTES
from bms_xero.xero._client import NUMBERS_PER_LOOKUP

__all__ = [
    "CREATE_TRIES",
    "Action",
    "Adopt",
    "Create",
    "Done",
    "Fail",
    "Item",
    "LoadReference",
    "Lookup",
    "Reference",
    "Update",
    "batches",
    "link",
    "locked",
    "numbers_of",
    "plan_push",
    "refreshable",
    "resolved_step",
    "stored",
]

#: Creates of one invoice in one push: after an uncertain outcome it is looked up, and
#: created again only when Xero certainly has nothing; this bounds that loop.
CREATE_TRIES = 3
#: Bytes an update adds to an element ("InvoiceID") and the list separator.
ID_ROOM = 64
#: Bytes of the request body the elements may fill: Xero's limit less the envelope.
MAX_ELEMENTS_BYTES = MAX_BODY_BYTES - 500_000


@attrs.frozen
class Reference:
    """The organisation's reference data, as one push uses it.

    Attributes:
        chart: The chart of accounts.
        tax_rates: The tax rates.
        short_code: The organisation's ShortCode for deep links (``None`` if unknown).
        refreshed: Read from Xero during this push (a second refresh would tell nothing new).
        currencies: The currencies the organisation can invoice in, when an invoice to be
            checked needs them (``None``: not read, and not checked).
    """

    chart: ChartOfAccounts
    tax_rates: TaxRates
    short_code: str | None = None
    refreshed: bool = False
    currencies: frozenset[str] | None = None


# --- what one invoice is known to be ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class Item:
    """One invoice of a push, and everything learned about it so far.

    Attributes:
        index: Its position in the push (results come back in input order).
        invoice: The BMS invoice (its customer link filled in from the store).
        wire: Its wire form, encoded once; ``None`` when it can't be built (see ``problem``).
        problem: Why the wire form can't be built (reported unless a lookup settles it).
        record: Its sync record, as last read or written.
        force: Send even if unchanged.
        twice: Its id or number appears earlier in the same push.
        resolution: What the lookup of its numbers found, since the last unconfirmed create.
        trust_intent: An adopted invoice may hold the intent's content (the lookup was for
            our own unconfirmed create, not for a number Xero said is taken).
        after_duplicate: Xero refused a create because the number is taken.
        creates_left: Creates still allowed in this push (see :data:`CREATE_TRIES`).
        adopted: Linked by a lookup in this push (an update then reports ADOPTED).
        answer: The last write's answer that still needs a decision.
    """

    index: int
    invoice: Invoice
    wire: WireInvoice | None
    problem: PreflightError | None = None
    record: SyncRecord | None = None
    force: bool = False
    twice: str | None = None
    resolution: Resolution | None = None
    trust_intent: bool = False
    after_duplicate: bool = False
    creates_left: int = CREATE_TRIES
    adopted: bool = False
    answer: Answer | None = None

    @property
    def content(self) -> str | None:
        """The fingerprint of what would be sent (``None`` when it can't be built)."""
        return None if self.wire is None else self.wire.fingerprint


# What a write answered, kept on the item until the plan decides what it means.


@attrs.frozen
class Created:
    """Xero created the invoice and the link is stored."""

    xero: XeroInvoice


@attrs.frozen
class Updated:
    """Xero updated the invoice and the record says so."""

    xero: XeroInvoice


@attrs.frozen
class Refused:
    """Xero answered the element with validation errors (nothing was written)."""

    result: InvoiceResult


@attrs.frozen
class Failed:
    """The request failed as a whole, certainly before anything was written."""

    error: BmsXeroError


@attrs.frozen
class Uncertain:
    """The create may or may not have landed (the record is marked ``uncertain``)."""

    error: UncertainOutcome


@attrs.frozen
class Stopped:
    """This invoice's push stops here, with nothing to undo: a lookup or the reference data
    could not be read, another pusher holds its record, or the record kept changing (its
    intent stays, so the next push looks it up)."""

    error: BmsXeroError


@attrs.frozen
class AdoptedAs:
    """The lookup's invoice is linked; ``same`` when Xero already holds our content."""

    xero: XeroInvoice
    same: bool


Answer = Created | Updated | Refused | Failed | Uncertain | Stopped | AdoptedAs


# --- actions ----------------------------------------------------------------------------------


@attrs.frozen
class Lookup:
    """Look these numbers up in Xero (``InvoiceNumbers=``) for these invoices."""

    indexes: tuple[int, ...]
    numbers: tuple[str, ...]


@attrs.frozen
class Adopt:
    """Link the invoice Xero holds for this one (an earlier create of ours landed)."""

    index: int
    xero: XeroInvoice


@attrs.frozen
class LoadReference:
    """Fetch (or take from the cache) the chart, tax rates and ShortCode, for the invoices
    in ``indexes``, which wait for it (if it fails, only they stop)."""

    indexes: tuple[int, ...]
    refresh: bool = False


@attrs.frozen
class Create:
    """Create these invoices in one ``PUT /Invoices`` (their intents stored first)."""

    indexes: tuple[int, ...]


@attrs.frozen
class Update:
    """Update these linked invoices in one ``POST /Invoices``."""

    indexes: tuple[int, ...]


@attrs.frozen
class Done:
    """The invoice is where it should be; report ``action`` (``xero``: Xero's answer)."""

    index: int
    action: PushAction
    xero: XeroInvoice | None = None


@attrs.frozen
class Fail:
    """Stop this invoice with ``error``.

    ``store`` keeps the error on the record for the panel; ``drop_intent`` also removes the
    intent, because Xero certainly created nothing for it (a refusal, a number held by
    someone else).
    """

    index: int
    error: BmsXeroError
    store: bool = False
    drop_intent: bool = False


Action = Lookup | Adopt | LoadReference | Create | Update | Done | Fail


# --- the plan ---------------------------------------------------------------------------------


def plan_push(items: Sequence[Item], reference: Reference | None, tax_map: TaxMap) -> list[Action]:
    """The next actions for a push, from what is known of each invoice.

    Returns every terminal action (:class:`Done`, :class:`Fail`) that is due, then the one
    kind of I/O that comes first: a :class:`Lookup` (all invoices that need one), else
    :class:`Adopt` actions, else :class:`LoadReference` when something must be checked and
    the data is missing (or stale for a code that looks unknown), else :class:`Create` and
    :class:`Update` batches. An empty list means every invoice is settled.
    """
    final: list[Action] = []
    lookups: list[Item] = []
    adopts: list[Adopt] = []
    sends: list[tuple[Item, Step]] = []
    for item in items:
        decision = _decide(item)
        if isinstance(decision, Done | Fail):
            final.append(decision)
        elif isinstance(decision, _Lookup):
            lookups.append(item)
        elif isinstance(decision, Adopt):
            adopts.append(decision)
        elif decision is not None:
            sends.append((item, decision))
    if lookups:
        return [*final, *lookup_requests(lookups)]
    if adopts:
        return [*final, *adopts]
    if not sends:
        return final
    if reference is None:
        return [*final, LoadReference(tuple(item.index for item, _ in sends))]
    creates: list[Item] = []
    updates: list[Item] = []
    stale: list[int] = []
    for item, step in sends:
        try:
            preflight(
                item.invoice,
                chart=reference.chart,
                tax_rates=reference.tax_rates,
                tax_map=tax_map,
            )
            currency_check(item.invoice, reference.currencies)
        except PreflightError as e:
            if refreshable(e) and not reference.refreshed:
                stale.append(item.index)  # a code that looks unknown may be new in Xero
            else:
                final.append(Fail(item.index, e, store=True))
            continue
        if step is Step.UPDATE:
            refusal = locked(item)
            if refusal is not None:
                final.append(Fail(item.index, refusal, store=True))
                continue
            updates.append(item)
        else:
            creates.append(item)
    # Creates first, and updates only once no create is left: a create may turn into an
    # update (a number Xero says is taken, found to be ours), which then joins the batch.
    writes: list[Action] = [Create(b) for b in batches(creates, room=0)] or [
        Update(b) for b in batches(updates, room=ID_ROOM)
    ]
    refresh: list[Action] = [LoadReference(tuple(stale), refresh=True)] if stale else []
    return [*final, *writes, *refresh]


class _Lookup:
    """The plan's "look its numbers up first" (a marker, not an action)."""


_LOOKUP = _Lookup()


def _decide(item: Item) -> Done | Fail | Adopt | _Lookup | Step | None:
    """This invoice's next step: settled, failed, a lookup, an adoption, or a send."""
    if item.twice is not None:
        return Fail(
            item.index,
            SyncError(
                f"the invoice {item.twice} appears twice in one push; push each invoice once",
                invoice_number=item.invoice.number,
            ),
        )
    answered = _answered(item)
    if answered is not None:
        return answered
    if isinstance(item.answer, Uncertain):
        # The create may have landed: look before anything else, whatever the record says
        # now (a cancel may have tombstoned it meanwhile; the lookup still finds the invoice).
        resolved = resolved_step(item)
        if resolved is not Step.CREATE:
            return resolved
        return Fail(item.index, item.problem, store=True) if item.problem else Step.CREATE
    step = plan.step_for(item.record, item.content, force=item.force)
    if step is Step.SKIP:
        return Done(item.index, PushAction.UNCHANGED)
    if step is Step.REFUSE_VOIDED:
        return Fail(
            item.index,
            SyncError(
                "was cancelled (its Xero invoice voided); raise a new invoice instead",
                invoice_number=item.invoice.number,
            ),
        )
    if step is Step.RESOLVE:
        resolved = resolved_step(item)
        if resolved is not Step.CREATE:
            return resolved
        step = Step.CREATE
    if item.problem is not None:
        return Fail(item.index, item.problem, store=True)
    return step


def _answered(item: Item) -> Done | Fail | None:
    """What the last write's answer decides, if it decides anything."""
    answer = item.answer
    if isinstance(answer, Created):
        return Done(item.index, PushAction.CREATED, answer.xero)
    if isinstance(answer, Updated):
        action = PushAction.ADOPTED if item.adopted else PushAction.UPDATED
        return Done(item.index, action, answer.xero)
    if isinstance(answer, AdoptedAs) and answer.same:
        return Done(item.index, PushAction.ADOPTED, answer.xero)
    if isinstance(answer, Failed):
        return Fail(item.index, answer.error, store=_is_update(item), drop_intent=True)
    if isinstance(answer, Stopped):
        # A connection that is gone shows on the panel ("reconnect to Xero"); other stops
        # (a lookup that failed, another pusher) pass with the next push.
        return Fail(
            item.index, answer.error, store=isinstance(answer.error, ReauthorizationRequired)
        )
    if isinstance(answer, Uncertain) and item.creates_left <= 0:
        # Xero keeps failing: leave it uncertain; the next push looks it up first.
        return Fail(item.index, answer.error)
    if isinstance(answer, Refused):
        return _refusal(item, answer.result)
    return None


def _refusal(item: Item, result: InvoiceResult) -> Fail | None:
    messages = [m.message for m in result.errors]
    number = item.invoice.number
    if _is_update(item):
        record = item.record
        assert record is not None and record.xero_invoice_id is not None
        if plan.is_edit_refused(messages):
            return Fail(
                item.index,
                CreditNoteRequired(
                    invoice_number=number,
                    xero_invoice_id=record.xero_invoice_id,
                    xero_status=record.xero_status,
                    xero_messages=messages,
                ),
                store=True,
            )
        return Fail(item.index, _validation(result, number, "update"), store=True)
    if plan.is_duplicate_number(messages):
        return None  # folded into a lookup: maybe ours, from an earlier unrecorded create
    return Fail(item.index, _validation(result, number, "create"), drop_intent=True)


def _validation(result: InvoiceResult, number: str, what: str) -> XeroValidationError:
    return XeroValidationError(
        result.errors or (XeroValidationMessage(f"Xero did not {what} this invoice"),),
        status_code=200,
        invoice_number=number,
    )


def _is_update(item: Item) -> bool:
    return item.record is not None and item.record.xero_invoice_id is not None


def resolved_step(item: Item) -> Done | Fail | Adopt | _Lookup | Step:
    """An invoice whose earlier create may have landed: what its lookup says to do."""
    resolution = item.resolution
    if resolution is None:
        return _LOOKUP
    if resolution.adopt is not None:
        return Adopt(item.index, resolution.adopt)
    if resolution.holder is not None:
        return Fail(
            item.index,
            InvoiceNumberConflict(
                invoice_number=item.invoice.number,
                xero_invoice_id=resolution.holder.invoice_id or "",
                reason=resolution.reason,
            ),
            store=True,
            drop_intent=True,
        )
    if item.after_duplicate:
        # Xero said the number is taken, yet no invoice holds it: it vanished in between.
        return Fail(
            item.index,
            SyncError(
                "Xero said the number is taken but no invoice holds it; push again",
                invoice_number=item.invoice.number,
            ),
        )
    return Step.CREATE  # looked, and not there: Xero never committed it


def lookup_requests(items: Sequence[Item]) -> list[Lookup]:
    """The lookups of these invoices, one per request Xero answers (40 numbers each), each an
    invoice's numbers kept together.

    Each lookup settles its own invoices: when Xero can answer only some (the day budget
    runs out part-way), those are adopted and the next push looks up only the rest, so a
    large backlog of unconfirmed creates always makes progress.
    """
    lookups: list[Lookup] = []
    indexes: list[int] = []
    numbers: dict[str, None] = {}
    for item in items:
        own = [n for n in numbers_of(item) if n not in numbers]
        if indexes and len(numbers) + len(own) > NUMBERS_PER_LOOKUP:
            lookups.append(Lookup(tuple(indexes), tuple(numbers)))
            indexes, numbers = [], {}
            own = list(numbers_of(item))
        indexes.append(item.index)
        numbers.update(dict.fromkeys(own))
    if indexes:
        lookups.append(Lookup(tuple(indexes), tuple(numbers)))
    return lookups


def numbers_of(item: Item) -> tuple[str, ...]:
    """The numbers an earlier create of this invoice may have used: its intent's and its own."""
    sent = item.record.invoice_number if item.record is not None else None
    return tuple(dict.fromkeys(n for n in (sent, item.invoice.number) if n))


def resolve(item: Item, found: Iterable[XeroInvoice], owners: Mapping[str, str]) -> Resolution:
    """What a lookup means for this invoice: ``owners`` maps each found Xero id to the BMS
    invoice already linked to it, and an invoice linked to another BMS invoice is not ours
    whatever its number and contact say."""
    resolution = plan.resolve(item.invoice, found, numbers=numbers_of(item))
    holder = resolution.adopt or resolution.holder
    owner = owners.get(holder.invoice_id or "") if holder is not None else None
    if owner is not None and owner != item.invoice.id:
        return Resolution(holder=holder, reason=f"it is linked to BMS invoice {owner}")
    return resolution


def locked(item: Item) -> CreditNoteRequired | None:
    """Why an update is refused without a request: Xero no longer accepts edits (known
    since the last pull: paid, voided, or money allocated)."""
    record = item.record
    if record is None or record.xero_invoice_id is None:
        return None
    if plan.edits_locked(record):
        return CreditNoteRequired(
            invoice_number=item.invoice.number,
            xero_invoice_id=record.xero_invoice_id,
            xero_status=record.xero_status,
        )
    return None


def batches(items: Sequence[Item], *, room: int) -> Iterator[tuple[int, ...]]:
    """Up to 50 invoices per request, and never past Xero's body limit.

    ``room`` is what each element grows by on the way (an update's InvoiceID). One element
    too large alone goes alone, and the client refuses it, alone.
    """
    batch: list[int] = []
    size = 0
    for item in items:
        weight = (item.wire.size if item.wire is not None else 0) + room
        if batch and (len(batch) >= MAX_BATCH or size + weight > MAX_ELEMENTS_BYTES):
            yield tuple(batch)
            batch, size = [], 0
        batch.append(item.index)
        size += weight
    if batch:
        yield tuple(batch)


def currency_check(invoice: Invoice, currencies: frozenset[str] | None) -> None:
    """Refuse an invoice whose currency the organisation does not have (``currencies``
    ``None``: unknown, not checked).

    Raises:
        CurrencyNotEnabled: Its ``currency_code`` is not among ``currencies``.
    """
    code = invoice.currency_code
    if currencies is not None and code is not None and code not in currencies:
        raise CurrencyNotEnabled(
            currency_code=code, enabled=sorted(currencies), invoice_number=invoice.number
        )


def refreshable(error: PreflightError) -> bool:
    """Whether fresh reference data could make this preflight error go away."""
    if isinstance(error, CurrencyNotEnabled):
        return True  # enabled in Xero since the currencies were read
    if isinstance(error, PreflightFailed):
        return any(refreshable(e) for e in error.errors)
    if isinstance(error, AccountCodeError | TaxCodeError):
        return getattr(error, "reason", "") != "not_mapped"
    return False


# --- what applying taught, folded back into the items -----------------------------------------


def found(item: Item, invoices: Iterable[XeroInvoice], owners: Mapping[str, str]) -> Item:
    """The item after a lookup of its numbers."""
    return attrs.evolve(item, resolution=resolve(item, invoices, owners))


def stored(item: Item, record: SyncRecord | None) -> Item:
    """The item with its record as now stored (read at the start, or an intent written)."""
    return attrs.evolve(item, record=record)


def answered(item: Item, answer: Answer, record: SyncRecord | None = None) -> Item:
    """The item after a write (or an adoption) answered; ``record`` as now stored."""
    kept = item.record if record is None else record
    if isinstance(answer, Uncertain):
        # Look before anything else; its own intent's content may be what landed.
        return attrs.evolve(
            item,
            record=kept,
            answer=answer,
            resolution=None,
            trust_intent=True,
            creates_left=item.creates_left - 1,
        )
    if (
        isinstance(answer, Refused)
        and not _is_update(item)
        and plan.is_duplicate_number(m.message for m in answer.result.errors)
    ):
        # Maybe ours from an earlier, unrecorded create: look it up; this create did not
        # land, so its content can't be trusted to be what Xero holds.
        return attrs.evolve(
            item,
            record=kept,
            answer=None,
            resolution=None,
            trust_intent=False,
            after_duplicate=True,
        )
    if isinstance(answer, AdoptedAs):
        return attrs.evolve(item, record=kept, answer=answer if answer.same else None, adopted=True)
    return attrs.evolve(item, record=kept, answer=answer)


def adoption_is_same(item: Item, xero: XeroInvoice) -> bool:
    """Whether the adopted invoice already holds what we would send: only a create from
    this record's own intent is trusted to hold that intent's content."""
    sent = item.record.intent_fingerprint if item.trust_intent and item.record else None
    return (
        item.content is not None
        and sent == item.content
        and xero.invoice_number == item.invoice.number
    )


def link(
    record: SyncRecord,
    xero: XeroInvoice,
    *,
    number: str,
    fingerprint: str | None,
    now: datetime,
    view_url: str | None,
    ours: bool,
) -> SyncRecord:
    """The record linked to what Xero holds after our create, update or adoption.

    ``ours``: the answer to our own write, whose result tells the host (see
    :func:`plan.apply_xero`). An adoption is not: the invoice may have been paid, or a
    payment the host was told of reversed, while its record was lost; its state is news.
    """
    return plan.apply_xero(
        record,
        xero,
        pulled_at=None,
        reported=plan.PUSHED_STATUSES if ours else frozenset(),
        also={
            "state": SyncState.PUSHED,
            "invoice_number": number,
            "xero_invoice_id": xero.invoice_id or record.xero_invoice_id,
            "fingerprint": fingerprint,
            "intent_key": None,
            "intent_fingerprint": None,
            "intent_at": None,
            "last_push_at": now,
            "last_error": None,
            "last_error_at": None,
            "last_error_type": None,
            "view_url": view_url or record.view_url,
        },
    )


def result_of(
    invoice: Invoice,
    record: SyncRecord,
    action: PushAction,
    xero: XeroInvoice | None,
    *,
    rounding: Decimal | None = None,
) -> PushResult:
    """What the host is handed for a settled invoice (no I/O: the link is on the record).
    ``rounding`` is the rounding line its wire form carried, if any."""
    total = xero.total if xero is not None else record.total
    return PushResult(
        invoice_id=invoice.id,
        invoice_number=invoice.number,
        xero_invoice_id=record.xero_invoice_id,
        action=action,
        pushed_at=record.last_push_at,
        xero_status=xero.status if xero is not None else plan.known_status(record.xero_status),
        sub_total=xero.sub_total if xero is not None else None,
        total_tax=xero.total_tax if xero is not None else None,
        total=total,
        rounding_difference=None
        if invoice.total is None or total is None
        else difference(invoice.total, total),
        rounding_adjustment=rounding,
        view_url=view_url_of(record),
    )


def view_url_of(record: SyncRecord) -> str | None:
    """The record's "View Xero Invoice" link: as stored at the push, else without a
    ShortCode (Xero then opens the organisation the user last used)."""
    if record.xero_invoice_id is None:
        return None
    return record.view_url or plan.deep_link(record.xero_invoice_id, None)


def intent(item: Item, tenant_id: str, key: str, now: datetime) -> tuple[SyncRecord, int | None]:
    """The record to store before this item's create is sent, and the version it replaces."""
    base = item.record or SyncRecord(
        tenant_id=tenant_id,
        invoice_id=item.invoice.id,
        invoice_number=item.invoice.number,
        state=SyncState.PENDING,
    )
    return (
        base.evolve(
            state=SyncState.PENDING,
            invoice_number=item.invoice.number,
            intent_key=key,
            intent_fingerprint=item.content,
            intent_at=now,
        ),
        None if item.record is None else item.record.version,
    )


def in_progress(item: Item) -> Stopped:
    """Another pusher stored an intent for this invoice first."""
    return Stopped(PushInProgress(invoice_number=item.invoice.number))
