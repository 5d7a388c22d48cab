"""The ORM stores: bms_xero's storage ports on the host's own Django database.

- :class:`DjangoSyncStore`: sync records, cursors, customer links and credit notes
  (``SyncStore`` and ``CreditNoteStore``), what ``SyncEngine(store=...)`` takes;
- :class:`DjangoJobStore`: background jobs (``JobStore``), what the worker leases from;
- :class:`DjangoTokenStore`: each Xero connection's tokens (``TokenStore`` and
  ``RefreshLease``).

Each takes ``using=`` (a ``DATABASES`` alias, ``"default"`` unless told) and runs every write
in ``transaction.atomic(using=...)``, so a write the host makes inside its own
``transaction.atomic()`` (release an invoice *and* queue its push) commits or rolls back with
the host's rows. Compare-and-swap is one ``UPDATE ... WHERE version = expected``: the database
decides who wins, whatever runs the other writer (a thread, a process, another machine).

They pass the public contract suites (:mod:`bms_xero.storage.contract`,
:mod:`bms_xero.jobs.contract`) on SQLite and on PostgreSQL. The database needs:

- ``USE_TZ = True`` (every datetime is stored and read back aware, in UTC);
- on SQLite, ``"OPTIONS": {"transaction_mode": "IMMEDIATE"}`` (Django >= 5.1) for a database
  a worker leases jobs from: each transaction then takes the write lock before its first
  read, so two workers can't both see a job as due. Leasing refuses to run without it;
- on PostgreSQL, nothing more: leasing locks the due rows with
  ``SELECT ... FOR UPDATE SKIP LOCKED``.

Ordering follows the database's order of the text columns (``invoice_id``): code point order
on SQLite and on a PostgreSQL database created with the ``C`` or ``C.UTF-8`` collation; the
"smallest ``invoice_id``" tie-breaks of the contract are decided in Python, so they hold on
any collation.
"""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import attrs
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, transaction
from django.db.models import F, Q

from bms_xero.contrib.django import models as m
from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import (
    ConfigurationError,
    FieldProblem,
    StorageError,
    StorageValueError,
    VersionConflict,
)
from bms_xero.jobs import Job, JobKind, JobStatus
from bms_xero.jobs import _transitions as t
from bms_xero.jobs._base import JobStoreBase
from bms_xero.jobs._records import FINISHED
from bms_xero.storage import CreditNoteRecord, StoredToken, SyncRecord, SyncState, TokenSet
from bms_xero.storage._checks import check_cursor, check_keys, first_by_invoice_id

__all__ = ["DjangoJobStore", "DjangoSyncStore", "DjangoTokenStore"]

#: Records read per query when iterating, and ids per ``IN (...)``: SQLite allows 999
#: parameters before 3.32, and no read stays open while the caller works on a page.
_CHUNK: Final = 500


# --- the database: one alias, its checks and its errors ---------------------------------------


def _migrate_hint(alias: str) -> str:
    database = "" if alias == "default" else f" --database {alias}"
    return f"run `python manage.py migrate bms_xero{database}`"


def database_error_fix(alias: str, error: DatabaseError) -> str:
    """What the host should do about ``error`` (pure: reads only the error's class and text)."""
    text = str(error).lower()
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return f"the bms_xero tables are missing; {_migrate_hint(alias)}"
    if "no such column" in text or ("column" in text and "does not exist" in text):
        return f"the bms_xero tables are older than this bms_xero; {_migrate_hint(alias)}"
    if "locked" in text or "busy" in text:
        return (
            "another connection held the SQLite write lock for longer than the database's "
            'timeout; retry, or raise "OPTIONS": {"timeout": ...} for this database'
        )
    return f"check that the database {alias!r} is reachable and its user may write to it"


class _Database:
    """The alias a store writes to, checked once, and its errors made StorageErrors."""

    def __init__(self, owner: str, using: str) -> None:
        if not isinstance(using, str) or not using:
            raise ConfigurationError(
                f"{owner}(using=...) must be a DATABASES alias such as 'default', not {using!r}"
            )
        if using not in settings.DATABASES:
            known = ", ".join(repr(alias) for alias in settings.DATABASES) or "none"
            raise ConfigurationError(
                f"{owner}(using={using!r}): there is no such database in settings.DATABASES "
                f"(configured: {known}); pass one of them"
            )
        if not settings.USE_TZ:
            raise ConfigurationError(
                f"{owner} needs USE_TZ = True in the Django settings: bms_xero stores every "
                "time aware, in UTC, and a naive time would shift between machines"
            )
        self.owner = owner
        self.alias = using

    @property
    def vendor(self) -> str:
        return str(connections[self.alias].vendor)

    def require_immediate(self, doing: str) -> None:
        """Refuse to ``doing`` on SQLite unless transactions take the write lock at BEGIN.

        A deferred SQLite transaction reads first and locks later, so two workers would
        both see the same job as due; ``BEGIN IMMEDIATE`` serialises them instead.
        """
        connection = connections[self.alias]
        if connection.vendor != "sqlite":
            return
        mode = connection.settings_dict.get("OPTIONS", {}).get("transaction_mode")
        if str(mode).upper() != "IMMEDIATE":
            raise ConfigurationError(
                f"{self.owner} can't {doing} on the SQLite database {self.alias!r}: its "
                f"transactions are {mode or 'DEFERRED'}, so two workers could take the same "
                f'job. Add "OPTIONS": {{"transaction_mode": "IMMEDIATE"}} to '
                f"DATABASES[{self.alias!r}] (Django >= 5.1)"
            )

    def atomic(self) -> Any:
        return transaction.atomic(using=self.alias)

    def savepoint(self) -> Any:
        """A nested atomic block: an IntegrityError inside it leaves the outer one usable
        (PostgreSQL aborts the whole transaction otherwise)."""
        return transaction.atomic(using=self.alias)

    @contextmanager
    def errors(self, doing: str, *, secret: bool = False) -> Iterator[None]:
        """Turn Django's database errors into StorageErrors that say what and how to fix.

        With ``secret``, the database's own message is left out (and not chained): a
        constraint error can quote the row, and a token row holds the tokens.
        """
        try:
            yield
        except DatabaseError as exc:
            fix = database_error_fix(self.alias, exc)
            if secret:
                raise StorageError(
                    f"database {self.alias!r}: could not {doing} ({type(exc).__name__}); {fix}"
                ) from None
            raise StorageError(
                f"database {self.alias!r}: could not {doing} ({exc}); {fix}"
            ) from exc


