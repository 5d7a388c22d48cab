"""The storage contract, run against both built-in stores, and the runner itself."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from bms_xero.errors import VersionConflict
from bms_xero.storage import CreditNoteRecord, CreditNoteStore, MemoryStore, SyncRecord, SyncStore
from bms_xero.storage.contract import (
    CHECKS,
    CREDIT_NOTE_CHECKS,
    ContractCheck,
    run_contract,
    run_credit_note_contract,
)


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_store_keeps_the_contract(check: ContractCheck, store: SyncStore) -> None:
    """Each contract check holds for the built-in store."""
    check(store)


class LastWriterWins(MemoryStore):
    """A broken store: it ignores expected_version, as a naive host implementation might."""

    def put(self, record: SyncRecord, *, expected_version: int | None) -> SyncRecord:
        current = self.get(record.tenant_id, record.invoice_id)
        actual = None if current is None else current.version
        return MemoryStore.put_many(self, [(record, actual)])[0]

    def put_many(self, records: Sequence[tuple[SyncRecord, int | None]]) -> list[SyncRecord]:
        return [self.put(record, expected_version=expected) for record, expected in records]


def test_run_contract_passes_a_correct_store() -> None:
    """run_contract returns quietly for a store that keeps the contract."""
    run_contract(MemoryStore)  # raises AssertionError listing failures otherwise


def test_run_contract_lists_every_failing_check() -> None:
    """run_contract names each check a broken store fails, and only those."""
    # The thread race only sometimes catches a lost update: leave it out to stay deterministic.
    deterministic = [c for c in CHECKS if c.name != "racing_threads_win_each_version_once"]
    with pytest.raises(AssertionError) as caught:
        run_contract(LastWriterWins, checks=deterministic)
    failed = sorted(
        line.split(" ", 2)[1] for line in str(caught.value).splitlines() if line.startswith("- ")
    )
    expected = sorted(
        [
            "insert_twice_conflicts",
            "put_many_is_all_or_nothing",
            "stale_version_conflicts",
            "update_of_missing_record_conflicts",
        ]
    )
    assert expected == failed


def test_checks_have_unique_names_and_descriptions() -> None:
    """Every check has its own name and a one-sentence description."""
    names = [check.name for check in CHECKS]
    assert sorted(set(names)) == sorted(names)
    assert [] == [c.name for c in CHECKS if not c.description.endswith(".")]


def test_conflict_is_raised_not_returned() -> None:
    """A check fails when a store returns from a put it should have refused."""
    check = next(c for c in CHECKS if c.name == "insert_twice_conflicts")
    with pytest.raises(AssertionError, match="expected VersionConflict"):
        check(LastWriterWins())
    assert issubclass(VersionConflict, Exception)


@pytest.mark.parametrize("check", CREDIT_NOTE_CHECKS, ids=str)
def test_store_keeps_the_credit_note_contract(check: ContractCheck, store: SyncStore) -> None:
    """Each credit note contract check holds for the built-in store (it is a CreditNoteStore
    too)."""
    assert isinstance(store, CreditNoteStore)
    check(store)


class CreditNotesLastWriterWins(MemoryStore):
    """A broken credit note store: it ignores expected_version."""

    def put_credit_note(
        self, record: CreditNoteRecord, *, expected_version: int | None
    ) -> CreditNoteRecord:
        current = self.get_credit_note(record.tenant_id, record.credit_note_id)
        actual = None if current is None else current.version
        return MemoryStore.put_credit_note(self, record, expected_version=actual)


def test_run_credit_note_contract_names_the_broken_check() -> None:
    """run_credit_note_contract passes a correct store and names what a broken one breaks."""
    run_credit_note_contract(MemoryStore)
    with pytest.raises(AssertionError) as caught:
        run_credit_note_contract(CreditNotesLastWriterWins)
    failed = [
        line.split(" ", 2)[1] for line in str(caught.value).splitlines() if line.startswith("- ")
    ]
    assert ["credit_note_insert_and_compare_and_swap"] == failed
