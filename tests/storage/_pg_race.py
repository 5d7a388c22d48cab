"""Child processes for the PostgreSQL store races; a module of its own so spawned children
import it (and only it: no test module runs twice)."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier
from typing import Any

import httpx

from bms_xero.errors import BmsXeroError, VersionConflict
from bms_xero.storage import PostgresStore, PostgresTokenStore, SQLiteTokenStore, TokenSet
from bms_xero.transport import HttpxTransport
from bms_xero.xero import RefreshTokenAuth, RetryPolicy, XeroClient
from tests.xero._refresh_race import _WAIT, CONNECTION, SharedClock


def refresh_in_rounds(
    url: str,
    schema: str,
    settings: dict[str, Any],
    offset: Synchronized[float],
    go: Barrier,
    results: Queue[Any],
) -> None:
    """``tests.xero._refresh_race.call_in_rounds`` over one PostgreSQL token store.

    The race's parent authorises into a SQLite file (``settings["db"]``); before the first
    round every child copies those tokens into the PostgreSQL store with
    ``expected_version=None``, so exactly one copy lands and the others conflict, which is
    fine: from then on every process refreshes through PostgreSQL only.
    """
    outcomes: list[str] = []
    try:
        with (
            PostgresTokenStore(url, schema=schema) as store,
            httpx.Client(timeout=20) as http,
        ):
            with SQLiteTokenStore(settings["db"], timeout=30) as seed:
                first = seed.load(CONNECTION)
            assert first is not None
            with contextlib.suppress(VersionConflict):  # another child copied them first
                store.save(CONNECTION, first.token, expected_version=None)
            client = XeroClient(
                HttpxTransport(http),
                auth=RefreshTokenAuth(
                    settings["client_id"],
                    settings["client_secret"],
                    store,
                    connection_id=CONNECTION,
                    token_url=settings["token_url"],
                ),
                tenant_id=settings["tenant_id"],
                base_url=settings["api_url"],
                clock=SharedClock(offset),
                retry=RetryPolicy.none(),
            )
            for _ in range(settings["rounds"]):
                go.wait(timeout=_WAIT)
                for _ in range(settings["calls"]):
                    try:
                        client.get_organisation()
                        outcomes.append("ok")
                    except BmsXeroError as e:
                        outcomes.append(f"{type(e).__name__}: {e}")
                go.wait(timeout=_WAIT)
        results.put(("ok", outcomes))
    except BaseException as e:  # reported to the parent, which fails the test
        results.put(("crash", f"{type(e).__name__}: {e}"))


def claim_lease(
    url: str, schema: str, name: str, start: Barrier, results: Queue[tuple[str, object]]
) -> None:
    """Claim the refresh lease of "conn" once, together with the others; report whether it
    was granted (or the error)."""
    try:
        with PostgresTokenStore(url, schema=schema) as store:
            start.wait(timeout=60)
            granted = store.acquire_refresh_lease(
                "conn", holder=name, now=datetime(2026, 1, 5, 9, 0, tzinfo=UTC), seconds=30
            )
        results.put(("ok", granted))
    except BaseException as exc:
        results.put(("error", repr(exc)))


def rotate(
    url: str, schema: str, name: str, times: int, start: Barrier, results: Queue[tuple[str, object]]
) -> None:
    """Win ``times`` compare-and-swap saves of one connection's tokens, re-reading on
    conflict; report the versions won (or the error)."""
    won: list[int] = []
    try:
        with PostgresTokenStore(url, schema=schema) as store:
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


def increment(
    url: str,
    schema: str,
    times: int,
    start: Barrier,
    results: Queue[tuple[str, object]],
) -> None:
    """Win ``times`` compare-and-swap updates of record t1/I-1, retrying on conflict."""
    won: list[int] = []
    try:
        with PostgresStore(url, schema=schema) as store:
            start.wait(timeout=60)
            while len(won) < times:
                current = store.get("t1", "I-1")
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
    """In a forked child, bump record t1/I-1 through the store the parent opened."""
    try:
        assert isinstance(store, PostgresStore)
        current = store.get("t1", "I-1")
        assert current is not None
        results.put(("ok", store.put(current, expected_version=current.version).version))
    except BaseException as exc:
        results.put(("error", repr(exc)))
