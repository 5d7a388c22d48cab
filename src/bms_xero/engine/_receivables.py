"""What the customer sees of an invoice Xero has: its online invoice link, and its email.

- The online invoice (pay) link is read once per invoice, with
  ``GET /Invoices/{InvoiceID}/OnlineInvoice``, and kept on the sync record: the panel shows it
  without asking Xero again. Xero has one only for approved invoices, so for a draft (or an
  invoice never pushed) there is nothing to ask.
- Emailing (``POST /Invoices/{InvoiceID}/Email``) happens at most once per invoice: the
  record's ``emailed_at`` is stored *before* the request is sent, and cleared only when Xero
  certainly did not send it (it refused, or the request never left). A crash after the
  claim, or an uncertain answer, leaves the invoice counted as emailed: a customer may miss
  one email (the panel shows when it was claimed), but never gets two.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from bms_xero.domain import InvoiceStatus
from bms_xero.engine._context import Context
from bms_xero.engine._records import record_error, save
from bms_xero.engine._results import PushAction, PushOutcome, PushResult
from bms_xero.errors import BmsXeroError, SyncError, UncertainOutcome
from bms_xero.storage._records import SyncRecord

__all__ = ["APPROVED", "Receivables"]

log = logging.getLogger("bms_xero.engine")

#: The statuses Xero has an online invoice for, and that an email marks sent.
APPROVED = frozenset({InvoiceStatus.AUTHORISED, InvoiceStatus.PAID})
#: What a record's Xero status is before its invoice is approved.
_UNAPPROVED = frozenset({InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED})
#: The push actions after which Xero holds what the BMS sent.
_SENT = frozenset({PushAction.CREATED, PushAction.ADOPTED, PushAction.UPDATED})


class Receivables:
    """Online invoice links and emails for one organisation's linked invoices."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def online_invoice_url(self, invoice_id: str) -> str | None:
        """The stored link, else Xero's (read once and stored) for an approved invoice;
        ``None`` for an invoice that is not linked or not approved (no request).

        Raises:
            BmsXeroError: Xero could not be read (naming the invoice).
        """
        record = self._ctx.store.get(self._ctx.tenant_id, invoice_id)
        if record is None or record.xero_invoice_id is None:
            return None
        if record.online_invoice_url is not None:
            return record.online_invoice_url
        if record.xero_status not in APPROVED:
            return None
        try:
            url = self._ctx.client.get_online_invoice_url(record.xero_invoice_id)
        except BmsXeroError as e:
            raise e.for_invoice(record.invoice_number) from e
        save(self._ctx.store, record, lambda r: r.evolve(online_invoice_url=url))
        return url

    def email_invoice(self, invoice_id: str) -> datetime:
        """Have Xero email the linked, approved invoice to its contact, unless it was
        emailed before; returns when it was (now, or the earlier time).

        Raises:
            SyncError: The invoice is not in Xero yet, or not approved there.
            BmsXeroError: Xero refused or could not be reached (recorded on the panel).
        """
        record = self._ctx.store.get(self._ctx.tenant_id, invoice_id)
        if record is None or record.xero_invoice_id is None:
            raise SyncError(
                "is not in Xero yet; push it before emailing it",
                invoice_number=invoice_id if record is None else record.invoice_number,
            )
        if record.emailed_at is not None:
            return record.emailed_at
        if record.xero_status not in APPROVED:
            status = record.xero_status or "not known yet"
            raise SyncError(
                f"is {status} in Xero; only an approved invoice can be emailed (approve it, "
                "or push it as AUTHORISED, first)",
                invoice_number=record.invoice_number,
            )
        return self._email(record)

    def email_pushed(
        self, before: Mapping[str, SyncRecord], outcomes: Sequence[PushOutcome]
    ) -> None:
        """Email each invoice the push made (or first saw) approved in Xero, once.

        ``before`` holds the records as they were before the push: an invoice updated from
        a draft into an approved one is emailed, one approved earlier is not (it was
        emailed then, or pushed before emailing was turned on). A failure is logged and kept
        on the record for the panel; the push itself succeeded.
        """
        for outcome in outcomes:
            if not isinstance(outcome, PushResult) or outcome.action not in _SENT:
                continue
            if outcome.xero_status != InvoiceStatus.AUTHORISED:
                continue
            earlier = before.get(outcome.invoice_id)
            if not (
                earlier is None
                or earlier.xero_invoice_id is None
                or earlier.xero_status in _UNAPPROVED
            ):
                continue
            record = self._ctx.store.get(self._ctx.tenant_id, outcome.invoice_id)
            if record is None or record.xero_invoice_id is None or record.emailed_at is not None:
                continue
            try:
                self._email(record)
            except BmsXeroError as e:
                log.warning("invoice %s was pushed but not emailed: %s", record.invoice_number, e)

    def _email(self, record: SyncRecord) -> datetime:
        """Claim the email on the record, send it, and give the claim back only if Xero
        certainly did not send it."""
        now = self._ctx.clock.now()
        won: list[bool] = []

        def claim(r: SyncRecord) -> SyncRecord | None:
            won.clear()
            if r.emailed_at is not None:
                return None  # emailed by someone else meanwhile
            won.append(True)
            return r.evolve(emailed_at=now)

        claimed = save(self._ctx.store, record, claim)
        sent_at = claimed.emailed_at
        assert sent_at is not None and claimed.xero_invoice_id is not None
        if not won:
            return sent_at
        number = claimed.invoice_number
        try:
            self._ctx.client.email_invoice(
                claimed.xero_invoice_id, idempotency_key=self._ctx.new_key()
            )
        except UncertainOutcome as e:
            uncertain = e.for_invoice(number)
            # It may have been sent: the claim stays, so it is never sent twice.
            self._record(claimed, f"{uncertain} (the email may have been sent; not sent again)")
            raise uncertain from e
        except BmsXeroError as e:
            named = e.for_invoice(number)
            save(
                self._ctx.store,
                claimed,
                lambda r: r.evolve(emailed_at=None) if r.emailed_at == sent_at else None,
            )
            self._record(claimed, f"{named} (not emailed)")
            raise named from e
        return sent_at

    def _record(self, record: SyncRecord, message: str) -> None:
        record_error(
            self._ctx.store,
            tenant_id=self._ctx.tenant_id,
            invoice_id=record.invoice_id,
            invoice_number=record.invoice_number,
            error=SyncError(message),
            now=self._ctx.clock.now(),
        )
