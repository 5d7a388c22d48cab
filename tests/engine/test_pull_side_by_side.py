"""A pull reads its pages side by side, and misses nothing when Xero changes meanwhile."""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bms_xero.domain import Customer
from bms_xero.engine import SyncEngine
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero, InFlightRequest
from bms_xero.xero import RetryPolicy, XeroClient
from bms_xero.xero import _client as client_module
from tests.engine.conftest import TAX_MAP, RecordingSink, make_invoice
from tests.engine.test_money_reaches_host import last_told, told_money, xero_money


class PageOrder(httpx.BaseTransport):
    """Lets page 3 of the changed-invoice read answer before page 2 is read, and between the
    two runs ``change`` (once): a change landing while the pages are read side by side."""

    def __init__(self, inner: httpx.BaseTransport, change: Any) -> None:
        self.inner, self.change = inner, change
        self.page_three_done = threading.Event()
        self.pages: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        paged = (
            request.method == "GET"
            and request.url.path.endswith("/Invoices")
            and "IDs" not in request.url.params
        )
        page = request.url.params.get("page") if paged else None
        if page is not None:
            self.pages.append(page)
        if page == "2" and not self.page_three_done.is_set():
            assert self.page_three_done.wait(10), "page 3 never came"
        response = self.inner.handle_request(request)
        if page == "3" and not self.page_three_done.is_set():
            response.read()
            self.change()
            self.page_three_done.set()
        return response


def engine_over(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, transport: httpx.BaseTransport
) -> SyncEngine:
    client = XeroClient.from_client_credentials(
        xero.client_id,
        xero.client_secret,
        http_client=httpx.Client(transport=transport),
        tenant_id=xero.tenant_id,
        clock=xero.clock,
        retry=RetryPolicy.seeded(7),
    )
    return SyncEngine(
        client=client, store=store, tax_map=TAX_MAP, payment_sink=sink, clock=xero.clock
    )


def _pull_with_a_move(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, customer: Customer
) -> tuple[list[str], dict[str, str], PageOrder, SyncEngine]:
    """2,500 invoices credited in Xero (three pages), then pulled; while the pages are read
    side by side, after page 3 answered and before page 2 is read, the oldest is paid."""
    holder: dict[str, Any] = {}
    order = PageOrder(xero.transport, lambda: holder["change"]())
    engine = engine_over(xero, store, sink, order)
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 2501))
    ids = [o.unwrap().xero_invoice_id for o in outcomes]
    xero.clock.advance(60)
    for xero_id in ids:
        xero.clock.advance(0.01)
        xero.add_credit_note(xero_id, amount=Decimal("1.00"))
    holder["change"] = lambda: xero.pay(ids[0], amount=Decimal("5.00"))
    order.pages.clear()
    engine.pull()
    by_xero = {o.unwrap().xero_invoice_id: o.invoice_id for o in outcomes}
    return ids, by_xero, order, engine


def test_a_change_while_pages_are_read_side_by_side_misses_nothing(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, customer: Customer
) -> None:
    """Newest first, the oldest invoice paid after page 3 answered and before page 2 was
    read moves to the front and pushes the rest back: page 2 then starts one invoice early
    and the last one it would have held is on no page. The pull sees the gap (2,499 ids of
    2,500), reads again, and every record and the sink hold what Xero holds."""
    ids, by_xero, order, _ = _pull_with_a_move(xero, store, sink, customer)

    assert {"1", "2", "3"} <= set(order.pages)
    told = last_told(sink)
    assert {by_xero[i]: xero_money(xero, i) for i in ids} == {
        i: told_money(u) for i, u in told.items()
    }
    records = store.get_many(xero.tenant_id, list(by_xero.values()))
    assert {by_xero[i]: xero_money(xero, i) for i in ids} == {
        r.invoice_id: (
            str(r.xero_status),
            r.amount_paid,
            r.amount_credited,
            r.amount_due,
        )
        for r in records.values()
    }
    assert (Decimal("5.00"), Decimal("1.00")) == (
        told["I-1"].amount_paid,
        told["I-1"].amount_credited,
    )


def test_without_the_check_the_same_change_loses_an_invoice(
    xero: FakeXero[Any],
    store: Any,
    sink: RecordingSink,
    customer: Customer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The scenario above is a real skip: with the check told to keep whatever the pages
    read, one invoice's credit never reaches the host, not even after another pull (so the
    test above can fail). The paid one is only late: stamped after the cursor."""
    monkeypatch.setattr(client_module, "numbered_verdict", lambda *a, **k: "done")
    ids, by_xero, _, engine = _pull_with_a_move(xero, store, sink, customer)
    xero.clock.advance(5)
    engine.pull()

    told = last_told(sink)
    wrong = [
        by_xero[i]
        for i in ids
        if by_xero[i] not in told or told_money(told[by_xero[i]]) != xero_money(xero, i)
    ]
    assert ["I-501"] == wrong


class Flight:
    """Counts changed-invoice page requests in flight; holds the second and third at a
    barrier only two requests in flight at once can pass (when ``meet``)."""

    def __init__(self, *, meet: bool) -> None:
        self.most = 0
        self.pages = 0
        self._now = 0
        self._lock = threading.Lock()
        self._barrier = threading.Barrier(2, timeout=10) if meet else None

    def __call__(self, request: InFlightRequest) -> None:
        if (request.method, request.path) != ("GET", "/Invoices"):
            return
        with self._lock:
            self.pages += 1
            ordinal = self.pages
            self._now += 1
            self.most = max(self.most, self._now)
        try:
            if self._barrier is not None and ordinal in (2, 3):
                self._barrier.wait()
            else:
                time.sleep(0.01)
        finally:
            with self._lock:
                self._now -= 1


@pytest.mark.parametrize(("max_in_flight", "most"), [(5, None), (1, 1)])
def test_pages_are_in_flight_side_by_side_and_one_at_a_time_when_told_one(
    xero: FakeXero[Any], customer: Customer, max_in_flight: int, most: int | None
) -> None:
    """Fifteen invoices in pages of three (five pages): with five in flight, pages 2 and 3
    meet at a barrier only two requests in flight at once pass; with one, never two. Every
    invoice comes once, either way."""
    engine = SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=MemoryStore(),
        tax_map=TAX_MAP,
        clock=xero.clock,
    )
    engine.push_many(make_invoice(customer, n) for n in range(1, 16))
    flight = Flight(meet=most is None)
    xero.in_flight_hook = flight
    read = list(
        xero.client().iter_changed_invoices(since=None, page_size=3, max_in_flight=max_in_flight)
    )
    assert sorted(f"INV-{n:05d}" for n in range(1, 16)) == sorted(
        x.invoice_number or "" for x in read
    )
    if most is None:
        assert flight.most >= 2
        assert 5 == flight.pages  # page 1, then 2..5: nothing changed, nothing more
    else:
        assert 1 == flight.most
