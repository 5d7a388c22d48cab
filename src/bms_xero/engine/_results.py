"""What the engine hands back: push results, payment updates and the integration panel."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar, NoReturn

import attrs

from bms_xero.domain import Allocation, InvoiceStatus, Settlement, XeroPayment
from bms_xero.errors import BmsXeroError
from bms_xero.storage._credit_records import CreditNoteState
from bms_xero.storage._records import SyncState

if TYPE_CHECKING:  # the jobs layer sits above the engine: no import at run time
    from bms_xero.jobs._records import Job

__all__ = [
    "BmsStatus",
    "CreditNoteFailure",
    "CreditNoteLink",
    "CreditNoteOutcome",
    "CreditNotePushResult",
    "Panel",
    "PaymentUpdate",
    "PushAction",
    "PushFailure",
    "PushOutcome",
    "PushResult",
    "SyncOutcome",
    "SyncOutcomeKind",
]


class PushAction(enum.StrEnum):
    """What a push did in Xero."""

    CREATED = "created"  # a new Xero invoice
    UPDATED = "updated"  # the linked Xero invoice was changed (all lines resent)
    ADOPTED = "adopted"  # an earlier, unconfirmed create was found in Xero and linked
    UNCHANGED = "unchanged"  # nothing to send: Xero already has this content
    VOIDED = "voided"  # the Xero invoice was voided (or a draft deleted)


class BmsStatus(enum.StrEnum):
    """The status a BMS shows for an invoice, derived from Xero's."""

    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_PAYMENT = "awaiting_payment"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CREDITED = "credited"  # settled by credit notes only (prepayments and overpayments pay)
    VOIDED = "voided"
    DELETED = "deleted"
    UNKNOWN = "unknown"  # a status Xero added after this release

    @classmethod
    def of(
        cls,
        xero_status: InvoiceStatus | str | None,
        *,
        amount_paid: Decimal,
        amount_credited: Decimal,
    ) -> BmsStatus:
        """The BMS status for a Xero status and its amounts.

        ``amount_paid`` is what the customer paid (payments, prepayments and overpayments:
        :attr:`Settlement.paid`), ``amount_credited`` what credit notes took off: an invoice
        settled by a prepayment is paid, though Xero counts it in AmountCredited.
        """
        settled = {
            InvoiceStatus.DRAFT: cls.DRAFT,
            InvoiceStatus.SUBMITTED: cls.AWAITING_APPROVAL,
            InvoiceStatus.VOIDED: cls.VOIDED,
            InvoiceStatus.DELETED: cls.DELETED,
        }
        if xero_status in settled:
            return settled[InvoiceStatus(xero_status)]
        if xero_status == InvoiceStatus.PAID:
            return cls.CREDITED if amount_paid == 0 and amount_credited > 0 else cls.PAID
        if xero_status == InvoiceStatus.AUTHORISED:
            if amount_paid > 0 or amount_credited > 0:
                return cls.PARTIALLY_PAID
            return cls.AWAITING_PAYMENT
        return cls.UNKNOWN


@attrs.frozen(kw_only=True)
class PushResult:
    """The outcome of pushing one invoice that Xero accepted (or already had).

    Attributes:
        invoice_id: The BMS invoice id.
        invoice_number: Its number.
        xero_invoice_id: The linked Xero InvoiceID (``None`` only for a cancel of an invoice
            Xero never had).
        action: What the push did.
        pushed_at: When Xero confirmed it (for ``UNCHANGED``, the last confirmed push).
        xero_status: Xero's status for the invoice.
        sub_total: Xero's SubTotal.
        total_tax: Xero's TotalTax (per-line rounded).
        total: Xero's Total.
        rounding_difference: Xero's total minus the BMS's ``Invoice.total``, when the BMS
            gave one (``None`` otherwise). Non-zero means the BMS rounds differently (and no
            rounding line covered it).
        rounding_adjustment: The rounding line a ``RoundingPolicy`` added (BMS total minus
            Xero's per-line total before it), ``None`` when none was added.
        view_url: A link that opens the invoice in Xero.
    """

    invoice_id: str
    invoice_number: str
    xero_invoice_id: str | None
    action: PushAction
    pushed_at: datetime | None
    xero_status: InvoiceStatus | str | None = None
    sub_total: Decimal | None = None
    total_tax: Decimal | None = None
    total: Decimal | None = None
    rounding_difference: Decimal | None = None
    rounding_adjustment: Decimal | None = None
    view_url: str | None = None

    #: A result is a success: ``ok``, ``result`` and ``error`` read the same on both kinds
    #: of :data:`PushOutcome`.
    ok: ClassVar[bool] = True
    error: ClassVar[None] = None

    @property
    def result(self) -> PushResult:
        """This result (so ``outcome.result`` reads the same on either kind of outcome)."""
        return self

    def unwrap(self) -> PushResult:
        """This result."""
        return self


