"""Reading a changing organisation: order, where, If-Modified-Since, on_answer, keyset paging."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

import bms_xero.testing._api as fake_api
from bms_xero.errors import ConfigurationError
from bms_xero.mapping._dates import parse_datetime
from bms_xero.testing import FakeXero
from bms_xero.testing._render import render_invoice
from tests.testing.conftest import furnish
from tests.testing.helpers import Api, body_of, invoice, line

ORDER = "UpdatedDateUTC ASC"


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
        invoice(contact_id, "INV-0002"),
        invoice(contact_id, "INV-0003"),
    )


@pytest.fixture(name="renders")
def _renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The InvoiceIDs GET /Invoices renders, in order (to show which reads stay cheap)."""
    seen: list[str] = []

    def counting(record: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(record.invoice_id)
        return render_invoice(record, *args, **kwargs)

    monkeypatch.setattr(fake_api, "render_invoice", counting)
    yield seen


class TestOrder:
    def test_ascending_is_update_order(
        self, api: Api, xero: FakeXero, three: list[dict[str, Any]]
    ) -> None:
        """order=UpdatedDateUTC ASC lists the invoice changed last at the end."""
        xero.pay(three[0]["InvoiceID"], Decimal("1.00"))

        assert ["INV-0002", "INV-0003", "INV-0001"] == _numbers(_list(api, order=ORDER, page="1"))

    def test_descending(self, api: Api, xero: FakeXero, three: list[dict[str, Any]]) -> None:
        """order=UpdatedDateUTC DESC lists the invoice changed last first."""
        xero.pay(three[0]["InvoiceID"], Decimal("1.00"))

        body = _list(api, order="UpdatedDateUTC DESC", page="1")

        assert ["INV-0001", "INV-0003", "INV-0002"] == _numbers(body)

    def test_payments_by_update(
        self, api: Api, xero: FakeXero, three: list[dict[str, Any]]
    ) -> None:
        """GET /Payments?order=UpdatedDateUTC DESC lists the newest payment first."""
        xero.pay(three[0]["InvoiceID"], Decimal("1.00"), reference="first")
        xero.pay(three[1]["InvoiceID"], Decimal("1.00"), reference="second")

        _, body = api.call("GET", "/Payments", params={"order": "UpdatedDateUTC DESC"})

        assert ["second", "first"] == [p["Reference"] for p in body["Payments"]]

    def test_only_the_page_is_rendered(
        self, api: Api, three: list[dict[str, Any]], renders: list[str]
    ) -> None:
        """Ordering by UpdatedDateUTC renders only the invoices on the page asked for."""
        _list(api, order=ORDER, page="2", pageSize="2")

        assert [three[2]["InvoiceID"]] == renders

    def test_other_fields_still_sort(self, api: Api, three: list[dict[str, Any]]) -> None:
        """Any other field sorts as before (rendering every invoice)."""
        body = _list(api, order="InvoiceNumber DESC", page="1")

        assert ["INV-0003", "INV-0002", "INV-0001"] == _numbers(body)


class TestWhereType:
    @pytest.fixture(name="bill")
    def _bill(self, api: Api, contact_id: str, three: list[dict[str, Any]]) -> dict[str, Any]:
        [bill] = api.create(
            invoice(contact_id, "BILL-1", line("10.00", account="400", tax=None), Type="ACCPAY")
        )
        return bill

    def test_sales_only(self, api: Api, bill: dict[str, Any]) -> None:
        """where=Type=="ACCREC" leaves bills out."""
        body = _list(api, where='Type=="ACCREC"', page="1")

        assert ["INV-0001", "INV-0002", "INV-0003"] == _numbers(body)

    def test_bills_only(self, api: Api, bill: dict[str, Any]) -> None:
        """where=Type=="ACCPAY" keeps only bills."""
        assert ["BILL-1"] == _numbers(_list(api, where='Type == "ACCPAY"', page="1"))

    def test_only_the_page_is_rendered(
        self, api: Api, bill: dict[str, Any], three: list[dict[str, Any]], renders: list[str]
    ) -> None:
        """Filtering by Type (with the keyset order) renders only the invoices on the page."""
        _list(api, where='Type=="ACCREC"', order=ORDER, page="1", pageSize="2")

        assert [three[0]["InvoiceID"], three[1]["InvoiceID"]] == renders

    def test_other_clauses_still_filter(self, api: Api, bill: dict[str, Any]) -> None:
        """Type with another clause filters on both."""
        body = _list(api, where='Type=="ACCREC" AND InvoiceNumber!="INV-0002"', page="1")

        assert ["INV-0001", "INV-0003"] == _numbers(body)

    def test_mixed_clauses(self, api: Api, bill: dict[str, Any]) -> None:
        """Type combined with a field needing rendering (Total) filters as the generic where."""
        body = _list(api, where='Type=="ACCPAY" OR Total>=115', page="1")

        assert ["INV-0001", "INV-0002", "INV-0003", "BILL-1"] == _numbers(body)


class TestIfModifiedSince:
    def test_inclusive_at_the_second(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A change at exactly the header's second is returned (Xero is inclusive)."""
        xero.clock.advance(10)  # 09:00:10.000 exactly
        api.create(invoice(contact_id, "INV-0001"))

        body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:10Z"}, page="1")

        assert ["INV-0001"] == _numbers(body)

    def test_fractions_are_dropped(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A header later in the same second still returns a change at its start."""
        xero.clock.advance(10)
        api.create(invoice(contact_id, "INV-0001"))

        body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:10.900Z"}, page="1")

        assert ["INV-0001"] == _numbers(body)

    def test_the_next_second_is_later(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A header one second after a change leaves it out."""
        xero.clock.advance(10)
        api.create(invoice(contact_id, "INV-0001"))

        body = _list(api, headers={"If-Modified-Since": "2026-01-05T09:00:11Z"}, page="1")

        assert [] == _numbers(body)

    def test_payments_too(self, api: Api, xero: FakeXero, three: list[dict[str, Any]]) -> None:
        """GET /Payments is inclusive at the second as well."""
        xero.clock.advance(10)
        xero.pay(three[0]["InvoiceID"], Decimal("1.00"), reference="on the second")

        _, body = api.call(
            "GET", "/Payments", headers={"If-Modified-Since": "2026-01-05T09:00:10Z"}
        )

        assert ["on the second"] == [p["Reference"] for p in body["Payments"]]

    def test_contacts_too(self, api: Api, xero: FakeXero) -> None:
        """GET /Contacts is inclusive at the second as well."""
        xero.clock.advance(10)
        xero.add_contact(name="On Time Ltd")

        _, body = api.call(
            "GET", "/Contacts", headers={"If-Modified-Since": "2026-01-05T09:00:10Z"}
        )

        assert ["On Time Ltd"] == [c["Name"] for c in body["Contacts"]]


class TestOnAnswer:
    def test_runs_after_the_answer(
        self, api: Api, xero: FakeXero, three: list[dict[str, Any]]
    ) -> None:
        """The hook's change is not in the answer that triggered it, but is in the next."""
        xero.on_answer(lambda: xero.pay(three[0]["InvoiceID"], Decimal("1.00")), path="/Invoices")

        first = api.invoice(three[0]["InvoiceID"])
        second = api.invoice(three[0]["InvoiceID"])

        assert (Decimal("0.00"), Decimal("1.00")) == (first["AmountPaid"], second["AmountPaid"])

    def test_times(self, api: Api, xero: FakeXero) -> None:
        """A hook runs for as many matching answers as ``times`` says."""
        calls: list[int] = []
        xero.on_answer(lambda: calls.append(1), times=2)

        for _ in range(3):
            api.call("GET", "/Organisation")

        assert 2 == len(calls)

    def test_method_and_path_must_match(
        self, api: Api, xero: FakeXero, three: list[dict[str, Any]]
    ) -> None:
        """A hook runs only after answers to its method and path (or paths under it)."""
        calls: list[str] = []
        xero.on_answer(lambda: calls.append("hit"), method="get", path="/Payments", times=None)

        api.call("GET", "/Invoices")
        api.call("PUT", "/Payments", {"Payments": []})
        api.call("GET", "/Payments")
        api.call("GET", "/Payments/00000000-0000-4000-8000-000000000000")

        assert ["hit", "hit"] == calls

    def test_not_for_tokens(self, xero: FakeXero) -> None:
        """Without a path a hook runs for accounting API answers, not token requests."""
        calls: list[str] = []
        xero.on_answer(lambda: calls.append("hit"), times=None)

        Api(xero)  # asks for a token

        assert [] == calls

    def test_until_cleared(self, api: Api, xero: FakeXero) -> None:
        """times=None runs the hook for every match until clear_answer_hooks()."""
        calls: list[str] = []
        xero.on_answer(lambda: calls.append("hit"), times=None)
        api.call("GET", "/Organisation")
        api.call("GET", "/Organisation")

        xero.clear_answer_hooks()
        api.call("GET", "/Organisation")

        assert 2 == len(calls)

    def test_what_it_raises_reaches_the_caller(self, api: Api, xero: FakeXero) -> None:
        """An exception in the hook surfaces from the request that triggered it."""

        def boom() -> None:
            raise RuntimeError("from the hook")

        xero.on_answer(boom)

        with pytest.raises(RuntimeError, match="from the hook"):
            api.call("GET", "/Organisation")

    def test_remaining_counts_down(self, api: Api, xero: FakeXero) -> None:
        """The returned hook says how many more answers will trigger it."""
        hook = xero.on_answer(lambda: None, times=3)

        api.call("GET", "/Organisation")

        assert 2 == hook.remaining

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"times": 0}, "times must be at least 1"),
            ({"path": "Invoices"}, "hook path 'Invoices' must start with '/'"),
        ],
    )
    def test_bad_arguments(self, xero: FakeXero, kwargs: dict[str, Any], message: str) -> None:
        """Bad arguments are refused before anything is scheduled."""
        with pytest.raises(ConfigurationError, match=message):
            xero.on_answer(lambda: None, **kwargs)

    def test_callback_must_be_callable(self, xero: FakeXero) -> None:
        """A callback that cannot be called is refused."""
        with pytest.raises(ConfigurationError, match="callback must be callable"):
            xero.on_answer("pay")  # type: ignore[arg-type]


