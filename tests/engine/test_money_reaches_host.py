"""Payments reach the host: what the PaymentSink was told equals what Xero holds.

The regressions of the issue "Payments reach the BMS" (each failed before the outbox), and
one test per money event Xero has: payments and their reversal, batch payments, credit
notes, prepayments, overpayments, and an invoice voided by a person in Xero.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bms_xero import Customer
from bms_xero.domain import AllocationKind, Settlement
from bms_xero.engine import BmsStatus, PaymentUpdate, PushAction, SyncEngine
from bms_xero.errors import ConfigurationError, NotFound, PaymentDeliveryFailed
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import RecordingSink, make_engine, make_invoice


def last_told(sink: RecordingSink) -> dict[str, PaymentUpdate]:
    """The newest update the sink accepted, per BMS invoice."""
    told: dict[str, PaymentUpdate] = {}
    for update in sink.applied:
        seen = told.get(update.invoice_id)
        if seen is None or update.sequence > seen.sequence:
            told[update.invoice_id] = update
    return told


def told_money(update: PaymentUpdate) -> tuple[Any, ...]:
    return (str(update.xero_status), update.amount_paid, update.amount_credited, update.amount_due)


def xero_money(xero: FakeXero[Any], xero_invoice_id: str) -> tuple[Any, ...]:
    held = xero.invoice(xero_invoice_id)
    return (held["Status"], held["AmountPaid"], held["AmountCredited"], held["AmountDue"])


# --- the regressions ---------------------------------------------------------------------------


def test_adoption_does_not_swallow_a_payment(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, customer: Customer
) -> None:
    """A create whose answer was lost, paid in full, then adopted: the sink hears of it."""
    engine = make_engine(xero, store, sink, retry=RetryPolicy.none())
    invoice = make_invoice(customer)
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    xero.inject("http_500", "GET", "/Invoices", times=5)
    assert not engine.push_many([invoice])[0].ok
    xero.clear_faults()
    [held] = xero.invoices()
    xero.pay(held["InvoiceID"], amount=Decimal("115.00"))

    assert PushAction.ADOPTED == engine.push(invoice).action
    engine.pull()
    engine.pull()

    [update] = sink.applied
    assert (BmsStatus.PAID, Decimal("115.00"), Decimal("0.00")) == (
        update.status,
        update.amount_paid,
        update.amount_due,
    )
    assert (Decimal("115.00"), False) == (
        engine.panel("I-1").amount_paid,
        engine.panel("I-1").delivery_pending,
    )


def test_first_create_does_not_seed_past_an_adopted_invoice(
    xero: FakeXero[Any], customer: Customer, sink: RecordingSink
) -> None:
    """A rebuilt store adopts INV-1, INV-1 is paid, INV-2 is created: the payment comes."""
    make_engine(xero, MemoryStore()).push(make_invoice(customer, 1))
    xero.clock.advance(60)
    engine = make_engine(xero, MemoryStore(), sink)  # the store was lost and rebuilt
    adopted = engine.push(make_invoice(customer, 1))
    assert PushAction.ADOPTED == adopted.action
    xero.clock.advance(60)
    xero.pay(adopted.xero_invoice_id, amount=Decimal("40.00"))
    xero.clock.advance(60)
    assert PushAction.CREATED == engine.push(make_invoice(customer, 2)).action

    engine.pull()

    assert {"I-1": (BmsStatus.PARTIALLY_PAID, Decimal("40.00"))} == {
        i: (u.status, u.amount_paid) for i, u in last_told(sink).items()
    }


def test_prepayment_reads_as_paid_not_credited(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """An invoice settled by the customer's prepayment is paid, with the breakdown."""
    pushed = engine.push(make_invoice(customer))
    assert customer.xero_contact_id is not None
    prepayment = xero.prepay(customer.xero_contact_id, amount=Decimal("200.00"))
    xero.clock.advance(60)
    xero.allocate(prepayment, pushed.xero_invoice_id, amount=Decimal("115.00"))

    [update] = engine.pull()

    assert (BmsStatus.PAID, Settlement(prepayments=Decimal("115.00"))) == (
        update.status,
        update.settlement,
    )
    assert [(AllocationKind.PREPAYMENT, prepayment, Decimal("115.00"))] == [
        (a.kind, a.id, a.amount) for a in update.allocations
    ]
    assert BmsStatus.PAID == engine.panel("I-1").status


# --- every money event -------------------------------------------------------------------------


