"""Processes hammering one loopback FakeXero: the children, their clock, and the tally.

Every process (the fake's and the workers') runs on a :class:`ScaledClock`: the machine's
monotonic clock, which every process shares, run ``scale`` times faster from one origin. So
Xero's 60-second window passes in 60/scale real seconds, the fake's window, its
``Retry-After`` and the limiters' waits all agree, and the waits are real (the processes
really race each other).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import attrs

from bms_xero.errors import BmsXeroError
from bms_xero.testing import FakeXero
from bms_xero.testing._fake import InFlightRequest
from bms_xero.xero import RateBudgetBackend, RateLimits, XeroClient


class ScaledClock:
    """The shared monotonic clock, ``scale`` times faster than real time, from ``origin``.

    Args:
        scale: How many clock seconds pass per real second.
        origin: ``time.monotonic()`` when the clock read 0 (the same in every process).
        epoch: What ``now()`` says at 0 (epoch seconds).
    """

    def __init__(self, scale: float, origin: float, epoch: float) -> None:
        self.scale, self.origin, self.epoch = scale, origin, epoch

    def monotonic(self) -> float:
        """Clock seconds since the origin."""
        return (time.monotonic() - self.origin) * self.scale

    def now(self) -> datetime:
        """The clock's time of day."""
        return datetime.fromtimestamp(self.epoch + self.monotonic(), UTC)

    def sleep(self, seconds: float) -> None:
        """A real sleep, ``scale`` times shorter."""
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def settings(self) -> dict[str, float]:
        """What a child needs to build the same clock."""
        return {"scale": self.scale, "origin": self.origin, "epoch": self.epoch}


class InFlightMeter:
    """FakeXero's in-flight hook: holds each request for a random real latency and records the
    most requests each tenant had inside the fake at once."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = low, high
        self._lock = threading.Lock()
        self._now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()

    def __call__(self, request: InFlightRequest) -> None:
        with self._lock:
            self._now[request.tenant_id] += 1
            self.peak[request.tenant_id] = max(
                self.peak[request.tenant_id], self._now[request.tenant_id]
            )
        try:
            time.sleep(random.uniform(self.low, self.high))
        finally:
            with self._lock:
                self._now[request.tenant_id] -= 1


def make_budget(spec: dict[str, Any] | None) -> RateBudgetBackend | None:
    """The shared budget a child uses (``None``: each process its own, the default)."""
    if spec is None:
        return None
    if spec["kind"] == "redis":
        from bms_xero.xero import RedisRateBudget

        return RedisRateBudget.from_url(spec["url"], prefix=spec["prefix"])
    from bms_xero.xero import PostgresRateBudget

    return PostgresRateBudget(spec["url"], name=spec["name"])


def hammer(spec: dict[str, Any], barrier: Any, results: Any) -> None:
    """A child: ``threads`` threads per tenant call GET /Organisation for ``duration`` clock
    seconds from the barrier (stopping early when the limiter says the next call would wait
    past the end)."""
    clock = ScaledClock(**spec["clock"])
    budget = make_budget(spec["budget"])
    client = XeroClient.from_client_credentials(
        spec["client_id"],
        spec["client_secret"],
        clock=clock,
        token_url=spec["token_url"],
        api_url=spec["api_url"],
        connections_url=spec["connections_url"],
        limits=RateLimits(latency_margin=spec["margin"]),
        rate_budget=budget,
    )
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def work(tenant: str) -> None:
        mine = client.with_tenant(tenant)
        while clock.monotonic() + client.limiter.wait_seconds(tenant) < until:
            try:
                mine.get_organisation()
                outcome = None
            except BmsXeroError as e:
                outcome = type(e).__name__
            with lock:
                if outcome is None:
                    calls[tenant] += 1
                else:
                    errors[outcome] += 1

    barrier.wait(timeout=120)
    until = clock.monotonic() + spec["duration"]  # every child passes the barrier together
    threads = [
        threading.Thread(target=work, args=(tenant,), daemon=True)
        for tenant in spec["tenants"]
        for _ in range(spec["threads"])
    ]
    for thread in threads:
        thread.start()
    # A thread that got in line just before the end may wait a whole window for its turn:
    # don't wait for it (the process exits under it; its slot lease runs out).
    end = time.monotonic() + spec["duration"] / clock.scale + 1.0
    for thread in threads:
        thread.join(timeout=max(0.0, end - time.monotonic()))
    with lock:
        report = {"calls": dict(calls), "errors": dict(errors)}
    results.put(report)


@attrs.frozen
class Tally:
    """What the fake saw of one tenant."""

    admitted: int
    refused: dict[str, int]
    peak_in_flight: int
    busiest_window: int  # the most admitted in one of Xero's fixed minute windows
    busiest_minute: int  # the most admitted in any 60 s (arrival times), for the figures
    seconds: float


def tally(xero: FakeXero[Any], meter: InFlightMeter, tenant: str, clock: ScaledClock) -> Tally:
    """The tenant's accounting requests as the fake answered them."""
    seen = [r for r in xero.requests if r.api == "accounting" and r.tenant_id == tenant]
    refused = Counter(
        r.response_headers.get("x-rate-limit-problem", "?") for r in seen if r.status == 429
    )
    arrivals = sorted(r.at.timestamp() - clock.epoch for r in seen if r.status != 429)
    busiest, opened, count = 0, None, 0
    for at in arrivals:  # Xero's fixed windows: one opens with the first call after the last
        if opened is None or at >= opened + 60.0:
            opened, count = at, 0
        count += 1
        busiest = max(busiest, count)
    sliding, start = 0, 0
    for end, at in enumerate(arrivals):  # the most in any 60 s, for the figures
        while arrivals[start] <= at - 60.0:
            start += 1
        sliding = max(sliding, end - start + 1)
    span = arrivals[-1] - arrivals[0] if arrivals else 0.0
    return Tally(len(arrivals), dict(refused), meter.peak[tenant], busiest, sliding, span)
