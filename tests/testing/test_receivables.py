"""Receivables details: online invoice links, emailing and SentToContact, history notes,
currencies, archived and merged contacts, and the Rounding account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bms_xero.errors import ConfigurationError, NotFound
from bms_xero.mapping.wire import encode_json
from bms_xero.testing import FakeServer, FakeXero, SentEmail, serve
from tests.spec import validate
from tests.testing.helpers import Api, body_of, invoice, line, messages

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # FakeClock's start
ARCHIVED = (
    "The contact with the specified contact details has been archived. The contact must be "
    "un-archived before creating new invoices or credit notes."
)


def _refusal(body: Any) -> list[str]:
    """The messages of a 400 ValidationException's one element."""
    [element] = body["Elements"]
    return messages(element)


@pytest.fixture(name="approved")
def _approved(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0001"))  # AUTHORISED, 115.00
    return created


@pytest.fixture(name="emailable")
def _emailable(api: Api, xero: FakeXero) -> dict[str, Any]:
    """An approved invoice whose contact has an email address."""
    beta = xero.add_contact(name="Beta Ltd", email="accounts@beta.example")
    [created] = api.create(invoice(beta, "INV-0100"))
    return created


def _in_status(api: Api, xero: FakeXero, contact_id: str, status: str) -> str:
    """The id of a sales invoice in ``status`` (DRAFT, SUBMITTED, VOIDED or DELETED)."""
    created = status if status in ("DRAFT", "SUBMITTED") else "AUTHORISED"
    if status == "DELETED":
        created = "DRAFT"
    [made] = api.create(invoice(contact_id, f"INV-{status}", status=created))
    if status == "VOIDED":
        xero.void(made["InvoiceID"])
    elif status == "DELETED":
        api.call("POST", f"/Invoices/{made['InvoiceID']}", {"Status": "DELETED"})
    return str(made["InvoiceID"])


# --- GET /Invoices/{InvoiceID}/OnlineInvoice ---------------------------------------------------


class TestOnlineInvoice:
    def test_approved_invoice_has_a_link(self, api: Api, approved: dict[str, Any]) -> None:
        """An AUTHORISED sales invoice answers one OnlineInvoiceUrl on in.xero.com."""
        status, body = api.call("GET", f"/Invoices/{approved['InvoiceID']}/OnlineInvoice")

        [online] = body["OnlineInvoices"]
        url = online["OnlineInvoiceUrl"]
        assert (200, ["OnlineInvoiceUrl"], "https://in.xero.com/", 60) == (
            status,
            list(online),
            url[:20],
            len(url),
        )
        assert url[20:].isalnum()

    def test_the_link_is_stable(self, api: Api, contact_id: str, approved: dict[str, Any]) -> None:
        """The same invoice gets the same link on every call; another invoice another."""
        [other] = api.create(invoice(contact_id, "INV-0002"))

        def url(invoice_id: str) -> str:
            _, body = api.call("GET", f"/Invoices/{invoice_id}/OnlineInvoice")
            return str(body["OnlineInvoices"][0]["OnlineInvoiceUrl"])

        first, again = url(approved["InvoiceID"]), url(approved["InvoiceID"])
        assert (True, False) == (first == again, first == url(other["InvoiceID"]))

    def test_a_paid_invoice_has_its_link(
        self, api: Api, xero: FakeXero, approved: dict[str, Any]
    ) -> None:
        """A PAID invoice still answers its (unchanged) link."""
        path = f"/Invoices/{approved['InvoiceID']}/OnlineInvoice"
        _, before = api.call("GET", path)
        xero.pay(approved["InvoiceID"], Decimal("115.00"))

        status, after = api.call("GET", path)

        assert (200, before["OnlineInvoices"]) == (status, after["OnlineInvoices"])

    @pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "VOIDED", "DELETED"])
    def test_unapproved_invoice_is_refused(
        self, api: Api, xero: FakeXero, contact_id: str, status: str
    ) -> None:
        """Only an approved invoice has a link (the fake's rule beyond Xero's "not DRAFT")."""
        invoice_id = _in_status(api, xero, contact_id, status)

        code, body = api.call("GET", f"/Invoices/{invoice_id}/OnlineInvoice")

        expected = [
            "An online invoice is only available once the invoice is approved (AUTHORISED or "
            f"PAID); this invoice is {status}."
        ]
        assert (400, "ValidationException", invoice_id, expected) == (
            code,
            body["Type"],
            body["Elements"][0]["InvoiceID"],
            _refusal(body),
        )

    def test_a_bill_is_refused(self, api: Api, contact_id: str) -> None:
        """A bill (ACCPAY) has no online invoice."""
        [bill] = api.create(invoice(contact_id, "B-1", Type="ACCPAY"))

        status, body = api.call("GET", f"/Invoices/{bill['InvoiceID']}/OnlineInvoice")

        expected = [
            "An online invoice is only available for a sales invoice (ACCREC); this is ACCPAY."
        ]
        assert (400, expected) == (status, _refusal(body))

    def test_unknown_invoice_is_a_404(self, api: Api, approved: dict[str, Any]) -> None:
        """An unknown InvoiceID, or an InvoiceNumber in its place, is a 404."""
        unknown = "00000000-0000-4000-8000-000000000000"

        statuses = [
            api.call("GET", f"/Invoices/{ref}/OnlineInvoice")[0]
            for ref in (unknown, approved["InvoiceNumber"])
        ]

        assert [404, 404] == statuses

    def test_only_get(self, api: Api, approved: dict[str, Any]) -> None:
        """POST to the online invoice is a 405."""
        status, _ = api.call("POST", f"/Invoices/{approved['InvoiceID']}/OnlineInvoice", {})

        assert 405 == status

    def test_no_query_parameters(self, api: Api, approved: dict[str, Any]) -> None:
        """The endpoint reads no query parameter: one sent is a 501 naming it."""
        status, body = api.call(
            "GET", f"/Invoices/{approved['InvoiceID']}/OnlineInvoice", params={"unitdp": "4"}
        )

        assert (501, True) == (status, "'unitdp'" in body["Message"])

    def test_other_paths_below_an_invoice_are_501(self, api: Api, approved: dict[str, Any]) -> None:
        """What the fake does not serve below an invoice (its PDF, deeper paths) is a 501."""
        statuses = [
            api.call("GET", f"/Invoices/{approved['InvoiceID']}/{rest}")[0]
            for rest in ("pdf", "History/1")
        ]

        assert [501, 501] == statuses


