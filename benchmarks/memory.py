"""Memory: peak RSS while one pull reads N invoices back from Xero, for growing N.

Run from the repository root::

    .venv/bin/python benchmarks/memory.py [--quick]

Each size runs in its own subprocess (``--child N``) so peaks don't mix. The child pushes N
invoices into FakeXero through the engine (sync records in an SQLite file, so the store's
rows are on disk, not in RSS), lets the clock move on, pays a tenth of them in Xero, and then
runs the first ``engine.pull()``, which reads all N back (the pull cursor starts at the first
create) plus the payments.

FakeXero keeps every invoice in memory (a few KB each), so RSS grows with N before the pull
starts. The figure that matters is the pull's own increment: the peak RSS during the pull
(``resource.getrusage``, with the kernel's high-water mark reset just before the pull via
``/proc/self/clear_refs``) minus the RSS when it started. A second child run of the smallest
size repeats the pull under ``tracemalloc`` and prints the allocations alive at the pull's
busiest point (when the first update reaches the payment sink), by source line.

``--quick`` runs small sizes. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import _common as c

from bms_xero.engine import PaymentUpdate
from bms_xero.storage import SQLiteStore

SEED_CHUNK = 1_000  # invoices built and pushed at a time: the host's list is not kept


def _rss_mb() -> float:
    """The process's resident set now (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark to the current RSS (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class _Snapshot:
    """A PaymentSink that photographs the heap when the first update arrives.

    By then the pull has read every page and loaded the records it will update: its
    busiest moment.
    """

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.snapshot: tracemalloc.Snapshot | None = None
        self.applied = 0

    def apply(self, update: PaymentUpdate) -> None:
        self.applied += 1
        if self.trace and self.snapshot is None:
            self.snapshot = tracemalloc.take_snapshot()


def child(count: int, trace: bool) -> dict[str, Any]:
    xero = c.make_fake(unlimited=True)
    customers = c.make_customers(xero, 1)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "sync.db", synchronous="NORMAL")
        try:
            seeding = c.make_engine(xero, store, unlimited=True)
            for start in range(1, count + 1, SEED_CHUNK):
                size = min(SEED_CHUNK, count + 1 - start)
                invoices = c.make_invoices(customers, size, start=start)
                if not all(o.ok for o in seeding.push_many(invoices)):
                    raise SystemExit("seeding failed")
            del seeding, invoices
            xero.clock.advance(3600)
            for n, stored in enumerate(xero.invoices()):
                if n % 10 == 0:
                    xero.pay(stored["InvoiceID"], amount=Decimal(str(stored["AmountDue"])))
            xero.clock.advance(60)
            sink = _Snapshot(trace)
            engine = c.make_engine(xero, store, unlimited=True, payment_sink=sink)
            engine.organisation()  # the token and the reference reads are not the pull's
            gc.collect()
            if trace:
                tracemalloc.start(12)
                baseline = tracemalloc.take_snapshot()
            before = _rss_mb()
            reset = _reset_peak()
            began = time.perf_counter()
            updates = engine.pull()
            wall = time.perf_counter() - began
            peak = _peak_mb()
            result: dict[str, Any] = {
                "count": count,
                "rss_before_mb": round(before, 1),
                "peak_mb": round(peak, 1),
                "increment_mb": round(peak - before, 1) if reset else None,
                "updates": len(updates),
                "pages": c.reads(xero.requests, "/Invoices", "/Payments"),
                "wall_s": round(wall, 2),
            }
            if trace:
                traced_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                result["traced_peak_mb"] = round(traced_peak / 2**20, 1)
                if sink.snapshot is not None:
                    result["top"] = _top(sink.snapshot, baseline)
            return result
        finally:
            store.close()


def _top(snapshot: tracemalloc.Snapshot, baseline: tracemalloc.Snapshot) -> list[str]:
    """Growth since ``baseline``, grouped by the innermost bms_xero line that asked for it."""
    sizes: dict[str, list[int]] = {}
    for stat in snapshot.compare_to(baseline, "traceback"):
        entry = sizes.setdefault(_where(stat.traceback), [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    ranked = sorted(sizes.items(), key=lambda item: -item[1][0])[:8]
    return [
        f"{size / 2**20:7.2f} MB  {count:>8,} blocks  {where}" for where, (size, count) in ranked
    ]


def _where(traceback: tracemalloc.Traceback) -> str:
    """The innermost bms_xero frame of an allocation (else the innermost frame)."""
    frames = list(reversed(traceback))  # most recent first
    for frame in frames:
        if "bms_xero" in frame.filename and "/testing/" not in frame.filename:
            return f"{_short(frame.filename)}:{frame.lineno}"
    return f"{_short(frames[0].filename)}:{frames[0].lineno}"


def _short(filename: str) -> str:
    marker = "bms_xero/"
    return filename[filename.index(marker) :] if marker in filename else Path(filename).name


def _run_child(count: int, *, trace: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(count)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child for {count:,} invoices failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="peak RSS of a pull, by invoice count")
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.trace)))
        return 0

    sizes = [500, 1_500] if args.quick else [10_000, 50_000, 100_000]
    traced_size = 200 if args.quick else 2_000  # tracemalloc makes the pull ~10x slower
    results = [_run_child(n) for n in sizes]
    print("Memory of one pull reading every invoice back (each size in its own process)\n")
    print(
        c.table(
            [
                "invoices pulled",
                "pages read",
                "RSS before pull (MB)",
                "peak RSS in pull (MB)",
                "pull's increment (MB)",
                "KB per invoice",
                "updates",
                "wall s",
            ],
            (
                [
                    r["count"],
                    r["pages"],
                    r["rss_before_mb"],
                    r["peak_mb"],
                    "n/a" if r["increment_mb"] is None else r["increment_mb"],
                    "n/a"
                    if r["increment_mb"] is None
                    else f"{r['increment_mb'] * 1024 / r['count']:.2f}",
                    r["updates"],
                    r["wall_s"],
                ]
                for r in results
            ),
        )
    )
    traced = _run_child(traced_size, trace=True)
    print(
        f"\nUnder tracemalloc ({traced_size:,} invoices): traced peak "
        f"{traced['traced_peak_mb']} MB. Allocations alive when the first update reached the "
        "sink, by line:\n"
    )
    for line in traced.get("top", []):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
