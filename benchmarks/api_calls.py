"""API calls per invoice against the floor, and time under Xero's rate limits.

Run from the repository root::

    .venv/bin/python benchmarks/api_calls.py [--quick]

Every scenario runs against a fresh FakeXero with Xero's limits (60 calls a minute, 5 in
flight, 5,000 a day) and a fresh engine, as a newly started process would. Requests are
counted from ``xero.requests`` (the accounting API only; the token call is shown apart).

The floor:

- pushes: ``ceil(invoices sent / 50)`` writes plus the 3 reference reads a fresh engine needs
  (chart of accounts, tax rates, organisation);
- pulls: ``ceil(changed / 1000)`` pages.

Simulated time is ``xero.clock.now() - start``: the FakeClock moves only when the client's
rate limiter waits on it, so it is the time the same work would take against Xero's limits
(without network latency). Its floor is ``calls / 60`` minutes. ``--quick`` runs the
1,000-invoice scenarios only. Prints tables; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import _common as c

from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero


@dataclass
class Row:
    scenario: str
    invoices: int
    writes: int
    reference: int
    other_reads: int
    floor: int
    minutes: float
    throttled: int
    token_calls: int
    wall: float

    @property
    def calls(self) -> int:
        return self.writes + self.reference + self.other_reads

    @property
    def ratio(self) -> str:
        return f"{self.calls / self.floor:.2f}" if self.floor else "n/a (floor 0)"


REFERENCE_PATHS = ("/Accounts", "/TaxRates", "/Organisation")


def _measure(
    scenario: str, invoices: int, xero: FakeXero[Any], floor: int, run: Callable[[], object]
) -> Row:
    """Run ``run`` and count what it sent."""
    xero.clear_requests()
    start = xero.clock.now()
    began = time.perf_counter()
    run()
    wall = time.perf_counter() - began
    log = xero.requests
    api = c.accounting(log)
    reference = c.reads(api, *REFERENCE_PATHS)
    writes = c.writes(api)
    return Row(
        scenario=scenario,
        invoices=invoices,
        writes=writes,
        reference=reference,
        other_reads=len(api) - writes - reference,
        floor=floor,
        minutes=(xero.clock.now() - start).total_seconds() / 60,
        throttled=c.throttled(log),
        token_calls=sum(1 for r in log if r.api == "identity"),
        wall=wall,
    )


def push_new(count: int, customers: int) -> Row:
    xero = c.make_fake()
    invoices = c.make_invoices(c.make_customers(xero, customers), count)
    engine = c.make_engine(xero)
    return _measure(
        f"push {count:,} new ({customers} customer{'s' if customers > 1 else ''})",
        count,
        xero,
        c.batches(count) + c.REFERENCE_READS,
        lambda: _all_ok(engine.push_many(invoices)),
    )


def repush_changed(count: int, every: int = 10) -> Row:
    xero = c.make_fake()
    customers = c.make_customers(xero, 1)
    invoices = c.make_invoices(customers, count)
    store = MemoryStore()
    _all_ok(c.make_engine(xero, store).push_many(invoices))
    xero.clock.advance(3600)
    changed = [
        c.make_invoice(inv.customer, n, variant=1) if n % every == 0 else inv
        for n, inv in enumerate(invoices, 1)
    ]
    engine = c.make_engine(xero, store)
    sent = count // every
    return _measure(
        f"re-push {count:,}, {sent:,} changed",
        count,
        xero,
        c.batches(sent) + c.REFERENCE_READS,
        lambda: _all_ok(engine.push_many(changed)),
    )


def _pay(xero: FakeXero[Any], stored: list[dict[str, Any]], spacing: float = 3.0) -> None:
    """Pay each invoice in full, one every ``spacing`` seconds (as payments come in over a
    day: paid all in one instant, they would share one UpdatedDateUTC second)."""
    for invoice in stored:
        xero.pay(invoice["InvoiceID"], amount=Decimal(str(invoice["AmountDue"])))
        xero.clock.advance(spacing)


def pull_changed(linked: int, paid: int) -> list[Row]:
    """The first pull after a push, then pulls after some of the invoices were paid."""
    xero = c.make_fake()
    invoices = c.make_invoices(c.make_customers(xero, 1), linked)
    store = MemoryStore()
    _all_ok(c.make_engine(xero, store).push_many(invoices))
    xero.clock.advance(3600)
    engine = c.make_engine(xero, store)
    # The pull cursor starts at the first create, so the first pull reads back every invoice
    # the push made (once).
    rows = [
        _measure(
            f"first pull after pushing {linked:,}",
            linked,
            xero,
            c.batches(0, c.PAGE),
            engine.pull,
        )
    ]
    stored = xero.invoices()
    start = 0
    for label, count in (("pull", paid), ("next pull", paid), ("next pull", paid // 2)):
        xero.clock.advance(3600)
        _pay(xero, stored[start : start + count])
        start += count
        updates: list[Any] = []
        rows.append(
            _measure(
                f"{label}: {linked:,} linked, {count:,} paid",
                linked,
                xero,
                c.batches(count, c.PAGE),
                lambda into=updates: into.extend(engine.pull()),
            )
        )
        if len(updates) != count:
            raise SystemExit(f"pull delivered {len(updates)} updates, expected {count}")
    return rows


def push_and_pull(count: int) -> Row:
    """The whole day: push ``count`` invoices, all get paid, pull the payments back."""
    xero = c.make_fake()
    invoices = c.make_invoices(c.make_customers(xero, 1), count)
    store = MemoryStore()
    engine = c.make_engine(xero, store)
    updates: list[Any] = []

    def run() -> None:
        _all_ok(engine.push_many(invoices))
        _pay(xero, xero.invoices(), spacing=0.0)
        updates.extend(engine.pull())

    floor = c.batches(count) + c.REFERENCE_READS + c.batches(count, c.PAGE)
    row = _measure(f"push {count:,} + pull all paid", count, xero, floor, run)
    if len(updates) != count:
        raise SystemExit(f"pull delivered {len(updates)} updates, expected {count}")
    return row


def _all_ok(outcomes: list[Any]) -> None:
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise SystemExit(f"{len(failed)} pushes failed, e.g. {failed[0].error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="API calls per invoice and simulated time")
    parser.add_argument("--quick", action="store_true", help="1,000-invoice scenarios only")
    args = parser.parse_args(argv)
    big = 1_000 if args.quick else 10_000

    counts = [
        push_new(1_000, 1),
        push_new(1_000, 200),
        *([] if args.quick else [push_new(10_000, 1), push_new(10_000, 200)]),
        repush_changed(1_000),
        *pull_changed(big, big // 10),
    ]
    print("API calls against the floor (accounting API; FakeXero at 60/min, 5 in flight)\n")
    print(
        c.table(
            [
                "scenario",
                "writes",
                "reference reads",
                "other reads",
                "calls",
                "floor",
                "calls / floor",
                "calls / invoice",
            ],
            (
                [
                    r.scenario,
                    r.writes,
                    r.reference,
                    r.other_reads,
                    r.calls,
                    r.floor,
                    r.ratio,
                    f"{r.calls / r.invoices:.4f}",
                ]
                for r in counts
            ),
        )
    )
    timed = [push_and_pull(big)]
    print("\nTime under Xero's limits (simulated on FakeXero's clock)\n")
    print(
        c.table(
            [
                "scenario",
                "calls",
                "floor calls",
                "simulated min",
                "floor min (calls / 60)",
                "429s",
                "token calls",
                "wall s",
            ],
            (
                [
                    r.scenario,
                    r.calls,
                    r.floor,
                    r.minutes,
                    r.calls / 60,
                    r.throttled,
                    r.token_calls,
                    r.wall,
                ]
                for r in [*counts, *timed]
            ),
        )
    )
    total_429 = sum(r.throttled for r in [*counts, *timed])
    print(f"\n429s received in all scenarios: {total_429} (goal: 0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
