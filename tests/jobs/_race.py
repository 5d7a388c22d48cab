"""Worker for the multi-process lease race; a module of its own so spawned children import it."""

from __future__ import annotations

from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from bms_xero.jobs import SQLiteJobStore


def lease_all(
    path: str, worker_id: str, start: Barrier, results: Queue[tuple[str, object]]
) -> None:
    """Lease jobs two at a time until none is left; report the ids leased (or the error)."""
    now = datetime.fromisoformat("2026-01-05T09:00Z")
    leased: list[str] = []
    try:
        with SQLiteJobStore(path, timeout=30) as store:
            start.wait(timeout=60)
            while True:
                jobs = store.lease(worker_id=worker_id, now=now, lease_seconds=600, limit=2)
                if not jobs:
                    break
                leased.extend(job.id for job in jobs)
        results.put(("ok", leased))
    except BaseException as exc:
        results.put(("error", repr(exc)))
