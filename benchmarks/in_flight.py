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
from bms_xero.jobs import MemoryInvoiceSource, MemoryJobStore, Worker
from bms_xero.storage import MemoryStore


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


def one_worker(tenants: int, per_tenant: int, latency: float, parallel: int) -> float:
    """Wall time of one worker running every organisation's queued pushes."""
    xero = c.make_fake()
    ids = [xero.tenant_id] + [xero.add_tenant(name=f"Org {n}") for n in range(2, tenants + 1)]
    jobs = MemoryJobStore()
    source = MemoryInvoiceSource()
    engines = []
    for t, tenant in enumerate(ids):
        if t:
            xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=tenant)
            xero.add_account(code="260", name="Other Revenue", type="REVENUE", tenant_id=tenant)
            for tax_type, rate in (("OUTPUT2", "15"), ("ZERORATEDOUTPUT", "0")):
                xero.add_tax_rate(
                    tax_type=tax_type, name=tax_type, rate=Decimal(rate), tenant_id=tenant
                )
        contact = xero.add_contact(name="Customer 1", contact_number="C-1", tenant_id=tenant)
        customer = Customer(id="C-1", name="Customer 1", xero_contact_id=contact)
        for n in range(1, per_tenant + 1):
            invoice = c.make_invoice(customer, n)
            source.put(invoice, tenant_id=tenant)
            jobs.enqueue_push(tenant, invoice.id, now=xero.clock.now())
        engines.append(
            SyncEngine(
                client=xero.client(tenant),
                store=MemoryStore(),
                tax_map=c.TAX_MAP,
                clock=xero.clock,
            )
        )
    xero.in_flight_hook = c.Latency(latency)
    worker = Worker(engines, jobs, source, clock=xero.clock, parallel_tenants=parallel)
    started = time.perf_counter()
    report = worker.run_pending()
    elapsed = time.perf_counter() - started
    if len(report.done) != tenants * per_tenant:
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
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.latency, args.rounds = 150, 0.05, 1
        args.tenants, args.per_tenant = 3, 20
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
    alone = statistics.median(
        one_worker(1, args.per_tenant, args.latency, 32) for _ in range(args.rounds)
    )
    rows = [["1 organisation alone", f"{alone:.2f} s", "1.00"]]
    for parallel in (1, 32):
        wall = statistics.median(
            one_worker(args.tenants, args.per_tenant, args.latency, parallel)
            for _ in range(args.rounds)
        )
        label = f"{args.tenants} organisations, parallel_tenants={parallel}"
        rows.append([label, f"{wall:.2f} s", f"{wall / alone:.2f}"])
    print(
        f"\none worker, {args.per_tenant} push jobs per organisation, {args.latency} s per "
        f"request, median of {args.rounds} rounds\n"
    )
    print(c.table(["run", "wall time", "x one alone"], rows))


if __name__ == "__main__":
    main()
