"""SyncEngine: push BMS invoices to one Xero organisation, pull payments back.

Each operation gathers what it needs (sync records, reference data, Xero's answers), asks the
pure functions in :mod:`bms_xero.engine.plan` what to do, and applies the answer through the
client and the store. The store is written before every create (the intent, with its
Idempotency-Key) and after every answer, so a crash at any point leaves a record that the
next push resolves by looking the invoice up in Xero before it creates anything.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from bms_xero.clock import Clock, SystemClock
from bms_xero.domain import (
    Customer,
    Invoice,
    InvoiceStatus,
    Organisation,
    XeroInvoice,
    XeroPayment,
)
from bms_xero.engine import plan
from bms_xero.engine.plan import Step
from bms_xero.engine.ports import PaymentSink, XeroApi
from bms_xero.engine.results import (
    Panel,
    PaymentUpdate,
    PushAction,
    PushOutcome,
    PushResult,
)
from bms_xero.errors import (
    AccountCodeError,
    BmsXeroError,
    ConfigurationError,
    CreditNoteRequired,
    InvoiceNumberConflict,
    NotFound,
    PaymentDeliveryFailed,
    PreflightError,
    PushInProgress,
    SyncError,
    TaxCodeError,
    UncertainOutcome,
    VersionConflict,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping.reference import ChartOfAccounts, PreflightFailed, TaxMap, TaxRates, preflight
from bms_xero.mapping.totals import difference
from bms_xero.mapping.wire import encode_json, invoice_payload
from bms_xero.storage.protocols import SyncStore
from bms_xero.storage.records import SyncRecord, SyncState
from bms_xero.xero import InvoiceResult

if TYPE_CHECKING:
    from bms_xero.jobs import InvoiceSource, JobStore, RunReport

__all__ = ["SyncEngine"]

log = logging.getLogger("bms_xero.engine")
T = TypeVar("T")

BATCH = 50  # Xero's recommended batch size; one request counts as one call
PULL_CHUNK = 1000  # records handled at a time by a pull (Xero's largest page)
ORG_RETRY_AFTER = 300.0  # seconds before asking again for a ShortCode that failed
ID_ROOM = 64  # bytes an update adds to a payload ("InvoiceID") and the list separator
MAX_BODY = 3_000_000  # bytes per request: Xero refuses over 3.5 MB; leave room for the envelope
INVOICE_CURSOR = "invoices"
PAYMENT_CURSOR = "payments"


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@attrs.define
class _Reference:
    chart: ChartOfAccounts
    tax_rates: TaxRates
    fetched_at: float


@attrs.define
class _Work:
    """One invoice on its way through a push."""

    invoice: Invoice
    payload: dict[str, Any] = attrs.Factory(dict)
    content: str | None = None  # fingerprint of the payload; None when it can't be built
    problem: PreflightError | None = None  # why the payload can't be built
    size: int = 0  # encoded bytes of the payload
    record: SyncRecord | None = None
    step: Step = Step.CREATE
    trust_intent: bool = False  # an adopted invoice holds the intent's content
    action: PushAction = PushAction.UPDATED  # what an update reports (ADOPTED after a lookup)


class SyncEngine:
    """Keeps one Xero organisation in step with the BMS's invoices.

    Args:
        client: The Xero client for the organisation (``XeroClient``, or ``FakeXero.client()``).
        store: Sync records, cursors and customer links (``MemoryStore``, ``SQLiteStore`` or
            the host's own implementation of ``SyncStore``).
        tax_map: BMS tax code → Xero TaxType, e.g. ``{"GST15": "OUTPUT2"}``.
        payment_sink: Receives each change pulled from Xero (optional; :meth:`pull` also
            returns them).
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
        self._sink = payment_sink
        self._clock: Clock = clock or SystemClock()
        self._ttl = reference_ttl
        self._new_key = new_key or (lambda: str(uuid.uuid4()))
        self._lock = threading.Lock()
        self._reference: _Reference | None = None
        self._organisation: Organisation | None = None
        self._org_failed_at: float | None = None

    def __repr__(self) -> str:
        return f"SyncEngine(tenant_id={self.tenant_id!r})"

    # --- reference data ------------------------------------------------------------------

    def _fresh_reference(self, *, refresh: bool = False) -> _Reference:
        with self._lock:
            ref = self._reference
            now = self._clock.monotonic()
            if refresh or ref is None or now - ref.fetched_at >= self._ttl:
                ref = _Reference(self._client.get_accounts(), self._client.get_tax_rates(), now)
                self._reference = ref
            return ref

    def organisation(self, *, refresh: bool = False) -> Organisation:
        """The organisation (name, ShortCode, base currency), cached for the engine's life."""
        with self._lock:
            if self._organisation is None or refresh:
                self._organisation = self._client.get_organisation()
            return self._organisation

    def _short_code(self) -> str | None:
        """The ShortCode for deep links; a failure is remembered for a while, not retried per
        link (a panel must render, and a push must not spend its budget, while Xero is down)."""
        if (
            self._organisation is None
            and self._org_failed_at is not None
            and self._clock.monotonic() - self._org_failed_at < ORG_RETRY_AFTER
        ):
            return None
        try:
            return self.organisation().short_code
        except BmsXeroError as e:
            self._org_failed_at = self._clock.monotonic()
            log.info(
                "no ShortCode for deep links (%s); links open the last-used organisation",
                type(e).__name__,
            )
            return None

    def _view_url(self, xero_invoice_id: str | None) -> str | None:
        return (
            None if xero_invoice_id is None else plan.deep_link(xero_invoice_id, self._short_code())
        )

    def _preflight(self, invoice: Invoice, refreshed: list[bool]) -> None:
        ref = self._fresh_reference()
        try:
            preflight(invoice, chart=ref.chart, tax_rates=ref.tax_rates, tax_map=self._tax_map)
        except PreflightError as e:
            # A code that looks unknown may have been added in Xero since we cached: refresh
            # once per push, then trust the answer.
            if refreshed[0] or not _refreshable(e):
                raise
            refreshed[0] = True
            ref = self._fresh_reference(refresh=True)
            preflight(invoice, chart=ref.chart, tax_rates=ref.tax_rates, tax_map=self._tax_map)

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
                body: dict[str, Any] = {"Name": customer.name, "ContactNumber": number}
                if customer.email:
                    body["EmailAddress"] = customer.email
                [made] = self._client.create_contacts([body], idempotency_key=self._new_key())
                if not made.ok or made.contact is None:
                    raise XeroValidationError(
                        made.errors or (XeroValidationMessage("Xero returned no contact"),),
                        status_code=200,
                    )
                contact_id = made.contact.contact_id
        self._store.set_contact_id(self.tenant_id, customer.id, contact_id)
        return customer.with_xero_contact_id(contact_id)

    def _linked(self, invoice: Invoice) -> Invoice:
        if invoice.customer.xero_contact_id is not None:
            return invoice
        contact_id = self._store.get_contact_id(self.tenant_id, invoice.customer.id)
        if contact_id is None:
            return invoice
        return attrs.evolve(invoice, customer=invoice.customer.with_xero_contact_id(contact_id))

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

        Each invoice gets its own outcome, in input order; one bad invoice never fails or
        duplicates the others. Exactly one Xero invoice per BMS invoice, whatever fails: the
        intent is stored before each create, and a record with an unconfirmed create is
        looked up by number (its intent's and its current one) before anything is created
        again; Xero's unique invoice numbers are the last guard.
        """
        items = list(invoices)
        for raw in items:
            if not isinstance(raw, Invoice):  # before any I/O: nothing half-done
                raise TypeError(f"push_many takes Invoice objects, got {type(raw).__name__}")
        outcomes: dict[int, PushOutcome] = {}
        work: dict[int, _Work] = {}
        ids: set[str] = set()
        numbers: set[str] = set()
        for i, raw in enumerate(items):
            twice = "id" if raw.id in ids else "number" if raw.number in numbers else None
            if twice is not None:
                outcomes[i] = self._fail_outcome(
                    raw,
                    SyncError(
                        f"the invoice {twice} appears twice in one push; push each invoice once",
                        invoice_number=raw.number,
                    ),
                )
                continue
            ids.add(raw.id)
            numbers.add(raw.number)
            invoice = self._linked(raw)
            w = _Work(invoice)
            try:
                w.payload = invoice_payload(invoice, self._tax_map)
                encoded = encode_json(w.payload)  # once: for the hash and the batch size
                w.content = plan.content_hash(encoded)
                w.size = len(encoded)
            except PreflightError as e:
                w.problem = e  # reported unless the record only needs a lookup
            work[i] = w

        records = self._store.get_many(self.tenant_id, (w.invoice.id for w in work.values()))
        for i, w in work.items():
            w.record = records.get(w.invoice.id)
            w.step = plan.step_for(w.record, w.content, force=force)
            if w.problem is not None and w.step is not Step.RESOLVE:
                outcomes[i] = self._fail_outcome(w.invoice, w.problem, store=True)
            elif w.step is Step.RESOLVE:
                w.trust_intent = True  # the intent's create may be what landed

        # A lookup sends nothing and needs no reference data: it runs before preflight, so an
        # invoice that did land is linked (and its payments pulled) whatever else is wrong.
        self._resolve([i for i, w in work.items() if w.step is Step.RESOLVE], work, outcomes)
        for i, w in work.items():
            if i not in outcomes and w.problem is not None:
                outcomes[i] = self._fail_outcome(w.invoice, w.problem, store=True)
        self._preflight_all(
            [
                i
                for i, w in work.items()
                if i not in outcomes and w.step in (Step.CREATE, Step.UPDATE)
            ],
            work,
            outcomes,
        )
        creates = [i for i, w in work.items() if w.step is Step.CREATE and i not in outcomes]
        for chunk in self._batches(creates, work):
            self._create(chunk, work, outcomes)
        updates = [i for i, w in work.items() if w.step is Step.UPDATE and i not in outcomes]
        for chunk in self._batches(updates, work):
            self._update(chunk, work, outcomes)
        for i, w in work.items():
            if i in outcomes:
                continue
            if w.step is Step.SKIP and w.record is not None:
                if w.record.last_error is not None:  # Xero has it: an old error is moot
                    w.record = self._save(w.record, _clear_error)
                outcomes[i] = PushOutcome(
                    invoice_id=w.invoice.id,
                    invoice_number=w.invoice.number,
                    result=self._result(w.invoice, w.record, PushAction.UNCHANGED),
                )
            elif w.step is Step.REFUSE_VOIDED:
                outcomes[i] = self._fail_outcome(
                    w.invoice,
                    SyncError(
                        "was cancelled (its Xero invoice voided); raise a new invoice instead",
                        invoice_number=w.invoice.number,
                    ),
                )
        return [outcomes[i] for i in range(len(items))]

    def _preflight_all(
        self, indexes: list[int], work: dict[int, _Work], outcomes: dict[int, PushOutcome]
    ) -> None:
        refreshed = [False]
        for i in indexes:
            w = work[i]
            try:
                self._preflight(w.invoice, refreshed)
            except PreflightError as e:
                outcomes[i] = self._fail_outcome(w.invoice, e, store=True)
            except BmsXeroError as e:
                # The chart or tax rates could not be read: fail the rest without asking
                # again for every invoice; nothing was written.
                for j in indexes[indexes.index(i) :]:
                    outcomes[j] = self._fail_outcome(work[j].invoice, e)
                return

    def _batches(self, indexes: list[int], work: dict[int, _Work]) -> Iterator[list[int]]:
        """Up to 50 invoices per request, and never past Xero's 3.5 MB body limit."""
        batch: list[int] = []
        size = 0
        for i in indexes:
            weight = work[i].size + ID_ROOM
            if batch and (len(batch) >= BATCH or size + weight > MAX_BODY):
                yield batch
                batch, size = [], 0
            batch.append(i)  # one too large alone is refused by the client, alone
            size += weight
        if batch:
            yield batch

    def _result(
        self,
        invoice: Invoice,
        record: SyncRecord,
        action: PushAction,
        xero: XeroInvoice | None = None,
    ) -> PushResult:
        total = xero.total if xero is not None else record.total
        return PushResult(
            invoice_id=invoice.id,
            invoice_number=invoice.number,
            xero_invoice_id=record.xero_invoice_id or "",
            action=action,
            pushed_at=record.last_push_at,
            xero_status=xero.status if xero is not None else record.xero_status,
            sub_total=xero.sub_total if xero is not None else None,
            total_tax=xero.total_tax if xero is not None else None,
            total=total,
            rounding_difference=None
            if invoice.total is None or total is None
            else difference(invoice.total, total),
            view_url=self._view_url(record.xero_invoice_id),
        )

    def _fail_outcome(
        self, invoice: Invoice, error: BmsXeroError, *, store: bool = False
    ) -> PushOutcome:
        named = error.for_invoice(invoice.number)
        if store:
            self._record_error(invoice, named)
        return PushOutcome(invoice_id=invoice.id, invoice_number=invoice.number, error=named)

    def _record_error(self, invoice: Invoice, error: BmsXeroError) -> None:
        """Keep the last error for the panel; never touch the link or fingerprint."""
        now = self._clock.now()
        for _ in range(3):
            record = self._store.get(self.tenant_id, invoice.id)
            if record is None:
                fresh = SyncRecord(
                    tenant_id=self.tenant_id,
                    invoice_id=invoice.id,
                    invoice_number=invoice.number,
                    state=SyncState.FAILED,
                    last_error=str(error),
                    last_error_at=now,
                )
                expected = None
            else:
                fresh = attrs.evolve(record, last_error=str(error), last_error_at=now)
                expected = record.version
            try:
                self._store.put(fresh, expected_version=expected)
                return
            except VersionConflict:
                continue
        log.warning("could not record the error for invoice %s: it kept changing", invoice.number)

    # resolve: did an earlier create land?

    def _resolve(
        self, indexes: list[int], work: dict[int, _Work], outcomes: dict[int, PushOutcome]
    ) -> None:
        """Look up each invoice's numbers (its intent's and its own); adopt, conflict or create."""
        if not indexes:
            return
        wanted: dict[str, None] = {}
        for i in indexes:
            for number in _numbers_of(work[i]):
                wanted[number] = None
        try:
            found = self._client.get_invoices_by_number(list(wanted))
        except BmsXeroError as e:
            for i in indexes:
                outcomes[i] = self._fail_outcome(work[i].invoice, e)
            return
        holders = [x for x in found if x.invoice_id]
        linked = self._store.by_xero_ids(self.tenant_id, (x.invoice_id or "" for x in holders))
        for i in indexes:
            w = work[i]
            resolution = plan.resolve(w.invoice, found, numbers=_numbers_of(w))
            holder = resolution.adopt or resolution.holder
            owner = linked.get(holder.invoice_id or "") if holder is not None else None
            if owner is not None and owner.invoice_id != w.invoice.id:
                resolution = plan.Resolution(
                    holder=holder, reason=f"it is linked to BMS invoice {owner.invoice_id}"
                )
            if resolution.create:
                w.step = Step.CREATE
                w.trust_intent = False
            elif resolution.adopt is not None:
                try:
                    adopted = self._adopt(w, resolution.adopt)
                except VersionConflict as e:
                    outcomes[i] = self._fail_outcome(w.invoice, e)
                    continue
                if adopted is not None:
                    outcomes[i] = adopted
            elif resolution.holder is not None:
                self._drop_intent(w, None)  # Xero created nothing for us
                outcomes[i] = self._fail_outcome(
                    w.invoice,
                    InvoiceNumberConflict(
                        invoice_number=w.invoice.number,
                        xero_invoice_id=resolution.holder.invoice_id or "",
                        reason=resolution.reason,
                    ),
                    store=True,
                )

    def _adopt(self, w: _Work, xero: XeroInvoice) -> PushOutcome | None:
        """Link the Xero invoice an earlier create of ours made.

        Returns ``None`` when Xero may not hold the current content: then it is queued as an
        update (reported as ADOPTED). Only a create from this record's own intent is trusted
        to hold that intent's content; anything else is resent.
        """
        assert w.record is not None
        sent = w.record.intent_fingerprint if w.trust_intent else None
        now = self._clock.now()

        def link(r: SyncRecord) -> SyncRecord:
            return plan.apply_xero(
                attrs.evolve(
                    r,
                    state=SyncState.PUSHED,
                    invoice_number=w.invoice.number,
                    xero_invoice_id=xero.invoice_id,
                    fingerprint=sent,
                    intent_key=None,
                    intent_fingerprint=None,
                    intent_at=None,
                    last_push_at=now,
                    last_error=None,
                    last_error_at=None,
                ),
                xero,
                pulled_at=None,
                reported=plan.PUSHED_STATUSES,
            )

        w.record = self._save(w.record, link)
        # A link of ours from now on: the pull must see what it does next (the lookup above
        # read everything before), even when this is the store's first link.
        self._seed_cursors(xero)
        if w.content is None or sent != w.content or xero.invoice_number != w.invoice.number:
            w.step = Step.UPDATE
            w.action = PushAction.ADOPTED
            return None
        return PushOutcome(
            invoice_id=w.invoice.id,
            invoice_number=w.invoice.number,
            result=self._result(w.invoice, w.record, PushAction.ADOPTED, xero),
        )

    # create

    def _create(
        self,
        chunk: Sequence[int],
        work: dict[int, _Work],
        outcomes: dict[int, PushOutcome],
        *,
        tries: int = 3,
    ) -> None:
        key = self._new_key()
        now = self._clock.now()
        intents: list[tuple[SyncRecord, int | None]] = []
        for i in chunk:
            w = work[i]
            base = w.record or SyncRecord(
                tenant_id=self.tenant_id,
                invoice_id=w.invoice.id,
                invoice_number=w.invoice.number,
                state=SyncState.PENDING,
            )
            intents.append(
                (
                    attrs.evolve(
                        base,
                        state=SyncState.PENDING,
                        invoice_number=w.invoice.number,
                        intent_key=key,
                        intent_fingerprint=w.content,
                        intent_at=now,
                    ),
                    None if w.record is None else w.record.version,
                )
            )
        sending = self._persist_intents(chunk, intents, work, outcomes)
        if not sending:
            return
        try:
            results = self._client.create_invoices(
                [work[i].payload for i in sending], idempotency_key=key
            )
        except UncertainOutcome as e:
            self._uncertain(sending, work, outcomes, e, tries=tries - 1)
            return
        except BmsXeroError as e:
            # Xero refused the request as a whole (rate limit, auth, ...) before any create.
            for i in sending:
                self._drop_intent(work[i], e)
                outcomes[i] = self._fail_outcome(work[i].invoice, e)
            return
        duplicates: list[int] = []
        # The client returns one result per element, in request order.
        for i, result in zip(sending, results, strict=True):
            w = work[i]
            if result.ok and result.invoice is not None:
                try:
                    outcomes[i] = self._created(w, result.invoice)
                except VersionConflict as e:  # the intent stays: the next push looks it up
                    outcomes[i] = self._fail_outcome(w.invoice, e)
                continue
            messages = [m.message for m in result.errors]
            if plan.is_duplicate_number(messages):
                duplicates.append(i)  # maybe ours from an earlier, unrecorded create
                continue
            error = XeroValidationError(
                result.errors or (XeroValidationMessage("Xero did not create this invoice"),),
                status_code=200,
                invoice_number=w.invoice.number,
            )
            self._drop_intent(w, error)
            outcomes[i] = self._fail_outcome(w.invoice, error)
        if duplicates:
            for i in duplicates:
                work[i].step = Step.RESOLVE
                work[i].trust_intent = False  # this create did not land: its content didn't
            self._resolve(duplicates, work, outcomes)
            for i in duplicates:
                if i not in outcomes and work[i].step is Step.CREATE:
                    # The holder vanished between the two answers.
                    outcomes[i] = self._fail_outcome(
                        work[i].invoice,
                        SyncError(
                            "Xero said the number is taken but no invoice holds it; push again",
                            invoice_number=work[i].invoice.number,
                        ),
                    )

    def _persist_intents(
        self,
        chunk: Sequence[int],
        intents: list[tuple[SyncRecord, int | None]],
        work: dict[int, _Work],
        outcomes: dict[int, PushOutcome],
    ) -> list[int]:
        """Store every intent before sending (one transaction); return who may be sent."""
        try:
            stored = self._store.put_many(intents)
        except VersionConflict:
            stored = []
        if stored:
            for i, record in zip(chunk, stored, strict=True):
                work[i].record = record
            return list(chunk)
        # Someone else touched one of them: store one by one, and leave the contested ones to
        # their other pusher (the next push looks them up by number).
        sending = []
        for i, (record, expected) in zip(chunk, intents, strict=True):
            try:
                work[i].record = self._store.put(record, expected_version=expected)
                sending.append(i)
            except VersionConflict:
                outcomes[i] = self._fail_outcome(
                    work[i].invoice, PushInProgress(invoice_number=work[i].invoice.number)
                )
        return sending

    def _created(self, w: _Work, xero: XeroInvoice) -> PushOutcome:
        assert w.record is not None
        now = self._clock.now()

        def link(r: SyncRecord) -> SyncRecord:
            # Xero has it whoever wrote the record since: linking is always right.
            return plan.apply_xero(
                attrs.evolve(
                    r,
                    state=SyncState.PUSHED,
                    xero_invoice_id=xero.invoice_id,
                    fingerprint=w.content,
                    intent_key=None,
                    intent_fingerprint=None,
                    intent_at=None,
                    last_push_at=now,
                    last_error=None,
                    last_error_at=None,
                ),
                xero,
                pulled_at=None,
                reported=plan.PUSHED_STATUSES,
            )

        w.record = self._save(w.record, link)
        self._seed_cursors(xero)
        return PushOutcome(
            invoice_id=w.invoice.id,
            invoice_number=w.invoice.number,
            result=self._result(w.invoice, w.record, PushAction.CREATED, xero),
        )

    def _seed_cursors(self, xero: XeroInvoice) -> None:
        """Start pulling from the store's first link (a create or an adoption), by Xero's
        clock, not from the beginning of time.

        Only an unset cursor is seeded: a set one is already no later than anything a new
        link can do, because the link's own read (the create's answer, the lookup) saw the
        invoice as it was, and what changes afterwards is stamped later than any cursor a
        finished pull stored (a pull running meanwhile is held back by the pending intent,
        see ``_linked_records``).
        """
        if xero.updated_at is None:
            return
        for name in (INVOICE_CURSOR, PAYMENT_CURSOR):
            if self._store.get_cursor(self.tenant_id, name) is None:
                self._store.set_cursor(self.tenant_id, name, xero.updated_at)

    def _uncertain(
        self,
        sending: Sequence[int],
        work: dict[int, _Work],
        outcomes: dict[int, PushOutcome],
        error: UncertainOutcome,
        *,
        tries: int,
    ) -> None:
        """The batch may or may not have landed: mark it, then look before anything else."""
        for i in sending:
            w = work[i]
            assert w.record is not None
            w.record = self._save(
                w.record,
                _if_intent(
                    w.record.intent_key,
                    _marked_uncertain(str(error.for_invoice(w.invoice.number)), self._clock.now()),
                ),
            )
            w.step = Step.RESOLVE
            w.trust_intent = True
        if tries <= 0:
            # Xero keeps failing: leave them UNCERTAIN; the next push looks them up first.
            for i in sending:
                outcomes[i] = self._fail_outcome(work[i].invoice, error)
            return
        self._resolve(list(sending), work, outcomes)
        retry = [i for i in sending if i not in outcomes and work[i].step is Step.CREATE]
        # Looked and not there: Xero never committed, so creating now cannot duplicate.
        for chunk in self._batches(retry, work):
            self._create(chunk, work, outcomes, tries=tries)

    def _drop_intent(self, w: _Work, error: BmsXeroError | None) -> None:
        """Xero certainly created nothing for this intent: drop it, keep the error.

        Only our own intent is dropped: if another pusher stored one since, it is theirs.
        """
        if w.record is None or w.record.intent_key is None:
            return
        message = None if error is None else str(error.for_invoice(w.invoice.number))
        state = SyncState.PUSHED if w.record.xero_invoice_id else SyncState.FAILED
        w.record = self._save(
            w.record,
            _if_intent(
                w.record.intent_key,
                lambda r: attrs.evolve(
                    r,
                    state=state,
                    intent_key=None,
                    intent_fingerprint=None,
                    intent_at=None,
                    last_error=message if message is not None else r.last_error,
                    last_error_at=self._clock.now() if message is not None else r.last_error_at,
                ),
            ),
        )

    # update

    def _update(
        self, chunk: Sequence[int], work: dict[int, _Work], outcomes: dict[int, PushOutcome]
    ) -> None:
        """Update linked invoices, up to 50 per request (every element names its InvoiceID)."""
        sending: list[int] = []
        for i in chunk:
            w = work[i]
            record = w.record
            assert record is not None and record.xero_invoice_id is not None
            if record.xero_status in (InvoiceStatus.PAID, InvoiceStatus.VOIDED) or (
                record.amount_paid or record.amount_credited
            ):
                # Known locked since the last pull: refuse without a doomed request.
                outcomes[i] = self._fail_outcome(
                    w.invoice,
                    CreditNoteRequired(
                        invoice_number=w.invoice.number,
                        xero_invoice_id=record.xero_invoice_id,
                        xero_status=record.xero_status,
                    ),
                    store=True,
                )
                continue
            w.payload = invoice_payload(w.invoice, self._tax_map, invoice_id=record.xero_invoice_id)
            sending.append(i)
        if not sending:
            return
        try:
            results = self._client.update_invoices(
                [work[i].payload for i in sending], idempotency_key=self._new_key()
            )
        except BmsXeroError as e:
            # An update is idempotent by content: the next push simply sends it again.
            for i in sending:
                outcomes[i] = self._fail_outcome(work[i].invoice, e, store=True)
            return
        for i, result in zip(sending, results, strict=True):
            try:
                outcomes[i] = self._updated(work[i], result)
            except VersionConflict as e:
                outcomes[i] = self._fail_outcome(work[i].invoice, e)

    def _updated(self, w: _Work, result: InvoiceResult) -> PushOutcome:
        record = w.record
        assert record is not None and record.xero_invoice_id is not None
        if not result.ok or result.invoice is None:
            messages = [m.message for m in result.errors]
            error: BmsXeroError
            if plan.is_edit_refused(messages):
                error = CreditNoteRequired(
                    invoice_number=w.invoice.number,
                    xero_invoice_id=record.xero_invoice_id,
                    xero_status=record.xero_status,
                    xero_messages=messages,
                )
            else:
                error = XeroValidationError(
                    result.errors or (XeroValidationMessage("Xero did not update this invoice"),),
                    status_code=200,
                    invoice_number=w.invoice.number,
                )
            return self._fail_outcome(w.invoice, error, store=True)
        xero = result.invoice
        now = self._clock.now()
        w.record = self._save(
            record,
            lambda r: plan.apply_xero(
                attrs.evolve(
                    r,
                    state=SyncState.PUSHED,
                    invoice_number=w.invoice.number,
                    fingerprint=w.content,
                    last_push_at=now,
                    last_error=None,
                    last_error_at=None,
                ),
                xero,
                pulled_at=None,
                reported=plan.PUSHED_STATUSES,
            ),
        )
        return PushOutcome(
            invoice_id=w.invoice.id,
            invoice_number=w.invoice.number,
            result=self._result(w.invoice, w.record, w.action, xero),
        )

    def _save(
        self, record: SyncRecord, change: Callable[[SyncRecord], SyncRecord | None]
    ) -> SyncRecord:
        """Apply ``change`` with compare-and-swap, re-reading if someone else wrote first.

        ``change`` returns ``None`` to leave the record as someone else left it.
        """
        current = record
        for _ in range(5):
            changed = change(current)
            if changed is None:
                return current
            try:
                return self._store.put(changed, expected_version=current.version)
            except VersionConflict:
                latest = self._store.get(current.tenant_id, current.invoice_id)
                if latest is None:
                    raise
                current = latest
        raise VersionConflict(key=record.key, expected_version=current.version, actual_version=None)

    # --- cancel --------------------------------------------------------------------------

    def cancel(self, invoice: Invoice) -> PushResult:
        """The BMS cancelled the invoice: void it in Xero (delete it if still a draft).

        Afterwards pushes of the invoice are refused. Cancelling twice, or an invoice already
        voided in Xero, returns the VOIDED result.

        Raises:
            CreditNoteRequired: Xero refuses because payments or credits are allocated.
            BmsXeroError: Xero could not be reached (recorded on the panel, naming the invoice).
        """
        invoice = self._linked(invoice)
        try:
            return self._cancel(invoice)
        except BmsXeroError as e:
            named = e.for_invoice(invoice.number)
            self._record_error(invoice, named)
            raise named from e

    def _cancel(self, invoice: Invoice) -> PushResult:
        record = self._store.get(self.tenant_id, invoice.id)
        if record is not None and record.xero_invoice_id is None and record.intent_key:
            w = _Work(invoice, record=record, step=Step.RESOLVE, trust_intent=True)
            outcomes: dict[int, PushOutcome] = {}
            self._resolve([0], {0: w}, outcomes)
            if 0 in outcomes and outcomes[0].error is not None:
                raise outcomes[0].error
            record = w.record
        if record is None or record.xero_invoice_id is None:
            # Never in Xero: leave a tombstone so no later push (a queued retry) creates it.
            if record is None:
                stored = self._store.put(
                    SyncRecord(
                        tenant_id=self.tenant_id,
                        invoice_id=invoice.id,
                        invoice_number=invoice.number,
                        state=SyncState.VOIDED,
                    ),
                    expected_version=None,
                )
            else:
                stored = self._save(record, _tombstone)
            return PushResult(
                invoice_id=invoice.id,
                invoice_number=invoice.number,
                xero_invoice_id="",
                action=PushAction.VOIDED,
                pushed_at=stored.last_push_at,
            )
        if record.state is SyncState.VOIDED:
            return self._result(invoice, record, PushAction.VOIDED)
        xero_id = record.xero_invoice_id
        status = (
            InvoiceStatus.DELETED
            if record.xero_status in (InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED)
            else InvoiceStatus.VOIDED
        )
        result = self._client.update_invoice(
            xero_id,
            {"InvoiceID": xero_id, "InvoiceNumber": invoice.number, "Status": status.value},
            idempotency_key=self._new_key(),
        )
        xero = result.invoice
        if not result.ok or xero is None:
            # Maybe it is void already (an earlier cancel whose answer was lost, or a user in
            # Xero): look before blaming payments.
            xero = self._client.get_invoice(xero_id)
            if xero.status not in (InvoiceStatus.VOIDED, InvoiceStatus.DELETED):
                messages = [m.message for m in result.errors]
                if xero.has_allocations or plan.is_edit_refused(messages):
                    raise CreditNoteRequired(
                        invoice_number=invoice.number,
                        xero_invoice_id=xero_id,
                        xero_status=None if xero.status is None else str(xero.status),
                        xero_messages=messages,
                    )
                raise XeroValidationError(
                    result.errors, status_code=200, invoice_number=invoice.number
                )
        final = xero
        stored = self._save(
            record,
            lambda r: plan.apply_xero(
                attrs.evolve(r, state=SyncState.VOIDED, last_error=None, last_error_at=None),
                final,
                pulled_at=None,
                reported=plan.CANCELLED_STATUSES,
            ),
        )
        return self._result(invoice, stored, PushAction.VOIDED, final)

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
        inv_since = self._store.get_cursor(self.tenant_id, INVOICE_CURSOR)
        pay_since = self._store.get_cursor(self.tenant_id, PAYMENT_CURSOR)
        newest_inv, held_inv = inv_since, None
        batch: list[XeroInvoice] = []
        # If-Modified-Since is read to the second, inclusively: the cursor's own second is
        # read again, so nothing stamped in it after the cursor is missed.
        for xero in self._client.iter_changed_invoices(since=inv_since):
            newest_inv = _later(newest_inv, xero.updated_at)
            batch.append(xero)
            if len(batch) >= PULL_CHUNK:
                # Learned page by page, so memory stays flat however many invoices changed;
                # the cursors move only at the end, so a crash part-way re-reads the rest.
                held_inv = _earlier(held_inv, self._learn(batch))
                batch.clear()
        held_inv = _earlier(held_inv, self._learn(batch))

        newest_pay, held_pay = pay_since, None
        payments: list[XeroPayment] = []
        for payment in self._client.iter_changed_payments(since=pay_since):
            newest_pay = _later(newest_pay, payment.updated_at)
            payments.append(payment)
            if len(payments) >= PULL_CHUNK:
                held_pay = _earlier(held_pay, self._refresh_paid(payments))
                payments.clear()
        held_pay = _earlier(held_pay, self._refresh_paid(payments))

        for name, since, newest, held in (
            (INVOICE_CURSOR, inv_since, newest_inv, held_inv),
            (PAYMENT_CURSOR, pay_since, newest_pay, held_pay),
        ):
            target = _earlier(newest, held)
            if target is not None and target != since:
                self._store.set_cursor(self.tenant_id, name, target)
        return self.deliver()

    def deliver(self) -> list[PaymentUpdate]:
        """Tell the sink every change Xero holds that the host has not accepted yet.

        The outbox is the records whose ``money_version`` is ahead of their ``told_version``;
        each gets one absolute update, marked told only after the sink's ``apply`` returned.
        Runs at the end of every :meth:`pull`; call it alone to retry after a sink failure
        without asking Xero anything. Returns the updates delivered (all of them when there
        is no sink: the return value is the telling).

        Raises:
            PaymentDeliveryFailed: The sink raised for some updates; they stay in the outbox.
        """
        return self._deliver(self._store.iter_undelivered(self.tenant_id))

    def _deliver(self, records: Iterable[SyncRecord]) -> list[PaymentUpdate]:
        delivered: list[PaymentUpdate] = []
        failures: list[tuple[PaymentUpdate, Exception]] = []
        for record in records:
            update = plan.pending_update(record)
            if update is None:
                continue
            if self._sink is not None:
                try:
                    self._sink.apply(update)
                except Exception as e:  # the host's code: any failure keeps it in the outbox
                    log.warning(
                        "the PaymentSink raised on invoice %s (%s); it is delivered again "
                        "next time",
                        update.invoice_number,
                        type(e).__name__,
                    )
                    failures.append((update, e))
                    continue
            try:
                self._save(record, functools.partial(plan.mark_told, update=update))
            except VersionConflict:
                # Someone kept changing it: told stays behind and it is delivered again,
                # which an absolute update makes harmless.
                log.info("invoice %s: delivery not recorded; it comes again", update.invoice_number)
            delivered.append(update)
        if failures:
            raise PaymentDeliveryFailed(failures=failures, delivered=delivered)
        return delivered

    def _refresh_paid(self, payments: Sequence[XeroPayment]) -> datetime | None:
        """Re-read the linked invoices whose record is older than a payment on them.

        Xero may not bump an invoice's timestamp for a payment, and a payment can land after
        the invoice pass read its invoice: the record's ``xero_updated_at`` says which
        snapshot it holds. Returns how far the payment cursor may move (see
        :func:`plan.held_cursor`).
        """
        newest: dict[str, datetime | None] = {}
        for p in payments:
            if p.invoice_id:
                seen = newest.get(p.invoice_id)
                if p.invoice_id not in newest or (
                    p.updated_at is not None and (seen is None or p.updated_at > seen)
                ):
                    newest[p.invoice_id] = p.updated_at
        records = self._linked_records(
            newest, [(p.invoice_id, p.invoice_number, p.updated_at) for p in payments]
        )
        stale: list[str] = []
        for xid, record in records.found.items():
            paid_at = newest[xid]
            held = record.xero_updated_at
            if held is None or paid_at is None or held < paid_at:
                stale.append(xid)
        stale.sort()
        for chunk in _chunks(stale, BATCH):
            self._learn(list(self._client.iter_invoices(ids=chunk)))
        return records.held

    def _linked_records(
        self,
        xero_ids: Iterable[str],
        seen: Sequence[tuple[str | None, str | None, datetime | None]],
    ) -> _Linked:
        """The records linked to what a pull read, and how far its cursor may move.

        ``seen`` is (Xero invoice id, number, UpdatedDateUTC) of each thing read. Anything
        left unmatched is checked against the creates not yet confirmed, read *before* the
        unmatched ids are looked up again: a link written in between is then either found
        by the second look, or its intent was still pending at the first, and holds the
        cursor. Either way nothing an invoice of ours did before its link is passed over.
        """
        found = self._store.by_xero_ids(self.tenant_id, xero_ids)
        unmatched = [s for s in seen if s[0] and s[0] not in found]
        if not unmatched:
            return _Linked(found, None)
        pending = {
            r.invoice_number
            for r in self._store.iter_records(
                self.tenant_id, states=(SyncState.PENDING, SyncState.UNCERTAIN)
            )
        }
        late = self._store.by_xero_ids(self.tenant_id, (s[0] or "" for s in unmatched))
        found.update(late)
        held = plan.held_cursor(
            ((number, at) for xid, number, at in unmatched if xid not in late), pending
        )
        return _Linked(found, held)

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """Refresh the given BMS invoices from Xero now (manual sync, webhooks).

        Invoices never pushed are skipped. Cursors are not moved. What these invoices owe
        the host is delivered (only theirs: :meth:`deliver` runs the whole outbox).

        Raises:
            PaymentDeliveryFailed: The sink raised (the update is delivered again later).
        """
        wanted = list(invoice_ids)
        records = self._store.get_many(self.tenant_id, wanted)
        xero_ids = sorted(r.xero_invoice_id for r in records.values() if r.xero_invoice_id)
        for chunk in _chunks(xero_ids, BATCH):
            self._learn(list(self._client.iter_invoices(ids=chunk)))
        return self._deliver_due(wanted)

    def _deliver_due(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """The outbox, limited to these invoices."""
        due = self._store.get_many(self.tenant_id, invoice_ids)
        return self._deliver(r for _, r in sorted(due.items()) if r.delivery_due)

    def import_link(
        self, *, invoice_id: str, invoice_number: str, xero_invoice_id: str
    ) -> Panel:
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
                Xero invoice is not a sales invoice with this number.
            NotFound: Xero has no such invoice (the link is removed again, nothing else kept).
            PaymentDeliveryFailed: The sink raised on the invoice's news (delivered later).
        """
        record = self._store.get(self.tenant_id, invoice_id)
        if record is not None and record.xero_invoice_id not in (None, xero_invoice_id):
            raise ConfigurationError(
                f"invoice {invoice_number} is linked to Xero invoice {record.xero_invoice_id} "
                f"already; it can't also be {xero_invoice_id}"
            )
        if record is None or record.xero_invoice_id is None:
            fresh = SyncRecord(
                tenant_id=self.tenant_id,
                invoice_id=invoice_id,
                invoice_number=invoice_number,
                state=SyncState.PUSHED,
                xero_invoice_id=xero_invoice_id,
            )
            if record is None:
                record = self._store.put(fresh, expected_version=None)
            else:
                record = self._store.put(
                    attrs.evolve(record, state=SyncState.PUSHED, xero_invoice_id=xero_invoice_id),
                    expected_version=record.version,
                )
        try:
            xero = self._client.get_invoice(xero_invoice_id)
        except NotFound:
            self._save(record, _unlinked)
            raise
        if xero.type != "ACCREC" or xero.invoice_number != invoice_number:
            self._save(record, _unlinked)
            raise ConfigurationError(
                f"Xero invoice {xero_invoice_id} is {xero.type} {xero.invoice_number!r}, not "
                f"sales invoice {invoice_number!r}: check the id before linking"
            )
        self._learn([xero])
        self._seed_cursors(xero)
        self._deliver_due([invoice_id])
        return self.panel(invoice_id)

    def _learn(self, invoices: Sequence[XeroInvoice]) -> datetime | None:
        """Store what Xero holds on each linked record (nothing is told here).

        Returns how far the invoice cursor may move past this page (see
        :meth:`_linked_records`).
        """
        now = self._clock.now()
        pulled = [x for x in invoices if x.invoice_id is not None and x.type == "ACCREC"]
        records = self._linked_records(
            (x.invoice_id or "" for x in pulled),
            [(x.invoice_id, x.invoice_number, x.updated_at) for x in pulled],
        )
        for xero in pulled:
            record = records.found.get(xero.invoice_id or "")
            if record is None or _older(xero, record):
                continue
            self._save(record, _refreshed_by(xero, now))
        return records.held

    # --- panel and manual sync -----------------------------------------------------------

    def panel(self, invoice_id: str) -> Panel:
        """What the BMS shows beside the invoice; all ``None`` for one never pushed."""
        record = self._store.get(self.tenant_id, invoice_id)
        if record is None:
            return Panel(invoice_id=invoice_id)
        return Panel(
            invoice_id=invoice_id,
            invoice_number=record.invoice_number,
            linked=record.xero_invoice_id is not None,
            state=record.state.value,
            xero_invoice_id=record.xero_invoice_id,
            view_url=self._view_url(record.xero_invoice_id),
            last_push_at=record.last_push_at,
            last_pull_at=record.last_pull_at,
            status=plan.bms_status(record),
            xero_status=record.xero_status,
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
        locked = record is not None and (
            record.state is SyncState.VOIDED
            or bool(record.amount_paid or record.amount_credited)
            or record.xero_status in (InvoiceStatus.PAID, InvoiceStatus.VOIDED)
        )
        if record is None or record.state is not SyncState.VOIDED:
            self.push(invoice, force=not locked)
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


def _marked_uncertain(message: str, now: datetime) -> Callable[[SyncRecord], SyncRecord]:
    def change(record: SyncRecord) -> SyncRecord:
        return attrs.evolve(
            record, state=SyncState.UNCERTAIN, last_error=message, last_error_at=now
        )

    return change


def _tombstone(record: SyncRecord) -> SyncRecord:
    """Cancelled before Xero ever had it: no create may follow."""
    return attrs.evolve(
        record, state=SyncState.VOIDED, intent_key=None, intent_fingerprint=None, intent_at=None
    )


def _unlinked(record: SyncRecord) -> SyncRecord:
    """An imported link that turned out wrong, taken back (nothing was learned through it)."""
    return attrs.evolve(record, state=SyncState.FAILED, xero_invoice_id=None)


def _clear_error(record: SyncRecord) -> SyncRecord:
    return attrs.evolve(record, last_error=None, last_error_at=None)


def _if_intent(
    key: str | None, change: Callable[[SyncRecord], SyncRecord]
) -> Callable[[SyncRecord], SyncRecord | None]:
    """``change``, applied only while the record still carries our intent ``key``."""

    def guarded(record: SyncRecord) -> SyncRecord | None:
        return change(record) if record.intent_key == key else None

    return guarded


def _numbers_of(w: _Work) -> tuple[str, ...]:
    """The numbers an earlier create of this invoice may have used: its intent's and its own."""
    sent = w.record.invoice_number if w.record is not None else None
    return tuple(dict.fromkeys(n for n in (sent, w.invoice.number) if n))


@attrs.frozen
class _Linked:
    """The records a pull's page matched, and how far that page lets the cursor move."""

    found: dict[str, SyncRecord]
    held: datetime | None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)


def _older(xero: XeroInvoice, record: SyncRecord) -> bool:
    """Whether this snapshot is older than what the record already holds (a racing pull or
    push stored a newer one)."""
    return (
        xero.updated_at is not None
        and record.xero_updated_at is not None
        and xero.updated_at < record.xero_updated_at
    )


def _refreshed_by(xero: XeroInvoice, now: datetime) -> Callable[[SyncRecord], SyncRecord | None]:
    def change(record: SyncRecord) -> SyncRecord | None:
        # Re-read after a conflict: never write an older snapshot over a newer one.
        return None if _older(xero, record) else plan.apply_xero(record, xero, pulled_at=now)

    return change


def _refreshable(error: PreflightError) -> bool:
    """Whether fresh reference data could make this preflight error go away."""
    if isinstance(error, PreflightFailed):
        return any(_refreshable(e) for e in error.errors)
    if isinstance(error, AccountCodeError | TaxCodeError):
        return getattr(error, "reason", "") != "not_mapped"
    return False
