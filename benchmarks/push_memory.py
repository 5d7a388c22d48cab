"""Memory: what a push of N invoices costs the engine, for growing N, and what it keeps.

Run from the repository root::

    .venv/bin/python benchmarks/push_memory.py            # 10,000, 50,000, 100,000 (~8 min)
    .venv/bin/python benchmarks/push_memory.py --quick    # 500, a few seconds

**Engine-side memory** means the engine, its client and its sync store, not FakeXero's
holdings and not the ``Invoice`` objects the host built. So each size runs in two processes
of its own: FakeXero (limits out of the way) is served over loopback HTTP by one child
(``--serve``), and another (``--child``) builds the N invoices (the host's part, before the
measurement), opens an engine on an SQLite file store and pushes them, either in one
``push_many`` of all N or in ``push_many`` calls of 1,000 (the outcomes of each counted, then
dropped, as a worker would). The figure is the peak RSS during the push
(``resource.getrusage``, the kernel's high-water mark reset through ``/proc/self/clear_refs``
just before it) minus the RSS when it started, per invoice.

**What it keeps** is found with ``tracemalloc``, in one process with FakeXero in it (tracing
makes a push 10 to 40 times slower, so at a small size): the allocations made during the
push and still alive when the last create request reaches Xero (the push's busiest moment:
every invoice gathered, all but one batch answered), minus those with a FakeXero frame on
their traceback, grouped by the innermost bms_xero line that asked for them.

**MemoryStore** rows: the bytes each held sync record costs (``tracemalloc`` while the pushed
records are put into a fresh MemoryStore) and the time of ``by_xero_ids`` and ``get_many``
for 1,000 ids among N records (best of 5).

Prints Markdown tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import _common as c
from memory import _peak_mb, _reset_peak, _rss_mb, _short

from bms_xero import Customer, SyncEngine
from bms_xero.clock import SystemClock
from bms_xero.storage import MemoryStore, SQLiteStore

CHUNK = 1_000  # invoices per push_many in the chunked runs


# --- the fake, in a process of its own -----------------------------------------------------------


def serve() -> int:
    """The ``--serve`` child: a FakeXero (limits out of the way) with one linked customer."""
    xero = c.make_fake(unlimited=True)
    [customer] = c.make_customers(xero, 1)
    return c.serve_child(xero, contact_id=customer.xero_contact_id)


def remote_engine(fake: dict[str, Any], store: SQLiteStore) -> SyncEngine:
    client = c.remote_client(fake, limits=c.UNLIMITED)
    return SyncEngine(client=client, store=store, tax_map=c.TAX_MAP, clock=SystemClock())


# --- engine-side RSS -----------------------------------------------------------------------------


def child(count: int, chunk: int) -> dict[str, Any]:
    """Push ``count`` invoices to a fake served by another process, ``chunk`` per call."""
    with c.served(__file__) as fake, tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "sync.db", synchronous="NORMAL")
        try:
            engine = remote_engine(fake, store)
            engine.organisation()  # the token and the reference reads are not the push's
            customer = Customer(id="C-1", name="Customer 1", xero_contact_id=fake["contact_id"])
            invoices = c.make_invoices([customer], count)  # the host's, before the push
            gc.collect()
            before = _rss_mb()
            reset = _reset_peak()
            began = time.perf_counter()
            ok = 0
            for start in range(0, count, chunk):
                ok += sum(o.ok for o in engine.push_many(invoices[start : start + chunk]))
            wall = time.perf_counter() - began
            peak = _peak_mb()
        finally:
            store.close()
    return {
        "count": count,
        "chunk": chunk,
        "ok": ok,
        "rss_before_mb": round(before, 1),
        "peak_mb": round(peak, 1),
        "increment_mb": round(peak - before, 1) if reset else None,
        "wall_s": round(wall, 1),
    }


# --- what the push keeps (tracemalloc) -----------------------------------------------------------


def traced(count: int, frames: int) -> dict[str, Any]:
    """Engine-side allocations alive when the last create request reaches the fake."""
    snapshots: list[tracemalloc.Snapshot] = []
    creates = [0]
    last = c.batches(count)

    def hook(request: Any) -> None:
        if request.method == "PUT" and request.path == "/Invoices":
            creates[0] += 1
            if creates[0] == last and tracemalloc.is_tracing():
                snapshots.append(tracemalloc.take_snapshot())

    xero = c.make_fake(unlimited=True)
    xero.in_flight_hook = hook
    customers = c.make_customers(xero, 1)
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "sync.db", synchronous="NORMAL")
        try:
            engine = c.make_engine(xero, store, unlimited=True)
            engine.organisation()
            invoices = c.make_invoices(customers, count)
            gc.collect()
            tracemalloc.start(frames)
            baseline = tracemalloc.take_snapshot()
            outcomes = engine.push_many(invoices)
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
            if not all(o.ok for o in outcomes):
                raise SystemExit("a push failed: the figures would mean nothing")
            per_record = memory_store_bytes(store, xero.tenant_id)
        finally:
            store.close()
    busiest = _engine_side(snapshots[0], baseline) if snapshots else None
    kept = _engine_side(after, baseline)
    return {
        "count": count,
        "busiest": busiest,
        "after": kept,
        "memory_store": per_record,
    }


def _engine_side(snapshot: tracemalloc.Snapshot, baseline: tracemalloc.Snapshot) -> dict[str, Any]:
    """Growth since ``baseline`` outside FakeXero: its total, and its largest lines."""
    sizes: dict[str, list[int]] = {}
    fake = engine = 0
    for stat in snapshot.compare_to(baseline, "traceback"):
        if any("/bms_xero/testing/" in frame.filename for frame in stat.traceback):
            fake += stat.size_diff
            continue
        engine += stat.size_diff
        entry = sizes.setdefault(_where(stat.traceback), [0, 0])
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    ranked = sorted(sizes.items(), key=lambda item: -item[1][0])[:12]
    return {"engine": engine, "fake": fake, "top": [[w, s, n] for w, (s, n) in ranked]}


def _where(traceback: tracemalloc.Traceback) -> str:
    """The innermost bms_xero frame of an allocation (else the innermost frame)."""
    frames = list(reversed(traceback))  # most recent first
    for frame in frames:
        if "/bms_xero/" in frame.filename:
            return f"{_short(frame.filename)}:{frame.lineno}"
    return f"{_short(frames[0].filename)}:{frames[0].lineno}"


# --- MemoryStore ---------------------------------------------------------------------------------


def memory_store_bytes(store: SQLiteStore, tenant_id: str) -> float:
    """Bytes a MemoryStore holds per record: the pushed records, read back from the SQLite
    store and put into a fresh MemoryStore (the records, their values, its dicts and sets)."""
    gc.collect()
    tracemalloc.start(1)
    before = tracemalloc.get_traced_memory()[0]
    records = list(store.iter_records(tenant_id))
    held = MemoryStore()
    held.put_many([(r, None) for r in records])
    count = len(records)
    del records
    gc.collect()
    size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    held.close()
    return size / max(1, count)


def lookups(count: int, asked: int = 1_000, repeat: int = 5) -> dict[str, Any]:
    """``by_xero_ids`` and ``get_many`` of ``asked`` ids among ``count`` records (best of
    ``repeat``, in ms: the machine may be shared)."""
    from bms_xero.storage import SyncRecord, SyncState

    store = MemoryStore()
    store.put_many(
        [
            (
                SyncRecord(
                    tenant_id="t1",
                    invoice_id=f"I-{n}",
                    invoice_number=f"INV-{n:06d}",
                    state=SyncState.PUSHED,
                    xero_invoice_id=f"X-{n}",
                ),
                None,
            )
            for n in range(count)
        ]
    )
    picked = random.Random(7).sample(range(count), min(asked, count))
    xero_ids = [f"X-{n}" for n in picked]
    invoice_ids = [f"I-{n}" for n in picked]

    def best_ms(call: Any) -> float:
        times = []
        for _ in range(repeat):
            began = time.perf_counter()
            call()
            times.append(time.perf_counter() - began)
        return min(times) * 1000

    return {
        "count": count,
        "by_xero_ids": best_ms(lambda: store.by_xero_ids("t1", xero_ids)),
        "get_many": best_ms(lambda: store.get_many("t1", invoice_ids)),
    }


# --- the parent ----------------------------------------------------------------------------------


def _run(*arguments: str) -> dict[str, Any]:
    command = [sys.executable, __file__, *arguments]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="engine-side memory of a push, by invoice count")
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--chunk", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trace", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--frames", type=int, default=12, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    if args.child is not None:
        print(json.dumps(child(args.child, args.chunk or args.child)))
        return 0
    if args.trace is not None:
        print(json.dumps(traced(args.trace, args.frames)))
        return 0

    sizes = [500] if args.quick else [10_000, 50_000, 100_000]
    chunk_size = 250 if args.quick else CHUNK
    traced_size, frames = (50, 6) if args.quick else (2_000, 12)
    rows = []
    for count in sizes:
        for chunk in (count, chunk_size):
            r = _run("--child", str(count), "--chunk", str(chunk))
            increment = r["increment_mb"]
            rows.append(
                [
                    r["count"],
                    "one push_many" if chunk == count else f"push_many per {chunk:,}",
                    r["rss_before_mb"],
                    r["peak_mb"],
                    "n/a" if increment is None else increment,
                    "n/a" if increment is None else f"{increment * 1024 / r['count']:.2f}",
                    r["ok"],
                    r["wall_s"],
                ]
            )
    print("Engine-side memory of a push (FakeXero in another process, SQLite sync store)\n")
    print(
        c.table(
            [
                "invoices",
                "calls",
                "RSS before (MB)",
                "peak RSS in push (MB)",
                "push's increment (MB)",
                "KB per invoice",
                "ok",
                "wall s",
            ],
            rows,
        )
    )

    t = _run("--trace", str(traced_size), "--frames", str(frames))
    for label, part in (("at the last create", t["busiest"]), ("after push_many", t["after"])):
        if part is None:
            continue
        print(
            f"\nUnder tracemalloc, one push_many of {traced_size:,}, {label}: engine-side "
            f"{part['engine'] / traced_size:,.0f} B per invoice (FakeXero's own: "
            f"{part['fake'] / traced_size:,.0f} B). Largest lines:\n"
        )
        print(
            c.table(
                ["allocated at", "B per invoice", "blocks"],
                ([where, round(size / traced_size), count] for where, size, count in part["top"]),
            )
        )
    counts = [1_000, 10_000] if args.quick else [10_000, 100_000]
    print(
        f"\nMemoryStore: {t['memory_store']:,.0f} B per held record (the records a push stored); "
        "lookups of 1,000 ids, best of 5:\n"
    )
    print(
        c.table(
            ["records held", "by_xero_ids ms", "get_many ms"],
            (
                [r["count"], r["by_xero_ids"], r["get_many"]]
                for r in (lookups(count) for count in counts)
            ),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
