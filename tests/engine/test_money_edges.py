"""The money invariant at its edges: what a careful review tried, kept as regressions.

Each test ends the same way: the newest update the sink accepted for an invoice (by
``sequence``, as a host that drops stale updates keeps it) says what Xero holds.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bms_xero import Customer
from bms_xero.engine import PaymentUpdate
from bms_xero.errors import ConfigurationError, XeroUnavailable
from bms_xero.storage import MemoryStore, SQLiteStore
from bms_xero.storage import _sqlite_store as sqlite_store
from bms_xero.storage._sqlite_schema import migrate
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import RecordingSink, make_engine, make_invoice, make_xero, with_line


def newest(sink: RecordingSink, invoice_id: str = "I-1") -> PaymentUpdate:
    return max((u for u in sink.applied if u.invoice_id == invoice_id), key=lambda u: u.sequence)


def told_is_xero(sink: RecordingSink, xero: FakeXero[Any], xero_id: str, invoice_id: str = "I-1"):
    held = xero.invoice(xero_id)
    last = newest(sink, invoice_id)
    return (
        (str(last.xero_status), last.amount_paid, last.amount_due, last.total),
        (held["Status"], held["AmountPaid"], held["AmountDue"], held["Total"]),
    )


def test_cancel_after_a_reversal_tells_the_sink(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """Told "paid"; the payment is reversed; the BMS cancels before any pull. The void is
    the host's own doing, but the sink still believes "paid": it must hear the void."""
    engine = make_engine(xero, MemoryStore(), sink)
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.clock.advance(5)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    xero.clock.advance(5)
    xero.delete_payment(payment)
    engine.cancel(invoice)
    engine.pull()
    expected, actual = told_is_xero(sink, xero, pushed.xero_invoice_id)
    assert expected == actual


def test_an_edit_after_a_delivery_is_delivered(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """Once the sink has been told anything, a push's own answer is news too: its due and
    total must replace what the sink holds."""
    engine = make_engine(xero, MemoryStore(), sink)
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.clock.advance(5)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("15.00"))
    engine.pull()
    xero.clock.advance(5)
    xero.delete_payment(payment)
    engine.pull()
    xero.clock.advance(5)
    engine.push(with_line(invoice, quantity=Decimal("4")))
    engine.pull()
    expected, actual = told_is_xero(sink, xero, pushed.xero_invoice_id)
    assert (expected, Decimal("230.00")) == (actual, newest(sink).total)


def test_a_rebuilt_store_adopting_after_a_reversal_tells_the_sink(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """The old store told "paid"; the payment was reversed; the store is lost and the next
    push adopts the invoice: unpaid is news, with a sequence above the old one."""
    invoice = make_invoice(customer)
    first = make_engine(xero, MemoryStore(), sink)
    pushed = first.push(invoice)
    xero.clock.advance(2)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    first.pull()
    xero.clock.advance(2)
    xero.delete_payment(payment)
    rebuilt = make_engine(xero, MemoryStore(), sink)
    rebuilt.push(invoice)
    rebuilt.pull()
    expected, actual = told_is_xero(sink, xero, pushed.xero_invoice_id)
    assert expected == actual


def test_a_crash_before_the_cursor_seed_loses_nothing(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """The process dies after the first link and before the cursors were seeded; a later
    first link seeds them no later than the earlier one, so its payment comes."""

    class Died(BaseException):
        pass

    class DiesOnCursor(MemoryStore):
        dying = True

        def set_cursor(self, tenant_id: str, name: str, value: Any) -> None:
            if self.dying:
                raise Died
            super().set_cursor(tenant_id, name, value)

    store = DiesOnCursor()
    with pytest.raises(Died):
        make_engine(xero, store, sink).push(make_invoice(customer, 1))
    store.dying = False
    engine = make_engine(xero, store, sink)
    linked = store.get(engine.tenant_id, "I-1")
    assert linked is not None and linked.xero_invoice_id is not None
    xero.clock.advance(30)
    xero.pay(linked.xero_invoice_id, amount=Decimal("115.00"))
    xero.clock.advance(30)
    engine.push(make_invoice(customer, 2))
    engine.pull()
    expected, actual = told_is_xero(sink, xero, linked.xero_invoice_id)
    assert expected == actual


def test_a_snapshot_stamped_the_same_moment_is_read_again(customer: Customer) -> None:
    """Payments that don't bump their invoice: a slow targeted pull read the invoice before
    a payment and stores it after another engine stored the paid one, with the same stamp.
    The tie is read again, so the newest told is what Xero holds."""
    xero = make_xero(payments_bump_invoices=False)
    payer = Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))
    sink = RecordingSink()
    store = MemoryStore()
    slow, fast = make_engine(xero, store, sink), make_engine(xero, store, sink)
    a = slow.push(make_invoice(payer, 1))
    xero.clock.advance(2)
    b = slow.push(make_invoice(payer, 2))
    xero.clock.advance(2)
    fast.pull()

    def meanwhile() -> None:
        xero.pay(a.xero_invoice_id, amount=Decimal("115.00"))
        xero.clock.advance(2)
        fast.pull()
        xero.clock.advance(5)
        xero.pay(b.xero_invoice_id, amount=Decimal("10.00"))
        xero.clock.advance(2)
        fast.pull()

    xero.on_answer(meanwhile, method="GET", path="/Invoices")
    slow.pull_invoices(["I-1"])
    for _ in range(2):
        xero.clock.advance(5)
        fast.pull()
    expected, actual = told_is_xero(sink, xero, a.xero_invoice_id)
    assert expected == actual