def _length_problems(model: Any, values: Mapping[str, object]) -> list[FieldProblem]:
    """Each value longer than its column allows: refused here, the same on every database
    (SQLite would keep it, PostgreSQL would fail the transaction)."""
    found = []
    for field in model._meta.concrete_fields:
        limit = getattr(field, "max_length", None)
        value = values.get(field.name)
        if limit is None or value is None:
            continue
        text = str(value) if isinstance(value, Decimal) else value
        if isinstance(text, str) and len(text) > limit:
            found.append(FieldProblem(field.name, f"must be at most {limit} characters long"))
    return found


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _value(value: object) -> object:
    """A value as a column takes it: an enum member by its value, the rest as it is."""
    return value.value if isinstance(value, enum.Enum) else value


# --- sync records and credit notes as rows --------------------------------------------------

_RECORD_FIELDS: Final = tuple(f.name for f in attrs.fields(SyncRecord))
_RECORD_KEY: Final = ("tenant_id", "invoice_id")
_CREDIT_FIELDS: Final = tuple(f.name for f in attrs.fields(CreditNoteRecord))
_CREDIT_KEY: Final = ("tenant_id", "credit_note_id")


def allocations_json(allocations: Iterable[Allocation]) -> list[list[str | None]]:
    """``[[kind, id, amount, date, reference], ...]``: exact amounts as text, ISO dates."""
    return [
        [
            a.kind.value,
            a.id,
            str(a.amount),
            None if a.date is None else a.date.isoformat(),
            a.reference,
        ]
        for a in allocations
    ]


def allocations_from_json(rows: Iterable[Sequence[Any]] | None) -> tuple[Allocation, ...]:
    """The inverse of :func:`allocations_json`."""
    return tuple(
        Allocation(
            kind=AllocationKind(kind),
            id=ident,
            amount=Decimal(amount),
            date=None if on is None else date.fromisoformat(on),
            reference=reference,
        )
        for kind, ident, amount, on, reference in rows or ()
    )


def record_row(record: SyncRecord) -> dict[str, object]:
    """The columns of a :class:`~bms_xero.contrib.django.models.SyncRecord` row."""
    row = {name: _value(getattr(record, name)) for name in _RECORD_FIELDS}
    row["allocations"] = allocations_json(record.allocations)
    return row


def record_from_row(values: Sequence[Any]) -> SyncRecord:
    """A record from ``values_list(*SyncRecord fields)``, in attrs field order."""
    fields = dict(zip(_RECORD_FIELDS, values, strict=True))
    fields["allocations"] = allocations_from_json(fields["allocations"])
    return SyncRecord(**fields)


def credit_note_row(record: CreditNoteRecord) -> dict[str, object]:
    """The columns of a :class:`~bms_xero.contrib.django.models.CreditNote` row."""
    return {name: _value(getattr(record, name)) for name in _CREDIT_FIELDS}


def credit_note_from_row(values: Sequence[Any]) -> CreditNoteRecord:
    """A record from ``values_list(*CreditNoteRecord fields)``, in attrs field order."""
    return CreditNoteRecord(**dict(zip(_CREDIT_FIELDS, values, strict=True)))


