"""The engine's decisions, tested as pure functions with literal records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bms_xero import InvoiceStatus, XeroInvoice
from bms_xero.engine import BmsStatus, PaymentUpdate
from bms_xero.engine.plan import (
    Step,
    apply_xero,
    deep_link,
    fingerprint,
    is_duplicate_number,
    is_edit_refused,
    pending_update,
    resolve,
    step_for,
)
from bms_xero.storage._records import SyncRecord, SyncState
from tests.test_domain import CONTACT, invoice

T = "tenant-1"
X = "243216c5-369e-4056-ac67-05388f86dc81"


def record(**changes: object) -> SyncRecord:
    values: dict[str, object] = {
        "tenant_id": T,
        "invoice_id": "I-1",
        "invoice_number": "INV-0001",
        "state": SyncState.PUSHED,
        "version": 3,
        "xero_invoice_id": X,
        "fingerprint": "abc",
    }
    return SyncRecord(**(values | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rec", "content", "force", "expected"),
    [
        (None, "abc", False, Step.CREATE),
        (record(), "abc", False, Step.SKIP),
        (record(), "abc", True, Step.UPDATE),
        (record(), "def", False, Step.UPDATE),
        (record(state=SyncState.FAILED), "abc", False, Step.UPDATE),
        (
            record(xero_invoice_id=None, state=SyncState.PENDING, fingerprint=None),
            "abc",
            False,
            Step.RESOLVE,
        ),
        (
            record(xero_invoice_id=None, state=SyncState.UNCERTAIN, fingerprint=None),
            "abc",
            False,
            Step.RESOLVE,
        ),
        (
            record(xero_invoice_id=None, state=SyncState.FAILED, fingerprint=None),
            "abc",
            False,
            Step.CREATE,
        ),
        (record(state=SyncState.VOIDED), "def", True, Step.REFUSE_VOIDED),
    ],
)
def test_step_for(rec: SyncRecord | None, content: str, force: bool, expected: Step) -> None:
    """Each record state leads to the one safe push step."""
    assert expected == step_for(rec, content, force=force)


def test_fingerprint_tracks_content() -> None:
    """Equal payloads hash equal; any change in content changes the hash."""
    assert fingerprint({"A": Decimal("1.0")}) == fingerprint({"A": Decimal("1.0")})
    assert fingerprint({"A": Decimal("1.0")}) != fingerprint({"A": Decimal("1.00")})


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


def test_resolve_adopts_own_invoice() -> None:
    """An invoice with our number and contact is adopted."""
    found = xero()
    assert found == resolve(invoice(), [found]).adopt


def test_resolve_creates_when_absent_or_deleted() -> None:
    """No holder, or only a deleted draft, means creating is safe."""
    assert resolve(invoice(), []).create
    assert resolve(invoice(), [xero(status=InvoiceStatus.DELETED)]).create
    assert resolve(invoice(), [xero(invoice_number="INV-0002")]).create


def test_resolve_conflict_on_other_contact() -> None:
    """The number held by another contact's invoice is a conflict, never adopted."""
    other = xero(contact_id="00000000-0000-0000-0000-000000000001")
    resolution = resolve(invoice(), [other])
    assert (None, other) == (resolution.adopt, resolution.holder)


@pytest.mark.parametrize(
    "message",
    [
        "This document cannot be edited as it has a payment or credit note allocated to it.",
        "Invoice not of valid status for modification",
        "The status AUTHORISED cannot be applied to the invoice because it has payments or "
        "credit notes allocated to it.",
    ],
)
def test_edit_refusals_recognised(message: str) -> None:
    """Xero's refusals to edit are recognised from its messages."""
    assert is_edit_refused([message])


def test_other_messages_are_not_refusals() -> None:
    """Ordinary validation messages are not edit refusals or duplicates."""
    assert not is_edit_refused(["Account code '200' is not a valid code for this document."])
    assert not is_duplicate_number(["Contact cannot be empty."])
    assert is_duplicate_number(["Invoice # must be unique."])


