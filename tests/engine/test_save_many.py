"""save_many: a write's links in one transaction, or one by one when someone wrote first."""

from __future__ import annotations

import attrs

from bms_xero.engine._records import save_many
from bms_xero.storage import MemoryStore, SyncRecord, SyncState


class CountingStore(MemoryStore):
    """Counts the transactions a caller asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0

    def put_many(self, records):  # type: ignore[no-untyped-def]
        self.batches += 1
        return super().put_many(records)


def records(store: MemoryStore) -> list[SyncRecord]:
    return [
        store.put(
            SyncRecord(tenant_id="t", invoice_id=f"I-{n}", invoice_number=f"INV-{n}",
                       state=SyncState.PENDING),
            expected_version=None,
        )
        for n in (1, 2, 3)
    ]


def pushed(record: SyncRecord) -> SyncRecord:
    return attrs.evolve(record, state=SyncState.PUSHED)


def test_every_change_goes_in_one_transaction() -> None:
    """Three links, one put_many; a change that changes nothing is not written."""
    store = CountingStore()
    one, two, three = records(store)
    store.batches = 0
    saved = save_many(store, [(one, pushed), (two, lambda r: None), (three, pushed)])
    assert [(SyncState.PUSHED, 2), (SyncState.PENDING, 1), (SyncState.PUSHED, 2)] == [
        (r.state, r.version) for r in saved if isinstance(r, SyncRecord)
    ]
    assert 1 == store.batches


def test_a_record_changed_meanwhile_is_saved_on_its_own_with_both_changes() -> None:
    """Someone else wrote one record first: nothing of the batch was written, and each is
    saved alone, the changed one re-read so that neither write is lost."""
    store = CountingStore()
    one, two, three = records(store)
    store.put(attrs.evolve(two, last_error="theirs"), expected_version=two.version)
    saved = save_many(store, [(one, pushed), (two, pushed), (three, pushed)])
    assert [("I-1", None, 2), ("I-2", "theirs", 3), ("I-3", None, 2)] == [
        (r.invoice_id, r.last_error, r.version) for r in saved if isinstance(r, SyncRecord)
    ]
    assert {SyncState.PUSHED} == {r.state for r in store.iter_records("t")}
