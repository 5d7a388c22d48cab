"""Rate limits per tenant on the fake's clock: headers, 429s, Retry-After and concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from bms_xero.testing import FakeXero, InFlightRequest
from tests.testing.conftest import furnish
from tests.testing.helpers import Api, check, invoice


def _get(api: Api) -> httpx.Response:
    response = api.send("GET", "/Organisation")
    check(response)
    return response


def _limits(response: httpx.Response) -> tuple[str, str, str]:
    headers = response.headers
    return (
        headers["X-MinLimit-Remaining"],
        headers["X-DayLimit-Remaining"],
        headers["X-AppMinLimit-Remaining"],
    )


def test_every_call_reports_what_is_left(api: Api) -> None:
    """Each response carries the minute, day and app-minute calls left after it."""
    first, second = _get(api), _get(api)

    assert [("59", "4999", "9999"), ("58", "4998", "9998")] == [_limits(first), _limits(second)]


def test_the_61st_call_in_a_minute_is_refused(api: Api) -> None:
    """Past 60 calls in a minute Xero answers 429 minute with Retry-After."""
    for _ in range(60):
        _get(api)
    api.xero.clock.advance(20)

    refused = _get(api)

    expected = (429, "minute", "40", "0")
    assert expected == (
        refused.status_code,
        refused.headers["X-Rate-Limit-Problem"],
        refused.headers["Retry-After"],
        refused.headers["X-MinLimit-Remaining"],
    )


def test_the_minute_window_resets_on_the_clock(api: Api) -> None:
    """After waiting Retry-After on the clock, calls go through again."""
    for _ in range(60):
        _get(api)
    retry_after = int(_get(api).headers["Retry-After"])
    api.xero.clock.advance(retry_after)

    after = _get(api)
    assert (200, "59") == (after.status_code, after.headers["X-MinLimit-Remaining"])


def test_refused_calls_are_not_charged(api: Api) -> None:
    """A 429 does not use up any of the limits."""
    for _ in range(60):
        _get(api)
    _get(api)
    _get(api)

    assert "4940" == _get(api).headers["X-DayLimit-Remaining"]


def test_the_day_limit() -> None:
    """Past the day limit Xero answers 429 day with Retry-After until the day window ends."""
    small = FakeXero(day_limit=3)
    api = Api(small)
    for _ in range(3):
        _get(api)
    small.clock.advance(1000)

    refused = _get(api)

    assert (429, "day", str(86_400 - 1000)) == (
        refused.status_code,
        refused.headers["X-Rate-Limit-Problem"],
        refused.headers["Retry-After"],
    )


def test_limits_are_per_tenant(xero: FakeXero) -> None:
    """One tenant's minute limit does not touch another's."""
    other = xero.add_tenant(name="Other Ltd")
    api, other_api = Api(xero), Api(xero, other)
    for _ in range(60):
        _get(api)

    assert (429, 200) == (_get(api).status_code, _get(other_api).status_code)


def test_the_app_minute_limit() -> None:
    """Past the app's calls per minute, across tenants, Xero answers 429 without Retry-After."""
    small = FakeXero(app_minute_limit=2)
    other = small.add_tenant(name="Other Ltd")
    _get(Api(small))
    _get(Api(small, other))

    refused = _get(Api(small))

    assert (429, "appminute", False) == (
        refused.status_code,
        refused.headers["X-Rate-Limit-Problem"],
        "Retry-After" in refused.headers,
    )


def test_limits_are_configurable() -> None:
    """FakeXero(minute_limit=...) sets the minute limit."""
    api = Api(FakeXero(minute_limit=2))
    _get(api)
    _get(api)

    assert 429 == _get(api).status_code


def test_bad_limits_are_refused() -> None:
    """A limit that is not a positive whole number is refused when the fake is built."""
    with pytest.raises(ValueError, match="minute_limit"):
        FakeXero(minute_limit=0)


class _Gate:
    """Holds the first ``hold`` in-flight requests until released."""

    def __init__(self, hold: int) -> None:
        self.hold = hold
        self.arrived = threading.Barrier(hold + 1)
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._count = 0

    def __call__(self, request: InFlightRequest) -> None:
        with self._lock:
            self._count += 1
            mine = self._count
        if mine <= self.hold:
            self.arrived.wait(timeout=10)
            self.release.wait(timeout=10)


def test_the_sixth_concurrent_call_is_refused() -> None:
    """With five calls in flight for a tenant, a sixth gets 429 concurrent without Retry-After."""
    gate = _Gate(5)
    xero = FakeXero(in_flight_hook=gate)
    api = Api(xero)
    with ThreadPoolExecutor(max_workers=5) as pool:
        held = [pool.submit(api.send, "GET", "/Organisation") for _ in range(5)]
        gate.arrived.wait(timeout=10)
        sixth = api.send("GET", "/Organisation")
        gate.release.set()
        statuses = sorted(f.result(timeout=10).status_code for f in held)

    assert ([200] * 5, 429, "concurrent", False) == (
        statuses,
        sixth.status_code,
        sixth.headers["X-Rate-Limit-Problem"],
        "Retry-After" in sixth.headers,
    )


def test_concurrency_is_per_tenant() -> None:
    """Five calls in flight for one tenant do not block another tenant."""
    gate = _Gate(5)
    xero = FakeXero(in_flight_hook=gate)
    other = xero.add_tenant(name="Other Ltd")
    api, other_api = Api(xero), Api(xero, other)
    with ThreadPoolExecutor(max_workers=5) as pool:
        held = [pool.submit(api.send, "GET", "/Organisation") for _ in range(5)]
        gate.arrived.wait(timeout=10)
        elsewhere = other_api.send("GET", "/Organisation")
        gate.release.set()
        for f in held:
            f.result(timeout=10)

    assert 200 == elsewhere.status_code


def test_finished_calls_free_their_slot() -> None:
    """After held calls finish, the tenant can make calls again."""
    gate = _Gate(5)
    xero = FakeXero(in_flight_hook=gate)
    api = Api(xero)
    with ThreadPoolExecutor(max_workers=5) as pool:
        held = [pool.submit(api.send, "GET", "/Organisation") for _ in range(5)]
        gate.arrived.wait(timeout=10)
        gate.release.set()
        for f in held:
            f.result(timeout=10)

    assert 200 == api.send("GET", "/Organisation").status_code


def test_concurrent_writes_keep_numbers_unique() -> None:
    """Many threads creating the same numbers at once still get each number created once."""
    xero = FakeXero(concurrent_limit=100, minute_limit=10_000)
    furnish(xero)
    contact = xero.add_contact(name="Acme Ltd")
    api = Api(xero)

    def create(n: int) -> None:
        api.send("PUT", "/Invoices", {"Invoices": [invoice(contact, f"INV-{n % 10}")]})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, range(40)))

    numbers = [i["InvoiceNumber"] for i in xero.invoices()]
    assert sorted(f"INV-{n}" for n in range(10)) == sorted(numbers)
