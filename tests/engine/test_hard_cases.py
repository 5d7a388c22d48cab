"""Hard cases found in review: renumbering, reused numbers, lost stores, races, big batches."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from bms_xero import Customer, LineItem
from bms_xero.engine import PushAction, SyncEngine
from bms_xero.errors import (
    BmsXeroError,
    InvoiceNumberConflict,
    InvoiceValidationError,
    UncertainOutcome,
)
from bms_xero.storage import MemoryStore
from bms_xero.storage._records import SyncState
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import make_engine, make_invoice, with_line, writes


def uncertain_create(xero: FakeXero[Any], engine: SyncEngine, invoice: Any) -> None:
    """A create that landed in Xero while the engine could neither hear nor look."""
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    xero.inject("offline_503", "GET", "/Invoices", times=1)
    assert not engine.push_many([invoice])[0].ok


def test_lost_store_then_changed_invoice_is_updated(
    xero: FakeXero[Any], customer: Customer
) -> None:
    """After sync state is lost and the invoice changed, the adopted Xero invoice is updated."""
    v1 = make_invoice(customer)
    make_engine(xero, MemoryStore()).push(v1)
    engine = make_engine(xero, MemoryStore())
    result = engine.push(with_line(v1, quantity=Decimal("9")))
    [held] = xero.invoices()
    assert (PushAction.ADOPTED, Decimal("9")) == (
        result.action,
        Decimal(str(held["LineItems"][0]["Quantity"])),
    )
    assert PushAction.UNCHANGED == engine.push(with_line(v1, quantity=Decimal("9"))).action


def test_renumbered_after_uncertain_create(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """An invoice renumbered after an uncertain create adopts and renames, never duplicates."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    uncertain_create(xero, engine, make_invoice(customer))
    result = engine.push(make_invoice(customer, number="INV-00001-R"))
    assert (PushAction.ADOPTED, ["INV-00001-R"]) == (
        result.action,
        [i["InvoiceNumber"] for i in xero.invoices()],
    )


