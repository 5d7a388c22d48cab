"""PostgresStore: sync records, cursors, customer links and credit notes in PostgreSQL.

For a BMS that keeps its own data in PostgreSQL and runs workers on several machines: every
write is one compare-and-swap statement (``UPDATE ... WHERE version = %s``, or an insert that
does nothing when the key exists), so two processes can never both win a version, whatever
the isolation level, and readers never wait for writers.

Values are stored exactly and typed, so the host can query them: money as ``NUMERIC`` (the
digits after the point kept: ``23.1000`` reads back as ``23.1000``), datetimes as
``timestamptz`` (read back aware, in UTC, to the microsecond), dates as ``date``, states as
their text, allocations as ``jsonb`` (amounts as exact text). Key columns use the ``"C"``
collation, so "the smallest invoice id" and "in invoice id order" mean what they mean in
Python, whatever the database's locale. Every key starts with the tenant id. The schema is
versioned under the component ``"sync"`` in ``bms_xero_schema``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar, Final, Self

import attrs

from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import FieldProblem, StorageError, StorageValueError, VersionConflict
from bms_xero.storage._checks import check_cursor, check_keys, to_utc
from bms_xero.storage._credit_records import CreditNoteRecord
from bms_xero.storage._postgres import (
    Connection,
    ConnectionPool,
    Cursor,
    Jsonb,
    Migration,
    PostgresDatabase,
    Tables,
    text_problems,
)
from bms_xero.storage._records import SyncRecord, SyncState

__all__ = ["PostgresStore"]

COMPONENT: Final = "sync"
RECORDS: Final = "bms_xero_sync_records"
CURSORS: Final = "bms_xero_sync_cursors"
LINKS: Final = "bms_xero_sync_customer_links"
CREDIT_NOTES: Final = "bms_xero_sync_credit_notes"

#: Records read per query by the iterators: no read stays open while the caller works.
_PAGE: Final = 500

_KEY = 'TEXT COLLATE "C"'


def _v1(conn: Connection, t: Tables) -> None:
    """Records, cursors, customer links and credit notes, every key led by tenant_id.

    The columns are written out (not derived from the record classes), so this step stays
    what it was when later fields arrive by later steps.
    """
    conn.execute(
        f"CREATE TABLE {t(RECORDS)} ("
        f"tenant_id {_KEY} NOT NULL, invoice_id {_KEY} NOT NULL, "
        f"invoice_number {_KEY} NOT NULL, state TEXT NOT NULL, version BIGINT NOT NULL, "
        f"xero_invoice_id {_KEY}, fingerprint TEXT, intent_key TEXT, intent_fingerprint TEXT, "
        "intent_at TIMESTAMPTZ, last_push_at TIMESTAMPTZ, last_pull_at TIMESTAMPTZ, "
        "xero_status TEXT, total NUMERIC, amount_due NUMERIC, amount_paid NUMERIC, "
        "amount_credited NUMERIC, fully_paid_on DATE, xero_updated_at TIMESTAMPTZ, "
        "last_error TEXT, last_error_at TIMESTAMPTZ, paid_by_prepayments NUMERIC, "
        "paid_by_overpayments NUMERIC, allocations JSONB NOT NULL DEFAULT '[]', "
        "money_version BIGINT NOT NULL DEFAULT 0, told_version BIGINT NOT NULL DEFAULT 0, "
        "told_status TEXT, delivered BOOLEAN NOT NULL DEFAULT false, view_url TEXT, "
        "online_invoice_url TEXT, emailed_at TIMESTAMPTZ, last_error_type TEXT, "
        "PRIMARY KEY (tenant_id, invoice_id))"
    )
    conn.execute(
        f"CREATE INDEX {RECORDS}_xero_id ON {t(RECORDS)} "
        "(tenant_id, xero_invoice_id, invoice_id) WHERE xero_invoice_id IS NOT NULL"
    )
    conn.execute(
        f"CREATE INDEX {RECORDS}_number ON {t(RECORDS)} (tenant_id, invoice_number, invoice_id)"
    )
    conn.execute(f"CREATE INDEX {RECORDS}_state ON {t(RECORDS)} (tenant_id, state, invoice_id)")
    # The outbox: only records waiting for delivery are in this index, so finding them costs
    # what is due, not what is stored.
    conn.execute(
        f"CREATE INDEX {RECORDS}_undelivered ON {t(RECORDS)} (tenant_id, invoice_id) "
        "WHERE money_version > told_version"
    )
    conn.execute(
        f"CREATE TABLE {t(CURSORS)} (tenant_id {_KEY} NOT NULL, name {_KEY} NOT NULL, "
        "value TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, name))"
    )
    conn.execute(
        f"CREATE TABLE {t(LINKS)} (tenant_id {_KEY} NOT NULL, customer_id {_KEY} NOT NULL, "
        "contact_id TEXT NOT NULL, PRIMARY KEY (tenant_id, customer_id))"
    )
    conn.execute(
        f"CREATE TABLE {t(CREDIT_NOTES)} ("
        f"tenant_id {_KEY} NOT NULL, credit_note_id {_KEY} NOT NULL, "
        f"credit_note_number {_KEY} NOT NULL, invoice_id {_KEY} NOT NULL, state TEXT NOT NULL, "
        "version BIGINT NOT NULL, xero_credit_note_id TEXT, xero_invoice_id TEXT, "
        "fingerprint TEXT, intent_key TEXT, intent_fingerprint TEXT, intent_at TIMESTAMPTZ, "
        "allocation_key TEXT, allocation_at TIMESTAMPTZ, allocated NUMERIC, total NUMERIC, "
        "remaining_credit NUMERIC, xero_status TEXT, last_push_at TIMESTAMPTZ, "
        "last_error TEXT, last_error_at TIMESTAMPTZ, view_url TEXT, policy TEXT, "
        "PRIMARY KEY (tenant_id, credit_note_id))"
    )
    conn.execute(
        f"CREATE INDEX {CREDIT_NOTES}_invoice ON {t(CREDIT_NOTES)} "
        "(tenant_id, invoice_id, credit_note_id)"
    )


#: The sync component's migrations, oldest first; append, never edit a released one.
MIGRATIONS: Final[tuple[Migration, ...]] = (_v1,)

_FIELDS: Final = tuple(f.name for f in attrs.fields(SyncRecord))
_CREDIT_FIELDS: Final = tuple(f.name for f in attrs.fields(CreditNoteRecord))
_SYNC_TEXT_FIELDS: Final = ("invoice_number", "state", "xero_status")


# --- values <-> columns (pure) -----------------------------------------------------------------


def _allocations_json(allocations: tuple[Allocation, ...]) -> list[dict[str, str | None]]:
    return [
        {
            "kind": a.kind.value,
            "id": a.id,
            "amount": str(a.amount),  # exact: JSON numbers would go through a float
            "date": None if a.date is None else a.date.isoformat(),
            "reference": a.reference,
        }
        for a in allocations
    ]


def _allocations(value: Any) -> tuple[Allocation, ...]:
    return tuple(
        Allocation(
            kind=AllocationKind(item["kind"]),
            id=item["id"],
            amount=Decimal(item["amount"]),
            date=None if item["date"] is None else date.fromisoformat(item["date"]),
            reference=item["reference"],
        )
        for item in value or ()
    )


def encode_record(record: SyncRecord) -> dict[str, object]:
    """The record's columns, as psycopg parameters."""
    row: dict[str, object] = {}
    for name in _FIELDS:
        value = getattr(record, name)
        if name == "allocations":
            row[name] = Jsonb(_allocations_json(value))
        elif name in _SYNC_TEXT_FIELDS and value is not None:
            row[name] = str(value)  # the StrEnums as their text
        else:
            row[name] = value
    return row


