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
    XeroInvoice,
)
from bms_xero.engine import credit_plan as cp
from bms_xero.engine import plan
from bms_xero.engine import push_plan as pp
from bms_xero.engine._cancel import Canceller
from bms_xero.engine._contacts import Contacts
from bms_xero.engine._context import Context
from bms_xero.engine._credit import CreditNotePusher
from bms_xero.engine._customers import (
    CustomerLinker,
    CustomerLinkFailure,
    CustomerLinkOutcome,
)
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
    PushFailure,
    PushOutcome,
    PushResult,
    SyncOutcome,
    SyncOutcomeKind,
)
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    CreditNoteMismatch,
    DailyLimitReached,
    PaymentDeliveryFailed,
    PushInProgress,
    RateLimited,
    UncertainOutcome,
    VersionConflict,
)
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._rounding import RoundingPolicy
from bms_xero.storage._protocols import CreditNoteStore, SyncStore
from bms_xero.storage._records import SyncState
from bms_xero.xero._limits import LimitState, RateLimiter

if TYPE_CHECKING:
    from bms_xero.jobs import InvoiceSource, Job, JobStore, RunReport

__all__ = ["SyncEngine"]

#: Xero's limit of requests in flight per organisation.
MAX_IN_FLIGHT = 5


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
        auto_link_customers: A push links each customer that has no Xero contact yet
            itself, as :meth:`link_customer` does (found by ContactNumber, then by name,
            else created), instead of refusing its invoices with
            :class:`~bms_xero.errors.MissingContactId`. Off by default: creating contacts
            is a choice the host makes.
        max_in_flight: Requests a push (or a pull) may have in flight at once for this
            organisation: Xero allows 5, and the client's rate limiter keeps every request
            inside that and the minute budget. The store is then called from that many
            threads: pass 1 for a host store that is not thread-safe (the built-in ones are).
            Results still come in input order, and exactly-once is unchanged: every create's
            intent is stored before its request is sent.
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
        auto_link_customers: bool = False,
        max_in_flight: int = 5,
    ) -> None:
        tenant = tenant_id or client.tenant_id
        if not tenant:
            raise ConfigurationError(
                "SyncEngine needs a tenant id: pass tenant_id= or a client bound to one "
                "(e.g. client.with_tenant(tenant_id))"
            )
        if reference_ttl < 0:
            raise ConfigurationError("reference_ttl must be >= 0 seconds")
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int) or not (
            1 <= max_in_flight <= MAX_IN_FLIGHT
        ):
            raise ConfigurationError(
                f"max_in_flight must be a whole number from 1 to {MAX_IN_FLIGHT} (Xero allows "
                f"{MAX_IN_FLIGHT} requests in flight per organisation), not {max_in_flight!r}"
            )
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
        self._reference = ReferenceCache(
            client, self._clock, reference_ttl, parallel=max_in_flight > 1
        )
        ctx = Context(
            tenant_id=tenant, client=client, store=store, clock=self._clock, new_key=self._new_key
        )
        self._contacts = Contacts(ctx, self._reference)
        self._linker = CustomerLinker(ctx, self._contacts)
        self._auto_link = bool(auto_link_customers)
        self._receivables = Receivables(ctx)
        self._email_invoices = bool(email_invoices)
        self._pusher = Pusher(
            ctx,
            tax_map=self._tax_map,
            reference=self._reference,
            mark_sent=bool(mark_sent),
            contacts=self._contacts,
            rounding=rounding,
            max_in_flight=max_in_flight,
        )
        self._puller = Puller(ctx, sink=payment_sink, max_in_flight=max_in_flight)
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
        return self._linker.link([customer])[0].unwrap()

    def link_customers(self, customers: Iterable[Customer]) -> list[CustomerLinkOutcome]:
        """:meth:`link_customer` for many customers: one outcome each, in order.

        Contacts are looked up one customer at a time (by ContactNumber, then by name) and
        the missing ones created up to 50 per request. One customer's failure is its own
        :class:`~bms_xero.engine.CustomerLinkFailure`; the others are linked.
        """
        items = list(customers)
        for raw in items:
            if not isinstance(raw, Customer):  # before any I/O
                raise TypeError(f"link_customers takes Customer objects, got {type(raw).__name__}")
        return self._linker.link(items)

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
        if self._auto_link:
            stopped = self._link_for_push(items)
            if stopped:
                rest = self.push_many([i for i in items if i.id not in stopped], force=force)
                pushed = iter(rest)
                return [stopped[i.id] if i.id in stopped else next(pushed) for i in items]
        if not self._email_invoices:
            return self._pusher.push_many(items, force=force)
        before = self._store.get_many(self.tenant_id, (i.id for i in items))
        outcomes = self._pusher.push_many(items, force=force)
        self._receivables.email_pushed(before, outcomes)
        return outcomes

    def _link_for_push(self, invoices: list[Invoice]) -> dict[str, PushOutcome]:
        """Link the customers of these invoices that have no Xero contact yet; the invoices
        of a customer that could not be linked fail with that customer's error."""
        unlinked = {
            inv.customer.id: inv.customer
            for inv in invoices
            if inv.customer.xero_contact_id is None
            and self._store.get_contact_id(self.tenant_id, inv.customer.id) is None
        }
        if not unlinked:
            return {}
        failed = {
            outcome.customer_id: outcome.error
            for outcome in self._linker.link(list(unlinked.values()))
            if isinstance(outcome, CustomerLinkFailure)
        }
        return {
            inv.id: PushFailure(
                invoice_id=inv.id,
                invoice_number=inv.number,
                error=failed[inv.customer.id].for_invoice(inv.number),
            )
            for inv in invoices
            if inv.customer.id in failed
        }

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

        Reads the store only, always, even on an engine's first use: a panel must render
        at once while Xero is down or slow (the deep link was stored with the push). For
        what to show people, build a :class:`bms_xero.views.PanelView` from it.
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
            last_error_type=record.last_error_type,
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

    def sync(
        self,
        invoice: Invoice,
        *,
        deadline: float | None = None,
        jobs: JobStore | None = None,
    ) -> SyncOutcome:
        """The "Sync Invoice with Xero Invoice" button: push now, then read this invoice back.

        The push is forced (sent even if unchanged) unless Xero already has this content and
        no longer accepts edits (paid, credited, voided), where resending could only fail; a
        cancelled invoice is only read back.

        A web request must answer, so the button never blocks on Xero's limits past
        ``deadline`` and never raises for what Xero or the invoice did:

        - with ``deadline`` (seconds), the rate limiter is asked first, without waiting
          (``RateLimiter.wait_seconds``): when it would hold the requests back longer than
          that (this minute's budget is spent, a hold after a 429) or the organisation is
          parked for Xero's day limit, nothing is sent;
        - what could not be done now for a passing reason (busy, Xero not answering, an
          uncertain write) is queued on ``jobs``, and the outcome is ``QUEUED`` with the
          job and when it may run; the worker does it, and the panel says "queued"
          meanwhile (:class:`bms_xero.views.PanelView`);
        - anything else, or a passing failure with no ``jobs`` to queue it on, is
          ``FAILED`` with the typed error. The error is also kept on the panel
          (``last_error``, ``last_error_type``), credentials and token endpoint failures
          included, so the panel shows why after the page reloads.

        Without ``deadline`` the limiter waits as long as Xero asks, as before. Either way a
        Xero that answers slowly can take the client's own retries (``RetryPolicy``) to
        fail, a few seconds by default. ``outcome.unwrap()`` raises the error like the
        ``sync`` of earlier releases did.

        Raises:
            TypeError: ``invoice`` is not an Invoice (nothing is sent).
            ConfigurationError: ``deadline`` is not a number of seconds >= 0.

        .. versionchanged:: Unreleased
            ``deadline`` and ``jobs``; returns a :class:`SyncOutcome` (a ``Panel``) instead
            of raising.
        """
        if not isinstance(invoice, Invoice):
            raise TypeError(f"sync takes an Invoice, got {type(invoice).__name__}")
        if deadline is not None and (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not deadline >= 0  # NaN too
        ):
            raise ConfigurationError(
                f"deadline must be a number of seconds >= 0, not {deadline!r}; pass None to "
                "wait as long as Xero's limits ask"
            )
        record = self._store.get(self.tenant_id, invoice.id)
        pushing = record is None or record.state is not SyncState.VOIDED
        if deadline is not None:
            busy = self._limit_verdict(
                self._limit_state(),
                calls=self._SYNC_CALLS if pushing else 1,
                deadline=float(deadline),
                now=self._clock.now(),
            )
            if busy is not None:
                return self._not_synced(invoice, busy, jobs, refresh=not pushing, sent=False)
        if pushing:
            [outcome] = self.push_many([invoice], force=not plan.edits_locked(record))
            if outcome.error is not None:
                return self._not_synced(invoice, outcome.error, jobs, refresh=False)
        try:
            self.pull_invoices([invoice.id])
        except BmsXeroError as e:
            return self._not_synced(invoice, e, jobs, refresh=True)
        if jobs is not None:
            self._settle_failed_pushes(invoice.id, jobs)
        return SyncOutcome.of(self.panel(invoice.id), SyncOutcomeKind.SYNCED)

    def _settle_failed_pushes(self, invoice_id: str, jobs: JobStore) -> None:
        """The press pushed the invoice: a push job of it that failed earlier no longer
        applies, so the Background Jobs page must not list it as failed. It is cancelled
        (the job store's way to take a job out of the way); its error stays readable."""
        from bms_xero.jobs import JobKind, JobStatus  # the jobs layer sits above the engine

        now = self._clock.now()
        for job in jobs.list_jobs(
            tenant_id=self.tenant_id,
            invoice_id=invoice_id,
            kinds=[JobKind.PUSH],
            statuses=[JobStatus.FAILED],
        ):
            jobs.cancel(job.id, now=now)

    #: The most requests one press may send: on an engine's first use the chart, tax rates,
    #: organisation and currencies, the customer's contact (and the one it was merged
    #: into), the write, and the read back. An upper bound: a later press sends two.
    _SYNC_CALLS = 8

    def _limit_state(self) -> tuple[LimitState, float, float] | None:
        """What the client's rate limiter knows now, read without waiting: its state, the
        seconds until a request may go (:meth:`RateLimiter.wait_seconds`: the minute
        window, a hold after a 429, a day park), and the longest a request can be held
        back for the minute (a window and its latency margin). ``None`` for a client without
        a limiter (a host's own ``XeroApi``), or when a shared budget can't be read (the
        press then goes ahead and the client deals with it)."""
        limiter = getattr(self._client, "limiter", None)
        if not isinstance(limiter, RateLimiter):
            return None
        tenant = self._client.tenant_id
        try:
            state, wait = limiter.state(tenant), limiter.wait_seconds(tenant)
        except BmsXeroError:
            return None
        return state, wait, limiter.limits.window + limiter.limits.latency_margin

    @staticmethod
    def _limit_verdict(
        known: tuple[LimitState, float, float] | None,
        *,
        calls: int,
        deadline: float,
        now: datetime,
    ) -> RateLimited | None:
        """Whether sending ``calls`` requests now could wait past ``deadline`` seconds: the
        typed reason not to send, or ``None`` to go ahead. Pure.

        ``known`` is :meth:`_limit_state`. Parked for the day limit: every request would be
        refused until the reset. The first request would wait longer than the deadline (a
        full window, a hold after a 429): too long. Fewer calls left this minute than the
        press may send: the rest would be held until the window frees, as long as a whole
        window, so a deadline shorter than that queues the push too.
        """
        if known is None:
            return None
        state, wait, window = known
        if state.parked_until is not None and state.parked_until > now:
            return DailyLimitReached(
                resets_at=state.parked_until,
                retry_after=(state.parked_until - now).total_seconds(),
                tenant_id=state.tenant_id,
            )
        left = state.minute_remaining
        if state.app_minute_remaining is not None:
            left = min(left, state.app_minute_remaining)
        if wait > deadline:
            why = f"Xero's limits hold requests for this organisation back {wait:.0f} s more"
            retry_after = wait
        elif left < calls and deadline < window:
            why = (
                f"Xero's minute budget for this organisation is nearly spent ({left} calls "
                f"left, a sync may need {calls}): the rest could wait up to {window:g} s"
            )
            retry_after = window
        else:
            return None
        return RateLimited(
            f"{why}, longer than the {deadline:g} s deadline; nothing was sent",
            problem="minute",
            retry_after=retry_after,
            status_code=None,
            tenant_id=state.tenant_id,
        )

    def _not_synced(
        self,
        invoice: Invoice,
        error: BmsXeroError,
        jobs: JobStore | None,
        *,
        refresh: bool,
        sent: bool = True,
    ) -> SyncOutcome:
        """The outcome of a press that stopped at ``error``: queued when the reason passes
        and there is a job store, failed otherwise; what was tried is kept on the panel.

        ``refresh``: what is left to do is reading the invoice back (the push landed, or a
        cancelled invoice needs no push), so a refresh is queued rather than a push.
        ``sent``: something was tried (a press held back by the limiter before anything
        left records nothing: the job and the "queued" state say it).
        """
        named = error.for_invoice(invoice.number)
        now = self._clock.now()
        if sent and self._shown_on_panel(named):
            record = self._store.get(self.tenant_id, invoice.id)
            if record is None or record.last_error != str(named):
                record_error(
                    self._store,
                    tenant_id=self.tenant_id,
                    invoice_id=invoice.id,
                    invoice_number=invoice.number,
                    error=named,
                    now=now,
                )
        if jobs is None or not self._passes(named):
            return SyncOutcome.of(self.panel(invoice.id), SyncOutcomeKind.FAILED, error=named)
        if refresh:
            job = jobs.enqueue_pull(
                self.tenant_id, invoice_id=invoice.id, invoice_number=invoice.number, now=now
            )
        else:
            job = jobs.enqueue_push(
                self.tenant_id, invoice.id, invoice_number=invoice.number, now=now
            )
        return SyncOutcome.of(
            self.panel(invoice.id),
            SyncOutcomeKind.QUEUED,
            error=named,
            job=job,
            runs_at=self._runs_at(job, jobs, named, now),
        )

    @staticmethod
    def _passes(error: BmsXeroError) -> bool:
        """Whether the worker may succeed later with what stopped the press: Xero busy or
        not answering, a write left uncertain, another pusher (as ``jobs.classify`` treats
        them). Pure."""
        return isinstance(error, DailyLimitReached | UncertainOutcome) or error.retryable

    @staticmethod
    def _shown_on_panel(error: BmsXeroError) -> bool:
        """Whether the press keeps ``error`` on the panel. Not another pusher's work in
        progress or a race (that pusher records its own outcome, and a stale "in progress"
        must not overwrite it), nor a sink that refused payment news (the panel says
        ``delivery_pending``, and a later delivery would not clear the error). Pure."""
        return not isinstance(error, PushInProgress | VersionConflict | PaymentDeliveryFailed)

    def _runs_at(self, job: Job, jobs: JobStore, error: BmsXeroError, now: datetime) -> datetime:
        """The earliest the worker may run ``job``: its ``run_after``, or the end of the
        tenant's day-limit park (parked here too, so no worker spends a call to learn it)."""
        parked = jobs.parked_until(self.tenant_id, now=now)
        if isinstance(error, DailyLimitReached):
            parked = jobs.park_tenant(self.tenant_id, error.resets_at)
        return max(job.run_after, parked) if parked is not None else job.run_after

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
