"""Customers linked in bulk, and linked by the push itself (``auto_link_customers``)."""

from __future__ import annotations

from typing import Any

import pytest

from bms_xero.domain import Customer
from bms_xero.engine import CustomerLink, CustomerLinkFailure, SyncEngine
from bms_xero.errors import MissingContactId, SyncError
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import TAX_MAP, make_invoice


def contact_puts(xero: FakeXero[Any]) -> int:
    return sum(1 for r in xero.requests if r.method == "PUT" and r.path == "/Contacts")


def auto_linking(xero: FakeXero[Any], store: Any) -> SyncEngine:
    return SyncEngine(
        client=xero.client(retry=RetryPolicy.seeded(7)),
        store=store,
        tax_map=TAX_MAP,
        clock=xero.clock,
        auto_link_customers=True,
    )


def test_link_customers_finds_by_number_then_name_and_creates_the_rest_in_one_request(
    xero: FakeXero[Any], engine: SyncEngine, store: Any
) -> None:
    """Each customer is found by ContactNumber, then by name; the others are created
    together, one PUT for all; every link is recorded; outcomes come in input order."""
    by_number = xero.add_contact(name="Initech", contact_number="C-1")
    by_name = xero.add_contact(name="Globex")
    customers = [
        Customer(id="C-3", name="Umbrella"),
        Customer(id="C-1", name="Initech Pty"),
        Customer(id="C-2", name="Globex"),
        Customer(id="C-4", name="Hooli"),
        Customer(id="C-3", name="Umbrella"),  # twice: linked once
    ]
    outcomes = engine.link_customers(customers)
    made = {c["Name"]: c["ContactID"] for c in xero.contacts()}
    assert [
        ("C-3", made["Umbrella"], True),
        ("C-1", by_number, False),
        ("C-2", by_name, False),
        ("C-4", made["Hooli"], True),
        ("C-3", made["Umbrella"], True),
    ] == [
        (o.customer_id, o.contact_id, o.created) for o in outcomes if isinstance(o, CustomerLink)
    ]
    assert 1 == contact_puts(xero)
    assert {c.id: made.get(c.name) or by_number for c in customers} == {
        c.id: store.get_contact_id(xero.tenant_id, c.id) for c in customers
    }


def test_one_customer_that_cannot_be_linked_does_not_stop_the_others(
    xero: FakeXero[Any], engine: SyncEngine
) -> None:
    """A name that belongs to another customer's contact is that customer's failure."""
    xero.add_contact(name="Initech", contact_number="SOMEONE-ELSE")
    first, second = engine.link_customers(
        [Customer(id="C-1", name="Initech"), Customer(id="C-2", name="Hooli")]
    )
    assert isinstance(first, CustomerLinkFailure)
    assert isinstance(first.error, SyncError)
    assert "another customer's" in str(first.error)
    assert isinstance(second, CustomerLink) and second.created
    with pytest.raises(SyncError):
        first.unwrap()


def test_link_customers_refuses_what_is_not_a_customer_before_any_request(
    xero: FakeXero[Any], engine: SyncEngine
) -> None:
    """Bad input is refused before anything is sent."""
    with pytest.raises(TypeError, match="Customer objects, got str"):
        engine.link_customers([Customer(id="C-1", name="Hooli"), "C-2"])  # type: ignore[list-item]
    assert [] == [r for r in xero.requests if r.api == "accounting"]


def test_push_without_auto_link_still_refuses_an_unlinked_customer(
    engine: SyncEngine,
) -> None:
    """Creating contacts is the host's choice: off by default."""
    with pytest.raises(MissingContactId):
        engine.push(make_invoice(Customer(id="C-9", name="Hooli")))


def test_auto_link_links_each_new_customer_once_and_pushes(
    xero: FakeXero[Any], store: Any
) -> None:
    """Invoices of customers without a contact are pushed after their customers are linked:
    one contact per customer, found or created, and the link kept for the next push."""
    engine = auto_linking(xero, store)
    existing = xero.add_contact(name="Globex", contact_number="C-2")
    hooli = Customer(id="C-1", name="Hooli")
    outcomes = engine.push_many(
        [
            make_invoice(hooli, 1),
            make_invoice(Customer(id="C-2", name="Globex Corp"), 2),
            make_invoice(hooli, 3),
        ]
    )
    assert [True, True, True] == [o.ok for o in outcomes]
    contacts = {i["InvoiceNumber"]: i["Contact"]["ContactID"] for i in xero.invoices()}
    made = store.get_contact_id(xero.tenant_id, "C-1")
    assert {"INV-00001": made, "INV-00002": existing, "INV-00003": made} == contacts
    assert 1 == contact_puts(xero)
    engine.push(make_invoice(hooli, 4))
    assert 1 == contact_puts(xero)


def test_auto_link_fails_only_the_invoices_of_a_customer_it_cannot_link(
    xero: FakeXero[Any], store: Any
) -> None:
    """The failure names the invoice and says what to fix; other invoices go through."""
    engine = auto_linking(xero, store)
    xero.add_contact(name="Initech", contact_number="SOMEONE-ELSE")
    stuck, fine = engine.push_many(
        [
            make_invoice(Customer(id="C-1", name="Initech"), 1),
            make_invoice(Customer(id="C-2", name="Hooli"), 2),
        ]
    )
    assert (False, True) == (stuck.ok, fine.ok)
    assert str(stuck.error).startswith("invoice INV-00001: customer C-1 (Initech)")  # type: ignore[union-attr]
    assert ["INV-00002"] == [i["InvoiceNumber"] for i in xero.invoices()]