def decode_record(row: Sequence[Any]) -> SyncRecord:
    """A record from a row of ``_FIELDS``, in that order (datetimes in UTC)."""
    values = dict(zip(_FIELDS, row, strict=True))
    values["allocations"] = _allocations(values["allocations"])
    return SyncRecord(**values)


def encode_credit(record: CreditNoteRecord) -> dict[str, object]:
    """The credit note record's columns, as psycopg parameters."""
    row: dict[str, object] = {name: getattr(record, name) for name in _CREDIT_FIELDS}
    row["state"] = str(record.state)
    return row


def decode_credit(row: Sequence[Any]) -> CreditNoteRecord:
    """A credit note record from a row of ``_CREDIT_FIELDS``, in that order."""
    return CreditNoteRecord(**dict(zip(_CREDIT_FIELDS, row, strict=True)))


def _check_text(what: str, row: dict[str, object]) -> None:
    bad = text_problems(row)
    if bad:
        raise StorageValueError(
            what=what,
            problems=[
                FieldProblem(name, "contains a NUL character, which PostgreSQL text can't hold")
                for name in bad
            ],
        )


def _cas_statements(table: str, fields: Sequence[str], key: tuple[str, str]) -> tuple[str, str]:
    """The insert (nothing when the key exists) and the compare-and-swap update of a table
    whose rows carry a ``version``; each returns the version written, or no row."""
    columns = ", ".join(fields)
    values = ", ".join(f"%({name})s" for name in fields)
    insert = (
        f"INSERT INTO {table} ({columns}) VALUES ({values}) "  # noqa: S608 (constants)
        f"ON CONFLICT ({key[0]}, {key[1]}) DO NOTHING RETURNING version"
    )
    assignments = ", ".join(f"{name} = %({name})s" for name in fields if name not in key)
    update = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 (constants)
        f"WHERE {key[0]} = %({key[0]})s AND {key[1]} = %({key[1]})s "
        "AND version = %(expected)s RETURNING version"
    )
    return insert, update


