"""The engine's decisions, as pure functions: literal in, literal out, no I/O.

The engine gathers (records, Xero's answers), asks these functions what to do, then applies
the answer through the client and the stores. Every hard decision (create or update, adopt or
conflict, what a pull changed) is tested here without a network.
"""

from __future__ import annotations

import enum
import urllib.parse
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from bms_xero.domain import AllocationKind, Invoice, InvoiceStatus, XeroInvoice, XeroPayment
from bms_xero.engine._results import BmsStatus, PaymentUpdate
from bms_xero.mapping.wire import content_hash, encode_json
from bms_xero.storage._records import SyncRecord, SyncState

__all__ = [
    "CANCELLED_STATUSES",
    "PUSHED_STATUSES",
    "LinkStyle",
    "Resolution",
    "Step",
    "apply_xero",
    "bms_status",
    "cancel_status",
    "content_hash",
    "credit_note_link",
    "credit_note_urls",
    "deep_link",
    "edits_locked",
    "fingerprint",
    "held_cursor",
    "is_duplicate_number",
    "is_edit_refused",
    "is_tombstone",
    "known_status",
    "mark_told",
    "needs_read",
    "next_money_version",
    "older_than_payment",
    "payment_stamps",
    "pending_update",
    "resolve",
    "short_code_of",
    "snapshot_order",
    "step_for",
]


class Step(enum.StrEnum):
    """What to do with one invoice on push."""

    CREATE = "create"  # no Xero invoice yet: PUT it
    UPDATE = "update"  # linked, content changed (or forced): POST /Invoices/{id}
    RESOLVE = "resolve"  # an earlier create may have landed: look it up by number first
    SKIP = "skip"  # linked and unchanged
    REFUSE_VOIDED = "refuse_voided"  # cancelled: nothing may be pushed any more


def fingerprint(payload: Mapping[str, Any]) -> str:
    """A content hash of what we would send (so an unchanged invoice sends nothing)."""
    return content_hash(encode_json(payload))


def step_for(record: SyncRecord | None, content: str | None, *, force: bool = False) -> Step:
    """Decide the push step for an invoice whose payload hashes to ``content``.

    ``content`` is ``None`` when the payload can't be built (then it never counts as
    unchanged).
    """
    if record is None:
        return Step.CREATE
    if record.state is SyncState.VOIDED:
        return Step.REFUSE_VOIDED
    if record.xero_invoice_id is None:
        # A create was attempted and not confirmed (timeout after commit, a crash before we
        # stored the answer, an error after a maybe-applied retry): never create again
        # before looking. A record with no intent only ever failed before sending.
        if record.intent_key is not None or record.state in (
            SyncState.PENDING,
            SyncState.UNCERTAIN,
        ):
            return Step.RESOLVE
        return Step.CREATE
    if (
        force
        or content is None
        or record.state is not SyncState.PUSHED
        or record.fingerprint != content
    ):
        return Step.UPDATE
    return Step.SKIP


@attrs.frozen
class Resolution:
    """The answer to "did our earlier create land?".

    Attributes:
        adopt: The Xero invoice to link, when it is ours.
        holder: The Xero invoice holding the number, when it is not ours.
        reason: Why the holder is not ours.
    """

    adopt: XeroInvoice | None = None
    holder: XeroInvoice | None = None
    reason: str = ""

    @property
    def create(self) -> bool:
        """Nothing in Xero holds the number: creating is safe."""
        return self.adopt is None and self.holder is None


def resolve(
    invoice: Invoice, found: Iterable[XeroInvoice], *, numbers: Iterable[str] = ()
) -> Resolution:
    """Match invoices looked up in Xero against the BMS invoice.

    ``numbers`` are the numbers an earlier create may have used (the intent's, if the invoice
    was renumbered since); the invoice's own number is always included.
    """
    wanted = {invoice.number, *numbers}
    holders = [
        x
        for x in found
        if x.invoice_number in wanted
        and x.type == "ACCREC"
        and x.status != InvoiceStatus.DELETED  # a deleted draft no longer holds its number
    ]
    if not holders:
        return Resolution()
    holder = holders[0]
    if holder.contact_id is not None and holder.contact_id != invoice.customer.xero_contact_id:
        return Resolution(holder=holder, reason=f"it is for another contact ({holder.contact_id})")
    return Resolution(adopt=holder)


_REFUSED_EDIT = (
    "cannot be edited",
    "not of valid status for modification",
    "payments or credit notes allocated",
    "payment or credit note allocated",
)


