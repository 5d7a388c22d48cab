"""The pull's I/O: learn what Xero holds, move the cursors, deliver what the host is owed.

Two steps, kept apart on purpose (see docs/engine.md, "Pull"): **learn** stores what Xero
holds on each linked record and never tells anyone; **deliver** is the one place that tells
the sink, from the records alone (:func:`bms_xero.engine.plan.pending_update`), and marks an
update told only after the sink accepted it.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from bms_xero.domain import XeroInvoice, XeroPayment
from bms_xero.engine import plan
from bms_xero.engine._context import Context
from bms_xero.engine._ports import PaymentSink
from bms_xero.engine._records import (
    INVOICE_CURSOR,
    PAYMENT_CURSOR,
    Change,
    save,
    save_many,
    seed_cursors,
)
from bms_xero.engine._results import PaymentUpdate
from bms_xero.errors import (
    BmsXeroError,
    ConfigurationError,
    PaymentDeliveryFailed,
    VersionConflict,
)
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.xero._calls import MAX_BATCH, MAX_PAGE_SIZE
from bms_xero.xero._client import XeroClient

__all__ = ["Puller"]

log = logging.getLogger("bms_xero.engine")
T = TypeVar("T")


@attrs.frozen
class _Linked:
    """The records a pull's page matched, and how far that page lets the cursor move."""

    found: dict[str, SyncRecord]
    held: datetime | None


