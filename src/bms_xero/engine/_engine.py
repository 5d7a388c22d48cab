"""SyncEngine: push BMS invoices to one Xero organisation, pull payments back.

A thin facade. Each operation lives in its own module, findable from the tree:

- push (:mod:`._push`, decisions in :mod:`.push_plan`): gather, plan, apply, replan;
- pull and delivery (:mod:`._pull`, decisions in :mod:`.plan`): learn, move cursors, tell;
- cancel (:mod:`._cancel`);
- the reference-data cache (:mod:`._reference`) and record writes (:mod:`._records`).

The engine itself holds the configuration and answers the panel from the store alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from bms_xero.clock import Clock, SystemClock
from bms_xero.domain import Customer, Invoice, Organisation
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._cancel import Canceller
from bms_xero.engine._context import Context
from bms_xero.engine._ports import PaymentSink, XeroApi
from bms_xero.engine._pull import Puller
from bms_xero.engine._push import Pusher
from bms_xero.engine._records import record_error
from bms_xero.engine._reference import ReferenceCache
from bms_xero.engine._results import Panel, PaymentUpdate, PushOutcome, PushResult
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping.wire import contact_payload
from bms_xero.storage._protocols import SyncStore
from bms_xero.storage._records import SyncState

if TYPE_CHECKING:
    from bms_xero.jobs import InvoiceSource, JobStore, RunReport

__all__ = ["SyncEngine"]


class SyncEngine:
    """Keeps one Xero organisation in step with the BMS's invoices.

    Args:
        client: The Xero client for the organisation (``XeroClient``, or ``FakeXero.client()``).
        store: Sync records, cursors and customer links (``MemoryStore``, ``SQLiteStore`` or
            the host's own implementation of ``SyncStore``).
        tax_map: BMS tax code → Xero TaxType, e.g. ``{"GST15": "OUTPUT2"}``.
        payment_sink: Told each change pulled from Xero, until it accepts it (optional;
            :meth:`pull` also returns them).
        clock: The time source; defaults to the system clock.
        reference_ttl: Seconds to cache the chart of accounts, tax rates and organisation.
        new_key: Makes Idempotency-Keys (override for deterministic tests).
        tenant_id: The organisation; defaults to the client's.
    """

    def __init__(
        self,
        *,
        client: XeroApi,
        store: SyncStore,
        tax_map: TaxMap | Mapping[str, str],
        payment_sink: PaymentSink | None = None,
        clock: Clock | None = None,
        reference_ttl: float = 3600.0,
        new_key: Callable[[], str] | None = None,
        tenant_id: str | None = None,
    ) -> None:
        tenant = tenant_id or client.tenant_id
        if not tenant:
            raise ConfigurationError(
                "SyncEngine needs a tenant id: pass tenant_id= or a client bound to one "
                "(e.g. client.with_tenant(tenant_id))"
            )
        if reference_ttl < 0:
            raise ConfigurationError("reference_ttl must be >= 0 seconds")
        self.tenant_id: str = tenant
        self._client = client
        self._store = store
        self._tax_map = TaxMap.of(tax_map)
        self._clock: Clock = clock or SystemClock()
        self._new_key = new_key or (lambda: str(uuid.uuid4()))
        self._reference = ReferenceCache(client, self._clock, reference_ttl)
        ctx = Context(
            tenant_id=tenant, client=client, store=store, clock=self._clock, new_key=self._new_key
        )
        self._pusher = Pusher(ctx, tax_map=self._tax_map, reference=self._reference)
        self._puller = Puller(ctx, sink=payment_sink)
        self._canceller = Canceller(ctx, pusher=self._pusher)

    def __repr__(self) -> str:
        return f"SyncEngine(tenant_id={self.tenant_id!r})"

    def organisation(self, *, refresh: bool = False) -> Organisation:
        """The organisation (name, ShortCode, base currency), cached for the engine's life."""
        return self._reference.organisation(refresh=refresh)

    # --- customers -----------------------------------------------------------------------

    def link_customer(self, customer: Customer) -> Customer:
        """Find the customer's Xero contact (by ContactNumber) or create it; record the link.

        The ContactNumber is ``customer.contact_number`` or else the BMS customer id. Returns
        the customer with ``xero_contact_id`` set; later pushes of its invoices use the link
        even when the host's Customer lacks the id.

        Raises:
            ConfigurationError: The ContactNumber would be longer than Xero's 50 characters.
            XeroValidationError: Xero refused to create the contact (its words are kept).
        """
        number = customer.contact_number or customer.id
        if len(number) > 50:
            raise ConfigurationError(
                f"customer {customer.id}: Xero ContactNumbers hold at most 50 characters; set "
                "Customer.contact_number to a shorter key"
            )
        if customer.xero_contact_id is not None:
            contact_id = customer.xero_contact_id
        else:
            found = self._client.find_contact_by_number(number)
            if found is not None:
                contact_id = found.contact_id
            else:
                [made] = self._client.create_contacts(
                    [contact_payload(customer, number)], idempotency_key=self._new_key()
                )
                if not made.ok or made.contact is None:
                    raise XeroValidationError(
                        made.errors or (XeroValidationMessage("Xero returned no contact"),),
                        status_code=200,
                    )
                contact_id = made.contact.contact_id
        self._store.set_contact_id(self.tenant_id, customer.id, contact_id)
        return customer.with_xero_contact_id(contact_id)

    # --- push ----------------------------------------------------------------------------

    def push(self, invoice: Invoice, *, force: bool = False) -> PushResult:
        """Create or update the one Xero invoice linked to this BMS invoice.

        An unchanged invoice sends nothing (unless ``force``). See :meth:`push_many` for the
        guarantees.

        Raises:
            BmsXeroError: The typed reason, naming the invoice (preflight, Xero's validation,
                rate limits, :class:`~bms_xero.errors.CreditNoteRequired`, ...).
        """
        return self.push_many([invoice], force=force)[0].unwrap()

    def push_many(self, invoices: Iterable[Invoice], *, force: bool = False) -> list[PushOutcome]:
        """Push many invoices: creates and updates go up to 50 per request.

        Each invoice gets its own outcome (a :class:`PushResult` or a
        :class:`PushFailure`), in input order; one bad invoice never fails or duplicates
        the others. Exactly one Xero invoice per BMS invoice, whatever fails: the intent is
        stored before each create, and a record with an unconfirmed create is looked up by
        number (its intent's and its current one) before anything is created again; Xero's
        unique invoice numbers are the last guard.
        """
        items = list(invoices)
        for raw in items:
            if not isinstance(raw, Invoice):  # before any I/O: nothing half-done
                raise TypeError(f"push_many takes Invoice objects, got {type(raw).__name__}")
        return self._pusher.push_many(items, force=force)

    def cancel(self, invoice: Invoice) -> PushResult:
        """The BMS cancelled the invoice: void it in Xero (delete it if still a draft).

        Afterwards pushes of the invoice are refused. Cancelling twice, or an invoice already
        voided in Xero, returns the VOIDED result; an invoice Xero never had gets a result
        with no Xero id (and is never created later).

        Raises:
            CreditNoteRequired: Xero refuses because payments or credits are allocated:
                raise a credit note in the BMS for the full amount instead.
            BmsXeroError: Xero could not be reached (recorded on the panel, naming the invoice).
        """
        invoice = self._pusher.linked(invoice)
        try:
            return self._canceller.cancel(invoice)
        except BmsXeroError as e:
            named = e.for_invoice(invoice.number)
            record_error(
                self._store,
                tenant_id=self.tenant_id,
                invoice_id=invoice.id,
                invoice_number=invoice.number,
                error=named,
                now=self._clock.now(),
            )
            raise named from e

    # --- pull ----------------------------------------------------------------------------

    def pull(self) -> list[PaymentUpdate]:
        """Bring payments and status changes back from Xero, since the last pull.

        Two steps. Learn: read the sales invoices changed since the stored cursor, then the
        payments changed since theirs (a payment need not touch its invoice's timestamp),
        each oldest first with keyset paging so nothing changing meanwhile is skipped, and
        store what Xero holds on each linked record, a page at a time. Cursors then advance
        to Xero's own timestamps, never past an invoice whose link is still being written.
        Deliver: tell the sink about every record whose Xero state differs from what the
        host was last told (:meth:`deliver`), and return those updates.

        Raises:
            PaymentDeliveryFailed: The sink raised for some updates (they are delivered
                again next time; the rest were delivered).
        """
        return self._puller.pull()

    def deliver(self) -> list[PaymentUpdate]:
        """Tell the sink every change Xero holds that the host has not accepted yet.

        The outbox is the records whose ``money_version`` is ahead of their ``told_version``;
        each gets one absolute update, marked told only after the sink's ``apply`` returned.
        Runs at the end of every :meth:`pull`; call it alone to retry after a sink failure
        (it asks Xero nothing, except to read a record whose amounts came without their
        allocations). Returns the updates delivered (all of them when there is no sink: the
        return value is the telling).

        Raises:
            PaymentDeliveryFailed: The sink raised for some updates; they stay in the outbox.
        """
        return self._puller.deliver()

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """Refresh the given BMS invoices from Xero now (manual sync, webhooks).

        Invoices never pushed are skipped. Cursors are not moved. What these invoices owe
        the host is delivered (only theirs: :meth:`deliver` runs the whole outbox).

        Raises:
            PaymentDeliveryFailed: The sink raised (the update is delivered again later).
        """
        return self._puller.pull_invoices(invoice_ids)

    def import_link(self, *, invoice_id: str, invoice_number: str, xero_invoice_id: str) -> Panel:
        """Link a BMS invoice to a Xero invoice that exists already (a migration from another
        integration, invoices raised in Xero by hand), then read it.

        The link is stored first and the invoice read after, so nothing the invoice does is
        missed: what happened before is in that read (its payments reach the sink like any
        news), what happens after is stamped later and found by the next pull (the cursors are
        seeded here if this is the store's first link). The next push of the invoice sends
        its content (what Xero holds is unknown to us), or raises
        :class:`~bms_xero.errors.CreditNoteRequired` if it was paid. Calling it again is
        harmless: a failed read can simply be retried.

        Raises:
            ConfigurationError: The invoice is linked to another Xero invoice already, or the
                Xero invoice is not a sales invoice with this number (a link this call made
                is taken back; an earlier one stays).
            BmsXeroError: Xero could not be read (likewise, nothing of this call stays).
            PaymentDeliveryFailed: The sink raised on the invoice's news (delivered later).
        """
        self._puller.import_link(
            invoice_id=invoice_id, invoice_number=invoice_number, xero_invoice_id=xero_invoice_id
        )
        return self.panel(invoice_id)

    # --- panel and manual sync -----------------------------------------------------------

    def panel(self, invoice_id: str) -> Panel:
        """What the BMS shows beside the invoice; all ``None`` for one never pushed.

        Reads the store only, always: a panel must render while Xero is down.
        """
        record = self._store.get(self.tenant_id, invoice_id)
        if record is None:
            return Panel(invoice_id=invoice_id)
        return Panel(
            invoice_id=invoice_id,
            invoice_number=record.invoice_number,
            linked=record.xero_invoice_id is not None,
            state=record.state,
            xero_invoice_id=record.xero_invoice_id,
            view_url=pp.view_url_of(record),
            last_push_at=record.last_push_at,
            last_pull_at=record.last_pull_at,
            status=plan.bms_status(record),
            xero_status=plan.known_status(record.xero_status),
            total=record.total,
            amount_due=record.amount_due,
            amount_paid=record.amount_paid,
            amount_credited=record.amount_credited,
            settlement=record.settlement,
            fully_paid_on=record.fully_paid_on,
            last_error=record.last_error,
            last_error_at=record.last_error_at,
            delivery_pending=record.delivery_due,
        )

    def sync(self, invoice: Invoice) -> Panel:
        """The "Sync Invoice with Xero Invoice" button: push now, then pull this invoice.

        The push is forced (sent even if unchanged) unless Xero already has this content and
        no longer accepts edits (paid, credited, voided), where resending could only fail.

        Raises:
            BmsXeroError: The push failed (the panel's ``last_error`` says the same).
        """
        record = self._store.get(self.tenant_id, invoice.id)
        if record is None or record.state is not SyncState.VOIDED:
            self.push(invoice, force=not plan.edits_locked(record))
        self.pull_invoices([invoice.id])
        return self.panel(invoice.id)

    # --- background jobs -----------------------------------------------------------------

    def run_pending(
        self,
        *,
        jobs: JobStore,
        source: InvoiceSource,
        max_jobs: int | None = None,
        worker_id: str | None = None,
        lease_seconds: float = 600.0,
    ) -> RunReport:
        """Run this tenant's due background jobs now (see :class:`bms_xero.jobs.Worker`).

        Pushes load each invoice from ``source`` as it is when its job runs, in batches of
        up to 50; failures are retried, parked or failed per their type and recorded on the
        job. For a long-running worker, several tenants or backoff settings, build a
        ``Worker`` yourself.
        """
        from bms_xero.jobs import Worker  # the jobs layer sits above the engine

        worker = Worker(
            self,
            jobs,
            source,
            clock=self._clock,
            worker_id=worker_id,
            lease_seconds=lease_seconds,
        )
        return worker.run_pending(max_jobs=max_jobs)
