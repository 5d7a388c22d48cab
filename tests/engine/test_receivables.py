"""Receivables details: the online invoice link, invoices marked sent or emailed once, contacts
archived or merged in Xero, found by name, and currencies (rate sent, enabled checked)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bms_xero import Customer
from bms_xero.engine import PushAction, SyncEngine
from bms_xero.errors import (
    ContactArchived,
    CurrencyNotEnabled,
    InvoiceValidationError,
    SyncError,
    UncertainOutcome,
    XeroValidationError,
)
from bms_xero.mapping.wire import WireInvoice, invoice_payload
from bms_xero.storage import SQLiteStore
from bms_xero.storage import _sqlite_store as sqlite_store
from bms_xero.storage._sqlite_schema import migrate
from bms_xero.testing import FakeXero
from bms_xero.xero import RetryPolicy
from tests.engine.conftest import TAX_MAP, make_invoice, with_line, writes

EMAIL = "accounts@acme.example"


def make(xero: FakeXero[Any], store: Any, **options: Any) -> SyncEngine:
    """An engine over ``xero`` with the receivables options given."""
    options.setdefault("retry", RetryPolicy.seeded(7))
    retry = options.pop("retry")
    return SyncEngine(
        client=xero.client(retry=retry), store=store, tax_map=TAX_MAP, clock=xero.clock, **options
    )


def calls(xero: FakeXero[Any], method: str, suffix: str) -> int:
    """Accounting requests with this method whose path ends with ``suffix``."""
    return sum(
        1
        for r in xero.requests
        if r.api == "accounting" and r.method == method and r.path.endswith(suffix)
    )


@pytest.fixture(name="acme")
def _acme(xero: FakeXero[Any]) -> Customer:
    """A customer whose Xero contact has an email address."""
    return Customer(
        id="C-1", name="Acme Ltd", xero_contact_id=xero.add_contact(name="Acme Ltd", email=EMAIL)
    )


# --- the online invoice link -----------------------------------------------------------------


def test_online_invoice_url_is_read_once_and_shown_by_the_panel(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """An approved invoice's pay link is read from Xero once, then comes from the record."""
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    url = "https://in.xero.com/kzTdPKMeepUmPI835vayW5yaswi6ezaxYg61PvZl"
    assert url == engine.online_invoice_url("I-1")
    assert url == engine.online_invoice_url("I-1")
    assert url == engine.panel("I-1").online_invoice_url
    assert url == make(xero, store).panel("I-1").online_invoice_url  # kept by the store
    assert 1 == calls(xero, "GET", "/OnlineInvoice")