def test_import_link_read_failure_takes_its_link_back_and_can_be_retried(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """The read after an import fails: no half-made link stays; calling again works and
    the paid invoice's money reaches the sink."""
    other = make_engine(xero, MemoryStore()).push(make_invoice(customer, 9))
    xero.pay(other.xero_invoice_id, amount=Decimal("115.00"))
    xero.clock.advance(60)
    engine = make_engine(xero, MemoryStore(), sink, retry=RetryPolicy.none())
    engine.push(make_invoice(customer, 1))
    engine.pull()
    xero.inject("http_500", "GET", f"/Invoices/{other.xero_invoice_id}")
    with pytest.raises(XeroUnavailable):
        engine.import_link(
            invoice_id="I-9", invoice_number="INV-00009", xero_invoice_id=other.xero_invoice_id
        )
    assert False is engine.panel("I-9").linked
    engine.import_link(
        invoice_id="I-9", invoice_number="INV-00009", xero_invoice_id=other.xero_invoice_id
    )
    expected, actual = told_is_xero(sink, xero, other.xero_invoice_id, "I-9")
    assert expected == actual


def test_import_link_never_takes_back_a_link_it_did_not_make(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer
) -> None:
    """A mistyped number on an invoice a push linked: refused, and the push's link stays,
    so a later reversal still reaches the sink."""
    engine = make_engine(xero, MemoryStore(), sink)
    pushed = engine.push(make_invoice(customer, 1))
    xero.clock.advance(2)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    with pytest.raises(ConfigurationError):
        engine.import_link(
            invoice_id="I-1", invoice_number="INV-0001", xero_invoice_id=pushed.xero_invoice_id
        )
    assert True is engine.panel("I-1").linked
    xero.clock.advance(2)
    xero.delete_payment(payment)
    engine.pull()
    expected, actual = told_is_xero(sink, xero, pushed.xero_invoice_id)
    assert expected == actual


def test_an_upgraded_store_reads_before_it_tells(
    xero: FakeXero[Any], sink: RecordingSink, customer: Customer, tmp_path: Path
) -> None:
    """A record from schema 1 (amounts, no allocations) marked due by the upgrade: the
    invoice is read again first, so the host hears the breakdown, not a guess."""
    pushed = make_engine(xero, MemoryStore()).push(make_invoice(customer))
    assert customer.xero_contact_id is not None
    prepayment = xero.prepay(customer.xero_contact_id, amount=Decimal("115.00"))
    xero.allocate(prepayment, pushed.xero_invoice_id, amount=Decimal("115.00"))
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, component="sync", migrations=(sqlite_store.MIGRATIONS[0],), location=str(path))
    conn.execute(
        f"INSERT INTO {sqlite_store.RECORDS} (tenant_id, invoice_id, invoice_number, state, "  # noqa: S608
        "version, xero_invoice_id, xero_status, total, amount_due, amount_paid, "
        "amount_credited) VALUES (?, 'I-1', 'INV-00001', 'pushed', 3, ?, 'PAID', '115.00', "
        "'0.00', '0.00', '115.00')",
        (xero.tenant_id, pushed.xero_invoice_id),
    )
    conn.close()
    with SQLiteStore(path) as store:
        [update] = make_engine(xero, store, sink).deliver()
    assert ("paid", Decimal("115.00"), 1) == (
        update.status.value,
        update.settlement.prepayments,
        len(update.allocations),
    )
