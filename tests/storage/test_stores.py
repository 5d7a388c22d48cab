"""Behaviour of both built-in stores beyond the contract: argument checks, lifecycle, scale."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bms_xero.errors import StorageError, StorageValueError, VersionConflict
from bms_xero.storage import (
    CursorStore,
    CustomerLinkStore,
    MemoryStore,
    SQLiteStore,
    SyncRecord,
    SyncRecordStore,
    SyncState,
    SyncStore,
)
from tests.storage.conftest import StoreFactory

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def new(invoice_id: str = "I-1", tenant_id: str = "t1", **changes: Any) -> SyncRecord:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "invoice_id": invoice_id,
        "invoice_number": f"INV-{invoice_id}",
        "state": SyncState.PENDING,
    }
    return SyncRecord(**(values | changes))


def test_implements_every_role(store: SyncStore) -> None:
    """The store is a SyncStore and each of its roles, structurally."""
    assert [True] * 4 == [
        isinstance(store, role)
        for role in (SyncStore, SyncRecordStore, CursorStore, CustomerLinkStore)
    ]


def test_naive_cursor_is_refused(store: SyncStore) -> None:
    """set_cursor refuses a naive datetime with a typed error, and stores nothing."""
    with pytest.raises(StorageValueError, match="timezone-aware") as caught:
        store.set_cursor("t1", "payments", datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001
    assert (["value"], None) == (
        [p.path for p in caught.value.problems],
        store.get_cursor("t1", "payments"),
    )


@pytest.mark.parametrize(
    ("call", "path"),
    [
        (lambda s: s.get("", "I-1"), "tenant_id"),
        (lambda s: s.get("t1", ""), "invoice_id"),
        (lambda s: s.get_many("", ["I-1"]), "tenant_id"),
        (lambda s: s.by_xero_ids("", ["X"]), "tenant_id"),
        (lambda s: s.by_number("t1", ""), "invoice_number"),
        (lambda s: list(s.iter_records("")), "tenant_id"),
        (lambda s: s.get_cursor("t1", ""), "name"),
        (lambda s: s.set_cursor("", "payments", T0), "tenant_id"),
        (lambda s: s.get_contact_id("t1", ""), "customer_id"),
        (lambda s: s.set_contact_id("t1", "C-1", ""), "contact_id"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_empty_keys_are_refused(
    store: SyncStore, call: Callable[[SyncStore], object], path: str
) -> None:
    """Every key argument must be a non-empty string; the error names the argument."""
    with pytest.raises(StorageValueError) as caught:
        call(store)
    assert [path] == [p.path for p in caught.value.problems]


def test_closed_store_refuses_use(make_store: StoreFactory) -> None:
    """After close(), every call raises StorageError; closing twice is fine."""
    store = make_store()
    store.put(new(), expected_version=None)
    store.close()  # type: ignore[attr-defined]
    store.close()  # type: ignore[attr-defined]
    with pytest.raises(StorageError, match="closed"):
        store.get("t1", "I-1")
    with pytest.raises(StorageError, match="closed"):
        store.put(new("I-2"), expected_version=None)


def test_context_manager_closes(make_store: StoreFactory) -> None:
    """Leaving a with block closes the store."""
    with make_store() as store:  # type: ignore[attr-defined]
        store.set_contact_id("t1", "C-1", "contact-1")
    with pytest.raises(StorageError, match="closed"):
        store.get_contact_id("t1", "C-1")


def test_writing_while_iterating(store: SyncStore) -> None:
    """Records can be updated while iter_records is being consumed."""
    for i in range(5):
        store.put(new(f"I-{i}"), expected_version=None)
    seen = []
    for record in store.iter_records("t1", states={SyncState.PENDING}):
        store.put(record.evolve(state=SyncState.PUSHED), expected_version=record.version)
        seen.append(record.invoice_id)
    assert (5, []) == (len(seen), list(store.iter_records("t1", states={SyncState.PENDING})))


def test_many_records_in_one_tenant(store: SyncStore) -> None:
    """Lookups and iteration span several pages (1203 records; the stores page by 500)."""
    ids = [f"I-{i:04}" for i in range(1203)]
    store.put_many([(new(i, xero_invoice_id=f"X{i}"), None) for i in ids])
    assert ids == [r.invoice_id for r in store.iter_records("t1")]  # invoice id order
    assert ids == sorted(store.get_many("t1", ids))
    assert ids == sorted(
        r.invoice_id for r in store.by_xero_ids("t1", [f"X{i}" for i in ids]).values()
    )


def test_by_xero_ids_follows_relinks_and_ties(store: SyncStore) -> None:
    """A record re-linked to another Xero id, or unlinked, is found by its new id only; of
    two records sharing a Xero id the smaller invoice_id wins, then the other once it
    leaves; another tenant's link to the same id is never found."""
    [_, a, _] = store.put_many(
        [
            (new("B", xero_invoice_id="X-1"), None),
            (new("A", xero_invoice_id="X-1"), None),
            (new("A", tenant_id="t2", xero_invoice_id="X-2"), None),
        ]
    )

    def found() -> dict[str, str]:
        return {x: r.invoice_id for x, r in store.by_xero_ids("t1", ["X-1", "X-2"]).items()}

    seen = [found()]
    a = store.put(a.evolve(xero_invoice_id="X-2"), expected_version=a.version)
    seen.append(found())
    store.put(a.evolve(xero_invoice_id=None), expected_version=a.version)
    seen.append(found())
    assert [{"X-1": "A"}, {"X-1": "B", "X-2": "A"}, {"X-1": "B"}] == seen


