"""What the engine hands back: push results, payment updates and the integration panel."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, NoReturn

import attrs

from bms_xero.domain import Allocation, InvoiceStatus, Settlement, XeroPayment
from bms_xero.errors import BmsXeroError
from bms_xero.storage._records import SyncState

__all__ = [
    "BmsStatus",
    "Panel",
    "PaymentUpdate",
    "PushAction",
    "PushFailure",
    "PushOutcome",
    "PushResult",
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
            gave one (``None`` otherwise). Non-zero means the BMS rounds differently.
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
