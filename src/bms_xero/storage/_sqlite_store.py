"""SQLiteStore: every storage role in one SQLite file (stdlib ``sqlite3``), the embedded default.

Safe for several threads and several processes on one machine:

- WAL journal, so readers never block the writer and the writer never blocks readers;
- every write runs in ``BEGIN IMMEDIATE``, which takes the file's write lock before reading
  the version it compares, so two processes can't both win a compare-and-swap;
- ``busy_timeout`` (``timeout=``) makes a writer wait for the lock instead of failing;
- ``synchronous=FULL`` by default: a committed intent survives power loss, which is what
  "persist the intent before sending" needs.

Values are stored exactly: Decimals as TEXT (``str(Decimal)``), datetimes as fixed-width
ISO-8601 UTC TEXT (so text order is time order), dates as ``YYYY-MM-DD``. The schema is
versioned in ``bms_xero_schema`` under the component name ``"sync"``; opening a file written
by a newer bms_xero raises :class:`~bms_xero.errors.SchemaVersionError` and changes nothing.
The file may be shared with the other bms_xero SQLite stores: every table is prefixed.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar, Final, Literal, Self

import attrs

from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import StorageError, VersionConflict
from bms_xero.storage._checks import check_cursor, check_keys
from bms_xero.storage._credit_records import CreditNoteRecord, CreditNoteState
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.storage._sqlite import SQLiteFile
from bms_xero.storage._sqlite_schema import Migration

__all__ = ["SQLiteStore"]

COMPONENT: Final = "sync"
RECORDS: Final = "bms_xero_sync_records"
CURSORS: Final = "bms_xero_sync_cursors"
LINKS: Final = "bms_xero_sync_customer_links"
CREDIT_NOTES: Final = "bms_xero_sync_credit_notes"

_FIELDS: Final = tuple(f.name for f in attrs.fields(SyncRecord))
_DATETIMES: Final = frozenset(
    {"intent_at", "last_push_at", "last_pull_at", "xero_updated_at", "last_error_at", "emailed_at"}
)
_MONEY: Final = frozenset(
    {
        "total",
        "amount_due",
        "amount_paid",
        "amount_credited",
        "paid_by_prepayments",
        "paid_by_overpayments",
    }
)
_DATES: Final = frozenset({"fully_paid_on"})
_COUNTERS: Final = frozenset({"version", "money_version", "told_version"})
_TYPED_COLUMNS: Final = {"state": "TEXT NOT NULL", "version": "INTEGER NOT NULL"}
_KEY_COLUMNS: Final = ("tenant_id", "invoice_id", "invoice_number")
# The columns schema 1 created, frozen: later fields arrive by later migrations.
_V1_FIELDS: Final = (
    "tenant_id",
    "invoice_id",
    "invoice_number",
    "state",
    "version",
    "xero_invoice_id",
    "fingerprint",
    "intent_key",
    "intent_fingerprint",
    "intent_at",
    "last_push_at",
    "last_pull_at",
    "xero_status",
    "total",
    "amount_due",
    "amount_paid",
    "amount_credited",
    "fully_paid_on",
    "xero_updated_at",
    "last_error",
    "last_error_at",
)

# SQLite's bound-parameter limit is 32766 since 3.32 but 999 before; stay under both.
_CHUNK: Final = 500
# Connections kept open for reuse; more than this are closed after use.


def _v1(conn: sqlite3.Connection) -> None:
    """Records, cursors and customer links, every key led by tenant_id."""
    columns = ",\n".join(
        f"{name} {_TYPED_COLUMNS.get(name, 'TEXT NOT NULL' if name in _KEY_COLUMNS else 'TEXT')}"
        for name in _V1_FIELDS
    )
    conn.execute(f"CREATE TABLE {RECORDS} ({columns}, PRIMARY KEY (tenant_id, invoice_id))")
    conn.execute(f"CREATE INDEX {RECORDS}_xero_id ON {RECORDS} (tenant_id, xero_invoice_id)")
    conn.execute(f"CREATE INDEX {RECORDS}_number ON {RECORDS} (tenant_id, invoice_number)")
    conn.execute(f"CREATE INDEX {RECORDS}_state ON {RECORDS} (tenant_id, state)")
    conn.execute(
        f"CREATE TABLE {CURSORS} (tenant_id TEXT NOT NULL, name TEXT NOT NULL, "
        "value TEXT NOT NULL, PRIMARY KEY (tenant_id, name))"
    )
    conn.execute(
        f"CREATE TABLE {LINKS} (tenant_id TEXT NOT NULL, customer_id TEXT NOT NULL, "
        "contact_id TEXT NOT NULL, PRIMARY KEY (tenant_id, customer_id))"
    )


def _v2(conn: sqlite3.Connection) -> None:
    """The money breakdown, the allocations, what the host was told (the outbox), and the
    panel's link (so the panel reads the store only).

    Records written before this version were delivered by the old pull, which could lose a
    payment (an adoption or a late-seeded cursor hid it); every record whose invoice has money
    on it is marked due once, so the host is told the truth again. Updates are absolute, so a
    repeat is harmless.
    """
    for name in (
        "paid_by_prepayments",
        "paid_by_overpayments",
        "allocations",
        "told_status",
        "view_url",
    ):
        conn.execute(f"ALTER TABLE {RECORDS} ADD COLUMN {name} TEXT")
    for name in ("money_version", "told_version", "delivered"):
        conn.execute(f"ALTER TABLE {RECORDS} ADD COLUMN {name} INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        f"UPDATE {RECORDS} SET money_version = 1 WHERE "  # noqa: S608 (constant)
        "CAST(COALESCE(amount_paid, '0') AS REAL) != 0 "
        "OR CAST(COALESCE(amount_credited, '0') AS REAL) != 0 "
        "OR xero_status IN ('PAID', 'VOIDED', 'DELETED')"
    )
    # The outbox: only records waiting for delivery are in this index, so finding them costs
    # what is due, not what is stored.
    conn.execute(
        f"CREATE INDEX {RECORDS}_undelivered ON {RECORDS} (tenant_id, invoice_id) "
        "WHERE money_version > told_version"
    )


_CREDIT_FIELDS: Final = tuple(f.name for f in attrs.fields(CreditNoteRecord))
_CREDIT_DATETIMES: Final = frozenset(
    {"intent_at", "allocation_at", "last_push_at", "last_error_at"}
)
_CREDIT_MONEY: Final = frozenset({"total", "allocated", "remaining_credit"})


# The columns schema 3 created, frozen: later fields arrive by later migrations.
_V3_CREDIT_FIELDS: Final = (
    "tenant_id",
    "credit_note_id",
    "credit_note_number",
    "invoice_id",
    "state",
    "version",
    "xero_credit_note_id",
    "xero_invoice_id",
    "fingerprint",
    "intent_key",
    "intent_fingerprint",
    "intent_at",
    "allocation_key",
    "allocation_at",
    "allocated",
    "total",
    "remaining_credit",
    "xero_status",
    "last_push_at",
    "last_error",
    "last_error_at",
    "view_url",
    "policy",
)


def _v3(conn: sqlite3.Connection) -> None:
    """Credit notes: one row per BMS credit note, found by id and by the invoice it credits."""
    columns = ",\n".join(
        f"{name} {'INTEGER NOT NULL' if name == 'version' else 'TEXT'}"
        for name in _V3_CREDIT_FIELDS
    )
    conn.execute(
        f"CREATE TABLE {CREDIT_NOTES} ({columns}, PRIMARY KEY (tenant_id, credit_note_id))"
    )
    conn.execute(f"CREATE INDEX {CREDIT_NOTES}_invoice ON {CREDIT_NOTES} (tenant_id, invoice_id)")


def _v4(conn: sqlite3.Connection) -> None:
    """Receivables details on each record: the customer's online invoice link and when the
    invoice was emailed (both empty on records written before)."""
    for name in ("online_invoice_url", "emailed_at"):
        conn.execute(f"ALTER TABLE {RECORDS} ADD COLUMN {name} TEXT")


def _v5(conn: sqlite3.Connection) -> None:
    """The class name of each record's last error, so a panel can say what fixes it (empty
    on records written before: their error shows as text only)."""
    conn.execute(f"ALTER TABLE {RECORDS} ADD COLUMN last_error_type TEXT")


#: The sync component's migrations, oldest first; append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1, _v2, _v3, _v4, _v5)

_SELECT: Final = f"SELECT {', '.join(_FIELDS)} FROM {RECORDS}"  # noqa: S608 (constants)
_UPSERT: Final = (
    f"INSERT INTO {RECORDS} ({', '.join(_FIELDS)}) "  # noqa: S608 (constants)
    f"VALUES ({', '.join('?' for _ in _FIELDS)}) "
    "ON CONFLICT (tenant_id, invoice_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _FIELDS[2:])
)


def _datetime_text(value: datetime) -> str:
    # Fixed width (microseconds always, +00:00), so comparing the text compares the times.
    if value.tzinfo is UTC:  # every record's times are (their converters see to it)
        return _utc_text(value)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@functools.lru_cache(maxsize=256)
def _utc_text(value: datetime) -> str:
    """Cached: a batch's records share their push and intent times. Two UTC datetimes that
    compare equal have the same fields (unlike two in a zone with a fold), so the same text."""
    return value.isoformat(timespec="microseconds")


def _allocations_text(allocations: tuple[Allocation, ...]) -> str | None:
    if not allocations:
        return None
    return json.dumps(
        [
            [
                a.kind.value,
                a.id,
                str(a.amount),
                None if a.date is None else a.date.isoformat(),
                a.reference,
            ]
            for a in allocations
        ]
    )


def _allocations(text: str | None) -> tuple[Allocation, ...]:
    if not text:
        return ()
    return tuple(
        Allocation(
            kind=AllocationKind(kind),
            id=ident,
            amount=Decimal(amount),
            date=None if on is None else date.fromisoformat(on),
            reference=reference,
        )
        for kind, ident, amount, on, reference in json.loads(text)
    )


def _column_writer(name: str) -> str:
    """The expression that writes field ``name`` of ``r`` (bound to ``v``) as its column."""
    if name == "allocations":
        return "_allocations_text(r.allocations)"
    if name == "delivered":
        return "int(r.delivered)"
    if name in _COUNTERS:
        return f"r.{name}"
    if name in _DATETIMES:
        return f"None if (v := r.{name}) is None else _datetime_text(v)"
    if name in _DATES:
        return f"None if (v := r.{name}) is None else v.isoformat()"
    return f"None if (v := r.{name}) is None else str(v)"  # text, StrEnum, Decimal: exact


def _row_encoder() -> Callable[[SyncRecord], tuple[object, ...]]:
    """``_encode``: a record's row in ``_FIELDS`` order, written as one expression per column
    (generated once: a push writes every record twice, and a loop over the fields choosing a
    writer for each cost twice as much)."""
    body = ",\n        ".join(_column_writer(name) for name in _FIELDS)
    source = f"def _encode(r):\n    return (\n        {body},\n    )\n"
    scope: dict[str, Any] = {
        "_allocations_text": _allocations_text,
        "_datetime_text": _datetime_text,
    }
    exec(source, scope)  # noqa: S102 - built from our own field names only
    encode: Callable[[SyncRecord], tuple[object, ...]] = scope["_encode"]
    return encode


_encode: Final = _row_encoder()


def _decode(row: Sequence[Any]) -> SyncRecord:
    values: dict[str, Any] = {}
    for name, value in zip(_FIELDS, row, strict=True):
        if name == "allocations":
            values[name] = _allocations(value)
        elif name == "delivered":
            values[name] = bool(value)
        elif value is None or name in _COUNTERS:
            values[name] = value
        elif name in _DATETIMES:
            values[name] = datetime.fromisoformat(value)
        elif name in _MONEY:
            values[name] = Decimal(value)
        elif name in _DATES:
            values[name] = date.fromisoformat(value)
        elif name == "state":
            values[name] = SyncState(value)
        else:
            values[name] = value
    return SyncRecord(**values)


_CREDIT_SELECT: Final = f"SELECT {', '.join(_CREDIT_FIELDS)} FROM {CREDIT_NOTES}"  # noqa: S608
_CREDIT_UPSERT: Final = (
    f"INSERT INTO {CREDIT_NOTES} ({', '.join(_CREDIT_FIELDS)}) "  # noqa: S608 (constants)
    f"VALUES ({', '.join('?' for _ in _CREDIT_FIELDS)}) "
    "ON CONFLICT (tenant_id, credit_note_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _CREDIT_FIELDS[2:])
)


def _encode_credit(record: CreditNoteRecord) -> tuple[object, ...]:
    row: list[object] = []
    for name in _CREDIT_FIELDS:
        value = getattr(record, name)
        if value is None or name == "version":
            row.append(value)
        elif name in _CREDIT_DATETIMES:
            row.append(_datetime_text(value))
        else:  # text, the StrEnum state, Decimal: str() is exact for each
            row.append(str(value))
    return tuple(row)


def _decode_credit(row: Sequence[Any]) -> CreditNoteRecord:
    values: dict[str, Any] = {}
    for name, value in zip(_CREDIT_FIELDS, row, strict=True):
        if value is None or name == "version":
            values[name] = value
        elif name in _CREDIT_DATETIMES:
            values[name] = datetime.fromisoformat(value)
        elif name in _CREDIT_MONEY:
            values[name] = Decimal(value)
        elif name == "state":
            values[name] = CreditNoteState(value)
        else:
            values[name] = value
    return CreditNoteRecord(**values)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _versions(
    conn: sqlite3.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The stored version of each of ``keys`` that has a record, by (tenant id, invoice id)."""
    by_tenant: dict[str, set[str]] = {}
    for tenant_id, invoice_id in keys:
        by_tenant.setdefault(tenant_id, set()).add(invoice_id)
    found: dict[tuple[str, str], int] = {}
    for tenant_id, invoice_ids in by_tenant.items():
        for chunk in _chunks(sorted(invoice_ids)):
            rows = conn.execute(
                f"SELECT invoice_id, version FROM {RECORDS} "  # noqa: S608 (constants)
                f"WHERE tenant_id = ? AND invoice_id IN ({_marks(len(chunk))})",
                (tenant_id, *chunk),
            )
            for invoice_id, version in rows:
                found[tenant_id, invoice_id] = int(version)
    return found


