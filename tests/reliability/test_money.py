"""What the host's PaymentSink was last told equals what Xero holds, whatever happened.

One program: random invoices pushed; random money events in Xero (payments, reversals,
batch payments, credit notes, prepayments, overpayments, voids); pulls; random faults on the
reads and writes; the process "dying" at its k-th store write (an abandoned engine, a new one
built over the same SQLite file); and a host sink that sometimes raises. Then the faults
stop, the sink heals, a fresh process pushes everything and pulls twice, and for every
invoice the newest update the sink accepted (by ``sequence``, as a host drops stale ones)
must equal Xero's status and amounts; an invoice the sink never heard of must have no money
news in Xero. Updates with one sequence must be identical: the sequence is the content.
"""

from __future__ import annotations

import contextlib
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bms_xero import SyncEngine
from bms_xero.engine import PaymentUpdate
from bms_xero.errors import BmsXeroError
from bms_xero.storage import SQLiteStore
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.reliability.conftest import (
    STORE_STEPS,
    Crash,
    Crashing,
    SecretWatch,
    Steps,
    Tally,
    engine_for,
    examples,
    faults_seen,
    invoices_for,
    organisation,
)

FAULTS = ["timeout_before_commit", "timeout_after_commit", "http_500", "offline_503"]
TARGETS = [("GET", "/Invoices"), ("GET", "/Payments"), ("PUT", "/Invoices"), (None, None)]
CENTS = st.integers(1, 11_500).map(lambda c: Decimal(c) / 100)


class FlakySink:
    """A host's sink: keeps the newest update per invoice, and raises when told to."""

    def __init__(self) -> None:
        self.newest: dict[str, PaymentUpdate] = {}
        self.by_sequence: dict[tuple[str, int], PaymentUpdate] = {}
        self.refuse = 0
        self.refused = 0

    def apply(self, update: PaymentUpdate) -> None:
        if self.refuse:
            self.refuse -= 1
            self.refused += 1
            raise RuntimeError("the BMS database is busy")
        seen = self.by_sequence.setdefault((update.invoice_id, update.sequence), update)
        assert seen == update, "two different updates carried one sequence"
        newest = self.newest.get(update.invoice_id)
        if newest is None or update.sequence > newest.sequence:
            self.newest[update.invoice_id] = update


steps = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(1, 6)),
        st.tuples(st.just("pay"), st.integers(0, 5), CENTS),
        st.tuples(st.just("reverse"), st.integers(0, 5)),
        st.tuples(st.just("batch"), st.integers(0, 5), st.integers(0, 5), CENTS),
        st.tuples(st.just("credit"), st.integers(0, 5), CENTS),
        st.tuples(st.just("prepay"), st.integers(0, 5), CENTS),
        st.tuples(st.just("overpay"), st.integers(0, 5), CENTS),
        st.tuples(st.just("void"), st.integers(0, 5)),
        st.tuples(st.just("pull"), st.integers(0, 0)),
        st.tuples(st.just("crash"), st.integers(1, 8)),
        st.tuples(st.just("fault"), st.sampled_from(FAULTS), st.sampled_from(TARGETS)),
        st.tuples(st.just("refuse"), st.integers(1, 3)),
    ),
    min_size=8,
    max_size=40,
)


def _due(xero: FakeXero[Any], xero_id: str) -> Decimal:
    return Decimal(str(xero.invoice(xero_id)["AmountDue"]))


def _money_event(
    xero: FakeXero[Any], contact_id: str, ids: list[str], step: tuple[Any, ...]
) -> int:
    """Make one money event happen in Xero, where Xero's rules allow it; 1 if it did."""
    kind, target, *rest = step
    if not ids:
        return 0
    xero_id = ids[target % len(ids)]
    held = xero.invoice(xero_id)
    due = Decimal(str(held["AmountDue"]))
    open_ = held["Status"] == "AUTHORISED" and due > 0
    if kind == "pay" and open_:
        xero.pay(xero_id, amount=min(rest[0], due))
    elif kind == "reverse":
        live = [p for p in xero.payments() if p["Status"] == "AUTHORISED"]
        live = [
            p for p in live if p["Invoice"]["InvoiceID"] == xero_id and not p.get("BatchPaymentID")
        ]
        if not live:
            return 0
        xero.delete_payment(live[-1]["PaymentID"])
    elif kind == "batch":
        other = ids[rest[0] % len(ids)]
        pairs = [(i, min(rest[1], _due(xero, i))) for i in dict.fromkeys((xero_id, other))]
        pairs = [(i, a) for i, a in pairs if a > 0 and xero.invoice(i)["Status"] == "AUTHORISED"]
        if not pairs:
            return 0
        xero.batch_pay(pairs)
    elif kind == "credit" and open_:
        xero.add_credit_note(xero_id, amount=min(rest[0], due))
    elif kind in ("prepay", "overpay") and open_:
        make = xero.prepay if kind == "prepay" else xero.overpay
        credit = make(contact_id, rest[0])
        xero.allocate(credit, xero_id, amount=min(rest[0], due))
    elif (
        kind == "void"
        and held["Status"] == "AUTHORISED"
        and not (Decimal(str(held["AmountPaid"])) or Decimal(str(held["AmountCredited"])))
    ):
        xero.void(xero_id)
    else:
        return 0
    return 1


