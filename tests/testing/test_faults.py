"""Injected faults: timeouts before and after commit, resets, 500s, 503s and slow answers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from bms_xero.errors import ConfigurationError
from bms_xero.testing import FakeXero, FaultKind
from tests.testing.helpers import TOKEN_URL, Api, check, invoice


def _create(api: Api, contact_id: str, number: str = "INV-0001") -> httpx.Response:
    response = api.send("PUT", "/Invoices", {"Invoices": [invoice(contact_id, number)]})
    check(response)
    return response


def test_timeout_before_commit_writes_nothing(api: Api, xero: FakeXero, contact_id: str) -> None:
    """timeout_before_commit raises httpx.ReadTimeout and the invoice is not created."""
    xero.inject("timeout_before_commit", method="PUT", path="/Invoices")

    with pytest.raises(httpx.ReadTimeout):
        _create(api, contact_id)

    assert [] == xero.invoices()


def test_timeout_after_commit_writes_but_never_answers(
    api: Api, xero: FakeXero, contact_id: str
) -> None:
    """timeout_after_commit creates the invoice, then raises httpx.ReadTimeout."""
    xero.inject(FaultKind.TIMEOUT_AFTER_COMMIT, method="PUT", path="/Invoices")

    with pytest.raises(httpx.ReadTimeout):
        _create(api, contact_id)

    assert ["INV-0001"] == [i["InvoiceNumber"] for i in xero.invoices()]


def test_connection_reset_writes_nothing(api: Api, xero: FakeXero, contact_id: str) -> None:
    """connection_reset raises httpx.RemoteProtocolError and nothing is written."""
    xero.inject("connection_reset", path="/Invoices")

    with pytest.raises(httpx.RemoteProtocolError):
        _create(api, contact_id)

    assert [] == xero.invoices()


def test_connect_timeout(api: Api, xero: FakeXero, contact_id: str) -> None:
    """connect_timeout raises httpx.ConnectTimeout (the request never left)."""
    xero.inject("connect_timeout")

    with pytest.raises(httpx.ConnectTimeout):
        _create(api, contact_id)

    assert [] == xero.invoices()


def test_http_500(api: Api, xero: FakeXero, contact_id: str) -> None:
    """http_500 answers Xero's 500 UnknownErrorException and writes nothing."""
    xero.inject("http_500")

    response = _create(api, contact_id)

    assert (500, "UnknownErrorException", []) == (
        response.status_code,
        response.json()["Type"],
        xero.invoices(),
    )


def test_offline_503_is_plain_text(api: Api, xero: FakeXero, contact_id: str) -> None:
    """offline_503 answers 503 with the plain text 'The Organisation is offline'."""
    xero.inject("offline_503")

    response = _create(api, contact_id)

    assert (503, "The Organisation is offline") == (response.status_code, response.text)


def test_slow_moves_the_clock_and_times_out_after_commit(
    api: Api, xero: FakeXero, contact_id: str
) -> None:
    """slow creates the invoice, moves the clock on 65 s, then raises httpx.ReadTimeout."""
    start = xero.clock.monotonic()
    xero.inject("slow", method="PUT")

    with pytest.raises(httpx.ReadTimeout):
        _create(api, contact_id)

    assert (65.0, 1) == (xero.clock.monotonic() - start, len(xero.invoices()))


def test_slow_seconds_can_be_chosen(api: Api, xero: FakeXero, contact_id: str) -> None:
    """inject("slow", seconds=...) moves the clock by that much."""
    start = xero.clock.monotonic()
    xero.inject("slow", seconds=31)

    with pytest.raises(httpx.ReadTimeout):
        _create(api, contact_id)

    assert 31.0 == xero.clock.monotonic() - start


def test_faults_hit_only_times_requests(api: Api, xero: FakeXero) -> None:
    """A fault with times=2 hits the next two matching requests and then stops."""
    xero.inject("http_500", times=2)

    statuses = [api.send("GET", "/Organisation").status_code for _ in range(3)]

    assert [500, 500, 200] == statuses


def test_faults_until_cleared(api: Api, xero: FakeXero) -> None:
    """times=None hits every matching request until clear_faults()."""
    xero.inject("offline_503", times=None)
    before = [api.send("GET", "/Organisation").status_code for _ in range(3)]
    xero.clear_faults()

    assert ([503, 503, 503], 200) == (before, api.send("GET", "/Organisation").status_code)


