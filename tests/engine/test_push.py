"""Pushing invoices: create, skip, update, batch, preflight and exactly-once under failure."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from bms_xero import Customer, LineItem
from bms_xero.engine import PushAction, SyncEngine
from bms_xero.errors import (
    AccountCodeError,
    CreditNoteRequired,
    InvoiceNumberConflict,
    MissingContactId,
    TaxCodeError,
    XeroValidationError,
)
from bms_xero.storage import MemoryStore
from bms_xero.storage._records import SyncState
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import (
    TAX_MAP,
    make_engine,
    make_invoice,
    with_line,
    writes,
    xero_by_number,
)


def test_push_creates_one_xero_invoice(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """A first push creates the Xero invoice with Xero's totals and links it."""
    result = engine.push(make_invoice(customer))
    [stored] = xero.invoices()
    assert (PushAction.CREATED, stored["InvoiceID"], Decimal("115.00")) == (
        result.action,
        result.xero_invoice_id,
        result.total,
    )
    assert ("INV-00001", "AUTHORISED", "OUTPUT2", "2026-02-05") == (
        stored["InvoiceNumber"],
        stored["Status"],
        stored["LineItems"][0]["TaxType"],
        stored["DueDateString"][:10],
    )
    assert result.pushed_at == xero.clock.now()


def test_push_records_link(engine: SyncEngine, store: Any, customer: Customer) -> None:
    """The sync record holds the link, the content fingerprint and no intent."""
    result = engine.push(make_invoice(customer))
    record = store.get(engine.tenant_id, "I-1")
    assert (SyncState.PUSHED, result.xero_invoice_id, None) == (
        record.state,
        record.xero_invoice_id,
        record.intent_key,
    )