def is_edit_refused(messages: Iterable[str]) -> bool:
    """Whether Xero's messages say the invoice can no longer be changed (paid, credited,
    voided)."""
    return any(marker in m for m in messages for marker in _REFUSED_EDIT)


def is_duplicate_number(messages: Iterable[str]) -> bool:
    """Whether Xero refused a create because the number is taken."""
    return any("must be unique" in m for m in messages)


class LinkStyle(enum.StrEnum):
    """Which kind of Xero deep link to build."""

    #: Xero's documented form (xero-api.md section 13): ``/AccountsReceivable/View.aspx``
    #: for invoices, ``ViewCreditNote.aspx`` for credit notes, through the login redirect
    #: that picks the organisation by ShortCode.
    CLASSIC = "classic"
    #: The newer screens (section 14): ``https://go.xero.com/app/{shortCode}/invoicing/view/
    #: {id}``. It needs the ShortCode; without one the classic link is made.
    APP = "app"


def _link(target: str, xero_id: str, short_code: str | None, style: LinkStyle) -> str:
    if short_code is None:
        return f"https://go.xero.com{target}"
    code = urllib.parse.quote(short_code, safe="")
    if style is LinkStyle.APP:
        return f"https://go.xero.com/app/{code}/invoicing/view/{urllib.parse.quote(xero_id)}"
    return (
        f"https://go.xero.com/organisationlogin/default.aspx?shortcode={code}&redirecturl={target}"
    )


def deep_link(
    xero_invoice_id: str, short_code: str | None, *, style: LinkStyle = LinkStyle.CLASSIC
) -> str:
    """ "View Xero Invoice": opens the invoice, in the right organisation when the ShortCode is
    known (otherwise Xero opens it in the organisation the user last used)."""
    target = f"/AccountsReceivable/View.aspx?InvoiceID={urllib.parse.quote(xero_invoice_id)}"
    return _link(target, xero_invoice_id, short_code, style)


def credit_note_link(
    xero_credit_note_id: str, short_code: str | None, *, style: LinkStyle = LinkStyle.CLASSIC
) -> str:
    """ "View Xero Credit Note", as :func:`deep_link` makes invoice links (xero-api.md section
    14: ``ViewCreditNote.aspx?creditNoteID=``)."""
    quoted = urllib.parse.quote(xero_credit_note_id)
    target = f"/AccountsReceivable/ViewCreditNote.aspx?creditNoteID={quoted}"
    return _link(target, xero_credit_note_id, short_code, style)


#: Statuses a push's own result reports to the host (it sent them); a cancel reports these.
PUSHED_STATUSES: frozenset[str] = frozenset(
    {InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED, InvoiceStatus.AUTHORISED}
)
CANCELLED_STATUSES: frozenset[str] = frozenset({InvoiceStatus.VOIDED, InvoiceStatus.DELETED})


def edits_locked(record: SyncRecord | None) -> bool:
    """Whether Xero no longer accepts edits of the record's invoice, as far as we know
    (paid, voided, or money allocated): an edit would only be refused."""
    if record is None:
        return False
    return (
        record.state is SyncState.VOIDED
        or record.xero_status in (InvoiceStatus.PAID, InvoiceStatus.VOIDED)
        or bool(record.amount_paid or record.amount_credited)
    )


def cancel_status(record: SyncRecord) -> InvoiceStatus:
    """A draft (or one awaiting approval) is deleted; anything approved is voided."""
    if record.xero_status in (InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED):
        return InvoiceStatus.DELETED
    return InvoiceStatus.VOIDED


def is_tombstone(record: SyncRecord | None) -> bool:
    """A record cancelled before Xero was known to have the invoice."""
    return (
        record is not None and record.state is SyncState.VOIDED and record.xero_invoice_id is None
    )


def bms_status(record: SyncRecord) -> BmsStatus | None:
    """What the BMS should show for the record's invoice, from what Xero holds."""
    settlement = record.settlement
    if record.xero_status is None:
        return None
    return BmsStatus.of(
        record.xero_status,
        amount_paid=Decimal(0) if settlement is None else settlement.paid,
        amount_credited=Decimal(0) if settlement is None else settlement.credited,
    )


_MONEY_FIELDS = (
    "xero_status",
    "total",
    "amount_due",
    "amount_paid",
    "amount_credited",
    "paid_by_prepayments",
    "paid_by_overpayments",
    "fully_paid_on",
    "allocations",
)
_ZERO_IF_UNSET = frozenset({"paid_by_prepayments", "paid_by_overpayments"})


