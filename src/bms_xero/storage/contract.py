"""Contract checks for a ``SyncStore``: run them against your own implementation.

Each check takes a store, exercises one behaviour the sync engine relies on, and raises
``AssertionError`` saying what differed. Checks use fresh random tenant ids, so the store does
not need to be empty (a shared test database is fine). No test framework is needed; with pytest::

    import pytest
    from bms_xero.storage.contract import CHECKS, ContractCheck

    @pytest.mark.parametrize("check", CHECKS, ids=str)
    def test_store_keeps_the_contract(check: ContractCheck, my_store) -> None:
        check(my_store)

or, in one call, ``run_contract(make_store)``, which reports every failing check at once.
The built-in ``MemoryStore`` and ``SQLiteStore`` are tested with these same checks.

A token store that also claims refreshes (:class:`~bms_xero.storage.RefreshLease`) has its
own checks, :data:`REFRESH_LEASE_CHECKS` and :func:`run_refresh_lease_contract`, which the
built-in ``MemoryTokenStore`` and ``SQLiteTokenStore`` pass.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bms_xero._contract import ContractCheck as _Check
from bms_xero._contract import run_checks
from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import VersionConflict
from bms_xero.storage._credit_records import CreditNoteRecord, CreditNoteState
from bms_xero.storage._protocols import CreditNoteStore, SyncStore
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.storage._tokens import RefreshLease

__all__ = [
    "CHECKS",
    "CREDIT_NOTE_CHECKS",
    "REFRESH_LEASE_CHECKS",
    "ContractCheck",
    "run_contract",
    "run_credit_note_contract",
    "run_refresh_lease_contract",
]


ContractCheck = _Check
"""One behaviour a ``SyncStore`` must have (``ContractCheck[SyncStore]``)."""


# --- helpers -------------------------------------------------------------------------------

_T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _tenant() -> str:
    return f"contract-{uuid.uuid4().hex}"


def _record(tenant_id: str, invoice_id: str = "I-1", **changes: Any) -> SyncRecord:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "invoice_id": invoice_id,
        "invoice_number": f"INV-{invoice_id}",
        "state": SyncState.PENDING,
    }
    values.update(changes)
    return SyncRecord(**values)


def _expect(expected: object, actual: object, what: str) -> None:
    if expected != actual:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


def _conflict(action: Callable[[], object], what: str) -> VersionConflict:
    try:
        result = action()
    except VersionConflict as conflict:
        return conflict
    raise AssertionError(f"{what}: expected VersionConflict, but it returned {result!r}")


def _versions(records: Iterable[SyncRecord | None]) -> list[int | None]:
    return [None if r is None else r.version for r in records]


# --- records: read and write -----------------------------------------------------------------


def missing_records_read_as_nothing(store: SyncStore) -> None:
    """Lookups in a tenant with no records return None or an empty dict, never raise."""
    tenant = _tenant()
    _expect(None, store.get(tenant, "I-1"), "get")
    _expect(None, store.by_number(tenant, "INV-1"), "by_number")
    _expect({}, store.get_many(tenant, ["I-1", "I-2"]), "get_many")
    _expect({}, store.by_xero_ids(tenant, ["X-1"]), "by_xero_ids")
    _expect([], list(store.iter_records(tenant)), "iter_records")


def insert_stores_version_one(store: SyncStore) -> None:
    """An insert (expected_version=None) returns and stores the record at version 1."""
    record = _record(_tenant())
    stored = store.put(record, expected_version=None)
    _expect(record.evolve(version=1), stored, "returned record")
    _expect(stored, store.get(record.tenant_id, record.invoice_id), "get after insert")


def record_version_is_ignored(store: SyncStore) -> None:
    """The version on the record passed to put is ignored: the store sets it."""
    record = _record(_tenant(), version=41)
    _expect(1, store.put(record, expected_version=None).version, "version after insert")
    again = record.evolve(version=7)
    _expect(2, store.put(again, expected_version=1).version, "version after update")


def insert_twice_conflicts(store: SyncStore) -> None:
    """A second insert of the same key raises VersionConflict and leaves the first record."""
    first = store.put(_record(_tenant()), expected_version=None)
    second = first.evolve(invoice_number="INV-OTHER")
    conflict = _conflict(lambda: store.put(second, expected_version=None), "second insert")
    _expect((None, 1), (conflict.expected_version, conflict.actual_version), "conflict versions")
    _expect(first.key, conflict.key, "conflict key")
    _expect(first, store.get(first.tenant_id, first.invoice_id), "record after conflict")


def update_bumps_version(store: SyncStore) -> None:
    """A put with the stored version writes the record and returns it at version + 1."""
    first = store.put(_record(_tenant()), expected_version=None)
    changed = first.evolve(state=SyncState.PUSHED, xero_invoice_id="X-1", fingerprint="f1")
    stored = store.put(changed, expected_version=first.version)
    _expect(changed.evolve(version=2), stored, "returned record")
    _expect(stored, store.get(first.tenant_id, first.invoice_id), "get after update")


def stale_version_conflicts(store: SyncStore) -> None:
    """A put with an older version raises VersionConflict naming both versions; nothing
    changes."""
    first = store.put(_record(_tenant()), expected_version=None)
    second = store.put(first.evolve(fingerprint="f2"), expected_version=1)
    stale = first.evolve(fingerprint="stale")
    conflict = _conflict(lambda: store.put(stale, expected_version=1), "stale put")
    _expect((1, 2), (conflict.expected_version, conflict.actual_version), "conflict versions")
    _expect(second, store.get(first.tenant_id, first.invoice_id), "record after conflict")


def update_of_missing_record_conflicts(store: SyncStore) -> None:
    """A compare-and-swap on a record that does not exist raises VersionConflict (actual None)
    and stores nothing."""
    record = _record(_tenant())
    conflict = _conflict(lambda: store.put(record, expected_version=1), "put of missing record")
    _expect((1, None), (conflict.expected_version, conflict.actual_version), "conflict versions")
    _expect(None, store.get(record.tenant_id, record.invoice_id), "record after conflict")


def every_field_round_trips(store: SyncStore) -> None:
    """Every field reads back equal: exact Decimals, aware datetimes to the microsecond, dates."""
    plus_ten = timezone(timedelta(hours=10))
    record = SyncRecord(
        tenant_id=_tenant(),
        invoice_id="I-ÅÄÖ-1",
        invoice_number="INV-0001/ü",
        state=SyncState.PUSHED,
        xero_invoice_id="0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        fingerprint="sha256:" + "ab" * 32,
        intent_key="idem-123",
        intent_fingerprint="sha256:" + "cd" * 32,
        intent_at=datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=UTC),
        last_push_at=datetime(2026, 1, 5, 19, 30, 15, 123456, tzinfo=plus_ten),
        last_pull_at=datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        xero_status="AUTHORISED",
        total=Decimal("12345678901234.56789"),  # not representable as a float
        amount_due=Decimal("0.1"),
        amount_paid=Decimal("-0.30"),
        amount_credited=Decimal("0"),
        fully_paid_on=date(2026, 2, 28),
        xero_updated_at=datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
        last_error="invoice INV-0001: Xero said \"Account code '200' is not valid\"; fix it",
        last_error_at=datetime(2026, 3, 1, 5, 0, tzinfo=UTC),
        last_error_type="AccountCodeError",
        paid_by_prepayments=Decimal("0.10"),
        paid_by_overpayments=Decimal("7"),
        allocations=(
            Allocation(
                kind=AllocationKind.PAYMENT,
                id="p-1",
                amount=Decimal("-0.30"),
                date=date(2026, 2, 1),
                reference='ref "quoted", ü',
            ),
            Allocation(kind=AllocationKind.PREPAYMENT, id="pp-1", amount=Decimal("0.10")),
        ),
        money_version=7,
        told_version=5,
        told_status="partially_paid",
        delivered=True,
        view_url="https://go.xero.com/organisationlogin/default.aspx?shortcode=%21a&x=1",
        online_invoice_url="https://in.xero.com/bCWCCfytGdTXoJam9HENWlQt07G6zcDaj4gQojHu",
        emailed_at=datetime(2026, 1, 6, 8, 15, 0, 654321, tzinfo=plus_ten),
    )
    stored = store.put(record, expected_version=None)
    read = store.get(record.tenant_id, record.invoice_id)
    _expect(record.evolve(version=1), read, "record read back")
    _expect(stored, read, "returned vs read back")
    assert read is not None
    for name in ("intent_at", "last_push_at", "last_pull_at", "xero_updated_at", "emailed_at"):
        value = getattr(read, name)
        _expect(timedelta(0), value.utcoffset(), f"{name} offset (aware, UTC)")
    _expect(record.last_push_at, read.last_push_at, "instant of a non-UTC datetime")


def get_many_returns_existing_records(store: SyncStore) -> None:
    """get_many returns the records that exist, keyed by invoice id; duplicates and missing
    ids are fine."""
    tenant = _tenant()
    a = store.put(_record(tenant, "A"), expected_version=None)
    b = store.put(_record(tenant, "B"), expected_version=None)
    store.put(_record(tenant, "C"), expected_version=None)
    _expect({"A": a, "B": b}, store.get_many(tenant, ["A", "B", "A", "missing"]), "get_many")
    _expect({}, store.get_many(tenant, []), "get_many of nothing")
    _expect({"B": b}, store.get_many(tenant, iter(["B"])), "get_many of an iterator")


def by_xero_ids_finds_linked_records(store: SyncStore) -> None:
    """by_xero_ids returns the records linked to the given Xero ids, keyed by Xero id."""
    tenant = _tenant()
    a = store.put(_record(tenant, "A", xero_invoice_id="X-A"), expected_version=None)
    b = store.put(_record(tenant, "B", xero_invoice_id="X-B"), expected_version=None)
    store.put(_record(tenant, "C"), expected_version=None)
    _expect(
        {"X-A": a, "X-B": b},
        store.by_xero_ids(tenant, ["X-A", "X-B", "X-missing", "X-A"]),
        "by_xero_ids",
    )
    _expect({}, store.by_xero_ids(tenant, []), "by_xero_ids of nothing")


def by_number_finds_the_record(store: SyncStore) -> None:
    """by_number returns the record with that invoice number, and follows a renumbering."""
    tenant = _tenant()
    a = store.put(_record(tenant, "A", invoice_number="INV-1"), expected_version=None)
    _expect(a, store.by_number(tenant, "INV-1"), "by_number")
    renumbered = store.put(a.evolve(invoice_number="INV-2"), expected_version=1)
    _expect(None, store.by_number(tenant, "INV-1"), "old number after renumbering")
    _expect(renumbered, store.by_number(tenant, "INV-2"), "new number after renumbering")


def lookups_break_ties_by_smallest_invoice_id(store: SyncStore) -> None:
    """When several records share a number or a Xero id, lookups return the smallest
    invoice_id."""
    tenant = _tenant()
    for invoice_id in ("B", "A", "C"):
        store.put(
            _record(tenant, invoice_id, invoice_number="INV-1", xero_invoice_id="X-1"),
            expected_version=None,
        )
    found = store.by_number(tenant, "INV-1")
    _expect("A", None if found is None else found.invoice_id, "by_number tie-break")
    by_xero = store.by_xero_ids(tenant, ["X-1"])
    _expect(["A"], [r.invoice_id for r in by_xero.values()], "by_xero_ids tie-break")


def iter_records_filters_by_state(store: SyncStore) -> None:
    """iter_records yields every record of the tenant, or only those in the given states."""
    tenant = _tenant()
    states = {
        "A": SyncState.PENDING,
        "B": SyncState.PUSHED,
        "C": SyncState.PUSHED,
        "D": SyncState.FAILED,
        "E": SyncState.UNCERTAIN,
    }
    for invoice_id, state in states.items():
        store.put(_record(tenant, invoice_id, state=state), expected_version=None)

    def ids(found: Iterable[SyncRecord]) -> list[str]:
        return sorted(r.invoice_id for r in found)

    _expect(list(states), ids(store.iter_records(tenant)), "all records")
    _expect(["B", "C"], ids(store.iter_records(tenant, states={SyncState.PUSHED})), "pushed")
    _expect(
        ["A", "E"],
        ids(store.iter_records(tenant, states=[SyncState.PENDING, SyncState.UNCERTAIN])),
        "pending or uncertain",
    )
    _expect([], ids(store.iter_records(tenant, states=())), "no states")
    _expect([], ids(store.iter_records(tenant, states={SyncState.VOIDED})), "voided")


def undelivered_lists_the_outbox(store: SyncStore) -> None:
    """iter_undelivered yields the records whose money_version is ahead of told_version, in
    invoice id order, and follows every put (due, told, due again)."""
    tenant = _tenant()
    store.put(_record(tenant, "B", money_version=2, told_version=1), expected_version=None)
    store.put(_record(tenant, "A", money_version=1), expected_version=None)
    store.put(_record(tenant, "C", money_version=3, told_version=3), expected_version=None)
    store.put(_record(_tenant(), "D", money_version=1), expected_version=None)

    def ids() -> list[str]:
        return [r.invoice_id for r in store.iter_undelivered(tenant)]

    _expect(["A", "B"], ids(), "due records")
    a = store.get(tenant, "A")
    assert a is not None
    told = store.put(a.evolve(told_version=1), expected_version=a.version)
    _expect(["B"], ids(), "after A was told")
    store.put(told.evolve(money_version=2), expected_version=told.version)
    _expect(["A", "B"], ids(), "after A changed again")


def put_many_writes_all_in_order(store: SyncStore) -> None:
    """put_many applies its puts in order (a later put of the same key sees the earlier one)
    and returns the stored records in that order."""
    tenant = _tenant()
    existing = store.put(_record(tenant, "A"), expected_version=None)
    batch = [
        (existing.evolve(state=SyncState.PUSHED), 1),
        (_record(tenant, "B"), None),
        (_record(tenant, "B", state=SyncState.PUSHED), 1),
    ]
    stored = store.put_many(batch)
    _expect([2, 1, 2], _versions(stored), "returned versions")
    _expect(
        [SyncState.PUSHED, SyncState.PENDING, SyncState.PUSHED],
        [r.state for r in stored],
        "returned states",
    )
    _expect([2, 2], _versions([store.get(tenant, "A"), store.get(tenant, "B")]), "stored")
    _expect([], store.put_many([]), "put_many of nothing")


def put_many_is_all_or_nothing(store: SyncStore) -> None:
    """One conflict in put_many raises VersionConflict and writes none of the batch."""
    tenant = _tenant()
    a = store.put(_record(tenant, "A"), expected_version=None)
    d = store.put(_record(tenant, "D"), expected_version=None)
    d2 = store.put(d.evolve(fingerprint="f2"), expected_version=1)
    batch = [
        (_record(tenant, "B"), None),
        (a.evolve(state=SyncState.PUSHED), 1),
        (_record(tenant, "C"), None),
        (d.evolve(fingerprint="stale"), 1),  # D is at version 2: conflicts
    ]
    conflict = _conflict(lambda: store.put_many(batch), "put_many with a stale entry")
    _expect((1, 2), (conflict.expected_version, conflict.actual_version), "conflict versions")
    _expect((a, d2), (store.get(tenant, "A"), store.get(tenant, "D")), "after the failed batch")
    _expect({}, store.get_many(tenant, ["B", "C"]), "inserts of the failed batch")


def tenants_are_isolated(store: SyncStore) -> None:
    """The same invoice id, number, Xero id, cursor and customer in two tenants never mix."""
    one, two = _tenant(), _tenant()
    a1 = store.put(_record(one, "I-1", xero_invoice_id="X-1"), expected_version=None)
    a2 = store.put(
        _record(two, "I-1", xero_invoice_id="X-1", state=SyncState.FAILED), expected_version=None
    )
    a2 = store.put(a2.evolve(last_error="boom"), expected_version=1)
    _expect((a1, a2), (store.get(one, "I-1"), store.get(two, "I-1")), "get")
    _expect((a1, a2), (store.by_number(one, "INV-I-1"), store.by_number(two, "INV-I-1")), "number")
    _expect({"X-1": a1}, store.by_xero_ids(one, ["X-1"]), "by_xero_ids")
    _expect([a2], list(store.iter_records(two)), "iter_records")
    store.set_cursor(one, "payments", _T0)
    _expect(None, store.get_cursor(two, "payments"), "cursor of the other tenant")
    store.set_contact_id(one, "C-1", "contact-1")
    _expect(None, store.get_contact_id(two, "C-1"), "customer link of the other tenant")


# --- cursors ---------------------------------------------------------------------------------


def cursor_starts_unset(store: SyncStore) -> None:
    """A cursor that was never set reads as None."""
    _expect(None, store.get_cursor(_tenant(), "payments"), "new cursor")


def cursor_moves_forward(store: SyncStore) -> None:
    """set_cursor stores the value (read back aware, same instant) and moves it forward."""
    tenant = _tenant()
    store.set_cursor(tenant, "payments", _T0)
    _expect(_T0, store.get_cursor(tenant, "payments"), "first value")
    later = datetime(2026, 1, 5, 20, 0, 0, 500, tzinfo=timezone(timedelta(hours=10)))
    store.set_cursor(tenant, "payments", later)
    read = store.get_cursor(tenant, "payments")
    _expect(later, read, "later value")
    _expect(timedelta(0), None if read is None else read.utcoffset(), "cursor offset (UTC)")


def cursor_never_moves_backwards(store: SyncStore) -> None:
    """set_cursor with an earlier (or equal) value leaves the cursor where it is."""
    tenant = _tenant()
    store.set_cursor(tenant, "payments", _T0)
    store.set_cursor(tenant, "payments", _T0)
    store.set_cursor(tenant, "payments", _T0 - timedelta(microseconds=1))
    store.set_cursor(tenant, "payments", _T0 - timedelta(days=400))
    _expect(_T0, store.get_cursor(tenant, "payments"), "cursor after earlier values")


def cursors_are_independent_by_name(store: SyncStore) -> None:
    """Cursors with different names in one tenant are separate."""
    tenant = _tenant()
    store.set_cursor(tenant, "payments", _T0)
    store.set_cursor(tenant, "invoices", _T0 + timedelta(hours=1))
    _expect(
        (_T0, _T0 + timedelta(hours=1)),
        (store.get_cursor(tenant, "payments"), store.get_cursor(tenant, "invoices")),
        "two cursors",
    )


# --- customer links --------------------------------------------------------------------------


def customer_links_are_kept_and_replaced(store: SyncStore) -> None:
    """A customer link reads as None until set, then as the last contact id set."""
    tenant = _tenant()
    _expect(None, store.get_contact_id(tenant, "C-1"), "before linking")
    store.set_contact_id(tenant, "C-1", "contact-1")
    store.set_contact_id(tenant, "C-2", "contact-2")
    _expect("contact-1", store.get_contact_id(tenant, "C-1"), "after linking")
    store.set_contact_id(tenant, "C-1", "contact-9")
    _expect(
        ("contact-9", "contact-2"),
        (store.get_contact_id(tenant, "C-1"), store.get_contact_id(tenant, "C-2")),
        "after relinking",
    )


# --- concurrency -----------------------------------------------------------------------------


def racing_threads_win_each_version_once(store: SyncStore) -> None:
    """Threads racing compare-and-swap on one record each win distinct versions; none is lost."""
    threads, increments = 4, 20
    first = store.put(_record(_tenant()), expected_version=None)
    won: list[list[int]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(mine: list[int]) -> None:
        try:
            start.wait(timeout=10)
            while len(mine) < increments:
                current = store.get(first.tenant_id, first.invoice_id)
                assert current is not None
                try:
                    stored = store.put(
                        current.evolve(fingerprint=f"v{current.version + 1}"),
                        expected_version=current.version,
                    )
                except VersionConflict:
                    continue
                mine.append(stored.version)
        except BaseException as exc:  # reported below, in the calling thread
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(mine,)) for mine in won]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    if failures:
        raise AssertionError(f"a racing thread failed: {failures[0]!r}") from failures[0]
    total = threads * increments
    _expect(list(range(2, total + 2)), sorted(v for mine in won for v in mine), "versions won")
    final = store.get(first.tenant_id, first.invoice_id)
    _expect(
        (total + 1, f"v{total + 1}"),
        (final.version, final.fingerprint) if final else None,
        "final record",
    )


#: Every check, in a sensible reading order.
CHECKS: tuple[ContractCheck[SyncStore], ...] = tuple(
    ContractCheck[SyncStore].of(check)
    for check in (
        missing_records_read_as_nothing,
        insert_stores_version_one,
        record_version_is_ignored,
        insert_twice_conflicts,
        update_bumps_version,
        stale_version_conflicts,
        update_of_missing_record_conflicts,
        every_field_round_trips,
        get_many_returns_existing_records,
        by_xero_ids_finds_linked_records,
        by_number_finds_the_record,
        lookups_break_ties_by_smallest_invoice_id,
        iter_records_filters_by_state,
        undelivered_lists_the_outbox,
        put_many_writes_all_in_order,
        put_many_is_all_or_nothing,
        tenants_are_isolated,
        cursor_starts_unset,
        cursor_moves_forward,
        cursor_never_moves_backwards,
        cursors_are_independent_by_name,
        customer_links_are_kept_and_replaced,
        racing_threads_win_each_version_once,
    )
)


def run_contract(
    make_store: Callable[[], SyncStore], *, checks: Iterable[ContractCheck[SyncStore]] = CHECKS
) -> None:
    """Run ``checks`` (all by default), each on a store from ``make_store``.

    A store with a ``close()`` method is closed after its check. Every check runs even when
    an earlier one fails.

    Raises:
        AssertionError: Listing every check that failed (or raised), with what differed.
    """
    run_checks(make_store, checks, what="storage")


# --- credit note records (CreditNoteStore) ----------------------------------------------------


def _credit(tenant_id: str, credit_note_id: str = "CN-1", **changes: Any) -> CreditNoteRecord:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "credit_note_id": credit_note_id,
        "credit_note_number": f"NUM-{credit_note_id}",
        "invoice_id": "I-1",
        "state": CreditNoteState.PENDING,
    }
    values.update(changes)
    return CreditNoteRecord(**values)


def missing_credit_notes_read_as_nothing(store: CreditNoteStore) -> None:
    """A credit note never stored reads as None, and an invoice without any lists none."""
    tenant = _tenant()
    _expect(None, store.get_credit_note(tenant, "CN-404"), "unknown credit note")
    _expect([], store.credit_notes_for_invoice(tenant, "I-404"), "credit notes of an invoice")


def credit_note_insert_and_compare_and_swap(store: CreditNoteStore) -> None:
    """Insert stores version 1; a second insert, a stale version and an update of a missing
    record each raise VersionConflict; a current version writes version + 1."""
    tenant = _tenant()
    first = store.put_credit_note(_credit(tenant), expected_version=None)
    _expect(1, first.version, "version after insert")
    _conflict(lambda: store.put_credit_note(_credit(tenant), expected_version=None), "insert twice")
    moved = store.put_credit_note(first.evolve(state=CreditNoteState.CREATED), expected_version=1)
    _expect(2, moved.version, "version after update")
    stale = _conflict(
        lambda: store.put_credit_note(first.evolve(last_error="x"), expected_version=1),
        "stale version",
    )
    _expect(2, stale.actual_version, "actual version of a stale write")
    _conflict(
        lambda: store.put_credit_note(_credit(tenant, "CN-2"), expected_version=3),
        "update of a missing record",
    )
    read = store.get_credit_note(tenant, "CN-1")
    _expect((2, CreditNoteState.CREATED), (read.version, read.state) if read else None, "read")


def credit_note_fields_round_trip(store: CreditNoteStore) -> None:
    """Every field reads back exactly: Decimals to the digit, datetimes aware and in UTC."""
    tenant = _tenant()
    plus_ten = timezone(timedelta(hours=10))
    record = _credit(
        tenant,
        state=CreditNoteState.ALLOCATED,
        xero_credit_note_id="6f7c2b86-3c0b-4e4f-9f0e-1a2b3c4d5e6f",
        xero_invoice_id="0e9a1d77-1b7f-4b0c-8d0c-6a5b4c3d2e1f",
        fingerprint="f" * 64,
        intent_key="key-1",
        intent_fingerprint="e" * 64,
        intent_at=datetime(2026, 1, 5, 19, 0, 0, 123456, tzinfo=plus_ten),
        allocation_key="key-2",
        allocation_at=_T0,
        allocated=Decimal("23.10"),
        total=Decimal("23.1000"),
        remaining_credit=Decimal("0.00"),
        xero_status="PAID",
        last_push_at=_T0 + timedelta(seconds=1),
        last_error="credit note NUM-CN-1 (invoice INV-1): it failed once",
        last_error_at=_T0 + timedelta(seconds=2),
        view_url="https://go.xero.com/AccountsReceivable/ViewCreditNote.aspx?creditNoteID=1",
    )
    stored = store.put_credit_note(record, expected_version=None)
    read = store.get_credit_note(tenant, "CN-1")
    _expect(record.evolve(version=1), read, "credit note read back")
    _expect(stored, read, "returned vs read back")
    assert read is not None
    _expect(timedelta(0), read.intent_at.utcoffset() if read.intent_at else None, "UTC offset")
    _expect("23.1000", str(read.total), "Decimal digits kept")


def credit_notes_are_listed_by_invoice(store: CreditNoteStore) -> None:
    """An invoice's credit notes come back in credit_note_id order, and only its own, and
    only the tenant's."""
    tenant, other = _tenant(), _tenant()
    for ident, invoice in (("CN-3", "I-1"), ("CN-1", "I-1"), ("CN-2", "I-2")):
        store.put_credit_note(_credit(tenant, ident, invoice_id=invoice), expected_version=None)
    store.put_credit_note(_credit(other, "CN-0", invoice_id="I-1"), expected_version=None)
    _expect(
        ["CN-1", "CN-3"],
        [r.credit_note_id for r in store.credit_notes_for_invoice(tenant, "I-1")],
        "credit notes of I-1",
    )
    _expect(None, store.get_credit_note(other, "CN-1"), "another tenant's credit note")


