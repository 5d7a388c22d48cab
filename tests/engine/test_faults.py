"""Exactly one Xero invoice per BMS invoice, whatever fails, and two engines racing."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bms_xero import Customer, Invoice, LineItem
from bms_xero.mapping import invoice_totals
from bms_xero.storage import MemoryStore, SQLiteStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import make_engine, make_invoice, make_xero, xero_by_number

RATES = {"GST15": Decimal("15"), "ZERO": Decimal("0")}
FAULTS = [
    "timeout_before_commit",
    "timeout_after_commit",
    "http_500",
    "offline_503",
    "connection_reset",
    "slow",
]


class Crash(BaseException):
    """The process dying at some point of a push."""


class CrashingStore:
    """Delegates to a store, dying on its n-th write."""

    def __init__(self, inner: Any, crash_on: int | None) -> None:
        self.inner = inner
        self.crash_on = crash_on
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _tick(self) -> None:
        self.writes += 1
        if self.crash_on is not None and self.writes == self.crash_on:
            raise Crash

    def put(self, record: Any, *, expected_version: int | None) -> Any:
        self._tick()
        return self.inner.put(record, expected_version=expected_version)

    def put_many(self, records: Any) -> Any:
        self._tick()
        return self.inner.put_many(records)


line_items = st.builds(
    LineItem,
    description=st.sampled_from(["Widget", "Service", "Travel"]),
    quantity=st.decimals("0.01", "50", places=2),
    unit_amount=st.one_of(
        st.decimals("0.01", "2000", places=2), st.decimals("0.0001", "20", places=4)
    ),
    account_code=st.sampled_from(["200", "260"]),
    tax_code=st.sampled_from(sorted(RATES)),
    discount_rate=st.one_of(st.none(), st.decimals("0", "50", places=0)),
)
faults = st.lists(
    st.tuples(
        st.sampled_from(FAULTS),
        st.sampled_from([("PUT", "/Invoices"), ("GET", "/Invoices"), (None, None)]),
        st.integers(1, 3),
    ),
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.lists(line_items, min_size=1, max_size=3), min_size=1, max_size=60),
    schedule=faults,
    crash_on=st.one_of(st.none(), st.integers(1, 6)),
    retries=st.booleans(),
    minute_limit=st.sampled_from([60, 4]),
)
def test_exactly_one_invoice_whatever_fails(
    lines: list[list[LineItem]],
    schedule: list[tuple[str, Any, int]],
    crash_on: int | None,
    retries: bool,
    minute_limit: int,
) -> None:
    """Random invoices under random faults and a crash end as exactly one matching invoice each."""
    xero = make_xero(seed=len(lines), minute_limit=minute_limit)
    customer = Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))
    invoices = [make_invoice(customer, n, lines=tuple(ls)) for n, ls in enumerate(lines, 1)]
    store = MemoryStore()
    for kind, (method, path), times in schedule:
        xero.inject(kind, method, path, times=times)
    retry = RetryPolicy.seeded(3) if retries else RetryPolicy.none()
    try:
        make_engine(xero, CrashingStore(store, crash_on), retry=retry).push_many(invoices)
    except Crash:
        event("crashed")
    event(f"faults hit: {sum(1 for r in xero.requests if r.fault is not None) > 0}")
    # A restarted process, with Xero healthy again, finishes the job.
    xero.clear_faults()
    xero.clock.advance(3600)
    outcomes = make_engine(xero, store).push_many(invoices)
    assert all(o.ok for o in outcomes), [str(o.error) for o in outcomes if not o.ok]
    held = xero_by_number(xero)
    assert sorted(inv.number for inv in invoices) == sorted(held)
    for inv in invoices:
        [stored] = held[inv.number]
        assert invoice_totals(inv, RATES).total == Decimal(str(stored["Total"]))
        assert [(line.quantity, line.unit_amount) for line in inv.lines] == [
            (Decimal(str(x["Quantity"])), Decimal(str(x["UnitAmount"])))
            for x in stored["LineItems"]
        ]


def _race(
    xero: FakeXero[Any],
    db: Path,
    invoices: list[Invoice],
    barrier: threading.Barrier,
    errors: list[BaseException],
) -> None:
    try:
        store = SQLiteStore(db)
    except BaseException as e:  # surfaced by the test
        errors.append(e)
        return
    try:
        engine = make_engine(xero, store)
        barrier.wait()
        engine.push_many(invoices)
    except BaseException as e:  # surfaced by the test
        errors.append(e)
    finally:
        store.close()


def test_two_engines_one_sqlite_file(tmp_path: Path) -> None:
    """Two engines pushing the same invoices at once over one SQLite file make no duplicates."""
    xero = make_xero()
    customer = Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))
    invoices = [make_invoice(customer, n) for n in range(1, 121)]
    db = tmp_path / "shared.db"
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_race, args=(xero, db, list(order), barrier, errors))
        for order in (invoices, invoices[::-1])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [] == errors
    # Whatever each engine reported, a final push settles every invoice, once.
    store = SQLiteStore(db)
    outcomes = make_engine(xero, store).push_many(invoices)
    store.close()
    assert all(o.ok for o in outcomes)
    held = xero_by_number(xero)
    assert (120, {1}) == (len(held), {len(v) for v in held.values()})