def _money(record: SyncRecord, changes: Mapping[str, Any] | None = None) -> tuple[Any, ...]:
    """Everything about the invoice's money the host is told: a change here is news.

    ``changes`` are read over the record's own values (so a change can be judged before a
    record is built). The breakdown compares as zero when unset, so a record stored before
    it existed does not count as changed the first time it is read again.
    """
    values = []
    for name in _MONEY_FIELDS:
        value = changes[name] if changes is not None and name in changes else getattr(record, name)
        values.append((value or 0) if name in _ZERO_IF_UNSET else value)
    return tuple(values)


def apply_xero(
    record: SyncRecord,
    xero: XeroInvoice,
    *,
    pulled_at: datetime | None,
    reported: frozenset[str] = frozenset(),
    also: Mapping[str, Any] | None = None,
) -> SyncRecord:
    """The record updated with what Xero holds for its invoice now (and ``also``: the
    caller's own changes, made in the same step, so one record is built, not three).

    Only what Xero holds moves; what the host was told (``told_*``) stays, so the delivery
    step sees the difference and tells the sink. A change to the money bumps
    ``money_version``: that is the update's ``sequence``.

    ``reported`` is for the answer to our own write (a create, an update, a cancel): its
    result already tells the host the invoice exists with that status, so a state with no
    money allocated and a status in ``reported`` counts as told, but only while the sink
    has never been sent an update for this record (``delivered``): once it has, the sink's
    last update is what the host believes (paid, say), and every later state must replace
    it there, even one the host caused. Money allocated is always news.
    """
    settlement = xero.settlement
    changes: dict[str, Any] = dict(also or {})
    changes.update(
        xero_status=None if xero.status is None else str(xero.status),
        total=xero.total,
        amount_due=xero.amount_due,
        amount_paid=xero.amount_paid,
        amount_credited=xero.amount_credited,
        paid_by_prepayments=settlement.prepayments,
        paid_by_overpayments=settlement.overpayments,
        fully_paid_on=xero.fully_paid_on,
        allocations=xero.allocations,
        xero_updated_at=xero.updated_at or record.xero_updated_at,
    )
    if pulled_at is not None:
        changes["last_pull_at"] = pulled_at
    if xero.status in (InvoiceStatus.VOIDED, InvoiceStatus.DELETED):
        changes["state"] = SyncState.VOIDED
    if _money(record, changes) != _money(record):
        version = next_money_version(record.money_version, xero.updated_at)
        changes["money_version"] = version
        if (
            not record.delivered
            and record.told_version == record.money_version
            and not xero.has_allocations
            and xero.status in reported
        ):
            status = BmsStatus.of(
                changes["xero_status"],
                amount_paid=settlement.paid,
                amount_credited=settlement.credited,
            )
            changes.update(told_version=version, told_status=status.value)
    return record.evolve(**changes)


def next_money_version(current: int, xero_updated_at: datetime | None) -> int:
    """The version (an update's ``sequence``) of a new money state.

    One more than the last, but never less than Xero's UpdatedDateUTC in milliseconds: so
    sequences keep growing for the host even when a lost store is rebuilt and an invoice's
    record starts again, and a state Xero stamped later always gets the larger one.
    """
    stamped = 0 if xero_updated_at is None else int(xero_updated_at.timestamp() * 1000)
    return max(current + 1, stamped)


def snapshot_order(xero: XeroInvoice, record: SyncRecord) -> str:
    """Whether a snapshot read from Xero is ``"older"`` than what the record holds (a racing
    push or pull stored a newer one: never write it over), ``"newer"`` (or unknown: apply
    it), or a ``"tie"``: stamped the same moment yet holding other money, which its stamp
    can't order (Xero need not bump an invoice for a payment): read it again to know."""
    at, held = xero.updated_at, record.xero_updated_at
    if at is None or held is None or at > held:
        return "newer"
    if at < held:
        return "older"
    if _money(apply_xero(record, xero, pulled_at=None)) != _money(record):
        return "tie"
    return "newer"


def older_than_payment(held: datetime | None, paid_at: datetime | None) -> bool:
    """Whether a record's snapshot (stamped ``held``) may predate a payment on its invoice
    (stamped ``paid_at``): then the invoice is read again."""
    return held is None or paid_at is None or held < paid_at


def payment_stamps(payments: Iterable[XeroPayment]) -> dict[str, datetime | None]:
    """The newest stamp among each invoice's payments, keyed by Xero InvoiceID.

    ``None`` (a payment read without UpdatedDateUTC) wins over any stamp: one unknown
    payment is enough to read its invoice again, whatever the others say.
    """
    newest: dict[str, datetime | None] = {}
    for p in payments:
        if not p.invoice_id:
            continue
        if p.invoice_id not in newest:
            newest[p.invoice_id] = p.updated_at
            continue
        seen = newest[p.invoice_id]
        if seen is not None:
            newest[p.invoice_id] = None if p.updated_at is None else max(seen, p.updated_at)
    return newest