class DjangoSyncStore:
    """Sync records, cursors, customer links and credit notes in the host's database.

    Implements ``SyncStore`` (what ``SyncEngine(store=...)`` takes) and ``CreditNoteStore``.
    Writes are compare-and-swap on ``version`` (``UPDATE ... WHERE version = expected``), in
    ``transaction.atomic(using=using)``: inside the host's own atomic block they commit with
    it. Nothing is cached, so several processes (web, worker) may share the database.

    Args:
        using: The ``DATABASES`` alias (the tables must be migrated there).

    Raises:
        ConfigurationError: ``using`` is not a configured alias, or ``USE_TZ`` is off.
    """

    def __init__(self, *, using: str = "default") -> None:
        self._db = _Database("DjangoSyncStore", using)

    @property
    def using(self) -> str:
        """The database alias."""
        return self._db.alias

    def _records(self) -> Any:
        return m.SyncRecord.objects.using(self._db.alias)

    def _decode(self, values: Sequence[Any]) -> SyncRecord:
        try:
            return record_from_row(values)
        except (ValueError, TypeError, ArithmeticError, KeyError) as exc:
            raise StorageError(
                f"database {self._db.alias!r}: the sync record {values[0]!r}/{values[1]!r} "
                f"can't be read ({exc}); it was changed outside bms_xero: fix or delete the row"
            ) from exc

    # --- sync records -------------------------------------------------------------------------

    def get(self, tenant_id: str, invoice_id: str) -> SyncRecord | None:
        """The record for this BMS invoice, or ``None``."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.errors("read a sync record"):
            row = (
                self._records()
                .filter(tenant_id=tenant_id, invoice_id=invoice_id)
                .values_list(*_RECORD_FIELDS)
                .first()
            )
        return None if row is None else self._decode(row)

    def get_many(self, tenant_id: str, invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records that exist among ``invoice_ids``, keyed by invoice id."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        found: dict[str, SyncRecord] = {}
        for record in self._matching(tenant_id, "invoice_id", invoice_ids):
            found[record.invoice_id] = record
        return found

    def by_xero_ids(self, tenant_id: str, xero_invoice_ids: Iterable[str]) -> dict[str, SyncRecord]:
        """The records linked to these Xero InvoiceIDs, keyed by Xero InvoiceID (the smallest
        ``invoice_id`` when several share one)."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        linked: dict[str, list[SyncRecord]] = {}
        for record in self._matching(tenant_id, "xero_invoice_id", xero_invoice_ids):
            assert record.xero_invoice_id is not None
            linked.setdefault(record.xero_invoice_id, []).append(record)
        result: dict[str, SyncRecord] = {}
        for xero_id, records in linked.items():
            first = first_by_invoice_id(records)
            assert first is not None
            result[xero_id] = first
        return result

    def by_number(self, tenant_id: str, invoice_number: str) -> SyncRecord | None:
        """The record with this invoice number; the smallest ``invoice_id`` if several."""
        check_keys("sync record lookup", tenant_id=tenant_id, invoice_number=invoice_number)
        with self._db.errors("read sync records"):
            rows = list(
                self._records()
                .filter(tenant_id=tenant_id, invoice_number=invoice_number)
                .values_list(*_RECORD_FIELDS)
            )
        return first_by_invoice_id(self._decode(row) for row in rows)

    def _matching(self, tenant_id: str, column: str, wanted: Iterable[str]) -> list[SyncRecord]:
        keys = sorted(set(wanted))
        rows: list[Sequence[Any]] = []
        with self._db.errors("read sync records"):
            for chunk in _chunks(keys):
                rows += (
                    self._records()
                    .filter(tenant_id=tenant_id, **{f"{column}__in": list(chunk)})
                    .values_list(*_RECORD_FIELDS)
                )
        return [self._decode(row) for row in rows]

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        return self.put_many([(record, expected_version)])[0]

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        """Several puts, in order, in one transaction; all or nothing."""
        rows = []
        for record, expected in records:
            new = attrs.evolve(record, version=1 if expected is None else expected + 1)
            row = record_row(new)
            problems = _length_problems(m.SyncRecord, row)
            if problems:
                raise StorageValueError(what=f"sync record {record.key}", problems=problems)
            rows.append((new, expected, row))
        if not rows:
            return []
        with self._db.errors("write sync records"), self._db.atomic():
            for new, expected, row in rows:
                _compare_and_swap(
                    self._db, m.SyncRecord, _RECORD_KEY, row, expected=expected, key=new.key
                )
        return [new for new, _, _ in rows]

    def iter_records(
        self, tenant_id: str, *, states: Collection[SyncState] | None = None
    ) -> Iterator[SyncRecord]:
        """Every record of the tenant (in ``states`` when given), in invoice id order, read a
        page at a time."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        query = self._records().filter(tenant_id=tenant_id)
        if states is not None:
            wanted = sorted({_value(s) for s in states}, key=str)
            if not wanted:
                return iter(())
            query = query.filter(state__in=wanted)
        return self._pages(query)

    def iter_undelivered(self, tenant_id: str) -> Iterator[SyncRecord]:
        """The tenant's records with money news for the host, in invoice id order (the
        ``bms_xero_sync_undelivered`` partial index holds only those)."""
        check_keys("sync record lookup", tenant_id=tenant_id)
        return self._pages(
            self._records().filter(tenant_id=tenant_id, money_version__gt=F("told_version"))
        )

    def _pages(self, query: Any) -> Iterator[SyncRecord]:
        after: str | None = None
        while True:
            page_query = query if after is None else query.filter(invoice_id__gt=after)
            with self._db.errors("read sync records"):
                rows = list(page_query.order_by("invoice_id").values_list(*_RECORD_FIELDS)[:_CHUNK])
            page = [self._decode(row) for row in rows]
            yield from page
            if len(page) < _CHUNK:
                return
            after = page[-1].invoice_id

    # --- credit notes ---------------------------------------------------------------------------

    def _credit_notes(self) -> Any:
        return m.CreditNote.objects.using(self._db.alias)

    def _decode_credit(self, values: Sequence[Any]) -> CreditNoteRecord:
        try:
            return credit_note_from_row(values)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise StorageError(
                f"database {self._db.alias!r}: the credit note record {values[0]!r}/"
                f"{values[1]!r} can't be read ({exc}); it was changed outside bms_xero: fix "
                "or delete the row"
            ) from exc

    def get_credit_note(self, tenant_id: str, credit_note_id: str) -> CreditNoteRecord | None:
        """The record for this BMS credit note, or ``None``."""
        check_keys("credit note lookup", tenant_id=tenant_id, credit_note_id=credit_note_id)
        with self._db.errors("read a credit note record"):
            row = (
                self._credit_notes()
                .filter(tenant_id=tenant_id, credit_note_id=credit_note_id)
                .values_list(*_CREDIT_FIELDS)
                .first()
            )
        return None if row is None else self._decode_credit(row)

    def credit_notes_for_invoice(self, tenant_id: str, invoice_id: str) -> list[CreditNoteRecord]:
        """The records of the credit notes that credit this BMS invoice, by credit note id."""
        check_keys("credit note lookup", tenant_id=tenant_id, invoice_id=invoice_id)
        with self._db.errors("read credit note records"):
            rows = list(
                self._credit_notes()
                .filter(tenant_id=tenant_id, invoice_id=invoice_id)
                .values_list(*_CREDIT_FIELDS)
            )
        return sorted((self._decode_credit(row) for row in rows), key=lambda r: r.credit_note_id)

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        """Insert (``expected_version=None``) or compare-and-swap; returns the stored record."""
        new = attrs.evolve(record, version=1 if expected_version is None else expected_version + 1)
        row = credit_note_row(new)
        problems = _length_problems(m.CreditNote, row)
        if problems:
            raise StorageValueError(what=f"credit note record {record.key}", problems=problems)
        with self._db.errors("write a credit note record"), self._db.atomic():
            _compare_and_swap(
                self._db, m.CreditNote, _CREDIT_KEY, row, expected=expected_version, key=new.key
            )
        return new

    # --- cursors ----------------------------------------------------------------------------------

    def get_cursor(self, tenant_id: str, name: str) -> datetime | None:
        """The cursor's value (aware, UTC), or ``None`` if it was never set."""
        check_keys(f"cursor {name!r}", tenant_id=tenant_id, name=name)
        with self._db.errors("read a cursor"):
            value = (
                m.Cursor.objects.using(self._db.alias)
                .filter(tenant_id=tenant_id, name=name)
                .values_list("value", flat=True)
                .first()
            )
        return None if value is None else value.astimezone(UTC)

    def set_cursor(self, tenant_id: str, name: str, value: datetime) -> None:
        """Move the cursor forward to ``value``; an earlier value is ignored."""
        when = check_cursor(tenant_id, name, value)
        problems = _length_problems(m.Cursor, {"tenant_id": tenant_id, "name": name})
        if problems:
            raise StorageValueError(what=f"cursor {name!r}", problems=problems)
        cursors = m.Cursor.objects.using(self._db.alias)
        with self._db.errors("write a cursor"), self._db.atomic():
            if cursors.filter(tenant_id=tenant_id, name=name, value__lt=when).update(value=when):
                return
            if cursors.filter(tenant_id=tenant_id, name=name).exists():
                return  # already at or past ``when``
            try:
                with self._db.savepoint():
                    cursors.create(tenant_id=tenant_id, name=name, value=when)
            except IntegrityError:  # another writer created it meanwhile: move it forward
                cursors.filter(tenant_id=tenant_id, name=name, value__lt=when).update(value=when)

    # --- customer links ---------------------------------------------------------------------------

    def get_contact_id(self, tenant_id: str, customer_id: str) -> str | None:
        """The Xero ContactID linked to this BMS customer, or ``None``."""
        check_keys("customer link", tenant_id=tenant_id, customer_id=customer_id)
        with self._db.errors("read a customer link"):
            contact = (
                m.CustomerLink.objects.using(self._db.alias)
                .filter(tenant_id=tenant_id, customer_id=customer_id)
                .values_list("contact_id", flat=True)
                .first()
            )
        return None if contact is None else str(contact)

    def set_contact_id(self, tenant_id: str, customer_id: str, contact_id: str) -> None:
        """Link the customer to ``contact_id``, replacing any earlier link."""
        check_keys(
            "customer link", tenant_id=tenant_id, customer_id=customer_id, contact_id=contact_id
        )
        row = {"tenant_id": tenant_id, "customer_id": customer_id, "contact_id": contact_id}
        problems = _length_problems(m.CustomerLink, row)
        if problems:
            raise StorageValueError(what="customer link", problems=problems)
        links = m.CustomerLink.objects.using(self._db.alias)
        with self._db.errors("write a customer link"), self._db.atomic():
            mine = links.filter(tenant_id=tenant_id, customer_id=customer_id)
            if mine.update(contact_id=contact_id):
                return
            try:
                with self._db.savepoint():
                    links.create(**row)
            except IntegrityError:  # another writer linked it meanwhile: the last write wins
                mine.update(contact_id=contact_id)

    # --- lifecycle --------------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release: Django owns the connections (kept for ``with`` and symmetry
        with the SQLite stores)."""

    def __enter__(self) -> DjangoSyncStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DjangoSyncStore(using={self._db.alias!r})"


def _compare_and_swap(
    db: _Database,
    model: Any,
    key_fields: tuple[str, ...],
    row: Mapping[str, object],
    *,
    expected: int | None,
    key: str,
) -> None:
    """Write ``row`` (its ``version`` already the new one) if the stored version is
    ``expected`` (``None``: if there is no row), inside the caller's transaction.

    An insert races on the unique key (the loser's INSERT fails, in a savepoint so the
    transaction stays usable); an update is ``UPDATE ... WHERE version = expected``, which
    the database evaluates against the committed row, so exactly one writer of a version wins.

    Raises:
        VersionConflict: The stored version is not ``expected`` (``actual_version`` says
            what it is, ``None`` when there is no row).
    """
    objects = model.objects.using(db.alias)
    where = {name: row[name] for name in key_fields}
    if expected is None:
        try:
            with db.savepoint():
                objects.create(**row)
            return
        except IntegrityError:
            pass
    else:
        changes = {name: value for name, value in row.items() if name not in key_fields}
        if objects.filter(**where, version=expected).update(**changes) == 1:
            return
    actual = objects.filter(**where).values_list("version", flat=True).first()
    raise VersionConflict(key=key, expected_version=expected, actual_version=actual)


# --- tokens -------------------------------------------------------------------------------------


def _check_connection(connection_id: object) -> str:
    if not isinstance(connection_id, str) or not connection_id:
        raise StorageValueError(
            what="tokens", problems=[FieldProblem("connection_id", "must be a non-empty string")]
        )
    problems = _length_problems(m.Token, {"connection_id": connection_id})
    if problems:
        raise StorageValueError(what="tokens", problems=problems)
    return connection_id


def _check_lease(holder: object, now: object, seconds: object) -> None:
    problems = []
    if not isinstance(holder, str) or not holder:
        problems.append(FieldProblem("holder", "must be a non-empty string"))
    else:
        problems += _length_problems(m.RefreshLease, {"holder": holder})
    if not isinstance(now, datetime) or now.tzinfo is None or now.utcoffset() is None:
        problems.append(FieldProblem("now", "must be a timezone-aware datetime"))
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        problems.append(FieldProblem("seconds", "must be a number of seconds > 0"))
    if problems:
        raise StorageValueError(what="refresh lease", problems=problems)


def token_row(token: TokenSet) -> dict[str, object]:
    """The token columns of a :class:`~bms_xero.contrib.django.models.Token` row."""
    return {
        "access_token": token.access_token,
        "refresh_token": token.refresh_token,
        "expires_at": token.expires_at.astimezone(UTC),
        "scopes": " ".join(token.scopes),
    }


def token_from_row(
    access_token: str, refresh_token: str | None, expires_at: datetime, scopes: str
) -> TokenSet:
    """The inverse of :func:`token_row`."""
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=expires_at.astimezone(UTC),
        scopes=tuple(scopes.split()),
    )


class DjangoTokenStore:
    """Each Xero connection's tokens in the host's database; ``TokenStore`` and
    ``RefreshLease``.

    Saving is compare-and-swap on ``version``, so two processes refreshing at once can't
    both store a rotated refresh token; the refresh lease is one conditional ``UPDATE``
    (or the INSERT of a new claim, which the unique key lets only one process win), so one
    process refreshes per expiry and the others wait for its save.

    Tokens are plain text in the host's database (the ``bms_xero_token`` table): restrict
    who may read it as for a password column. Errors never quote the database's message
    for token rows (it can quote the row), and ``repr()`` shows no token.

    Args:
        using: The ``DATABASES`` alias.
        clock: Gives ``updated_at`` (default: the system clock, UTC).
    """

    def __init__(
        self, *, using: str = "default", clock: Callable[[], datetime] | None = None
    ) -> None:
        self._db = _Database("DjangoTokenStore", using)
        self._now = clock or (lambda: datetime.now(UTC))

    @property
    def using(self) -> str:
        """The database alias."""
        return self._db.alias

    def _tokens(self) -> Any:
        return m.Token.objects.using(self._db.alias)

    def _leases(self) -> Any:
        return m.RefreshLease.objects.using(self._db.alias)

    def load(self, connection_id: str) -> StoredToken | None:
        """See :meth:`bms_xero.storage.TokenStore.load`."""
        key = _check_connection(connection_id)
        with self._db.errors("read tokens", secret=True):
            row = (
                self._tokens()
                .filter(connection_id=key)
                .values_list("version", "access_token", "refresh_token", "expires_at", "scopes")
                .first()
            )
        if row is None:
            return None
        version, *token = row
        return StoredToken(token_from_row(*token), int(version))

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        """See :meth:`bms_xero.storage.TokenStore.save`."""
        key = _check_connection(connection_id)
        if not isinstance(token, TokenSet):
            raise StorageValueError(
                what="tokens",
                problems=[FieldProblem("token", f"must be a TokenSet, not {type(token).__name__}")],
            )
        version = 1 if expected_version is None else expected_version + 1
        row = {
            "connection_id": key,
            "version": version,
            **token_row(token),
            "updated_at": self._now(),
        }
        with self._db.errors("save tokens", secret=True), self._db.atomic():
            _compare_and_swap(
                self._db,
                m.Token,
                ("connection_id",),
                row,
                expected=expected_version,
                key=f"tokens for connection {key!r}",
            )
        return StoredToken(token, version)

    def delete(self, connection_id: str) -> None:
        """See :meth:`bms_xero.storage.TokenStore.delete`."""
        key = _check_connection(connection_id)
        with self._db.errors("delete tokens", secret=True), self._db.atomic():
            self._tokens().filter(connection_id=key).delete()
            self._leases().filter(connection_id=key).delete()

    def acquire_refresh_lease(
        self, connection_id: str, *, holder: str, now: datetime, seconds: float
    ) -> bool:
        """See :meth:`bms_xero.storage.RefreshLease.acquire_refresh_lease`."""
        key = _check_connection(connection_id)
        _check_lease(holder, now, seconds)
        until = now.astimezone(UTC) + timedelta(seconds=seconds)
        with self._db.errors("claim the token refresh"), self._db.atomic():
            claim = self._leases().filter(connection_id=key)
            # A claim that ran out, or the holder's own, is taken over in one statement.
            if claim.filter(Q(until__lte=now) | Q(holder=holder)).update(
                holder=holder, until=until
            ):
                return True
            try:
                with self._db.savepoint():
                    self._leases().create(connection_id=key, holder=holder, until=until)
            except IntegrityError:
                return False  # another holder's claim runs
        return True

    def release_refresh_lease(self, connection_id: str, *, holder: str) -> None:
        """See :meth:`bms_xero.storage.RefreshLease.release_refresh_lease`."""
        key = _check_connection(connection_id)
        with self._db.errors("release the token refresh"):
            self._leases().filter(connection_id=key, holder=holder).delete()

    def close(self) -> None:
        """Nothing to release: Django owns the connections."""

    def __enter__(self) -> DjangoTokenStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DjangoTokenStore(using={self._db.alias!r})"


# --- jobs -------------------------------------------------------------------------------------

_JOB_FIELDS: Final = tuple(f.name for f in attrs.fields(Job))
#: Jobs read per query while leasing: a page of due jobs, most of them taken.
_LEASE_PAGE: Final = 200
_LIVE: Final = (JobStatus.PENDING.value, JobStatus.LEASED.value, JobStatus.FAILED.value)
_PURGED: Final = tuple(sorted(s.value for s in FINISHED - {JobStatus.FAILED}))
_VENDORS: Final = ("postgresql", "sqlite")


def job_row(job: Job) -> dict[str, object]:
    """The columns of a :class:`~bms_xero.contrib.django.models.Job` row."""
    return {name: _value(getattr(job, name)) for name in _JOB_FIELDS}


def job_from_row(values: Sequence[Any]) -> Job:
    """A job from ``values_list(*Job fields)``, in attrs field order."""
    return Job(**dict(zip(_JOB_FIELDS, values, strict=True)))


def advisory_lock_key(*parts: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for ``parts``, the same in every
    process and on every machine (``hash()`` is not)."""
    text = "\x1f".join(("bms_xero.jobs", *parts)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big", signed=True)


class DjangoJobStore(JobStoreBase):
    """Background jobs and tenant parks in the host's database; implements ``JobStore``.

    Every rule (what is due, one live job per work, what a lease proves, what a retry
    resets) is :mod:`bms_xero.jobs._transitions`', applied here as in ``SQLiteJobStore``;
    this class only reads and writes atomically:

    - on PostgreSQL, rows a change depends on are read ``SELECT ... FOR UPDATE``, so a
      concurrent change waits and then sees the new row; leasing reads due jobs
      ``FOR UPDATE SKIP LOCKED`` (a job another worker is finishing is passed over, not
      waited for), and leases are serialised by one transaction-scoped advisory lock, as
      are enqueues of the same work, so "never the same work twice" and "one live job per
      work" hold across workers and machines;
    - on SQLite, the database must use ``"OPTIONS": {"transaction_mode": "IMMEDIATE"}``:
      every transaction then holds the file's write lock from its first read. Leasing
      refuses to run without it (:class:`~bms_xero.errors.ConfigurationError`).

    Every write is also compare-and-swap on the job's ``version``, so a change the database
    did not serialise is refused (StorageError) instead of lost. Call :meth:`lease` outside
    the host's own transaction: the leased rows stay locked until that commits.

    Args:
        using: The ``DATABASES`` alias (PostgreSQL or SQLite).
        new_id: Makes job ids (default: random UUIDs).

    Raises:
        ConfigurationError: Not a configured alias, ``USE_TZ`` off, or another database.
    """

    def __init__(self, *, using: str = "default", new_id: Callable[[], str] | None = None) -> None:
        self._db = _Database("DjangoJobStore", using)
        if self._db.vendor not in _VENDORS:
            raise ConfigurationError(
                f"DjangoJobStore(using={using!r}) supports PostgreSQL and SQLite, not "
                f"{self._db.vendor}: keep jobs in one of those (another alias, or "
                "SQLiteJobStore), or implement bms_xero.jobs.JobStore for it"
            )
        self._new_id = new_id or (lambda: str(uuid.uuid4()))

    @property
    def using(self) -> str:
        """The database alias."""
        return self._db.alias

    def __repr__(self) -> str:
        return f"DjangoJobStore(using={self._db.alias!r})"

    def close(self) -> None:
        """Nothing to release: Django owns the connections."""

    # --- plumbing ---------------------------------------------------------------------------

    def _jobs(self) -> Any:
        return m.Job.objects.using(self._db.alias)

    def _decode(self, values: Sequence[Any]) -> Job:
        try:
            return job_from_row(values)
        except (ValueError, TypeError) as exc:
            raise StorageError(
                f"database {self._db.alias!r}: the job {values[0]!r} can't be read ({exc}); it "
                "was changed outside bms_xero: fix or delete the row"
            ) from exc

    def _read(self, query: Any) -> list[Job]:
        return [self._decode(values) for values in query.values_list(*_JOB_FIELDS)]

    def _locked(self, job_id: str) -> Job | None:
        """The job, its row locked until the transaction ends (PostgreSQL)."""
        found = self._read(self._jobs().select_for_update().filter(id=job_id))
        return found[0] if found else None

    def _lock(self, *parts: str) -> None:
        """Hold an advisory lock on ``parts`` until the transaction ends (PostgreSQL; SQLite
        transactions already hold the file's write lock)."""
        if self._db.vendor == "postgresql":
            with connections[self._db.alias].cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [advisory_lock_key(*parts)])

    def _write(self, job: Job) -> None:
        """Store ``job``, a change of the stored version ``job.version - 1``."""
        row = job_row(job)
        problems = _length_problems(m.Job, row)
        if problems:
            raise StorageValueError(what=f"job {job.id!r}", problems=problems)
        del row["id"]
        if self._jobs().filter(id=job.id, version=job.version - 1).update(**row) != 1:
            raise StorageError(
                f"database {self._db.alias!r}: job {job.id} changed while it was being written "
                "(another process wrote it at the same time); retry. On SQLite, set "
                '"OPTIONS": {"transaction_mode": "IMMEDIATE"} so writers take turns'
            )

    def _same_work(
        self, tenant_id: str, kind: JobKind, invoice_id: str | None, customer_id: str | None
    ) -> list[Job]:
        """The live jobs (pending, leased, failed) doing this work, rows locked."""
        query = self._jobs().filter(tenant_id=tenant_id, kind=kind.value, status__in=_LIVE)
        if customer_id:
            query = query.filter(customer_id=customer_id)
        elif invoice_id:
            query = query.filter(invoice_id=invoice_id)
        else:
            query = query.filter(invoice_id__isnull=True, customer_id__isnull=True)
        return self._read(query.select_for_update())

    # --- enqueue ----------------------------------------------------------------------------

    def _enqueue(
        self,
        tenant_id: str,
        kind: JobKind,
        invoice_id: str | None,
        invoice_number: str | None,
        now: datetime,
        *,
        queue: str,
        customer_id: str | None = None,
    ) -> Job:
        t.check_enqueue(
            tenant_id, invoice_id, invoice_number, kind=kind, queue=queue, customer_id=customer_id
        )
        now = t.check_now(now)
        job = t.new_job(
            self._new_id(),
            tenant_id,
            kind,
            invoice_id=invoice_id,
            customer_id=customer_id,
            invoice_number=invoice_number,
            now=now,
            queue=queue,
        )
        problems = _length_problems(m.Job, job_row(job))
        if problems:
            raise StorageValueError(what=f"{kind.value} job", problems=problems)
        with self._db.errors("enqueue a job"), self._db.atomic():
            self._lock("work", *job.dedupe_key)
            same = self._same_work(tenant_id, kind, invoice_id, customer_id)
            plan = t.enqueue(same, now=now, invoice_number=invoice_number, queue=queue)
            for changed in plan.writes:
                self._write(changed)
            if plan.job is not None:
                return plan.job
            try:
                with self._db.savepoint():
                    self._jobs().create(**job_row(job))
            except IntegrityError as exc:
                raise StorageError(
                    f"new_id() returned {job.id!r}, which is taken; job ids must be unique"
                ) from exc
        return job

    # --- read -------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job, or ``None``."""
        check_keys("job lookup", job_id=job_id)
        with self._db.errors("read a job"):
            found = self._read(self._jobs().filter(id=job_id))
        return found[0] if found else None

    def list_jobs(
        self,
        *,
        tenant_id: str | None = None,
        statuses: Collection[JobStatus] | None = None,
        kinds: Collection[JobKind] | None = None,
        invoice_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 100,
    ) -> list[Job]:
        """Jobs matching every filter given, newest first."""
        scope = t.list_scope(
            limit,
            statuses=statuses,
            kinds=kinds,
            created_after=created_after,
            created_before=created_before,
        )
        if scope.empty:
            return []
        query = self._jobs()
        if tenant_id is not None:
            query = query.filter(tenant_id=tenant_id)
        if scope.statuses is not None:
            query = query.filter(status__in=sorted(s.value for s in scope.statuses))
        if scope.kinds is not None:
            query = query.filter(kind__in=sorted(k.value for k in scope.kinds))
        if invoice_id is not None:
            query = query.filter(invoice_id=invoice_id)
        if scope.created_after is not None:
            query = query.filter(created_at__gte=scope.created_after)
        if scope.created_before is not None:
            query = query.filter(created_at__lt=scope.created_before)
        with self._db.errors("list jobs"):
            return self._read(query.order_by("-created_at", "-id")[:limit])

    # --- lease and outcomes -----------------------------------------------------------------

    def lease(
        self,
        *,
        worker_id: str,
        now: datetime,
        lease_seconds: float,
        limit: int,
        tenant_ids: Collection[str] | None = None,
        kinds: Collection[JobKind] | None = None,
        queues: Collection[str] | None = None,
    ) -> list[Job]:
        """Take up to ``limit`` due jobs for ``worker_id`` (see the class docstring for how
        two workers are kept apart)."""
        t.check_lease_args(worker_id, lease_seconds, limit, queues)
        now = t.check_now(now)
        problems = _length_problems(m.Job, {"leased_by": worker_id})
        if problems:
            raise StorageValueError(what="job lease", problems=problems)
        self._db.require_immediate("lease jobs")
        wanted = t.lease_scope(tenant_ids, kinds, queues)
        if wanted.empty:
            return []
        tenants, wanted_kinds, wanted_queues = wanted.tenants, wanted.kinds, wanted.queues
        scope = Q()
        if tenants is not None:
            scope &= Q(tenant_id__in=tenants)
        if wanted_kinds is not None:
            scope &= Q(kind__in=sorted(k.value for k in wanted_kinds))
        due = Q(status=JobStatus.PENDING.value, run_after__lte=now) | Q(
            status=JobStatus.LEASED.value, lease_until__lte=now
        )
        result: list[Job] = []
        with self._db.errors("lease jobs"), self._db.atomic():
            self._lock("lease")
            parked = set(
                m.TenantPark.objects.using(self._db.alias)
                .filter(until__gt=now)
                .values_list("tenant_id", flat=True)
            )
            # Work running on any queue is busy: two workers must never do the same work.
            taken = {
                (tenant, kind, invoice or customer or "")
                for tenant, kind, invoice, customer in self._jobs()
                .filter(scope, status=JobStatus.LEASED.value, lease_until__gt=now)
                .values_list("tenant_id", "kind", "invoice_id", "customer_id")
            }
            candidates = self._jobs().filter(scope, due).exclude(tenant_id__in=parked)
            if wanted_queues is not None:
                candidates = candidates.filter(queue__in=wanted_queues)
            candidates = candidates.order_by("run_after", "created_at", "id").select_for_update(
                skip_locked=True
            )
            offset = 0
            while len(result) < limit:
                page = self._read(candidates[offset : offset + _LEASE_PAGE])
                chosen = t.pick(page, now=now, limit=limit - len(result), busy=taken, parked=parked)
                for job in chosen:
                    taken.add(job.dedupe_key)
                    leased = t.leased(
                        job, worker_id=worker_id, now=now, lease_seconds=lease_seconds
                    )
                    self._write(leased)
                    result.append(leased)
                # Leased rows stop matching the query, so the next page starts that much sooner.
                offset += len(page) - len(chosen)
                if len(page) < _LEASE_PAGE:
                    break
        return result

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        """Mark the leased job done (LeaseLost if the lease is no longer held); failed jobs of
        the same work are superseded."""
        now = t.check_now(now)
        with self._db.errors("complete a job"), self._db.atomic():
            self._lock("work", *job.dedupe_key)
            stored = t.proven(self._locked(job.id), job, now)
            done = t.completed(stored, now=now, invoice_number=invoice_number)
            self._write(done)
            same = self._same_work(done.tenant_id, done.kind, done.invoice_id, done.customer_id)
            for moot in t.settled(same, done, now):
                self._write(moot)
        return done

    def fail(
        self,
        job: Job,
        *,
        now: datetime,
        error: str,
        error_type: str,
        retry_at: datetime | None,
        retryable: bool | None = None,
        invoice_number: str | None = None,
    ) -> Job:
        """Record a failure: retry from ``retry_at``, or fail for good when it is ``None``."""
        now = t.check_now(now)
        retry = None if retry_at is None else t.check_now(retry_at, "job failure", "retry_at")
        with self._db.errors("record a job failure"), self._db.atomic():
            stored = t.proven(self._locked(job.id), job, now)
            after = t.failed(
                stored,
                now=now,
                error=error,
                error_type=error_type,
                retry_at=retry,
                retryable=retryable,
                invoice_number=invoice_number,
            )
            self._write(after)
        return after

    def release(
        self,
        job: Job,
        *,
        now: datetime,
        run_after: datetime,
        error: str | None = None,
        error_type: str | None = None,
    ) -> Job:
        """Put the leased job back to pending without counting the attempt."""
        now = t.check_now(now)
        run_after = t.check_now(run_after, "job release", "run_after")
        with self._db.errors("release a job"), self._db.atomic():
            stored = t.proven(self._locked(job.id), job, now)
            after = t.released(
                stored, now=now, run_after=run_after, error=error, error_type=error_type
            )
            self._write(after)
        return after

    # --- parking ----------------------------------------------------------------------------

    def _parks(self) -> Any:
        return m.TenantPark.objects.using(self._db.alias)

    def park_tenant(self, tenant_id: str, until: datetime) -> datetime:
        """Lease none of the tenant's jobs before ``until`` (a park is never shortened)."""
        check_keys("tenant park", tenant_id=tenant_id)
        until = t.check_now(until, "tenant park", "until")
        problems = _length_problems(m.TenantPark, {"tenant_id": tenant_id})
        if problems:
            raise StorageValueError(what="tenant park", problems=problems)
        with self._db.errors("park a tenant"), self._db.atomic():
            park = self._parks().filter(tenant_id=tenant_id)
            if not park.filter(until__lt=until).update(until=until) and not park.exists():
                try:
                    with self._db.savepoint():
                        self._parks().create(tenant_id=tenant_id, until=until)
                except IntegrityError:  # parked meanwhile: keep the later end
                    park.filter(until__lt=until).update(until=until)
            ends: datetime = park.values_list("until", flat=True).get()
        return ends.astimezone(UTC)

    def unpark_tenant(self, tenant_id: str) -> None:
        """Lift the tenant's park."""
        check_keys("tenant park", tenant_id=tenant_id)
        with self._db.errors("unpark a tenant"):
            self._parks().filter(tenant_id=tenant_id).delete()

    def parked_until(self, tenant_id: str, *, now: datetime) -> datetime | None:
        """When the tenant's park ends, or ``None`` if it is not parked at ``now``."""
        check_keys("tenant park", tenant_id=tenant_id)
        now = t.check_now(now)
        with self._db.errors("read a tenant park"):
            ends = (
                self._parks()
                .filter(tenant_id=tenant_id, until__gt=now)
                .values_list("until", flat=True)
                .first()
            )
        return None if ends is None else ends.astimezone(UTC)

    # --- operator actions -------------------------------------------------------------------

    def retry_now(self, job_id: str, *, now: datetime) -> Job | None:
        """Run a failed, cancelled or waiting job now, with a fresh attempt budget."""
        check_keys("job retry", job_id=job_id)
        return self._change(job_id, t.retried, now, "retry a job")

    def retry_failed(self, *, now: datetime, tenant_id: str | None = None) -> list[Job]:
        """Retry every failed job (of one tenant when given)."""
        now = t.check_now(now)
        query = self._jobs().filter(status=JobStatus.FAILED.value)
        if tenant_id is not None:
            query = query.filter(tenant_id=tenant_id)
        result = []
        with self._db.errors("retry failed jobs"), self._db.atomic():
            for job in self._read(query.order_by("created_at", "id").select_for_update()):
                after = t.retried(job, now)
                if after is not job:
                    self._write(after)
                result.append(after)
        return result

    def cancel(self, job_id: str, *, now: datetime) -> Job | None:
        """Cancel a pending, leased or failed job."""
        check_keys("job cancel", job_id=job_id)
        return self._change(job_id, t.cancelled, now, "cancel a job")

    def purge(self, *, finished_before: datetime) -> int:
        """Delete done, cancelled and superseded jobs last changed before ``finished_before``."""
        before = t.check_now(finished_before, "job purge", "finished_before")
        with self._db.errors("purge jobs"), self._db.atomic():
            deleted, _ = self._jobs().filter(status__in=_PURGED, updated_at__lt=before).delete()
        return int(deleted)

    def _change(
        self, job_id: str, change: Callable[[Job, datetime], Job], now: datetime, doing: str
    ) -> Job | None:
        now = t.check_now(now)
        with self._db.errors(doing), self._db.atomic():
            job = self._locked(job_id)
            if job is None:
                return None
            after = change(job, now)
            if after is not job:
                self._write(after)
            return after
