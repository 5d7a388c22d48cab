"""Worker for the multi-process race test; a module of its own so spawned children import it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from bms_xero.errors import VersionConflict
from bms_xero.jobs import SQLiteJobStore
from bms_xero.storage import SQLiteStore, SyncRecord, SyncState

NOW = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


def increment(
    path: str,
    tenant_id: str,
    invoice_id: str,
    times: int,
    start: Barrier,
    results: Queue[tuple[str, object]],
) -> None:
    """Win ``times`` compare-and-swap updates of one record, retrying on conflict; report the
    versions won (or the error) on ``results``."""
    won: list[int] = []
    try:
        with SQLiteStore(path) as store:  # the default timeout: contention must fit in it
            start.wait(timeout=60)
            while len(won) < times:
                current = store.get(tenant_id, invoice_id)
                assert current is not None
                try:
                    stored = store.put(
                        current.evolve(fingerprint=f"v{current.version + 1}"),
                        expected_version=current.version,
                    )
                except VersionConflict:
                    continue
                won.append(stored.version)
        results.put(("ok", won))
    except BaseException as exc:
        results.put(("error", repr(exc)))


def put_in_child(store: object, results: Queue[tuple[str, object]]) -> None:
    """In a forked child, bump the record through the store the parent opened."""
    try:
        assert isinstance(store, SQLiteStore)
        current = store.get("t1", "I-1")
        assert current is not None
        results.put(("ok", store.put(current, expected_version=current.version).version))
    except BaseException as exc:
        results.put(("error", repr(exc)))


def hammer(
    path: str,
    name: str,
    most: int,
    seconds: float,
    start: Barrier,
    results: Queue[tuple[str, object]],
) -> None:
    """Write as fast as possible for ``seconds`` (at most ``most`` writes), with the default
    timeout: a sync record, then a push job for it, each its own transaction; report
    ``("ok", (written ids, longest wait in seconds))`` or the first error."""
    written: list[str] = []
    longest = 0.0
    try:
        with SQLiteStore(path) as store, SQLiteJobStore(path) as jobs:
            start.wait(timeout=60)
            until = time.monotonic() + seconds
            while len(written) < most and time.monotonic() < until:
                invoice_id = f"{name}-{len(written)}"
                began = time.monotonic()
                store.put(
                    SyncRecord(
                        tenant_id="t1",
                        invoice_id=invoice_id,
                        invoice_number=f"INV-{invoice_id}",
                        state=SyncState.PENDING,
                    ),
                    expected_version=None,
                )
                jobs.enqueue_push("t1", invoice_id, now=NOW, invoice_number=f"INV-{invoice_id}")
                longest = max(longest, time.monotonic() - began)
                written.append(invoice_id)
        results.put(("ok", (written, longest)))
    except BaseException as exc:
        results.put(("error", repr(exc)))