# --- paging while someone pays: why page numbers skip and keyset paging does not ------------

START = "2026-01-05T09:00:00Z"
TOTAL = 2_500
PAGE_SIZE = 1000


def _busy_organisation() -> tuple[FakeXero, Api, list[str]]:
    """2,500 sales invoices created over 25 seconds (100 a second), and their ids in order."""
    xero = FakeXero(seed=11, minute_limit=10**6, day_limit=10**6)
    furnish(xero)
    contact = xero.add_contact(name="Acme Ltd")
    api = Api(xero, checked=False)  # 2,500 invoices against the spec takes too long
    ids: list[str] = []
    for batch in range(TOTAL // 100):
        body = {"Invoices": [invoice(contact, f"INV-{batch * 100 + n:05d}") for n in range(100)]}
        response = api.send("PUT", "/Invoices", body, params={"summarizeErrors": "false"})
        ids.extend(i["InvoiceID"] for i in body_of(response)["Invoices"])
        xero.clock.advance(1)
    return xero, api, ids


def _page(api: Api, since: str, page: int) -> list[dict[str, Any]]:
    response = api.send(
        "GET",
        "/Invoices",
        params={"page": str(page), "pageSize": str(PAGE_SIZE), "order": ORDER},
        headers={"If-Modified-Since": since},
    )
    return list(body_of(response)["Invoices"])


def _pay_once(xero: FakeXero, invoice_id: str) -> Callable[[], object]:
    return lambda: xero.pay(invoice_id, Decimal("1.00"))


def test_page_numbers_skip_an_invoice_when_one_changes() -> None:
    """Paging by page number while an invoice on page 1 is paid skips the invoice that moves
    from page 2 onto page 1: page numbers are unsafe over a changing set."""
    xero, api, ids = _busy_organisation()
    xero.on_answer(_pay_once(xero, ids[0]), method="GET", path="/Invoices")

    seen = [i["InvoiceID"] for page in (1, 2, 3) for i in _page(api, START, page)]

    assert ({ids[PAGE_SIZE]}, TOTAL, 1) == (
        set(ids) - set(seen),
        len(seen),
        seen.count(ids[0]) - 1,  # the paid invoice comes round again at the end
    )


def test_keyset_paging_sees_every_invoice() -> None:
    """Keyset paging (order=UpdatedDateUTC ASC, each next read If-Modified-Since the last
    UpdatedDateUTC seen, always page 1) sees every invoice, the paid one in its paid state."""
    xero, api, ids = _busy_organisation()
    xero.on_answer(_pay_once(xero, ids[0]), method="GET", path="/Invoices")

    latest: dict[str, dict[str, Any]] = {}
    since = START
    for _ in range(10):  # a few more reads than pages, in case of a loop
        page = _page(api, since, 1)
        latest.update((i["InvoiceID"], i) for i in page)
        if len(page) < PAGE_SIZE:
            break
        last = parse_datetime(page[-1]["UpdatedDateUTC"]).astimezone(UTC)
        since = last.isoformat()

    assert (set(ids), Decimal("1.00")) == (set(latest), latest[ids[0]]["AmountPaid"])


def test_keyset_reads_render_one_page(renders: list[str]) -> None:
    """A keyset read of a large organisation renders only the page it answers."""
    _, api, ids = _busy_organisation()
    renders.clear()

    _page(api, datetime(2026, 1, 5, 9, 0, 12, tzinfo=UTC).isoformat(), 1)

    assert ids[1200:2200] == renders
