"""Requests in flight: a push of N invoices with each request taking L seconds, serial against
up to five at once (``SyncEngine(max_in_flight=)``), side by side in one run.

Run from the repository root::

    .venv/bin/python benchmarks/in_flight.py [--invoices 500] [--latency 0.25] [--rounds 3]
    .venv/bin/python benchmarks/in_flight.py --quick

Each round builds a fresh FakeXero (Xero's limits: 5 in flight, 60 a minute on the fake's
clock, which does not move here, so the minute budget never makes anyone wait) and a fresh
engine, as a newly started process would, and pushes the invoices. Every accounting request
is held ``--latency`` seconds of real time while in flight (the fake's in-flight hook), so
wall time is what a network of that latency costs. Prints the median wall time of each
setting, the requests made, the most in flight seen, and the ratio to serial; asserts
nothing.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import Any

import _common as c

from bms_xero import SyncEngine
from bms_xero.storage import MemoryStore
from bms_xero.testing import InFlightRequest


class Latency:
    """Holds each request ``seconds`` while counting how many are in flight at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()

    def __call__(self, _request: InFlightRequest) -> None:
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        time.sleep(self.seconds)
        with self._lock:
            self._now -= 1


def one_push(invoices: int, latency: float, max_in_flight: int) -> tuple[float, int, int]:
    xero = c.make_fake()
    [customer] = c.make_customers(xero, 1)
    batch = [c.make_invoice(customer, n) for n in range(1, invoices + 1)]
    hold = Latency(latency)
    xero.in_flight_hook = hold
    engine = SyncEngine(
        client=xero.client(),
        store=MemoryStore(),
        tax_map=c.TAX_MAP,
        clock=xero.clock,
        max_in_flight=max_in_flight,
    )
    started = time.perf_counter()
    outcomes = engine.push_many(batch)
    elapsed = time.perf_counter() - started
    if not all(o.ok for o in outcomes):
        raise SystemExit("a push failed: the figures would mean nothing")
    calls = sum(1 for r in xero.requests if r.api == "accounting")
    return elapsed, calls, hold.most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="150 invoices, 0.05 s, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.latency, args.rounds = 150, 0.05, 1
    rows: list[list[Any]] = []
    serial = None
    for limit in (1, 5):
        runs = [one_push(args.invoices, args.latency, limit) for _ in range(args.rounds)]
        wall = statistics.median(r[0] for r in runs)
        serial = serial or wall
        rows.append(
            [
                f"max_in_flight={limit}",
                f"{wall:.2f} s",
                runs[0][1],
                max(r[2] for r in runs),
                f"{wall / serial:.2f}",
            ]
        )
    print(
        f"push of {args.invoices} invoices, {args.latency} s per request, "
        f"median of {args.rounds} rounds\n"
    )
    print(c.table(["setting", "wall time", "requests", "most in flight", "x serial"], rows))


if __name__ == "__main__":
    main()
