"""A push, then a pull, through each built-in sync store, side by side: MemoryStore against
SQLiteStore.

Run from the repository root::

    .venv/bin/python benchmarks/store_push.py [--invoices 2000] [--rounds 3]
    .venv/bin/python benchmarks/store_push.py --quick

Each round builds a fresh FakeXero (limits out of the way) and a fresh engine with one
request in flight, pushes the invoices (creates of 50), then runs the first pull, which reads
every one of them back and stores what Xero holds on each record. Prints the median wall time
of each per store and SQLite's ratio to memory; asserts nothing.
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


def one_run(kind: str, invoices: int) -> tuple[float, float]:
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
        max_in_flight=1,
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
    runs = {kind: [one_run(kind, args.invoices) for _ in range(args.rounds)] for kind in KINDS}
    push = {kind: statistics.median(r[0] for r in done) for kind, done in runs.items()}
    pull = {kind: statistics.median(r[1] for r in done) for kind, done in runs.items()}
    print(
        f"push of {args.invoices} invoices, then the first pull reading them back "
        f"(FakeXero in process), median of {args.rounds}\n"
    )
    rows = [
        [
            kind,
            f"{push[kind]:.2f} s",
            f"{push[kind] / push['memory']:.2f}",
            f"{pull[kind]:.2f} s",
            f"{pull[kind] / pull['memory']:.2f}",
        ]
        for kind in KINDS
    ]
    print(c.table(["store", "push", "x memory", "pull", "x memory"], rows))


if __name__ == "__main__":
    main()
