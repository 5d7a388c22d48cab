"""Credit notes under faults: exactly one Xero credit note per BMS credit note, allocated once.

Each schedule pushes a few paid invoices, then credit notes for them (some worth more than the
invoice owes) while FakeXero times out before and after committing, answers 500 or 503, resets
connections, and the store may "crash" at any write. Then Xero heals and a fresh engine over
the same store pushes again until every credit note is settled. Checked every time: each
CreditNoteNumber is held by exactly one Xero credit note, with the per-line total; each is
allocated at most once, never beyond what its invoice owed; the record says what Xero holds;
and the PaymentSink was told exactly the AmountCredited Xero holds.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bms_xero import CreditNote, LineItem, SyncEngine
from bms_xero.engine.credit_plan import IN_FLIGHT, OverCredit
from bms_xero.errors import BmsXeroError, CreditNoteExceedsAmountDue, UncertainOutcome
from bms_xero.storage import SQLiteStore
from tests.engine.conftest import TAX_MAP, RecordingSink
from tests.reliability.conftest import (
    Crash,
    Crashing,
    SecretWatch,
    Steps,
    engine_for,
    examples,
    invoices_for,
    organisation,
    watched_client,
)

D = Decimal
KINDS = [
    "timeout_before_commit",
    "timeout_after_commit",
    "http_500",
    "offline_503",
    "connection_reset",
]
TARGETS = [
    ("PUT", "/CreditNotes"),
    ("GET", "/CreditNotes"),
    ("GET", "/Invoices"),
    (None, "/CreditNotes"),
    (None, None),
]
#: The crash points: the credit notes' own writes (intents, and the answers after them).
CREDIT_STEPS = ("put_credit_note",)

schedules = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**16),
        "paid": st.lists(
            st.sampled_from(["0", "50.00", "100.00", "115.00"]), min_size=1, max_size=4
        ),
        "credits": st.lists(
            st.tuples(st.integers(0, 3), st.sampled_from(["10.00", "20.00", "60.00"])),
            min_size=1,
            max_size=5,
        ),
        "policy": st.sampled_from(list(OverCredit)),
        # The healing process may pass another policy: a note Xero has must follow its own.
        "retry_policy": st.sampled_from(list(OverCredit)),
        "faults": st.lists(
            # 8 outlasts the client's own retries, so the engine's recovery paths run too.
            st.tuples(st.sampled_from(KINDS), st.sampled_from(TARGETS), st.sampled_from([1, 3, 8])),
            max_size=5,
        ),
        # Allocations (by their order in the push) that land in Xero but whose answer is lost.
        "lost_allocations": st.sets(st.integers(0, 4), max_size=3),
        # A person credits an invoice by hand in Xero first, numbered CN-0001 like ours.
        "hand_made": st.booleans(),
        # A crash at the k-th store write of the credit notes (intents and answers).
        "crash_at": st.one_of(st.none(), st.integers(1, 16)),
    }
)


class _LosesAllocations:
    """A client whose chosen allocations reach Xero but lose their answer."""

    def __init__(self, inner: Any, lost: set[int]) -> None:
        self._inner = inner
        self._lost = lost
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def allocate_credit_note(self, *args: Any, **kwargs: Any) -> Any:
        made = self._inner.allocate_credit_note(*args, **kwargs)
        self.calls += 1
        if self.calls - 1 in self._lost:
            raise UncertainOutcome(
                "the answer was lost", idempotency_key=None, method="PUT", path="/CreditNotes"
            )
        return made


@settings(
    max_examples=examples(100, 1000),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(schedule=schedules)
def test_credit_notes_land_once_under_faults(
    schedule: dict[str, Any], watch: SecretWatch, tmp_path_factory: Any
) -> None:
    path: Path = tmp_path_factory.mktemp("cn") / "sync.db"
    xero, customer = organisation(schedule["seed"])
    sink = RecordingSink()
    invoices = invoices_for(customer, len(schedule["paid"]))
    with SQLiteStore(path) as store:
        engine = engine_for(xero, store, watch, sink)
        for invoice, paid in zip(invoices, schedule["paid"], strict=True):
            pushed = engine.push(invoice)
            if D(paid):
                xero.pay(pushed.xero_invoice_id or "", D(paid))
        notes = [
            CreditNote(
                id=f"CN-{n}",
                number=f"CN-{n:04d}",
                invoice_id=invoices[which % len(invoices)].id,
                customer=customer,
                issue_date=date(2026, 1, 20),
                lines=[
                    LineItem(
                        description="Credit",
                        quantity=1,
                        unit_amount=amount,
                        account_code="200",
                        tax_code="GST15",
                    )
                ],
            )
            for n, (which, amount) in enumerate(schedule["credits"], 1)
        ]
        if schedule["hand_made"]:
            first = xero.invoices()[0]
            if D(str(first["AmountDue"])) >= D("5.00"):
                xero.add_credit_note(first["InvoiceID"], D("5.00"))  # Xero numbers it CN-0001
        owed_before = {x["InvoiceID"]: D(str(x["AmountDue"])) for x in xero.invoices()}
        foreign = {n["CreditNoteID"] for n in xero.credit_notes()}
        for kind, (method, target), times in schedule["faults"]:
            xero.inject(kind, method=method, path=target, times=times)
        steps = Steps(schedule["crash_at"])
        crashing = Crashing(store, steps, CREDIT_STEPS)
        faulty = SyncEngine(
            client=_LosesAllocations(watched_client(xero, watch), schedule["lost_allocations"]),
            store=crashing,
            tax_map=TAX_MAP,
            payment_sink=sink,
            clock=xero.clock,
        )
        with contextlib.suppress(Crash):
            faulty.push_credit_notes(notes, over_credit=schedule["policy"])
        xero.clear_faults()
        outcomes: list[Any] = []
        for _ in range(4):  # a fresh process finishes the work, later
            xero.clock.advance(IN_FLIGHT.total_seconds() + 1)
            healed = engine_for(xero, store, watch, sink)
            outcomes = healed.push_credit_notes(notes, over_credit=schedule["retry_policy"])
            healed.pull()
            if all(o.ok or not _retryable(o.error) for o in outcomes):
                break

        held: dict[str, list[dict[str, Any]]] = {}
        for stored in xero.credit_notes():
            if stored["CreditNoteID"] not in foreign:
                held.setdefault(stored["CreditNoteNumber"], []).append(stored)
        assert [] == [n for n, copies in held.items() if len(copies) > 1], "duplicates"
        credited: dict[str, Decimal] = {}
        for stored in xero.credit_notes():
            for a in stored.get("Allocations", []):
                if not a.get("IsDeleted"):
                    key = a["Invoice"]["InvoiceID"]
                    credited[key] = credited.get(key, D(0)) + D(str(a["Amount"]))
        for note, outcome in zip(notes, outcomes, strict=True):
            record = store.get_credit_note(xero.tenant_id, note.id)
            copies = held.get(note.number, [])
            if not copies:
                # Never in Xero: refused before any write, with a typed, final reason.
                assert not outcome.ok and not _retryable(outcome.error), outcome
                assert record is None or record.xero_credit_note_id is None
                continue
            [stored] = copies
            live = [a for a in stored.get("Allocations", []) if not a.get("IsDeleted")]
            assert len(live) <= 1, f"{note.number} allocated twice"
            assert D(str(stored["Total"])) == note.lines[0].unit_amount * D("1.15")
            allocated = sum((D(str(a["Amount"])) for a in live), D(0))
            # Liveness: a note Xero holds ends settled, as its policy says, and the record
            # says what Xero holds.
            assert record is not None and record.xero_credit_note_id == stored["CreditNoteID"]
            assert record.done or isinstance(outcome.error, CreditNoteExceedsAmountDue), (
                note.number,
                record.state,
                outcome,
            )
            assert (allocated, D(str(stored["RemainingCredit"]))) == (
                record.allocated or D(0),
                record.remaining_credit,
            )
            # The policy decides only for a note worth more than is owed: such a note is
            # allocated what is owed (ALLOCATE_DUE) or nothing (LEAVE_UNALLOCATED); one that
            # fits is allocated in full.
            policy = OverCredit(record.policy) if record.policy else schedule["policy"]
            total = D(str(stored["Total"]))
            if policy is OverCredit.LEAVE_UNALLOCATED:
                assert allocated in (D(0), total)
            assert allocated <= total
        for invoice in xero.invoices():
            xero_id = invoice["InvoiceID"]
            assert D(str(invoice["AmountCredited"])) == credited.get(xero_id, D(0))
            ours = credited.get(xero_id, D(0)) - (
                owed_before_credit(xero, xero_id, foreign) or D(0)
            )
            assert ours <= owed_before[xero_id]
            told = [u for u in sink.applied if u.xero_invoice_id == xero_id]
            if told:
                assert told[-1].amount_credited == D(str(invoice["AmountCredited"]))
            else:
                assert D(str(invoice["AmountCredited"])) == 0


def owed_before_credit(xero: Any, xero_id: str, foreign: set[str]) -> Decimal:
    """What the hand-made credit notes applied to this invoice."""
    return sum(
        (
            D(str(a["Amount"]))
            for n in xero.credit_notes()
            if n["CreditNoteID"] in foreign
            for a in n.get("Allocations", [])
            if a["Invoice"]["InvoiceID"] == xero_id and not a.get("IsDeleted")
        ),
        D(0),
    )


def _retryable(error: BmsXeroError | None) -> bool:
    return error is not None and error.retryable
