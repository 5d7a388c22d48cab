"""SyncRecord: a value that validates itself, so no store ever holds a bad one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import StorageError, StorageValueError
from bms_xero.storage import SyncRecord, SyncState


def record(**changes: Any) -> SyncRecord:
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "invoice_id": "I-1",
        "invoice_number": "INV-0001",
        "state": SyncState.PENDING,
    }
    values.update(changes)
    return SyncRecord(**values)


def problem_paths(error: StorageValueError) -> list[str]:
    return [p.path for p in error.problems]


class TestValidation:
    def test_naive_datetime_is_refused(self) -> None:
        """A naive datetime is refused with a typed error naming the field and the fix."""
        with pytest.raises(StorageValueError) as caught:
            record(intent_at=datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001 (the point)
        assert ["intent_at"] == problem_paths(caught.value)
        assert "timezone-aware" in str(caught.value)
        assert "sync record tenant-1/I-1" == caught.value.what

    def test_every_problem_is_listed(self) -> None:
        """All problems of one record are reported together."""
        with pytest.raises(StorageValueError) as caught:
            record(
                tenant_id="",
                total=0.1,
                amount_due=Decimal("NaN"),
                last_error_at=datetime(2026, 1, 1),  # noqa: DTZ001
                fully_paid_on=datetime(2026, 1, 1, tzinfo=UTC),
                version=-1,
            )
        assert [
            "tenant_id",
            "version",
            "last_error_at",
            "total",
            "amount_due",
            "fully_paid_on",
        ] == problem_paths(caught.value)

    def test_value_error_and_storage_error(self) -> None:
        """The error is both a StorageError and a ValueError, so either except clause works."""
        assert (True, True) == (
            issubclass(StorageValueError, StorageError),
            issubclass(StorageValueError, ValueError),
        )

    def test_float_money_is_refused(self) -> None:
        """Money must be a Decimal: a float is refused because it loses cents."""
        with pytest.raises(StorageValueError, match="must be a Decimal"):
            record(amount_paid=10.5)

    def test_unknown_state_is_refused(self) -> None:
        """A state that is not a SyncState value is refused, listing the valid ones."""
        with pytest.raises(StorageValueError, match="pending, pushed, uncertain"):
            record(state="sent")

    def test_state_value_is_accepted(self) -> None:
        """A state given as its string value becomes the SyncState member."""
        assert SyncState.PUSHED is record(state="pushed").state

    def test_evolve_validates(self) -> None:
        """evolve() checks the changed copy like a new record."""
        with pytest.raises(StorageValueError):
            record().evolve(last_push_at=datetime(2026, 1, 1))  # noqa: DTZ001

    def test_datetime_out_of_range_in_utc_is_refused(self) -> None:
        """A datetime that overflows once converted to UTC is refused, not crashed on."""
        late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
        with pytest.raises(StorageValueError, match="out of range"):
            record(xero_updated_at=late)


class TestValues:
    def test_datetimes_are_normalised_to_utc(self) -> None:
        """Aware datetimes are kept as the same instant, in UTC."""
        local = datetime(2026, 1, 5, 20, 0, tzinfo=timezone(timedelta(hours=10)))
        stored = record(last_push_at=local).last_push_at
        assert (datetime(2026, 1, 5, 10, 0, tzinfo=UTC), UTC) == (
            stored,
            None if stored is None else stored.tzinfo,
        )

    def test_key_names_tenant_and_invoice(self) -> None:
        """A record's key is tenant/invoice, as errors name it."""
        assert "tenant-1/I-1" == record().key

    def test_evolve_changes_fields(self) -> None:
        """evolve() returns a copy with the changes; the original is untouched."""
        original = record()
        changed = original.evolve(state=SyncState.PUSHED, fully_paid_on=date(2026, 2, 1))
        assert (SyncState.PENDING, SyncState.PUSHED, date(2026, 2, 1)) == (
            original.state,
            changed.state,
            changed.fully_paid_on,
        )

    def test_defaults(self) -> None:
        """A new record has version 0 and no optional fields set."""
        assert (0, None, None) == (record().version, record().xero_invoice_id, record().total)