@attrs.frozen(kw_only=True)
class PushFailure:
    """One invoice of a push that did not reach Xero (or whose state is uncertain).

    Attributes:
        invoice_id: The BMS invoice id.
        invoice_number: Its number.
        error: Why; names the invoice and says what to fix.
    """

    invoice_id: str
    invoice_number: str
    error: BmsXeroError

    ok: ClassVar[bool] = False
    result: ClassVar[None] = None

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


#: One invoice's outcome in a batch: a :class:`PushResult` or a :class:`PushFailure`.
PushOutcome = PushResult | PushFailure


@attrs.frozen(kw_only=True)
class CreditNotePushResult:
    """A credit note Xero holds as the push left it.

    Attributes:
        credit_note_id: The BMS credit note id.
        credit_note_number: Its number.
        invoice_id: The BMS invoice it credits.
        xero_credit_note_id: Xero's CreditNoteID.
        xero_invoice_id: The Xero invoice it was allocated to.
        action: ``CREATED`` (this push made it), ``ADOPTED`` (an earlier unconfirmed create
            was found and linked) or ``UNCHANGED`` (Xero had it already).
        state: ``ALLOCATED``, or ``UNALLOCATED`` when it was left as credit on purpose.
        total: Xero's total for the credit note.
        allocated: What is allocated to the invoice.
        refund_due: What is left as credit (RemainingCredit): refund it, or allocate it to
            another invoice in Xero.
        rounding_difference: Xero's total minus ``CreditNote.total``, when the BMS gave one.
        view_url: Opens the credit note in Xero.
    """

    credit_note_id: str
    credit_note_number: str
    invoice_id: str
    xero_credit_note_id: str
    xero_invoice_id: str
    action: PushAction
    state: CreditNoteState
    total: Decimal
    allocated: Decimal
    refund_due: Decimal
    rounding_difference: Decimal | None = None
    view_url: str | None = None

    ok: ClassVar[bool] = True
    error: ClassVar[None] = None

    @property
    def result(self) -> CreditNotePushResult:
        """This result (so ``outcome.result`` reads the same on either kind of outcome)."""
        return self

    def unwrap(self) -> CreditNotePushResult:
        """This result."""
        return self


@attrs.frozen(kw_only=True)
class CreditNoteFailure:
    """A credit note of a push that is not (yet) where it should be in Xero.

    Attributes:
        credit_note_id: The BMS credit note id.
        credit_note_number: Its number.
        error: Why; names the credit note and its invoice and says what to do.
    """

    credit_note_id: str
    credit_note_number: str
    error: BmsXeroError

    ok: ClassVar[bool] = False
    result: ClassVar[None] = None

    def unwrap(self) -> NoReturn:
        """Raise the error."""
        raise self.error


#: One credit note's outcome: a :class:`CreditNotePushResult` or a :class:`CreditNoteFailure`.
CreditNoteOutcome = CreditNotePushResult | CreditNoteFailure


