"""Credit notes: corrections after payment become Xero credit notes, allocated once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import attrs
import pytest

from bms_xero import CreditNote, Customer, LineItem
from bms_xero.engine import PushAction, SyncEngine
from bms_xero.engine.credit_plan import IN_FLIGHT, OverCredit
from bms_xero.errors import (
    CorrectionNotACredit,
    CreditNoteChanged,
    CreditNoteExceedsAmountDue,
    CreditNoteMismatch,
    CreditNoteNumberTaken,
    CreditNoteRequired,
    PushInProgress,
    TaxCodeError,
    UncertainOutcome,
)
from bms_xero.storage import CreditNoteState
from bms_xero.testing import FakeXero
from tests.engine.conftest import TAX_MAP, RecordingSink, make_engine, make_invoice, with_line

D = Decimal


def credit(customer: Customer, amount: str = "20.00", n: int = 1, **overrides: Any) -> CreditNote:
    values: dict[str, Any] = {
        "id": f"CN-{n}",
        "number": f"CN-{n:05d}",
        "invoice_id": "I-1",
        "customer": customer,
        "issue_date": date(2026, 1, 20),
        "lines": (
            LineItem(
                description="Refund for a broken widget",
                quantity=D("1"),
                unit_amount=D(amount),
                account_code="200",
                tax_code="GST15",
            ),
        ),
    }
    return CreditNote(**(values | overrides))


def paid_invoice(xero: FakeXero[Any], engine: SyncEngine, customer: Customer, paid: str) -> str:
    """INV-00001 for 115.00 pushed, with ``paid`` paid in Xero; its Xero id."""
    pushed = engine.push(make_invoice(customer))
    assert pushed.xero_invoice_id is not None
    if D(paid):
        xero.pay(pushed.xero_invoice_id, D(paid))
    return pushed.xero_invoice_id


class TestPushCreditNote:
    def test_a_credit_note_is_created_and_allocated(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer, sink: RecordingSink
    ) -> None:
        """A correction after a part payment: one ACCRECCREDIT note, allocated to the invoice,
        and the host is told the invoice is credited."""
        xero_id = paid_invoice(xero, engine, customer, "50.00")

        result = engine.push_credit_note(credit(customer))

        [note] = xero.credit_notes()
        invoice = xero.invoice(xero_id)
        assert (PushAction.CREATED, CreditNoteState.ALLOCATED, D("23.00"), D("23.00"), D(0)) == (
            result.action,
            result.state,
            result.total,
            result.allocated,
            result.refund_due,
        )
        assert ("CN-00001", "ACCRECCREDIT", D("23.00"), D("0.00")) == (
            note["CreditNoteNumber"],
            note["Type"],
            note["Total"],
            note["RemainingCredit"],
        )
        assert (D("23.00"), D("42.00")) == (invoice["AmountCredited"], invoice["AmountDue"])
        last = sink.applied[-1]
        assert (D("23.00"), D("42.00"), D("23.00")) == (
            last.amount_credited,
            last.amount_due,
            last.settlement.credited,
        )
        assert [(note["CreditNoteID"], result.view_url)] == list(last.credit_note_urls)

    def test_pushing_again_sends_nothing(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """A credit note Xero has is never created or allocated again."""
        paid_invoice(xero, engine, customer, "50.00")
        engine.push_credit_note(credit(customer))
        xero.clear_requests()

        again = engine.push_credit_note(credit(customer))

        writes = [r for r in xero.requests if r.api == "accounting" and r.method in ("PUT", "POST")]
        assert (PushAction.UNCHANGED, [], 1) == (again.action, writes, len(xero.credit_notes()))

    def test_more_than_is_owed_is_refused_before_any_write(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """A credit note worth more than the invoice owes: a typed error, nothing sent."""
        paid_invoice(xero, engine, customer, "100.00")  # 15.00 still owed
        xero.clear_requests()

        with pytest.raises(CreditNoteExceedsAmountDue) as raised:
            engine.push_credit_note(credit(customer))

        writes = [r for r in xero.requests if r.api == "accounting" and r.method in ("PUT", "POST")]
        assert ([], D("23.00"), D("15.00"), "CN-00001", "INV-00001") == (
            writes,
            raised.value.total,
            raised.value.amount_due,
            raised.value.credit_note_number,
            raised.value.invoice_number,
        )
        assert "OverCredit.ALLOCATE_DUE" in str(raised.value)
        assert str(raised.value).startswith("credit note CN-00001 (invoice INV-00001): ")

    def test_allocate_due_leaves_a_refund(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """ALLOCATE_DUE allocates what is owed; the rest is credit to refund."""
        xero_id = paid_invoice(xero, engine, customer, "100.00")

        result = engine.push_credit_note(credit(customer), over_credit=OverCredit.ALLOCATE_DUE)

        [note] = xero.credit_notes()
        assert (D("15.00"), D("8.00"), D("8.00"), "PAID") == (
            result.allocated,
            result.refund_due,
            note["RemainingCredit"],
            xero.invoice(xero_id)["Status"],
        )

    def test_leave_unallocated_allocates_nothing(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """LEAVE_UNALLOCATED creates it and leaves all of it as credit."""
        xero_id = paid_invoice(xero, engine, customer, "100.00")

        result = engine.push_credit_note(credit(customer), over_credit=OverCredit.LEAVE_UNALLOCATED)

        assert (CreditNoteState.UNALLOCATED, D(0), D("23.00"), D("15.00")) == (
            result.state,
            result.allocated,
            result.refund_due,
            xero.invoice(xero_id)["AmountDue"],
        )

    def test_an_invoice_never_pushed_is_refused(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """The invoice must be in Xero first; nothing is sent."""
        with pytest.raises(CreditNoteMismatch) as raised:
            engine.push_credit_note(credit(customer))

        assert ("not_pushed", []) == (raised.value.reason, xero.credit_notes())

    def test_another_customer_is_refused(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """Xero allocates only to the same contact: refused before any write."""
        paid_invoice(xero, engine, customer, "0")
        other = Customer(id="C-2", name="Other", xero_contact_id=xero.add_contact(name="Other"))

        with pytest.raises(CreditNoteMismatch) as raised:
            engine.push_credit_note(credit(other))

        assert ("customer", []) == (raised.value.reason, xero.credit_notes())

    def test_an_unmapped_tax_code_is_refused(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """Preflight as for invoices, naming the credit note."""
        paid_invoice(xero, engine, customer, "0")
        note = credit(customer)
        bad = CreditNote(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            customer=customer,
            issue_date=note.issue_date,
            lines=[with_line(make_invoice(customer), tax_code="NOPE").lines[0]],
        )

        with pytest.raises(TaxCodeError) as raised:
            engine.push_credit_note(bad)

        assert ([], "CN-00001") == (xero.credit_notes(), raised.value.credit_note_number)
        panel = engine.panel("I-1")
        assert [("CN-00001", CreditNoteState.FAILED)] == [
            (c.credit_note_number, c.state) for c in panel.credit_notes
        ]
        assert "NOPE" in (panel.credit_notes[0].last_error or "")

    def test_a_changed_credit_note_is_refused(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """Xero can't edit an allocated credit note: a changed one is refused, unsent."""
        paid_invoice(xero, engine, customer, "0")
        engine.push_credit_note(credit(customer))

        with pytest.raises(CreditNoteChanged):
            engine.push_credit_note(credit(customer, "10.00"))

        assert 1 == len(xero.credit_notes())

    def test_the_panel_links_the_credit_note(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """The panel lists the credit note with its amounts and a link, from the store."""
        paid_invoice(xero, engine, customer, "0")
        result = engine.push_credit_note(credit(customer))
        xero.clear_requests()

        [link] = engine.panel("I-1").credit_notes

        assert ([], D("23.00"), result.view_url) == (xero.requests, link.allocated, link.view_url)
        assert f"ViewCreditNote.aspx?creditNoteID={result.xero_credit_note_id}" in (
            link.view_url or ""
        )
        assert "shortcode=%21Demo1" in (link.view_url or "")


class TestCorrections:
    def test_an_edit_of_a_paid_invoice_names_the_way_forward(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """CreditNoteRequired says to push a credit note for the difference."""
        paid_invoice(xero, engine, customer, "115.00")

        with pytest.raises(CreditNoteRequired) as raised:
            engine.push(with_line(make_invoice(customer), quantity=D("1")))

        assert "correction_credit_note" in str(raised.value)
        assert "push_credit_note" in str(raised.value)

    def test_the_correction_credit_note_settles_the_difference(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """2 widgets became 1 after a part payment: the credit note is the difference, and
        Xero then holds the corrected total."""
        xero_id = paid_invoice(xero, engine, customer, "20.00")
        corrected = with_line(make_invoice(customer), quantity=D("1"))

        note = engine.correction_credit_note(corrected, credit_note_id="CN-9", number="CN-9")
        engine.push_credit_note(note)

        invoice = xero.invoice(xero_id)
        assert ([D("50.00")], "GST15") == (
            [line.unit_amount for line in note.lines],
            note.lines[0].tax_code,
        )
        assert (D("57.50"), D("37.50")) == (invoice["AmountCredited"], invoice["AmountDue"])

    def test_a_correction_that_adds_is_not_a_credit(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """More widgets can't be a credit note: raise a new invoice for the increase."""
        paid_invoice(xero, engine, customer, "20.00")
        corrected = with_line(make_invoice(customer), quantity=D("3"))

        with pytest.raises(CorrectionNotACredit) as raised:
            engine.correction_credit_note(corrected, credit_note_id="CN-9", number="CN-9")

        assert "new invoice" in str(raised.value)

    def test_a_paid_invoice_is_cancelled_with_a_full_credit(
        self, xero: FakeXero[Any], engine: SyncEngine, customer: Customer
    ) -> None:
        """Cancel after payment: Xero refuses the void; the error says to credit in full,
        and the full credit allocates what is owed, the paid part left to refund."""
        xero_id = paid_invoice(xero, engine, customer, "40.00")
        invoice = make_invoice(customer)
        with pytest.raises(CreditNoteRequired) as raised:
            engine.cancel(invoice)
        assert "cancellation_credit_note" in str(raised.value)

        note = engine.cancellation_credit_note(invoice, credit_note_id="CN-X", number="CN-X")
        result = engine.push_credit_note(note, over_credit=OverCredit.ALLOCATE_DUE)

        assert (D("75.00"), D("40.00"), "PAID") == (
            result.allocated,
            result.refund_due,
            xero.invoice(xero_id)["Status"],
        )


def test_a_batch_gives_each_note_its_own_outcome(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """Two notes for one invoice in one push: the second is judged against what the first
    left owing; one create request for both."""
    engine = make_engine(xero, store)
    paid_invoice(xero, engine, customer, "80.00")  # 35.00 owed
    xero.clear_requests()

    outcomes = engine.push_credit_notes(
        [credit(customer, "20.00", 1), credit(customer, "20.00", 2)]
    )

    creates = [r for r in xero.requests if r.method == "PUT" and r.path.endswith("/CreditNotes")]
    assert ([True, False], 1) == ([o.ok for o in outcomes], len(creates))
    assert isinstance(outcomes[1].error, CreditNoteExceedsAmountDue)


class _LostAllocationAnswer:
    """A client whose first allocation lands in Xero but whose answer is lost."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def allocate_credit_note(self, *args: Any, **kwargs: Any) -> Any:
        made = self._inner.allocate_credit_note(*args, **kwargs)
        if not self.lost:
            self.lost += 1
            raise UncertainOutcome(
                "the answer was lost", idempotency_key=None, method="PUT", path="/CreditNotes"
            )
        return made


def test_a_lost_allocation_answer_is_checked_not_repeated(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The allocation landed but its answer was lost: the next push reads the credit note,
    sees the allocation, and allocates nothing again."""
    engine = make_engine(xero, store)
    xero_id = paid_invoice(xero, engine, customer, "50.00")
    client = _LostAllocationAnswer(xero.client())
    lossy = SyncEngine(client=client, store=store, tax_map=TAX_MAP, clock=xero.clock)

    [first] = lossy.push_credit_notes([credit(customer)])
    record = store.get_credit_note(xero.tenant_id, "CN-1")
    again = lossy.push_credit_note(credit(customer))

    [note] = xero.credit_notes()
    allocations = [a for a in note["Allocations"] if not a.get("IsDeleted")]
    assert (False, CreditNoteState.ALLOCATION_UNCERTAIN) == (first.ok, record.state)
    assert (CreditNoteState.ALLOCATED, 1, D("23.00")) == (
        again.state,
        len(allocations),
        xero.invoice(xero_id)["AmountCredited"],
    )


def test_the_engine_page_credit_note_example_runs() -> None:
    """docs/engine.md's credit note example runs as written (its asserts hold)."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "engine.md").read_text()
    section = page[page.index("## Credit notes") :]
    [block] = re.findall(r"```python\n(.*?)```", section[: section.index("\n## ", 5)], re.S)
    exec(compile(block, "engine.md credit notes", "exec"), {"__name__": "docs_engine"})  # noqa: S102


# --- what review found: each scenario that once went wrong ----------------------------------


class _Wrap:
    """A client with some methods replaced (each gets the real client first)."""

    def __init__(self, inner: Any, **overrides: Any) -> None:
        self._inner = inner
        self._overrides = overrides

    def __getattr__(self, name: str) -> Any:
        if name in self._overrides:
            return lambda *a, **k: self._overrides[name](self._inner, *a, **k)
        return getattr(self._inner, name)


def _engine(xero: FakeXero[Any], store: Any, client: Any = None) -> SyncEngine:
    return SyncEngine(
        client=client or xero.client(), store=store, tax_map=TAX_MAP, clock=xero.clock
    )


def _live(xero: FakeXero[Any]) -> dict[str, tuple[D, list[D]]]:
    return {
        n["CreditNoteNumber"]: (
            n["Total"],
            [a["Amount"] for a in n.get("Allocations", []) if not a.get("IsDeleted")],
        )
        for n in xero.credit_notes()
    }


class TestTwoProcesses:
    def test_a_create_in_flight_is_left_to_its_sender(
        self, xero: FakeXero[Any], store: Any, customer: Customer
    ) -> None:
        """B pushes the same note while A's create is in flight: B is told to wait, nothing
        is cleared under A, and A's answer settles the record: one note, allocated once."""
        paid_invoice(xero, _engine(xero, store), customer, "0")
        seen: dict[str, Any] = {}
        b = _engine(xero, store)

        def a_create(inner: Any, payloads: Any, *, idempotency_key: str) -> Any:
            [seen["b"]] = b.push_credit_notes([credit(customer)])  # while A's is in flight
            return inner.create_credit_notes(payloads, idempotency_key=idempotency_key)

        a = _engine(xero, store, _Wrap(xero.client(), create_credit_notes=a_create))
        [done] = a.push_credit_notes([credit(customer)])

        assert isinstance(seen["b"].error, PushInProgress)
        assert (True, {"CN-00001": (D("23.00"), [D("23.00")])}) == (done.ok, _live(xero))

    def test_an_allocation_in_flight_is_left_to_its_sender(
        self, xero: FakeXero[Any], store: Any, customer: Customer
    ) -> None:
        """The same for the allocation: B never resets A's intent or allocates again."""
        paid_invoice(xero, _engine(xero, store), customer, "0")
        seen: dict[str, Any] = {}
        b = _engine(xero, store)

        def a_allocate(inner: Any, *args: Any, **kwargs: Any) -> Any:
            [seen["b"]] = b.push_credit_notes([credit(customer)])
            return inner.allocate_credit_note(*args, **kwargs)

        a = _engine(xero, store, _Wrap(xero.client(), allocate_credit_note=a_allocate))
        [done] = a.push_credit_notes([credit(customer)])

        assert isinstance(seen["b"].error, PushInProgress)
        assert (CreditNoteState.ALLOCATED, {"CN-00001": (D("23.00"), [D("23.00")])}) == (
            done.state,
            _live(xero),
        )

    def test_a_crashed_senders_intent_is_resolved_once_it_is_old(
        self, xero: FakeXero[Any], store: Any, customer: Customer
    ) -> None:
        """A died after storing its intent, before sending: the intent is left alone while it
        could be in flight, then resolved and the note created."""
        engine = _engine(xero, store)
        paid_invoice(xero, engine, customer, "0")

        def dies(inner: Any, payloads: Any, *, idempotency_key: str) -> Any:
            raise KeyboardInterrupt  # the process dies with the request unsent

        with pytest.raises(KeyboardInterrupt):
            _engine(xero, store, _Wrap(xero.client(), create_credit_notes=dies)).push_credit_notes(
                [credit(customer)]
            )
        [early] = engine.push_credit_notes([credit(customer)])
        xero.clock.advance(IN_FLIGHT.total_seconds() + 1)
        [late] = engine.push_credit_notes([credit(customer)])

        assert isinstance(early.error, PushInProgress)
        assert (True, {"CN-00001": (D("23.00"), [D("23.00")])}) == (late.ok, _live(xero))


def test_a_hand_made_note_with_our_number_is_never_adopted(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """Our create never landed; someone credited the invoice by hand in Xero, which numbered
    it CN-0001 like ours. It is not taken for ours: the number is reported taken."""
    engine = _engine(xero, store)
    xero_id = paid_invoice(xero, engine, customer, "0")
    note = credit(customer, number="CN-0001")
    xero.inject("timeout_before_commit", method="PUT", path="/CreditNotes", times=8)
    engine.push_credit_notes([note])
    xero.clear_faults()
    xero.add_credit_note(xero_id, D("10.00"))  # Xero calls it CN-0001

    [again] = engine.push_credit_notes([note])

    record = store.get_credit_note(xero.tenant_id, "CN-1")
    assert isinstance(again.error, CreditNoteNumberTaken)
    assert (None, D("10.00")) == (
        record.xero_credit_note_id,
        xero.invoice(xero_id)["AmountCredited"],
    )


def test_an_adopted_note_shares_the_invoice_with_the_rest_of_the_push(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The invoice owes 15.00; two notes of 11.50. The first's answer was lost. The retry
    adopts it and judges the second against what is left: refused unsent, no stray note."""
    engine = _engine(xero, store)
    paid_invoice(xero, engine, customer, "100.00")
    notes = [credit(customer, "10.00", 1), credit(customer, "10.00", 2)]
    xero.inject("timeout_after_commit", method="PUT", path="/CreditNotes", times=8)
    engine.push_credit_notes(notes)
    xero.clear_faults()

    first, second = engine.push_credit_notes(notes)

    assert (True, {"CN-00001": (D("11.50"), [D("11.50")])}) == (first.ok, _live(xero))
    assert isinstance(second.error, CreditNoteExceedsAmountDue)
    assert (D("3.50"), D("11.50"), None) == (
        second.error.amount_due,
        second.error.ahead,
        second.error.xero_credit_note_id,
    )


def test_a_retry_follows_the_policy_the_note_was_created_under(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A cancellation pushed with ALLOCATE_DUE whose answer was lost: a retry that forgot
    the policy still allocates what is owed, as the note was created to."""
    engine = _engine(xero, store)
    paid_invoice(xero, engine, customer, "40.00")  # 75.00 still owed of 115.00
    full = engine.cancellation_credit_note(
        make_invoice(customer), credit_note_id="CN-X", number="CN-X"
    )
    xero.inject("timeout_after_commit", method="PUT", path="/CreditNotes", times=8)
    engine.push_credit_notes([full], over_credit=OverCredit.ALLOCATE_DUE)
    xero.clear_faults()

    retried = engine.push_credit_note(full)  # the default policy is REFUSE

    assert (PushAction.ADOPTED, D("75.00"), D("40.00")) == (
        retried.action,
        retried.allocated,
        retried.refund_due,
    )


def test_a_changed_note_first_settles_its_lost_allocation(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The allocation's answer was lost, then the BMS fixed a typo: the allocation is
    resolved first, and only then is the change refused."""
    paid_invoice(xero, _engine(xero, store), customer, "0")
    lossy = _engine(xero, store, _LostAllocationAnswer(xero.client()))
    lossy.push_credit_notes([credit(customer)])
    note = credit(customer)
    typo = attrs.evolve(note, lines=(attrs.evolve(note.lines[0], description="Refund"),))

    [resolved] = _engine(xero, store).push_credit_notes([typo])
    [refused] = _engine(xero, store).push_credit_notes([typo])

    assert (True, CreditNoteState.ALLOCATED) == (resolved.ok, resolved.state)
    assert isinstance(refused.error, CreditNoteChanged)


@pytest.mark.parametrize("amount", ["0.00", "-20.00"])
def test_a_note_worth_nothing_is_refused_unsent(
    xero: FakeXero[Any], store: Any, customer: Customer, amount: str
) -> None:
    """A credit note must credit something."""
    engine = _engine(xero, store)
    paid_invoice(xero, engine, customer, "0")

    with pytest.raises(CreditNoteMismatch) as raised:
        engine.push_credit_note(credit(customer, amount))

    assert ("amount", []) == (raised.value.reason, xero.credit_notes())


def test_no_currency_means_the_base_currency(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """A note with no currency is in the base currency (NZD): refused for a USD invoice."""
    engine = _engine(xero, store)
    xero.add_currency("USD")
    engine.push(make_invoice(customer, currency_code="USD"))

    with pytest.raises(CreditNoteMismatch) as raised:
        engine.push_credit_note(credit(customer))

    assert ("currency", "USD", "NZD", []) == (
        raised.value.reason,
        raised.value.expected,
        raised.value.actual,
        xero.credit_notes(),
    )


def test_a_fixed_note_is_recorded_under_its_new_invoice_and_number(
    xero: FakeXero[Any], store: Any, customer: Customer
) -> None:
    """The first try named an invoice never pushed; the fixed note's record follows it."""
    engine = _engine(xero, store)
    paid_invoice(xero, engine, customer, "0")
    with pytest.raises(CreditNoteMismatch):
        engine.push_credit_note(credit(customer, invoice_id="I-9"))

    engine.push_credit_note(credit(customer, number="CN-0100"))

    [link] = engine.panel("I-1").credit_notes
    assert ("CN-0100", None, ()) == (
        link.credit_note_number,
        link.last_error,
        engine.panel("I-9").credit_notes,
    )