def test_number_of_another_bms_invoice_is_a_conflict(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A second BMS invoice reusing a linked number is a conflict, not a shared link."""
    engine = make_engine(xero, store)
    first = make_invoice(customer, 1)
    engine.push(first)
    reuse = make_invoice(customer, 2, number=first.number)
    outcome = engine.push_many([reuse])[0]
    assert isinstance(outcome.error, InvoiceNumberConflict)
    assert "linked to BMS invoice I-1" in str(outcome.error)
    record = store.get(engine.tenant_id, "I-2")
    assert (SyncState.FAILED, None, None) == (
        record.state,
        record.xero_invoice_id,
        record.intent_key,
    )


def test_same_number_twice_in_one_push(engine: SyncEngine, customer: Customer) -> None:
    """Two invoices with one number in one push: the second is refused before sending."""
    outcomes = engine.push_many(
        [make_invoice(customer, 1), make_invoice(customer, 2, number="INV-00001")]
    )
    assert (True, True) == (outcomes[0].ok, "appears twice" in str(outcomes[1].error))


def test_comma_in_number_resolves(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """A number with a comma in it is looked up on its own, without failing its batch."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    invoices = [make_invoice(customer, 1, number="INV-1,A"), make_invoice(customer, 2)]
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    xero.inject("offline_503", "GET", "/Invoices", times=1)
    engine.push_many(invoices)
    assert [True, True] == [o.ok for o in engine.push_many(invoices)]
    assert 2 == len(xero.invoices())


def test_padded_number_refused() -> None:
    """A number with surrounding spaces is refused: Xero trims it and lookups would miss."""
    with pytest.raises(InvoiceValidationError) as caught:
        make_invoice(Customer(id="C", name="C"), number="INV-7 ")
    assert ("number",) == caught.value.paths


def test_lookup_runs_before_preflight(
    xero: FakeXero[Any], store: Any, sink: Any, customer: Customer
) -> None:
    """An uncertain create is linked even after its account was archived, so payments flow."""
    engine = make_engine(xero, store, sink, retry=RetryPolicy.none())
    uncertain_create(xero, engine, make_invoice(customer))
    xero.archive_account("200")
    outcome = engine.push_many([make_invoice(customer)])[0]
    assert outcome.ok and outcome.result is not None
    xero.clock.advance(60)
    xero.pay(outcome.result.xero_invoice_id, amount=Decimal("115.00"))
    assert 1 == len(engine.pull())


def test_maybe_applied_create_then_day_limit_is_uncertain(customer: Customer) -> None:
    """A resend stopped by the day limit after a maybe-applied try is uncertain, not failed."""
    from tests.engine.conftest import make_xero

    xero = make_xero(day_limit=4)  # the contact check and the reference data use it up
    contact = xero.add_contact(name="Acme Ltd")
    store = MemoryStore()
    engine = make_engine(xero, store)
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    outcome = engine.push_many([make_invoice(customer.with_xero_contact_id(contact))])[0]
    assert isinstance(outcome.error, BmsXeroError)
    record = store.get(engine.tenant_id, "I-1")
    assert record.state in (SyncState.UNCERTAIN, SyncState.PENDING)
    assert record.intent_key is not None  # the next push looks before creating


def test_client_reports_uncertain_after_maybe_applied(xero: FakeXero[Any]) -> None:
    """The client turns any failure after a maybe-applied write into UncertainOutcome."""
    client = xero.client(retry=RetryPolicy(max_attempts=2, base_delay=0, jitter=False))
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    xero.inject("http_500", "PUT", "/Invoices")
    with pytest.raises(UncertainOutcome):
        client.create_invoices([{"Type": "ACCREC", "InvoiceNumber": "X-1"}], idempotency_key="k-1")


def test_big_invoices_split_by_size(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Fifty large invoices are split under Xero's 3.5 MB body limit, all created."""
    lines = tuple(
        LineItem(
            description="x" * 700 + str(n),
            quantity=Decimal(1),
            unit_amount=Decimal("1.00"),
            account_code="200",
            tax_code="GST15",
        )
        for n in range(100)
    )
    outcomes = engine.push_many(make_invoice(customer, n, lines=lines) for n in range(1, 51))
    assert all(o.ok for o in outcomes)
    assert xero.count_requests("PUT", "/Invoices") >= 2


def test_unreachable_organisation_asked_once(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A failing /Organisation is not asked again for every invoice's link."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    xero.inject("offline_503", "GET", "/Organisation", times=None)
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 51))
    assert all(o.ok for o in outcomes)
    assert 1 == xero.count_requests("GET", "/Organisation")


def test_cancel_again_after_lost_answer(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Cancelling again after the void landed (answer lost) reports voided, not a credit note."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    xero.void(xero.invoices()[0]["InvoiceID"])  # as if an earlier cancel's answer was lost
    assert PushAction.VOIDED == engine.cancel(invoice).action


def test_cancel_unresolved_leaves_tombstone(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """Cancelling an invoice whose create never landed stops any later push creating it."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    invoice = make_invoice(customer)
    xero.inject("timeout_before_commit", "PUT", "/Invoices")
    xero.inject("offline_503", "GET", "/Invoices", times=1)
    engine.push_many([invoice])
    assert PushAction.VOIDED == engine.cancel(invoice).action
    assert not engine.push_many([invoice])[0].ok
    assert [] == xero.invoices()


def test_cancel_error_names_invoice(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """A failed cancel names the invoice and shows on the panel."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    invoice = make_invoice(customer)
    engine.push(invoice)
    xero.inject("offline_503", "POST", "/Invoices", times=1)
    with pytest.raises(BmsXeroError) as caught:
        engine.cancel(invoice)
    assert str(caught.value).startswith("invoice INV-00001: ")
    assert str(caught.value) == engine.panel("I-1").last_error


def test_unchanged_push_clears_old_error(engine: SyncEngine, customer: Customer) -> None:
    """An invoice reverted to what Xero has pushes as unchanged and clears the old error."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    engine.push_many([with_line(invoice, account_code="999")])
    assert engine.panel("I-1").last_error is not None
    assert PushAction.UNCHANGED == engine.push(invoice).action
    assert None is engine.panel("I-1").last_error


def test_sync_on_cancelled_invoice_only_pulls(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """The sync button on a cancelled invoice refreshes it instead of failing."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    engine.cancel(invoice)
    before = writes(xero)
    assert "voided" == engine.sync(invoice).state
    assert before == writes(xero)


def test_older_snapshot_never_overwrites(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """A pulled snapshot older than the record's is not applied: a push lands between the
    pull's read and its write."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    xero.clock.advance(60)
    xero.on_answer(
        lambda: engine.push(with_line(invoice, quantity=Decimal("3"))),
        method="GET",
        path="/Invoices",
    )
    assert [] == engine.pull_invoices(["I-1"])
    assert Decimal("172.50") == store.get(engine.tenant_id, "I-1").total


def test_unchanged_skips_reference_reads(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """Unchanged invoices need no chart of accounts, even when Xero can't provide one."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    invoice = make_invoice(customer)
    engine.push(invoice)
    fresh = SyncEngine(
        client=xero.client(retry=RetryPolicy.none()),
        store=store,
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
    )
    xero.inject("offline_503", "GET", "/Accounts", times=None)
    assert PushAction.UNCHANGED == fresh.push(invoice).action


def test_cancel_while_the_create_is_in_flight_voids_what_landed(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The BMS cancels an invoice while its create is in flight and every answer is lost:
    the push looks it up, links what landed and voids it, so nothing live is left unlinked."""
    invoice = make_invoice(customer)
    pusher, canceller = make_engine(xero, store), make_engine(xero, store)
    cancelled: list[Any] = []

    def cancel_meanwhile(request: Any) -> None:
        if request.method == "PUT" and request.path == "/Invoices" and not cancelled:
            cancelled.append(canceller.cancel(invoice))

    xero.in_flight_hook = cancel_meanwhile
    xero.inject("timeout_after_commit", "PUT", "/Invoices", times=4)
    [outcome] = pusher.push_many([invoice])
    xero.in_flight_hook = None
    [held] = xero.invoices()
    assert (False, "VOIDED") == (outcome.ok, held["Status"])
    assert "voided" in str(outcome.error)
    record = store.get(pusher.tenant_id, "I-1")
    assert (SyncState.VOIDED, held["InvoiceID"]) == (record.state, record.xero_invoice_id)


def test_a_refused_repeat_does_not_claim_its_number(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """The second copy of I-1 is refused; a third invoice with the number the refused copy
    carried is still pushed."""
    first = make_invoice(customer, 1)
    repeat = attrs.evolve(make_invoice(customer, 2), id="I-1")
    third = make_invoice(customer, 2)
    outcomes = engine.push_many([first, repeat, third])
    assert [True, False, True] == [o.ok for o in outcomes]
