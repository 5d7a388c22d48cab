"""Up to five requests in flight per organisation: pushes, refreshes and reference reads."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from bms_xero.domain import Customer
from bms_xero.engine import SyncEngine
from bms_xero.errors import ConfigurationError
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero, InFlightRequest
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import TAX_MAP, make_invoice, with_line, xero_by_number


def engine_on(xero: FakeXero[Any], store: Any, **kwargs: Any) -> SyncEngine:
    return SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=store,
        tax_map=TAX_MAP,
        clock=xero.clock,
        **kwargs,
    )


class Flight:
    """Counts requests in flight; optionally holds each matching one at a barrier."""

    def __init__(self, method: str, path: str, *, meet: int | None = None) -> None:
        self.method, self.path = method, path
        self.most = 0
        self._now = 0
        self._lock = threading.Lock()
        self._barrier = None if meet is None else threading.Barrier(meet, timeout=10)

    def __call__(self, request: InFlightRequest) -> None:
        if (request.method, request.path) != (self.method, self.path):
            return
        with self._lock:
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            if self._barrier is not None:
                self._barrier.wait()
            else:
                time.sleep(0.005)
        finally:
            with self._lock:
                self._now -= 1


def test_a_push_of_many_batches_sends_five_at_once_in_input_order(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """250 invoices are five creates of 50; all five meet at a barrier only five requests in
    flight at once can pass. Outcomes come in input order, one Xero invoice each."""
    flight = Flight("PUT", "/Invoices", meet=5)
    xero.in_flight_hook = flight
    invoices = [make_invoice(customer, n) for n in range(1, 251)]
    outcomes = engine_on(xero, store).push_many(invoices)
    assert [i.id for i in invoices] == [o.unwrap().invoice_id for o in outcomes]
    assert {i.number: 1 for i in invoices} == {n: len(v) for n, v in xero_by_number(xero).items()}
    assert 5 == flight.most


def test_never_more_than_five_and_never_two_when_told_one(
    xero: FakeXero[Any], customer: Customer
) -> None:
    """Seven batches stay inside Xero's five (the fake answers 429 beyond it: none seen);
    ``max_in_flight=1`` sends one request at a time."""
    invoices = [make_invoice(customer, n) for n in range(1, 351)]
    for limit, expected in ((5, 5), (1, 1)):
        flight = Flight("PUT", "/Invoices")
        xero.in_flight_hook = flight
        outcomes = engine_on(xero, MemoryStore(), max_in_flight=limit).push_many(invoices)
        assert all(o.ok for o in outcomes)
        assert expected >= flight.most >= 1
    assert [] == [r for r in xero.requests if r.status == 429]


def test_refreshes_read_side_by_side(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """A refresh of 150 invoices is three reads of 50, sent at once."""
    engine = engine_on(xero, store)
    invoices = [make_invoice(customer, n) for n in range(1, 151)]
    engine.push_many(invoices)
    flight = Flight("GET", "/Invoices", meet=3)
    xero.in_flight_hook = flight
    engine.pull_invoices(i.id for i in invoices)
    assert 3 == flight.most


@pytest.mark.parametrize("bad", [0, 6, True, 2.5])
def test_max_in_flight_is_checked(xero: FakeXero[Any], store: Any, bad: object) -> None:
    """Xero allows 1 to 5 requests in flight per organisation: anything else is refused."""
    with pytest.raises(ConfigurationError, match="max_in_flight must be a whole number from 1"):
        engine_on(xero, store, max_in_flight=bad)


def test_two_pushes_on_one_engine_at_once_each_get_their_outcomes(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A web process shares one engine: two pushes of several batches each, at once, both
    answer (their rounds never share state) and Xero holds each invoice once."""
    engine = engine_on(xero, store)
    xero.in_flight_hook = Flight("PUT", "/Invoices")  # each PUT held briefly: rounds overlap
    first = [make_invoice(customer, n) for n in range(1, 101)]
    second = [make_invoice(customer, n) for n in range(1001, 1101)]
    outcomes: dict[str, Any] = {}

    def push(name: str, invoices: list[Any]) -> None:
        try:
            outcomes[name] = [o.ok for o in engine.push_many(invoices)]
        except Exception as e:
            outcomes[name] = e

    threads = [
        threading.Thread(target=push, args=("first", first)),
        threading.Thread(target=push, args=("second", second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {"first": [True] * 100, "second": [True] * 100} == outcomes
    assert {1} == {len(v) for v in xero_by_number(xero).values()}


def test_a_read_ahead_belongs_to_its_push_only(xero: FakeXero[Any], store: Any) -> None:
    """A push whose invoices stop before they need the reference data leaves nothing behind
    from its read ahead: neither its failure nor its "freshly read" for a later push."""
    archived = Customer(id="C-A", name="Old Co", xero_contact_id=xero.add_contact(name="Old Co"))
    good = Customer(id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme Ltd"))
    xero.archive_contact(archived.xero_contact_id or "")
    engine = engine_on(xero, store, reference_ttl=3600)
    xero.inject("offline_503", "GET", "/Accounts", times=1)
    [stopped] = engine.push_many([make_invoice(archived, 1)])
    assert "ContactArchived" == type(stopped.error).__name__
    [ok] = engine.push_many([make_invoice(good, 2)])  # not the earlier read ahead's 503
    assert ok.ok
    engine.push_many([make_invoice(archived, 3)])  # reads ahead (cached), never loads
    xero.add_account(code="300", name="New Sales", type="REVENUE")
    [fresh] = engine.push_many([with_line(make_invoice(good, 4), account_code="300")])
    assert fresh.ok  # the unknown code refreshed the chart: no stale "freshly read"