def test_faults_match_method_and_path(api: Api, xero: FakeXero, contact_id: str) -> None:
    """A fault for PUT /Invoices does not hit a GET or another path."""
    xero.inject("http_500", method="PUT", path="/Invoices")

    statuses = [
        api.send("GET", "/Invoices").status_code,
        api.send("GET", "/Organisation").status_code,
        _create(api, contact_id).status_code,
    ]

    assert [200, 200, 500] == statuses


def test_path_prefix_covers_sub_paths(api: Api, xero: FakeXero) -> None:
    """path="/Invoices" also matches /Invoices/{id}, but not /InvoicesX."""
    xero.inject("http_500", path="/Invoices", times=None)

    statuses = [
        api.send("GET", "/Invoices/00000000-0000-4000-8000-000000000000").status_code,
        api.send("GET", "/InvoicesX").status_code,
    ]

    assert [500, 501] == statuses


def test_faults_can_target_a_tenant(xero: FakeXero) -> None:
    """A fault for one tenant leaves another alone."""
    other = xero.add_tenant(name="Other Ltd")
    xero.inject("offline_503", tenant_id=other, times=None)

    statuses = [Api(xero).send("GET", "/Organisation").status_code]
    statuses.append(Api(xero, other).send("GET", "/Organisation").status_code)

    assert [200, 503] == statuses


def test_faults_without_a_path_spare_the_token_endpoint(xero: FakeXero) -> None:
    """A fault with no path hits API calls only, so clients can still get tokens."""
    xero.inject("http_500")

    api = Api(xero)

    assert 500 == api.send("GET", "/Organisation").status_code


def test_token_endpoint_faults(xero: FakeXero) -> None:
    """path="/connect/token" faults the identity endpoint."""
    xero.inject("timeout_before_commit", path="/connect/token")
    http = httpx.Client(transport=xero.transport)

    with pytest.raises(httpx.ReadTimeout):
        http.post(TOKEN_URL, data={"grant_type": "client_credentials"})


def test_faults_are_logged(api: Api, xero: FakeXero, contact_id: str) -> None:
    """The request log shows each fault, and no status when no answer was made."""
    xero.inject("timeout_before_commit", method="PUT")
    xero.inject("timeout_after_commit", method="PUT")
    for _ in range(2):
        with pytest.raises(httpx.ReadTimeout):
            _create(api, contact_id)

    logged = [(r.fault, r.status) for r in xero.requests if r.method == "PUT"]
    assert [
        (FaultKind.TIMEOUT_BEFORE_COMMIT, None),
        (FaultKind.TIMEOUT_AFTER_COMMIT, 200),
    ] == logged


def test_pending_faults_are_listed(xero: FakeXero) -> None:
    """pending_faults lists scheduled faults still waiting."""
    xero.inject("http_500", times=3)

    assert [("http_500", 3)] == [(f.kind.value, f.remaining) for f in xero.pending_faults]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"kind": "meteor"}, "unknown fault kind"),
        ({"kind": "http_500", "times": 0}, "times must be at least 1"),
        ({"kind": "http_500", "path": "Invoices"}, "must start with '/'"),
    ],
)
def test_bad_fault_arguments_are_refused(xero: FakeXero, args: dict[str, Any], match: str) -> None:
    """inject() checks its arguments and says what is wrong."""
    with pytest.raises(ConfigurationError, match=match):
        xero.inject(**args)


def test_random_faults_are_reproducible() -> None:
    """inject_random with the same seed hits the same requests."""

    def run() -> list[int]:
        xero = FakeXero(seed=1, minute_limit=1000)
        xero.inject_random(rate=0.5, kinds=["http_500", "offline_503"], seed=9)
        api = Api(xero)
        return [api.send("GET", "/Organisation").status_code for _ in range(20)]

    first, second = run(), run()

    assert (first, True) == (second, {500, 503, 200} == set(first))


def test_random_rate_is_checked(xero: FakeXero) -> None:
    """inject_random refuses a rate outside 0 to 1."""
    with pytest.raises(ConfigurationError, match="rate"):
        xero.inject_random(rate=1.5)


def test_faults_are_thread_safe() -> None:
    """From many threads at once, a fault with times=N hits exactly N requests."""
    xero = FakeXero(concurrent_limit=100, minute_limit=10_000)
    api = Api(xero)
    xero.inject("connection_reset", times=25)
    start = threading.Barrier(8)

    def call(n: int) -> str:
        if n < 8:
            start.wait(timeout=10)
        try:
            api.send("GET", "/Organisation")
        except httpx.RemoteProtocolError:
            return "reset"
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(call, range(100)))

    assert (25, 75) == (outcomes.count("reset"), outcomes.count("ok"))