# --- POST /Invoices/{InvoiceID}/Email ----------------------------------------------------------


class TestEmail:
    def test_email_sends_and_marks_sent(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """An approved invoice is emailed to its contact (204) and becomes SentToContact."""
        response = api.send("POST", f"/Invoices/{emailable['InvoiceID']}/Email")

        assert (204, b"") == (response.status_code, response.content)
        assert [
            SentEmail(
                invoice_id=emailable["InvoiceID"],
                invoice_number="INV-0100",
                to="accounts@beta.example",
                sent_at=NOW,
            )
        ] == xero.emails()
        assert (False, True) == (
            emailable["SentToContact"],
            api.invoice(emailable["InvoiceID"])["SentToContact"],
        )

    def test_an_empty_object_body_is_taken(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """The spec's body, ``{}`` (RequestEmpty), is taken as well as no body."""
        status, _ = api.call("POST", f"/Invoices/{emailable['InvoiceID']}/Email", {})

        assert (204, ["INV-0100"]) == (status, [e.invoice_number for e in xero.emails()])

    def test_a_body_that_is_not_an_object_is_refused(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """A body that is not a JSON object is a 400, and nothing is sent."""
        status, body = api.call("POST", f"/Invoices/{emailable['InvoiceID']}/Email", [1])

        assert (400, "The request body must be empty or a JSON object ({}).", []) == (
            status,
            body["Message"],
            xero.emails(),
        )

    def test_a_submitted_invoice_is_sent_but_not_marked(self, api: Api, xero: FakeXero) -> None:
        """SUBMITTED can be sent (Xero's guide), but only approved invoices are marked sent."""
        beta = xero.add_contact(name="Beta Ltd", email="accounts@beta.example")
        [submitted] = api.create(invoice(beta, "INV-0100", status="SUBMITTED"))

        status, _ = api.call("POST", f"/Invoices/{submitted['InvoiceID']}/Email")

        assert (204, 1, False) == (
            status,
            len(xero.emails()),
            api.invoice(submitted["InvoiceID"])["SentToContact"],
        )

    @pytest.mark.parametrize("status", ["DRAFT", "VOIDED", "DELETED"])
    def test_unsendable_status_is_refused(self, api: Api, xero: FakeXero, status: str) -> None:
        """DRAFT, VOIDED and DELETED invoices can't be emailed; nothing is sent."""
        beta = xero.add_contact(name="Beta Ltd", email="accounts@beta.example")
        invoice_id = _in_status(api, xero, beta, status)

        code, body = api.call("POST", f"/Invoices/{invoice_id}/Email")

        expected = [
            "Invoice not of valid status for sending: only SUBMITTED, AUTHORISED and PAID "
            f"invoices can be emailed, and this one is {status}."
        ]
        assert (400, expected, []) == (code, _refusal(body), xero.emails())

    def test_a_bill_is_refused(self, api: Api, xero: FakeXero) -> None:
        """A bill (ACCPAY) can't be emailed."""
        beta = xero.add_contact(name="Beta Ltd", email="accounts@beta.example")
        [bill] = api.create(invoice(beta, "B-1", Type="ACCPAY"))

        status, body = api.call("POST", f"/Invoices/{bill['InvoiceID']}/Email")

        assert (400, ["Only a sales invoice (ACCREC) can be emailed; this is ACCPAY."]) == (
            status,
            _refusal(body),
        )

    def test_a_contact_without_an_address_is_refused(
        self, api: Api, xero: FakeXero, approved: dict[str, Any]
    ) -> None:
        """The invoice's contact must have an email address; nothing is sent or marked."""
        status, body = api.call("POST", f"/Invoices/{approved['InvoiceID']}/Email")

        expected = ["The invoice cannot be emailed: its contact Acme Ltd has no email address."]
        assert (400, expected, [], False) == (
            status,
            _refusal(body),
            xero.emails(),
            api.invoice(approved["InvoiceID"])["SentToContact"],
        )

    def test_a_paid_invoice_is_sent_without_a_new_updated_date(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """A PAID invoice is emailed and marked sent; with payments on it, the mark leaves
        UpdatedDateUTC alone (xero-api.md section 7)."""
        xero.pay(emailable["InvoiceID"], Decimal("115.00"))
        before = api.invoice(emailable["InvoiceID"])
        xero.clock.advance(60)

        status, _ = api.call("POST", f"/Invoices/{emailable['InvoiceID']}/Email")

        after = api.invoice(emailable["InvoiceID"])
        assert (204, "PAID", True, before["UpdatedDateUTC"]) == (
            status,
            after["Status"],
            after["SentToContact"],
            after["UpdatedDateUTC"],
        )

    def test_sending_again_sends_again(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """Each call sends one email, also to an invoice already marked sent."""
        path = f"/Invoices/{emailable['InvoiceID']}/Email"
        xero.clock.advance(30)
        statuses = [api.call("POST", path)[0], api.call("POST", path)[0]]

        assert ([204, 204], 2) == (statuses, len(xero.emails()))

    def test_a_retry_with_the_same_idempotency_key_sends_once(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """A retried send with its Idempotency-Key replays the 204 and sends nothing more."""
        path = f"/Invoices/{emailable['InvoiceID']}/Email"
        key = {"Idempotency-Key": "email-INV-0100"}

        statuses = [api.call("POST", path, headers=key)[0] for _ in range(2)]

        assert ([204, 204], 1, [False, True]) == (
            statuses,
            len(xero.emails()),
            [r.replayed for r in xero.requests[-2:]],
        )

    def test_faults_and_the_request_log_see_the_path(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """A fault for ``/Invoices`` hits the email call (it sits under it), before anything
        is sent; the log names the full path."""
        path = f"/Invoices/{emailable['InvoiceID']}/Email"
        xero.inject("offline_503", "POST", "/Invoices")

        faulted, _ = api.call("POST", path)
        sent, _ = api.call("POST", path)

        assert (503, 204, 1, 2) == (
            faulted,
            sent,
            len(xero.emails()),
            xero.count_requests("POST", path),
        )

    def test_a_timeout_after_commit_has_sent_it(
        self, api: Api, xero: FakeXero, emailable: dict[str, Any]
    ) -> None:
        """A timeout after commit loses the answer, not the email."""
        xero.inject("timeout_after_commit", "POST", f"/Invoices/{emailable['InvoiceID']}/Email")

        with pytest.raises(httpx.ReadTimeout):
            api.send("POST", f"/Invoices/{emailable['InvoiceID']}/Email")

        assert ["INV-0100"] == [e.invoice_number for e in xero.emails()]

    def test_only_post(self, api: Api, emailable: dict[str, Any]) -> None:
        """GET on the email endpoint is a 405."""
        status, _ = api.call("GET", f"/Invoices/{emailable['InvoiceID']}/Email")

        assert 405 == status


# --- SentToContact on POST /Invoices/{InvoiceID} ------------------------------------------------


class TestSentToContact:
    def _update(self, api: Api, invoice_id: str, **fields: Any) -> dict[str, Any]:
        status, body = api.call(
            "POST",
            f"/Invoices/{invoice_id}",
            {"Invoices": [{"InvoiceID": invoice_id, **fields}]},
            params={"summarizeErrors": "false"},
        )
        assert 200 == status
        return dict(body["Invoices"][0])

    def test_an_approved_invoice_can_be_marked_sent(
        self, api: Api, approved: dict[str, Any]
    ) -> None:
        """SentToContact: true on an AUTHORISED invoice is stored and rendered."""
        xero_answer = self._update(api, approved["InvoiceID"], SentToContact=True)

        read = api.invoice(approved["InvoiceID"])
        assert ([], True, True, True) == (
            messages(xero_answer),
            xero_answer["SentToContact"],
            read["SentToContact"],
            read["UpdatedDateUTC"] != approved["UpdatedDateUTC"],
        )

    def test_a_draft_cannot_be_marked_sent(self, api: Api, contact_id: str) -> None:
        """SentToContact on a DRAFT invoice is refused."""
        [draft] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))

        refused = self._update(api, draft["InvoiceID"], SentToContact=True)

        assert ["SentToContact can only be set on approved invoices."] == messages(refused)

    def test_a_part_paid_invoice_can_be_marked_sent(
        self, api: Api, xero: FakeXero, approved: dict[str, Any]
    ) -> None:
        """With a payment on it the invoice takes SentToContact (no other edit), and its
        UpdatedDateUTC stays (xero-api.md section 7)."""
        xero.pay(approved["InvoiceID"], Decimal("15.00"))
        before = api.invoice(approved["InvoiceID"])
        xero.clock.advance(60)

        marked = self._update(api, approved["InvoiceID"], SentToContact=True)

        after = api.invoice(approved["InvoiceID"])
        assert ([], True, before["UpdatedDateUTC"]) == (
            messages(marked),
            after["SentToContact"],
            after["UpdatedDateUTC"],
        )

    def test_a_part_paid_invoice_takes_no_other_edit(
        self, api: Api, xero: FakeXero, approved: dict[str, Any]
    ) -> None:
        """SentToContact sent with another change still meets the payment lock."""
        xero.pay(approved["InvoiceID"], Decimal("15.00"))

        refused = self._update(api, approved["InvoiceID"], SentToContact=True, Reference="changed")

        assert [
            "This document cannot be edited as it has a payment or credit note allocated to it."
        ] == messages(refused)


# --- PUT and GET /Invoices/{InvoiceID}/History -------------------------------------------------


class TestHistory:
    def test_put_adds_a_note(self, api: Api, approved: dict[str, Any]) -> None:
        """PUT answers the records it made, as the spec's HistoryRecordCreated example."""
        status, body = api.call(
            "PUT",
            f"/Invoices/{approved['InvoiceID']}/History",
            {"HistoryRecords": [{"Details": "Reminder sent by BMS"}]},
        )

        expected = [
            {
                "DateUTCString": "2026-01-05T09:00:00",
                "DateUTC": "/Date(1767603600000)/",
                "Details": "Reminder sent by BMS",
                "ValidationErrors": [],
            }
        ]
        assert (200, expected) == (status, body["HistoryRecords"])

    def test_get_lists_the_notes(self, api: Api, xero: FakeXero, approved: dict[str, Any]) -> None:
        """GET lists the notes oldest first, as xero.history() does."""
        path = f"/Invoices/{approved['InvoiceID']}/History"
        api.call("PUT", path, {"HistoryRecords": [{"Details": "First"}]})
        xero.clock.advance(60)
        api.call("PUT", path, {"Details": "Second"})  # one object is one record

        status, body = api.call("GET", path)

        second = {
            "Changes": "Note",
            "DateUTCString": "2026-01-05T09:01:00",
            "DateUTC": "/Date(1767603660000)/",
            "User": "System Generated",
            "Details": "Second",
        }
        assert (200, ["First", "Second"], second) == (
            status,
            [r["Details"] for r in body["HistoryRecords"]],
            body["HistoryRecords"][1],
        )
        assert body["HistoryRecords"] == xero.history(approved["InvoiceID"])

    def test_a_note_needs_details(self, api: Api, xero: FakeXero, approved: dict[str, Any]) -> None:
        """A record without Details is refused (400) and nothing is added."""
        status, body = api.call(
            "PUT", f"/Invoices/{approved['InvoiceID']}/History", {"HistoryRecords": [{}]}
        )

        assert (400, ["The history record Details must be specified."], []) == (
            status,
            _refusal(body),
            xero.history(approved["InvoiceID"]),
        )

    def test_a_note_changes_nothing_on_the_invoice(
        self, api: Api, xero: FakeXero, approved: dict[str, Any]
    ) -> None:
        """Adding a note leaves the invoice's UpdatedDateUTC alone."""
        xero.clock.advance(60)
        api.call("PUT", f"/Invoices/{approved['InvoiceID']}/History", {"Details": "Called"})

        assert approved["UpdatedDateUTC"] == api.invoice(approved["InvoiceID"])["UpdatedDateUTC"]

    def test_history_of_an_unknown_invoice(self, xero: FakeXero) -> None:
        """xero.history() of an unknown invoice raises NotFound."""
        with pytest.raises(NotFound):
            xero.history("00000000-0000-4000-8000-000000000000")


# --- GET /Currencies ---------------------------------------------------------------------------


class TestCurrencies:
    def test_the_base_currency_is_listed(self, api: Api) -> None:
        """An organisation lists its base currency, as the spec's example has it."""
        status, body = api.call("GET", "/Currencies")

        assert (200, [{"Code": "NZD", "Description": "New Zealand Dollar"}]) == (
            status,
            body["Currencies"],
        )

    def test_add_currency_enables_another(self, api: Api, xero: FakeXero) -> None:
        """add_currency() lists a currency after the base one; where and order are read."""
        xero.add_currency("USD")
        xero.add_currency("THB", description="Thai Baht")

        _, listed = api.call("GET", "/Currencies")
        _, one = api.call("GET", "/Currencies", params={"where": 'Code=="USD"'})
        _, ordered = api.call("GET", "/Currencies", params={"order": "Code DESC"})

        assert (
            [("NZD", "New Zealand Dollar"), ("USD", "United States Dollar"), ("THB", "Thai Baht")],
            ["USD"],
            ["USD", "THB", "NZD"],
        ) == (
            [(c["Code"], c["Description"]) for c in listed["Currencies"]],
            [c["Code"] for c in one["Currencies"]],
            [c["Code"] for c in ordered["Currencies"]],
        )

    def test_another_tenants_base_currency(self, xero: FakeXero) -> None:
        """add_tenant(base_currency=...) is that organisation's only currency."""
        sydney = xero.add_tenant("Sydney Pty", base_currency="AUD")

        _, body = Api(xero, sydney).call("GET", "/Currencies")

        assert [{"Code": "AUD", "Description": "Australian Dollar"}] == body["Currencies"]

    def test_an_unknown_currency_needs_a_description(self, xero: FakeXero) -> None:
        """add_currency() of a code it has no name for asks for one; a bad code is refused."""
        with pytest.raises(ConfigurationError, match="pass description="):
            xero.add_currency("THB")
        with pytest.raises(ConfigurationError, match="currency code"):
            xero.add_currency("usd")

    def test_an_invoice_in_a_currency_not_enabled_is_refused(
        self, api: Api, contact_id: str
    ) -> None:
        """Xero's message for a currency the organisation has not enabled."""
        [refused] = api.create(invoice(contact_id, "INV-0002", CurrencyCode="EUR"))

        assert ["Organisation is not subscribed to currency EUR"] == messages(refused)

    def test_an_invoice_in_an_enabled_currency_is_taken(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """Once enabled, the currency can be used."""
        xero.add_currency("EUR")

        [created] = api.create(invoice(contact_id, "INV-0002", CurrencyCode="EUR"))

        assert ([], "EUR") == (messages(created), created["CurrencyCode"])

    def test_a_draft_cannot_move_to_a_currency_not_enabled(self, api: Api, contact_id: str) -> None:
        """An update to a currency not enabled is refused too."""
        [draft] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))

        status, body = api.call(
            "POST",
            f"/Invoices/{draft['InvoiceID']}",
            {"CurrencyCode": "USD"},
            params={"summarizeErrors": "false"},
        )

        assert (200, ["Organisation is not subscribed to currency USD"]) == (
            status,
            messages(body["Invoices"][0]),
        )

    def test_currencies_cannot_be_created_over_http(self, api: Api) -> None:
        """PUT /Currencies is not served (the spec calls it unsupported)."""
        status, _ = api.call("PUT", "/Currencies", {"Code": "USD", "Description": "US Dollar"})

        assert 405 == status


# --- archived and merged contacts --------------------------------------------------------------


class TestArchivedContacts:
    def test_archive_contact(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """archive_contact() archives it: ARCHIVED, and left out of GET /Contacts."""
        xero.archive_contact(contact_id)

        _, one = api.call("GET", f"/Contacts/{contact_id}")
        _, listed = api.call("GET", "/Contacts")

        assert ("ARCHIVED", []) == (one["Contacts"][0]["ContactStatus"], listed["Contacts"])

    def test_no_new_invoice_for_an_archived_contact(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """Xero's message, whether the contact is named by ContactID or by Name."""
        xero.archive_contact(contact_id)

        refused = api.create(
            invoice(contact_id, "INV-0002"),
            invoice(contact_id, "INV-0003", Contact={"Name": "Acme Ltd"}),
        )

        assert [[ARCHIVED], [ARCHIVED], []] == [
            *(messages(r) for r in refused),
            api.xero.invoices(),
        ]

    def test_a_draft_of_an_archived_contact_cannot_be_approved(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """Approving a draft of an archived contact is refused (the fake's reading)."""
        [draft] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))
        xero.archive_contact(contact_id)

        status, body = api.call(
            "POST",
            f"/Invoices/{draft['InvoiceID']}",
            {"Status": "AUTHORISED"},
            params={"summarizeErrors": "false"},
        )

        assert (200, [ARCHIVED]) == (status, messages(body["Invoices"][0]))

    def test_an_archived_contacts_invoices_stay_usable(
        self, api: Api, xero: FakeXero, contact_id: str, approved: dict[str, Any]
    ) -> None:
        """Its invoices can still be paid and marked sent."""
        xero.archive_contact(contact_id)

        xero.pay(approved["InvoiceID"], Decimal("15.00"))
        status, body = api.call(
            "POST",
            f"/Invoices/{approved['InvoiceID']}",
            {"SentToContact": True},
            params={"summarizeErrors": "false"},
        )

        assert (200, [], Decimal("100.00")) == (
            status,
            messages(body["Invoices"][0]),
            api.invoice(approved["InvoiceID"])["AmountDue"],
        )

    def test_an_archived_name_can_be_taken_again(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """Names are unique among active contacts only: Xero's message while it is active,
        a new contact once it is archived."""
        body = {"Contacts": [{"Name": "Acme Ltd"}]}
        _, taken = api.call("PUT", "/Contacts", body, params={"summarizeErrors": "false"})
        xero.archive_contact(contact_id)
        _, made = api.call("PUT", "/Contacts", body, params={"summarizeErrors": "false"})

        assert (
            [
                "The contact name Acme Ltd is already assigned to another contact. The contact "
                "name must be unique across all active contacts."
            ],
            [],
        ) == (messages(taken["Contacts"][0]), messages(made["Contacts"][0]))

    def test_archive_unknown_contact(self, xero: FakeXero) -> None:
        """archive_contact() of an unknown contact raises NotFound."""
        with pytest.raises(NotFound):
            xero.archive_contact("00000000-0000-4000-8000-000000000000")


class TestMergedContacts:
    @pytest.fixture(name="survivor")
    def _survivor(self, xero: FakeXero) -> str:
        return xero.add_contact(name="Acme Limited", contact_number="C-9")

    def test_merged_contact_names_the_survivor(
        self, api: Api, xero: FakeXero, contact_id: str, survivor: str
    ) -> None:
        """The merged contact is ARCHIVED with MergedToContactID, read by id and by number."""
        xero.merge_contacts(contact_id, survivor)

        _, by_id = api.call("GET", f"/Contacts/{contact_id}")
        _, by_number = api.call("GET", "/Contacts/C-1")

        expected = ("ARCHIVED", survivor)
        assert [expected, expected] == [
            (c["ContactStatus"], c["MergedToContactID"])
            for c in (by_id["Contacts"][0], by_number["Contacts"][0])
        ]

    def test_merged_to_is_shown_on_paged_lists_only(
        self, api: Api, xero: FakeXero, contact_id: str, survivor: str
    ) -> None:
        """GET /Contacts shows MergedToContactID when paged, as the spec says, not unpaged."""
        xero.merge_contacts(contact_id, survivor)

        def merged(params: dict[str, str]) -> dict[str, str | None]:
            _, body = api.call("GET", "/Contacts", params={"includeArchived": "true", **params})
            return {c["Name"]: c.get("MergedToContactID") for c in body["Contacts"]}

        assert (
            {"Acme Ltd": survivor, "Acme Limited": None},
            {"Acme Ltd": None, "Acme Limited": None},
        ) == (merged({"page": "1"}), merged({}))

    def test_invoices_and_credits_move_to_the_survivor(
        self, api: Api, xero: FakeXero, contact_id: str, survivor: str, approved: dict[str, Any]
    ) -> None:
        """The merged contact's invoices and prepayments now belong to the survivor, and the
        invoices have a new UpdatedDateUTC."""
        xero.prepay(contact_id, Decimal("50.00"))
        xero.clock.advance(60)

        xero.merge_contacts(contact_id, survivor)

        _, found = api.call("GET", "/Invoices", params={"ContactIDs": survivor})
        moved = api.invoice(approved["InvoiceID"])
        assert (
            ["INV-0001"],
            (survivor, "Acme Limited"),
            True,
            [survivor],
        ) == (
            [i["InvoiceNumber"] for i in found["Invoices"]],
            (moved["Contact"]["ContactID"], moved["Contact"]["Name"]),
            moved["UpdatedDateUTC"] != approved["UpdatedDateUTC"],
            [p["Contact"]["ContactID"] for p in xero.prepayments()],
        )

    def test_no_new_invoice_for_a_merged_contact(
        self, api: Api, xero: FakeXero, contact_id: str, survivor: str
    ) -> None:
        """A merged contact is archived: new invoices for it are refused with Xero's message."""
        xero.merge_contacts(contact_id, survivor)

        [refused] = api.create(invoice(contact_id, "INV-0002"))

        assert [ARCHIVED] == messages(refused)

    def test_merge_refusals(self, xero: FakeXero, contact_id: str, survivor: str) -> None:
        """A contact can't be merged into itself, nor can an archived one take part."""
        with pytest.raises(ConfigurationError, match="into itself"):
            xero.merge_contacts(contact_id, contact_id)
        xero.archive_contact(survivor)
        with pytest.raises(ConfigurationError, match="only active contacts can be merged"):
            xero.merge_contacts(contact_id, survivor)
        with pytest.raises(NotFound):
            xero.merge_contacts(contact_id, "00000000-0000-4000-8000-000000000000")


class TestFindingContacts:
    def test_by_contact_number(self, api: Api, contact_id: str) -> None:
        """GET /Contacts/{ContactNumber} finds the contact."""
        _, body = api.call("GET", "/Contacts/C-1")

        assert [contact_id] == [c["ContactID"] for c in body["Contacts"]]

    def test_by_name_with_where(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """``where=Name=="..."`` finds a contact by its exact name."""
        xero.add_contact(name="Acme Ltd (Old)")

        _, body = api.call("GET", "/Contacts", params={"where": 'Name=="Acme Ltd"'})

        assert [contact_id] == [c["ContactID"] for c in body["Contacts"]]

    def test_by_search_term(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """``searchTerm`` finds contacts whose name contains it, in any case."""
        xero.add_contact(name="Zenith Ltd")

        _, body = api.call("GET", "/Contacts", params={"searchTerm": "acme"})

        assert ["Acme Ltd"] == [c["Name"] for c in body["Contacts"]]


# --- the Rounding system account ---------------------------------------------------------------


class TestRoundingAccount:
    def test_every_organisation_has_one(self, xero: FakeXero) -> None:
        """GET /Accounts finds the Rounding account by SystemAccount, in every organisation."""
        other = xero.add_tenant("Sydney Pty", base_currency="AUD")

        def rounding(tenant_id: str) -> list[tuple[str, str, str, str, str]]:
            _, body = Api(xero, tenant_id).call(
                "GET", "/Accounts", params={"where": 'SystemAccount=="ROUNDING"'}
            )
            return [
                (a["Code"], a["Name"], a["Type"], a["Class"], a["Status"]) for a in body["Accounts"]
            ]

        expected = [("860", "Rounding", "CURRLIAB", "LIABILITY", "ACTIVE")]
        assert [expected, expected] == [rounding(xero.tenant_id), rounding(other)]

    def test_a_rounding_line_is_taken(self, api: Api, contact_id: str) -> None:
        """A sales invoice may carry an adjustment line to the Rounding account."""
        [created] = api.create(
            invoice(
                contact_id,
                "INV-0002",
                line("100.00"),
                line("-0.01", account="860", tax="NONE", Description="Rounding"),
            )
        )

        assert ([], Decimal("114.99"), ["200", "860"]) == (
            messages(created),
            created["Total"],
            [li["AccountCode"] for li in created["LineItems"]],
        )


# --- over the loopback server ------------------------------------------------------------------


@pytest.fixture(name="server")
def _server(xero: FakeXero) -> Iterator[FakeServer]:
    with serve(xero) as server:
        yield server


def test_over_the_loopback_server(server: FakeServer, xero: FakeXero) -> None:
    """The server serves the online invoice, the email (a bare 204) and the currencies."""
    beta = xero.add_contact(name="Beta Ltd", email="accounts@beta.example")
    with httpx.Client(timeout=10) as http:
        access = http.post(
            server.token_url,
            data={"grant_type": "client_credentials"},
            auth=(xero.client_id, xero.client_secret),
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {access}", "xero-tenant-id": xero.tenant_id}
        made = http.put(
            f"{server.api_url}/Invoices",
            content=encode_json({"Invoices": [invoice(beta, "INV-0100")]}),
            headers=headers,
        )
        invoice_id = made.json()["Invoices"][0]["InvoiceID"]
        online = http.get(f"{server.api_url}/Invoices/{invoice_id}/OnlineInvoice", headers=headers)
        emailed = http.post(f"{server.api_url}/Invoices/{invoice_id}/Email", headers=headers)
        currencies = http.get(f"{server.api_url}/Currencies", headers=headers)

    validate(body_of(online), "OnlineInvoices")
    validate(body_of(currencies), "Currencies")
    assert (200, 204, b"", None, ["NZD"], ["INV-0100"]) == (
        online.status_code,
        emailed.status_code,
        emailed.content,
        emailed.headers.get("content-length"),
        [c["Code"] for c in currencies.json()["Currencies"]],
        [e.invoice_number for e in xero.emails()],
    )
