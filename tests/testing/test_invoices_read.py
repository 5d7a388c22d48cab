"""Reading invoices: GET /Invoices filters, paging, If-Modified-Since, unitdp and summaryOnly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bms_xero.mapping._dates import parse_datetime
from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, invoice, line


def _numbers(body: dict[str, Any]) -> list[str]:
    return [i["InvoiceNumber"] for i in body["Invoices"]]


def _list(api: Api, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
    status, body = api.call("GET", "/Invoices", params=params, headers=headers)
    assert 200 == status
    return dict(body)


@pytest.fixture(name="three")
def _three(api: Api, contact_id: str) -> list[dict[str, Any]]:
    return api.create(
        invoice(contact_id, "INV-0001"),
        invoice(contact_id, "INV-0002", status="DRAFT"),
        invoice(contact_id, "INV-0003", status="SUBMITTED"),
    )


def test_get_one_invoice_by_id(api: Api, three: list[dict[str, Any]]) -> None:
    """GET /Invoices/{id} returns that invoice with its lines."""
    got = api.invoice(three[1]["InvoiceID"])

    assert ("INV-0002", 1) == (got["InvoiceNumber"], len(got["LineItems"]))


def test_get_one_invoice_by_number(api: Api, three: list[dict[str, Any]]) -> None:
    """GET /Invoices/{InvoiceNumber} finds a sales invoice by its number."""
    assert three[2]["InvoiceID"] == api.invoice("INV-0003")["InvoiceID"]


def test_unknown_invoice_is_a_404(api: Api) -> None:
    """GET /Invoices/{id} for an id Xero does not have answers 404."""
    status, _ = api.call("GET", "/Invoices/00000000-0000-4000-8000-000000000000")

    assert 404 == status


def test_filter_by_ids(api: Api, three: list[dict[str, Any]]) -> None:
    """IDs= returns just those invoices."""
    wanted = f"{three[0]['InvoiceID']},{three[2]['InvoiceID'].upper()}"

    assert ["INV-0001", "INV-0003"] == _numbers(_list(api, IDs=wanted, page="1"))


def test_filter_by_invoice_numbers(api: Api, three: list[dict[str, Any]]) -> None:
    """InvoiceNumbers= returns the invoices with those numbers (how a lost create is found)."""
    assert ["INV-0002"] == _numbers(_list(api, InvoiceNumbers="INV-0002,INV-9999", page="1"))


def test_filter_by_contact_ids(api: Api, xero: FakeXero, three: list[dict[str, Any]]) -> None:
    """ContactIDs= returns only that contact's invoices."""
    other = xero.add_contact(name="Other Ltd")
    [theirs] = api.create(invoice(other, "INV-0004"))

    body = _list(api, ContactIDs=other, page="1")

    assert [theirs["InvoiceNumber"]] == _numbers(body)


def test_filter_by_statuses(api: Api, three: list[dict[str, Any]]) -> None:
    """Statuses= returns only invoices in those statuses."""
    body = _list(api, Statuses="DRAFT,SUBMITTED", page="1")

    assert ["INV-0002", "INV-0003"] == _numbers(body)


def test_paging(api: Api, three: list[dict[str, Any]]) -> None:
    """page and pageSize cut the list, and pagination says where you are."""
    body = _list(api, page="2", pageSize="2")

    expected = (["INV-0003"], {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3})
    assert expected == (_numbers(body), body["pagination"])


def test_page_size_is_capped_at_1000(api: Api, three: list[dict[str, Any]]) -> None:
    """A pageSize above 1000 is served as 1000."""
    assert 1000 == _list(api, page="1", pageSize="5000")["pagination"]["pageSize"]


def test_paged_lists_carry_lines(api: Api, three: list[dict[str, Any]]) -> None:
    """Paged list calls include line items."""
    body = _list(api, page="1")

    assert [1, 1, 1] == [len(i["LineItems"]) for i in body["Invoices"]]


def test_unpaged_lists_leave_lines_out(api: Api, three: list[dict[str, Any]]) -> None:
    """Un-paged list calls leave line items (and pagination) out, as Xero's do."""
    body = _list(api)

    assert (False, False) == ("LineItems" in body["Invoices"][0], "pagination" in body)


def test_bad_page_is_a_400(api: Api) -> None:
    """page= that is not a number is a 400."""
    status, _ = api.call("GET", "/Invoices", params={"page": "two"})

    assert 400 == status


def test_summary_only_is_light(api: Api, three: list[dict[str, Any]]) -> None:
    """summaryOnly=true leaves out lines and allocations."""
    body = _list(api, page="1", summaryOnly="true")

    first = body["Invoices"][0]
    assert (False, False, Decimal("115.00")) == (
        "LineItems" in first,
        "Payments" in first,
        first["Total"],
    )


