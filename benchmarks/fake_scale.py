"""FakeXero at scale: what one read costs as the fake fills up, 100,000 invoices pushed and
pulled back through it, and the memory each invoice it holds takes.

Run from the repository root::

    .venv/bin/python benchmarks/fake_scale.py [--quick]

One FakeXero (limits out of the way, 100 customers, ``_common``'s three-line invoice) is
filled through ``SyncEngine.push_many``, 1,000 invoices a call. Four tables:

- **One read, by invoices held.** At each size (1,000, 10,000 and 100,000 held) the same
  reads go straight to the fake's request handler (``FakeXero.handle``: no client, no
  HTTP), with pages of 100, timed in thread CPU time (the median of 7: other processes on a
  shared machine then do not count): a changed-since page as a pull asks for it
  (``If-Modified-Since`` half-way through what is held, ``where=Type=="ACCREC"``,
  ``order=UpdatedDateUTC ASC``), the middle page by page number, and ``where`` lookups by
  InvoiceNumber, Contact.ContactID (a customer holds a hundredth of the invoices, so its
  page fills up to 100 by 10,000) and Status. A flat column is a read that costs its page,
  not what the fake holds.
- **Push and pull.** The whole push (the reads above not counted), then the first
  ``engine.pull()`` of a fresh engine an hour later, which reads every invoice back: wall
  time of each, and the fake's share, the CPU time spent inside ``FakeXero.handle`` (thread
  CPU time, so waiting on the fake's lock or for the GIL is not counted; the engine is the
  rest).
- **Memory per invoice held.** A second fake, N invoices pushed the same way: the bytes
  reachable from the FakeXero object (``sys.getsizeof`` over its object graph, each object
  once; classes, functions and modules not counted) before and after, per invoice. Right
  after the push that includes the replies it keeps for idempotency keys (6 minutes on its
  clock) and its request log; the organisation alone is what stays once those are gone.
  The update-order indexes (``_index.py``) are shown apart: what the organisation holds
  less what it would without them.

- **The same push and pull with FakeXero in a process of its own**, reached over loopback
  HTTP (``--served`` runs only this): the fake's CPU then runs beside the engine's on the
  other core, as a real Xero's runs on its own machines.

``--quick`` holds 500 and 2,000 invoices, measures memory on 500, and pushes 2,000 to the
served fake. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import threading
import time
import types
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

import _common as c
import attrs

from bms_xero import Customer, SyncEngine
from bms_xero.clock import SystemClock
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeRequest, FakeXero, Reply

CHUNK = 1_000  # invoices per push_many call
CUSTOMERS = 100
PAGE = 100  # records per page in the per-read table
ROUNDS = 7


class HandleTimer:
    """Wraps ``FakeXero.handle``: sums the CPU time each calling thread spends inside it, and
    keeps an accounting request's headers to send the per-read table's requests with."""

    def __init__(self, xero: FakeXero[Any]) -> None:
        self.cpu = 0.0
        self.calls = 0
        self.headers: dict[str, str] = {}
        self._inner = xero.handle
        self._lock = threading.Lock()
        xero.handle = self  # type: ignore[method-assign]

    def __call__(self, call: FakeRequest, *, host: str | None = None) -> Reply:
        began = time.thread_time()
        try:
            return self._inner(call, host=host)
        finally:
            spent = time.thread_time() - began
            with self._lock:
                self.cpu += spent
                self.calls += 1
                if "xero-tenant-id" in call.headers:
                    self.headers = dict(call.headers)

    def reset(self) -> None:
        with self._lock:
            self.cpu, self.calls = 0.0, 0


def _get(
    timer: HandleTimer, path: str, params: dict[str, str], since: str | None = None
) -> FakeRequest:
    headers = {k: v for k, v in timer.headers.items() if k in ("authorization", "xero-tenant-id")}
    headers["accept"] = "application/json"
    if since is not None:
        headers["if-modified-since"] = since
    return FakeRequest(
        method="GET",
        path=f"/api.xro/2.0{path}",
        query={k.casefold(): v for k, v in params.items()},
        raw_query=urllib.parse.urlencode(params),
        headers=headers,
        body=b"",
    )


def _median_ms(handle: Callable[[FakeRequest], Reply], call: FakeRequest) -> float:
    times = []
    for _ in range(ROUNDS):
        began = time.thread_time()
        reply = handle(call)
        times.append(time.thread_time() - began)
        if reply.status != 200:
            raise SystemExit(f"{call.path}?{call.raw_query} answered {reply.status}")
    return statistics.median(times) * 1000


def reads(xero: FakeXero[Any], timer: HandleTimer, held: int) -> list[Any]:
    """One row of the per-read table: each read's median wall time on the handler, in ms."""
    inner = timer._inner
    one = {"order": "UpdatedDateUTC ASC", "page": str(held // 2), "pageSize": "1"}
    [middle] = json.loads(inner(_get(timer, "/Invoices", one)).body)["Invoices"]
    stamp = int(middle["UpdatedDateUTC"][6:-2]) / 1000
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
    paged = {"page": "1", "pageSize": str(PAGE), "unitdp": "4"}
    calls = {
        "changed-since page": _get(
            timer,
            "/Invoices",
            {"where": 'Type=="ACCREC"', "order": "UpdatedDateUTC ASC", **paged},
            since,
        ),
        "middle page by number": _get(
            timer,
            "/Invoices",
            {"order": "UpdatedDateUTC ASC", **paged, "page": str(max(1, held // PAGE // 2))},
        ),
        "where InvoiceNumber": _get(
            timer, "/Invoices", {"where": f'InvoiceNumber=="{middle["InvoiceNumber"]}"', **paged}
        ),
        "where Contact.ContactID": _get(
            timer,
            "/Invoices",
            {"where": f'Contact.ContactID==Guid("{middle["Contact"]["ContactID"]}")', **paged},
        ),
        "where Status": _get(timer, "/Invoices", {"where": 'Status=="AUTHORISED"', **paged}),
    }
    return [held, *(f"{_median_ms(inner, call):.2f}" for call in calls.values())]


def run(sizes: list[int]) -> tuple[list[list[Any]], list[list[Any]]]:
    xero = c.make_fake(unlimited=True)
    timer = HandleTimer(xero)
    customers = c.make_customers(xero, CUSTOMERS)
    engine = c.make_engine(xero, unlimited=True)
    read_rows: list[list[Any]] = []
    push_wall = push_cpu = 0.0
    held = 0
    for size in sizes:
        while held < size:
            count = min(CHUNK, size - held)
            batch = c.make_invoices(customers, count, start=held + 1)
            timer.reset()
            began = time.perf_counter()
            outcomes = engine.push_many(batch)
            push_wall += time.perf_counter() - began
            push_cpu += timer.cpu
            if not all(o.ok for o in outcomes):
                raise SystemExit("a push failed: the figures would mean nothing")
            held += count
        read_rows.append(reads(xero, timer, held))
    del engine, batch
    xero.clock.advance(3600)
    puller = c.make_engine(xero, unlimited=True)
    puller.organisation()  # the token and reference reads are not the pull's
    gc.collect()
    before = len(xero.requests)
    timer.reset()
    began = time.perf_counter()
    puller.pull()
    pull_wall = time.perf_counter() - began
    pull_cpu = timer.cpu
    pages = sum(1 for r in xero.requests[before:] if r.method == "GET")
    phases = [
        [
            f"push {held:,} invoices",
            f"{push_wall:.1f}",
            f"{push_cpu:.1f}",
            f"{held / push_wall:,.0f}",
        ],
        [
            f"pull them back ({pages} pages)",
            f"{pull_wall:.1f}",
            f"{pull_cpu:.1f}",
            f"{held / pull_wall:,.0f}",
        ],
        ["both", f"{push_wall + pull_wall:.1f}", f"{push_cpu + pull_cpu:.1f}", ""],
    ]
    return read_rows, phases


# What a walk of the fake's data stops at: code and types are shared with everything else.
_OPAQUE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.CodeType,
)


def reachable_bytes(root: object, leave_out: Iterable[object] = ()) -> int:
    """``sys.getsizeof`` summed over every object reachable from ``root`` (each once),
    without going through ``leave_out``."""
    seen = {id(x) for x in leave_out}
    stack, total = [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def memory(count: int) -> list[list[Any]]:
    xero = c.make_fake(unlimited=True)
    customers = c.make_customers(xero, CUSTOMERS)
    engine = c.make_engine(xero, unlimited=True)
    engine.organisation()
    base = reachable_bytes(xero)
    for start in range(1, count + 1, CHUNK):
        batch = c.make_invoices(customers, min(CHUNK, count + 1 - start), start=start)
        if not all(o.ok for o in engine.push_many(batch)):
            raise SystemExit("a push failed: the figures would mean nothing")
    after_push = reachable_bytes(xero)
    # Past the idempotency keys' 6 minutes, one more write sweeps them; the log is cleared.
    xero.clock.advance(361)
    if not all(o.ok for o in engine.push_many(c.make_invoices(customers, 1, start=count + 1))):
        raise SystemExit("a push failed: the figures would mean nothing")
    xero.clear_requests()
    settled = reachable_bytes(xero)
    [org] = xero._orgs.values()  # the benchmark looks inside: no public handle on this
    orders = [getattr(org, a.name) for a in attrs.fields(type(org)) if a.name.endswith("_order")]
    index = reachable_bytes(org) - reachable_bytes(org, leave_out=orders)
    held = count + 1
    return [
        ["FakeXero right after the push", f"{(after_push - base) / held:,.0f}"],
        ["the fake once keys expired and the log is cleared", f"{(settled - base) / held:,.0f}"],
        ["of which the update-order indexes", f"{index / held:,.0f}"],
    ]


def serve() -> int:
    """The ``--serve`` child: the same organisation in a FakeXero of its own."""
    xero = c.make_fake(unlimited=True)
    customers = c.make_customers(xero, CUSTOMERS)
    return c.serve_child(xero, contacts=[k.xero_contact_id for k in customers])


def served(count: int) -> list[list[Any]]:
    """The push and the pull, with FakeXero answering from a process of its own over
    loopback HTTP: wall time of each (the fake's CPU is in the other process)."""
    with c.served(__file__) as fake:
        customers = [
            Customer(id=f"C-{n}", name=f"Customer {n}", xero_contact_id=contact)
            for n, contact in enumerate(fake["contacts"], start=1)
        ]

        def engine() -> SyncEngine:
            client = c.remote_client(fake, limits=c.UNLIMITED)
            made = SyncEngine(
                client=client, store=MemoryStore(), tax_map=c.TAX_MAP, clock=SystemClock()
            )
            made.organisation()  # the token and reference reads are not the push's
            return made

        pusher = engine()
        push_wall = 0.0
        for start in range(1, count + 1, CHUNK):
            batch = c.make_invoices(customers, min(CHUNK, count + 1 - start), start=start)
            began = time.perf_counter()
            outcomes = pusher.push_many(batch)
            push_wall += time.perf_counter() - began
            if not all(o.ok for o in outcomes):
                raise SystemExit("a push failed: the figures would mean nothing")
        puller = engine()
        gc.collect()
        began = time.perf_counter()
        puller.pull()
        pull_wall = time.perf_counter() - began
    return [
        [f"push {count:,} invoices", f"{push_wall:.1f}", f"{count / push_wall:,.0f}"],
        ["pull them back", f"{pull_wall:.1f}", f"{count / pull_wall:,.0f}"],
        ["both", f"{push_wall + pull_wall:.1f}", ""],
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="500 and 2,000 invoices held")
    parser.add_argument(
        "--served", action="store_true", help="only the push and pull, FakeXero in its own process"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve()
    served_count = 2_000 if args.quick else 100_000
    served_title = "\nThe same push and pull, FakeXero in a process of its own (loopback HTTP)\n"
    if args.served:
        print(served_title)
        print(c.table(["phase", "wall s", "invoices / s"], served(served_count)))
        return 0

    sizes = [500, 2_000] if args.quick else [1_000, 10_000, 100_000]
    read_rows, phases = run(sizes)
    print(
        f"One read on FakeXero.handle, by invoices held (ms, median of {ROUNDS}; {PAGE} a page)\n"
    )
    print(
        c.table(
            [
                "invoices held",
                "changed-since page",
                "middle page by number",
                "where InvoiceNumber",
                "where Contact.ContactID",
                "where Status",
            ],
            read_rows,
        )
    )
    print("\nPush and pull through SyncEngine (limits off)\n")
    print(c.table(["phase", "wall s", "FakeXero CPU s", "invoices / s"], phases))
    print(served_title)
    print(c.table(["phase", "wall s", "invoices / s"], served(served_count)))
    count = 500 if args.quick else 10_000
    print(f"\nMemory per invoice held ({count + 1:,} three-line invoices, bytes reachable)\n")
    print(c.table(["what", "bytes per invoice"], memory(count)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