#: Every check of a ``CreditNoteStore``, in a sensible reading order.
CREDIT_NOTE_CHECKS: tuple[ContractCheck[CreditNoteStore], ...] = tuple(
    ContractCheck[CreditNoteStore].of(check)
    for check in (
        missing_credit_notes_read_as_nothing,
        credit_note_insert_and_compare_and_swap,
        credit_note_fields_round_trip,
        credit_notes_are_listed_by_invoice,
    )
)


def run_credit_note_contract(
    make_store: Callable[[], CreditNoteStore],
    *,
    checks: Iterable[ContractCheck[CreditNoteStore]] = CREDIT_NOTE_CHECKS,
) -> None:
    """:func:`run_contract` for a ``CreditNoteStore`` (``SyncEngine(credit_notes=...)``).

    Raises:
        AssertionError: Listing every check that failed (or raised), with what differed.
    """
    run_checks(make_store, checks, what="credit note storage")


# --- refresh leases (RefreshLease) ------------------------------------------------------------


def _connection() -> str:
    return f"contract-{uuid.uuid4().hex}"


def lease_is_granted_once(store: RefreshLease) -> None:
    """A free lease is granted; while it runs, another holder is refused."""
    conn = _connection()
    _expect(True, store.acquire_refresh_lease(conn, holder="a", now=_T0, seconds=30), "first")
    later = _T0 + timedelta(seconds=29)
    _expect(False, store.acquire_refresh_lease(conn, holder="b", now=later, seconds=30), "another")