def test_payment_and_its_reversal(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """A payment, then its reversal: two updates, the second newer and back to unpaid."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("100.00"))
    engine.pull()
    xero.clock.advance(60)
    xero.delete_payment(payment)
    engine.pull()

    paid, reversed_ = sink.applied
    assert (BmsStatus.PARTIALLY_PAID, BmsStatus.AWAITING_PAYMENT, BmsStatus.PARTIALLY_PAID) == (
        paid.status,
        reversed_.status,
        reversed_.previous_status,
    )
    assert reversed_.sequence > paid.sequence
    assert ((), Decimal("115.00")) == (reversed_.payments, reversed_.amount_due)


def test_batch_payment(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """One batch payment paying three invoices tells the host about each."""
    outcomes = engine.push_many(make_invoice(customer, n) for n in (1, 2, 3))
    ids = [o.unwrap().xero_invoice_id for o in outcomes]
    xero.clock.advance(60)
    xero.batch_pay([(ids[0], Decimal("115.00")), (ids[1], Decimal("15.00"))])

    engine.pull()

    assert {"I-1": BmsStatus.PAID, "I-2": BmsStatus.PARTIALLY_PAID} == {
        i: u.status for i, u in last_told(sink).items()
    }


def test_batch_payment_reversed(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """Deleting a batch payment brings every invoice in it back to awaiting payment."""
    outcomes = engine.push_many(make_invoice(customer, n) for n in (1, 2))
    ids = [o.unwrap().xero_invoice_id for o in outcomes]
    xero.clock.advance(60)
    batch = xero.batch_pay([(ids[0], Decimal("115.00")), (ids[1], Decimal("115.00"))])
    engine.pull()
    xero.clock.advance(60)
    xero.delete_batch_payment(batch)

    engine.pull()

    assert {"I-1": BmsStatus.AWAITING_PAYMENT, "I-2": BmsStatus.AWAITING_PAYMENT} == {
        i: u.status for i, u in last_told(sink).items()
    }


def test_credit_note_then_payment(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """Credited 15 then paid 100: the host can show "paid 100 + credited 15"."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.add_credit_note(pushed.xero_invoice_id, amount=Decimal("15.00"))
    xero.pay(pushed.xero_invoice_id, amount=Decimal("100.00"))

    engine.pull()

    update = last_told(sink)["I-1"]
    assert (
        BmsStatus.PAID,
        Settlement(payments=Decimal("100.00"), credit_notes=Decimal("15.00")),
        Decimal("100.00"),
        Decimal("15.00"),
    ) == (update.status, update.settlement, update.settlement.paid, update.settlement.credited)


def test_overpayment_applied(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """A customer's overpayment applied to an invoice pays (part of) it."""
    pushed = engine.push(make_invoice(customer))
    assert customer.xero_contact_id is not None
    overpayment = xero.overpay(customer.xero_contact_id, amount=Decimal("50.00"))
    xero.clock.advance(60)
    xero.allocate(overpayment, pushed.xero_invoice_id, amount=Decimal("50.00"))

    [update] = engine.pull()

    assert (BmsStatus.PARTIALLY_PAID, Settlement(overpayments=Decimal("50.00"))) == (
        update.status,
        update.settlement,
    )


def test_prepayment_allocation_removed(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """An allocation taken back in Xero makes the invoice due again."""
    pushed = engine.push(make_invoice(customer))
    assert customer.xero_contact_id is not None
    prepayment = xero.prepay(customer.xero_contact_id, amount=Decimal("115.00"))
    xero.clock.advance(60)
    allocation = xero.allocate(prepayment, pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    xero.clock.advance(60)
    xero.delete_allocation(prepayment, allocation)

    engine.pull()

    update = last_told(sink)["I-1"]
    assert (BmsStatus.AWAITING_PAYMENT, Decimal("115.00"), ()) == (
        update.status,
        update.amount_due,
        update.allocations,
    )


def test_voided_by_a_person_in_xero(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """Someone voids the invoice in Xero: the host is told, once."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.void(pushed.xero_invoice_id)
    engine.pull()
    engine.pull()
    [update] = sink.applied
    assert (BmsStatus.VOIDED, BmsStatus.AWAITING_PAYMENT) == (
        update.status,
        update.previous_status,
    )


def test_every_event_in_one_pull_matches_xero(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """Many events at once: what the sink was last told equals what Xero holds."""
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 7))
    ids = [o.unwrap().xero_invoice_id for o in outcomes]
    assert customer.xero_contact_id is not None
    xero.clock.advance(60)
    xero.pay(ids[0], amount=Decimal("10.00"))
    xero.delete_payment(xero.pay(ids[1], amount=Decimal("115.00")))
    xero.add_credit_note(ids[2], amount=Decimal("115.00"))
    xero.allocate(xero.prepay(customer.xero_contact_id, Decimal("60.00")), ids[3], Decimal("60.00"))
    xero.batch_pay([(ids[4], Decimal("1.00"))])
    xero.void(ids[5])

    engine.pull()

    told = last_told(sink)
    by_xero = {o.unwrap().xero_invoice_id: o.invoice_id for o in outcomes}
    assert {by_xero[i]: xero_money(xero, i) for i in ids if by_xero[i] != "I-2"} == {
        i: told_money(u) for i, u in told.items()
    }


# --- the outbox --------------------------------------------------------------------------------


def test_sink_that_raises_loses_nothing(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """A sink down for a while: deliver() brings every update once it is back, no Xero call."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("5.00"))
    sink.fail_with = RuntimeError("BMS database is down")
    for _ in range(2):
        try:
            engine.pull()
        except PaymentDeliveryFailed as e:
            assert "BMS database is down" in str(e)
    assert engine.panel("I-1").delivery_pending
    sink.fail_with = None
    xero.clear_requests()

    [update] = engine.deliver()

    assert ([update], [], False) == (
        sink.applied,
        xero.requests,
        engine.panel("I-1").delivery_pending,
    )
    assert [] == engine.deliver()


def test_no_sink_means_the_return_value_tells(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """Without a sink, pull() returns each update once."""
    engine = make_engine(xero, store)
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("5.00"))
    assert [Decimal("5.00")] == [u.amount_paid for u in engine.pull()]
    assert [] == engine.pull()


def test_push_results_are_not_news(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """Creating, updating and cancelling tell the host by their results: the sink hears
    nothing of them."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    engine.push(invoice, force=True)
    engine.cancel(invoice)
    engine.pull()
    assert [] == sink.applied


# --- pages that cannot skip --------------------------------------------------------------------


def test_invoice_changing_between_pages_skips_nothing(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, customer: Customer
) -> None:
    """2,500 credited invoices, and one on page 1 credited again after page 1 was read: page
    numbers would lose the first invoice of page 2; keyset paging sees every invoice."""
    engine = make_engine(xero, store, sink)
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 2501))
    ids = [o.unwrap().xero_invoice_id for o in outcomes]
    xero.clock.advance(60)
    for xero_id in ids:
        xero.clock.advance(0.01)  # a hundred changes a second: a busy organisation
        xero.add_credit_note(xero_id, amount=Decimal("1.00"))
    xero.on_answer(
        lambda: xero.add_credit_note(ids[0], amount=Decimal("1.00")), method="GET", path="/Invoices"
    )
    xero.clear_requests()

    engine.pull()

    told = last_told(sink)
    assert 2500 == len(told)
    by_xero = {o.unwrap().xero_invoice_id: o.invoice_id for o in outcomes}
    assert {by_xero[i]: xero_money(xero, i) for i in ids} == {
        i: told_money(u) for i, u in told.items()
    }
    assert Decimal("2.00") == told["I-1"].amount_credited
    # ceil(2500 / 1000) pages side by side, then page 1 once more: an invoice changed while
    # they were read, and that read shows nothing was skipped (see xero/_numbered.py).
    assert 4 == xero.count_requests("GET", "/Invoices")


# --- a host's own links ------------------------------------------------------------------------


def test_imported_link_brings_its_money(
    xero: FakeXero[Any], store: Any, sink: RecordingSink, customer: Customer
) -> None:
    """An invoice made by another integration, paid, then imported: the sink hears of the
    payment, and of one made after the import, even with no other link in the store."""
    other = make_engine(xero, MemoryStore()).push(make_invoice(customer))
    xero.pay(other.xero_invoice_id, amount=Decimal("15.00"))
    xero.clock.advance(60)
    engine = make_engine(xero, store, sink)

    panel = engine.import_link(
        invoice_id="I-1", invoice_number="INV-00001", xero_invoice_id=other.xero_invoice_id
    )
    xero.clock.advance(60)
    xero.pay(other.xero_invoice_id, amount=Decimal("100.00"))
    engine.pull()

    assert (True, BmsStatus.PARTIALLY_PAID) == (panel.linked, panel.status)
    assert [Decimal("15.00"), Decimal("115.00")] == [u.amount_paid for u in sink.applied]


def test_imported_link_must_match(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """A wrong number or an unknown id is refused, and no link is left behind."""
    engine = make_engine(xero, store)
    pushed = make_engine(xero, MemoryStore()).push(make_invoice(customer))
    with pytest.raises(ConfigurationError, match="not sales invoice 'INV-9'"):
        engine.import_link(
            invoice_id="I-9", invoice_number="INV-9", xero_invoice_id=pushed.xero_invoice_id
        )
    with pytest.raises(NotFound):
        engine.import_link(
            invoice_id="I-8",
            invoice_number="INV-8",
            xero_invoice_id="00000000-0000-0000-0000-000000000000",
        )
    assert (False, False) == (engine.panel("I-9").linked, engine.panel("I-8").linked)