def test_a_draft_or_unpushed_invoice_has_no_link_and_costs_no_call(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A draft has no online invoice; one never pushed has nothing to ask for."""
    engine = make(xero, store)
    engine.push(make_invoice(acme, status="DRAFT"))
    assert (None, None, None) == (
        engine.online_invoice_url("I-1"),
        engine.online_invoice_url("I-404"),
        engine.panel("I-1").online_invoice_url,
    )
    assert 0 == calls(xero, "GET", "/OnlineInvoice")


def test_a_voided_invoice_loses_its_link_on_the_panel(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Once cancelled, the panel no longer offers the customer's pay link."""
    engine = make(xero, store)
    invoice = make_invoice(acme)
    engine.push(invoice)
    assert engine.online_invoice_url("I-1") is not None
    engine.cancel(invoice)
    assert None is engine.panel("I-1").online_invoice_url


# --- marked sent -----------------------------------------------------------------------------


def test_mark_sent_marks_approved_invoices_only(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """With mark_sent, approved invoices go to Xero marked sent; drafts can't be, and aren't."""
    engine = make(xero, store, mark_sent=True)
    engine.push_many([make_invoice(acme, 1), make_invoice(acme, 2, status="DRAFT")])
    assert {"INV-00001": True, "INV-00002": False} == {
        i["InvoiceNumber"]: i["SentToContact"] for i in xero.invoices()
    }


def test_mark_sent_rides_the_update_that_approves_a_draft(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A draft approved by a later push is marked sent by that update."""
    engine = make(xero, store, mark_sent=True)
    engine.push(make_invoice(acme, status="DRAFT"))
    result = engine.push(make_invoice(acme))
    [stored] = xero.invoices()
    assert (PushAction.UPDATED, "AUTHORISED", True) == (
        result.action,
        stored["Status"],
        stored["SentToContact"],
    )


def test_turning_mark_sent_on_resends_nothing(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """The flag is outside the fingerprint: invoices pushed before it was on stay unchanged."""
    make(xero, store).push(make_invoice(acme))
    before = writes(xero)
    result = make(xero, store, mark_sent=True).push(make_invoice(acme))
    assert (PushAction.UNCHANGED, 0) == (result.action, writes(xero) - before)


def test_the_flag_is_spliced_outside_the_fingerprint(acme: Customer) -> None:
    """An approved invoice's element carries SentToContact, its fingerprint does not."""
    plain = WireInvoice.of(make_invoice(acme), TAX_MAP)
    marked = WireInvoice.of(make_invoice(acme), TAX_MAP, mark_sent=True)
    update = marked.for_update("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
    assert (plain.fingerprint, False, True) == (
        marked.fingerprint,
        b"SentToContact" in plain.element,
        marked.element.startswith(b'{"SentToContact":true,'),
    )
    assert update.element.startswith(
        b'{"InvoiceID":"0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b","SentToContact":true,"Type":'
    )
    assert "SentToContact" not in invoice_payload(
        make_invoice(acme, status="SUBMITTED"), TAX_MAP, mark_sent=True
    )


# --- emailed once ----------------------------------------------------------------------------


def test_email_invoices_emails_a_new_approved_invoice_once(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A created invoice is emailed (and so marked sent); later pushes never email it again."""
    engine = make(xero, store, email_invoices=True)
    engine.push(make_invoice(acme))
    xero.clock.advance(60)
    changed = engine.push(with_line(make_invoice(acme), description="Widget, blue"))
    [email] = xero.emails()
    [stored] = xero.invoices()
    assert ("INV-00001", EMAIL, True, PushAction.UPDATED) == (
        email.invoice_number,
        email.to,
        stored["SentToContact"],
        changed.action,
    )
    assert email.sent_at == engine.panel("I-1").emailed_at


def test_email_invoices_waits_for_a_draft_to_be_approved(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A draft is not emailed; the push that approves it emails it."""
    engine = make(xero, store, email_invoices=True)
    engine.push(make_invoice(acme, status="DRAFT"))
    assert [] == xero.emails()
    engine.push(make_invoice(acme))
    assert ["INV-00001"] == [e.invoice_number for e in xero.emails()]


def test_an_invoice_pushed_before_emailing_was_on_is_not_emailed(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Turning email_invoices on emails new invoices, not old ones that change."""
    make(xero, store).push(make_invoice(acme))
    make(xero, store, email_invoices=True).push(with_line(make_invoice(acme), quantity=3))
    assert [] == xero.emails()


def test_email_invoice_sends_once_and_returns_when(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """email_invoice emails a linked approved invoice; asking again sends nothing."""
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    at = xero.clock.now()
    assert at == engine.email_invoice("I-1")
    xero.clock.advance(60)
    assert at == engine.email_invoice("I-1")
    assert (1, 1) == (len(xero.emails()), calls(xero, "POST", "/Email"))


def test_email_invoice_refuses_what_xero_cannot_send(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Never pushed, or a draft: refused before any request, naming the invoice."""
    engine = make(xero, store)
    engine.push(make_invoice(acme, status="DRAFT"))
    with pytest.raises(SyncError) as unpushed:
        engine.email_invoice("I-2")
    with pytest.raises(SyncError) as draft:
        engine.email_invoice("I-1")
    assert ("invoice I-2: is not in Xero yet; push it before emailing it", 0) == (
        str(unpushed.value),
        calls(xero, "POST", "/Email"),
    )
    assert str(draft.value).startswith("invoice INV-00001: is DRAFT in Xero; only an approved")


def test_a_refused_email_is_given_back_and_shown(xero: FakeXero[Any], store: Any) -> None:
    """Xero refuses a contact without an address: nothing is claimed, the panel says why."""
    customer = Customer(
        id="C-2", name="Bare Ltd", xero_contact_id=xero.add_contact(name="Bare Ltd")
    )
    engine = make(xero, store)
    engine.push(make_invoice(customer))
    with pytest.raises(XeroValidationError) as refused:
        engine.email_invoice("I-1")
    panel = engine.panel("I-1")
    assert (None, "INV-00001") == (panel.emailed_at, refused.value.invoice_number)
    assert panel.last_error is not None and panel.last_error.endswith(
        "The invoice cannot be emailed: its contact Bare Ltd has no email address. (not emailed)"
    )


def test_a_push_whose_email_is_refused_still_succeeds(xero: FakeXero[Any], store: Any) -> None:
    """The invoice is in Xero: the push reports it created, and the panel shows the email's
    failure."""
    customer = Customer(
        id="C-2", name="Bare Ltd", xero_contact_id=xero.add_contact(name="Bare Ltd")
    )
    engine = make(xero, store, email_invoices=True)
    [outcome] = engine.push_many([make_invoice(customer)])
    panel = engine.panel("I-1")
    assert (True, None, []) == (outcome.ok, panel.emailed_at, xero.emails())
    assert "(not emailed)" in (panel.last_error or "")


def test_an_uncertain_email_is_never_sent_again(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """An email whose answer was lost counts as sent: at most once, whatever happens."""
    engine = make(xero, store, retry=RetryPolicy.none())
    result = engine.push(make_invoice(acme))
    xero.inject("timeout_after_commit", "POST", f"/Invoices/{result.xero_invoice_id}/Email")
    with pytest.raises(UncertainOutcome):
        engine.email_invoice("I-1")
    claimed = engine.panel("I-1").emailed_at
    assert claimed == engine.email_invoice("I-1")
    assert (1, 1) == (len(xero.emails()), calls(xero, "POST", "/Email"))
    assert "not sent again" in (engine.panel("I-1").last_error or "")


# --- contacts --------------------------------------------------------------------------------


def test_an_archived_contact_is_refused_before_sending(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A new invoice for an archived contact fails with a typed error naming both, unsent."""
    assert acme.xero_contact_id is not None
    xero.archive_contact(acme.xero_contact_id)
    engine = make(xero, store)
    [outcome] = engine.push_many([make_invoice(acme)])
    assert isinstance(outcome.error, ContactArchived)
    assert (
        f"invoice INV-00001: customer C-1 (Acme Ltd) is linked to Xero contact "
        f"{acme.xero_contact_id}, which is archived in Xero; un-archive the contact in Xero, or "
        "link the customer to another contact (SyncEngine.link_customer), and push the invoice "
        "again"
    ) == str(outcome.error)
    assert (0, str(outcome.error)) == (writes(xero), engine.panel("I-1").last_error)


def test_an_invoice_xero_has_can_still_be_edited_after_its_contact_is_archived(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Xero keeps an archived contact's invoices editable, so the push goes on."""
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    assert acme.xero_contact_id is not None
    xero.archive_contact(acme.xero_contact_id)
    xero.clock.advance(3601)  # the contact is read again
    result = engine.push(with_line(make_invoice(acme), quantity=3))
    assert (PushAction.UPDATED, Decimal("172.50")) == (result.action, result.total)


def test_a_merged_contact_is_followed_and_the_link_moved(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """A contact merged into another: the invoice goes to the one kept, and so does the link."""
    assert acme.xero_contact_id is not None
    kept = xero.add_contact(name="Acme Group")
    xero.merge_contacts(acme.xero_contact_id, kept)
    engine = make(xero, store)
    result = engine.push(make_invoice(acme))
    [stored] = xero.invoices()
    assert (PushAction.CREATED, kept, kept) == (
        result.action,
        stored["Contact"]["ContactID"],
        store.get_contact_id(engine.tenant_id, "C-1"),
    )


def test_an_edit_after_a_merge_goes_to_the_contact_kept(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Xero moved the invoice to the contact kept; the update names that one, not the merged."""
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    assert acme.xero_contact_id is not None
    kept = xero.add_contact(name="Acme Group")
    xero.merge_contacts(acme.xero_contact_id, kept)
    xero.clock.advance(3601)
    result = engine.push(with_line(make_invoice(acme), quantity=3))
    assert (PushAction.UPDATED, kept) == (result.action, xero.invoices()[0]["Contact"]["ContactID"])


def test_a_chain_of_merges_is_followed_to_its_end(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Merged into a contact that was merged in turn: the invoice goes to the last one."""
    assert acme.xero_contact_id is not None
    middle = xero.add_contact(name="Acme Group")
    last = xero.add_contact(name="Acme Holdings")
    xero.merge_contacts(acme.xero_contact_id, middle)
    xero.merge_contacts(middle, last)
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    assert (last, last, 3) == (  # one read per contact of the chain
        xero.invoices()[0]["Contact"]["ContactID"],
        store.get_contact_id(engine.tenant_id, "C-1"),
        calls(xero, "GET", "/Contacts"),
    )


def test_a_push_goes_on_when_the_contacts_cannot_be_read(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """The check is a courtesy: Xero checks contacts itself, so a failed read stops nothing."""
    xero.inject("offline_503", "GET", "/Contacts")
    result = make(xero, store, retry=RetryPolicy.none()).push(make_invoice(acme))
    assert (PushAction.CREATED, 1) == (result.action, calls(xero, "GET", "/Contacts"))


def test_contacts_are_read_once_per_cache_lifetime(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Pushes for a customer seen within the hour check its contact without asking again."""
    engine = make(xero, store)
    engine.push_many([make_invoice(acme, 1), make_invoice(acme, 2)])
    engine.push(make_invoice(acme, 3))
    engine.push(with_line(make_invoice(acme, 1), quantity=5))
    assert 1 == calls(xero, "GET", "/Contacts")


def test_an_unchanged_invoice_costs_no_contact_read(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Nothing to send, nothing to check."""
    engine = make(xero, store)
    engine.push(make_invoice(acme))
    xero.clock.advance(3601)
    assert PushAction.UNCHANGED == engine.push(make_invoice(acme)).action
    assert 1 == calls(xero, "GET", "/Contacts")


def test_link_customer_finds_an_existing_contact_by_name(xero: FakeXero[Any], store: Any) -> None:
    """No contact has the ContactNumber, one has the name: it is linked, nothing is created."""
    existing = xero.add_contact(name="Acme Ltd")
    engine = make(xero, store)
    linked = engine.link_customer(Customer(id="C-9", name=" acme ltd"))
    assert (existing, existing, 0) == (
        linked.xero_contact_id,
        store.get_contact_id(engine.tenant_id, "C-9"),
        calls(xero, "PUT", "/Contacts"),
    )


def test_link_customer_leaves_another_customers_contact_alone(
    xero: FakeXero[Any], store: Any
) -> None:
    """A contact with the name but another ContactNumber belongs to another customer."""
    xero.add_contact(name="Acme Ltd", contact_number="C-1")
    engine = make(xero, store)
    with pytest.raises(SyncError) as refused:
        engine.link_customer(Customer(id="C-2", name="Acme Ltd"))
    assert (
        "customer C-2 (Acme Ltd): Xero already has a contact named 'Acme Ltd' with "
        "ContactNumber 'C-1', another customer's; give this customer a distinct name, or link "
        "it to that contact by passing Customer(xero_contact_id=...)"
    ) == str(refused.value)
    assert None is store.get_contact_id(engine.tenant_id, "C-2")


def test_link_customer_follows_a_merge(xero: FakeXero[Any], store: Any) -> None:
    """The contact with the ContactNumber was merged away: the customer is linked to the one
    kept."""
    merged = xero.add_contact(name="Acme Ltd", contact_number="C-1")
    kept = xero.add_contact(name="Acme Group")
    xero.merge_contacts(merged, kept)
    engine = make(xero, store)
    assert kept == engine.link_customer(Customer(id="C-1", name="Acme Ltd")).xero_contact_id


def test_link_customer_creates_when_nothing_matches(xero: FakeXero[Any], store: Any) -> None:
    """Neither the number nor the name is known: the contact is created with both."""
    engine = make(xero, store)
    linked = engine.link_customer(Customer(id="C-7", name="Zephyr Ltd"))
    [made] = [c for c in xero.contacts() if c["Name"] == "Zephyr Ltd"]
    assert (made["ContactID"], "C-7") == (linked.xero_contact_id, made["ContactNumber"])


# --- currencies ------------------------------------------------------------------------------


def test_the_bms_exchange_rate_is_sent(xero: FakeXero[Any], store: Any, acme: Customer) -> None:
    """Invoice.currency_rate goes to Xero as CurrencyRate (else Xero uses its daily rate)."""
    xero.add_currency("USD")
    make(xero, store).push(make_invoice(acme, currency_code="USD", currency_rate="0.612345"))
    [stored] = xero.invoices()
    assert ("USD", Decimal("0.612345")) == (stored["CurrencyCode"], stored["CurrencyRate"])


def test_a_currency_not_enabled_is_refused_before_sending(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """An invoice in a currency the organisation lacks fails preflight, naming the fix."""
    xero.add_currency("USD")
    [outcome] = make(xero, store).push_many([make_invoice(acme, currency_code="EUR")])
    assert isinstance(outcome.error, CurrencyNotEnabled)
    assert (
        "invoice INV-00001: currency EUR is not enabled in this Xero organisation (it has NZD, "
        "USD); add it in Xero (Settings, Currencies), or invoice in a currency it has",
        0,
    ) == (str(outcome.error), writes(xero))


def test_a_currency_enabled_meanwhile_is_found_by_one_refresh(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """The cached currencies are read again once when a currency looks missing."""
    engine = make(xero, store)
    assert not engine.push_many([make_invoice(acme, currency_code="EUR")])[0].ok
    xero.add_currency("EUR")
    result = engine.push(make_invoice(acme, currency_code="EUR"))
    assert (PushAction.CREATED, 2) == (result.action, calls(xero, "GET", "/Currencies"))


def test_the_base_currency_needs_no_currency_read(
    xero: FakeXero[Any], store: Any, acme: Customer
) -> None:
    """Invoices in the base currency (or none given) never read the currencies."""
    engine = make(xero, store)
    engine.push_many([make_invoice(acme, 1), make_invoice(acme, 2, currency_code="NZD")])
    assert 0 == calls(xero, "GET", "/Currencies")


def test_currency_rate_is_validated(acme: Customer) -> None:
    """A rate must be a positive Decimal of at most 6 places, with a currency to convert."""
    with pytest.raises(InvoiceValidationError) as refused:
        make_invoice(acme, currency_rate="0")
    assert [
        ("currency_rate", "0 must be a positive exchange rate"),
    ] == [(p.path, p.message) for p in refused.value.problems]
    with pytest.raises(InvoiceValidationError) as bare:
        make_invoice(acme, currency_rate="1.5")
    assert [
        (
            "currency_rate",
            "needs a currency_code: a rate converts the invoice's currency to the base currency",
        )
    ] == [(p.path, p.message) for p in bare.value.problems]
    rate = make_invoice(acme, currency_code="USD", currency_rate="1.123456").currency_rate
    assert Decimal("1.123456") == rate


def test_a_rate_changes_the_fingerprint_only_when_given(acme: Customer) -> None:
    """An invoice without a rate encodes as before; with one, CurrencyRate is in the content."""
    plain = invoice_payload(make_invoice(acme), TAX_MAP)
    rated = invoice_payload(make_invoice(acme, currency_code="USD", currency_rate="0.61"), TAX_MAP)
    assert ("CurrencyRate" in plain, Decimal("0.61")) == (False, rated["CurrencyRate"])


def test_a_store_from_before_receivables_is_upgraded(
    xero: FakeXero[Any], acme: Customer, tmp_path: Path
) -> None:
    """A schema 3 file gains the two columns on open; its records read with neither set, and
    the link is then read and kept."""
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, component="sync", migrations=sqlite_store.MIGRATIONS[:3], location=str(path))
    conn.close()
    with SQLiteStore(path) as store:
        engine = make(xero, store)
        engine.push(make_invoice(acme))
        record = store.get(engine.tenant_id, "I-1")
        assert (5, None, None) == (
            SQLiteStore.schema_version,
            record.online_invoice_url,
            record.emailed_at,
        )
        url = engine.online_invoice_url("I-1")
    with SQLiteStore(path) as store:
        assert url == make(xero, store).panel("I-1").online_invoice_url