class PostgresStore:
    """Sync records, cursors, customer links and credit notes in PostgreSQL; implements
    ``SyncStore`` and ``CreditNoteStore``.

    Creates the tables when missing and upgrades an older schema on open. Use it as a
    context manager, or call :meth:`close`.

    Args:
        database: A libpq URL (``"postgresql://user:password@host:5432/dbname"``) or
            connection string, for connections of the store's own (a few kept open, safe
            across threads and ``fork``); or the host's ``psycopg_pool.ConnectionPool``,
            which the host sizes, configures and closes.
        schema: The PostgreSQL schema for the tables (created when missing); ``None`` (the
            default) puts them where the connection's ``search_path`` says.
        lock_timeout: Seconds a statement of the store's own connections waits for another
            transaction's lock before failing (retryably).

    Raises:
        ConfigurationError: A bad argument (the URL is never quoted with its password), a
            database that is not UTF8, or psycopg missing
            (``pip install "bms-xero[postgres]"``).
        SchemaVersionError: The schema was migrated by a newer bms_xero.
        StorageError: The server can't be reached (retryable) or refused the upgrade.
    """

    schema_version: ClassVar[int] = len(MIGRATIONS)

    def __init__(
        self,
        database: str | ConnectionPool,
        *,
        schema: str | None = None,
        lock_timeout: float = 10.0,
    ) -> None:
        self._db = PostgresDatabase(
            database,
            owner="PostgresStore",
            component=COMPONENT,
            migrations=MIGRATIONS,
            schema=schema,
            lock_timeout=lock_timeout,
        )
        t = self._db.tables
        self._records, self._cursors = t(RECORDS), t(CURSORS)
        self._links, self._credit_notes = t(LINKS), t(CREDIT_NOTES)
        self._select = f"SELECT {', '.join(_FIELDS)} FROM {self._records}"  # noqa: S608
        self._insert, self._update = _cas_statements(
            self._records, _FIELDS, ("tenant_id", "invoice_id")
        )
        self._credit_select = (
            f"SELECT {', '.join(_CREDIT_FIELDS)} FROM {self._credit_notes}"  # noqa: S608
        )
        self._credit_insert, self._credit_update = _cas_statements(
            self._credit_notes, _CREDIT_FIELDS, ("tenant_id", "credit_note_id")
        )

    @property
    def location(self) -> str:
        """The database as messages name it (password redacted), with its schema."""
        return self._db.location

    # --- sync records ------------------------------------------------------------------------

    def get(self, tenant_id: str, invoice_id: str) -> SyncRecord | None:
        """The record for this BMS invoice, or ``None``."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.transaction("read a sync record") as cur:
            cur.execute(
                f"{self._select} WHERE tenant_id = %s AND invoice_id = %s", (tenant_id, invoice_id)
            )
            row = cur.fetchone()
        return None if row is None else self._decode(row)

    def get_many(self, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records that exist among ``invoice_ids``, keyed by invoice id (one query)."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = sorted(set(invoice_ids))
        if not wanted:
            return {}
        with self._db.transaction("read sync records") as cur:
            cur.execute(
                f"{self._select} WHERE tenant_id = %s AND invoice_id = ANY(%s::text[])",
                (tenant_id, wanted),
            )
            rows = cur.fetchall()
        records = (self._decode(row) for row in rows)
        return {record.invoice_id: record for record in records}

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID; the smallest
        ``invoice_id`` of several (``DISTINCT ON``, served by the Xero id index)."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        wanted = sorted(set(xero_invoice_ids))
        if not wanted:
            return {}
        with self._db.transaction("read sync records") as cur:
            cur.execute(
                f"SELECT DISTINCT ON (xero_invoice_id) {', '.join(_FIELDS)} "  # noqa: S608
                f"FROM {self._records} WHERE tenant_id = %s "
                "AND xero_invoice_id = ANY(%s::text[]) ORDER BY xero_invoice_id, invoice_id",
                (tenant_id, wanted),
            )
            rows = cur.fetchall()
        result: dict[str, SyncRecord] = {}
        for row in rows:
            record = self._decode(row)
            assert record.xero_invoice_id is not None
            result[record.xero_invoice_id] = record
        return result

    def by_number(self, tenant_id: str, invoice_number: str) -> SyncRecord | None:
        """The record with this invoice number; the smallest ``invoice_id`` if several."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_number=invoice_number)
        with self._db.transaction("read a sync record") as cur:
            cur.execute(
                f"{self._select} WHERE tenant_id = %s AND invoice_number = %s "
                "ORDER BY invoice_id LIMIT 1",
                (tenant_id, invoice_number),
            )
            row = cur.fetchone()
        return None if row is None else self._decode(row)

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        return self.put_many([(record, expected_version)])[0]

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        """Several puts, in order, in one transaction; all or nothing.

        Each is one statement that writes only if the version is still the one expected, so
        a concurrent writer's version is never overwritten; the first that finds another
        version rolls the whole batch back and raises VersionConflict. Records are written
        in key order, so concurrent batches can't deadlock; the result is in input order.
        """
        if not records:
            return []
        staged: list[tuple[SyncRecord, int | None, dict[str, object]]] = []
        for record, expected in records:
            new = record.evolve(version=1 if expected is None else expected + 1)
            row = encode_record(new)
            _check_text(f"sync record {record.key}", row)
            staged.append((new, expected, row))
        # Written in key order (stable: puts of one key keep theirs), so two batches that
        # touch the same records lock them in the same order and never deadlock.
        in_key_order = sorted(staged, key=lambda entry: (entry[0].tenant_id, entry[0].invoice_id))
        with self._db.transaction("write sync records") as cur:
            for new, expected, row in in_key_order:
                if expected is None:
                    cur.execute(self._insert, row)
                else:
                    cur.execute(self._update, {**row, "expected": expected})
                if cur.fetchone() is None:
                    # Raising inside the transaction rolls back every earlier put.
                    raise VersionConflict(
                        key=new.key,
                        expected_version=expected,
                        actual_version=self._version(
                            cur, self._records, "invoice_id", new.tenant_id, new.invoice_id
                        ),
                    )
        return [new for new, _, _ in staged]

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
        if wanted is None:
            return self._pages(tenant_id, "", ())
        return self._pages(tenant_id, " AND state = ANY(%s::text[])", (wanted,))

    def iter_undelivered(self, tenant_id: str) -> Iterator[SyncRecord]:
        """The tenant's records with money news for the host, in invoice id order.

        Served by a partial index that holds only those records, so it costs what is due.
        """
        check_keys("sync record lookup", tenant_id=tenant_id)
        return self._pages(tenant_id, " AND money_version > told_version", ())

    def _pages(self, tenant_id: str, where: str, args: tuple[object, ...]) -> Iterator[SyncRecord]:
        after = ""
        while True:
            with self._db.transaction("read sync records") as cur:
                cur.execute(
                    f"{self._select} WHERE tenant_id = %s AND invoice_id > %s{where} "
                    f"ORDER BY invoice_id LIMIT {_PAGE}",
                    (tenant_id, after, *args),
                )
                rows = cur.fetchall()
            page = [self._decode(row) for row in rows]
            yield from page
            if len(page) < _PAGE:
                return
            after = page[-1].invoice_id

    # --- credit notes --------------------------------------------------------------------------

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> CreditNoteRecord | None:
        """The record for this BMS credit note, or ``None``."""
        check_keys("credit note lookup", tenant_id=tenant_id, credit_note_id=credit_note_id)
        with self._db.transaction("read a credit note record") as cur:
            cur.execute(
                f"{self._credit_select} WHERE tenant_id = %s AND credit_note_id = %s",
                (tenant_id, credit_note_id),
            )
            row = cur.fetchone()
        return None if row is None else self._decode_credit(row)

    def credit_notes_for_invoice(self, tenant_id: str, invoice_id: str) -> list[CreditNoteRecord]:
        """The records of the credit notes that credit this BMS invoice, by credit note id."""
        check_keys("credit note lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.transaction("read credit note records") as cur:
            cur.execute(
                f"{self._credit_select} WHERE tenant_id = %s AND invoice_id = %s "
                "ORDER BY credit_note_id",
                (tenant_id, invoice_id),
            )
            rows = cur.fetchall()
        return [self._decode_credit(row) for row in rows]

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        new = attrs.evolve(record, version=1 if expected_version is None else expected_version + 1)
        row = encode_credit(new)
        _check_text(f"credit note record {record.key}", row)
        with self._db.transaction("write a credit note record") as cur:
            if expected_version is None:
                cur.execute(self._credit_insert, row)
            else:
                cur.execute(self._credit_update, {**row, "expected": expected_version})
            if cur.fetchone() is None:
                raise VersionConflict(
                    key=record.key,
                    expected_version=expected_version,
                    actual_version=self._version(
                        cur, self._credit_notes, "credit_note_id", new.tenant_id, new.credit_note_id
                    ),
                )
        return new

    # --- cursors -------------------------------------------------------------------------------

    def get_cursor(self, tenant_id: str, name: str) -> datetime | None:
        """The cursor's value (aware, UTC), or ``None`` if it was never set."""
        check_keys(f"cursor {name!r}", tenant_id=tenant_id, name=name)
        with self._db.transaction("read a cursor") as cur:
            cur.execute(
                f"SELECT value FROM {self._cursors} WHERE tenant_id = %s AND name = %s",  # noqa: S608
                (tenant_id, name),
            )
            row = cur.fetchone()
        return None if row is None else to_utc(row[0])

    def set_cursor(self, tenant_id: str, name: str, value: datetime) -> None:
        """Move the cursor forward to ``value``; an earlier value is ignored (one statement,
        so a slower puller can't move it back between a read and a write)."""
        at = check_cursor(tenant_id, name, value)
        _check_text(f"cursor {name!r}", {"tenant_id": tenant_id, "name": name})
        with self._db.transaction("write a cursor") as cur:
            cur.execute(
                f"INSERT INTO {self._cursors} AS c (tenant_id, name, value) "  # noqa: S608
                "VALUES (%s, %s, %s) ON CONFLICT (tenant_id, name) DO UPDATE "
                "SET value = excluded.value WHERE excluded.value > c.value",
                (tenant_id, name, at),
            )

    # --- customer links ------------------------------------------------------------------------

    def get_contact_id(self, tenant_id: str, customer_id: str) -> str | None:
        """The Xero ContactID linked to this BMS customer, or ``None``."""
        check_keys("customer link", tenant_id=tenant_id, customer_id=customer_id)
        with self._db.transaction("read a customer link") as cur:
            cur.execute(
                f"SELECT contact_id FROM {self._links} "  # noqa: S608 (constant)
                "WHERE tenant_id = %s AND customer_id = %s",
                (tenant_id, customer_id),
            )
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def set_contact_id(self, tenant_id: str, customer_id: str, contact_id: str) -> None:
        """Link the customer to ``contact_id``, replacing any earlier link."""
        check_keys(
            "customer link", tenant_id=tenant_id, customer_id=customer_id, contact_id=contact_id
        )
        _check_text(
            "customer link",
            {"tenant_id": tenant_id, "customer_id": customer_id, "contact_id": contact_id},
        )
        with self._db.transaction("write a customer link") as cur:
            cur.execute(
                f"INSERT INTO {self._links} (tenant_id, customer_id, contact_id) "  # noqa: S608
                "VALUES (%s, %s, %s) ON CONFLICT (tenant_id, customer_id) "
                "DO UPDATE SET contact_id = excluded.contact_id",
                (tenant_id, customer_id, contact_id),
            )

    # --- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the store's own connections (a host's pool stays open); further use raises
        StorageError. Idempotent."""
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
        return f"PostgresStore({self._db.location!r})"

    # --- plumbing ------------------------------------------------------------------------------

    @staticmethod
    def _version(cur: Cursor, table: str, column: str, tenant_id: str, ident: str) -> int | None:
        """The version stored now (this transaction's own writes included), for a conflict."""
        cur.execute(
            f"SELECT version FROM {table} WHERE tenant_id = %s AND {column} = %s",  # noqa: S608
            (tenant_id, ident),
        )
        row = cur.fetchone()
        return None if row is None else int(row[0])

    def _decode(self, row: Sequence[Any]) -> SyncRecord:
        try:
            return decode_record(row)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            raise StorageError(
                f"{self._db.location}: a stored sync record can't be read ({exc}); the row "
                f"{row[0]!r}/{row[1]!r} was changed outside bms_xero: fix or delete it"
            ) from exc

    def _decode_credit(self, row: Sequence[Any]) -> CreditNoteRecord:
        try:
            return decode_credit(row)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise StorageError(
                f"{self._db.location}: a stored credit note record can't be read ({exc}); the "
                f"row {row[0]!r}/{row[1]!r} was changed outside bms_xero: fix or delete it"
            ) from exc