def test_a_refused_put_many_leaves_the_xero_ids_as_they_were(store: SyncStore) -> None:
    """A batch refused for a version conflict re-links nothing, even the records before the
    conflicting one; a batch that links one record twice keeps the last link."""
    [a, _] = store.put_many([(new("A", xero_invoice_id="X-1"), None), (new("B"), None)])
    with pytest.raises(VersionConflict):
        store.put_many([(a.evolve(xero_invoice_id="X-9"), 1), (new("B"), None)])
    refused = {x: r.invoice_id for x, r in store.by_xero_ids("t1", ["X-1", "X-9"]).items()}
    store.put_many([(a.evolve(xero_invoice_id="X-5"), 1), (a.evolve(xero_invoice_id="X-6"), 2)])
    twice = {x: r.version for x, r in store.by_xero_ids("t1", ["X-1", "X-5", "X-6"]).items()}
    assert ({"X-1": "A"}, {"X-6": 3}) == (refused, twice)


def test_state_strings_filter_like_members(store: SyncStore) -> None:
    """iter_records accepts state values as strings as well as members."""
    store.put(new("A", state=SyncState.FAILED), expected_version=None)
    store.put(new("B"), expected_version=None)
    found = [r.invoice_id for r in store.iter_records("t1", states=["failed"])]  # type: ignore[list-item]
    assert ["A"] == found


def test_conflict_message_says_what_to_do(store: SyncStore) -> None:
    """A VersionConflict names the record and both versions, and says to re-read."""
    store.put(new(), expected_version=None)
    with pytest.raises(VersionConflict) as caught:
        store.put(new(), expected_version=None)
    assert (
        "t1/I-1 changed since it was read (expected version None, found 1); read it again and retry"
    ) == str(caught.value)


def test_decimal_scale_is_kept(store: SyncStore) -> None:
    """A Decimal reads back with its exact digits, trailing zeros included."""
    store.put(new(total=Decimal("10.50"), amount_due=Decimal("1E+3")), expected_version=None)
    read = store.get("t1", "I-1")
    assert ("10.50", "1E+3") == (str(read.total), str(read.amount_due))  # type: ignore[union-attr]


def test_cursor_moves_by_a_microsecond(store: SyncStore) -> None:
    """A cursor one microsecond later replaces the stored one."""
    store.set_cursor("t1", "payments", T0)
    store.set_cursor("t1", "payments", T0 + timedelta(microseconds=1))
    assert T0 + timedelta(microseconds=1) == store.get_cursor("t1", "payments")


@pytest.mark.parametrize("kind", [MemoryStore, SQLiteStore])
def test_repr_is_short(kind: type, tmp_path: Path) -> None:
    """A store's repr names its kind (and file), never record contents."""
    store = kind() if kind is MemoryStore else kind(tmp_path / "a.db")
    with store:
        expected = (
            "MemoryStore(records=0)"
            if kind is MemoryStore
            else f"SQLiteStore({str(tmp_path / 'a.db')!r})"
        )
        assert expected == repr(store)