class Puller:
    """Pulls payments for one organisation: see :meth:`SyncEngine.pull`."""

    def __init__(self, ctx: Context, *, sink: PaymentSink | None, max_in_flight: int = 1) -> None:
        self._ctx = ctx
        self._sink = sink
        self._max_in_flight = max_in_flight

    # --- pull ----------------------------------------------------------------------------------

    def pull(self) -> list[PaymentUpdate]:
        """Learn every change since the cursors, move them, then deliver."""
        inv_since = self._ctx.store.get_cursor(self._ctx.tenant_id, INVOICE_CURSOR)
        pay_since = self._ctx.store.get_cursor(self._ctx.tenant_id, PAYMENT_CURSOR)
        # If-Modified-Since is read to the second, inclusively: the cursor's own second is
        # read again, so nothing stamped in it after the cursor is missed.
        newest_inv, held_inv = inv_since, None
        # Side by side, the payment pages are read while the invoice pass runs (a few pages
        # ahead at most); they are still applied after it, against the records it left.
        # Read earlier, a payment made meanwhile is stamped after what was read of them,
        # so the next pull brings it, as one made after the pull would be.
        side_by_side = self._side_by_side_client() is not None
        ahead = _ReadAhead(self._changed_payments(pay_since)) if side_by_side else None
        try:
            for page in _pages(self._changed_invoices(inv_since)):
                # Learned page by page, so memory stays flat however many invoices changed;
                # the cursors move only at the end, so a crash part-way re-reads the rest.
                newest_inv = _later(newest_inv, *(x.updated_at for x in page))
                held_inv = _earlier(held_inv, self._learn(page))
            newest_pay, held_pay = pay_since, None
            paid = ahead.pages() if ahead is not None else _pages(self._changed_payments(pay_since))
            for payments in paid:
                newest_pay = _later(newest_pay, *(p.updated_at for p in payments))
                held_pay = _earlier(held_pay, self._refresh_paid(payments))
        finally:
            if ahead is not None:
                ahead.close()
        for name, since, newest, held in (
            (INVOICE_CURSOR, inv_since, newest_inv, held_inv),
            (PAYMENT_CURSOR, pay_since, newest_pay, held_pay),
        ):
            target = _earlier(newest, held)
            if target is not None and target != since:
                self._ctx.store.set_cursor(self._ctx.tenant_id, name, target)
        return self.deliver()

    def _side_by_side_client(self) -> XeroClient | None:
        """The client when it can read a changed-since list's pages side by side (a
        :class:`XeroClient` and ``max_in_flight`` above 1); another :class:`XeroApi` is read
        page after page, as its port says."""
        client = self._ctx.client
        return client if isinstance(client, XeroClient) and self._max_in_flight > 1 else None

    def _changed_invoices(self, since: datetime | None) -> Iterator[XeroInvoice]:
        """The changed-since invoice read. Side by side (see :meth:`_side_by_side_client`),
        pages 2..N go up to ``max_in_flight`` at once, read again by keyset if something moved
        meanwhile, and are still yielded in page order."""
        client = self._side_by_side_client()
        if client is None:
            return self._ctx.client.iter_changed_invoices(since=since)
        return client.iter_changed_invoices(since=since, max_in_flight=self._max_in_flight)

    def _changed_payments(self, since: datetime | None) -> Iterator[XeroPayment]:
        """The changed-since payment read, side by side as :meth:`_changed_invoices`."""
        client = self._side_by_side_client()
        if client is None:
            return self._ctx.client.iter_changed_payments(since=since)
        return client.iter_changed_payments(since=since, max_in_flight=self._max_in_flight)

    def pull_invoices(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """Read these BMS invoices from Xero now and deliver what they owe the host."""
        wanted = list(invoice_ids)
        records = self._ctx.store.get_many(self._ctx.tenant_id, wanted)
        self._read(r.xero_invoice_id for r in records.values() if r.xero_invoice_id)
        return self._deliver_due(wanted)

    def import_link(
        self, *, invoice_id: str, invoice_number: str, xero_invoice_id: str
    ) -> SyncRecord:
        """Link a BMS invoice to an existing Xero invoice, then read it (see the engine)."""
        record = self._ctx.store.get(self._ctx.tenant_id, invoice_id)
        if record is not None and record.xero_invoice_id not in (None, xero_invoice_id):
            raise ConfigurationError(
                f"invoice {invoice_number} is linked to Xero invoice {record.xero_invoice_id} "
                f"already; it can't also be {xero_invoice_id}"
            )
        wrote = record is None or record.xero_invoice_id is None
        if record is None:
            record = self._ctx.store.put(
                SyncRecord(
                    tenant_id=self._ctx.tenant_id,
                    invoice_id=invoice_id,
                    invoice_number=invoice_number,
                    state=SyncState.PUSHED,
                    xero_invoice_id=xero_invoice_id,
                ),
                expected_version=None,
            )
        elif wrote:
            record = save(self._ctx.store, record, _linked_to(xero_invoice_id))
        # Stored first, read after: what happened before is in this read, what happens
        # after is stamped later and found by the next pull.
        try:
            xero = self._ctx.client.get_invoice(xero_invoice_id)
            if xero.type != "ACCREC" or xero.invoice_number != invoice_number:
                raise ConfigurationError(
                    f"Xero invoice {xero_invoice_id} is {xero.type} {xero.invoice_number!r}, "
                    f"not sales invoice {invoice_number!r}: check the id before linking"
                )
        except BmsXeroError:
            if wrote:  # take back only the link this call made; an older one stays
                save(self._ctx.store, record, _unlinked)
            raise
        self._learn([xero])
        seed_cursors(self._ctx.store, self._ctx.tenant_id, [xero])
        self._deliver_due([invoice_id])
        latest = self._ctx.store.get(self._ctx.tenant_id, invoice_id)
        assert latest is not None
        return latest

    # --- learn ---------------------------------------------------------------------------------

    def _learn(
        self, invoices: Sequence[XeroInvoice], *, settle_ties: bool = True
    ) -> datetime | None:
        """Store what Xero holds on each linked record (nothing is told here).

        A snapshot older than the record's is never written over it. One stamped the same
        moment but holding other money can't be ordered by its stamp (Xero need not bump an
        invoice for a payment), so those invoices are read again now, and that read wins.
        Returns how far the invoice cursor may move past this page.
        """
        now = self._ctx.clock.now()
        pulled = [x for x in invoices if x.invoice_id is not None and x.type == "ACCREC"]
        records = self._linked_records(
            (x.invoice_id or "" for x in pulled),
            [(x.invoice_id, x.invoice_number, x.updated_at) for x in pulled],
        )
        ties: list[str] = []
        changes: list[tuple[SyncRecord, Change]] = []
        for xero in pulled:
            record = records.found.get(xero.invoice_id or "")
            if record is None:
                continue
            order = plan.snapshot_order(xero, record)
            if order == "older":
                continue
            if order == "tie" and settle_ties:
                ties.append(xero.invoice_id or "")
                continue
            changes.append((record, functools.partial(_learned, xero=xero, now=now)))
        # A page's records in one put_many (one transaction, not one per invoice); after a
        # conflict each is saved on its own, re-reading what it must, as save does.
        for stored in save_many(self._ctx.store, changes):
            if isinstance(stored, VersionConflict):
                raise stored
        if ties:
            self._read(ties, settle_ties=False)
        return records.held

    def _read(self, xero_ids: Iterable[str], *, settle_ties: bool = True) -> None:
        """Read these Xero invoices by id, 50 a request, and learn them."""
        ids = sorted(set(xero_ids))
        chunks = [ids[start : start + MAX_BATCH] for start in range(0, len(ids), MAX_BATCH)]

        def read(chunk: list[str]) -> None:
            self._learn(list(self._ctx.client.iter_invoices(ids=chunk)), settle_ties=settle_ties)

        if self._max_in_flight == 1 or len(chunks) <= 1:
            for chunk in chunks:
                read(chunk)
            return
        # Up to max_in_flight reads side by side: each learns its own invoices, and a
        # record two reads touch is written by compare-and-swap, the newer snapshot winning.
        with ThreadPoolExecutor(max_workers=min(self._max_in_flight, len(chunks))) as pool:
            for done in [pool.submit(read, chunk) for chunk in chunks]:
                done.result()

    def _refresh_paid(self, payments: Sequence[XeroPayment]) -> datetime | None:
        """Re-read the linked invoices whose record is older than a payment on them.

        Xero may not bump an invoice's timestamp for a payment, and a payment can land after
        the invoice pass read its invoice: the record's ``xero_updated_at`` says which
        snapshot it holds. Returns how far the payment cursor may move.
        """
        newest = plan.payment_stamps(payments)
        records = self._linked_records(
            newest, [(p.invoice_id, p.invoice_number, p.updated_at) for p in payments]
        )
        self._read(
            xid
            for xid, record in records.found.items()
            if plan.older_than_payment(record.xero_updated_at, newest[xid])
        )
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
        found = self._ctx.store.by_xero_ids(self._ctx.tenant_id, xero_ids)
        unmatched = [s for s in seen if s[0] and s[0] not in found]
        if not unmatched:
            return _Linked(found, None)
        pending = {
            r.invoice_number
            for r in self._ctx.store.iter_records(
                self._ctx.tenant_id, states=(SyncState.PENDING, SyncState.UNCERTAIN)
            )
        }
        late = self._ctx.store.by_xero_ids(self._ctx.tenant_id, (s[0] or "" for s in unmatched))
        found.update(late)
        held = plan.held_cursor(
            ((number, at) for xid, number, at in unmatched if xid not in late), pending
        )
        return _Linked(found, held)

    # --- deliver -------------------------------------------------------------------------------

    def deliver(self) -> list[PaymentUpdate]:
        """Tell the sink every change the host has not accepted yet (the whole outbox)."""
        return self._deliver(list(self._ctx.store.iter_undelivered(self._ctx.tenant_id)))

    def _deliver_due(self, invoice_ids: Iterable[str]) -> list[PaymentUpdate]:
        """The outbox, limited to these invoices."""
        due = self._ctx.store.get_many(self._ctx.tenant_id, invoice_ids)
        return self._deliver([r for _, r in sorted(due.items()) if r.delivery_due])

    def _deliver(self, records: list[SyncRecord]) -> list[PaymentUpdate]:
        unread = [r.xero_invoice_id for r in records if plan.needs_read(r) and r.xero_invoice_id]
        if unread:
            # Amounts with no allocations behind them (an upgraded store): read the truth
            # before telling the host anything.
            self._read(unread)
            fresh = self._ctx.store.get_many(self._ctx.tenant_id, (r.invoice_id for r in records))
            records = [fresh.get(r.invoice_id, r) for r in records]
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
                save(self._ctx.store, record, functools.partial(plan.mark_told, update=update))
            except VersionConflict:
                # Someone kept changing it: told stays behind and it is delivered again,
                # which an absolute update makes harmless.
                log.info("invoice %s: delivery not recorded; it comes again", update.invoice_number)
            delivered.append(update)
        if failures:
            raise PaymentDeliveryFailed(failures=failures, delivered=delivered)
        return delivered


def _learned(record: SyncRecord, *, xero: XeroInvoice, now: datetime) -> SyncRecord | None:
    # Re-checked on every compare-and-swap retry: never write an older snapshot over a newer.
    if plan.snapshot_order(xero, record) == "older":
        return None
    return plan.apply_xero(record, xero, pulled_at=now)


def _linked_to(xero_invoice_id: str) -> Change:
    def change(record: SyncRecord) -> SyncRecord:
        return record.evolve(state=SyncState.PUSHED, xero_invoice_id=xero_invoice_id)

    return change


def _unlinked(record: SyncRecord) -> SyncRecord:
    """An imported link that turned out wrong, taken back (nothing was learned through it)."""
    return record.evolve(state=SyncState.FAILED, xero_invoice_id=None)


class _ReadAhead(Generic[T]):
    """Reads ``items`` in a thread of its own, a few pages ahead of :meth:`pages`."""

    def __init__(self, items: Iterator[T], *, pages: int = 10) -> None:
        self._items = items
        self._queue: queue.Queue[list[T] | BaseException | None] = queue.Queue(maxsize=pages)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bms-xero-read-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for page in _pages(self._items):
                if not self._put(page):
                    return
            self._put(None)
        except BaseException as e:  # handed to the reader, raised there
            self._put(e)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def _put(self, value: list[T] | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def pages(self) -> Iterator[list[T]]:
        """The pages, in order; what the read raised is raised here."""
        while True:
            value = self._queue.get()
            if value is None:
                return
            if isinstance(value, BaseException):
                raise value
            yield value

    def close(self) -> None:
        """Stop reading (if it still is) and wait for the thread."""
        self._stop.set()
        self._thread.join()


def _pages(items: Iterator[T]) -> Iterator[list[T]]:
    """Up to a page of what a read yields at a time (memory stays flat)."""
    page: list[T] = []
    for item in items:
        page.append(item)
        if len(page) >= MAX_PAGE_SIZE:
            yield page
            page = []
    if page:
        yield page


def _later(current: datetime | None, *stamps: datetime | None) -> datetime | None:
    known = [s for s in (current, *stamps) if s is not None]
    return max(known) if known else None


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)
