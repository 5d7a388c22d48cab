"""Pulling payments and statuses back, the panel, and the manual sync button."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from bms_xero import Customer
from bms_xero.engine import BmsStatus, SyncEngine
from bms_xero.engine._results import Panel
from bms_xero.errors import PaymentDeliveryFailed
from bms_xero.storage import MemoryStore
from bms_xero.testing import FakeXero
from tests.engine.conftest import RecordingSink, make_engine, make_invoice, with_line


def test_pull_applies_payments(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """A payment made in Xero reaches the sink and the record, with absolute amounts."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(3600)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("15.00"))
    [update] = engine.pull()
    assert [update] == sink.applied
    assert (BmsStatus.PARTIALLY_PAID, Decimal("15.00"), Decimal("100.00"), "I-1") == (
        update.status,
        update.amount_paid,
        update.amount_due,
        update.invoice_id,
    )
    panel = engine.panel("I-1")
    assert (Decimal("100.00"), xero.clock.now()) == (panel.amount_due, panel.last_pull_at)


def test_full_payment_marks_paid(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Paying in full gives status paid and the date it was fully paid."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(86400)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    [update] = engine.pull()
    assert (BmsStatus.PAID, Decimal(0), xero.clock.now().date()) == (
        update.status,
        update.amount_due,
        update.fully_paid_on,
    )
    assert 1 == len(update.payments)


def test_second_pull_is_empty(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """Nothing changed since the last pull means no updates."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("1.00"))
    engine.pull()
    xero.clock.advance(60)
    assert [] == engine.pull()


def test_pull_uses_cursor(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """Later pulls ask Xero only for what changed since the cursor."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("1.00"))
    engine.pull()
    xero.clear_requests()
    engine.pull()
    invoice_reads = [r for r in xero.requests if r.method == "GET" and r.path == "/Invoices"]
    assert invoice_reads and all("if-modified-since" in r.headers for r in invoice_reads)


def test_reversed_payment(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """A payment deleted in Xero brings the invoice back to awaiting payment."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    payment = xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    xero.clock.advance(60)
    xero.delete_payment(payment)
    [update] = engine.pull()
    assert (BmsStatus.AWAITING_PAYMENT, BmsStatus.PAID, Decimal("115.00")) == (
        update.status,
        update.previous_status,
        update.amount_due,
    )


def test_voided_in_xero(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """An invoice voided in Xero shows as voided after a pull."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.void(pushed.xero_invoice_id)
    [update] = engine.pull()
    assert BmsStatus.VOIDED == update.status


def test_credit_note(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """A credit note allocated in Xero shows as credited."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.add_credit_note(pushed.xero_invoice_id, amount=Decimal("115.00"))
    [update] = engine.pull()
    assert (BmsStatus.CREDITED, Decimal("115.00")) == (update.status, update.amount_credited)


def test_unlinked_invoices_ignored(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Invoices made in Xero by others produce no updates."""
    engine.push(make_invoice(customer))
    xero.clock.advance(60)
    # Someone else's integration (its own sync state) creates and is paid for another one.
    other = make_engine(xero, MemoryStore()).push(make_invoice(customer, 99))
    xero.pay(other.xero_invoice_id, amount=Decimal("1.00"))
    assert [] == engine.pull()


def test_sink_failure_keeps_cursor(
    xero: FakeXero[Any], engine: SyncEngine, sink: RecordingSink, customer: Customer
) -> None:
    """If the host fails to apply an update, the next pull delivers it again."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("5.00"))
    sink.fail_with = RuntimeError("BMS database is down")
    with pytest.raises(PaymentDeliveryFailed) as caught:
        engine.pull()
    [(refused, error)] = caught.value.failures
    assert ("I-1", "BMS database is down") == (refused.invoice_id, str(error))
    sink.fail_with = None
    [update] = engine.pull()
    assert Decimal("5.00") == update.amount_paid


def test_payment_without_invoice_timestamp_is_seen(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """An invoice changed before the invoice cursor is still found through its payment."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(60)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("5.00"))
    # Pretend Xero did not bump the invoice: move the invoice cursor past the payment.
    store.set_cursor(engine.tenant_id, "invoices", xero.clock.now() + timedelta(hours=1))
    [update] = engine.pull()
    assert Decimal("5.00") == update.amount_paid


def test_cursor_follows_xero_time(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """Cursors advance to Xero's UpdatedDateUTC of what was read."""
    pushed = engine.push(make_invoice(customer))
    xero.clock.advance(600)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("5.00"))
    engine.pull()
    from bms_xero.mapping._dates import parse_datetime

    updated = parse_datetime(xero.invoice(pushed.xero_invoice_id)["UpdatedDateUTC"])
    assert updated == store.get_cursor(engine.tenant_id, "invoices")


def test_targeted_pull(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """pull_invoices refreshes the named invoices without moving the cursors."""
    a = engine.push(make_invoice(customer, 1))
    engine.push(make_invoice(customer, 2))
    cursor = store.get_cursor(engine.tenant_id, "invoices")
    xero.clock.advance(60)
    xero.pay(a.xero_invoice_id, amount=Decimal("7.00"))
    [update] = engine.pull_invoices(["I-1", "I-2", "never-pushed"])
    assert ("I-1", cursor) == (update.invoice_id, store.get_cursor(engine.tenant_id, "invoices"))


def test_pull_cost_for_many_paid(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Pulling 300 paid invoices costs one invoice page and one payment page."""
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 301))
    xero.clock.advance(60)
    for o in outcomes:
        assert o.result is not None
        xero.pay(o.result.xero_invoice_id, amount=Decimal("115.00"))
    xero.clear_requests()
    assert 300 == len(engine.pull())
    assert (1, 1) == (
        xero.count_requests("GET", "/Invoices"),
        xero.count_requests("GET", "/Payments"),
    )


# --- panel and sync ------------------------------------------------------------------------


def test_panel_never_pushed(engine: SyncEngine) -> None:
    """An invoice never pushed has an empty panel, not an error."""
    assert Panel(invoice_id="I-404") == engine.panel("I-404")


def test_panel_after_push(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """After a push the panel links to the invoice in the right organisation."""
    pushed = engine.push(make_invoice(customer))
    panel = engine.panel("I-1")
    assert (True, pushed.xero_invoice_id, xero.clock.now(), None) == (
        panel.linked,
        panel.xero_invoice_id,
        panel.last_push_at,
        panel.last_pull_at,
    )
    assert panel.view_url == (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=%21Demo1&redirecturl="
        f"/AccountsReceivable/View.aspx?InvoiceID={pushed.xero_invoice_id}"
    )
    assert (BmsStatus.AWAITING_PAYMENT, Decimal("115.00")) == (panel.status, panel.total)


def test_panel_shows_last_error(engine: SyncEngine, customer: Customer) -> None:
    """A failed push shows its error on the panel, naming what to fix."""
    engine.push_many([with_line(make_invoice(customer), tax_code="NOPE")])
    panel = engine.panel("I-1")
    assert (False, True) == (panel.linked, "add it to the tax map" in (panel.last_error or ""))


def test_panel_clears_error_after_success(engine: SyncEngine, customer: Customer) -> None:
    """A later successful push clears the panel's error."""
    engine.push_many([with_line(make_invoice(customer), account_code="999")])
    engine.push(make_invoice(customer))
    assert None is engine.panel("I-1").last_error


def test_panel_without_short_code_when_xero_down(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """If the organisation can't be read, the link still opens the invoice; and the panel
    never asks Xero (its link was stored with the push)."""
    xero.inject("offline_503", "GET", "/Organisation", times=None)
    pushed = engine.push(make_invoice(customer))
    fresh = SyncEngine(client=xero.client(retry=None), store=store, tax_map={}, clock=xero.clock)
    xero.clear_requests()
    assert (
        f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={pushed.xero_invoice_id}"
    ) == fresh.panel("I-1").view_url
    assert [] == xero.requests


def test_sync_button_pushes_and_pulls(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """The sync button resends the invoice and refreshes it from Xero."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    xero.clock.advance(60)
    panel = engine.sync(invoice)
    assert (1, xero.clock.now(), xero.clock.now()) == (
        xero.count_requests("POST", "/Invoices"),
        panel.last_push_at,
        panel.last_pull_at,
    )


def test_sync_button_on_paid_invoice_only_pulls(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """On a paid, unchanged invoice the button refreshes without a doomed edit."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    panel = engine.sync(invoice)
    assert (0, BmsStatus.PAID) == (xero.count_requests("POST", "/Invoices"), panel.status)
