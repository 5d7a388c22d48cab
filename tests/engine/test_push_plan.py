"""The push planner as a pure function: literal items in, literal actions out.

Each test is one moment of a push: what is known of an invoice (its record, what a lookup
found, what the last write answered) and the action the planner must choose. The awkward
paths (an uncertain create, a number Xero says is taken, someone else's invoice) are here,
with no network and no store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bms_xero import (
    Account,
    Customer,
    Invoice,
    InvoiceStatus,
    LineItem,
    TaxRate,
    XeroInvoice,
)
from bms_xero.engine import PushAction
from bms_xero.engine import push_plan as pp
from bms_xero.engine.plan import Resolution
from bms_xero.errors import (
    AccountCodeError,
    CreditNoteRequired,
    InvoiceNumberConflict,
    MissingContactId,
    ReauthorizationRequired,
    SyncError,
    TransportError,
    UncertainOutcome,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping._reference import ChartOfAccounts, TaxMap, TaxRates
from bms_xero.mapping.wire import WireInvoice
from bms_xero.storage._records import SyncRecord, SyncState
from bms_xero.xero import InvoiceResult

CONTACT = "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"
CHART = ChartOfAccounts(
    [Account(code="200", name="Sales", type="REVENUE", account_class="REVENUE")]
)
RATES = TaxRates([TaxRate(tax_type="OUTPUT2", name="GST on Income", effective_rate=Decimal("15"))])


def line(**overrides: Any) -> LineItem:
    values: dict[str, Any] = {
        "description": "Widget",
        "quantity": Decimal("2"),
        "unit_amount": Decimal("50.00"),
        "account_code": "200",
        "tax_code": "GST15",
    }
    return LineItem(**(values | overrides))


def invoice(**overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "I-1",
        "number": "INV-0001",
        "customer": Customer(id="C-1", name="Acme Ltd", xero_contact_id=CONTACT),
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "lines": (line(),),
    }
    return Invoice(**(values | overrides))


T = "tenant-1"
X = "243216c5-369e-4056-ac67-05388f86dc81"
TAXES = TaxMap({"GST15": "OUTPUT2"})
REFERENCE = pp.Reference(chart=CHART, tax_rates=RATES, short_code="!Demo")
WIRE = WireInvoice.of(invoice(), TAXES)
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def record(**changes: object) -> SyncRecord:
    values: dict[str, object] = {
        "tenant_id": T,
        "invoice_id": "I-1",
        "invoice_number": "INV-0001",
        "state": SyncState.PUSHED,
        "version": 3,
        "xero_invoice_id": X,
        "fingerprint": WIRE.fingerprint,
        "xero_status": "AUTHORISED",
    }
    return SyncRecord(**(values | changes))  # type: ignore[arg-type]


#: A create sent earlier, never confirmed (its answer was lost).
UNCONFIRMED = record(
    state=SyncState.PENDING,
    xero_invoice_id=None,
    fingerprint=None,
    intent_key="key-1",
    intent_fingerprint=WIRE.fingerprint,
    intent_at=AT,
)


def item(**changes: Any) -> pp.Item:
    values: dict[str, Any] = {"index": 0, "invoice": invoice(), "wire": WIRE, "record": None}
    return pp.Item(**(values | changes))


def xero(**changes: object) -> XeroInvoice:
    values: dict[str, object] = {
        "invoice_id": X,
        "invoice_number": "INV-0001",
        "type": "ACCREC",
        "status": InvoiceStatus.AUTHORISED,
        "contact_id": CONTACT,
        "total": Decimal("115.00"),
        "amount_due": Decimal("115.00"),
    }
    return XeroInvoice(**(values | changes))  # type: ignore[arg-type]


def refused(*messages: str) -> InvoiceResult:
    return InvoiceResult(
        index=0,
        invoice_number="INV-0001",
        invoice=None,
        errors=tuple(XeroValidationMessage(m) for m in messages),
    )


def plan(*items: pp.Item, reference: pp.Reference | None = REFERENCE) -> list[pp.Action]:
    return pp.plan_push(list(items), reference, TAXES)


# --- new, unchanged, changed --------------------------------------------------------------------


def test_a_new_invoice_waits_for_reference_data_then_is_created() -> None:
    """Nothing is sent before the invoice is checked against the chart and tax rates."""
    assert [pp.LoadReference((0,))] == plan(item(), reference=None)
    assert [pp.Create((0,))] == plan(item())


def test_an_unchanged_invoice_is_done_without_reference_data() -> None:
    """Xero already has this content: done, nothing fetched or sent."""
    assert [pp.Done(0, PushAction.UNCHANGED)] == plan(item(record=record()), reference=None)


def test_a_changed_invoice_is_updated() -> None:
    """A linked invoice whose content changed goes in an update batch."""
    assert [pp.Update((0,))] == plan(item(record=record(fingerprint="older")))


def test_forced_push_updates_even_if_unchanged() -> None:
    """The sync button resends what Xero has."""
    assert [pp.Update((0,))] == plan(item(record=record(), force=True))


def test_a_paid_invoice_is_not_sent_an_edit() -> None:
    """Known paid since the last pull: refused without a doomed request, kept on the panel."""
    [fail] = plan(item(record=record(fingerprint="older", amount_paid=Decimal("1.00"))))
    assert isinstance(fail, pp.Fail)
    assert (CreditNoteRequired, True) == (type(fail.error), fail.store)


def test_a_cancelled_invoice_is_refused() -> None:
    """Nothing may be pushed once the invoice was cancelled."""
    [fail] = plan(item(record=record(state=SyncState.VOIDED)))
    assert isinstance(fail, pp.Fail) and isinstance(fail.error, SyncError)
    assert "raise a new invoice" in str(fail.error)


def test_the_same_invoice_twice_in_one_push_fails_the_second() -> None:
    """One push, one copy: the second is refused, not stored."""
    [fail] = plan(item(twice="number"))
    assert isinstance(fail, pp.Fail)
    assert (False, True) == (fail.store, "appears twice" in str(fail.error))


# --- preflight ----------------------------------------------------------------------------------


def test_an_unknown_account_refreshes_the_reference_data_once() -> None:
    """A code that looks unknown may be new in Xero: read again, then believe it."""
    unknown = item(invoice=invoice(lines=(line(account_code="999"),)))
    assert [pp.LoadReference((0,), refresh=True)] == plan(unknown)
    [fail] = plan(unknown, reference=pp.Reference(CHART, RATES, refreshed=True))
    assert isinstance(fail, pp.Fail)
    assert (AccountCodeError, True) == (type(fail.error), fail.store)


def test_a_wire_form_problem_is_reported_and_stored() -> None:
    """An invoice whose wire form can't be built fails, with its reason on the panel."""
    problem = MissingContactId(customer_id="C-1", customer_name="Acme", invoice_number="INV-0001")
    assert [pp.Fail(0, problem, store=True)] == plan(item(wire=None, problem=problem))


