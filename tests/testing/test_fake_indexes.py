"""FakeXero's read indexes answer exactly what a scan of every invoice would, at the page's cost.

The reference here is the brute-force read: every invoice as ``FakeXero.invoices()`` renders
it, sorted by UpdatedDateUTC, filtered (If-Modified-Since, Statuses, then the ``where`` on
the rendered record), ordered and cut into the page. Random sequences of every change the
fake supports must never make the indexed answer differ from it.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

import bms_xero.testing._api as fake_api
from bms_xero.errors import NotFound, XeroValidationError
from bms_xero.mapping._dates import parse_datetime
from bms_xero.testing import FakeXero
from bms_xero.testing._index import Key, Pick, Slots, UpdateOrder
from bms_xero.testing._query import QueryError, Where, if_modified_since
from bms_xero.testing._render import render_invoice
from tests.testing.conftest import furnish
from tests.testing.helpers import Api, invoice, line

ORDER = "UpdatedDateUTC ASC"


# --- the brute-force reference ----------------------------------------------------------------


def _stamp(record: dict[str, Any]) -> datetime:
    return parse_datetime(record["UpdatedDateUTC"])


def naive_read(
    everything: list[dict[str, Any]], params: dict[str, str], since: str | None
) -> tuple[int, list[str], dict[str, int] | None]:
    """Status, InvoiceIDs and pagination of ``GET /Invoices``, by scanning every invoice."""
    records = sorted(everything, key=_stamp)
    if since is not None:
        start = if_modified_since(since)
        records = [r for r in records if _stamp(r) >= start]
    if "Statuses" in params:
        wanted = {s.upper() for s in params["Statuses"].split(",")}
        records = [r for r in records if r["Status"] in wanted]
    if "where" in params:
        try:
            matches = Where(params["where"])
            records = [r for r in records if matches(r)]
        except QueryError:
            return 400, [], None
    order = params.get("order")
    if order == "UpdatedDateUTC DESC":
        records.reverse()
    elif order == "InvoiceNumber DESC":
        records.sort(key=lambda r: r["InvoiceNumber"], reverse=True)
    if "page" not in params:
        return 200, [r["InvoiceID"] for r in records], None
    page, size = int(params["page"]), int(params.get("pageSize", "100"))
    cut = records[(page - 1) * size : page * size]
    total = len(records)
    return (
        200,
        [r["InvoiceID"] for r in cut],
        {"page": page, "pageSize": size, "pageCount": -(-total // size), "itemCount": total},
    )


def indexed_read(
    api: Api, params: dict[str, str], since: str | None
) -> tuple[int, list[str], dict[str, int] | None]:
    """The same, as FakeXero answers it."""
    headers = {"If-Modified-Since": since} if since is not None else None
    status, body = api.call("GET", "/Invoices", params={**params, "unitdp": "4"}, headers=headers)
    if status != 200:
        return status, [], None
    return 200, [i["InvoiceID"] for i in body["Invoices"]], body.get("pagination")


# --- random changes, random reads -------------------------------------------------------------

NUMBERS = [f"INV-{n}" for n in range(1, 7)]
STATUSES = ["AUTHORISED", "AUTHORISED", "AUTHORISED", "DRAFT", "SUBMITTED"]
WAITS = [0, 0, 0.3, 1, 5]  # stamps share a second, or land exactly on one
WHERES = [
    'Type=="ACCREC"',
    'Type=="ACCPAY"',
    'Status=="AUTHORISED"',
    'Status=="PAID"',
    'Status=="VOIDED" OR Status=="DRAFT"',
    'InvoiceNumber=="INV-1"',
    'InvoiceNumber=="INV-2" OR InvoiceNumber=="INV-3" OR InvoiceNumber=="INV-2"',
    'Type=="ACCREC" AND Status=="AUTHORISED"',
    'Status=="PAID" OR InvoiceNumber=="INV-4"',
    'Type=="ACCPAY" OR Status=="AUTHORISED"',
    'InvoiceNumber=="INV-1" AND AmountDue>0',
    'Reference.Contains("changed") AND Type=="ACCREC"',
    'Type=="ACCREC" AND Reference.StartsWith("PO")',
    'Type=="ACCPAY" OR Total>=100',
    'Status!="VOIDED"',
    'InvoiceNumber==Guid("00000000-0000-0000-0000-000000000000")',
    'Contact.ContactID!=null && Type=="ACCREC"',
    'DueDateString.Contains("2026") && InvoiceNumber=="INV-5"',
    'InvoiceNumber=="INV-5" && DueDateString.Contains("2026")',
]


class IndexedReadsMachine(RuleBasedStateMachine):
    """Drives FakeXero through every change that moves an invoice, comparing reads to a scan."""

    invoices = Bundle("invoices")
    payments = Bundle("payments")

    @initialize(
        target=invoices,
        bump=st.booleans(),
        seeds=st.lists(
            st.tuples(
                st.sampled_from([*NUMBERS, None]),
                st.integers(0, 2),
                st.booleans(),
                st.sampled_from(STATUSES),
                st.sampled_from(WAITS),
            ),
            min_size=4,
            max_size=12,
        ),
    )
    def start(self, bump: bool, seeds: list[tuple[str | None, int, bool, str, float]]) -> Any:
        self.xero = FakeXero(
            seed=1, minute_limit=10**6, day_limit=10**6, payments_bump_invoices=bump
        )
        furnish(self.xero)
        self.contacts = [self.xero.add_contact(name=f"Customer {n}") for n in range(3)]
        self.active = list(self.contacts)  # merged ones are archived (new invoices refused)
        self.api = Api(self.xero, checked=False)
        self.seconds: list[datetime] = [self.xero.clock.now()]
        made = []
        for number, contact, bill, status, wait in seeds:
            self.wait(wait)
            made.append(self.create(number, contact, bill, status, dated=True))
        return multiple(*made)

    def _where_contact(self, n: int) -> str:
        """One contact's invoices (0 to 2), or two contacts' (3 to 5), by Guid in upper case."""
        one = f'Contact.ContactID==Guid("{self.contacts[n % 3].upper()}")'
        return one if n < 3 else f'{one} OR Contact.ContactID=="{self.contacts[(n + 1) % 3]}"'

    @rule(
        target=invoices,
        number=st.sampled_from([*NUMBERS, None]),
        contact=st.integers(0, 2),
        bill=st.booleans(),
        status=st.sampled_from(STATUSES),
        dated=st.sampled_from([True, True, True, False]),
    )
    def create(self, number: str | None, contact: int, bill: bool, status: str, dated: bool) -> Any:
        element = invoice(
            self.contacts[contact],
            number,
            line("100.00", account="400" if bill else "200", tax=None if bill else "OUTPUT2"),
            status=status,
            due=date(2026, 2, 5) if dated else None,
            Reference="PO 1",
        )
        if bill:
            element["Type"] = "ACCPAY"
        [created] = self.api.create(element)
        return created["InvoiceID"] if not created["HasErrors"] else None

    def _post(self, invoice_id: str | None, element: dict[str, Any]) -> None:
        if invoice_id is not None:
            _, body = self.api.call(
                "POST",
                f"/Invoices/{invoice_id}",
                {"Invoices": [{"InvoiceID": invoice_id, **element}]},
                params={"summarizeErrors": "false"},
            )
            refused = body["Invoices"][0].get("HasErrors")
            event(f"update {sorted(element)}: {'refused' if refused else 'stored'}")

    @rule(invoice_id=invoices, number=st.sampled_from(NUMBERS))
    def renumber(self, invoice_id: str | None, number: str) -> None:
        self._post(invoice_id, {"InvoiceNumber": number, "Reference": "changed"})

    @rule(invoice_id=invoices, contact=st.integers(0, 2))
    def move(self, invoice_id: str | None, contact: int) -> None:
        self._post(invoice_id, {"Contact": {"ContactID": self.contacts[contact]}})

    @rule(invoice_id=invoices, status=st.sampled_from(["AUTHORISED", "VOIDED", "DELETED"]))
    def restatus(self, invoice_id: str | None, status: str) -> None:
        self._post(invoice_id, {"Status": status})

    @rule(invoice_id=invoices, sent=st.booleans())
    def mark_sent(self, invoice_id: str | None, sent: bool) -> None:
        self._post(invoice_id, {"SentToContact": sent})

    @rule(target=payments, invoice_id=invoices, whole=st.booleans())
    def pay(self, invoice_id: str | None, whole: bool) -> Any:
        if invoice_id is None:
            return None
        stored = self.xero.invoice(invoice_id)
        due = Decimal(str(stored["AmountDue"]))
        try:
            paid = self.xero.pay(invoice_id, due if whole else Decimal("1.00"))
        except (XeroValidationError, NotFound):
            event("pay: refused")
            return None
        event(f"pay: invoice now {self.xero.invoice(invoice_id)['Status']}")
        return paid

    @rule(payment_id=payments)
    def unpay(self, payment_id: str | None) -> None:
        if payment_id is not None:
            with contextlib.suppress(XeroValidationError):
                self.xero.delete_payment(payment_id)

    @rule(invoice_id=invoices)
    def credit(self, invoice_id: str | None) -> None:
        if invoice_id is not None:
            with contextlib.suppress(XeroValidationError):
                self.xero.add_credit_note(invoice_id, Decimal("5.00"))

    @precondition(lambda self: len(self.active) > 1)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        source, target = data.draw(st.permutations(self.active))[:2]
        self.xero.merge_contacts(source, target)
        self.active.remove(source)

    @rule(seconds=st.sampled_from(WAITS))
    def wait(self, seconds: float) -> None:
        if seconds:
            self.xero.clock.advance(seconds)
            self.seconds.append(self.xero.clock.now())

    @rule(
        data=st.data(),
        where=st.one_of(st.none(), st.sampled_from(WHERES), st.integers(0, 5)),
        order=st.sampled_from([None, ORDER, "UpdatedDateUTC DESC", "InvoiceNumber DESC"]),
        page=st.one_of(st.none(), st.integers(1, 4)),
        size=st.integers(1, 4),
        statuses=st.one_of(st.none(), st.sampled_from(["AUTHORISED", "PAID,VOIDED", "draft"])),
    )
    def read(
        self,
        data: st.DataObject,
        where: str | int | None,
        order: str | None,
        page: int | None,
        size: int,
        statuses: str | None,
    ) -> None:
        """A read answers exactly what the scan of every invoice answers."""
        since = data.draw(st.one_of(st.none(), st.sampled_from(self.seconds)))
        params: dict[str, str] = {}
        if where is not None:
            params["where"] = self._where_contact(where) if isinstance(where, int) else where
        if order is not None:
            params["order"] = order
        if page is not None:
            params["page"], params["pageSize"] = str(page), str(size)
        if statuses is not None:
            params["Statuses"] = statuses
        header = None if since is None else since.strftime("%Y-%m-%dT%H:%M:%SZ")

        expected = naive_read(self.xero.invoices(), params, header)
        event(f"read: {min(len(expected[1]), 3)}{'+' if len(expected[1]) > 2 else ''} answered")

        assert expected == indexed_read(self.api, params, header)

    @invariant()
    def payments_in_update_order(self) -> None:
        """GET /Payments, paged and changed-since, answers the payments in update order."""
        if not hasattr(self, "xero"):
            return
        since = self.seconds[len(self.seconds) // 2]
        every = sorted(self.xero.payments(), key=_stamp)
        expected = [p["PaymentID"] for p in every if _stamp(p) >= since.replace(microsecond=0)]
        _, body = self.api.call(
            "GET",
            "/Payments",
            params={"order": ORDER, "page": "1", "pageSize": "1000"},
            headers={"If-Modified-Since": since.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )

        assert expected == [p["PaymentID"] for p in body["Payments"]]


IndexedReadsMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestIndexedReads = IndexedReadsMachine.TestCase


# --- edge cases, literally --------------------------------------------------------------------


def _list(api: Api, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
    status, body = api.call("GET", "/Invoices", params=params, headers=headers)
    assert 200 == status
    return dict(body)


def _numbers(body: dict[str, Any]) -> list[str]:
    return [i["InvoiceNumber"] for i in body["Invoices"]]


@pytest.fixture(name="renders")
def _renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The InvoiceNumbers GET /Invoices renders, in order."""
    seen: list[str] = []

    def counting(record: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(record.number)
        return render_invoice(record, *args, **kwargs)

    monkeypatch.setattr(fake_api, "render_invoice", counting)
    yield seen


@pytest.fixture(name="five")
def _five(api: Api, contact_id: str) -> list[dict[str, Any]]:
    """Five invoices made within one second (the clock stands still: 1 ms apart)."""
    return api.create(*(invoice(contact_id, f"INV-{n}") for n in range(1, 6)))


class TestTies:
    def test_one_second_is_read_inclusively(self, api: Api, five: list[dict[str, Any]]) -> None:
        """Invoices sharing the header's second all come back, oldest first."""
        body = _list(api, {"If-Modified-Since": "2026-01-05T09:00:00Z"}, order=ORDER, page="1")

        assert ["INV-1", "INV-2", "INV-3", "INV-4", "INV-5"] == _numbers(body)

    def test_paging_within_one_second(self, api: Api, five: list[dict[str, Any]]) -> None:
        """Page numbers walk through a second's invoices, the last page partly filled."""
        body = _list(
            api,
            {"If-Modified-Since": "2026-01-05T09:00:00Z"},
            where='Type=="ACCREC"',
            order=ORDER,
            page="3",
            pageSize="2",
        )

        assert (["INV-5"], {"page": 3, "pageSize": 2, "pageCount": 3, "itemCount": 5}) == (
            _numbers(body),
            body["pagination"],
        )

    def test_descending_pages_from_the_newest(self, api: Api, five: list[dict[str, Any]]) -> None:
        """order=UpdatedDateUTC DESC pages from the newest change."""
        body = _list(api, order="UpdatedDateUTC DESC", page="2", pageSize="2")

        assert ["INV-3", "INV-2"] == _numbers(body)


class TestMoves:
    def test_an_update_moves_an_invoice_to_the_end(
        self, api: Api, xero: FakeXero, five: list[dict[str, Any]]
    ) -> None:
        """An updated invoice leaves its place and is read last, and alone after a later second."""
        xero.clock.advance(10)
        api.call(
            "POST",
            f"/Invoices/{five[1]['InvoiceID']}",
            {"Invoices": [{"InvoiceID": five[1]["InvoiceID"], "Reference": "changed"}]},
        )

        everything = _list(api, where='Type=="ACCREC"', order=ORDER, page="1")
        later = _list(api, {"If-Modified-Since": "2026-01-05T09:00:10Z"}, page="1")

        assert (["INV-1", "INV-3", "INV-4", "INV-5", "INV-2"], ["INV-2"]) == (
            _numbers(everything),
            _numbers(later),
        )

    def test_a_status_change_without_a_bump_keeps_its_place(self) -> None:
        """Paid in full where payments do not bump invoices, an invoice is PAID where it stood."""
        xero = FakeXero(seed=7, payments_bump_invoices=False)
        furnish(xero)
        api = Api(xero)
        contact = xero.add_contact(name="Acme Ltd")
        made = api.create(*(invoice(contact, f"INV-{n}") for n in range(1, 4)))
        xero.pay(made[1]["InvoiceID"], Decimal(str(made[1]["AmountDue"])))

        paid = _list(api, where='Status=="PAID"', page="1")
        authorised = _list(api, where='Status=="AUTHORISED"', page="1")
        everything = _list(api, order=ORDER, page="1")

        assert (["INV-2"], ["INV-1", "INV-3"], ["INV-1", "INV-2", "INV-3"]) == (
            _numbers(paid),
            _numbers(authorised),
            _numbers(everything),
        )

    def test_renumbering_moves_the_number(self, api: Api, five: list[dict[str, Any]]) -> None:
        """A renumbered invoice is found by its new number, not its old one."""
        api.call(
            "POST",
            f"/Invoices/{five[0]['InvoiceID']}",
            {"Invoices": [{"InvoiceID": five[0]["InvoiceID"], "InvoiceNumber": "INV-9"}]},
        )

        old = _list(api, where='InvoiceNumber=="INV-1"', page="1")
        new = _list(api, where='InvoiceNumber=="INV-9"', page="1")

        assert ([], [five[0]["InvoiceID"]]) == (
            [i["InvoiceID"] for i in old["Invoices"]],
            [i["InvoiceID"] for i in new["Invoices"]],
        )

    def test_a_merge_moves_invoices_to_the_contact_kept(
        self, api: Api, xero: FakeXero, contact_id: str, five: list[dict[str, Any]]
    ) -> None:
        """After a merge, the kept contact's where finds the merged contact's invoices."""
        kept = xero.add_contact(name="Kept Ltd")
        xero.merge_contacts(contact_id, kept)

        moved = _list(api, where=f'Contact.ContactID==Guid("{kept}")', page="1")
        left = _list(api, where=f'Contact.ContactID==Guid("{contact_id}")', page="1")

        assert (["INV-1", "INV-2", "INV-3", "INV-4", "INV-5"], []) == (
            _numbers(moved),
            _numbers(left),
        )


class TestPages:
    def test_past_the_end(self, api: Api, five: list[dict[str, Any]]) -> None:
        """A page past the last is empty, with the list's true size."""
        body = _list(api, where='Status=="AUTHORISED"', page="9", pageSize="2")

        assert ([], {"page": 9, "pageSize": 2, "pageCount": 3, "itemCount": 5}) == (
            _numbers(body),
            body["pagination"],
        )

    def test_past_the_end_descending(self, api: Api, five: list[dict[str, Any]]) -> None:
        """Descending, a page past the last is empty too."""
        body = _list(api, order="UpdatedDateUTC DESC", page="4", pageSize="2")

        assert [] == _numbers(body)

    def test_an_or_over_two_fields_counts_each_invoice_once(
        self, api: Api, five: list[dict[str, Any]]
    ) -> None:
        """An invoice matching both sides of an OR on two fields is listed and counted once."""
        body = _list(
            api, where='InvoiceNumber=="INV-2" OR Status=="AUTHORISED"', page="1", pageSize="3"
        )

        assert (["INV-1", "INV-2", "INV-3"], 5) == (
            _numbers(body),
            body["pagination"]["itemCount"],
        )

    def test_a_guid_literal_on_a_number_compares_in_any_case(
        self, api: Api, contact_id: str
    ) -> None:
        """InvoiceNumber==Guid("...") finds a GUID-shaped number written in upper case."""
        number = "ABCDEF01-0000-4000-8000-000000000000"
        api.create(invoice(contact_id, number))

        body = _list(api, where=f'InvoiceNumber==Guid("{number.lower()}")', page="1")

        assert [number] == _numbers(body)

    def test_statuses_and_where_together(self, api: Api, five: list[dict[str, Any]]) -> None:
        """Statuses= and a where on another field both filter."""
        body = _list(api, Statuses="AUTHORISED", where='InvoiceNumber=="INV-4"', page="1")

        assert ["INV-4"] == _numbers(body)


class TestOnlyThePageIsRendered:
    @pytest.mark.parametrize(
        "where",
        [
            'Status=="AUTHORISED"',
            'InvoiceNumber=="INV-2" OR InvoiceNumber=="INV-3"',
            'Status=="AUTHORISED" OR Status=="DRAFT"',
        ],
    )
    def test_where_from_an_index(
        self, api: Api, five: list[dict[str, Any]], renders: list[str], where: str
    ) -> None:
        """A where an index answers renders only the invoices on the page."""
        _list(api, where=where, page="1", pageSize="1")

        assert 1 == len(renders)

    def test_contact(
        self, api: Api, contact_id: str, five: list[dict[str, Any]], renders: list[str]
    ) -> None:
        """where=Contact.ContactID==Guid(...) renders only the page."""
        _list(api, where=f'Contact.ContactID==Guid("{contact_id}")', page="2", pageSize="2")

        assert ["INV-3", "INV-4"] == renders

    def test_a_filter_needing_the_render_renders_only_candidates(
        self, api: Api, five: list[dict[str, Any]], renders: list[str]
    ) -> None:
        """InvoiceNumber narrows a filter on a rendered field to that invoice's render."""
        body = _list(api, where='InvoiceNumber=="INV-2" AND Total>=100', page="1")

        assert (["INV-2"], ["INV-2", "INV-2"]) == (_numbers(body), renders)


class TestWhereStillFails:
    @pytest.fixture(name="undated")
    def _undated(self, api: Api, contact_id: str) -> list[dict[str, Any]]:
        return api.create(
            invoice(contact_id, "INV-1", status="DRAFT", due=None),
            invoice(contact_id, "INV-2"),
        )

    def test_a_text_method_before_the_lookup(self, api: Api, undated: list[dict[str, Any]]) -> None:
        """A text method on a field some invoice lacks fails, even before an indexed clause."""
        status, _ = api.call(
            "GET",
            "/Invoices",
            params={"where": 'DueDateString.Contains("2026") AND InvoiceNumber=="INV-2"'},
        )

        assert 400 == status

    def test_a_text_method_after_the_lookup(self, api: Api, undated: list[dict[str, Any]]) -> None:
        """After an indexed clause, only the invoices it keeps meet the text method (as Xero)."""
        body = _list(api, where='InvoiceNumber=="INV-2" AND DueDateString.Contains("2026")')

        assert ["INV-2"] == _numbers(body)


class TestContactNumbers:
    def _found(self, api: Api, number: str) -> list[str]:
        status, body = api.call("GET", f"/Contacts/{number}")
        return [c["ContactID"] for c in body["Contacts"]] if status == 200 else []

    def test_a_shared_number_finds_the_first_created(self, api: Api, xero: FakeXero) -> None:
        """Of two contacts sharing a ContactNumber, the first created is found, even once the
        other changed later."""
        first = xero.add_contact(name="First Ltd", contact_number="C-9")
        xero.add_contact(name="Second Ltd", contact_number="C-9")
        api.call("POST", f"/Contacts/{first}", {"Contacts": [{"Name": "First Ltd (renamed)"}]})

        assert [first] == self._found(api, "C-9")

    def test_a_changed_number_is_found_by_the_new_one(self, api: Api, xero: FakeXero) -> None:
        """A contact given a new ContactNumber is found by it, and the old one finds the other."""
        first = xero.add_contact(name="First Ltd", contact_number="C-9")
        second = xero.add_contact(name="Second Ltd", contact_number="C-9")
        api.call("POST", f"/Contacts/{first}", {"Contacts": [{"ContactNumber": "C-10"}]})

        assert ([first], [second]) == (self._found(api, "C-10"), self._found(api, "C-9"))


# --- the structures themselves ----------------------------------------------------------------

SLOT_OPS = st.lists(st.tuples(st.booleans(), st.integers(0, 60)), max_size=200)


@given(ops=SLOT_OPS, low=st.integers(-1, 62), skip=st.integers(0, 70), count=st.integers(0, 70))
def test_slots_read_as_a_sorted_list(
    ops: list[tuple[bool, int]], low: int, skip: int, count: int
) -> None:
    """Slots (tiny blocks, so they split and join) read as a plain sorted list does."""
    slots, model = Slots(load=4), set()
    for adding, slot in ops:
        if adding:
            slots.add(slot)
            model.add(slot)
        else:
            slots.discard(slot)
            model.discard(slot)
    ordered = sorted(model)
    tail = ordered[bisect.bisect_left(ordered, low) :]

    assert (
        ordered,
        len(tail),
        tail[skip : skip + count],
        tail,
        [s in model for s in range(-1, 62)],
        ordered[-1] if ordered else None,
        ordered[::-1],
    ) == (
        list(slots),
        slots.count_from(low),
        slots.take(low, skip, count),
        list(slots.iter_from(low)),
        [s in slots for s in range(-1, 62)],
        slots.last(),
        list(reversed(slots)),
    )


@given(
    sets=st.lists(st.sets(st.integers(0, 40)), min_size=1, max_size=4),
    start=st.integers(0, 41),
    skip=st.integers(0, 50),
    count=st.integers(0, 50),
    descending=st.booleans(),
    disjoint=st.booleans(),
)
def test_a_pick_reads_as_its_union(
    sets: list[set[int]], start: int, skip: int, count: int, descending: bool, disjoint: bool
) -> None:
    """A Pick's page and count are the union's, from start on, in the order asked."""
    if disjoint:  # each slot stays only in the first set holding it
        owned: set[int] = set()
        unique = []
        for s in sets:
            unique.append(s - owned)
            owned |= s
        sets = unique
    union = sorted(x for x in set().union(*sets) if x >= start)
    if descending:
        union.reverse()
    pick = Pick(tuple(Slots(s, load=4) for s in sets), disjoint, start)

    assert (union[skip : skip + count], len(union)) == pick.page(skip, count, descending=descending)


@attrs.define
class _Record:
    ident: str
    updated_at: datetime
    colour: str


def _order() -> UpdateOrder[_Record]:
    return UpdateOrder(
        {"Colour": Key(lambda r: r.colour, few=True)}, ident=lambda r: r.ident, id_field="ID"
    )


T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def test_compaction_keeps_the_order() -> None:
    """Thousands of changes to a few records leave the same order, keys and since-reads."""
    order = _order()
    records = {name: _Record(name, T0, "red") for name in "abcd"}
    for n, name in zip(range(3000), itertools.cycle("abcdba")):
        record = records[name]
        record.updated_at = T0 + timedelta(milliseconds=n)
        record.colour = "red" if n % 3 else "blue"
        order.touch(record)
    latest = sorted(records.values(), key=lambda r: r.updated_at)
    middle = latest[2].updated_at

    assert (
        [r.ident for r in latest],
        [r.ident for r in latest if r.colour == "blue"],
        [r.ident for r in latest[2:]],
    ) == (
        list(order),
        order.ids_with("Colour", "blue"),
        [order.ident_at(s) for s in order.everything.iter_from(order.first_slot(middle))],
    )


def test_stamps_out_of_order_read_back_from_the_newest() -> None:
    """Were a stamp ever to go back, changed-since reads walk back from the newest record."""
    order = _order()
    for ident, seconds in (("a", 10), ("b", 30), ("c", 20), ("d", 40)):
        order.touch(_Record(ident, T0 + timedelta(seconds=seconds), "red"))

    found = order.everything.iter_from(order.first_slot(T0 + timedelta(seconds=25)))

    assert ["d"] == [order.ident_at(s) for s in found]


def test_rekey_moves_only_the_key() -> None:
    """A key changed in place moves between the key's sets; the record keeps its place."""
    order = _order()
    first, second = _Record("a", T0, "red"), _Record("b", T0 + timedelta(seconds=1), "red")
    order.touch(first)
    order.touch(second)
    first.colour = "blue"
    order.rekey(first)

    assert (["a", "b"], ["a"], ["b"]) == (
        list(order),
        order.ids_with("Colour", "blue"),
        order.ids_with("Colour", "red"),
    )


def test_lookups_stop_at_a_clause_that_can_fail() -> None:
    """Where.lookups offers the equality clauses before the first that can fail, per group."""
    where = Where(
        'Type=="ACCREC" AND Reference.Contains("x") AND Status=="PAID" OR '
        'Contact.ContactID==Guid("ABCDEF01-0000-0000-0000-000000000000")'
    )

    assert [
        (["Type"], False),
        ([("Contact.ContactID", "abcdef01-0000-0000-0000-000000000000", True)], True),
    ] == [
        (
            [lk.path for lk in lookups]
            if not alone
            else [(lk.path, lk.value, lk.guid) for lk in lookups],
            alone,
        )
        for lookups, alone in where.lookups()
    ]
