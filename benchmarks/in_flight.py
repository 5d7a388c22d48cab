"""Requests in flight: a push of N invoices with each request taking L seconds, serial against
up to five at once (``SyncEngine(max_in_flight=)``), side by side in one run; then one worker
serving T organisations, one after another against side by side
(``Worker(parallel_tenants=)``), against one organisation alone.

Run from the repository root::

    .venv/bin/python benchmarks/in_flight.py [--invoices 500] [--latency 0.25] [--rounds 3]
    .venv/bin/python benchmarks/in_flight.py --quick

Each round builds a fresh FakeXero (Xero's limits: 5 in flight, 60 a minute on the fake's
clock, which does not move here, so the minute budget never makes anyone wait) and a fresh
engine, as a newly started process would, and pushes the invoices. Every accounting request
is held ``--latency`` seconds of real time while in flight (the fake's in-flight hook), so
wall time is what a network of that latency costs. Prints the median wall time of each
setting, the requests made, the most in flight seen, and the ratio to serial. The worker
table gives each organisation ``--per-tenant`` invoices queued as push jobs and prints the
wall time of the worker's run against the slowest organisation's run alone. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal
from typing import Any

import _common as c

from bms_xero import Customer, SyncEngine
from bms_xero.clock import Clock, SystemClock
from bms_xero.jobs import MemoryInvoiceSource, MemoryJobStore, Worker
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.xero import XeroClient


def one_push(invoices: int, latency: float, max_in_flight: int) -> tuple[float, int, int]:
    xero = c.make_fake()
    [customer] = c.make_customers(xero, 1)
    batch = [c.make_invoice(customer, n) for n in range(1, invoices + 1)]
    hold = c.Latency(latency)
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


def _organisations(xero: FakeXero[Any], tenants: int) -> list[tuple[str, str]]:
    """``tenants`` organisations in the fake, each with the accounts and tax rates the
    invoices use and one contact: (tenant id, contact id) of each."""
    ids = [xero.tenant_id] + [xero.add_tenant(name=f"Org {n}") for n in range(2, tenants + 1)]
    for t, tenant in enumerate(ids):
        if t:
            xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant)
            xero.add_account(code="260", name="Other Revenue", type="REVENUE", tenant_id=tenant)
            for tax_type, rate in (("OUTPUT2", "15"), ("ZERORATEDOUTPUT", "0")):
                xero.add_tax_rate(
                    tax_type=tax_type, name=tax_type, rate=Decimal(rate), tenant_id=tenant
                )
    return [
        (tenant, xero.add_contact(name="Customer 1", contact_number="C-1", tenant_id=tenant))
        for tenant in ids
    ]


def serve(tenants: int, latency: float) -> int:
    """The ``--serve`` child: the organisations in a FakeXero of its own, every accounting
    request held ``latency`` seconds. Its clock is the system's, as the worker's is: a
    ``FakeClock`` here would never move, so its minute window would never reset."""
    xero = c.make_fake(clock=SystemClock())
    organisations = _organisations(xero, tenants)
    xero.in_flight_hook = c.Latency(latency)
    return c.serve_child(xero, organisations=organisations)


def one_worker(
    tenants: int, per_tenant: int, latency: float, parallel: int, *, served: bool = False
) -> float:
    """Wall time of one worker running every organisation's queued pushes; with ``served``
    FakeXero answers from a process of its own, over loopback HTTP."""
    if served:
        with c.served(__file__, "--tenants", str(tenants), "--latency", str(latency)) as fake:
            organisations = [(t, contact) for t, contact in fake["organisations"]]
            clients = [c.remote_client(fake, tenant) for tenant, _ in organisations]
            return _worker_run(organisations, clients, SystemClock(), per_tenant, parallel)
    xero = c.make_fake()
    organisations = _organisations(xero, tenants)
    xero.in_flight_hook = c.Latency(latency)
    clients = [xero.client(tenant) for tenant, _ in organisations]
    return _worker_run(organisations, clients, xero.clock, per_tenant, parallel)


def _worker_run(
    organisations: list[tuple[str, str]],
    clients: list[XeroClient],
    clock: Clock,
    per_tenant: int,
    parallel: int,
) -> float:
    jobs = MemoryJobStore()
    source = MemoryInvoiceSource()
    engines = []
    for (tenant, contact), client in zip(organisations, clients, strict=True):
        customer = Customer(id="C-1", name="Customer 1", xero_contact_id=contact)
        for n in range(1, per_tenant + 1):
            invoice = c.make_invoice(customer, n)
            source.put(invoice, tenant_id=tenant)
            jobs.enqueue_push(tenant, invoice.id, now=clock.now())
        engines.append(
            SyncEngine(client=client, store=MemoryStore(), tax_map=c.TAX_MAP, clock=clock)
        )
    worker = Worker(engines, jobs, source, clock=clock, parallel_tenants=parallel)
    started = time.perf_counter()
    report = worker.run_pending()
    elapsed = time.perf_counter() - started
    if len(report.done) != len(organisations) * per_tenant:
        raise SystemExit("a job failed: the figures would mean nothing")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--per-tenant", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="150 invoices, 0.05 s, 1 round")
    parser.add_argument("--workers-only", action="store_true", help="only the worker table")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        raise SystemExit(serve(args.tenants, args.latency))
    if args.quick:
        args.invoices, args.latency, args.rounds = 150, 0.05, 1
        args.tenants, args.per_tenant = 3, 20
    rows: list[list[Any]] = []
    serial = None
    for limit in () if args.workers_only else (1, 5):
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
    if rows:
        print(
            f"push of {args.invoices} invoices, {args.latency} s per request, "
            f"median of {args.rounds} rounds\n"
        )
        print(c.table(["setting", "wall time", "requests", "most in flight", "x serial"], rows))
    rows = []
    alone: dict[bool, float] = {}
    for tenants, parallel in ((1, 32), (args.tenants, 1), (args.tenants, 32)):
        label = (
            "1 organisation alone"
            if tenants == 1
            else f"{tenants} organisations, parallel_tenants={parallel}"
        )
        row: list[Any] = [label]
        for served in (False, True):
            if served and parallel == 1:  # the old behaviour: shown in process only
                row += ["", ""]
                continue
            wall = statistics.median(
                one_worker(tenants, args.per_tenant, args.latency, parallel, served=served)
                for _ in range(args.rounds)
            )
            alone.setdefault(served, wall)
            row += [f"{wall:.2f} s", f"{wall / alone[served]:.2f}"]
        rows.append(row)
    print(
        f"\none worker, {args.per_tenant} push jobs per organisation, {args.latency} s per "
        f"request, median of {args.rounds} rounds; FakeXero in the worker's process, and in "
        "a process of its own (over loopback HTTP)\n"
    )
    headers = ["run", "in process", "x one alone", "own process", "x one alone"]
    print(c.table(headers, rows))


if __name__ == "__main__":
    main()
