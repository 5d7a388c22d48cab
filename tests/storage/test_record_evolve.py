"""``SyncRecord.evolve`` makes exactly the record ``attrs.evolve`` makes, or the same error.

It skips re-running converters on the values it keeps, so the property feeds it changes of
every kind (valid, convertible, invalid) to a record that itself went through them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.domain import Allocation, AllocationKind, InvoiceStatus
from bms_xero.storage import SyncRecord, SyncState

instants = st.one_of(
    st.none(),
    st.datetimes(timezones=st.just(UTC)),
    st.just(datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=13)))),
    st.just(datetime(2026, 1, 1, 12)),  # noqa: DTZ001 - naive on purpose: refused
    st.just("2026-01-01"),  # not a datetime: refused
)
amounts = st.one_of(st.none(), st.decimals(places=2, allow_nan=False, allow_infinity=False))
changes = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from([*SyncState, "pushed", "failed", "nonsense", 3]),
        "version": st.sampled_from([0, 1, 7, -1, True, "2"]),
        "money_version": st.integers(0, 3),
        "told_version": st.integers(0, 3),
        "xero_invoice_id": st.one_of(st.none(), st.text(max_size=3), st.integers()),
        "fingerprint": st.one_of(st.none(), st.text(max_size=4)),
        "intent_at": instants,
        "last_push_at": instants,
        "last_pull_at": instants,
        "xero_updated_at": instants,
        "xero_status": st.sampled_from([None, "PAID", "NEWSTATUS", InvoiceStatus.VOIDED]),
        "total": st.one_of(amounts, st.just(1.5), st.just(Decimal("NaN"))),
        "amount_due": amounts,
        "fully_paid_on": st.sampled_from(
            [None, date(2026, 1, 2), datetime(2026, 1, 2, tzinfo=UTC)]
        ),
        "delivered": st.sampled_from([True, False, 1]),
        "allocations": st.sampled_from(
            [
                (),
                (Allocation(kind=AllocationKind.PAYMENT, id="p", amount=Decimal("1.00")),),
                ["x"],
            ]
        ),
        "invoice_number": st.sampled_from(["INV-2", ""]),
        "last_error": st.one_of(st.none(), st.text(max_size=5)),
    },
)


def outcome(make: Any) -> tuple[str, str]:
    try:
        return ("record", repr(make()))
    except Exception as e:  # compared, not hidden: both must refuse alike
        return (type(e).__name__, str(e))


@settings(max_examples=400, deadline=None)
@given(changes, changes)
def test_evolve_is_attrs_evolve(first: dict[str, Any], second: dict[str, Any]) -> None:
    base = SyncRecord(tenant_id="t", invoice_id="B-1", invoice_number="INV-1", state="pushed")
    try:
        record = attrs.evolve(base, **first)  # a record that went through the converters
    except Exception:
        record = base

    assert outcome(lambda: attrs.evolve(record, **second)) == outcome(
        lambda: record.evolve(**second)
    )


def test_an_unknown_field_is_a_type_error() -> None:
    record = SyncRecord(tenant_id="t", invoice_id="B-1", invoice_number="INV-1", state="pushed")

    try:
        record.evolve(colour="red")
    except TypeError as e:
        assert "colour" in str(e)
    else:
        raise AssertionError("an unknown field was accepted")


def test_a_subclass_evolves_into_itself() -> None:
    """As ``attrs.evolve`` does: a host's subclass of SyncRecord stays that subclass."""

    class Tagged(SyncRecord):
        pass

    record = Tagged(tenant_id="t", invoice_id="B-1", invoice_number="INV-1", state="pushed")

    assert type(attrs.evolve(record, version=2)) is type(record.evolve(version=2))
