"""The money decisions as pure functions: learn what Xero holds, owe the host, mark it told.

Literal records in, literal records out: no network, no store.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bms_xero import InvoiceStatus, XeroInvoice, XeroPayment
from bms_xero.domain import Allocation, AllocationKind, Settlement
from bms_xero.engine import BmsStatus
from bms_xero.engine.plan import (
    CANCELLED_STATUSES,
    PUSHED_STATUSES,
    apply_xero,
    held_cursor,
    mark_told,
    next_money_version,
    payment_stamps,
    pending_update,
)
from bms_xero.storage._records import SyncRecord, SyncState

X = "243216c5-369e-4056-ac67-05388f86dc81"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def record(**changes: object) -> SyncRecord:
    values: dict[str, object] = {
        "tenant_id": "t",
        "invoice_id": "I-1",
        "invoice_number": "INV-1",
        "state": SyncState.PUSHED,
        "xero_invoice_id": X,
        "xero_status": "AUTHORISED",
        "total": Decimal("115.00"),
        "amount_due": Decimal("115.00"),
        "amount_paid": Decimal("0.00"),
        "amount_credited": Decimal("0.00"),
        "paid_by_prepayments": Decimal("0.00"),
        "paid_by_overpayments": Decimal("0.00"),
        "money_version": 1,
        "told_version": 1,
        "told_status": "awaiting_payment",
    }
    return SyncRecord(**(values | changes))  # type: ignore[arg-type]


def invoice(**changes: object) -> XeroInvoice:
    values: dict[str, object] = {
        "invoice_id": X,
        "invoice_number": "INV-1",
        "status": InvoiceStatus.AUTHORISED,
        "total": Decimal("115.00"),
        "amount_due": Decimal("115.00"),
        "amount_paid": Decimal("0.00"),
        "amount_credited": Decimal("0.00"),
    }
    return XeroInvoice(**(values | changes))  # type: ignore[arg-type]


PAID_40 = invoice(
    amount_due=Decimal("75.00"),
    amount_paid=Decimal("40.00"),
    payments=(XeroPayment(payment_id="p-1", amount=Decimal("40.00"), date=date(2026, 11, 3)),),
)


def test_learning_money_bumps_the_version_and_owes_the_host() -> None:
    """A payment read from Xero is stored as version 2, still told at 1: an update is due."""
    learned = apply_xero(record(), PAID_40, pulled_at=T0)
    assert (2, 1, True) == (learned.money_version, learned.told_version, learned.delivery_due)


def test_learning_the_same_state_again_changes_nothing() -> None:
    """Reading what the record already holds is no news and no new version."""
    learned = apply_xero(record(), invoice(), pulled_at=T0)
    assert (1, False, T0) == (learned.money_version, learned.delivery_due, learned.last_pull_at)


def test_a_push_answer_without_money_counts_as_told() -> None:
    """Our own create's answer: the PushResult told the host; nothing goes to the sink."""
    fresh = record(
        xero_status=None,
        total=None,
        amount_due=None,
        amount_paid=None,
        amount_credited=None,
        money_version=0,
        told_version=0,
        told_status=None,
    )
    learned = apply_xero(fresh, invoice(), pulled_at=None, reported=PUSHED_STATUSES)
    assert (1, 1, "awaiting_payment") == (
        learned.money_version,
        learned.told_version,
        learned.told_status,
    )


def test_a_push_answer_with_money_is_news() -> None:
    """An adopted invoice that was paid meanwhile: its money must reach the sink."""
    learned = apply_xero(record(), PAID_40, pulled_at=None, reported=PUSHED_STATUSES)
    assert (2, 1) == (learned.money_version, learned.told_version)


def test_a_push_answer_does_not_skip_an_owed_update() -> None:
    """Owed a reversal (told paid, Xero unpaid), then an edit's answer: still owed."""
    owed = record(money_version=3, told_version=2, told_status="partially_paid")
    learned = apply_xero(
        owed, invoice(total=Decimal("230.00")), pulled_at=None, reported=PUSHED_STATUSES
    )
    assert (4, 2) == (learned.money_version, learned.told_version)


def test_a_cancel_reports_voided_but_a_pull_does_not() -> None:
    """Our cancel's VOIDED answer is told by its result; the same read by a pull is news."""
    voided = invoice(status=InvoiceStatus.VOIDED)
    cancelled = apply_xero(record(), voided, pulled_at=None, reported=CANCELLED_STATUSES)
    pulled = apply_xero(record(), voided, pulled_at=T0)
    assert ((2, 2), (2, 1)) == (
        (cancelled.money_version, cancelled.told_version),
        (pulled.money_version, pulled.told_version),
    )
    assert (SyncState.VOIDED, SyncState.VOIDED) == (cancelled.state, pulled.state)


def test_the_update_is_built_from_the_record() -> None:
    """What the host is owed: absolute values, the breakdown, the sequence, what it knew."""
    update = pending_update(apply_xero(record(), PAID_40, pulled_at=T0))
    assert update is not None
    assert (
        2,
        BmsStatus.PARTIALLY_PAID,
        BmsStatus.AWAITING_PAYMENT,
        Decimal("75.00"),
        Settlement(payments=Decimal("40.00")),
        ("p-1",),
    ) == (
        update.sequence,
        update.status,
        update.previous_status,
        update.amount_due,
        update.settlement,
        tuple(p.payment_id for p in update.payments),
    )


def test_nothing_is_owed_when_told() -> None:
    """A record told its current version owes nothing."""
    assert None is pending_update(record())


