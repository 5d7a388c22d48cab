"""The storage ports the sync engine depends on: small Protocols, each named for a role.

A host can implement them on its own database without inheriting from anything here; the
exact semantics each method must keep are in ``docs/storage.md``, and
:mod:`bms_xero.storage.contract` checks an implementation against them. Every key includes the
Xero tenant id, so one set of stores serves several organisations (one engine per tenant).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from bms_xero.storage._credit_records import CreditNoteRecord
from bms_xero.storage._records import SyncRecord, SyncState

__all__ = ["CreditNoteStore", "CursorStore", "CustomerLinkStore", "SyncRecordStore", "SyncStore"]


@runtime_checkable
class SyncRecordStore(Protocol):
    """Sync records, keyed by ``(tenant_id, invoice_id)``, written with compare-and-swap."""

    def get(self, tenant_id: str, invoice_id: str) -> SyncRecord | None:
        """The record for this BMS invoice, or ``None``."""
        ...

    def get_many(self, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records that exist among ``invoice_ids``, keyed by invoice id (missing ones left
        out)."""
        ...

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID. When several
        records share one, the one with the smallest ``invoice_id`` is returned."""
        ...

    def by_number(self, tenant_id: str, invoice_number: str) -> SyncRecord | None:
        """The record with this invoice number; the smallest ``invoice_id`` if several."""
        ...

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        """Write ``record``, compare-and-swap on its version.

        ``expected_version=None`` inserts, and raises
        :class:`~bms_xero.errors.VersionConflict` if a record exists for
        ``(tenant_id, invoice_id)``. Otherwise the write happens only if the stored version
        equals ``expected_version``, else VersionConflict (``actual_version`` is the stored
        version, ``None`` when there is no record). ``record.version`` is ignored.

        Returns:
            The stored record, with ``version`` 1 after an insert, else
            ``expected_version + 1``.
        """
        ...

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        """Several puts as one transaction, applied in order (a later entry for the same key
        sees the earlier one's version). All or nothing: any conflict raises VersionConflict
        and writes nothing. Returns the stored records in the same order."""
        ...

    def iter_records(
        self, tenant_id: str, *, states: Collection[SyncState] | None = None
    ) -> Iterator[SyncRecord]:
        """Every record of the tenant (only those in ``states`` when given; an empty
        collection yields nothing). The order is not part of the contract. Records written
        while iterating may or may not be seen."""
        ...

    def iter_undelivered(self, tenant_id: str) -> Iterator[SyncRecord]:
        """The tenant's records whose ``money_version`` is greater than their
        ``told_version`` (the outbox: Xero holds money news the host has not accepted), in
        ``invoice_id`` order. Its cost should follow the number due, not the number stored
        (an index on the condition). Records written while iterating may or may not be
        seen."""
        ...


@runtime_checkable
class CursorStore(Protocol):
    """Named high-water marks per tenant, e.g. where the last payment pull got to."""

    def get_cursor(self, tenant_id: str, name: str) -> datetime | None:
        """The cursor's value (aware, UTC), or ``None`` if it was never set."""
        ...

    def set_cursor(self, tenant_id: str, name: str, value: datetime) -> None:
        """Move the cursor to ``value`` (aware) unless it is already later: a cursor never
        moves backwards, so a slow puller can't undo a faster one's progress."""
        ...


@runtime_checkable
class CustomerLinkStore(Protocol):
    """BMS customer id -> Xero ContactID, per tenant (what ``link_customer`` records)."""

    def get_contact_id(self, tenant_id: str, customer_id: str) -> str | None:
        """The Xero ContactID linked to this BMS customer, or ``None``."""
        ...

    def set_contact_id(self, tenant_id: str, customer_id: str, contact_id: str) -> None:
        """Link the customer to ``contact_id``, replacing any earlier link."""
        ...


@runtime_checkable
class CreditNoteStore(Protocol):
    """Credit note records, keyed by ``(tenant_id, credit_note_id)``, compare-and-swap.

    Its own role, apart from :class:`SyncStore`, so a host store written before credit notes
    keeps working: ``SyncEngine`` uses its store for credit notes when it implements this
    (``MemoryStore`` and ``SQLiteStore`` do), or the ``credit_notes=`` store it is given.
    """

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> CreditNoteRecord | None:
        """The record for this BMS credit note, or ``None``."""
        ...

    def credit_notes_for_invoice(self, tenant_id: str, invoice_id: str) -> list[CreditNoteRecord]:
        """The records of the credit notes that credit this BMS invoice, by credit note id."""
        ...

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        """Write ``record``, compare-and-swap on its version, as ``SyncRecordStore.put``:
        ``None`` inserts (VersionConflict if one exists), otherwise the stored version must
        equal ``expected_version``. Returns the stored record (version 1 after an insert,
        else ``expected_version + 1``)."""
        ...


@runtime_checkable
class SyncStore(SyncRecordStore, CursorStore, CustomerLinkStore, Protocol):
    """What ``SyncEngine(store=...)`` takes: all three roles in one object."""
