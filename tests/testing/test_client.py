"""xero.client(): the real XeroClient wired to the fake, and the public surface of the package."""

from __future__ import annotations

from decimal import Decimal

import pytest

import bms_xero.testing
from bms_xero.clock import FakeClock
from bms_xero.testing import FakeXero


def test_client_talks_to_the_fake(xero: FakeXero) -> None:
    """xero.client() is a XeroClient for the default organisation, on the fake's clock."""
    client = xero.client()

    organisation = client.get_organisation()

    calls = [(r.method, r.path, r.status) for r in xero.requests]
    assert (
        "Demo Company (NZ)",
        [("POST", "/connect/token", 200), ("GET", "/Organisation", 200)],
    ) == (
        organisation.name,
        calls,
    )


def test_default_clock_is_a_fake_clock() -> None:
    """Without a clock the fake runs on a FakeClock that tests advance."""
    xero = FakeXero()
    xero.clock.advance(5)

    assert (True, 5.0) == (isinstance(xero.clock, FakeClock), xero.clock.monotonic())


def test_fake_clock_is_re_exported() -> None:
    """bms_xero.testing.FakeClock is bms_xero.clock.FakeClock."""
    assert FakeClock is bms_xero.testing.FakeClock


def test_public_names() -> None:
    """The package exports exactly these names."""
    expected = [
        "AnswerHook",
        "FakeClock",
        "FakeRequest",
        "FakeServer",
        "FakeTransport",
        "FakeXero",
        "FaultKind",
        "InFlightRequest",
        "NetworkFault",
        "RandomFaults",
        "RecordedRequest",
        "Reply",
        "ScheduledFault",
        "SentEmail",
        "serve",
    ]
    assert expected == sorted(bms_xero.testing.__all__)


def test_rejected_clock_is_reported() -> None:
    """A clock that is not a Clock is refused with a clear error."""
    with pytest.raises(ValueError, match="clock must be"):
        FakeXero(clock="now")  # type: ignore[call-overload]


def test_json_writer_matches_encode_json() -> None:
    """The fake's fast JSON writer produces exactly what mapping.wire.encode_json produces."""
    from bms_xero.mapping.wire import encode_json
    from bms_xero.testing._api import dump_json

    body = {
        "Amounts": [Decimal("1.50"), Decimal("-0.00"), Decimal("1E+2"), Decimal("0.0001")],
        "Text": 'quote " \u00e9 \x00 /Date(1)/',
        "Nested": {"Flag": True, "Nothing": None, "Count": 3},
    }

    assert encode_json(body) == dump_json(body)