# --- an earlier create may have landed ----------------------------------------------------------


def test_an_unconfirmed_create_is_looked_up_first() -> None:
    """Before anything is sent, look up both numbers the create may have used."""
    renumbered = item(invoice=invoice(number="INV-0002"), record=UNCONFIRMED)
    assert [pp.Lookup((0,), ("INV-0001", "INV-0002"))] == plan(renumbered)


def test_lookups_go_before_any_write() -> None:
    """A new invoice waits while another one is looked up (one kind of I/O per round)."""
    new = item(index=1, invoice=invoice(id="I-2", number="INV-0002"), wire=WIRE)
    assert [pp.Lookup((0,), ("INV-0001",))] == plan(item(record=UNCONFIRMED), new)


def test_our_invoice_found_is_adopted() -> None:
    """Xero has it, for our contact: link it."""
    found = pp.found(item(record=UNCONFIRMED), [xero()], owners={})
    assert [pp.Adopt(0, xero())] == plan(found)


def test_an_adoption_with_our_content_is_done() -> None:
    """The invoice our own intent created holds our content: adopted, nothing resent."""
    adopted = pp.answered(
        item(record=UNCONFIRMED, trust_intent=True),
        pp.AdoptedAs(xero(), same=True),
        record(fingerprint=WIRE.fingerprint),
    )
    assert [pp.Done(0, PushAction.ADOPTED, xero())] == plan(adopted)


def test_an_adoption_with_other_content_is_updated_as_adopted() -> None:
    """Found, but not ours to trust: resend what the BMS has; the result says ADOPTED."""
    adopted = pp.answered(
        item(record=UNCONFIRMED), pp.AdoptedAs(xero(), same=False), record(fingerprint=None)
    )
    assert [pp.Update((0,))] == plan(adopted)
    done = pp.answered(adopted, pp.Updated(xero()))
    assert [pp.Done(0, PushAction.ADOPTED, xero())] == plan(done)


def test_another_contacts_invoice_is_a_conflict() -> None:
    """The number is held by an invoice for another contact: stop, drop our intent."""
    held = pp.found(item(record=UNCONFIRMED), [xero(contact_id="someone-else")], owners={})
    [fail] = plan(held)
    assert isinstance(fail, pp.Fail) and isinstance(fail.error, InvoiceNumberConflict)
    assert (True, True) == (fail.store, fail.drop_intent)