def lease_runs_out(store: RefreshLease) -> None:
    """A lease ends by itself at now + seconds: another holder gets it from then on."""
    conn = _connection()
    store.acquire_refresh_lease(conn, holder="a", now=_T0, seconds=30)
    end = _T0 + timedelta(seconds=30)
    _expect(True, store.acquire_refresh_lease(conn, holder="b", now=end, seconds=30), "at end")
    _expect(
        False,
        store.acquire_refresh_lease(conn, holder="a", now=end + timedelta(seconds=1), seconds=30),
        "the first holder, after the second took over",
    )


def lease_is_renewed_by_its_holder(store: RefreshLease) -> None:
    """The holder may claim again (renewing it): the lease then runs from the new claim."""
    conn = _connection()
    store.acquire_refresh_lease(conn, holder="a", now=_T0, seconds=30)
    renewed = _T0 + timedelta(seconds=20)
    _expect(True, store.acquire_refresh_lease(conn, holder="a", now=renewed, seconds=30), "renew")
    _expect(
        False,
        store.acquire_refresh_lease(conn, holder="b", now=_T0 + timedelta(seconds=40), seconds=5),
        "another holder before the renewed end",
    )


def release_frees_only_its_holders_lease(store: RefreshLease) -> None:
    """A release by someone else changes nothing; the holder's release frees the lease."""
    conn = _connection()
    store.release_refresh_lease(conn, holder="nobody")  # no lease yet: nothing happens
    store.acquire_refresh_lease(conn, holder="a", now=_T0, seconds=30)
    store.release_refresh_lease(conn, holder="b")
    _expect(
        False,
        store.acquire_refresh_lease(conn, holder="b", now=_T0, seconds=30),
        "after a stranger's release",
    )
    store.release_refresh_lease(conn, holder="a")
    _expect(
        True,
        store.acquire_refresh_lease(conn, holder="b", now=_T0, seconds=30),
        "after the holder's release",
    )


