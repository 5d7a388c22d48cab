"""Job values: validation, normalisation and how a job names itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bms_xero.errors import StorageValueError
from bms_xero.jobs import Job, JobKind, JobStatus

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def job(**changes: object) -> Job:
    values: dict[str, object] = {
        "id": "j-1",
        "tenant_id": "t-1",
        "kind": JobKind.PUSH,
        "invoice_id": "I-1",
        "run_after": T0,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Job(**values)  # type: ignore[arg-type]


def test_values_are_accepted_for_enums() -> None:
    """Kinds and statuses may be given as their values ("push", "failed")."""
    made = job(kind="pull_invoices", status="failed")
    assert (JobKind.PULL_INVOICES, JobStatus.FAILED) == (made.kind, made.status)


def test_datetimes_are_normalised_to_utc() -> None:
    """An aware datetime in any offset is stored as the same instant in UTC."""
    local = datetime(2026, 1, 5, 19, 0, tzinfo=timezone(timedelta(hours=10)))
    made = job(created_at=local)
    assert (T0, timedelta(0)) == (made.created_at, made.created_at.utcoffset())


def test_every_problem_is_listed_at_once() -> None:
    """A bad job raises StorageValueError naming each bad field."""
    with pytest.raises(StorageValueError) as caught:
        job(
            tenant_id="",
            kind="sync",
            attempts=-1,
            run_after=datetime(2026, 1, 5),  # noqa: DTZ001 (the point)
            retryable="yes",
        )
    paths = [p.path for p in caught.value.problems]
    assert ["tenant_id", "kind", "attempts", "retryable", "run_after"] == paths


def test_push_needs_an_invoice_and_a_full_pull_has_none() -> None:
    """A push (or refresh) names its invoice; a full pull names none."""
    with pytest.raises(StorageValueError, match="invoice_id"):
        job(invoice_id=None)
    with pytest.raises(StorageValueError, match="invoice_id"):
        job(kind=JobKind.PULL)
    assert None is job(kind=JobKind.PULL, invoice_id=None).invoice_id


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"invoice_number": "INV-7"}, "Push invoice INV-7 to Xero"),
        ({}, "Push invoice id I-1 to Xero"),
        (
            {"kind": JobKind.PULL_INVOICES, "invoice_number": "INV-7"},
            "Refresh invoice INV-7 from Xero",
        ),
        ({"kind": JobKind.PULL, "invoice_id": None}, "Pull payments from Xero"),
    ],
)
def test_description_names_the_invoice(changes: dict[str, object], expected: str) -> None:
    """A job describes itself for a Background Jobs list, by number when known."""
    assert expected == job(**changes).description


def test_a_lease_is_live_until_it_runs_out() -> None:
    """A leased job is held before lease_until and due again from then."""
    leased = job(status=JobStatus.LEASED, leased_by="w", lease_until=T0 + timedelta(seconds=60))
    at_59, at_60 = T0 + timedelta(seconds=59), T0 + timedelta(seconds=60)
    assert (True, False) == (leased.is_leased(at_59), leased.is_due(at_59))
    assert (False, True) == (leased.is_leased(at_60), leased.is_due(at_60))
