"""Idempotency-Key on writes: replays, mismatches, expiry and the 128-character limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, check, invoice, line


def _put(api: Api, body: dict[str, Any], key: str) -> httpx.Response:
    response = api.send("PUT", "/Invoices", body, headers={"Idempotency-Key": key})
    check(response)
    return response


@pytest.fixture(name="body")
def _body(contact_id: str) -> dict[str, Any]:
    return {"Invoices": [invoice(contact_id, "INV-0001")]}


def test_same_key_and_request_replays_the_first_answer(
    api: Api, xero: FakeXero, body: dict[str, Any]
) -> None:
    """Repeating a write with the same key returns the first answer and writes nothing more."""
    first = _put(api, body, "key-1")

    again = _put(api, body, "key-1")

    assert (200, first.content, 1) == (again.status_code, again.content, len(xero.invoices()))


def test_replays_are_marked_in_the_request_log(
    api: Api, xero: FakeXero, body: dict[str, Any]
) -> None:
    """The request log says which answer was a replay."""
    _put(api, body, "key-1")
    _put(api, body, "key-1")

    assert [False, True] == [r.replayed for r in xero.requests if r.method == "PUT"]


def test_errors_are_replayed_too(api: Api, xero: FakeXero, contact_id: str) -> None:
    """A failed write replays its failure even if the retry would now succeed."""
    body = {"Invoices": [invoice(contact_id, "INV-0001", line(account="300"))]}
    first = _put(api, body, "key-1")
    xero.add_account(code="300", name="New Sales")

    again = _put(api, body, "key-1")

    assert (400, first.content, 0) == (again.status_code, again.content, len(xero.invoices()))


def test_same_key_with_a_different_request_is_a_400(
    api: Api, contact_id: str, body: dict[str, Any]
) -> None:
    """Reusing a key for a different request gets Xero's message."""
    _put(api, body, "key-1")

    other = _put(api, {"Invoices": [invoice(contact_id, "INV-0002")]}, "key-1")

    expected = (400, "Idempotency Key: key-1 is used with a different request.")
    assert expected == (other.status_code, other.json()["Message"])


def test_keys_expire_after_six_minutes(api: Api, xero: FakeXero, body: dict[str, Any]) -> None:
    """After 360 s on the clock a key is forgotten, so the request runs again."""
    _put(api, body, "key-1")
    xero.clock.advance(360)

    again = _put(api, body, "key-1")

    assert (400, "Invoice # must be unique.") == (
        again.status_code,
        again.json()["Elements"][0]["ValidationErrors"][0]["Message"],
    )


def test_keys_live_until_they_expire(api: Api, xero: FakeXero, body: dict[str, Any]) -> None:
    """Just before 360 s a key still replays."""
    first = _put(api, body, "key-1")
    xero.clock.advance(359)

    assert first.content == _put(api, body, "key-1").content


def test_key_lifetime_is_configurable() -> None:
    """FakeXero(idempotency_ttl=...) sets how long keys live."""
    xero = FakeXero(idempotency_ttl=10)
    xero.add_account(code="200", name="Sales")
    xero.add_tax_rate(tax_type="OUTPUT2", name="GST", rate="15")
    contact = xero.add_contact(name="Acme Ltd")
    api = Api(xero)
    body = {"Invoices": [invoice(contact, "INV-0001")]}
    _put(api, body, "key-1")
    xero.clock.advance(10)

    assert 400 == _put(api, body, "key-1").status_code


def test_long_keys_are_refused(api: Api, body: dict[str, Any]) -> None:
    """A key over 128 characters gets a 400 and nothing is written."""
    response = _put(api, body, "k" * 129)

    assert (400, 0) == (response.status_code, len(api.xero.invoices()))


def test_a_128_character_key_is_fine(api: Api, body: dict[str, Any]) -> None:
    """A key of exactly 128 characters is accepted."""
    assert 200 == _put(api, body, "k" * 128).status_code


def test_reads_ignore_keys(api: Api) -> None:
    """GET requests are not subject to idempotency keys."""
    first = api.send("GET", "/Invoices", headers={"Idempotency-Key": "key-1"})
    second = api.send("GET", "/Organisation", headers={"Idempotency-Key": "key-1"})

    assert (200, 200) == (first.status_code, second.status_code)


def test_retry_after_a_lost_answer_replays_it(
    api: Api, xero: FakeXero, body: dict[str, Any]
) -> None:
    """A write whose answer was lost (timeout after commit) replays on retry with its key."""
    xero.inject("timeout_after_commit", method="PUT", path="/Invoices")
    with pytest.raises(httpx.ReadTimeout):
        _put(api, body, "key-1")

    retried = _put(api, body, "key-1")

    assert (200, [xero.invoices()[0]["InvoiceID"]]) == (
        retried.status_code,
        [i["InvoiceID"] for i in retried.json()["Invoices"]],
    )


def test_keys_are_not_spent_by_faults_before_commit(
    api: Api, xero: FakeXero, body: dict[str, Any]
) -> None:
    """A 500 that happened before anything was done does not record the key."""
    xero.inject("http_500", method="PUT")
    assert 500 == _put(api, body, "key-1").status_code

    assert (200, 1) == (_put(api, body, "key-1").status_code, len(xero.invoices()))