def leases_are_per_connection(store: RefreshLease) -> None:
    """A lease on one connection does not hold up another connection."""
    first, second = _connection(), _connection()
    store.acquire_refresh_lease(first, holder="a", now=_T0, seconds=30)
    _expect(
        True,
        store.acquire_refresh_lease(second, holder="b", now=_T0, seconds=30),
        "another connection",
    )


def racing_threads_get_one_lease(store: RefreshLease) -> None:
    """Threads claiming one free lease at the same instant: exactly one gets it."""
    threads = 8
    conn = _connection()
    start = threading.Barrier(threads)
    granted: list[str] = []
    failures: list[BaseException] = []

    def claim(holder: str) -> None:
        try:
            start.wait(timeout=10)
            if store.acquire_refresh_lease(conn, holder=holder, now=_T0, seconds=30):
                granted.append(holder)
        except BaseException as exc:  # reported below, in the calling thread
            failures.append(exc)

    workers = [threading.Thread(target=claim, args=(f"h{n}",)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    if failures:
        raise AssertionError(f"a claiming thread failed: {failures[0]!r}") from failures[0]
    _expect(1, len(granted), "holders granted the lease")


#: Every check of a :class:`~bms_xero.storage.RefreshLease`, in a sensible reading order.
REFRESH_LEASE_CHECKS: tuple[ContractCheck[RefreshLease], ...] = tuple(
    ContractCheck[RefreshLease].of(check)
    for check in (
        lease_is_granted_once,
        lease_runs_out,
        lease_is_renewed_by_its_holder,
        release_frees_only_its_holders_lease,
        leases_are_per_connection,
        racing_threads_get_one_lease,
    )
)


def run_refresh_lease_contract(
    make_store: Callable[[], RefreshLease],
    *,
    checks: Iterable[ContractCheck[RefreshLease]] = REFRESH_LEASE_CHECKS,
) -> None:
    """:func:`run_contract` for a token store's :class:`~bms_xero.storage.RefreshLease`.

    .. versionadded:: Unreleased

    Raises:
        AssertionError: Listing every check that failed (or raised), with what differed.
    """
    run_checks(make_store, checks, what="refresh lease")
