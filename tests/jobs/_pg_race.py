"""Worker for the PostgreSQL lease race; a module of its own so spawned children import it."""

from __future__ import annotations

from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from bms_xero.jobs import PostgresJobStore

NOW = datetime.fromisoformat("2026-01-05T09:00Z")


def lease_all(
    url: str, schema: str, worker_id: str, start: Barrier, results: Queue[tuple[str, object]]
) -> None:
    """Lease jobs three at a time until none is left, holding every lease; report each batch
    as ``(job id, tenant, kind, work)`` tuples (or the error)."""
    batches: list[list[tuple[str, str, str, str]]] = []
    try:
        with PostgresJobStore(url, schema=schema) as store:
            start.wait(timeout=60)
            while True:
                jobs = store.lease(worker_id=worker_id, now=NOW, lease_seconds=600, limit=3)
                if not jobs:
                    break
                batches.append([(job.id, *job.dedupe_key) for job in jobs])
        results.put(("ok", batches))
    except BaseException as exc:
        results.put(("error", repr(exc)))