@attrs.frozen(kw_only=True)
class CreditNoteLink:
    """A credit note of the BMS applied to an invoice, for the panel.

    Attributes:
        credit_note_id: The BMS credit note id.
        credit_note_number: Its number.
        state: Where it stands with Xero.
        allocated: What Xero applied to the invoice (``None`` until known).
        refund_due: What is left as credit on it.
        view_url: "View Xero Credit Note" (``None`` until Xero has it).
        last_error: Why its last push failed, if it did.
    """

    credit_note_id: str
    credit_note_number: str
    state: CreditNoteState
    allocated: Decimal | None = None
    refund_due: Decimal | None = None
    view_url: str | None = None
    last_error: str | None = None


@attrs.frozen(kw_only=True)
class PaymentUpdate:
    """A change pulled from Xero for one linked BMS invoice. Values are absolute.

    Delivered at least once: applying one twice is harmless, and ``sequence`` grows with
    every change Xero made to the invoice's money, so a host that keeps the last sequence it
    applied can drop a stale or repeated update (``if update.sequence <= seen: skip``).

    Attributes:
        sequence: This invoice's money version: larger is newer, equal means the same
            content. It follows Xero's UpdatedDateUTC (in milliseconds) where it can, so it
            keeps growing even across a rebuilt sync store.
        invoice_id: The BMS invoice id.
        invoice_number: Its number.
        xero_invoice_id: The Xero InvoiceID.
        status: What the BMS should show.
        xero_status: Xero's own status.
        total: Xero's total.
        amount_paid: Paid so far.
        amount_due: Still to pay.
        amount_credited: Xero's AmountCredited: credit notes, prepayments and overpayments
            applied (see ``settlement`` for which).
        settlement: What settled it: paid by payments, by prepayments, by overpayments, and
            credited by credit notes ("paid 80 + credited 20").
        fully_paid_on: When it became fully paid.
        allocations: Every live payment and credit applied to the invoice.
        payments: The payments among them (reversed payments are gone from the list).
        xero_updated_at: Xero's UpdatedDateUTC.
        previous_status: The status the host was last told (``None`` if never).
        credit_note_urls: "View Xero Credit Note" for each credit note among
            ``allocations``, by CreditNoteID.
    """

    sequence: int
    invoice_id: str
    invoice_number: str
    xero_invoice_id: str
    status: BmsStatus
    xero_status: InvoiceStatus | str | None
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    amount_credited: Decimal
    settlement: Settlement
    fully_paid_on: date | None = None
    allocations: tuple[Allocation, ...] = ()
    payments: tuple[XeroPayment, ...] = ()
    xero_updated_at: datetime | None = None
    previous_status: BmsStatus | None = None
    credit_note_urls: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class Panel:
    """The integration panel for one BMS invoice. Every field is ``None`` until it is known.

    Attributes:
        invoice_id: The BMS invoice id.
        invoice_number: Its number, once pushed (or attempted).
        linked: Whether a Xero invoice is linked.
        state: The sync state (``pushed``, ``pending``, ``uncertain``, ``failed``, ``voided``).
        xero_invoice_id: The linked Xero InvoiceID.
        view_url: "View Xero Invoice": opens it in the right organisation.
        last_push_at: When Xero last confirmed a push.
        last_pull_at: When its status was last read from Xero.
        status: The status the BMS should show.
        xero_status: Xero's status.
        total: Xero's total.
        amount_due: Still to pay.
        amount_paid: Paid so far.
        amount_credited: Xero's AmountCredited (credit notes, prepayments, overpayments).
        settlement: What settled it: payments, prepayments, overpayments, credit notes.
        fully_paid_on: When it became fully paid.
        last_error: The last failure, naming what to fix.
        last_error_at: When it happened.
        delivery_pending: Xero holds money news the host's PaymentSink has not accepted yet
            (the next pull or ``deliver()`` tells it).
        credit_notes: The BMS credit notes pushed for this invoice, each with its link.
        online_invoice_url: The customer's online invoice (pay) link, once fetched
            (``SyncEngine.online_invoice_url``); ``None`` again once the invoice is voided.
        emailed_at: When Xero was asked to email the invoice to its contact.
        last_error_type: The class name of ``last_error`` (``"MissingContactId"``), so a
            panel can say what fixes it (:func:`bms_xero.views.error_view`).

    .. versionchanged:: Unreleased
        ``last_error_type``.
    """

    invoice_id: str
    invoice_number: str | None = None
    linked: bool = False
    state: SyncState | None = None
    xero_invoice_id: str | None = None
    view_url: str | None = None
    last_push_at: datetime | None = None
    last_pull_at: datetime | None = None
    status: BmsStatus | None = None
    xero_status: InvoiceStatus | str | None = None
    total: Decimal | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    amount_credited: Decimal | None = None
    settlement: Settlement | None = None
    fully_paid_on: date | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    delivery_pending: bool = False
    credit_notes: tuple[CreditNoteLink, ...] = ()
    online_invoice_url: str | None = None
    emailed_at: datetime | None = None
    last_error_type: str | None = None