def test_unit_amounts_show_two_places_unless_unitdp_4(api: Api, contact_id: str) -> None:
    """A unit amount stored with 4 places reads as 2 by default and 4 with unitdp=4."""
    status, body = api.call(
        "PUT",
        "/Invoices",
        {"Invoices": [invoice(contact_id, "INV-0001", line("12.3456"))]},
        params={"unitdp": "4"},
    )
    invoice_id = body["Invoices"][0]["InvoiceID"]

    plain = api.invoice(invoice_id)["LineItems"][0]["UnitAmount"]
    precise = api.invoice(invoice_id, unitdp="4")["LineItems"][0]["UnitAmount"]

    assert (200, Decimal("12.35"), Decimal("12.3456")) == (status, plain, precise)


def test_updated_dates_strictly_increase_on_a_still_clock(
    api: Api, three: list[dict[str, Any]]
) -> None:
    """Each write gets a later UpdatedDateUTC even though the clock did not move."""
    stamps = [parse_datetime(i["UpdatedDateUTC"]) for i in three]

    assert stamps == sorted(set(stamps))


def test_updated_date_is_the_clocks_time_as_ms_json(
    api: Api, xero: FakeXero, contact_id: str
) -> None:
    """UpdatedDateUTC is the clock's time, written as /Date(ms)/ in UTC."""
    xero.clock.advance(60.25)

    [created] = api.create(invoice(contact_id, "INV-0001"))

    assert "/Date(1767603660250)/" == created["UpdatedDateUTC"]


def test_if_modified_since_returns_later_changes(
    api: Api, xero: FakeXero, three: list[dict[str, Any]]
) -> None:
    """If-Modified-Since (ISO-8601) returns only invoices changed after it."""
    xero.clock.advance(10)
    api.create(invoice(three[0]["Contact"]["ContactID"], "INV-0004"))

    body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}, page="1")

    assert ["INV-0004"] == _numbers(body)


def test_if_modified_since_accepts_an_http_date(
    api: Api, xero: FakeXero, three: list[dict[str, Any]]
) -> None:
    """If-Modified-Since also takes an HTTP-date."""
    xero.clock.advance(10)
    api.create(invoice(three[0]["Contact"]["ContactID"], "INV-0004"))

    body = _list(api, headers={"If-Modified-Since": "Mon, 05 Jan 2026 09:00:05 GMT"}, page="1")

    assert ["INV-0004"] == _numbers(body)


def test_if_modified_since_is_accurate_to_the_second(api: Api, three: list[dict[str, Any]]) -> None:
    """Milliseconds in If-Modified-Since are dropped, so changes later in that second are
    returned again (a cursor never misses a change)."""
    body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:00.999Z"}, page="1")

    assert ["INV-0001", "INV-0002", "INV-0003"] == _numbers(body)


def test_if_modified_since_sees_updates_of_old_invoices(
    api: Api, xero: FakeXero, three: list[dict[str, Any]]
) -> None:
    """An old invoice that changed comes back, after the others, in UpdatedDateUTC order."""
    xero.clock.advance(10)
    xero.pay(three[0]["InvoiceID"], amount=Decimal("1.00"))

    body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}, page="1")

    assert ["INV-0001"] == _numbers(body)


def test_bad_if_modified_since_is_a_400(api: Api) -> None:
    """An If-Modified-Since that is not a date is a 400 saying so."""
    status, body = api.call("GET", "/Invoices", headers={"If-Modified-Since": "yesterday"})

    assert (400, True) == (status, "If-Modified-Since" in body["Message"])


def test_where_filters(api: Api, three: list[dict[str, Any]]) -> None:
    """A simple where clause filters the list."""
    body = _list(api, where='Status=="DRAFT" OR InvoiceNumber=="INV-0003"', page="1")

    assert ["INV-0002", "INV-0003"] == _numbers(body)


def test_where_on_a_nested_guid(api: Api, contact_id: str, three: list[dict[str, Any]]) -> None:
    """where can compare a nested field with Guid("...")."""
    body = _list(api, where=f'Contact.ContactID==Guid("{contact_id.upper()}")', page="1")

    assert 3 == len(body["Invoices"])


def test_unsupported_where_is_a_400(api: Api) -> None:
    """A where clause the fake cannot read is a 400, never a silently unfiltered list."""
    status, body = api.call("GET", "/Invoices", params={"where": 'Reference.ToLower()=="x"'})

    assert (400, "QueryParseException") == (status, body["Type"])


def test_order_descending(api: Api, three: list[dict[str, Any]]) -> None:
    """order=InvoiceNumber DESC sorts the list."""
    body = _list(api, order="InvoiceNumber DESC", page="1")

    assert ["INV-0003", "INV-0002", "INV-0001"] == _numbers(body)


def test_inspection_helpers_show_stored_invoices(
    xero: FakeXero, three: list[dict[str, Any]]
) -> None:
    """xero.invoices() and xero.invoice() show the stored invoices as Xero JSON."""
    listed = xero.invoices()

    assert (["INV-0001", "INV-0002", "INV-0003"], three[1]["InvoiceID"]) == (
        [i["InvoiceNumber"] for i in listed],
        xero.invoice("INV-0002")["InvoiceID"],
    )
