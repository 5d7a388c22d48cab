"""The job store contract, run against both built-in stores, and the runner itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bms_xero.jobs import Job, JobStore, MemoryJobStore, SQLiteJobStore
from bms_xero.jobs import _transitions as t
from bms_xero.jobs.contract import CHECKS, ContractCheck, run_contract
from tests.jobs._race import lease_all
from tests.processes import run_processes


@pytest.mark.parametrize("check", CHECKS, ids=str)
def test_job_store_keeps_the_contract(check: ContractCheck, jobs: JobStore) -> None:
    """Each contract check holds for the built-in store."""
    check(jobs)


class ForgivingStore(MemoryJobStore):
    """A broken store: it lets a worker complete a job after its lease ran out."""

    def complete(self, job: Job, *, now: datetime, invoice_number: str | None = None) -> Job:
        stored = self.get(job.id)
        assert stored is not None
        held = stored.evolve(lease_until=now.replace(year=now.year + 1))
        done = t.completed(held, now=now, invoice_number=invoice_number)
        return self._replace(done)

    def _replace(self, job: Job) -> Job:
        """Store ``job`` as it is, no questions asked."""
        with self._lock:
            self._put(job)
        return job


def test_run_contract_passes_a_correct_store() -> None:
    """run_contract returns quietly for a store that keeps the contract."""
    run_contract(MemoryJobStore)


def test_run_contract_names_the_broken_behaviours() -> None:
    """run_contract lists each check a broken store fails, and only those."""
    deterministic = [c for c in CHECKS if c.name != "racing_workers_lease_each_job_once"]
    with pytest.raises(AssertionError) as caught:
        run_contract(ForgivingStore, checks=deterministic)
    failed = sorted(
        line.split(" ", 2)[1] for line in str(caught.value).splitlines() if line.startswith("- ")
    )
    expected = sorted(
        [
            "cancel_stops_a_job",
            "expired_lease_is_taken_over",
            "outcome_after_expiry_is_refused",
            # its complete() also leaves the failed jobs of the same work listed as failed
            "success_supersedes_failed_jobs_of_the_same_work",
        ]
    )
    assert expected == failed


def test_checks_have_unique_names_and_descriptions() -> None:
    """Every check has its own name and a one-sentence description."""
    names = [check.name for check in CHECKS]
    assert sorted(set(names)) == sorted(names)
    assert [] == [c.name for c in CHECKS if not c.description.endswith(".")]


def test_processes_racing_on_one_file_lease_each_job_once(tmp_path: Path) -> None:
    """Worker processes leasing from one SQLite file never lease the same job twice."""
    path = tmp_path / "jobs.db"
    total, processes = 60, 3
    with SQLiteJobStore(path) as store:
        for n in range(total):
            store.enqueue_push("t1", f"I-{n}", now=datetime.fromisoformat("2026-01-05T09:00Z"))
    reports, _ = run_processes("spawn", lease_all, [(str(path), f"w{i}") for i in range(processes)])
    assert [] == [detail for status, detail in reports if status != "ok"]
    leased = [job_id for _, ids in reports for job_id in ids]  # type: ignore[attr-defined]
    assert total == len(leased)
    assert total == len(set(leased))