def _marks(count: int) -> str:
    return ", ".join("?" * count)


class SQLiteStore:
    """Sync records, cursors and customer links in one SQLite file; implements ``SyncStore``.

    Creates the file (and the tables) when missing and upgrades an older schema on open.
    Use it as a context manager, or call :meth:`close`.

    Args:
        path: The database file. Its directory must exist. ``":memory:"`` is refused (each
            connection would see a different database): use ``MemoryStore`` instead.
        timeout: Seconds a write waits for another thread or process to release the lock
            before failing with :class:`~bms_xero.errors.StorageError`.
        synchronous: SQLite's ``synchronous`` setting. ``"FULL"`` (the default) makes each
            commit durable across power loss; ``"NORMAL"`` is faster but a power cut may
            lose the last commits (never corrupt the file).

    Raises:
        ConfigurationError: A bad argument.
        SchemaVersionError: The file was written by a newer bms_xero.
        StorageError: The file can't be opened or isn't a database.
    """

    schema_version: ClassVar[int] = len(MIGRATIONS)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
    ) -> None:
        self._db = SQLiteFile(
            path,
            owner="SQLiteStore",
            component=COMPONENT,
            migrations=MIGRATIONS,
            timeout=timeout,
            synchronous=synchronous,
            in_memory_hint="use MemoryStore() for a store that lives in memory",
        )
        self._path = self._db.path

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    # --- sync records ----------------------------------------------------------------------

    def get(self, tenant_id: str, invoice_id: str) -> SyncRecord | None:
        """The record for this BMS invoice, or ``None``."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.errors("read a sync record"), self._db.connection() as conn:
            row = conn.execute(
                f"{_SELECT} WHERE tenant_id = ? AND invoice_id = ?", (tenant_id, invoice_id)
            ).fetchone()
            return None if row is None else self._decode(row)

    def get_many(self, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records that exist among ``invoice_ids``, keyed by invoice id."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = sorted(set(invoice_ids))
        result: dict[str, SyncRecord] = {}
        if not wanted:
            return result
        with self._db.transaction("read sync records", write=False) as conn:
            for chunk in _chunks(wanted):
                rows = conn.execute(
                    f"{_SELECT} WHERE tenant_id = ? AND invoice_id IN ({_marks(len(chunk))})",
                    (tenant_id, *chunk),
                )
                for row in rows:
                    record = self._decode(row)
                    result[record.invoice_id] = record
        return result

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = sorted(set(xero_invoice_ids))
        result: dict[str, SyncRecord] = {}
        if not wanted:
            return result
        with self._db.transaction("read sync records", write=False) as conn:
            for chunk in _chunks(wanted):
                # No ORDER BY: it made SQLite walk the primary key instead of the xero_id
                # index (5x slower at 100k records). The smallest invoice_id wins here
                # instead; Python's str order is SQLite's BINARY order for UTF-8 text.
                rows = conn.execute(
                    f"{_SELECT} WHERE tenant_id = ? AND xero_invoice_id IN "
                    f"({_marks(len(chunk))})",
                    (tenant_id, *chunk),
                )
                for row in rows:
                    record = self._decode(row)
                    assert record.xero_invoice_id is not None
                    held = result.get(record.xero_invoice_id)
                    if held is None or record.invoice_id < held.invoice_id:
                        result[record.xero_invoice_id] = record
        return result

    def by_number(self, tenant_id: str, invoice_number: str) -> SyncRecord | None:
        """The record with this invoice number; the smallest ``invoice_id`` if several."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_number=invoice_number)
        with self._db.errors("read a sync record"), self._db.connection() as conn:
            row = conn.execute(
                f"{_SELECT} WHERE tenant_id = ? AND invoice_number = ? ORDER BY invoice_id LIMIT 1",
                (tenant_id, invoice_number),
            ).fetchone()
            return None if row is None else self._decode(row)

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        return self.put_many([(record, expected_version)])[0]

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        """Several puts, in order, in one transaction (one fsync); all or nothing."""
        if not records:
            return []
        stored: list[SyncRecord] = []
        rows: list[tuple[object, ...]] = []
        with self._db.transaction("write sync records", write=True) as conn:
            # The versions compared are read first, a few hundred keys a query, and the rows
            # written together after: the same checks in the same order as one put after
            # another, and a conflict writes nothing (raised before any write).
            held = _versions(conn, [(r.tenant_id, r.invoice_id) for r, _ in records])
            for record, expected in records:
                key = (record.tenant_id, record.invoice_id)
                actual = held.get(key)
                if actual != expected:
                    raise VersionConflict(
                        key=record.key, expected_version=expected, actual_version=actual
                    )
                new = record.evolve(version=1 if expected is None else expected + 1)
                rows.append(_encode(new))
                held[key] = new.version
                stored.append(new)
            conn.executemany(_UPSERT, rows)
        return stored

    def iter_records(
        self, tenant_id: str, *, states: Collection[SyncState] | None = None
    ) -> Iterator[SyncRecord]:
        """Every record of the tenant (in ``states`` when given), in invoice id order.

        Reads pages of a few hundred records, so no read stays open while the caller works.
        """
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = None if states is None else sorted({str(s) for s in states})
        if wanted == []:
            return iter(())
        return self._pages(tenant_id, wanted)

    def iter_undelivered(self, tenant_id: str) -> Iterator[SyncRecord]:
        """The tenant's records with money news for the host, in invoice id order.

        Served by a partial index that holds only those records, so it costs what is due.
        """
        check_keys("sync record lookup", tenant_id=tenant_id)
        return self._pages(tenant_id, None, where=" AND money_version > told_version")

    def _pages(
        self, tenant_id: str, states: list[str] | None, *, where: str = ""
    ) -> Iterator[SyncRecord]:
        if states is not None:
            where += f" AND state IN ({_marks(len(states))})"
        after = ""
        while True:
            with self._db.errors("read sync records"), self._db.connection() as conn:
                rows = conn.execute(
                    f"{_SELECT} WHERE tenant_id = ? AND invoice_id > ?{where} "
                    f"ORDER BY invoice_id LIMIT {_CHUNK}",
                    (tenant_id, after, *(states or ())),
                ).fetchall()
                page = [self._decode(row) for row in rows]
            yield from page
            if len(page) < _CHUNK:
                return
            after = page[-1].invoice_id

    # --- credit notes ------------------------------------------------------------------------

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> CreditNoteRecord | None:
        """The record for this BMS credit note, or ``None``."""
        check_keys("credit note lookup", tenant_id=tenant_id, credit_note_id=credit_note_id)
        with self._db.errors("read a credit note record"), self._db.connection() as conn:
            row = conn.execute(
                f"{_CREDIT_SELECT} WHERE tenant_id = ? AND credit_note_id = ?",
                (tenant_id, credit_note_id),
            ).fetchone()
            return None if row is None else self._decode_credit(row)

    def credit_notes_for_invoice(self, tenant_id: str, invoice_id: str) -> list[CreditNoteRecord]:
        """The records of the credit notes that credit this BMS invoice, by credit note id."""
        check_keys("credit note lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.errors("read credit note records"), self._db.connection() as conn:
            rows = conn.execute(
                f"{_CREDIT_SELECT} WHERE tenant_id = ? AND invoice_id = ? ORDER BY credit_note_id",
                (tenant_id, invoice_id),
            ).fetchall()
            return [self._decode_credit(row) for row in rows]

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        with self._db.transaction("write a credit note record", write=True) as conn:
            row = conn.execute(
                f"SELECT version FROM {CREDIT_NOTES} "  # noqa: S608 (constant)
                "WHERE tenant_id = ? AND credit_note_id = ?",
                (record.tenant_id, record.credit_note_id),
            ).fetchone()
            actual = None if row is None else int(row[0])
            if actual != expected_version:
                raise VersionConflict(
                    key=record.key, expected_version=expected_version, actual_version=actual
                )
            version = 1 if expected_version is None else expected_version + 1
            new = attrs.evolve(record, version=version)
            conn.execute(_CREDIT_UPSERT, _encode_credit(new))
        return new

    # --- cursors -----------------------------------------------------------------------------

    def get_cursor(self, tenant_id: str, name: str) -> datetime | None:
        """The cursor's value (aware, UTC), or ``None`` if it was never set."""
        check_keys(f"cursor {name!r}", tenant_id=tenant_id, name=name)
        with self._db.errors("read a cursor"), self._db.connection() as conn:
            row = conn.execute(
                f"SELECT value FROM {CURSORS} WHERE tenant_id = ? AND name = ?",  # noqa: S608
                (tenant_id, name),
            ).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def set_cursor(self, tenant_id: str, name: str, value: datetime) -> None:
        """Move the cursor forward to ``value``; an earlier value is ignored."""
        text = _datetime_text(check_cursor(tenant_id, name, value))
        with self._db.transaction("write a cursor", write=True) as conn:
            conn.execute(
                f"INSERT INTO {CURSORS} (tenant_id, name, value) VALUES (?, ?, ?) "  # noqa: S608
                "ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value "
                f"WHERE excluded.value > {CURSORS}.value",
                (tenant_id, name, text),
            )

    # --- customer links ----------------------------------------------------------------------

    def get_contact_id(self, tenant_id: str, customer_id: str) -> str | None:
        """The Xero ContactID linked to this BMS customer, or ``None``."""
        check_keys("customer link", tenant_id=tenant_id, customer_id=customer_id)
        with self._db.errors("read a customer link"), self._db.connection() as conn:
            row = conn.execute(
                f"SELECT contact_id FROM {LINKS} "  # noqa: S608 (constant)
                "WHERE tenant_id = ? AND customer_id = ?",
                (tenant_id, customer_id),
            ).fetchone()
        return None if row is None else str(row[0])

    def set_contact_id(self, tenant_id: str, customer_id: str, contact_id: str) -> None:
        """Link the customer to ``contact_id``, replacing any earlier link."""
        check_keys(
            "customer link", tenant_id=tenant_id, customer_id=customer_id, contact_id=contact_id
        )
        with self._db.transaction("write a customer link", write=True) as conn:
            conn.execute(
                f"INSERT INTO {LINKS} (tenant_id, customer_id, contact_id) "  # noqa: S608
                "VALUES (?, ?, ?) "
                "ON CONFLICT (tenant_id, customer_id) DO UPDATE SET contact_id = "
                "excluded.contact_id",
                (tenant_id, customer_id, contact_id),
            )

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close every connection; further use raises StorageError. Idempotent."""
        self._db.close()

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
        return f"SQLiteStore({self._path!r})"

    # --- plumbing ----------------------------------------------------------------------------

    def _decode_credit(self, row: Sequence[Any]) -> CreditNoteRecord:
        try:
            return _decode_credit(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise StorageError(
                f"{self._path}: a stored credit note record can't be read ({exc}); the row "
                f"{row[0]!r}/{row[1]!r} was changed outside bms_xero"
            ) from exc

    def _decode(self, row: Sequence[Any]) -> SyncRecord:
        try:
            return _decode(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise StorageError(
                f"{self._path}: a stored sync record can't be read ({exc}); the row "
                f"{row[0]!r}/{row[1]!r} was changed outside bms_xero"
            ) from exc
