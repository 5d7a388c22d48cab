"""Worker for the multi-process token race; a module of its own so spawned children import it."""

from __future__ import annotations

from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from bms_xero.errors import VersionConflict
from bms_xero.storage._tokens import SQLiteTokenStore, TokenSet


def rotate(path: str, name: str, times: int, start: Barrier, results: Queue) -> None:
    """Win ``times`` compare-and-swap saves of one connection's tokens, re-reading on conflict;
    report the versions won (or the error) on ``results``."""
    won: list[int] = []
    try:
        with SQLiteTokenStore(path, timeout=30) as store:
            start.wait(timeout=60)
            while len(won) < times:
                current = store.load("conn")
                assert current is not None
                token = TokenSet(
                    access_token=f"{name}-{len(won)}",
                    refresh_token=f"{name}-refresh-{len(won)}",
                    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
                )
                try:
                    stored = store.save("conn", token, expected_version=current.version)
                except VersionConflict:
                    continue
                won.append(stored.version)
        results.put(("ok", won))
    except BaseException as exc:
        results.put(("error", repr(exc)))


def save_in_child(store: SQLiteTokenStore, results: Queue) -> None:
    """Use a store opened before the fork; report the version saved (or the error)."""
    try:
        current = store.load("conn")
        assert current is not None
        stored = store.save("conn", current.token, expected_version=current.version)
        results.put(("ok", stored.version))
    except BaseException as exc:
        results.put(("error", repr(exc)))


def claim_lease(path: str, name: str, start: Barrier, results: Queue) -> None:
    """Claim the refresh lease of "conn" once, together with the others; report whether it
    was granted (or the error)."""
    try:
        with SQLiteTokenStore(path, timeout=30) as store:
            start.wait(timeout=60)
            granted = store.acquire_refresh_lease(
                "conn", holder=name, now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), seconds=30
            )
        results.put(("ok", granted))
    except BaseException as exc:
        results.put(("error", repr(exc)))
