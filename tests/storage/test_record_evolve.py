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


# --- every field, from a record with every field set -----------------------------------------

FULL = SyncRecord(
    tenant_id="t",
    invoice_id="B-1",
    invoice_number="INV-1",
    state="pushed",
    version=4,
    xero_invoice_id="X-1",
    fingerprint="f",
    intent_key="k",
    intent_fingerprint="g",
    intent_at=datetime(2026, 1, 1, tzinfo=UTC),
    last_push_at=datetime(2026, 1, 2, tzinfo=UTC),
    last_pull_at=datetime(2026, 1, 3, tzinfo=UTC),
    xero_status="PAID",
    total=Decimal("10.00"),
    amount_due=Decimal("0.00"),
    amount_paid=Decimal("8.00"),
    amount_credited=Decimal("2.00"),
    fully_paid_on=date(2026, 1, 4),
    xero_updated_at=datetime(2026, 1, 5, tzinfo=UTC),
    last_error="boom",
    last_error_at=datetime(2026, 1, 6, tzinfo=UTC),
    paid_by_prepayments=Decimal("1.00"),
    paid_by_overpayments=Decimal("0.50"),
    allocations=(Allocation(kind=AllocationKind.PAYMENT, id="p", amount=Decimal("8.00")),),
    money_version=3,
    told_version=2,
    told_status="paid",
    delivered=True,
    view_url="https://go.xero.com/x",
    online_invoice_url="https://in.xero.com/x",
    emailed_at=datetime(2026, 1, 7, tzinfo=UTC),
    last_error_type="XeroValidationError",
)


def refused(name: str) -> list[object]:
    """Values ``name`` must refuse, whatever kind of field it is."""
    field = attrs.fields_dict(SyncRecord)[name]
    if name in ("tenant_id", "invoice_id", "invoice_number"):
        return ["", None, 3]
    if name == "state":
        return ["nonsense", None]
    if name in ("version", "money_version", "told_version"):
        return [-1, True, "2"]
    if name == "delivered":
        return [1, None]
    if name == "allocations":
        return [["x"], None]
    if name == "fully_paid_on":
        return [datetime(2026, 1, 2, tzinfo=UTC), "2026-01-02"]
    if field.type in ("datetime | None",):
        return [datetime(2026, 1, 1), "2026-01-01", 1.5]  # noqa: DTZ001 - naive: refused
    if field.type in ("Decimal | None",):
        return [1.5, Decimal("NaN"), "1.00"]
    return [3, b"x"]  # the optional text fields


def test_every_field_refuses_a_bad_value_alone() -> None:
    """Changed alone, each field's bad value is refused with attrs.evolve's own error, so no
    field's rule can be left out of those an evolve runs."""
    cases = [(name, value) for name in attrs.fields_dict(SyncRecord) for value in refused(name)]

    expected = [(n, outcome(lambda n=n, v=v: attrs.evolve(FULL, **{n: v}))) for n, v in cases]
    actual = [(n, outcome(lambda n=n, v=v: FULL.evolve(**{n: v}))) for n, v in cases]

    assert expected == actual
    assert all(result[0] == "StorageValueError" for _, result in actual)


@settings(max_examples=300, deadline=None)
@given(changes)
def test_a_full_record_evolves_as_attrs_does(change: dict[str, Any]) -> None:
    assert outcome(lambda: attrs.evolve(FULL, **change)) == outcome(
        lambda: FULL.evolve(**change)
    )
