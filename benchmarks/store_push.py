"""A push through each built-in sync store, side by side: MemoryStore against SQLiteStore.

Run from the repository root::

    .venv/bin/python benchmarks/store_push.py [--invoices 2000] [--rounds 3]
    .venv/bin/python benchmarks/store_push.py --quick

Each round builds a fresh FakeXero (limits out of the way) and a fresh engine with one
request in flight, and pushes the invoices (creates of 50). Prints the median wall time per
store and SQLite's ratio to memory; asserts nothing.
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


def one_push(kind: str, invoices: int) -> float:
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
    elapsed = time.perf_counter() - started
    if not all(o.ok for o in outcomes):
        raise SystemExit("a push failed: the figures would mean nothing")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200 invoices, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.rounds = 200, 1
    walls = {
        kind: statistics.median(one_push(kind, args.invoices) for _ in range(args.rounds))
        for kind in ("memory", "sqlite")
    }
    print(f"push of {args.invoices} invoices (FakeXero in process), median of {args.rounds}\n")
    rows = [
        [kind, f"{wall:.2f} s", f"{wall / walls['memory']:.2f}"] for kind, wall in walls.items()
    ]
    print(c.table(["store", "wall time", "x memory"], rows))


if __name__ == "__main__":
    main()
