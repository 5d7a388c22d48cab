"""The engine's decisions, as pure functions: literal in, literal out, no I/O.

The engine gathers (records, Xero's answers), asks these functions what to do, then applies
the answer through the client and the stores. Every hard decision (create or update, adopt or
conflict, what a pull changed) is tested here without a network.
"""

from __future__ import annotations

import enum
import hashlib
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs

from bms_xero.domain import Invoice, InvoiceStatus, XeroInvoice
from bms_xero.engine.results import BmsStatus, PaymentUpdate
from bms_xero.mapping.wire import encode_json
from bms_xero.storage.records import SyncRecord, SyncState

__all__ = [
    "Resolution",
    "Step",
    "apply_xero",
    "content_hash",
    "deep_link",
    "fingerprint",
    "is_duplicate_number",
    "is_edit_refused",
    "payment_update",
    "resolve",
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


def content_hash(encoded: bytes) -> str:
    """The fingerprint of an already encoded payload."""
    return hashlib.sha256(encoded).hexdigest()


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


def deep_link(xero_invoice_id: str, short_code: str | None) -> str:
    """ "View Xero Invoice": opens the invoice, in the right organisation when the ShortCode is
    known (otherwise Xero opens it in the organisation the user last used)."""
    target = f"/AccountsReceivable/View.aspx?InvoiceID={urllib.parse.quote(xero_invoice_id)}"
    if short_code is None:
        return f"https://go.xero.com{target}"
    return (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode="
        f"{urllib.parse.quote(short_code, safe='')}&redirecturl={target}"
    )


def _status(record: SyncRecord) -> BmsStatus | None:
    if record.xero_status is None:
        return None
    return BmsStatus.of(
        record.xero_status,
        amount_paid=record.amount_paid or Decimal(0),
        amount_credited=record.amount_credited or Decimal(0),
    )


def apply_xero(record: SyncRecord, xero: XeroInvoice, *, pulled_at: datetime | None) -> SyncRecord:
    """The record updated with what Xero says about its invoice now."""
    changes: dict[str, Any] = {
        "xero_status": None if xero.status is None else str(xero.status),
        "total": xero.total,
        "amount_due": xero.amount_due,
        "amount_paid": xero.amount_paid,
        "amount_credited": xero.amount_credited,
        "fully_paid_on": xero.fully_paid_on,
        "xero_updated_at": xero.updated_at or record.xero_updated_at,
    }
    if pulled_at is not None:
        changes["last_pull_at"] = pulled_at
    if xero.status in (InvoiceStatus.VOIDED, InvoiceStatus.DELETED):
        changes["state"] = SyncState.VOIDED
    return attrs.evolve(record, **changes)


def payment_update(record: SyncRecord, xero: XeroInvoice) -> PaymentUpdate | None:
    """The change to hand to the host, or ``None`` when Xero's view did not change."""
    before = (
        record.xero_status,
        record.amount_paid,
        record.amount_due,
        record.amount_credited,
        record.fully_paid_on,
    )
    after = (
        None if xero.status is None else str(xero.status),
        xero.amount_paid,
        xero.amount_due,
        xero.amount_credited,
        xero.fully_paid_on,
    )
    if before == after:
        return None
    return PaymentUpdate(
        invoice_id=record.invoice_id,
        invoice_number=record.invoice_number,
        xero_invoice_id=xero.invoice_id or record.xero_invoice_id or "",
        status=BmsStatus.of(
            xero.status, amount_paid=xero.amount_paid, amount_credited=xero.amount_credited
        ),
        xero_status=xero.status,
        total=xero.total,
        amount_paid=xero.amount_paid,
        amount_due=xero.amount_due,
        amount_credited=xero.amount_credited,
        fully_paid_on=xero.fully_paid_on,
        payments=xero.payments,
        xero_updated_at=xero.updated_at,
        previous_status=_status(record),
    )
