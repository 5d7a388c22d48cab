"""Check the request-cost targets on FakeXero; exits 1 when one is missed.

Run from the repository root::

    .venv/bin/python benchmarks/cost_targets.py [--quick]

The targets (accounting API requests, counted from ``xero.requests``):

1. pushing 1,000 new invoices: at most 20 write requests plus at most 4 reference reads;
2. re-pushing the same 1,000 unchanged: 0 write requests;
3. pulling after 1,000 of them were paid: at most 2 invoice pages (plus the payment pages,
   which are printed).

``--quick`` checks the targets with a MemoryStore and one customer. The full run checks them
again with an SQLiteStore and with 200 customers.
"""

from __future__ import annotations

import argparse
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import _common as c

from bms_xero.storage import MemoryStore, SQLiteStore

COUNT = 1_000
MAX_CREATE_WRITES = 20
MAX_REFERENCE_READS = 4
MAX_INVOICE_PAGES = 2


def check(label: str, store: Any, customers: int) -> list[list[object]]:
    """Run the three steps; one table row per target."""
    xero = c.make_fake()
    invoices = c.make_invoices(c.make_customers(xero, customers), COUNT)
    rows: list[list[object]] = []

    def row(target: str, actual: int, limit: int) -> None:
        rows.append([label, target, actual, f"<= {limit}", "ok" if actual <= limit else "MISSED"])

    throttled = 0
    xero.clear_requests()
    created = c.make_engine(xero, store).push_many(invoices)
    log = xero.requests
    throttled += c.throttled(log)
    row("push 1,000 new: writes", c.writes(log), MAX_CREATE_WRITES)
    row(
        "push 1,000 new: reference reads",
        c.reads(log, "/Accounts", "/TaxRates", "/Organisation", "/Contacts"),
        MAX_REFERENCE_READS,
    )
    failed = sum(1 for o in created if not o.ok)
    row("push 1,000 new: failed pushes", failed, 0)

    xero.clock.advance(600)
    xero.clear_requests()
    c.make_engine(xero, store).push_many(invoices)
    row("re-push 1,000 unchanged: writes", c.writes(xero.requests), 0)
    throttled += c.throttled(xero.requests)

    xero.clock.advance(600)
    for stored in xero.invoices():
        xero.pay(stored["InvoiceID"], amount=Decimal(str(stored["AmountDue"])))
    xero.clock.advance(60)
    xero.clear_requests()
    updates = c.make_engine(xero, store).pull()
    log = xero.requests
    row("pull after 1,000 paid: invoice pages", c.reads(log, "/Invoices"), MAX_INVOICE_PAGES)
    payment_pages = c.reads(log, "/Payments")
    rows.append([label, "pull after 1,000 paid: payment pages", payment_pages, "(reported)", "-"])
    row("pull after 1,000 paid: updates missing", COUNT - len(updates), 0)
    row("429s received (all three steps)", throttled + c.throttled(log), 0)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check the request-cost targets")
    parser.add_argument("--quick", action="store_true", help="MemoryStore, one customer only")
    args = parser.parse_args(argv)
    rows = check("memory, 1 customer", MemoryStore(), 1)
    if not args.quick:
        with tempfile.TemporaryDirectory() as folder:
            store = SQLiteStore(Path(folder) / "sync.db")
            try:
                rows += check("sqlite, 1 customer", store, 1)
            finally:
                store.close()
        rows += check("memory, 200 customers", MemoryStore(), 200)
    print("Request-cost targets (FakeXero, accounting API)\n")
    print(c.table(["run", "target", "actual", "limit", "result"], rows))
    missed = [r for r in rows if r[-1] == "MISSED"]
    print(f"\n{len(missed)} target(s) missed" if missed else "\nall targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