def test_unchanged_push_sends_nothing(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Pushing the same content again makes no write request."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    before = writes(xero)
    assert PushAction.UNCHANGED == engine.push(invoice).action
    assert before == writes(xero)


def test_changed_invoice_updates_same_xero_invoice(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """A corrected invoice updates the one linked Xero invoice, all lines resent."""
    invoice = make_invoice(customer)
    first = engine.push(invoice)
    corrected = attrs.evolve(
        with_line(invoice, quantity=Decimal("3")),
        lines=(
            *with_line(invoice, quantity=Decimal("3")).lines,
            LineItem(
                description="Delivery",
                quantity=Decimal(1),
                unit_amount=Decimal("10.00"),
                account_code="260",
                tax_code="ZERO",
            ),
        ),
    )
    second = engine.push(corrected)
    [stored] = xero.invoices()
    assert (PushAction.UPDATED, first.xero_invoice_id, Decimal("182.50")) == (
        second.action,
        second.xero_invoice_id,
        Decimal(str(stored["Total"])),
    )
    assert ["Widget", "Delivery"] == [line["Description"] for line in stored["LineItems"]]


def test_forced_push_resends(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """force=True sends an unchanged invoice again, as an update."""
    invoice = make_invoice(customer)
    engine.push(invoice)
    assert PushAction.UPDATED == engine.push(invoice, force=True).action
    assert 1 == xero.count_requests("POST", "/Invoices")


def test_rounding_difference_reported(engine: SyncEngine, customer: Customer) -> None:
    """The push reports Xero's total minus the BMS's own total."""
    lines = tuple(
        LineItem(
            description=f"W{i}",
            quantity=Decimal(1),
            unit_amount=Decimal("25.42"),
            account_code="200",
            tax_code="GST15",
        )
        for i in range(3)
    )
    result = engine.push(make_invoice(customer, lines=lines, total=Decimal("87.70")))
    assert (Decimal("87.69"), Decimal("-0.01")) == (result.total, result.rounding_difference)


def test_batches_of_fifty(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """120 new invoices go in three create requests, each with its own result."""
    outcomes = engine.push_many(make_invoice(customer, n) for n in range(1, 121))
    assert all(o.ok for o in outcomes)
    assert 3 == xero.count_requests("PUT", "/Invoices")
    assert 120 == len(xero.invoices())


class CursorCountingStore(MemoryStore):
    """A MemoryStore that counts its cursor reads."""

    def __init__(self) -> None:
        super().__init__()
        self.cursor_reads = 0

    def get_cursor(self, tenant_id: str, name: str) -> Any:
        self.cursor_reads += 1
        return super().get_cursor(tenant_id, name)


def test_cursors_seeded_once_per_batch_at_the_earliest_link(
    xero: FakeXero[Any], customer: Customer
) -> None:
    """A write's links seed the pull cursors with one look at them per round of requests
    sent side by side (per request when sent one at a time), not one per invoice, and from
    the earliest invoice any of them linked, whichever answered first."""
    for max_in_flight, looks in ((5, 2), (1, 6)):
        store = CursorCountingStore()
        engine = SyncEngine(
            client=xero.client(retry=RetryPolicy.seeded(7)),
            store=store,
            tax_map=TAX_MAP,
            clock=xero.clock,
            max_in_flight=max_in_flight,
        )
        first_number = 1000 * max_in_flight
        puts = xero.count_requests("PUT", "/Invoices")
        outcomes = engine.push_many(
            make_invoice(customer, n) for n in range(first_number, first_number + 120)
        )
        first = min(r.xero_updated_at for r in store.iter_records(engine.tenant_id))
        assert (looks, 3) == (
            store.cursor_reads,
            xero.count_requests("PUT", "/Invoices") - puts,
        )
        assert all(o.ok for o in outcomes)
        assert first == store.get_cursor(engine.tenant_id, "invoices")


def test_one_bad_invoice_spares_the_rest(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """An invoice Xero rejects fails alone; the others in its batch are created."""
    stranger = Customer(
        id="C-X", name="Ghost", xero_contact_id="00000000-0000-0000-0000-0000000000aa"
    )
    invoices = [make_invoice(customer, 1), make_invoice(stranger, 2), make_invoice(customer, 3)]
    outcomes = engine.push_many(invoices)
    assert [True, False, True] == [o.ok for o in outcomes]
    assert isinstance(outcomes[1].error, XeroValidationError)
    assert str(outcomes[1].error).startswith("invoice INV-00002: ")
    assert ["INV-00001", "INV-00003"] == sorted(xero_by_number(xero))


def test_preflight_failures_send_nothing(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """Missing contact id, bad account code and bad tax code fail before any write."""
    unlinked = Customer(id="C-9", name="New Co")
    cases = [
        (make_invoice(unlinked, 1), MissingContactId),
        (with_line(make_invoice(customer, 2), account_code="999"), AccountCodeError),
        (with_line(make_invoice(customer, 3), account_code="210"), AccountCodeError),
        (with_line(make_invoice(customer, 4), tax_code="NOPE"), TaxCodeError),
        (with_line(make_invoice(customer, 5), tax_code="OLD"), TaxCodeError),
        (with_line(make_invoice(customer, 6), tax_code="IN"), TaxCodeError),
    ]
    outcomes = engine.push_many(inv for inv, _ in cases)
    assert [kind for _, kind in cases] == [type(o.error) for o in outcomes]
    assert 0 == writes(xero)
    record = store.get(engine.tenant_id, "I-2")
    assert (SyncState.FAILED, True) == (record.state, "'999'" in record.last_error)


def test_preflight_message_names_invoice_and_fix(engine: SyncEngine) -> None:
    """The error for an unlinked customer names the invoice and the one-call fix."""
    with pytest.raises(MissingContactId) as caught:
        engine.push(make_invoice(Customer(id="C-9", name="New Co")))
    assert str(caught.value).startswith("invoice INV-00001: customer C-9 (New Co) has no Xero")
    assert "link_customer" in str(caught.value)


def test_reference_data_cached_for_a_batch(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Many invoices cost the chart of accounts and tax rates once."""
    engine.push_many(make_invoice(customer, n) for n in range(1, 101))
    engine.push_many(make_invoice(customer, n) for n in range(101, 201))
    assert (1, 1) == (
        xero.count_requests("GET", "/Accounts"),
        xero.count_requests("GET", "/TaxRates"),
    )


def test_new_account_found_by_one_refresh(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """A code added in Xero after caching is found by refreshing once."""
    engine.push(make_invoice(customer, 1))
    xero.add_account(code="270", name="Interest Income", type="REVENUE")
    result = engine.push(with_line(make_invoice(customer, 2), account_code="270"))
    assert (PushAction.CREATED, 2) == (result.action, xero.count_requests("GET", "/Accounts"))


def test_cached_reference_expires(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """Reference data is read again once its TTL has passed."""
    engine = SyncEngine(
        client=xero.client(),
        store=store,
        tax_map={"GST15": "OUTPUT2"},
        clock=xero.clock,
        reference_ttl=60,
    )
    engine.push(make_invoice(customer, 1))
    xero.clock.advance(61)
    engine.push(make_invoice(customer, 2))
    assert 2 == xero.count_requests("GET", "/TaxRates")


def test_linked_customer_used_by_push(xero: FakeXero[Any], engine: SyncEngine) -> None:
    """After link_customer, invoices of the plain BMS customer push with the stored link."""
    plain = Customer(id="C-7", name="Globex")
    linked = engine.link_customer(plain)
    result = engine.push(make_invoice(plain))
    assert linked.xero_contact_id == xero.invoice(result.xero_invoice_id)["Contact"]["ContactID"]


def test_link_customer_finds_by_contact_number(xero: FakeXero[Any], engine: SyncEngine) -> None:
    """An existing contact with the customer's ContactNumber is linked, not duplicated."""
    existing = xero.add_contact(name="Initech", contact_number="C-8")
    assert existing == engine.link_customer(Customer(id="C-8", name="Initech")).xero_contact_id
    assert 1 == len([c for c in xero.contacts() if c["Name"] == "Initech"])


def test_link_customer_creates_with_contact_number(xero: FakeXero[Any], engine: SyncEngine) -> None:
    """A customer unknown to Xero becomes a contact whose ContactNumber is the BMS id."""
    linked = engine.link_customer(Customer(id="C-5", name="Umbrella", email="ap@umbrella.test"))
    [made] = [c for c in xero.contacts() if c["ContactID"] == linked.xero_contact_id]
    assert ("Umbrella", "C-5") == (made["Name"], made["ContactNumber"])
    assert (
        linked.xero_contact_id
        == engine.link_customer(Customer(id="C-5", name="Umbrella")).xero_contact_id
    )


# --- exactly once under failure ------------------------------------------------------------


def test_timeout_after_commit_retried_with_same_key(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """A create whose answer was lost is resent with the same key: one Xero invoice."""
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    result = engine.push(make_invoice(customer))
    assert [result.xero_invoice_id] == [i["InvoiceID"] for i in xero.invoices()]


def test_uncertain_create_resolved_by_lookup(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """With no retries, an uncertain create is found by number and adopted, not duplicated."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    result = engine.push(make_invoice(customer))
    assert PushAction.ADOPTED == result.action
    assert (1, 1) == (len(xero.invoices()), xero.count_requests("PUT", "/Invoices"))


def test_uncertain_not_committed_creates_after_lookup(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """An uncertain create that never landed is looked up, then created once."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    xero.inject("timeout_before_commit", "PUT", "/Invoices")
    result = engine.push(make_invoice(customer))
    assert (PushAction.CREATED, 1) == (result.action, len(xero.invoices()))
    assert 1 == xero.count_requests("GET", "/Invoices")


def test_uncertain_left_for_next_push_when_xero_stays_down(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """If Xero can't be asked either, the record stays uncertain and the next push adopts."""
    engine = make_engine(xero, store, retry=RetryPolicy.none())
    xero.inject("timeout_after_commit", "PUT", "/Invoices")
    xero.inject("offline_503", "GET", "/Invoices", times=1)
    outcome = engine.push_many([make_invoice(customer)])[0]
    assert not outcome.ok
    assert SyncState.UNCERTAIN == store.get(engine.tenant_id, "I-1").state
    assert PushAction.ADOPTED == engine.push(make_invoice(customer)).action
    assert 1 == len(xero.invoices())


class Crash(BaseException):
    """The process dying between Xero's answer and our write."""


class CrashAfterCreate:
    """A store that dies on the first write after an intent was stored."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, record: Any, *, expected_version: int | None) -> Any:
        self._die_on_a_link([record])
        return self.inner.put(record, expected_version=expected_version)

    def put_many(self, records: Any) -> Any:
        self._die_on_a_link([record for record, _ in records])
        return self.inner.put_many(records)

    def _die_on_a_link(self, records: list[Any]) -> None:
        """The first write that links a record (Xero answered) is where the process dies."""
        if self.armed and any(record.state is SyncState.PUSHED for record in records):
            self.armed = False
            raise Crash


def test_crash_between_answer_and_write(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A crash after Xero created the invoice leaves an intent the next push adopts."""
    crashing = make_engine(xero, CrashAfterCreate(store))
    with pytest.raises(Crash):
        crashing.push(make_invoice(customer))
    assert SyncState.PENDING == store.get(crashing.tenant_id, "I-1").state
    result = make_engine(xero, store).push(make_invoice(customer))
    assert (PushAction.ADOPTED, 1) == (result.action, len(xero.invoices()))
    # Looked up before creating: the only create is the one that crashed.
    assert 1 == xero.count_requests("PUT", "/Invoices")


def test_crash_then_changed_invoice_adopts_and_updates(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """If the BMS changed the invoice after a crash, the adopted invoice is updated."""
    invoice = make_invoice(customer)
    with pytest.raises(Crash):
        make_engine(xero, CrashAfterCreate(store)).push(invoice)
    result = make_engine(xero, store).push(with_line(invoice, quantity=Decimal("5")))
    [stored] = xero.invoices()
    assert (PushAction.ADOPTED, "5") == (
        result.action,
        str(stored["LineItems"][0]["Quantity"]).rstrip("0."),
    )


def test_number_held_by_other_contact_is_conflict(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A number taken in Xero by another contact's invoice is reported, never adopted."""
    other = Customer(id="C-2", name="Other", xero_contact_id=xero.add_contact(name="Other"))
    make_engine(xero, MemoryStore()).push(make_invoice(other, 1, id="OTHER-1"))
    engine = make_engine(xero, store)
    with pytest.raises(InvoiceNumberConflict) as caught:
        engine.push(make_invoice(customer, 1))
    assert "renumber" in str(caught.value)
    assert 1 == len(xero.invoices())


def test_lost_store_adopts_by_number(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """With its sync state lost, a re-push adopts the invoice Xero already has."""
    first = make_engine(xero, MemoryStore()).push(make_invoice(customer))
    result = make_engine(xero, store).push(make_invoice(customer))
    assert (PushAction.ADOPTED, first.xero_invoice_id) == (result.action, result.xero_invoice_id)
    assert 1 == len(xero.invoices())


# --- corrections and cancelling ------------------------------------------------------------


def test_paid_invoice_needs_credit_note(
    xero: FakeXero[Any], engine: SyncEngine, store: Any, customer: Customer
) -> None:
    """Changing an invoice Xero shows as paid raises CreditNoteRequired and changes nothing."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("50.00"))
    before = store.get(engine.tenant_id, "I-1")
    with pytest.raises(CreditNoteRequired) as caught:
        engine.push(with_line(invoice, quantity=Decimal("3")))
    after = store.get(engine.tenant_id, "I-1")
    assert (before.fingerprint, before.xero_invoice_id) == (
        after.fingerprint,
        after.xero_invoice_id,
    )
    assert "credit note" in str(caught.value)
    assert (
        "This document cannot be edited as it has a payment or credit note allocated to it.",
    ) == caught.value.xero_messages


def test_known_paid_refused_without_request(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """Once a pull has seen a payment, a change is refused before any request."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("115.00"))
    engine.pull()
    before = writes(xero)
    with pytest.raises(CreditNoteRequired):
        engine.push(with_line(invoice, quantity=Decimal("3")))
    assert before == writes(xero)


def test_cancel_voids(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """Cancelling a released invoice voids it in Xero; pushing it again is refused."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    assert PushAction.VOIDED == engine.cancel(invoice).action
    assert "VOIDED" == xero.invoice(pushed.xero_invoice_id)["Status"]
    outcome = engine.push_many([invoice])[0]
    assert "cancelled" in str(outcome.error)


def test_cancel_draft_deletes(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """A draft is deleted rather than voided (Xero can't void drafts)."""
    invoice = make_invoice(customer, status="DRAFT")
    pushed = engine.push(invoice)
    engine.cancel(invoice)
    assert "DELETED" == xero.invoice(pushed.xero_invoice_id)["Status"]


def test_cancel_paid_needs_credit_note(
    xero: FakeXero[Any], engine: SyncEngine, customer: Customer
) -> None:
    """A paid invoice can't be voided: CreditNoteRequired, and Xero keeps it."""
    invoice = make_invoice(customer)
    pushed = engine.push(invoice)
    xero.pay(pushed.xero_invoice_id, amount=Decimal("10.00"))
    with pytest.raises(CreditNoteRequired):
        engine.cancel(invoice)
    assert "AUTHORISED" == xero.invoice(pushed.xero_invoice_id)["Status"]


def test_tenants_are_separate(xero: FakeXero[Any], store: Any, customer: Customer) -> None:
    """The same BMS invoice id in two organisations makes one Xero invoice in each."""
    other = xero.add_tenant(name="Second Org")
    xero.add_account(code="200", name="Sales", type="REVENUE", tenant_id=other)
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST", rate=Decimal("15"), tenant_id=other)
    contact = xero.add_contact(name="Acme Ltd", tenant_id=other)
    first = make_engine(xero, store)
    second = SyncEngine(
        client=xero.client(other), store=store, tax_map={"GST15": "OUTPUT2"}, clock=xero.clock
    )
    first.push(make_invoice(customer))
    second.push(make_invoice(customer.with_xero_contact_id(contact)))
    assert (1, 1) == (len(xero.invoices()), len(xero.invoices(other)))
    assert second.panel("I-1").xero_invoice_id != first.panel("I-1").xero_invoice_id


def test_updates_go_in_batches(xero: FakeXero[Any], engine: SyncEngine, customer: Customer) -> None:
    """120 changed invoices are updated with three requests, each keeping its Xero invoice."""
    invoices = [make_invoice(customer, n) for n in range(1, 121)]
    first = {o.invoice_id: o.unwrap().xero_invoice_id for o in engine.push_many(invoices)}
    xero.clear_requests()
    outcomes = engine.push_many(with_line(inv, quantity=Decimal("3")) for inv in invoices)
    assert {PushAction.UPDATED} == {o.unwrap().action for o in outcomes}
    assert first == {o.invoice_id: o.unwrap().xero_invoice_id for o in outcomes}
    assert (3, 0, 120) == (
        xero.count_requests("POST", "/Invoices"),
        xero.count_requests("PUT", "/Invoices"),
        len(xero.invoices()),
    )
