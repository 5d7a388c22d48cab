"""Worker for the multi-process race test; a module of its own so spawned children import it."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from bms_xero.errors import VersionConflict
from bms_xero.storage import SQLiteStore


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
        with SQLiteStore(path, timeout=30) as store:
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
