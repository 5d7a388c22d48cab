"""Keyset paging of changed-since reads: the pure step, and the client over a scripted Xero."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bms_xero.xero._calls import Keyset, next_keyset

from ._support import ScriptedXero, answer, invoice_json, make_client


def at(second: int, ms: int = 0) -> datetime:
    return datetime(2026, 11, 2, 9, 0, second, ms * 1000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "updated", "expected"),
    [
        # A short page is the last one.
        (Keyset(None), [at(1), at(2)], None),
        # A full page: the next asks from the second of the last record seen, page 1.
        (Keyset(None), [at(1), at(2), at(3, 500)], Keyset(at(3))),
        (Keyset(at(1)), [at(1, 10), at(2), at(4, 999)], Keyset(at(4))),
        # A full page all in the second it started from: time can't move, the page does.
        (Keyset(at(3)), [at(3, 1), at(3, 2), at(3, 3)], Keyset(at(3), 2)),
        (Keyset(at(3), 2), [at(3, 4), at(3, 5), at(3, 6)], Keyset(at(3), 3)),
        # ...and once past that second, back to time, page 1.
        (Keyset(at(3), 3), [at(3, 7), at(3, 8), at(5)], Keyset(at(5))),
        # Xero left the timestamp out: page numbers are all there is.
        (Keyset(at(3)), [at(3), at(4), None], Keyset(at(3), 2)),
    ],
)
def test_next_keyset(
    current: Keyset, updated: list[datetime | None], expected: Keyset | None
) -> None:
    """Where the page after a page of ``updated`` (ascending) starts, for pages of 3."""
    assert expected == next_keyset(current, updated, 3)


def _stamped(number: str, invoice_id: str, when: datetime) -> dict[str, object]:
    ms = int(when.timestamp() * 1000)
    return invoice_json(number, invoice_id, UpdatedDateUTC=f"/Date({ms})/")


def test_changed_invoices_are_read_by_time_and_deduplicated() -> None:
    """The second page asks If-Modified-Since the last second seen; what it brings again of
    that second is dropped, and an invoice that changed meanwhile comes again, newer."""
    script = ScriptedXero(
        answer(
            200,
            {
                "Invoices": [
                    _stamped("A", "a", at(1)),
                    _stamped("B", "b", at(2, 100)),
                ]
            },
        ),
        answer(
            200,
            {
                "Invoices": [
                    _stamped("B", "b", at(2, 100)),  # the boundary second, read again
                    _stamped("A", "a", at(6)),  # changed while we read: newer
                ]
            },
        ),
        answer(200, {"Invoices": [_stamped("A", "a", at(6))]}),  # only the boundary: done
    )
    read = list(make_client(script).iter_changed_invoices(since=at(0), page_size=2))

    assert [("A", at(1)), ("B", at(2, 100)), ("A", at(6))] == [
        (i.invoice_number, i.updated_at) for i in read
    ]
    first, second, third = script.requests
    assert (
        "2026-11-02T09:00:00",
        "2026-11-02T09:00:02",
        'Type=="ACCREC"',
        "UpdatedDateUTC ASC",
        "2026-11-02T09:00:06",
    ) == (
        first.headers["If-Modified-Since"],
        second.headers["If-Modified-Since"],
        first.url.params["where"],
        first.url.params["order"],
        third.headers["If-Modified-Since"],
    )


def test_pagination_saying_last_page_stops_the_read() -> None:
    """A full page that Xero's pagination calls the last ends the read without another call."""
    script = ScriptedXero(
        answer(
            200,
            {
                "Invoices": [_stamped("A", "a", at(1)), _stamped("B", "b", at(2))],
                "pagination": {"page": 1, "pageSize": 2, "pageCount": 1, "itemCount": 2},
            },
        )
    )
    assert 2 == len(list(make_client(script).iter_changed_invoices(since=None, page_size=2)))
    assert 1 == len(script.requests)


def test_a_second_read_by_page_number_is_read_again_when_one_of_it_moved() -> None:
    """Seven invoices in one second, pages of three: the read goes by page number inside
    that second; one of page 1 changes before page 2 and pulls a neighbour back onto page
    1. The moved invoice comes back newer, so the second is read once more and the one
    that slipped past the boundary is found."""
    from decimal import Decimal

    from bms_xero import Customer
    from bms_xero.storage import MemoryStore
    from tests.engine.conftest import make_engine, make_invoice, make_xero

    xero = make_xero()
    customer = Customer(id="C-1", name="Acme", xero_contact_id=xero.add_contact(name="Acme"))
    engine = make_engine(xero, MemoryStore())
    ids = [
        o.unwrap().xero_invoice_id
        for o in engine.push_many(make_invoice(customer, n) for n in range(1, 8))
    ]
    xero.on_answer(lambda: xero.pay(ids[0], amount=Decimal("5.00")), method="GET", path="/Invoices")
    from bms_xero.mapping._dates import parse_datetime

    since = parse_datetime(xero.invoice(ids[0])["UpdatedDateUTC"])
    read = list(xero.client().iter_changed_invoices(since=since, page_size=3))
    assert {f"INV-{n:05d}" for n in range(1, 8)} == {i.invoice_number for i in read}
