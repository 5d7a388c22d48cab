"""The token refresh race across processes: the child processes and the parent that runs them.

Eight processes share one SQLite token store and call a loopback FakeXero at once, round after
round. Before each round the parent moves every clock (the fake's and the children's) past the
access token's expiry, so each round every process needs a refresh at the same moment. The
clocks are the system clock plus one shared offset, so waits are real (the processes really
wait for each other) while expiry comes on command.
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import attrs
import httpx

from bms_xero.errors import BmsXeroError
from bms_xero.storage import SQLiteTokenStore, StoredToken, TokenSet
from bms_xero.testing import FakeXero, serve
from bms_xero.transport import HttpxTransport
from bms_xero.xero import RefreshTokenAuth, RetryPolicy, XeroClient, exchange_code

CONNECTION = "acme"
#: How far each round moves the clocks: a whole access token lifetime (30 minutes).
ROUND_SECONDS = 1800.0
_WAIT = 120.0  # seconds any barrier or report may take before the race counts as hung


class SharedClock:
    """The system clock, moved forward by an offset that every process shares."""

    def __init__(self, offset: Synchronized[float]) -> None:
        self._offset = offset

    def now(self) -> datetime:
        """The real time plus the offset."""
        return datetime.now(UTC) + timedelta(seconds=self._offset.value)

    def monotonic(self) -> float:
        """``time.monotonic()`` (one clock for every process on the machine) plus the offset."""
        return time.monotonic() + self._offset.value

    def sleep(self, seconds: float) -> None:
        """A real sleep: the other processes are real too."""
        if seconds > 0:
            time.sleep(seconds)


class NoLease:
    """A token store without the refresh lease (compare-and-swap only), over a real one."""

    def __init__(self, store: SQLiteTokenStore) -> None:
        self._store = store

    def load(self, connection_id: str) -> StoredToken | None:
        return self._store.load(connection_id)

    def save(
        self, connection_id: str, token: TokenSet, *, expected_version: int | None
    ) -> StoredToken:
        return self._store.save(connection_id, token, expected_version=expected_version)

    def delete(self, connection_id: str) -> None:
        self._store.delete(connection_id)


def call_in_rounds(
    settings: dict[str, Any],
    offset: Synchronized[float],
    go: Barrier,
    results: Queue[Any],
) -> None:
    """Each round: wait for the others, make ``settings["calls"]`` API calls, wait again.
    Report every call's outcome (``"ok"`` or the error), or the crash."""
    outcomes: list[str] = []
    try:
        with (
            SQLiteTokenStore(settings["db"], timeout=30) as sqlite,
            httpx.Client(timeout=20) as http,
        ):
            store = sqlite if settings["lease"] else NoLease(sqlite)
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


@attrs.frozen(kw_only=True)
class RaceReport:
    """What the race measured.

    Attributes:
        refreshes: Refresh grants Xero answered with new tokens, per round.
        invalid_grant: Token requests Xero refused with ``invalid_grant``.
        calls: API calls made by all processes.
        failed: The calls that raised, as ``"Type: message"``.
        crashes: Processes that crashed or never reported.
    """

    refreshes: list[int]
    invalid_grant: int
    calls: int
    failed: list[str]
    crashes: list[str]


def _token_answers(xero: FakeXero[Any]) -> list[int | None]:
    return [r.status for r in xero.requests if r.api == "identity"]


def race(
    tmp_path: Path,
    *,
    refresh_grace: float,
    lease: bool = True,
    processes: int = 8,
    rounds: int = 6,
    calls: int = 1,
    target: Callable[..., None] = call_in_rounds,
) -> RaceReport:
    """Run ``processes`` children for ``rounds`` expiries against a loopback FakeXero."""
    context = multiprocessing.get_context("spawn")
    offset: Synchronized[float] = context.Value("d", 0.0)  # type: ignore[assignment]
    go = context.Barrier(processes + 1)
    results: Queue[Any] = context.Queue()
    xero = FakeXero(
        SharedClock(offset),
        seed="refresh-race",
        refresh_grace=refresh_grace,
        minute_limit=100_000,
        concurrent_limit=processes * calls + 1,
    )
    db = str(tmp_path / "tokens.db")
    with serve(xero) as server:
        with SQLiteTokenStore(db) as store, httpx.Client() as http:
            exchange_code(
                HttpxTransport(http),
                client_id=xero.client_id,
                client_secret=xero.client_secret,
                code=xero.authorize(),
                redirect_uri="https://bms.example/xero/callback",
                token_url=server.token_url,
                clock=SharedClock(offset),
                store=store,
                connection_id=CONNECTION,
            )
        settings = {
            "db": db,
            "lease": lease,
            "rounds": rounds,
            "calls": calls,
            "client_id": xero.client_id,
            "client_secret": xero.client_secret,
            "token_url": server.token_url,
            "api_url": server.api_url,
            "tenant_id": xero.tenant_id,
        }
        workers = [
            context.Process(target=target, args=(settings, offset, go, results), daemon=True)
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        refreshes: list[int] = []
        seen = len(_token_answers(xero))
        try:
            for _ in range(rounds):
                with offset.get_lock():
                    offset.value += ROUND_SECONDS
                go.wait(timeout=_WAIT)  # the round starts
                go.wait(timeout=_WAIT)  # every process has made its calls
                answers = _token_answers(xero)
                refreshes.append(sum(1 for status in answers[seen:] if status == 200))
                seen = len(answers)
        except Exception:  # a broken barrier: a child crashed; its report says why
            go.abort()
        reports: list[tuple[str, Any]] = []
        for _ in workers:
            try:
                reports.append(results.get(timeout=_WAIT))
            except queue.Empty:
                reports.append(("crash", "no report in time"))
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
                worker.join()
        answers = _token_answers(xero)
    outcomes = [o for status, found in reports if status == "ok" for o in found]
    return RaceReport(
        refreshes=refreshes,
        invalid_grant=sum(1 for status in answers if status == 400),
        calls=len(outcomes),
        failed=[o for o in outcomes if o != "ok"],
        crashes=[found for status, found in reports if status != "ok"],
    )