class SyncOutcomeKind(enum.StrEnum):
    """What the "Sync Invoice with Xero Invoice" button did (:meth:`SyncEngine.sync`)."""

    #: Pushed (or, for a paid or cancelled invoice, only refreshed) and read back now.
    SYNCED = "synced"
    #: Not done now, but queued for the worker: Xero is busy (the minute budget is spent,
    #: the day limit is reached) or not answering. ``job`` is the queued job.
    QUEUED = "queued"
    #: Failed, and retrying unchanged would fail again (or no job store was given to queue
    #: it in): ``error`` says why and what to fix.
    FAILED = "failed"


@attrs.frozen(kw_only=True)
class SyncOutcome(Panel):
    """The panel after the Sync button was pressed, and what the press did.

    It is the fresh :class:`Panel` (every panel attribute reads as before, so code written
    when ``sync`` returned a ``Panel`` keeps working), plus the outcome. The button never
    raises for what Xero or the invoice did: a web request must answer, and the answer is
    here. Call :meth:`unwrap` to get the old "raise on failure" behaviour in a script.

    Attributes:
        kind: Synced now, queued for the worker, or failed.
        error: Why it was not synced now (``None`` when synced): for ``QUEUED`` the passing
            reason (:class:`~bms_xero.errors.RateLimited`, ``DailyLimitReached``,
            ``XeroUnavailable``, ...), for ``FAILED`` what to fix.
        job: The job that will do it (``QUEUED`` only): the push, or the refresh when only
            the read back after a push was held up.
        runs_at: The earliest time the worker may run ``job`` (the job's ``run_after``, or
            later when the tenant is parked for Xero's day limit).

    .. versionadded:: Unreleased
    """

    kind: SyncOutcomeKind
    error: BmsXeroError | None = None
    job: Job | None = None
    runs_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the invoice was synced now."""
        return self.kind is SyncOutcomeKind.SYNCED

    @property
    def queued(self) -> bool:
        """Whether the work waits for the worker (``job`` says which)."""
        return self.kind is SyncOutcomeKind.QUEUED

    @property
    def panel(self) -> Panel:
        """The panel alone, as :meth:`SyncEngine.panel` would return it now."""
        return Panel(**{f.name: getattr(self, f.name) for f in attrs.fields(Panel)})

    def unwrap(self) -> Panel:
        """The panel, or raise ``error`` when the invoice was not synced now (queued or
        failed), as ``sync`` did before it took a deadline."""
        if self.error is not None and self.kind is not SyncOutcomeKind.SYNCED:
            raise self.error
        return self.panel

    @classmethod
    def of(
        cls,
        panel: Panel,
        kind: SyncOutcomeKind,
        *,
        error: BmsXeroError | None = None,
        job: Job | None = None,
        runs_at: datetime | None = None,
    ) -> SyncOutcome:
        """The outcome ``kind`` with the fields of ``panel``."""
        fields = {f.name: getattr(panel, f.name) for f in attrs.fields(Panel)}
        return cls(kind=SyncOutcomeKind(kind), error=error, job=job, runs_at=runs_at, **fields)
