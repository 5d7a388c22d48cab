"""Four worker processes, one loopback FakeXero, two organisations: one budget each.

Each process runs three threads per organisation calling Xero as fast as its limiter lets
it. With a shared budget (Redis, PostgreSQL) the fake answers no 429 and never has more than
5 requests of an organisation in flight; with a budget per process (the in-process default),
the same load gets 429s. Time runs 10x faster for every process (a 6-second "minute", see
tests/xero/_budget_procs.py); FakeXero's window is 60 s of that clock, so it is Xero's.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from bms_xero.testing import FakeXero, serve
from tests.processes import run_processes
from tests.services import require_postgres, require_redis
from tests.xero._budget_procs import InFlightMeter, ScaledClock, Tally, hammer, tally

PROCESSES = 4
THREADS = 3  # per organisation, per process: 12 callers for 5 slots
SCALE = 10.0
#: The clock seconds a shared run lasts: past two window boundaries (three windows) on
#: Redis, one on PostgreSQL (to keep the suite short).
SHARED_RUN = {"redis": 130.0, "postgres": 70.0}
#: Real latency per request inside the fake (0.1-0.4 s on the clock).
LATENCY = (0.01, 0.04)
#: The most of a request's round trip counted as "it may not have reached Xero yet" (clock
#: seconds, RateLimits.latency_margin): 1 s of real time, for the scheduling delays of 2 busy
#: cores running 5 processes (10 s on this clock; Xero's own default is 1 s of real time).
MARGIN = 10.0


def _budget(kind: str) -> dict[str, Any] | None:
    if kind == "redis":
        return {
            "kind": kind,
            "url": require_redis(),
            "prefix": f"bms_xero_test_procs:{uuid.uuid4().hex}",
        }
    if kind == "postgres":
        from tests.xero.test_budget_servers import _postgres_url

        require_postgres()
        return {"kind": kind, "url": _postgres_url(), "name": f"procs-{uuid.uuid4().hex}"}
    return None


def run(kind: str, duration: float) -> tuple[dict[str, Tally], list[dict[str, Any]], float]:
    """Run the processes on a fresh fake; the fake's tally per tenant, the children's
    reports, and the wall time."""
    clock = ScaledClock(SCALE, time.monotonic(), 1_767_603_600.0)
    meter = InFlightMeter(*LATENCY)
    xero = FakeXero(clock, seed=15, in_flight_hook=meter)
    tenants = [xero.tenant_id, xero.add_tenant("Second Org")]
    budget = _budget(kind)
    with serve(xero) as server:
        spec = {
            "clock": clock.settings(),
            "budget": budget,
            "client_id": xero.client_id,
            "client_secret": xero.client_secret,
            "token_url": server.token_url,
            "api_url": server.api_url,
            "connections_url": server.connections_url,
            "tenants": tenants,
            "threads": THREADS,
            "margin": MARGIN,
            "duration": duration,
        }
        started = time.monotonic()
        reports, codes = run_processes(
            "spawn", hammer, [(spec,) for _ in range(PROCESSES)], timeout=120
        )
        wall = time.monotonic() - started
    assert [0] * PROCESSES == codes
    return {t: tally(xero, meter, t, clock) for t in tenants}, reports, wall


@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_a_shared_budget_keeps_four_processes_inside_xeros_limits(kind, record_property):
    """Through one shared budget: no 429 at all, never more than 5 in flight per
    organisation, at most 60 admitted in any of Xero's minute windows, and the next window
    used as soon as it opened."""
    seen, reports, wall = run(kind, SHARED_RUN[kind])

    record_property("tally", {t[:8]: attrs_dict(v) for t, v in seen.items()})
    record_property("wall_seconds", round(wall, 1))
    for tenant, got in seen.items():
        assert ({}, True, True) == (
            got.refused,
            got.peak_in_flight <= 5,
            got.busiest_window <= 60,
        ), (
            tenant,
            got,
        )
        assert got.admitted > 60, (tenant, got)  # the next window was used too
    assert [{}] * PROCESSES == [r["errors"] for r in reports]


def test_a_budget_per_process_gets_429s():
    """The same four processes, each with its own (in-process) budget: each thinks it may
    send 5 at once and 60 a minute, so Xero refuses some."""
    seen, _reports, _wall = run("in-process", 20.0)

    refused = sum(sum(got.refused.values()) for got in seen.values())
    assert refused > 0, seen


def attrs_dict(tally: Tally) -> dict[str, Any]:
    """A tally as plain values, for the test report."""
    return {
        "admitted": tally.admitted,
        "refused": tally.refused,
        "peak_in_flight": tally.peak_in_flight,
        "busiest_window": tally.busiest_window,
        "busiest_minute": tally.busiest_minute,
        "seconds": round(tally.seconds, 1),
    }