def test_an_invoice_linked_to_another_bms_invoice_is_a_conflict() -> None:
    """Same number and contact, but another BMS invoice owns that Xero invoice."""
    held = pp.found(item(record=UNCONFIRMED), [xero()], owners={X: "I-9"})
    [fail] = plan(held)
    assert isinstance(fail, pp.Fail) and "BMS invoice I-9" in str(fail.error)


def test_nothing_found_means_creating_is_safe() -> None:
    """Looked, and Xero never committed it: create (checked first, as any create)."""
    looked = pp.found(item(record=UNCONFIRMED), [], owners={})
    assert [pp.Create((0,))] == plan(looked)


def test_an_invoice_with_a_problem_found_in_xero_is_still_adopted() -> None:
    """A lookup needs no payload: an invoice that did land is linked whatever is wrong now."""
    problem = MissingContactId(customer_id="C-1", customer_name="Acme", invoice_number="INV-0001")
    looked = pp.found(item(record=UNCONFIRMED, wire=None, problem=problem), [xero()], owners={})
    assert [pp.Adopt(0, xero())] == plan(looked)


# --- the uncertain outcome ----------------------------------------------------------------------


UNCERTAIN = UncertainOutcome(
    "the create timed out after it was sent", idempotency_key="key-1", method="PUT", path="/x"
)


def test_an_uncertain_create_is_looked_up_before_anything_else() -> None:
    """It may or may not have landed: look, trusting our intent's content."""
    after = pp.answered(item(), pp.Uncertain(UNCERTAIN), UNCONFIRMED)
    assert (2, True) == (after.creates_left, after.trust_intent)
    assert [pp.Lookup((0,), ("INV-0001",))] == plan(after)


def test_an_uncertain_create_not_found_is_created_again() -> None:
    """Looked and not there: Xero never committed it, so creating again cannot duplicate."""
    after = pp.found(pp.answered(item(), pp.Uncertain(UNCERTAIN), UNCONFIRMED), [], {})
    assert [pp.Create((0,))] == plan(after)


def test_three_uncertain_creates_give_up_uncertain() -> None:
    """Xero keeps failing: stop, leave it uncertain; the next push looks it up first."""
    after = item(record=UNCONFIRMED)
    for _ in range(pp.CREATE_TRIES):
        after = pp.answered(after, pp.Uncertain(UNCERTAIN), UNCONFIRMED)
    assert [pp.Fail(0, UNCERTAIN)] == plan(after)


@pytest.mark.parametrize(
    ("error", "kept"),
    [
        (ReauthorizationRequired("reconnect to Xero: the refresh token was refused"), True),
        (TransportError("could not get an access token", sent=False), False),
    ],
    ids=["connection gone", "passing"],
)
def test_a_stopped_push_keeps_only_a_gone_connection_for_the_panel(error, kept) -> None:
    """A push stopped because the connection is gone keeps "reconnect to Xero" on the record
    for the panel; a passing stop is not stored (the next push goes through)."""
    after = pp.answered(item(), pp.Stopped(error))
    assert [pp.Fail(0, error, store=kept)] == plan(after)


# --- the number Xero says is taken --------------------------------------------------------------

TAKEN = refused("Invoice # must be unique.")


def test_a_taken_number_is_looked_up_without_trusting_our_content() -> None:
    """Maybe ours from an unrecorded create: look it up; this create did not land."""
    after = pp.answered(item(record=UNCONFIRMED), pp.Refused(TAKEN))
    assert (True, False) == (after.after_duplicate, after.trust_intent)
    assert [pp.Lookup((0,), ("INV-0001",))] == plan(after)


def test_a_taken_number_nobody_holds_fails() -> None:
    """Xero said taken, yet no invoice holds it: it vanished between the two answers."""
    after = pp.found(pp.answered(item(record=UNCONFIRMED), pp.Refused(TAKEN)), [], {})
    [fail] = plan(after)
    assert isinstance(fail, pp.Fail) and "no invoice holds it" in str(fail.error)


def test_a_taken_number_held_by_ours_is_adopted() -> None:
    """It was ours after all: adopt it (then resend, since its content is unknown)."""
    after = pp.found(pp.answered(item(record=UNCONFIRMED), pp.Refused(TAKEN)), [xero()], {})
    assert [pp.Adopt(0, xero())] == plan(after)


# --- refusals -----------------------------------------------------------------------------------


