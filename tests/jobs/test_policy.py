"""How failures are classified, and how long the worker waits between attempts."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bms_xero.errors import (
    AuthError,
    ConfigurationError,
    CreditNoteRequired,
    DailyLimitReached,
    FieldProblem,
    InvoiceNumberConflict,
    InvoiceValidationError,
    MissingContactId,
    NotFound,
    RateLimited,
    ReauthorizationRequired,
    SchemaVersionError,
    StorageError,
    StorageValueError,
    TaxCodeError,
    TransportError,
    UncertainOutcome,
    VersionConflict,
    XeroUnavailable,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.jobs import Backoff, Failure, classify

CASES: list[tuple[BaseException, Failure]] = [
    (DailyLimitReached(resets_at=datetime(2026, 1, 6, tzinfo=UTC)), Failure.DAY_LIMIT),
    (RateLimited("minute", problem="minute", retry_after=30), Failure.TRANSIENT),
    (XeroUnavailable("The Organisation is offline", status_code=503), Failure.TRANSIENT),
    (TransportError("read timeout"), Failure.TRANSIENT),
    (UncertainOutcome("?", idempotency_key="k", method="PUT", path="/Invoices"), Failure.TRANSIENT),
    (VersionConflict(key="t/I-1", expected_version=1, actual_version=2), Failure.TRANSIENT),
    (StorageError("database is locked"), Failure.TRANSIENT),
    (OSError("host database unreachable"), Failure.TRANSIENT),
    (XeroValidationError([XeroValidationMessage("Invoice # must be unique.")]), Failure.PERMANENT),
    (AuthError("token rejected", status_code=401), Failure.PERMANENT),
    (ReauthorizationRequired("reconnect to Xero: invalid_grant"), Failure.RECONNECT),
    (TransportError("could not get an access token", sent=False), Failure.TRANSIENT),
    (NotFound("no such invoice", status_code=404), Failure.PERMANENT),
    (MissingContactId(customer_id="C-1", customer_name="Acme"), Failure.PERMANENT),
    (TaxCodeError(tax_code="GST99", reason="not_mapped"), Failure.PERMANENT),
    (InvoiceValidationError([FieldProblem("number", "must not be empty")]), Failure.PERMANENT),
    (
        CreditNoteRequired(invoice_number="INV-1", xero_invoice_id="x", xero_status="PAID"),
        Failure.PERMANENT,
    ),
    (
        InvoiceNumberConflict(invoice_number="INV-1", xero_invoice_id="x", reason="other total"),
        Failure.PERMANENT,
    ),
    (StorageValueError(what="job", problems=[]), Failure.PERMANENT),
    (
        SchemaVersionError(location="f", component="jobs", found_version=9, supported_version=1),
        Failure.PERMANENT,
    ),
]


@pytest.mark.parametrize(("error", "expected"), CASES, ids=lambda v: type(v).__name__)
def test_errors_are_classified_by_type(error: BaseException, expected: Failure) -> None:
    """Each error type is transient, permanent, a day-limit park or a reconnect, as
    documented."""
    assert expected == classify(error)


def test_backoff_doubles_up_to_the_cap() -> None:
    """Without jitter the waits are base, 2*base, 4*base, ... capped at max_delay."""
    backoff = Backoff(base=30, factor=2, max_delay=200, jitter=False)
    assert [30.0, 60.0, 120.0, 200.0, 200.0] == [backoff.delay(n) for n in range(1, 6)]


def test_jitter_stays_in_the_upper_half() -> None:
    """With jitter each wait lies between half the backoff and the whole of it."""
    backoff = Backoff(base=100, jitter=True, random=random.Random(1).random)
    waits = [backoff.delay(1) for _ in range(200)]
    assert (True, True) == (min(waits) >= 50, max(waits) <= 100)
    assert len(set(waits)) > 100


def test_seeded_jitter_gives_the_same_waits_as_ever() -> None:
    """A seeded Backoff draws the waits it always has (its formula is shared with RetryPolicy)."""
    backoff = Backoff(random=random.Random(1).random)
    assert [17.01546366168602, 55.42301210811698, 105.82647713859684] == [
        backoff.delay(n) for n in (1, 2, 3)
    ]


def test_retry_after_is_a_floor() -> None:
    """A wait is never shorter than the floor (Xero's Retry-After)."""
    assert 90.0 == Backoff(base=10, jitter=False).delay(1, floor=90)


@pytest.mark.parametrize(
    "kwargs", [{"base": -1}, {"factor": 0.5}, {"max_attempts": 0}, {"max_delay": "9"}], ids=str
)
def test_bad_backoff_settings_are_refused(kwargs: dict[str, object]) -> None:
    """Negative waits, shrinking factors and zero attempts are configuration errors."""
    with pytest.raises(ConfigurationError):
        Backoff(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        DailyLimitReached(resets_at=datetime(2026, 1, 6, tzinfo=UTC)),
        UncertainOutcome("no answer", idempotency_key="k", method="PUT", path="/Invoices"),
        VersionConflict(key="t/I-1", expected_version=1, actual_version=2),
    ],
    ids=lambda e: type(e).__name__,
)
def test_batch_wide_errors_can_name_each_invoice(error: Exception) -> None:
    """An error with keyword-only fields is copied per invoice (as job errors need), keeping
    its type and fields."""
    named = error.for_invoice("INV-7")  # type: ignore[attr-defined]
    assert (type(error), vars(error) | {"invoice_number": "INV-7", "message": named.message}) == (
        type(named),
        vars(named),
    )
    assert str(named).startswith("invoice INV-7: ")