def test_marking_told_moves_forward_only() -> None:
    """The sink accepted version 2; a slower deliverer of version 2 again changes nothing."""
    learned = apply_xero(record(), PAID_40, pulled_at=T0)
    update = pending_update(learned)
    assert update is not None
    told = mark_told(learned, update)
    assert told is not None
    assert (2, "partially_paid", False) == (told.told_version, told.told_status, told.delivery_due)
    assert None is mark_told(told, update)


def test_marking_an_older_update_told_leaves_the_newer_owed() -> None:
    """Xero changed again while version 2 was delivered: version 3 stays owed."""
    learned = apply_xero(record(), PAID_40, pulled_at=T0)
    update = pending_update(learned)
    assert update is not None
    newer = apply_xero(learned, invoice(), pulled_at=T0)  # the payment was reversed
    told = mark_told(newer, update)
    assert told is not None
    assert (3, 2, True) == (told.money_version, told.told_version, told.delivery_due)


@pytest.mark.parametrize(
    ("credits", "paid", "credited", "expected"),
    [
        ((), "0", "0", Settlement()),
        ((), "0", "20", Settlement(credit_notes=Decimal("20"))),  # lists left out: cautious
        (
            (Allocation(kind=AllocationKind.PREPAYMENT, id="pp", amount=Decimal("115")),),
            "0",
            "115",
            Settlement(prepayments=Decimal("115")),
        ),
        (
            (
                Allocation(kind=AllocationKind.OVERPAYMENT, id="op", amount=Decimal("5")),
                Allocation(kind=AllocationKind.CREDIT_NOTE, id="cn", amount=Decimal("20")),
            ),
            "80",
            "25",
            Settlement(
                payments=Decimal("80"), overpayments=Decimal("5"), credit_notes=Decimal("20")
            ),
        ),
    ],
)
def test_settlement_splits_amount_credited(
    credits: tuple[Allocation, ...], paid: str, credited: str, expected: Settlement
) -> None:
    """Xero's AmountCredited holds credit notes, prepayments and overpayments: split them."""
    assert expected == Settlement.of(
        amount_paid=Decimal(paid), amount_credited=Decimal(credited), credits=credits
    )


@pytest.mark.parametrize(
    ("settlement", "status", "expected"),
    [
        (Settlement(prepayments=Decimal("115")), "PAID", BmsStatus.PAID),
        (Settlement(overpayments=Decimal("115")), "PAID", BmsStatus.PAID),
        (Settlement(credit_notes=Decimal("115")), "PAID", BmsStatus.CREDITED),
        (
            Settlement(payments=Decimal("80"), credit_notes=Decimal("35")),
            "PAID",
            BmsStatus.PAID,
        ),
        (Settlement(prepayments=Decimal("15")), "AUTHORISED", BmsStatus.PARTIALLY_PAID),
    ],
)
def test_status_follows_the_breakdown(
    settlement: Settlement, status: str, expected: BmsStatus
) -> None:
    """Paid by the customer's money (any kind) is paid; by credit notes alone, credited."""
    assert expected == BmsStatus.of(
        status, amount_paid=settlement.paid, amount_credited=settlement.credited
    )


def test_unmatched_invoice_of_a_pending_create_holds_the_cursor() -> None:
    """An invoice read unlinked whose number is being created holds the cursor at its time;
    others (made in Xero by hand) do not."""
    assert T0 == held_cursor(
        [("INV-7", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)), ("INV-1", T0), ("X-9", None)],
        {"INV-1", "INV-7"},
    )
    assert None is held_cursor([("MANUAL-1", T0)], {"INV-1"})


def test_payment_stamps_keep_each_invoices_newest_and_unknown_wins() -> None:
    """The newest payment stamp per invoice; one payment read without a stamp makes its
    invoice's unknown, whichever order the payments came in."""
    later = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)

    def paid(invoice_id: str | None, at: datetime | None) -> XeroPayment:
        return XeroPayment(
            payment_id=f"p-{invoice_id}-{at}",
            amount=Decimal("1.00"),
            date=date(2026, 11, 2),
            invoice_id=invoice_id,
            updated_at=at,
        )

    assert {"A": later, "B": None, "C": None} == payment_stamps(
        [
            paid("A", T0),
            paid("A", later),
            paid("A", T0),
            paid("B", None),
            paid("B", later),
            paid("C", later),
            paid("C", None),
            paid(None, later),
        ]
    )


@pytest.mark.parametrize(
    ("current", "stamped", "expected"),
    [
        (0, None, 1),
        (4, None, 5),
        (0, datetime(2026, 11, 2, 9, 0, 0, 123000, tzinfo=UTC), 1_793_610_000_123),
        (1_793_610_000_123, datetime(2026, 11, 2, 9, 0, 0, 123000, tzinfo=UTC), 1_793_610_000_124),
    ],
)
def test_money_versions_follow_xero_time(
    current: int, stamped: datetime | None, expected: int
) -> None:
    """One more than the last, never below Xero's stamp in ms: a rebuilt store's record
    starts above what the host saw before."""
    assert expected == next_money_version(current, stamped)


def test_a_rebuilt_store_keeps_sequences_growing() -> None:
    """The host saw sequence n from the old store; a new record learning a later state of
    the same invoice gets a larger one, so the host does not drop it as stale."""
    before = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    after = datetime(2026, 11, 2, 9, 5, tzinfo=UTC)
    old = apply_xero(
        record(), invoice(amount_paid=Decimal("1.00"), updated_at=before), pulled_at=T0
    )
    fresh = record(
        xero_status=None, money_version=0, told_version=0, told_status=None, amount_paid=None
    )
    new = apply_xero(fresh, invoice(amount_paid=Decimal("2.00"), updated_at=after), pulled_at=T0)
    assert new.money_version > old.money_version