def test_a_refused_create_drops_its_intent() -> None:
    """Xero said no to the element: nothing was created, so the intent goes."""
    after = pp.answered(item(record=UNCONFIRMED), pp.Refused(refused("Contact is archived.")))
    [fail] = plan(after)
    assert isinstance(fail, pp.Fail) and isinstance(fail.error, XeroValidationError)
    assert (False, True) == (fail.store, fail.drop_intent)


def test_an_update_refused_for_payments_needs_a_credit_note() -> None:
    """Xero refuses the edit because money is allocated: say so, and what to do."""
    answer = refused("Invoice not of valid status for modification")
    after = pp.answered(item(record=record(fingerprint="older")), pp.Refused(answer))
    [fail] = plan(after)
    assert isinstance(fail, pp.Fail) and isinstance(fail.error, CreditNoteRequired)
    assert True is fail.store


def test_a_failed_request_stops_the_batch() -> None:
    """A whole request refused before anything was written (say a 429)."""
    error = XeroValidationError((XeroValidationMessage("x"),), status_code=400)
    after = pp.answered(item(record=UNCONFIRMED), pp.Failed(error))
    assert [pp.Fail(0, error, store=False, drop_intent=True)] == plan(after)


# --- batches ------------------------------------------------------------------------------------


def test_batches_hold_at_most_fifty() -> None:
    """Xero's recommended batch: 120 creates go as 50, 50 and 20."""
    items = [item(index=i) for i in range(120)]
    assert [50, 50, 20] == [len(b) for b in pp.batches(items, room=0)]


def test_batches_stay_under_the_body_limit() -> None:
    """Large invoices split earlier, and one too large alone still goes, alone."""
    big = WireInvoice(number="N", body=b"x" * 1_000_000, fingerprint="f")
    items = [item(index=i, wire=big) for i in range(4)]
    assert [(0, 1, 2), (3,)] == list(pp.batches(items, room=0))


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        (Resolution(), pp.Create((0,))),
        (Resolution(adopt=xero()), pp.Adopt(0, xero())),
    ],
)
def test_resolution_decides(resolution: Resolution, expected: pp.Action) -> None:
    """The lookup's answer, as the planner reads it."""
    looked = pp.Item(
        index=0, invoice=invoice(), wire=WIRE, record=UNCONFIRMED, resolution=resolution
    )
    assert [expected] == plan(looked)


def test_checked_invoices_go_on_while_one_waits_for_a_refresh() -> None:
    """An unknown code on one invoice refreshes the data for it alone; the others, already
    checked, are created meanwhile (a failed refresh stops only the one that waited)."""
    ok = item()
    unknown = item(
        index=1, invoice=invoice(id="I-2", number="INV-0002", lines=(line(account_code="999"),))
    )
    assert [pp.Create((0,)), pp.LoadReference((1,), refresh=True)] == plan(ok, unknown)


def test_creates_go_before_updates() -> None:
    """Updates wait for the creates: a create may turn into an update that joins them."""
    new = item(index=1, invoice=invoice(id="I-2", number="INV-0002"))
    changed = item(record=record(fingerprint="older"))
    assert [pp.Create((1,))] == plan(changed, new)
    assert [pp.Update((0,))] == plan(changed)


def test_an_uncertain_create_is_looked_up_even_after_a_cancel() -> None:
    """A cancel tombstoned the record while the create was in flight: the lookup still
    runs, so an invoice that landed is found (and then voided), not left live unlinked."""
    tombstone = record(state=SyncState.VOIDED, xero_invoice_id=None, fingerprint=None)
    after = pp.answered(item(), pp.Uncertain(UNCERTAIN), tombstone)
    assert [pp.Lookup((0,), ("INV-0001",))] == plan(after)
    found = pp.found(after, [xero()], owners={})
    assert [pp.Adopt(0, xero())] == plan(found)


def test_a_backlog_of_lookups_goes_40_numbers_to_a_request() -> None:
    """Many unconfirmed creates are looked up in requests of at most 40 numbers, each
    invoice's numbers together, so each request settles its own invoices."""
    items = [
        item(
            index=n,
            invoice=invoice(id=f"I-{n}", number=f"INV-{n:04d}"),
            record=UNCONFIRMED.evolve(invoice_id=f"I-{n}", invoice_number=f"OLD-{n:04d}"),
        )
        for n in range(30)
    ]
    lookups = plan(*items)
    assert [list(range(20)), list(range(20, 30))] == [list(x.indexes) for x in lookups]
    assert [40, 20] == [len(x.numbers) for x in lookups]
    assert ("OLD-0000", "INV-0000") == lookups[0].numbers[:2]
