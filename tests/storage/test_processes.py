"""Two processes on one SQLite file: compare-and-swap still lets exactly one win each version."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bms_xero.jobs import SQLiteJobStore
from bms_xero.storage import SQLiteStore, SyncRecord, SyncState
from tests.processes import run_processes
from tests.storage._race import hammer, increment, put_in_child

PROCESSES = 3
INCREMENTS = 25


def test_processes_racing_cas_lose_no_update(tmp_path: Path) -> None:
    """Processes racing CAS on one record each win distinct versions, and the final version
    counts every win."""
    path = tmp_path / "race.db"
    with SQLiteStore(path) as store:
        store.put(
            SyncRecord(
                tenant_id="t1", invoice_id="I-1", invoice_number="INV-1", state=SyncState.PENDING
            ),
            expected_version=None,
        )
    reports, exitcodes = run_processes(
        "spawn", increment, [(str(path), "t1", "I-1", INCREMENTS)] * PROCESSES
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    total = PROCESSES * INCREMENTS
    won = sorted(v for _, versions in reports for v in versions)
    assert list(range(2, total + 2)) == won
    with SQLiteStore(path) as store:
        final = store.get("t1", "I-1")
    assert (total + 1, f"v{total + 1}") == (final.version, final.fingerprint)  # type: ignore[union-attr]
    assert [0] * PROCESSES == exitcodes


def test_two_writers_hammering_one_file_both_get_through(tmp_path: Path) -> None:
    """Two processes writing back to back for seconds, with the default 5 s timeout, never
    get "database is locked", and every write they made is in the file."""
    path = tmp_path / "hammer.db"
    SQLiteStore(path).close()
    SQLiteJobStore(path).close()
    reports, exitcodes = run_processes(
        "spawn", hammer, [(str(path), name, 2000, 2.5) for name in ("a", "b")], timeout=30
    )
    assert [] == [detail for status, detail in reports if status != "ok"]
    written = sorted(i for _, (ids, _) in reports for i in ids)
    with SQLiteStore(path) as store, SQLiteJobStore(path) as jobs:
        stored = sorted(r.invoice_id for r in store.iter_records("t1"))
        queued = sorted(j.invoice_id or "" for j in jobs.list_jobs(limit=10_000))
    assert (written, written, [0, 0]) == (stored, queued, exitcodes)
    assert all(ids for _, (ids, _) in reports), "a writer got nothing written"


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform"
)
def test_store_opened_before_fork_works_in_the_child(tmp_path: Path) -> None:
    """A store opened before a fork (prefork servers) opens its own connections in the child."""
    with SQLiteStore(tmp_path / "fork.db") as store:
        store.put(
            SyncRecord(
                tenant_id="t1", invoice_id="I-1", invoice_number="INV-1", state=SyncState.PENDING
            ),
            expected_version=None,
        )
        [report], [exitcode] = run_processes(
            "fork", put_in_child, [(store,)], barrier=False, timeout=30
        )
        assert (("ok", 2), 0) == (report, exitcode)
        assert 2 == store.get("t1", "I-1").version  # type: ignore[union-attr]
