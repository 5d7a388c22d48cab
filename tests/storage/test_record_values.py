"""SyncRecord and Job hold only converted values: built whole and valid, or refused at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero.errors import StorageValueError
from bms_xero.jobs import Job, JobKind, JobStatus
from bms_xero.storage import SyncRecord, SyncState
from bms_xero.storage._checks import aware_utc

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.sampled_from([s.value for s in SyncState] + [k.value for k in JobKind]),
    st.sampled_from([s.value for s in JobStatus]),
    st.decimals(),
    st.floats(),
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=14))])),
    st.just(datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))),  # past UTC's range
    st.just(object()),
)


def record(**changes: Any) -> SyncRecord:
    values: dict[str, Any] = {
        "tenant_id": "tenant-1",
        "invoice_id": "I-1",
        "invoice_number": "INV-0001",
        "state": SyncState.PENDING,
    }
    return SyncRecord(**(values | changes))


def job(**changes: Any) -> Job:
    values: dict[str, Any] = {
        "id": "j-1",
        "tenant_id": "t-1",
        "kind": JobKind.PUSH,
        "invoice_id": "I-1",
        "run_after": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    return Job(**(values | changes))


class TestSyncRecord:
    def test_a_bad_state_and_datetime_are_reported_together(self) -> None:
        """A state no record has and a naive datetime are both named in one error."""
        with pytest.raises(StorageValueError) as caught:
            record(state="sent", intent_at=datetime(2026, 1, 5), total=0.5)  # noqa: DTZ001

        assert ["state", "intent_at", "total"] == [p.path for p in caught.value.problems]

    @settings(max_examples=200, deadline=timedelta(milliseconds=500))
    @given(state=anything, intent_at=anything, last_error_at=anything, total=anything)
    def test_any_values_build_a_sound_record_or_raise_typed(
        self, state: Any, intent_at: Any, last_error_at: Any, total: Any
    ) -> None:
        """Whatever is given, a record holds a SyncState and UTC datetimes, or is refused."""
        try:
            made = record(
                state=state, intent_at=intent_at, last_error_at=last_error_at, total=total
            )
        except StorageValueError as e:
            assert e.problems
            return
        assert isinstance(made.state, SyncState)
        for value in (made.intent_at, made.last_error_at):
            assert value is None or value.tzinfo is UTC
        assert made.total is None or (isinstance(made.total, Decimal) and made.total.is_finite())


class TestJob:
    def test_a_bad_kind_and_status_are_reported_together(self) -> None:
        """A kind and a status no job has are both named in one error."""
        with pytest.raises(StorageValueError) as caught:
            job(kind="sync", status="sleeping")

        assert ["kind", "status"] == [p.path for p in caught.value.problems]

    @settings(max_examples=200, deadline=timedelta(milliseconds=500))
    @given(kind=anything, status=anything, run_after=anything, lease_until=anything)
    def test_any_values_build_a_sound_job_or_raise_typed(
        self, kind: Any, status: Any, run_after: Any, lease_until: Any
    ) -> None:
        """Whatever is given, a job holds members and UTC datetimes, or is refused."""
        try:
            made = job(kind=kind, status=status, run_after=run_after, lease_until=lease_until)
        except StorageValueError as e:
            assert e.problems
            return
        assert (isinstance(made.kind, JobKind), isinstance(made.status, JobStatus)) == (True, True)
        assert made.run_after.tzinfo is UTC
        assert made.lease_until is None or made.lease_until.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5),  # noqa: DTZ001 (the point)
        "2026-01-05",
        datetime.max.replace(tzinfo=timezone(-timedelta(hours=1))),
    ],
)
def test_the_datetime_converter_never_passes_a_bad_value(value: Any) -> None:
    """Called on its own, the converter raises a typed error rather than keep a bad value."""
    with pytest.raises(StorageValueError):
        aware_utc(value)
