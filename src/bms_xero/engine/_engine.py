"""SyncEngine: push BMS invoices to one Xero organisation, pull payments back.

A thin facade. Each operation lives in its own module, findable from the tree:

- push (:mod:`._push`, decisions in :mod:`.push_plan`): gather, plan, apply, replan;
- pull and delivery (:mod:`._pull`, decisions in :mod:`.plan`): learn, move cursors, tell;
- cancel (:mod:`._cancel`);
- receivables details: online invoice links and emails (:mod:`._receivables`), contacts
  archived or merged in Xero (:mod:`._contacts`);
- the reference-data cache (:mod:`._reference`) and record writes (:mod:`._records`).

The engine itself holds the configuration and answers the panel from the store alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.domain import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceStatus,
    Organisation,
    XeroContact,
    XeroInvoice,
)
from bms_xero.engine import credit_plan as cp
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._cancel import Canceller
from bms_xero.engine._contacts import Contacts
from bms_xero.engine._context import Context
from bms_xero.engine._credit import CreditNotePusher
from bms_xero.engine._ports import PaymentSink, XeroApi
from bms_xero.engine._pull import Puller
from bms_xero.engine._push import Pusher
from bms_xero.engine._receivables import Receivables
from bms_xero.engine._records import record_error
from bms_xero.engine._reference import ReferenceCache
from bms_xero.engine._results import (
    CreditNoteLink,
    CreditNoteOutcome,
    CreditNotePushResult,
    Panel,
    PaymentUpdate,
    PushOutcome,
    PushResult,
)
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    CreditNoteMismatch,
    SyncError,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._rounding import RoundingPolicy
from bms_xero.mapping.wire import contact_payload
from bms_xero.storage._protocols import CreditNoteStore, SyncStore
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
        credit_notes: Where credit note records are kept; defaults to ``store`` when it
            implements :class:`~bms_xero.storage.CreditNoteStore` (both built-in stores do).
        mark_sent: Send approved invoices with ``SentToContact: true``, so Xero's invoice
            reminders include them (Xero skips invoices not marked sent).
        email_invoices: Have Xero email each invoice to its contact, once, when a push
            creates it approved or approves a draft (``POST /Invoices/{InvoiceID}/Email``,
            which marks it sent too). See :meth:`email_invoice`.
        rounding: Opt-in: add a rounding line when an invoice's ``total`` (the BMS's) and
            Xero's per-line total differ by a few cents (see
            :class:`~bms_xero.mapping.RoundingPolicy`); off by default. The difference is
            reported either way (``PushResult.rounding_difference`` and
            ``rounding_adjustment``).
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
        credit_notes: CreditNoteStore | None = None,
        mark_sent: bool = False,
        email_invoices: bool = False,
        rounding: RoundingPolicy | None = None,
    ) -> None:
        tenant = tenant_id or client.tenant_id
        if not tenant:
            raise ConfigurationError(
                "SyncEngine needs a tenant id: pass tenant_id= or a client bound to one "
                "(e.g. client.with_tenant(tenant_id))"
            )
        if reference_ttl < 0:
            raise ConfigurationError("reference_ttl must be >= 0 seconds")
        if rounding is not None and not isinstance(rounding, RoundingPolicy):
            raise ConfigurationError(
                "rounding must be a RoundingPolicy, e.g. RoundingPolicy(max_difference='0.02')"
            )
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
        self._contacts = Contacts(ctx, self._reference)
        self._receivables = Receivables(ctx)
        self._email_invoices = bool(email_invoices)
        self._pusher = Pusher(
            ctx,
            tax_map=self._tax_map,
            reference=self._reference,
            mark_sent=bool(mark_sent),
            contacts=self._contacts,
            rounding=rounding,
        )
        self._puller = Puller(ctx, sink=payment_sink)
        self._canceller = Canceller(ctx, pusher=self._pusher)
        if credit_notes is None and isinstance(store, CreditNoteStore):
            credit_notes = store
        self._credit_store = credit_notes
        self._credits = (
            None
            if credit_notes is None
            else CreditNotePusher(
                ctx,
                credit_notes=credit_notes,
                tax_map=self._tax_map,
                reference=self._reference,
                read_back=self._puller.pull_invoices,
                linked=self._linked_note,
            )
        )

    def __repr__(self) -> str:
        return f"SyncEngine(tenant_id={self.tenant_id!r})"

    def organisation(self, *, refresh: bool = False) -> Organisation:
        """The organisation (name, ShortCode, base currency), cached for the engine's life."""
        return self._reference.organisation(refresh=refresh)

    # --- customers -----------------------------------------------------------------------

    def link_customer(self, customer: Customer) -> Customer:
        """Find the customer's Xero contact (by ContactNumber, else by name) or create it;
        record the link.

        The ContactNumber is ``customer.contact_number`` or else the BMS customer id. When no
        contact has it, an active contact with the customer's name (Xero keeps names unique)
        is linked, unless it carries another ContactNumber (then it is another customer's).
        A contact merged into another in Xero is followed to the one kept. Returns the
        customer with ``xero_contact_id`` set; later pushes of its invoices use the link even
        when the host's Customer lacks the id.

        Raises:
            ConfigurationError: The ContactNumber would be longer than Xero's 50 characters.
            SyncError: The name belongs to a contact with another ContactNumber.
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
            found = self._client.find_contact_by_number(number) or self._named(customer, number)
            if found is not None:
                contact_id = self._contacts.survivor(found).contact_id
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

    def _named(self, customer: Customer, number: str) -> XeroContact | None:
        """The active contact with the customer's name, if it can be this customer's."""
        found = self._client.find_contact_by_name(customer.name)
        if found is None:
            return None
        if found.contact_number and found.contact_number != number:
            raise SyncError(
                f"customer {customer.id} ({customer.name}): Xero already has a contact named "
                f"{found.name!r} with ContactNumber {found.contact_number!r}, another "
                "customer's; give this customer a distinct name, or link it to that contact "
                "by passing Customer(xero_contact_id=...)"
            )
        return found

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
        if not self._email_invoices:
            return self._pusher.push_many(items, force=force)
        before = self._store.get_many(self.tenant_id, (i.id for i in items))
        outcomes = self._pusher.push_many(items, force=force)
        self._receivables.email_pushed(before, outcomes)
        return outcomes

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

    # --- credit notes --------------------------------------------------------------------

    def push_credit_note(
        self, note: CreditNote, *, over_credit: cp.OverCredit = cp.OverCredit.REFUSE
    ) -> CreditNotePushResult:
        """Create the credit note in Xero and allocate it to its invoice's Xero invoice.

        The correction after payment: Xero can't edit an invoice with payments on it, so the
        BMS credits the difference. See :meth:`push_credit_notes` for the guarantees.

        Raises:
            BmsXeroError: The typed reason, naming the credit note and its invoice
                (:class:`~bms_xero.errors.CreditNoteExceedsAmountDue`,
                :class:`~bms_xero.errors.CreditNoteMismatch`, preflight, Xero's words...).
        """
        return self.push_credit_notes([note], over_credit=over_credit)[0].unwrap()

    def push_credit_notes(
        self,
        notes: Iterable[CreditNote],
        *,
        over_credit: cp.OverCredit = cp.OverCredit.REFUSE,
    ) -> list[CreditNoteOutcome]:
        """Push many credit notes: creates go up to 50 per request, each note is allocated.

        Each credit note gets its own outcome, in input order. Exactly one Xero credit note
        per BMS credit note, allocated once, whatever fails: the create's intent is stored
        before the create and an unconfirmed one is looked up by number before anything is
        created again; the allocation's intent is stored before the allocation and an
        unconfirmed one is checked against the credit note's allocations before allocating
        again. Checked before anything is sent: the invoice is linked and approved in Xero,
        the customer and currency are the invoice's, accounts and tax codes (as for
        invoices), and that the credit note is worth no more than the invoice still owes
        (else ``over_credit`` decides: refuse, allocate what is owed, or allocate nothing).
        Afterwards the credited invoices are read back, so the PaymentSink hears of the
        credit as of any change.

        Raises:
            ConfigurationError: The engine has no credit note store.
            TypeError: Something other than a CreditNote was given (nothing is sent).
        """
        items = list(notes)
        for raw in items:
            if not isinstance(raw, CreditNote):
                raise TypeError(
                    f"push_credit_notes takes CreditNote objects, got {type(raw).__name__}"
                )
        return self._credit_pusher().push_many(items, over_credit=cp.OverCredit(over_credit))

    def correction_credit_note(
        self,
        corrected: Invoice,
        *,
        credit_note_id: str,
        number: str,
        issue_date: date | None = None,
        tax_codes: Mapping[str, str] | None = None,
    ) -> CreditNote:
        """The credit note that turns what Xero holds for this invoice into ``corrected``.

        Reads the linked Xero invoice (one request), then compares line amounts by account
        and TaxType (see :func:`bms_xero.engine.credit_plan.correction`). Push the result
        with :meth:`push_credit_note`.

        Raises:
            CreditNoteMismatch: The invoice was never pushed.
            CorrectionNotACredit: The correction adds to some account, or changes nothing.
            BmsXeroError: Xero could not be read.
        """
        return cp.correction(
            corrected,
            self._held(corrected),
            tax_map=self._tax_map,
            credit_note_id=credit_note_id,
            number=number,
            issue_date=issue_date or self._clock.now().date(),
            tax_codes=tax_codes,
        )

    def cancellation_credit_note(
        self,
        invoice: Invoice,
        *,
        credit_note_id: str,
        number: str,
        issue_date: date | None = None,
        tax_codes: Mapping[str, str] | None = None,
    ) -> CreditNote:
        """A credit note for everything Xero holds on the invoice: how to cancel an invoice
        Xero can't void because payments or credits are on it.

        Built from the Xero invoice (one request), not from the BMS's lines, which may have
        changed since (an edit Xero refused). Push it with
        ``over_credit=OverCredit.ALLOCATE_DUE``: what is still owed is credited, what was
        paid is left as credit to refund.

        Raises:
            CreditNoteMismatch: The invoice was never pushed.
            CorrectionNotACredit: Xero holds nothing to credit.
            BmsXeroError: Xero could not be read.
        """
        return cp.full_credit(
            invoice,
            self._held(invoice),
            tax_map=self._tax_map,
            credit_note_id=credit_note_id,
            number=number,
            issue_date=issue_date or self._clock.now().date(),
            tax_codes=tax_codes,
        )

    def _held(self, invoice: Invoice) -> XeroInvoice:
        """The Xero invoice linked to this BMS invoice, read now."""
        record = self._store.get(self.tenant_id, invoice.id)
        if record is None or record.xero_invoice_id is None:
            raise CreditNoteMismatch(reason="not_pushed", invoice_number=invoice.number)
        return self._client.get_invoice(record.xero_invoice_id)

    def _credit_pusher(self) -> CreditNotePusher:
        if self._credits is None:
            raise ConfigurationError(
                "this engine has no store for credit notes: its store does not implement "
                "CreditNoteStore; pass credit_notes= (MemoryStore and SQLiteStore implement it)"
            )
        return self._credits

    def _linked_note(self, note: CreditNote) -> CreditNote:
        """The note with its customer's Xero contact filled in from the store's links."""
        if note.customer.xero_contact_id is not None:
            return note
        contact_id = self._store.get_contact_id(self.tenant_id, note.customer.id)
        if contact_id is None:
            return note
        return attrs.evolve(note, customer=note.customer.with_xero_contact_id(contact_id))

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

    # --- receivables ---------------------------------------------------------------------

    def online_invoice_url(self, invoice_id: str) -> str | None:
        """The customer's online invoice (pay) link for this BMS invoice.

        Read from Xero once (``GET /Invoices/{InvoiceID}/OnlineInvoice``) for an invoice
        approved in Xero (AUTHORISED or PAID, as its record says), then kept on its sync
        record: later calls, and :meth:`panel`, ask Xero nothing. ``None`` without a request
        for an invoice never pushed or not approved (a draft has no online invoice).

        Raises:
            BmsXeroError: Xero could not be read, or refused (naming the invoice).
        """
        return self._receivables.online_invoice_url(invoice_id)

    def email_invoice(self, invoice_id: str) -> datetime:
        """Have Xero email this invoice to its contact (``POST /Invoices/{InvoiceID}/Email``),
        which also marks it sent, so Xero's reminders include it.

        At most once per invoice: an invoice emailed before (by this call or by
        ``email_invoices=True``) is not emailed again, and the earlier time is returned. The
        time is stored before the request; it is given back only if Xero certainly sent
        nothing, so a failure the answer leaves uncertain is never sent twice.

        Raises:
            SyncError: The invoice is not in Xero yet, or not approved there.
            BmsXeroError: Xero refused (a contact with no email address, say) or could not be
                reached; the panel's ``last_error`` says the same.
        """
        return self._receivables.email_invoice(invoice_id)

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
            credit_notes=self._credit_links(invoice_id),
            online_invoice_url=None
            if record.xero_status in (InvoiceStatus.VOIDED, InvoiceStatus.DELETED)
            else record.online_invoice_url,
            emailed_at=record.emailed_at,
        )

    def _credit_links(self, invoice_id: str) -> tuple[CreditNoteLink, ...]:
        if self._credit_store is None:
            return ()
        return tuple(
            CreditNoteLink(
                credit_note_id=r.credit_note_id,
                credit_note_number=r.credit_note_number,
                state=r.state,
                allocated=r.allocated,
                refund_due=r.remaining_credit,
                view_url=r.view_url,
                last_error=r.last_error,
            )
            for r in self._credit_store.credit_notes_for_invoice(self.tenant_id, invoice_id)
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
