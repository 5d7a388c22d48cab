"""Two processes on one SQLite file: compare-and-swap still lets exactly one win each version."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from bms_xero.storage import SQLiteStore, SyncRecord, SyncState
from tests.processes import run_processes
from tests.storage._race import increment, put_in_child

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