def pending_update(record: SyncRecord) -> PaymentUpdate | None:
    """The update the host is owed for this record, or ``None`` when it is up to date.

    The diff of told against known, nothing else: the update is built from what Xero holds
    as stored, so a delivery that failed is rebuilt, identical, on the next run.
    """
    status = bms_status(record)
    settlement = record.settlement
    if not record.delivery_due or status is None or settlement is None:
        return None
    xero_id = record.xero_invoice_id or ""
    payments = tuple(
        XeroPayment(
            payment_id=a.id,
            amount=a.amount,
            date=a.date,
            invoice_id=xero_id,
            invoice_number=record.invoice_number,
            reference=a.reference,
        )
        for a in record.allocations
        if a.kind is AllocationKind.PAYMENT
    )
    return PaymentUpdate(
        sequence=record.money_version,
        invoice_id=record.invoice_id,
        invoice_number=record.invoice_number,
        xero_invoice_id=xero_id,
        status=status,
        xero_status=known_status(record.xero_status),
        total=_zero_if_none(record.total),
        amount_paid=_zero_if_none(record.amount_paid),
        amount_due=_zero_if_none(record.amount_due),
        amount_credited=_zero_if_none(record.amount_credited),
        settlement=settlement,
        fully_paid_on=record.fully_paid_on,
        allocations=record.allocations,
        payments=payments,
        xero_updated_at=record.xero_updated_at,
        previous_status=None if record.told_status is None else BmsStatus(record.told_status),
        credit_note_urls=credit_note_urls(record),
    )


def short_code_of(view_url: str | None) -> str | None:
    """The ShortCode a stored "View Xero Invoice" link was made with, if it had one: the
    credit note links reuse it, so building them needs no call to Xero."""
    if not view_url:
        return None
    query = urllib.parse.urlsplit(view_url).query
    codes = urllib.parse.parse_qs(query).get("shortcode")
    return codes[0] if codes else None


def credit_note_urls(record: SyncRecord) -> tuple[tuple[str, str], ...]:
    """(CreditNoteID, "View Xero Credit Note") for each credit note applied to the invoice."""
    short_code = short_code_of(record.view_url)
    return tuple(
        (a.id, credit_note_link(a.id, short_code))
        for a in record.allocations
        if a.kind is AllocationKind.CREDIT_NOTE
    )


def mark_told(record: SyncRecord, update: PaymentUpdate) -> SyncRecord | None:
    """The record once the sink accepted ``update``; ``None`` if it already knows as much.

    Told only moves forward: a slower deliverer of an older sequence never undoes a newer
    one, and a record whose money changed again since stays due.
    """
    if record.told_version >= update.sequence:
        return None
    return record.evolve(
        told_version=min(update.sequence, record.money_version),
        told_status=update.status.value,
        delivered=True,
    )


def needs_read(record: SyncRecord) -> bool:
    """Whether the record holds money it has no allocations for: amounts stored before the
    allocations were kept (an upgraded store) or from an answer that left the lists out.
    Such a record is read again before the host is told, so the update carries the truth
    (the breakdown, the payments), not a guess from two totals."""
    has_money = bool(record.amount_paid) or bool(record.amount_credited)
    return has_money and not record.allocations


def _zero_if_none(value: Decimal | None) -> Decimal:
    # Not ``value or 0``: that would turn Xero's 0.00 into 0 and change what the host shows.
    return Decimal(0) if value is None else value


def known_status(value: str | None) -> InvoiceStatus | str | None:
    """A stored status as the enum member, or the raw string Xero added later."""
    try:
        return None if value is None else InvoiceStatus(value)
    except ValueError:
        return value


def held_cursor(
    unlinked: Iterable[tuple[str | None, datetime | None]], pending_numbers: Collection[str]
) -> datetime | None:
    """How far a pull may move its cursor, given what it read but could not match.

    ``unlinked`` are (number, UpdatedDateUTC) of sales invoices (or payments) read with no
    linked record; ``pending_numbers`` the numbers of records whose create is not confirmed
    yet (read after the page, before the records were matched). A match is an invoice of
    ours whose link is being written right now: the cursor must not pass it, or what
    happened to it before the link would never be read again. Returns the earliest such
    time, or ``None`` when nothing holds the cursor back.
    """
    held = [at for number, at in unlinked if number in pending_numbers and at is not None]
    return min(held) if held else None
