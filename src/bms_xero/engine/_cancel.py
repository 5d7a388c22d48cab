"""Cancel: the BMS cancelled an invoice, so Xero voids it (or deletes it while a draft).

The decisions are pure (:func:`bms_xero.engine.plan.cancel_status`, :func:`refusal`); this
module reads the record, settles an unconfirmed create first (a cancel must not leave behind
an invoice that landed unseen), and writes what Xero answered.
"""

from __future__ import annotations

from bms_xero.domain import Invoice, InvoiceStatus, XeroInvoice
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._context import Context
from bms_xero.engine._push import Pusher
from bms_xero.engine._records import save, tombstone
from bms_xero.engine._results import PushAction, PushResult
from bms_xero.errors import BmsXeroError, CreditNoteRequired, XeroValidationError
from bms_xero.mapping.wire import status_change
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.xero import InvoiceResult

__all__ = ["Canceller", "refusal"]


def refusal(
    invoice: Invoice, xero_invoice_id: str, result: InvoiceResult, held: XeroInvoice
) -> BmsXeroError | None:
    """Why Xero refused the cancel, given the invoice as it holds it now; ``None`` when it
    is void already (an earlier cancel whose answer was lost, or a person in Xero)."""
    if held.status in (InvoiceStatus.VOIDED, InvoiceStatus.DELETED):
        return None
    messages = [m.message for m in result.errors]
    if held.has_allocations or plan.is_edit_refused(messages):
        return CreditNoteRequired(
            invoice_number=invoice.number,
            xero_invoice_id=xero_invoice_id,
            xero_status=None if held.status is None else str(held.status),
            xero_messages=messages,
            cancelling=True,
        )
    return XeroValidationError(result.errors, status_code=200, invoice_number=invoice.number)


class Canceller:
    """Cancels invoices for one organisation: see :meth:`SyncEngine.cancel`."""

    def __init__(self, ctx: Context, *, pusher: Pusher) -> None:
        self._ctx = ctx
        self._pusher = pusher

    def cancel(self, invoice: Invoice) -> PushResult:
        """Void (or delete) the invoice in Xero and mark its record; see the engine.

        An unconfirmed create is looked up first: voiding nothing while a create landed
        unseen would leave a live invoice for a cancelled sale. A record already voided
        sends nothing. When Xero refuses, the invoice is read before blaming payments: it
        may be void already (an earlier cancel whose answer was lost, or a person in Xero),
        which is success.
        """
        record = self._ctx.store.get(self._ctx.tenant_id, invoice.id)
        if record is not None and record.xero_invoice_id is None and record.intent_key:
            record = self._pusher.settle_before_cancel(invoice, record)
        if record is None or record.xero_invoice_id is None:
            return self._tombstone(invoice, record)
        if record.state is SyncState.VOIDED:
            return pp.result_of(invoice, record, PushAction.VOIDED, None)
        xero_id = record.xero_invoice_id
        result = self._ctx.client.update_invoice(
            xero_id,
            status_change(xero_id, invoice.number, plan.cancel_status(record)),
            idempotency_key=self._ctx.new_key(),
        )
        held = result.invoice
        if not result.ok or held is None:
            # Maybe it is void already: look before blaming payments.
            held = self._ctx.client.get_invoice(xero_id)
            refused = refusal(invoice, xero_id, result, held)
            if refused is not None:
                raise refused
        final = held
        stored = save(
            self._ctx.store,
            record,
            lambda r: plan.apply_xero(
                r.evolve(
                    state=SyncState.VOIDED,
                    last_error=None,
                    last_error_at=None,
                    last_error_type=None,
                ),
                final,
                pulled_at=None,
                reported=plan.CANCELLED_STATUSES,
            ),
        )
        return pp.result_of(invoice, stored, PushAction.VOIDED, final)

    def _tombstone(self, invoice: Invoice, record: SyncRecord | None) -> PushResult:
        """Never in Xero: leave a tombstone so no later push (a queued retry) creates it.

        A record is written even when there was none: the cancel may come before a push job
        that is still queued, and only a stored "voided" stops that job creating it.
        """
        if record is None:
            stored = self._ctx.store.put(
                SyncRecord(
                    tenant_id=self._ctx.tenant_id,
                    invoice_id=invoice.id,
                    invoice_number=invoice.number,
                    state=SyncState.VOIDED,
                ),
                expected_version=None,
            )
        else:
            stored = save(self._ctx.store, record, tombstone)
        return pp.result_of(invoice, stored, PushAction.VOIDED, None)