def _quiet(call: Any, *args: Any) -> None:
    """Run an engine call the way a host's worker does: a typed failure is retried later."""
    with contextlib.suppress(BmsXeroError):
        call(*args)


@settings(
    max_examples=examples(60, 1000),
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,  # the tally and watch are session-wide
    ],
)
@given(
    program=steps,
    count=st.integers(1, 6),
    retries=st.booleans(),
    bumps=st.booleans(),
    first_crash=st.integers(1, 8),
    first_fault=st.tuples(st.sampled_from(FAULTS), st.sampled_from(TARGETS)),
)
def test_sink_ends_equal_to_xero(
    program: list[tuple[Any, ...]],
    count: int,
    retries: bool,
    bumps: bool,
    first_crash: int,
    first_fault: tuple[str, tuple[str | None, str | None]],
    tally: Tally,
    watch: SecretWatch,
) -> None:
    """Whatever the program did, two clean pulls leave the sink equal to Xero, whether or
    not Xero bumps an invoice's timestamp for a payment on it."""
    xero, customer = organisation(seed=len(program) * 7 + count, payments_bump_invoices=bumps)
    assert customer.xero_contact_id is not None
    invoices = invoices_for(customer, count)
    sink = FlakySink()
    crashes = events = 0
    retry = RetryPolicy.seeded(3) if retries else RetryPolicy.none()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sync.db"
        store = SQLiteStore(path)
        steps_ = Steps()
        engine: SyncEngine = engine_for(
            xero, Crashing(store, steps_, STORE_STEPS), watch, sink, retry=retry
        )
        # A first push, a payment the sink refuses once, a fault and a process that dies
        # during the pull that meets them: every example starts with money moving, a
        # delivery to retry, a failing Xero and a restart; the program does the rest.
        opening = [
            ("push", count),
            ("pay", 0, Decimal("1.00")),
            ("refuse", 1),
            ("crash", first_crash),
            ("fault", *first_fault),
            ("pull", 0),
        ]
        for step in [*opening, *program]:
            kind = step[0]
            xero.clock.advance(7)
            try:
                if kind == "push":
                    _quiet(engine.push_many, invoices[: step[1]])
                elif kind == "pull":
                    _quiet(engine.pull)
                elif kind == "crash":
                    steps_.crash_at = steps_.count + step[1]
                elif kind == "fault":
                    xero.inject(step[1], step[2][0], step[2][1], times=2)
                elif kind == "refuse":
                    sink.refuse = step[1]
                else:
                    ids = [i["InvoiceID"] for i in xero.invoices()]
                    events += _money_event(xero, customer.xero_contact_id, ids, step)
            except Crash:
                # The process died: abandon the engine and its store; a new process opens
                # the same file.
                crashes += 1
                store.close()
                store = SQLiteStore(path)
                steps_ = Steps()
                engine = engine_for(
                    xero, Crashing(store, steps_, STORE_STEPS), watch, sink, retry=retry
                )
        event(f"crashed: {crashes > 0}")
        event(f"sink refused: {sink.refused > 0}")

        # Healthy again: a fresh process finishes the pushes and pulls twice.
        xero.clear_faults()
        sink.refuse = 0
        xero.clock.advance(3600)
        store.close()
        store = SQLiteStore(path)
        final = engine_for(xero, store, watch, sink)
        outcomes = final.push_many(invoices)
        voided = {i["InvoiceNumber"] for i in xero.invoices() if i["Status"] == "VOIDED"}
        # A push of an invoice voided in Xero is refused (raise a new one): nothing else fails.
        assert [] == [str(o.error) for o in outcomes if not o.ok and o.invoice_number not in voided]
        final.pull()
        final.pull()
        store.close()

    wrong = 0
    by_number = {i["InvoiceNumber"]: i for i in xero.invoices()}
    for invoice in invoices:
        held = by_number[invoice.number]
        in_xero = (
            held["Status"],
            Decimal(str(held["AmountPaid"])),
            Decimal(str(held["AmountCredited"])),
            Decimal(str(held["AmountDue"])),
        )
        told = sink.newest.get(invoice.id)
        if told is None:
            # Never told: Xero must hold nothing the host doesn't know (unpaid, as pushed).
            expected_nothing = ("AUTHORISED", Decimal(0), Decimal(0), in_xero[3])
            wrong += in_xero != expected_nothing
        else:
            wrong += in_xero != (
                str(told.xero_status),
                told.amount_paid,
                told.amount_credited,
                told.amount_due,
            )
    faults, throttled = faults_seen(xero)
    tally.add(
        schedules=1,
        faults_injected=faults,
        throttled=throttled,
        crashes=crashes,
        money_events=events,
        sink_refusals=sink.refused,
        told_checked=len(invoices),
        told_wrong=wrong,
    )
    assert 0 == wrong, {i.id: sink.newest.get(i.id) for i in invoices}
