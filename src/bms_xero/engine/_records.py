"""Writing sync records: compare-and-swap with re-reads, and the changes every operation makes.

Each change is a pure function ``record -> record | None`` (``None``: leave it as someone
else left it); :func:`save` applies one with compare-and-swap, re-reading when another writer
got there first, so a change is always made to the latest record and never overwrites a
newer one blindly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from bms_xero.domain import XeroInvoice
from bms_xero.errors import BmsXeroError, VersionConflict
from bms_xero.storage._protocols import SyncStore
from bms_xero.storage._records import SyncRecord, SyncState

__all__ = [
    "INVOICE_CURSOR",
    "PAYMENT_CURSOR",
    "Change",
    "cleared",
    "dropped_intent",
    "if_intent",
    "marked_uncertain",
    "record_error",
    "save",
    "save_many",
    "seed_cursors",
    "tombstone",
]

log = logging.getLogger("bms_xero.engine")

INVOICE_CURSOR = "invoices"
PAYMENT_CURSOR = "payments"

Change = Callable[[SyncRecord], SyncRecord | None]


def save(store: SyncStore, record: SyncRecord, change: Change) -> SyncRecord:
    """Apply ``change`` with compare-and-swap, re-reading if someone else wrote first.

    Raises:
        VersionConflict: The record kept changing (five tries), or it is gone.
    """
    current = record
    for _ in range(5):
        changed = change(current)
        if changed is None:
            return current
        try:
            return store.put(changed, expected_version=current.version)
        except VersionConflict:
            latest = store.get(current.tenant_id, current.invoice_id)
            if latest is None:
                raise
            current = latest
    raise VersionConflict(key=record.key, expected_version=current.version, actual_version=None)


def save_many(
    store: SyncStore, changes: Sequence[tuple[SyncRecord, Change]]
) -> list[SyncRecord | VersionConflict]:
    """:func:`save` for many records, in one transaction when nobody else wrote first.

    One ``put_many`` for every change (a write's answers land together: one commit, not one
    per invoice). If any record changed meanwhile (``VersionConflict``, which writes
    nothing), each is saved on its own as :func:`save` does, re-reading what it must. Each
    entry of the result is the stored record, or the conflict that stopped that record.
    """
    planned = [(record, change(record)) for record, change in changes]
    writes = [(changed, record.version) for record, changed in planned if changed is not None]
    stored: list[SyncRecord] = []
    if writes:
        try:
            stored = store.put_many(writes)
        except VersionConflict:
            return [_saved_alone(store, record, change) for record, change in changes]
    landed = iter(stored)
    return [record if changed is None else next(landed) for record, changed in planned]


def _saved_alone(
    store: SyncStore, record: SyncRecord, change: Change
) -> SyncRecord | VersionConflict:
    try:
        return save(store, record, change)
    except VersionConflict as e:
        return e


def record_error(
    store: SyncStore,
    *,
    tenant_id: str,
    invoice_id: str,
    invoice_number: str,
    error: BmsXeroError,
    now: datetime,
) -> None:
    """Keep the last error for the panel; never touch the link or the fingerprint."""
    for _ in range(3):
        record = store.get(tenant_id, invoice_id)
        if record is None:
            fresh = SyncRecord(
                tenant_id=tenant_id,
                invoice_id=invoice_id,
                invoice_number=invoice_number,
                state=SyncState.FAILED,
                last_error=str(error),
                last_error_at=now,
                last_error_type=type(error).__name__,
            )
            expected = None
        else:
            fresh = record.evolve(
                last_error=str(error),
                last_error_at=now,
                last_error_type=type(error).__name__,
            )
            expected = record.version
        try:
            store.put(fresh, expected_version=expected)
            return
        except VersionConflict:
            continue
    log.warning("could not record the error for invoice %s: it kept changing", invoice_number)


def if_intent(key: str | None, change: Callable[[SyncRecord], SyncRecord]) -> Change:
    """``change``, applied only while the record still carries our intent ``key``: if
    another pusher stored one since, it is theirs."""

    def guarded(record: SyncRecord) -> SyncRecord | None:
        return change(record) if record.intent_key == key else None

    return guarded


def marked_uncertain(message: str, now: datetime) -> Callable[[SyncRecord], SyncRecord]:
    """The create may or may not have landed: the next push looks it up before anything."""

    def change(record: SyncRecord) -> SyncRecord:
        return record.evolve(
            state=SyncState.UNCERTAIN,
            last_error=message,
            last_error_at=now,
            last_error_type="UncertainOutcome",
        )

    return change


def dropped_intent(
    message: str | None, now: datetime, error_type: str | None = None
) -> Callable[[SyncRecord], SyncRecord]:
    """Xero certainly created nothing for this intent: drop it, keep the error (and its
    class name, ``error_type``)."""

    def change(record: SyncRecord) -> SyncRecord:
        kept = message is None
        return record.evolve(
            state=SyncState.PUSHED if record.xero_invoice_id else SyncState.FAILED,
            intent_key=None,
            intent_fingerprint=None,
            intent_at=None,
            last_error=record.last_error if kept else message,
            last_error_at=record.last_error_at if kept else now,
            last_error_type=record.last_error_type if kept else error_type,
        )

    return change


def tombstone(record: SyncRecord) -> SyncRecord:
    """Cancelled before Xero ever had it: no create may follow."""
    return record.evolve(
        state=SyncState.VOIDED, intent_key=None, intent_fingerprint=None, intent_at=None
    )


def cleared(record: SyncRecord) -> SyncRecord:
    """Xero has it: an old error is moot."""
    return record.evolve(last_error=None, last_error_at=None, last_error_type=None)


def seed_cursors(store: SyncStore, tenant_id: str, landed: Iterable[XeroInvoice]) -> None:
    """Start pulling from the store's first links (a write's answers, an adoption, an
    import), by Xero's clock, not from the beginning of time.

    Called once per write, with everything it linked: the cursors are read once, not per
    invoice. Only an unset cursor is seeded, at the earliest of these links and every link
    already stored. A set one is already no later than anything a new link can do, because
    the link's own read (the create's answer, the lookup) saw the invoice as it was, and
    what changes afterwards is stamped later than any cursor a finished pull stored (a pull
    running meanwhile is held back by the pending intent; see :mod:`bms_xero.engine._pull`).
    """
    stamps = [x.updated_at for x in landed if x.updated_at is not None]
    if not stamps:
        return
    unset = [n for n in (INVOICE_CURSOR, PAYMENT_CURSOR) if store.get_cursor(tenant_id, n) is None]
    if not unset:
        return
    # Never later than a link already stored: a process that died between an earlier
    # link and its seed left that link's history behind this one's.
    start = min(
        stamps
        + [
            r.xero_updated_at
            for r in store.iter_records(tenant_id)
            if r.xero_invoice_id is not None and r.xero_updated_at is not None
        ]
    )
    for name in unset:
        store.set_cursor(tenant_id, name, start)
