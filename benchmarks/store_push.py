"""A push, then a pull, through each built-in sync store, side by side: MemoryStore against
SQLiteStore.

Run from the repository root::

    .venv/bin/python benchmarks/store_push.py [--invoices 2000] [--rounds 3]
    .venv/bin/python benchmarks/store_push.py --quick

Each round builds a fresh FakeXero (limits out of the way) and a fresh engine with one
request in flight, and again with five (the default), pushes the invoices (creates of 50),
then runs the first pull, which reads every one of them back and stores what Xero holds on
each record. The stores take turns round by round, so a machine that slows down during the
run slows both. Prints the median wall time of each per store and SQLite's ratio to memory;
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import _common as c

from bms_xero import SyncEngine
from bms_xero.storage import MemoryStore, SQLiteStore

KINDS = ("memory", "sqlite")
IN_FLIGHT = (1, 5)  # one request at a time, and the engine's default


def one_run(kind: str, invoices: int, in_flight: int) -> tuple[float, float]:
    xero = c.make_fake(unlimited=True)
    [customer] = c.make_customers(xero, 1)
    batch = [c.make_invoice(customer, n) for n in range(1, invoices + 1)]
    store = (
        MemoryStore() if kind == "memory" else SQLiteStore(os.path.join(tempfile.mkdtemp(), "s.db"))
    )
    engine = SyncEngine(
        client=xero.client(limits=c.UNLIMITED),
        store=store,
        tax_map=c.TAX_MAP,
        clock=xero.clock,
        max_in_flight=in_flight,
    )
    started = time.perf_counter()
    outcomes = engine.push_many(batch)
    pushed = time.perf_counter() - started
    if not all(o.ok for o in outcomes):
        raise SystemExit("a push failed: the figures would mean nothing")
    started = time.perf_counter()
    engine.pull()
    return pushed, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 invoices, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.rounds = 200, 1
    settings = [(kind, in_flight) for in_flight in IN_FLIGHT for kind in KINDS]
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {s: [] for s in settings}
    for _ in range(args.rounds):
        for kind, in_flight in settings:
            runs[kind, in_flight].append(one_run(kind, args.invoices, in_flight))
    push = {s: statistics.median(r[0] for r in done) for s, done in runs.items()}
    pull = {s: statistics.median(r[1] for r in done) for s, done in runs.items()}
    print(
        f"push of {args.invoices} invoices, then the first pull reading them back "
        f"(FakeXero in process), median of {args.rounds}, the stores taking turns\n"
    )
    rows = [
        [
            kind,
            in_flight,
            f"{push[kind, in_flight]:.2f} s",
            f"{push[kind, in_flight] / push['memory', in_flight]:.2f}",
            f"{pull[kind, in_flight]:.2f} s",
            f"{pull[kind, in_flight] / pull['memory', in_flight]:.2f}",
        ]
        for kind, in_flight in settings
    ]
    print(c.table(["store", "max_in_flight", "push", "x memory", "pull", "x memory"], rows))


if __name__ == "__main__":
    main()
