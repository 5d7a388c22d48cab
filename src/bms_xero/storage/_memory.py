"""MemoryStore: every storage role in process memory, for tests and one-off scripts.

Same semantics as :class:`~bms_xero.storage._sqlite_store.SQLiteStore` (the contract tests run
against both), minus durability. Thread-safe: one lock guards all state.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

import attrs

from bms_xero.errors import StorageError, VersionConflict
from bms_xero.storage._checks import check_cursor, check_keys, first_by_invoice_id
from bms_xero.storage._credit_records import CreditNoteRecord
from bms_xero.storage._records import SyncRecord, SyncState

__all__ = ["MemoryStore"]

_Key = tuple[str, str]


class MemoryStore:
    """Sync records, cursors and customer links in memory; implements ``SyncStore``.

    Records are immutable, so handing them out needs no copying. ``close()`` makes further
    use raise :class:`~bms_xero.errors.StorageError`, as it does for the SQLite store.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[_Key, SyncRecord] = {}
        self._undelivered: set[_Key] = set()  # the outbox, kept in step by put_many
        # tenant -> Xero InvoiceID -> the record linked to it, kept in step by put_many, so a
        # lookup costs the ids asked for, not the records held. Records sharing a Xero id
        # (rare) are held by invoice id; one alone is held as it is, which costs less.
        self._by_xero: dict[str, dict[str, SyncRecord | dict[str, SyncRecord]]] = {}
        self._cursors: dict[_Key, datetime] = {}
        self._contacts: dict[_Key, str] = {}
        self._credit_notes: dict[_Key, CreditNoteRecord] = {}
        self._closed = False

    # --- sync records ----------------------------------------------------------------------

    def get(self, tenant_id: str, invoice_id: str) -> SyncRecord | None:
        """The record for this BMS invoice, or ``None``."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._lock:
            self._check_open()
            return self._records.get((tenant_id, invoice_id))

    def get_many(self, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records that exist among ``invoice_ids``, keyed by invoice id."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = list(invoice_ids)
        with self._lock:
            self._check_open()
            found = {i: self._records.get((tenant_id, i)) for i in wanted}
        return {i: r for i, r in found.items() if r is not None}

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = set(xero_invoice_ids)
        result: dict[str, SyncRecord] = {}
        with self._lock:
            self._check_open()
            links = self._by_xero.get(tenant_id, {})
            for xero_id in wanted:
                linked = links.get(xero_id)
                if isinstance(linked, dict):  # shared: the smallest invoice_id wins
                    result[xero_id] = linked[min(linked)]
                elif linked is not None:
                    result[xero_id] = linked
        return result

    def by_number(self, tenant_id: str, invoice_number: str) -> SyncRecord | None:
        """The record with this invoice number; the smallest ``invoice_id`` if several."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_number=invoice_number)
        return first_by_invoice_id(
            r for r in self._tenant_records(tenant_id) if r.invoice_number == invoice_number
        )

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        return self.put_many([(record, expected_version)])[0]

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        """Several puts, in order, all or nothing."""
        with self._lock:
            self._check_open()
            staged: dict[_Key, SyncRecord] = {}
            stored: list[SyncRecord] = []
            for record, expected in records:
                key = (record.tenant_id, record.invoice_id)
                current = staged[key] if key in staged else self._records.get(key)
                actual = None if current is None else current.version
                if actual != expected:
                    raise VersionConflict(
                        key=record.key, expected_version=expected, actual_version=actual
                    )
                new = record.evolve(version=1 if expected is None else expected + 1)
                staged[key] = new
                stored.append(new)
            for key, record in staged.items():
                self._relink(self._records.get(key), record)
            self._records.update(staged)
            for key, record in staged.items():
                if record.delivery_due:
                    self._undelivered.add(key)
                else:
                    self._undelivered.discard(key)
        return stored

    def iter_records(
        self, tenant_id: str, *, states: Collection[SyncState] | None = None
    ) -> Iterator[SyncRecord]:
        """Every record of the tenant (in ``states`` when given), in invoice id order."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = None if states is None else frozenset(states)
        # Snapshot first: the caller may write while iterating.
        records = [
            r for r in self._tenant_records(tenant_id) if wanted is None or r.state in wanted
        ]
        return iter(sorted(records, key=lambda r: r.invoice_id))

    def iter_undelivered(self, tenant_id: str) -> Iterator[SyncRecord]:
        """The tenant's records with money news for the host, in invoice id order."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        with self._lock:
            self._check_open()
            keys = sorted(k for k in self._undelivered if k[0] == tenant_id)
            records = [self._records[k] for k in keys]
        return iter(records)

    # --- credit notes ------------------------------------------------------------------------

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> CreditNoteRecord | None:
        """The record for this BMS credit note, or ``None``."""
        check_keys("credit note lookup", tenant_id=tenant_id, credit_note_id=credit_note_id)
        with self._lock:
            self._check_open()
            return self._credit_notes.get((tenant_id, credit_note_id))

    def credit_notes_for_invoice(self, tenant_id: str, invoice_id: str) -> list[CreditNoteRecord]:
        """The records of the credit notes that credit this BMS invoice, by credit note id."""
        check_keys("credit note lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._lock:
            self._check_open()
            found = [
                r
                for (tenant, _), r in self._credit_notes.items()
                if tenant == tenant_id and r.invoice_id == invoice_id
            ]
        return sorted(found, key=lambda r: r.credit_note_id)

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        with self._lock:
            self._check_open()
            key = (record.tenant_id, record.credit_note_id)
            current = self._credit_notes.get(key)
            actual = None if current is None else current.version
            if actual != expected_version:
                raise VersionConflict(
                    key=record.key, expected_version=expected_version, actual_version=actual
                )
            version = 1 if expected_version is None else expected_version + 1
            new = attrs.evolve(record, version=version)
            self._credit_notes[key] = new
            return new

    # --- cursors -----------------------------------------------------------------------------

    def get_cursor(self, tenant_id: str, name: str) -> datetime | None:
        """The cursor's value (aware, UTC), or ``None`` if it was never set."""
        check_keys(f"cursor {name!r}", tenant_id=tenant_id, name=name)
        with self._lock:
            self._check_open()
            return self._cursors.get((tenant_id, name))

    def set_cursor(self, tenant_id: str, name: str, value: datetime) -> None:
        """Move the cursor forward to ``value``; an earlier value is ignored."""
        value = check_cursor(tenant_id, name, value)
        with self._lock:
            self._check_open()
            current = self._cursors.get((tenant_id, name))
            if current is None or value > current:
                self._cursors[(tenant_id, name)] = value

    # --- customer links ----------------------------------------------------------------------

    def get_contact_id(self, tenant_id: str, customer_id: str) -> str | None:
        """The Xero ContactID linked to this BMS customer, or ``None``."""
        check_keys("customer link", tenant_id=tenant_id, customer_id=customer_id)
        with self._lock:
            self._check_open()
            return self._contacts.get((tenant_id, customer_id))

    def set_contact_id(self, tenant_id: str, customer_id: str, contact_id: str) -> None:
        """Link the customer to ``contact_id``, replacing any earlier link."""
        check_keys(
            "customer link", tenant_id=tenant_id, customer_id=customer_id, contact_id=contact_id
        )
        with self._lock:
            self._check_open()
            self._contacts[(tenant_id, customer_id)] = contact_id

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse further use (idempotent)."""
        with self._lock:
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        with self._lock:
            count = len(self._records)
            closed = ", closed" if self._closed else ""
        return f"MemoryStore(records={count}{closed})"

    def _relink(self, old: SyncRecord | None, new: SyncRecord) -> None:
        """Keep the Xero id index in step with a stored record: ``new`` replaces ``old``
        (``None``: an insert) under ``new``'s Xero id, and leaves ``old``'s if it changed.
        The caller holds the lock."""
        links = self._by_xero.setdefault(new.tenant_id, {})
        before, after = None if old is None else old.xero_invoice_id, new.xero_invoice_id
        if before is not None and before != after:
            linked = links[before]
            if isinstance(linked, dict):
                del linked[new.invoice_id]
                if len(linked) == 1:
                    [links[before]] = linked.values()
            else:
                del links[before]
        if after is None:
            return
        held = links.get(after)
        if held is None or (isinstance(held, SyncRecord) and held.invoice_id == new.invoice_id):
            links[after] = new
        elif isinstance(held, dict):
            held[new.invoice_id] = new
        else:
            links[after] = {held.invoice_id: held, new.invoice_id: new}

    def _tenant_records(self, tenant_id: str) -> list[SyncRecord]:
        with self._lock:
            self._check_open()
            return [r for (t, _), r in self._records.items() if t == tenant_id]

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("this MemoryStore is closed; create a new one")