def test_deep_link_with_short_code() -> None:
    """The panel link opens the invoice in the right organisation, shortcode URL-encoded."""
    assert (
        "https://go.xero.com/organisationlogin/default.aspx?shortcode=%21NLglS"
        f"&redirecturl=/AccountsReceivable/View.aspx?InvoiceID={X}"
    ) == deep_link(X, "!NLglS")
    assert f"https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={X}" == deep_link(X, None)


def payment_update(rec: SyncRecord, seen: XeroInvoice) -> PaymentUpdate | None:
    """What the host is owed once the record learned ``seen`` from a pull."""
    return pending_update(apply_xero(rec, seen, pulled_at=None))


def test_payment_update_on_change() -> None:
    """A part payment becomes an update with absolute amounts and the old status."""
    rec = record(
        xero_status="AUTHORISED",
        total=Decimal("115.00"),
        amount_due=Decimal("115.00"),
        amount_paid=Decimal(0),
        amount_credited=Decimal(0),
        money_version=1,
        told_version=1,
        told_status="awaiting_payment",
    )
    paid = xero(amount_paid=Decimal("15.00"), amount_due=Decimal("100.00"))
    update = payment_update(rec, paid)
    assert update is not None
    assert (BmsStatus.PARTIALLY_PAID, BmsStatus.AWAITING_PAYMENT, Decimal("100.00")) == (
        update.status,
        update.previous_status,
        update.amount_due,
    )


def test_no_update_without_change() -> None:
    """Nothing changed in Xero means no update."""
    rec = record(
        xero_status="AUTHORISED",
        total=Decimal("115.00"),
        amount_due=Decimal("115.00"),
        amount_paid=Decimal(0),
        amount_credited=Decimal(0),
    )
    assert payment_update(rec, xero(amount_paid=Decimal(0), amount_credited=Decimal(0))) is None


def test_apply_xero_marks_voided_and_pulled() -> None:
    """A voided invoice read from Xero marks the record voided and stamps the pull."""
    at = datetime(2026, 11, 24, tzinfo=UTC)
    applied = apply_xero(record(), xero(status=InvoiceStatus.VOIDED), pulled_at=at)
    assert (SyncState.VOIDED, "VOIDED", at) == (
        applied.state,
        applied.xero_status,
        applied.last_pull_at,
    )


@pytest.mark.parametrize(
    ("status", "paid", "credited", "expected"),
    [
        ("AUTHORISED", "0", "0", BmsStatus.AWAITING_PAYMENT),
        ("AUTHORISED", "1", "0", BmsStatus.PARTIALLY_PAID),
        ("AUTHORISED", "0", "1", BmsStatus.PARTIALLY_PAID),
        ("PAID", "10", "0", BmsStatus.PAID),
        ("PAID", "0", "10", BmsStatus.CREDITED),
        ("VOIDED", "0", "0", BmsStatus.VOIDED),
        ("DRAFT", "0", "0", BmsStatus.DRAFT),
        ("SUBMITTED", "0", "0", BmsStatus.AWAITING_APPROVAL),
        ("DELETED", "0", "0", BmsStatus.DELETED),
        ("ARCHIVED", "0", "0", BmsStatus.UNKNOWN),
    ],
)
def test_bms_status(status: str, paid: str, credited: str, expected: BmsStatus) -> None:
    """Xero's status and amounts map to the status a BMS shows."""
    assert expected == BmsStatus.of(
        status, amount_paid=Decimal(paid), amount_credited=Decimal(credited)
    )


def test_fully_paid_date_carried() -> None:
    """FullyPaidOnDate reaches the update."""
    rec = record(
        xero_status="AUTHORISED",
        amount_due=Decimal("115.00"),
        amount_paid=Decimal(0),
        amount_credited=Decimal(0),
    )
    paid = xero(
        status=InvoiceStatus.PAID,
        amount_paid=Decimal("115.00"),
        amount_due=Decimal(0),
        fully_paid_on=date(2026, 11, 20),
    )
    update = payment_update(rec, paid)
    assert update is not None and date(2026, 11, 20) == update.fully_paid_on
