"""Credit notes: the /CreditNotes endpoints, their allocations to invoices, and the helpers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from bms_xero.domain import Allocation, AllocationKind
from bms_xero.errors import NotFound, XeroValidationError
from bms_xero.mapping.wire import parse_invoice
from bms_xero.testing import FakeXero
from tests.spec import validate
from tests.testing.helpers import Api, check, invoice, line, messages

UNKNOWN = "00000000-0000-4000-8000-000000000000"
ALLOCATED = "This document cannot be edited as it has a payment or credit note allocated to it."


def note(
    contact_id: str,
    *lines: dict[str, Any],
    number: str | None = None,
    status: str = "AUTHORISED",
    kind: str = "ACCRECCREDIT",
    issued: date = date(2026, 1, 6),
    **extra: Any,
) -> dict[str, Any]:
    """A credit note as a client sends it: by default one line of 20.00 plus 15% GST."""
    out: dict[str, Any] = {
        "Type": kind,
        "Contact": {"ContactID": contact_id},
        "Date": issued.isoformat(),
        "Status": status,
        "LineAmountTypes": "Exclusive",
        "LineItems": list(lines) or [line("20.00")],
    }
    if number is not None:
        out["CreditNoteNumber"] = number
    out.update(extra)
    return out


def put_notes(
    api: Api, *notes: dict[str, Any], params: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """PUT /CreditNotes with summarizeErrors=false (the answer checked against the spec)."""
    status, body = api.call(
        "PUT",
        "/CreditNotes",
        {"CreditNotes": list(notes)},
        params={"summarizeErrors": "false", **(params or {})},
    )
    assert 200 == status
    return list(body["CreditNotes"])


def allocate(
    api: Api, credit_note_id: str, invoice_id: str, amount: str, on: str | None = "2026-01-10"
) -> list[dict[str, Any]]:
    """PUT /CreditNotes/{id}/Allocations with summarizeErrors=false; each allocation."""
    allocation: dict[str, Any] = {"Amount": Decimal(amount), "Invoice": {"InvoiceID": invoice_id}}
    if on is not None:
        allocation["Date"] = on
    status, body = api.call(
        "PUT",
        f"/CreditNotes/{credit_note_id}/Allocations",
        {"Allocations": [allocation]},
        params={"summarizeErrors": "false"},
    )
    assert 200 == status
    return list(body["Allocations"])


def get_note(api: Api, reference: str, **params: str) -> dict[str, Any]:
    """GET /CreditNotes/{id or number}."""
    status, body = api.call("GET", f"/CreditNotes/{reference}", params=params)
    assert 200 == status
    return dict(body["CreditNotes"][0])


def _refusal(raised: pytest.ExceptionInfo[XeroValidationError]) -> list[str]:
    return [m.message for m in raised.value.messages]


@pytest.fixture(name="created")
def _created(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0001", line("100.00")))  # 115.00 with GST
    return created


@pytest.fixture(name="credit")
def _credit(api: Api, contact_id: str) -> dict[str, Any]:
    """An AUTHORISED sales credit note of 23.00 (20.00 plus GST)."""
    [created] = put_notes(api, note(contact_id))
    return created


class TestCreate:
    def test_totals_follow_the_per_line_rule(self, api: Api, contact_id: str) -> None:
        """Each line's tax is rounded before the sum, as on invoices: three lines of 10.10 at
        15% carry 1.52 each, 4.56 in all (4.55 if totalled first)."""
        [created] = put_notes(api, note(contact_id, line("10.10"), line("10.10"), line("10.10")))

        expected = (
            [Decimal("1.52")] * 3,
            [Decimal("10.10")] * 3,
            Decimal("30.30"),
            Decimal("4.56"),
            Decimal("34.86"),
            Decimal("34.86"),
        )
        assert expected == (
            [li["TaxAmount"] for li in created["LineItems"]],
            [li["LineAmount"] for li in created["LineItems"]],
            created["SubTotal"],
            created["TotalTax"],
            created["Total"],
            created["RemainingCredit"],
        )

    def test_inclusive_lines_hold_their_tax(self, api: Api, contact_id: str) -> None:
        """With Inclusive amounts the tax comes out of the line, as on invoices."""
        [created] = put_notes(api, note(contact_id, line("115.00"), LineAmountTypes="Inclusive"))

        assert (Decimal("100.00"), Decimal("15.00"), Decimal("115.00")) == (
            created["SubTotal"],
            created["TotalTax"],
            created["Total"],
        )

    def test_the_answer_is_the_stored_credit_note(self, api: Api, contact_id: str) -> None:
        """An accepted element is the credit note as stored, flagged OK."""
        [created] = put_notes(api, note(contact_id, Reference="Returned goods"))

        expected = {
            "CreditNoteNumber": "CN-0001",
            "Type": "ACCRECCREDIT",
            "Status": "AUTHORISED",
            "Reference": "Returned goods",
            "Date": "/Date(1767657600000+0000)/",
            "LineAmountTypes": "Exclusive",
            "CurrencyCode": "NZD",
            "CurrencyRate": Decimal("1.0"),
            "RemainingCredit": Decimal("23.00"),
            "Allocations": [],
            "Payments": [],
            "HasErrors": False,
            "StatusAttributeString": "OK",
            "ValidationErrors": [],
            "Warnings": [],
        }
        assert expected == {k: created[k] for k in expected}
        assert contact_id == created["Contact"]["ContactID"]

    def test_numbers_are_generated_in_turn(self, api: Api, contact_id: str) -> None:
        """Sales credit notes sent without a number get CN-0001, CN-0002, ..."""
        created = put_notes(api, note(contact_id), note(contact_id))

        assert ["CN-0001", "CN-0002"] == [c["CreditNoteNumber"] for c in created]

    def test_generated_numbers_skip_taken_ones(self, api: Api, contact_id: str) -> None:
        """A generated number skips one a credit note was created with."""
        created = put_notes(api, note(contact_id, number="CN-0001"), note(contact_id))

        assert ["CN-0001", "CN-0002"] == [c["CreditNoteNumber"] for c in created]

    def test_a_duplicate_number_is_refused(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A sales credit note number already used is refused (the fake's rule); the other
        element of the batch is stored."""
        first, second = put_notes(
            api, note(contact_id, number="CR-7"), note(contact_id, number="CR-7")
        )

        expected = (
            "OK",
            "ERROR",
            True,
            ["The CreditNoteNumber 'CR-7' is already used by another sales credit note."],
            1,
        )
        assert expected == (
            first["StatusAttributeString"],
            second["StatusAttributeString"],
            second["HasErrors"],
            messages(second),
            len(xero.credit_notes()),
        )

    def test_purchase_credit_notes_need_no_number(self, api: Api, contact_id: str) -> None:
        """A purchase credit note keeps the supplier's number, which need not be unique, and
        has none ("") when sent none."""
        bill_line = line("10.00", account="400", tax="INPUT2")
        created = put_notes(
            api,
            note(contact_id, bill_line, kind="ACCPAYCREDIT", number="SUP-1"),
            note(contact_id, bill_line, kind="ACCPAYCREDIT", number="SUP-1"),
            note(contact_id, bill_line, kind="ACCPAYCREDIT"),
        )

        assert (["SUP-1", "SUP-1", ""], ["OK"] * 3, Decimal("11.50")) == (
            [c["CreditNoteNumber"] for c in created],
            [c["StatusAttributeString"] for c in created],
            created[0]["Total"],
        )

    def test_element_errors_each_carry_their_messages(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """With summarizeErrors=false each element stands alone with its own messages."""
        results = put_notes(
            api,
            note(contact_id),
            note(contact_id, line(account="210")),
            note(UNKNOWN),
            note(contact_id, line(tax="INPUT2")),
        )

        assert [
            [],
            [
                "Account code '210' has been archived, or has been deleted. Each line item must "
                "reference a valid account."
            ],
            [f"The contact with ContactID '{UNKNOWN}' could not be found."],
            [
                "The TaxType code INPUT2 does not exist or cannot be used for this type of "
                "transaction."
            ],
        ] == [messages(r) for r in results]
        assert ([False, True, True, True], 1) == (
            [r["HasErrors"] for r in results],
            len(xero.credit_notes()),
        )

    def test_summarised_errors_are_a_400(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """Without summarizeErrors=false a refused element makes the answer a 400; the valid
        element is stored all the same, as Xero does."""
        status, body = api.call(
            "PUT",
            "/CreditNotes",
            {"CreditNotes": [note(contact_id), note(contact_id, line(account="999"))]},
        )

        assert (400, "ValidationException", 1) == (status, body["Type"], len(xero.credit_notes()))
        assert [["Account code '999' is not a valid code for this document."]] == [
            messages(e) for e in body["Elements"]
        ]

    def test_a_credit_note_id_is_refused(
        self, api: Api, contact_id: str, credit: dict[str, Any]
    ) -> None:
        """PUT only creates: an unknown CreditNoteID gets Xero's message (the spec's example),
        a known one the fake's."""
        unknown, known = put_notes(
            api,
            note(contact_id, CreditNoteID=UNKNOWN),
            note(contact_id, CreditNoteID=credit["CreditNoteID"]),
        )

        assert [
            ["An existing Credit Note with the specified CreditNoteID could not be found"],
            [
                "CreditNoteID cannot be given when creating a credit note; update it with "
                "POST /CreditNotes/{CreditNoteID}."
            ],
        ] == [messages(unknown), messages(known)]

    @pytest.mark.parametrize("status", ["PAID", "VOIDED", "DELETED"])
    def test_statuses_a_create_cannot_have(self, api: Api, contact_id: str, status: str) -> None:
        """A credit note is created DRAFT, SUBMITTED or AUTHORISED only."""
        [refused] = put_notes(api, note(contact_id, status=status))

        assert ["Credit note not of valid status for creation"] == messages(refused)

    def test_a_draft_may_lack_an_account(self, api: Api, contact_id: str) -> None:
        """A draft line needs no account; an AUTHORISED one does, as on invoices."""
        bare = {"Description": "Refund", "Quantity": Decimal("1"), "UnitAmount": Decimal("5.00")}
        draft, approved = put_notes(
            api, note(contact_id, bare, status="DRAFT"), note(contact_id, bare)
        )

        assert (
            ("DRAFT", Decimal("5.00")),
            ["Account must be valid."],
        ) == ((draft["Status"], draft["Total"]), messages(approved))

    def test_type_is_required_and_checked(self, api: Api, contact_id: str) -> None:
        """A credit note names its Type, ACCRECCREDIT or ACCPAYCREDIT."""
        missing = note(contact_id)
        del missing["Type"]

        # The echo carries "ACCREC" as sent, which is no CreditNote Type: not spec-valid.
        untyped, wrong = put_notes(
            Api(api.xero, checked=False), missing, note(contact_id, kind="ACCREC")
        )

        assert [
            ["The Type field must be specified."],
            ["Type 'ACCREC' is not a credit note type; send ACCRECCREDIT or ACCPAYCREDIT."],
        ] == [messages(untyped), messages(wrong)]

    def test_discounts_are_refused(self, api: Api, contact_id: str) -> None:
        """Credit notes take no discounts (spec, LineItem.DiscountRate)."""
        [refused] = put_notes(api, note(contact_id, line(DiscountRate=Decimal("10"))))

        assert ["Credit notes do not support discounts (DiscountRate, DiscountAmount)."] == (
            messages(refused)
        )

    def test_currencies_must_be_enabled(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A credit note is in the base currency or one enabled, as an invoice is."""
        [refused] = put_notes(api, note(contact_id, CurrencyCode="USD"))
        xero.add_currency("USD")
        [usd] = put_notes(api, note(contact_id, CurrencyCode="USD"))

        assert (["Organisation is not subscribed to currency USD"], "USD") == (
            messages(refused),
            usd["CurrencyCode"],
        )

    def test_an_archived_contact_is_refused(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """No new credit note for an archived contact (Xero's message names credit notes)."""
        xero.archive_contact(contact_id)

        [refused] = put_notes(api, note(contact_id))

        assert [
            "The contact with the specified contact details has been archived. The contact "
            "must be un-archived before creating new invoices or credit notes."
        ] == messages(refused)

    def test_the_date_defaults_to_today(self, api: Api, contact_id: str) -> None:
        """A credit note sent without a Date is dated the organisation's today."""
        body = note(contact_id)
        del body["Date"]

        [created] = put_notes(api, body)

        assert "/Date(1767571200000+0000)/" == created["Date"]

    def test_xml_bodies_are_read(self, api: Api, contact_id: str) -> None:
        """A <CreditNotes><CreditNote> XML body creates the credit note, as for invoices."""
        xml = (
            "<CreditNotes><CreditNote><Type>ACCRECCREDIT</Type>"
            f"<Contact><ContactID>{contact_id}</ContactID></Contact>"
            "<Status>AUTHORISED</Status><LineItems><LineItem><Description>Refund</Description>"
            "<Quantity>2</Quantity><UnitAmount>5.00</UnitAmount><AccountCode>200</AccountCode>"
            "<TaxType>OUTPUT2</TaxType></LineItem></LineItems></CreditNote></CreditNotes>"
        )
        response = api.http.put(
            "https://api.xero.com/api.xro/2.0/CreditNotes",
            content=xml,
            headers=api.headers({"Content-Type": "application/xml"}),
        )

        assert (200, Decimal("11.50")) == (
            response.status_code,
            check(response)["CreditNotes"][0]["Total"],
        )


class TestRead:
    def test_where_by_number(self, api: Api, contact_id: str) -> None:
        """where=CreditNoteNumber=="X" finds that credit note."""
        put_notes(api, note(contact_id), note(contact_id))

        _, body = api.call("GET", "/CreditNotes", params={"where": 'CreditNoteNumber=="CN-0002"'})

        assert ["CN-0002"] == [c["CreditNoteNumber"] for c in body["CreditNotes"]]

    def test_where_by_type(self, api: Api, contact_id: str) -> None:
        """where=Type=="ACCRECCREDIT" leaves purchase credit notes out."""
        put_notes(
            api,
            note(contact_id, number="CN-0001"),
            note(contact_id, line(account="400", tax=None), kind="ACCPAYCREDIT", number="SUP-1"),
        )

        _, body = api.call("GET", "/CreditNotes", params={"where": 'Type=="ACCRECCREDIT"'})

        assert ["CN-0001"] == [c["CreditNoteNumber"] for c in body["CreditNotes"]]

    def test_by_id_and_by_number(self, api: Api, credit: dict[str, Any]) -> None:
        """GET /CreditNotes/{id} and /CreditNotes/{number} answer the same credit note."""
        by_id = get_note(api, credit["CreditNoteID"])
        by_number = get_note(api, "CN-0001")

        assert (credit["CreditNoteID"], by_id) == (by_number["CreditNoteID"], by_number)

    def test_unknown_is_a_404(self, api: Api) -> None:
        """An id or number the organisation does not have answers 404."""
        assert (404, 404) == (
            api.call("GET", f"/CreditNotes/{UNKNOWN}")[0],
            api.call("GET", "/CreditNotes/CN-9999")[0],
        )

    def test_if_modified_since(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """If-Modified-Since returns only the credit notes changed since, oldest first."""
        put_notes(api, note(contact_id))
        xero.clock.advance(10)
        put_notes(api, note(contact_id))

        _, body = api.call(
            "GET", "/CreditNotes", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}
        )

        assert ["CN-0002"] == [c["CreditNoteNumber"] for c in body["CreditNotes"]]

    def test_an_allocation_counts_as_a_change(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Allocating a credit note moves its UpdatedDateUTC, so If-Modified-Since sees it."""
        xero.clock.advance(10)
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "1.00")

        _, body = api.call(
            "GET", "/CreditNotes", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}
        )

        assert [Decimal("22.00")] == [c["RemainingCredit"] for c in body["CreditNotes"]]

    def test_paged_lists_carry_lines(self, api: Api, contact_id: str) -> None:
        """page= returns line items and pagination; an un-paged list leaves lines out."""
        put_notes(api, note(contact_id), note(contact_id), note(contact_id))

        _, paged = api.call("GET", "/CreditNotes", params={"page": "2", "pageSize": "2"})
        _, plain = api.call("GET", "/CreditNotes")

        expected = (
            ["CN-0003"],
            1,
            {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3},
            [False] * 3,
        )
        assert expected == (
            [c["CreditNoteNumber"] for c in paged["CreditNotes"]],
            len(paged["CreditNotes"][0]["LineItems"]),
            paged["pagination"],
            ["LineItems" in c for c in plain["CreditNotes"]],
        )

    def test_order(self, api: Api, contact_id: str) -> None:
        """order=CreditNoteNumber DESC sorts by number."""
        put_notes(api, note(contact_id, number="B"), note(contact_id, number="A"))

        _, body = api.call("GET", "/CreditNotes", params={"order": "CreditNoteNumber DESC"})

        assert ["B", "A"] == [c["CreditNoteNumber"] for c in body["CreditNotes"]]

    def test_unitdp(self, api: Api, contact_id: str) -> None:
        """unitdp=4 keeps four decimal places of a unit amount, on the write and the read."""
        put_notes(api, note(contact_id, line("1.2345")), params={"unitdp": "4"})

        four = get_note(api, "CN-0001", unitdp="4")
        two = get_note(api, "CN-0001")

        assert (Decimal("1.2345"), Decimal("1.23")) == (
            four["LineItems"][0]["UnitAmount"],
            two["LineItems"][0]["UnitAmount"],
        )

    def test_unknown_parameter_is_a_501(self, api: Api) -> None:
        """A parameter GET /CreditNotes does not read is a 501 naming it."""
        status, body = api.call("GET", "/CreditNotes", params={"searchTerm": "x"})

        assert (501, True) == (status, "'searchTerm'" in body["Message"])

    def test_other_sub_resources_are_not_implemented(
        self, api: Api, credit: dict[str, Any]
    ) -> None:
        """Sub-resources other than Allocations answer 501."""
        status, _ = api.call("GET", f"/CreditNotes/{credit['CreditNoteID']}/pdf")

        assert 501 == status


class TestUpdate:
    def test_approve_a_draft(self, api: Api, contact_id: str) -> None:
        """POST /CreditNotes/{id} with Status AUTHORISED approves a draft."""
        [draft] = put_notes(api, note(contact_id, status="DRAFT"))

        status, body = api.call(
            "POST", f"/CreditNotes/{draft['CreditNoteID']}", {"Status": "AUTHORISED"}
        )

        assert (200, "AUTHORISED") == (status, body["CreditNotes"][0]["Status"])

    def test_post_matches_by_number(self, api: Api, xero: FakeXero, credit: dict[str, Any]) -> None:
        """POST /CreditNotes updates the sales credit note with that number, not a new one."""
        status, body = api.call(
            "POST",
            "/CreditNotes",
            {"CreditNotes": [{"CreditNoteNumber": "CN-0001", "Reference": "Updated"}]},
        )

        assert (200, credit["CreditNoteID"], "Updated", 1) == (
            status,
            body["CreditNotes"][0]["CreditNoteID"],
            body["CreditNotes"][0]["Reference"],
            len(xero.credit_notes()),
        )

    def test_post_creates_when_nothing_matches(
        self, api: Api, xero: FakeXero, contact_id: str
    ) -> None:
        """POST /CreditNotes with a new number creates the credit note."""
        status, _ = api.call(
            "POST", "/CreditNotes", {"CreditNotes": [note(contact_id, number="N")]}
        )

        assert (200, ["N"]) == (status, [c["CreditNoteNumber"] for c in xero.credit_notes()])

    def test_post_with_an_unknown_id(self, api: Api) -> None:
        """POST /CreditNotes naming a CreditNoteID the organisation lacks is an element
        error with Xero's message."""
        _, body = api.call(
            "POST",
            "/CreditNotes",
            {"CreditNotes": [{"CreditNoteID": UNKNOWN, "Reference": "x"}]},
            params={"summarizeErrors": "false"},
        )

        assert ["An existing Credit Note with the specified CreditNoteID could not be found"] == (
            messages(body["CreditNotes"][0])
        )

    def test_edits_recompute_the_totals(self, api: Api, credit: dict[str, Any]) -> None:
        """New lines are priced by the same per-line rule."""
        status, body = api.call(
            "POST",
            f"/CreditNotes/{credit['CreditNoteID']}",
            {"LineItems": [line("10.10"), line("10.10")]},
        )

        assert (200, Decimal("3.04"), Decimal("23.24")) == (
            status,
            body["CreditNotes"][0]["TotalTax"],
            body["CreditNotes"][0]["Total"],
        )

    def test_void(self, api: Api, credit: dict[str, Any]) -> None:
        """Status VOIDED voids an AUTHORISED credit note; voiding again changes nothing."""
        path = f"/CreditNotes/{credit['CreditNoteID']}"
        api.call("POST", path, {"Status": "VOIDED"})
        before = get_note(api, credit["CreditNoteID"])["UpdatedDateUTC"]

        status, body = api.call("POST", path, {"Status": "VOIDED"})

        assert (200, "VOIDED", before) == (
            status,
            body["CreditNotes"][0]["Status"],
            body["CreditNotes"][0]["UpdatedDateUTC"],
        )

    def test_a_voided_credit_note_is_final(
        self, api: Api, xero: FakeXero, credit: dict[str, Any]
    ) -> None:
        """Nothing changes a voided credit note."""
        xero.void_credit_note(credit["CreditNoteID"])

        _, body = api.call(
            "POST",
            f"/CreditNotes/{credit['CreditNoteID']}",
            {"Reference": "late"},
            params={"summarizeErrors": "false"},
        )

        assert ["Credit note not of valid status for modification"] == (
            messages(body["CreditNotes"][0])
        )

    def test_a_draft_cannot_be_voided(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A draft is deleted, not voided, as an invoice is."""
        [draft] = put_notes(api, note(contact_id, status="DRAFT"))

        with pytest.raises(XeroValidationError) as raised:
            xero.void_credit_note(draft["CreditNoteID"])

        assert ["Credit note not of valid status for modification"] == _refusal(raised)

    def test_an_allocated_credit_note_cannot_be_edited(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Once allocated, a credit note takes no edit (Xero's words for invoices)."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "5.00")

        _, body = api.call(
            "POST",
            f"/CreditNotes/{credit['CreditNoteID']}",
            {"Reference": "changed"},
            params={"summarizeErrors": "false"},
        )

        assert [ALLOCATED] == messages(body["CreditNotes"][0])

    def test_an_allocated_credit_note_cannot_be_voided(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Once allocated, a credit note cannot be voided, over HTTP or by the helper."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "5.00")

        _, body = api.call(
            "POST",
            f"/CreditNotes/{credit['CreditNoteID']}",
            {"Status": "VOIDED"},
            params={"summarizeErrors": "false"},
        )
        with pytest.raises(XeroValidationError) as raised:
            xero.void_credit_note(credit["CreditNoteID"])

        assert ([ALLOCATED], [ALLOCATED], "AUTHORISED") == (
            messages(body["CreditNotes"][0]),
            _refusal(raised),
            xero.credit_note(credit["CreditNoteID"])["Status"],
        )

    def test_an_unchanged_resend_passes(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Resending an allocated credit note unchanged is a harmless no-op."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "5.00")

        status, body = api.call(
            "POST", f"/CreditNotes/{credit['CreditNoteID']}", {"Status": "AUTHORISED"}
        )

        assert (200, "OK") == (status, body["CreditNotes"][0]["StatusAttributeString"])


class TestAllocate:
    def test_the_answer_is_the_allocation(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """PUT /CreditNotes/{id}/Allocations answers the allocation with its invoice and
        credit note (an Allocations body, checked against the spec)."""
        [allocation] = allocate(api, credit["CreditNoteID"], created["InvoiceID"], "20.00")

        expected = {
            "Amount": Decimal("20.00"),
            "Date": "/Date(1768003200000+0000)/",
            "Invoice": {
                "Type": "ACCREC",
                "InvoiceID": created["InvoiceID"],
                "InvoiceNumber": "INV-0001",
            },
            "CreditNote": {
                "CreditNoteID": credit["CreditNoteID"],
                "CreditNoteNumber": "CN-0001",
                "Type": "ACCRECCREDIT",
            },
            "StatusAttributeString": "OK",
            "ValidationErrors": [],
            "Warnings": [],
        }
        assert expected == {k: v for k, v in allocation.items() if k != "AllocationID"}

    def test_it_credits_the_invoice(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """The invoice's AmountCredited grows and its AmountDue falls; AmountPaid stays."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "20.00")

        after = api.invoice(created["InvoiceID"])
        expected = (Decimal("20.00"), Decimal("0.00"), Decimal("95.00"), "AUTHORISED")
        assert expected == (
            after["AmountCredited"],
            after["AmountPaid"],
            after["AmountDue"],
            after["Status"],
        )

    def test_the_invoice_lists_the_credit_note(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """The invoice's CreditNotes entry is a CreditNote per the spec, with AppliedAmount
        what was applied to this invoice and the note's own Total and RemainingCredit."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "20.00")

        [entry] = api.invoice(created["InvoiceID"])["CreditNotes"]

        validate(entry, "CreditNote")
        expected = {
            "CreditNoteID": credit["CreditNoteID"],
            "CreditNoteNumber": "CN-0001",
            "Type": "ACCRECCREDIT",
            "Date": "/Date(1767657600000+0000)/",
            "Status": "AUTHORISED",
            "Total": Decimal("23.00"),
            "RemainingCredit": Decimal("3.00"),
            "AppliedAmount": Decimal("20.00"),
            "HasErrors": False,
        }
        assert expected == {k: v for k, v in entry.items() if k != "UpdatedDateUTC"}

    def test_two_partial_allocations(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Two allocations of one note to one invoice are one CreditNotes entry, their sum
        applied; the note lists both."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "10.00")
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "5.50")

        after = api.invoice(created["InvoiceID"])
        stored = get_note(api, credit["CreditNoteID"])
        expected = (
            [Decimal("15.50")],
            Decimal("15.50"),
            Decimal("99.50"),
            [Decimal("10.00"), Decimal("5.50")],
            Decimal("7.50"),
            "AUTHORISED",
        )
        assert expected == (
            [e["AppliedAmount"] for e in after["CreditNotes"]],
            after["AmountCredited"],
            after["AmountDue"],
            [a["Amount"] for a in stored["Allocations"]],
            stored["RemainingCredit"],
            stored["Status"],
        )

    def test_one_note_across_two_invoices(
        self, api: Api, contact_id: str, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """A note split over two invoices shows on each with what it applied there."""
        [second] = api.create(invoice(contact_id, "INV-0002", line("10.00")))

        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "12.00")
        allocate(api, credit["CreditNoteID"], second["InvoiceID"], "11.00")

        assert ([Decimal("12.00")], [Decimal("11.00")], "PAID") == (
            [e["AppliedAmount"] for e in api.invoice(created["InvoiceID"])["CreditNotes"]],
            [e["AppliedAmount"] for e in api.invoice(second["InvoiceID"])["CreditNotes"]],
            get_note(api, credit["CreditNoteID"])["Status"],
        )

    def test_crediting_what_is_due_pays_the_invoice(
        self, api: Api, contact_id: str, created: dict[str, Any]
    ) -> None:
        """Allocating the whole AmountDue makes the invoice PAID on the allocation's date; the
        note used up is PAID too, with no RemainingCredit."""
        [big] = put_notes(api, note(contact_id, line("100.00")))  # 115.00

        allocate(api, big["CreditNoteID"], created["InvoiceID"], "115.00", on="2026-01-09")

        after = api.invoice(created["InvoiceID"])
        stored = get_note(api, big["CreditNoteID"])
        expected = (
            "PAID",
            Decimal("0.00"),
            "/Date(1767916800000+0000)/",
            "PAID",
            Decimal("0.00"),
            "/Date(1767916800000+0000)/",
        )
        assert expected == (
            after["Status"],
            after["AmountDue"],
            after["FullyPaidOnDate"],
            stored["Status"],
            stored["RemainingCredit"],
            stored["FullyPaidOnDate"],
        )

    def test_the_date_defaults_to_today(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """An allocation sent without a Date is dated today."""
        [allocation] = allocate(api, credit["CreditNoteID"], created["InvoiceID"], "1.00", on=None)

        assert "/Date(1767571200000+0000)/" == allocation["Date"]

    def test_it_bumps_the_invoice_and_the_note(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """An allocation moves both UpdatedDateUTCs forward, the note's first."""
        xero.clock.advance(30)

        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "1.00")

        assert ("/Date(1767603630001)/", "/Date(1767603630000)/") == (
            xero.invoice(created["InvoiceID"])["UpdatedDateUTC"],
            xero.credit_note(credit["CreditNoteID"])["UpdatedDateUTC"],
        )

    def test_the_decoder_reads_the_invoice(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """The SDK's invoice decoder reads the CreditNotes entry as one credit-note
        allocation of what was applied, referenced by the note's number."""
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "10.00")
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "2.00")

        decoded = parse_invoice(api.invoice(created["InvoiceID"]))

        expected = Allocation(
            kind=AllocationKind.CREDIT_NOTE,
            id=credit["CreditNoteID"],
            amount=Decimal("12.00"),
            date=date(2026, 1, 6),
            reference="CN-0001",
        )
        assert (expected,) == decoded.credits

    def test_summarised_errors_are_a_400(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """Without summarizeErrors=false a refused allocation makes the answer a 400."""
        status, body = api.call(
            "PUT",
            f"/CreditNotes/{credit['CreditNoteID']}/Allocations",
            {"Invoice": {"InvoiceID": created["InvoiceID"]}, "Amount": "999"},
        )

        assert (400, "ValidationException") == (status, body["Type"])

    def test_unknown_credit_note_is_a_404(self, api: Api, created: dict[str, Any]) -> None:
        """Allocating from a credit note the organisation lacks answers 404."""
        status, _ = api.call(
            "PUT",
            f"/CreditNotes/{UNKNOWN}/Allocations",
            {"Allocations": [{"Invoice": {"InvoiceID": created["InvoiceID"]}, "Amount": "1"}]},
        )

        assert 404 == status


class TestAllocationRules:
    """Each refusal, with its message; a refused allocation changes nothing."""

    def _refused(self, api: Api, credit_note_id: str, invoice_id: str, amount: str) -> list[str]:
        [allocation] = allocate(api, credit_note_id, invoice_id, amount)
        assert "ERROR" == allocation["StatusAttributeString"]
        return messages(allocation)

    def test_a_draft_note(self, api: Api, contact_id: str, created: dict[str, Any]) -> None:
        """A draft credit note has no credit to allocate yet."""
        [draft] = put_notes(api, note(contact_id, status="DRAFT"))

        assert ["Credit note not of valid status for allocation"] == self._refused(
            api, draft["CreditNoteID"], created["InvoiceID"], "1.00"
        )

    def test_a_used_up_note(self, api: Api, contact_id: str, created: dict[str, Any]) -> None:
        """A PAID (fully allocated) credit note takes no more allocations."""
        [small] = put_notes(api, note(contact_id, line("10.00", tax=None)))  # 10.00, no tax
        allocate(api, small["CreditNoteID"], created["InvoiceID"], "10.00")

        assert ["Credit note not of valid status for allocation"] == self._refused(
            api, small["CreditNoteID"], created["InvoiceID"], "1.00"
        )

    def test_an_unknown_invoice(self, api: Api, credit: dict[str, Any]) -> None:
        """The invoice must exist."""
        assert [f"The invoice '{UNKNOWN}' could not be found."] == self._refused(
            api, credit["CreditNoteID"], UNKNOWN, "1.00"
        )

    def test_no_invoice(self, api: Api, credit: dict[str, Any]) -> None:
        """An allocation names its invoice."""
        # The echo has no Invoice, which the spec's Allocation requires: not spec-valid.
        _, body = Api(api.xero, checked=False).call(
            "PUT",
            f"/CreditNotes/{credit['CreditNoteID']}/Allocations",
            {"Allocations": [{"Amount": Decimal("1.00")}]},
            params={"summarizeErrors": "false"},
        )

        assert ["The allocation must reference an invoice by InvoiceID."] == (
            messages(body["Allocations"][0])
        )

    def test_a_bill(self, api: Api, contact_id: str, credit: dict[str, Any]) -> None:
        """A sales credit note cannot credit a bill (ACCPAY)."""
        [bill] = api.create(
            invoice(contact_id, "BILL-1", line("10.00", account="400", tax=None), Type="ACCPAY")
        )

        assert ["A sales credit note can only be allocated to a sales invoice (ACCREC)."] == (
            self._refused(api, credit["CreditNoteID"], bill["InvoiceID"], "1.00")
        )

    def test_a_purchase_note_to_a_sales_invoice(
        self, api: Api, contact_id: str, created: dict[str, Any]
    ) -> None:
        """A purchase credit note credits bills only."""
        [purchase] = put_notes(
            api, note(contact_id, line("10.00", account="400", tax=None), kind="ACCPAYCREDIT")
        )

        assert ["A purchase credit note can only be allocated to a bill (ACCPAY)."] == (
            self._refused(api, purchase["CreditNoteID"], created["InvoiceID"], "1.00")
        )

    @pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED"])
    def test_an_unapproved_invoice(
        self, api: Api, contact_id: str, credit: dict[str, Any], status: str
    ) -> None:
        """Only AUTHORISED invoices take credit."""
        [unapproved] = api.create(invoice(contact_id, "INV-0002", status=status))

        assert ["Invoice not of valid status for allocation"] == self._refused(
            api, credit["CreditNoteID"], unapproved["InvoiceID"], "1.00"
        )

    def test_a_voided_invoice(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """A voided invoice takes no credit."""
        xero.void(created["InvoiceID"])

        assert ["Invoice not of valid status for allocation"] == self._refused(
            api, credit["CreditNoteID"], created["InvoiceID"], "1.00"
        )

    def test_a_paid_invoice(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """A PAID invoice takes no credit."""
        xero.pay(created["InvoiceID"], Decimal("115.00"))

        assert ["Invoice not of valid status for allocation"] == self._refused(
            api, credit["CreditNoteID"], created["InvoiceID"], "1.00"
        )

    def test_another_contacts_invoice(
        self, api: Api, xero: FakeXero, credit: dict[str, Any]
    ) -> None:
        """A contact's credit note cannot settle another contact's invoice."""
        other = xero.add_contact(name="Other Ltd")
        [theirs] = api.create(invoice(other, "INV-0009"))

        assert ["The invoice and the credit note must be for the same contact."] == (
            self._refused(api, credit["CreditNoteID"], theirs["InvoiceID"], "1.00")
        )

    def test_another_currency(
        self, api: Api, xero: FakeXero, contact_id: str, credit: dict[str, Any]
    ) -> None:
        """An NZD credit note cannot settle a USD invoice."""
        xero.add_currency("USD")
        [usd] = api.create(invoice(contact_id, "INV-0002", CurrencyCode="USD"))

        assert ["The invoice and the credit note must be in the same currency."] == (
            self._refused(api, credit["CreditNoteID"], usd["InvoiceID"], "1.00")
        )

    @pytest.mark.parametrize("amount", ["0", "-1.00", "0.004"])
    def test_nothing(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any], amount: str
    ) -> None:
        """An allocation of nothing (after rounding to cents) or less is refused."""
        assert ["The allocation Amount must be greater than zero."] == self._refused(
            api, credit["CreditNoteID"], created["InvoiceID"], amount
        )

    def test_more_than_is_due(self, api: Api, contact_id: str, created: dict[str, Any]) -> None:
        """At most the invoice's AmountDue can be credited."""
        [big] = put_notes(api, note(contact_id, line("200.00")))  # 230.00

        assert ["The allocation Amount exceeds the amount outstanding on the invoice."] == (
            self._refused(api, big["CreditNoteID"], created["InvoiceID"], "115.01")
        )

    def test_more_than_the_note_has(
        self, api: Api, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """At most the note's RemainingCredit can be allocated; nothing changes."""
        refused = self._refused(api, credit["CreditNoteID"], created["InvoiceID"], "23.01")

        after = api.invoice(created["InvoiceID"])
        assert (
            ["The allocation Amount exceeds the remaining credit on the credit note."],
            Decimal("0.00"),
            [],
            Decimal("23.00"),
        ) == (
            refused,
            after["AmountCredited"],
            after["CreditNotes"],
            get_note(api, credit["CreditNoteID"])["RemainingCredit"],
        )

    def test_both_limits_at_once(self, api: Api, contact_id: str, credit: dict[str, Any]) -> None:
        """Above both the AmountDue and the RemainingCredit, both are said."""
        [small] = api.create(invoice(contact_id, "INV-0002", line("10.00", tax=None)))

        assert [
            "The allocation Amount exceeds the amount outstanding on the invoice.",
            "The allocation Amount exceeds the remaining credit on the credit note.",
        ] == self._refused(api, credit["CreditNoteID"], small["InvoiceID"], "30.00")


class TestDeleteAllocation:
    def test_delete_answers_the_allocation(
        self, api: Api, contact_id: str, created: dict[str, Any]
    ) -> None:
        """DELETE .../Allocations/{AllocationID} answers the Allocation flagged deleted
        (checked against the spec); the invoice is due again and the note has its credit."""
        [big] = put_notes(api, note(contact_id, line("100.00")))
        [allocation] = allocate(api, big["CreditNoteID"], created["InvoiceID"], "115.00")

        status, body = api.call(
            "DELETE", f"/CreditNotes/{big['CreditNoteID']}/Allocations/{allocation['AllocationID']}"
        )

        after = api.invoice(created["InvoiceID"])
        stored = get_note(api, big["CreditNoteID"])
        expected = (
            (200, allocation["AllocationID"], True),
            ("AUTHORISED", Decimal("0.00"), Decimal("115.00"), False, []),
            ("AUTHORISED", Decimal("115.00"), [], False),
        )
        assert expected == (
            (status, body["AllocationID"], body["IsDeleted"]),
            (
                after["Status"],
                after["AmountCredited"],
                after["AmountDue"],
                "FullyPaidOnDate" in after,
                after["CreditNotes"],
            ),
            (
                stored["Status"],
                stored["RemainingCredit"],
                stored["Allocations"],
                "FullyPaidOnDate" in stored,
            ),
        )

    def test_one_of_two(self, api: Api, created: dict[str, Any], credit: dict[str, Any]) -> None:
        """Taking back one of two allocations leaves the other applied."""
        [first] = allocate(api, credit["CreditNoteID"], created["InvoiceID"], "10.00")
        allocate(api, credit["CreditNoteID"], created["InvoiceID"], "3.00")

        api.call(
            "DELETE", f"/CreditNotes/{credit['CreditNoteID']}/Allocations/{first['AllocationID']}"
        )

        assert ([Decimal("3.00")], Decimal("20.00")) == (
            [e["AppliedAmount"] for e in api.invoice(created["InvoiceID"])["CreditNotes"]],
            get_note(api, credit["CreditNoteID"])["RemainingCredit"],
        )

    def test_then_the_note_can_be_voided(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """With its allocations taken back (by the helper here) a note can be voided again."""
        [allocation] = allocate(api, credit["CreditNoteID"], created["InvoiceID"], "1.00")
        xero.delete_credit_note_allocation(credit["CreditNoteID"], allocation["AllocationID"])

        xero.void_credit_note(credit["CreditNoteID"])

        assert "VOIDED" == xero.credit_note(credit["CreditNoteID"])["Status"]

    def test_unknown_allocation_is_a_404(self, api: Api, credit: dict[str, Any]) -> None:
        """An allocation the note does not have answers 404 (the helper raises NotFound)."""
        status, _ = api.call(
            "DELETE", f"/CreditNotes/{credit['CreditNoteID']}/Allocations/{UNKNOWN}"
        )

        assert 404 == status
        with pytest.raises(NotFound):
            api.xero.delete_credit_note_allocation(credit["CreditNoteID"], UNKNOWN)

    def test_another_notes_allocation_is_a_404(
        self, api: Api, contact_id: str, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """An allocation is taken back only through the credit note it belongs to."""
        [allocation] = allocate(api, credit["CreditNoteID"], created["InvoiceID"], "1.00")
        [other] = put_notes(api, note(contact_id))

        status, _ = api.call(
            "DELETE",
            f"/CreditNotes/{other['CreditNoteID']}/Allocations/{allocation['AllocationID']}",
        )

        assert 404 == status

    def test_a_prepayments_allocation_is_not_a_credit_notes(
        self, api: Api, xero: FakeXero, contact_id: str, created: dict[str, Any]
    ) -> None:
        """A credit note's allocation can't be taken back through /Prepayments."""
        [big] = put_notes(api, note(contact_id))
        [allocation] = allocate(api, big["CreditNoteID"], created["InvoiceID"], "1.00")
        prepayment_id = xero.prepay(contact_id, Decimal("5.00"))

        status, _ = api.call(
            "DELETE", f"/Prepayments/{prepayment_id}/Allocations/{allocation['AllocationID']}"
        )

        assert (404, Decimal("1.00")) == (
            status,
            api.invoice(created["InvoiceID"])["AmountCredited"],
        )


class TestGeneric:
    """Idempotency, faults and answer hooks reach the credit note endpoints."""

    def test_idempotent_create(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """PUT /CreditNotes twice with one Idempotency-Key creates one credit note and
        replays the first answer."""
        body = {"CreditNotes": [note(contact_id)]}
        first = api.send("PUT", "/CreditNotes", body, headers={"Idempotency-Key": "cn-1"})

        again = api.send("PUT", "/CreditNotes", body, headers={"Idempotency-Key": "cn-1"})

        assert (200, first.content, 1, [False, True]) == (
            again.status_code,
            again.content,
            len(xero.credit_notes()),
            [r.replayed for r in xero.requests if r.path == "/CreditNotes"],
        )

    def test_idempotent_allocation(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """An allocation retried with its Idempotency-Key is applied once."""
        path = f"/CreditNotes/{credit['CreditNoteID']}/Allocations"
        body = {"Allocations": [{"Amount": "5.00", "Invoice": {"InvoiceID": created["InvoiceID"]}}]}
        api.send("PUT", path, body, headers={"Idempotency-Key": "a-1"})

        api.send("PUT", path, body, headers={"Idempotency-Key": "a-1"})

        assert Decimal("5.00") == xero.invoice(created["InvoiceID"])["AmountCredited"]

    def test_a_fault_after_commit(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """An injected timeout after commit on PUT /CreditNotes loses the answer, not the
        credit note."""
        xero.inject("timeout_after_commit", method="PUT", path="/CreditNotes")

        with pytest.raises(httpx.ReadTimeout):
            api.send("PUT", "/CreditNotes", {"CreditNotes": [note(contact_id)]})

        assert ["CN-0001"] == [c["CreditNoteNumber"] for c in xero.credit_notes()]

    def test_a_fault_before_commit_on_allocations(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """A fault aimed at /CreditNotes reaches its allocations too, and changes nothing."""
        xero.inject("http_500", path="/CreditNotes")

        status, _ = api.call(
            "PUT",
            f"/CreditNotes/{credit['CreditNoteID']}/Allocations",
            {"Allocations": [{"Amount": "1.00", "Invoice": {"InvoiceID": created["InvoiceID"]}}]},
        )

        assert (500, Decimal("0.00")) == (
            status,
            xero.invoice(created["InvoiceID"])["AmountCredited"],
        )

    def test_answer_hooks(self, api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
        """on_answer(path="/CreditNotes") runs after a credit note read is answered."""
        xero.on_answer(lambda: xero.add_credit_note(created["InvoiceID"], 5), path="/CreditNotes")

        _, first = api.call("GET", "/CreditNotes")
        _, second = api.call("GET", "/CreditNotes")

        assert ([], ["CN-0001"]) == (
            first["CreditNotes"],
            [c["CreditNoteNumber"] for c in second["CreditNotes"]],
        )


class TestHelpers:
    def test_add_credit_note_makes_a_real_credit_note(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """add_credit_note() stores a PAID sales credit note of one untaxed line at the
        invoice's account, allocated in full to the invoice."""
        credit_note_id = xero.add_credit_note(
            created["InvoiceID"], Decimal("15.00"), on=date(2026, 1, 9)
        )

        [stored] = xero.credit_notes()
        [allocation] = stored["Allocations"]
        [only] = stored["LineItems"]
        expected = (
            credit_note_id,
            "CN-0001",
            "ACCRECCREDIT",
            "PAID",
            "NoTax",
            (Decimal("15.00"), Decimal("0.00"), Decimal("15.00"), Decimal("0.00")),
            ("200", "NONE", Decimal("15.00"), Decimal("0.00")),
            (Decimal("15.00"), "/Date(1767916800000+0000)/", created["InvoiceID"]),
            "/Date(1767916800000+0000)/",
        )
        assert expected == (
            stored["CreditNoteID"],
            stored["CreditNoteNumber"],
            stored["Type"],
            stored["Status"],
            stored["LineAmountTypes"],
            (stored["SubTotal"], stored["TotalTax"], stored["Total"], stored["RemainingCredit"]),
            (only["AccountCode"], only["TaxType"], only["LineAmount"], only["TaxAmount"]),
            (allocation["Amount"], allocation["Date"], allocation["Invoice"]["InvoiceID"]),
            stored["FullyPaidOnDate"],
        )

    def test_add_credit_note_credits_the_invoice(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """The invoice's AmountCredited grows by the amount; crediting the rest pays it."""
        xero.add_credit_note(created["InvoiceID"], Decimal("15.00"))
        xero.add_credit_note(created["InvoiceID"], Decimal("100.00"))

        after = xero.invoice(created["InvoiceID"])
        assert (Decimal("115.00"), "PAID", ["CN-0001", "CN-0002"]) == (
            after["AmountCredited"],
            after["Status"],
            [e["CreditNoteNumber"] for e in after["CreditNotes"]],
        )

    def test_numbers_are_shared_with_the_api(
        self, api: Api, xero: FakeXero, created: dict[str, Any], credit: dict[str, Any]
    ) -> None:
        """add_credit_note() numbers after the credit notes made through the API."""
        credit_note_id = xero.add_credit_note(created["InvoiceID"], Decimal("1.00"))

        assert ("CN-0002", credit_note_id) == (
            xero.credit_note(credit_note_id)["CreditNoteNumber"],
            xero.credit_note("CN-0002")["CreditNoteID"],
        )

    def test_add_credit_note_refusals_are_unchanged(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """add_credit_note() above the AmountDue is refused, and stores no credit note."""
        with pytest.raises(XeroValidationError) as raised:
            xero.add_credit_note(created["InvoiceID"], Decimal("115.01"))

        assert (["The credit note Amount exceeds the amount outstanding on the invoice."], []) == (
            _refusal(raised),
            xero.credit_notes(),
        )

    def test_the_helpers_note_cannot_be_voided(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """The credit note add_credit_note() made is allocated, so it can't be voided until
        its allocation is taken back; then the invoice is due again."""
        credit_note_id = xero.add_credit_note(created["InvoiceID"], Decimal("15.00"))
        [allocation] = xero.credit_note(credit_note_id)["Allocations"]

        with pytest.raises(XeroValidationError) as raised:
            xero.void_credit_note(credit_note_id)
        xero.delete_credit_note_allocation(credit_note_id, allocation["AllocationID"])
        xero.void_credit_note(credit_note_id)

        assert ([ALLOCATED], "VOIDED", Decimal("115.00")) == (
            _refusal(raised),
            xero.credit_note(credit_note_id)["Status"],
            xero.invoice(created["InvoiceID"])["AmountDue"],
        )

    def test_unknown_credit_note(self, xero: FakeXero) -> None:
        """credit_note() and void_credit_note() of an unknown credit note raise NotFound."""
        with pytest.raises(NotFound):
            xero.credit_note("CN-0404")
        with pytest.raises(NotFound):
            xero.void_credit_note(UNKNOWN)

    def test_every_credit_note_validates(
        self, api: Api, xero: FakeXero, contact_id: str, created: dict[str, Any]
    ) -> None:
        """credit_notes() gives valid CreditNote bodies, whatever their state."""
        put_notes(
            api,
            note(contact_id, status="DRAFT", DueDate="2026-02-01"),
            note(contact_id, line(account="400", tax=None), kind="ACCPAYCREDIT"),
        )
        xero.add_credit_note(created["InvoiceID"], Decimal("15.00"))

        for stored in xero.credit_notes():
            validate(stored, "CreditNote")
        validate({"CreditNotes": xero.credit_notes()}, "CreditNotes")
        assert ["DRAFT", "AUTHORISED", "PAID"] == [c["Status"] for c in xero.credit_notes()]
