"""Prepayments and overpayments: prepay(), overpay(), allocate(), their endpoints and invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import ConfigurationError, NotFound, XeroValidationError
from bms_xero.testing import FakeXero
from tests.spec import validate
from tests.testing.helpers import Api, invoice, line, messages

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _refusal(raised: pytest.ExceptionInfo[XeroValidationError]) -> list[str]:
    return [m.message for m in raised.value.messages]


@pytest.fixture(name="created")
def _created(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0001", line("100.00")))  # 115.00 with GST
    return created


@pytest.fixture(name="prepayment_id")
def _prepayment_id(xero: FakeXero, contact_id: str) -> str:
    return xero.prepay(contact_id, Decimal("200.00"), on=date(2026, 1, 3), reference="PRE-1")


class TestPrepay:
    def test_a_prepayment_is_all_credit(self, xero: FakeXero, prepayment_id: str) -> None:
        """A new prepayment is an AUTHORISED RECEIVE-PREPAYMENT whose RemainingCredit is all
        of it."""
        [stored] = xero.prepayments()

        assert (prepayment_id, "RECEIVE-PREPAYMENT", "AUTHORISED", Decimal("200.00")) == (
            stored["PrepaymentID"],
            stored["Type"],
            stored["Status"],
            stored["RemainingCredit"],
        )

    def test_its_reference_is_its_invoice_number(self, xero: FakeXero, prepayment_id: str) -> None:
        """A prepayment's Reference is also its InvoiceNumber, as the spec says."""
        [stored] = xero.prepayments()

        assert ("PRE-1", "PRE-1") == (stored["Reference"], stored["InvoiceNumber"])

    def test_an_overpayment_is_a_receive_overpayment(self, xero: FakeXero, contact_id: str) -> None:
        """overpay() makes an AUTHORISED RECEIVE-OVERPAYMENT, listed apart from prepayments."""
        overpayment_id = xero.overpay(contact_id, Decimal("15.00"))

        [stored] = xero.overpayments()
        expected = (overpayment_id, "RECEIVE-OVERPAYMENT", Decimal("15.00"), [])
        assert expected == (
            stored["OverpaymentID"],
            stored["Type"],
            stored["RemainingCredit"],
            xero.prepayments(),
        )

    def test_unknown_contact(self, xero: FakeXero) -> None:
        """prepay() for a contact the organisation does not have raises NotFound."""
        with pytest.raises(NotFound):
            xero.prepay(UNKNOWN, Decimal("1.00"))

    def test_amount_must_be_positive(self, xero: FakeXero, contact_id: str) -> None:
        """A prepayment of nothing is refused."""
        with pytest.raises(XeroValidationError) as raised:
            xero.prepay(contact_id, Decimal("0.00"))

        assert ["The Prepayment amount must be greater than zero."] == _refusal(raised)

    def test_floats_are_refused(self, xero: FakeXero, contact_id: str) -> None:
        """overpay() refuses a float amount before touching anything."""
        with pytest.raises(ConfigurationError, match="floats lose cents"):
            xero.overpay(contact_id, 1.5)  # type: ignore[arg-type]


class TestAllocate:
    def test_allocation_credits_the_invoice(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """An allocation raises the invoice's AmountCredited, not its AmountPaid."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("40.00"))

        after = xero.invoice(created["InvoiceID"])
        expected = (Decimal("40.00"), Decimal("0.00"), Decimal("75.00"), "AUTHORISED", [])
        assert expected == (
            after["AmountCredited"],
            after["AmountPaid"],
            after["AmountDue"],
            after["Status"],
            after["Payments"],
        )

    def test_the_invoice_lists_the_prepayment(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """The invoice's Prepayments entry names the prepayment and what it applied here."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("40.00"))

        [entry] = xero.invoice(created["InvoiceID"])["Prepayments"]
        expected = {
            "PrepaymentID": prepayment_id,
            "Type": "RECEIVE-PREPAYMENT",
            "Date": "/Date(1767398400000+0000)/",
            "Status": "AUTHORISED",
            "Total": Decimal("200.00"),
            "RemainingCredit": Decimal("160.00"),
            "AppliedAmount": Decimal("40.00"),
            "Reference": "PRE-1",
        }
        assert expected == {k: v for k, v in entry.items() if k != "UpdatedDateUTC"}

    def test_two_allocations_from_one_credit_are_one_entry(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Two allocations of one prepayment to one invoice show as one entry, their sum
        applied."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("10.00"))
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("5.00"))

        entries = xero.invoice(created["InvoiceID"])["Prepayments"]
        assert [Decimal("15.00")] == [e["AppliedAmount"] for e in entries]

    def test_overpayments_show_under_overpayments(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """An allocated overpayment shows under the invoice's Overpayments only."""
        overpayment_id = xero.overpay(contact_id, Decimal("20.00"))

        xero.allocate(overpayment_id, created["InvoiceID"], Decimal("20.00"))

        after = xero.invoice(created["InvoiceID"])
        assert ([], [overpayment_id], Decimal("20.00")) == (
            after["Prepayments"],
            [e["OverpaymentID"] for e in after["Overpayments"]],
            after["AmountCredited"],
        )

    def test_allocating_what_is_due_pays_the_invoice(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Allocating the whole AmountDue makes the invoice PAID on the allocation's date."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("115.00"), on=date(2026, 1, 9))

        after = xero.invoice(created["InvoiceID"])
        expected = ("PAID", Decimal("0.00"), "/Date(1767916800000+0000)/")
        assert expected == (after["Status"], after["AmountDue"], after["FullyPaidOnDate"])

    def test_using_all_the_credit_makes_it_paid(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """A prepayment allocated in full is PAID, with no RemainingCredit."""
        prepayment_id = xero.prepay(contact_id, Decimal("30.00"))

        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("30.00"))

        [stored] = xero.prepayments()
        assert ("PAID", Decimal("0.00")) == (stored["Status"], stored["RemainingCredit"])

    def test_the_credit_lists_its_allocations(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """The prepayment's Allocations say how much went to which invoice, and when."""
        allocation_id = xero.allocate(
            prepayment_id, created["InvoiceID"], Decimal("40.00"), on=date(2026, 1, 9)
        )

        [allocation] = xero.prepayments()[0]["Allocations"]
        expected = {
            "AllocationID": allocation_id,
            "Amount": Decimal("40.00"),
            "Date": "/Date(1767916800000+0000)/",
            "Invoice": {
                "Type": "ACCREC",
                "InvoiceID": created["InvoiceID"],
                "InvoiceNumber": "INV-0001",
            },
        }
        assert expected == allocation

    def test_allocation_bumps_the_invoice_and_the_credit(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """An allocation moves both the invoice's and the credit's UpdatedDateUTC forward."""
        xero.clock.advance(30)

        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))

        assert ("/Date(1767603630001)/", "/Date(1767603630000)/") == (
            xero.invoice(created["InvoiceID"])["UpdatedDateUTC"],
            xero.prepayments()[0]["UpdatedDateUTC"],
        )

    def test_more_than_is_due_is_refused(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """An allocation above the invoice's AmountDue is refused and changes nothing."""
        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, created["InvoiceID"], Decimal("115.01"))

        expected = (
            ["The allocation Amount exceeds the amount outstanding on the invoice."],
            Decimal("0.00"),
            Decimal("200.00"),
        )
        assert expected == (
            _refusal(raised),
            xero.invoice(created["InvoiceID"])["AmountCredited"],
            xero.prepayments()[0]["RemainingCredit"],
        )

    def test_more_than_the_credit_is_refused(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """An allocation above the credit's RemainingCredit is refused."""
        prepayment_id = xero.prepay(contact_id, Decimal("10.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, created["InvoiceID"], Decimal("10.01"))

        assert ["The allocation Amount exceeds the remaining credit on the prepayment."] == (
            _refusal(raised)
        )

    def test_nothing_is_refused(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """An allocation of zero is refused."""
        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, created["InvoiceID"], Decimal("0"))

        assert ["The allocation Amount must be greater than zero."] == _refusal(raised)

    def test_another_contacts_invoice_is_refused(
        self, xero: FakeXero, api: Api, prepayment_id: str
    ) -> None:
        """A contact's prepayment cannot settle another contact's invoice."""
        other = xero.add_contact(name="Other Ltd")
        [theirs] = api.create(invoice(other, "INV-0009"))

        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, theirs["InvoiceID"], Decimal("1.00"))

        assert ["The invoice and the prepayment must be for the same contact."] == (
            _refusal(raised)
        )

    def test_drafts_are_refused(self, xero: FakeXero, api: Api, contact_id: str) -> None:
        """Only AUTHORISED invoices take allocations."""
        [draft] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))
        prepayment_id = xero.prepay(contact_id, Decimal("5.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, draft["InvoiceID"], Decimal("1.00"))

        assert ["Invoice not of valid status for allocation"] == _refusal(raised)

    def test_bills_are_refused(self, xero: FakeXero, api: Api, contact_id: str) -> None:
        """A receive prepayment cannot settle a bill (ACCPAY)."""
        [bill] = api.create(
            invoice(contact_id, "BILL-1", line("10.00", account="400", tax=None), Type="ACCPAY")
        )
        prepayment_id = xero.prepay(contact_id, Decimal("5.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, bill["InvoiceID"], Decimal("1.00"))

        assert ["A receive prepayment can only be allocated to a sales invoice (ACCREC)."] == (
            _refusal(raised)
        )

    def test_a_used_up_credit_is_refused(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """A PAID (fully allocated) prepayment takes no more allocations."""
        prepayment_id = xero.prepay(contact_id, Decimal("5.00"))
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("5.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))

        assert ["Prepayment not of valid status for allocation"] == _refusal(raised)

    def test_unknown_credit(self, xero: FakeXero, created: dict[str, Any]) -> None:
        """allocate() of a credit the organisation does not have raises NotFound."""
        with pytest.raises(NotFound):
            xero.allocate(UNKNOWN, created["InvoiceID"], Decimal("1.00"))

    def test_an_allocated_invoice_cannot_be_voided(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """A prepayment allocation blocks voiding, as payments and credit notes do."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.void(created["InvoiceID"])

        assert [
            "This document cannot be edited as it has a payment or credit note allocated to it."
        ] == _refusal(raised)


class TestDeleteAllocation:
    def test_it_reopens_a_paid_invoice(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Taking back an allocation makes a PAID invoice AUTHORISED again, without
        FullyPaidOnDate."""
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("115.00"))

        xero.delete_allocation(prepayment_id, allocation_id)

        after = xero.invoice(created["InvoiceID"])
        expected = ("AUTHORISED", Decimal("0.00"), Decimal("115.00"), False, [])
        assert expected == (
            after["Status"],
            after["AmountCredited"],
            after["AmountDue"],
            "FullyPaidOnDate" in after,
            after["Prepayments"],
        )

    def test_it_restores_the_credit(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """Taking back an allocation gives the credit its amount back; a PAID one is AUTHORISED
        again."""
        prepayment_id = xero.prepay(contact_id, Decimal("5.00"))
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("5.00"))

        xero.delete_allocation(prepayment_id, allocation_id)

        [stored] = xero.prepayments()
        assert ("AUTHORISED", Decimal("5.00"), []) == (
            stored["Status"],
            stored["RemainingCredit"],
            stored["Allocations"],
        )

    def test_it_bumps_both(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Taking back an allocation moves the invoice's and the credit's UpdatedDateUTC."""
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))
        xero.clock.advance(30)

        xero.delete_allocation(prepayment_id, allocation_id)

        assert ("/Date(1767603630001)/", "/Date(1767603630000)/") == (
            xero.invoice(created["InvoiceID"])["UpdatedDateUTC"],
            xero.prepayments()[0]["UpdatedDateUTC"],
        )

    def test_then_the_invoice_can_be_voided(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Once its only allocation is taken back, an invoice can be voided again."""
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))
        xero.delete_allocation(prepayment_id, allocation_id)

        xero.void(created["InvoiceID"])

        assert "VOIDED" == xero.invoice(created["InvoiceID"])["Status"]

    def test_twice_is_not_found(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """An allocation taken back is gone: taking it back again raises NotFound."""
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))
        xero.delete_allocation(prepayment_id, allocation_id)

        with pytest.raises(NotFound):
            xero.delete_allocation(prepayment_id, allocation_id)

    def test_another_credits_allocation_is_not_found(
        self, xero: FakeXero, created: dict[str, Any], prepayment_id: str, contact_id: str
    ) -> None:
        """An allocation is taken back only through the credit it belongs to."""
        allocation_id = xero.allocate(prepayment_id, created["InvoiceID"], Decimal("1.00"))
        other = xero.overpay(contact_id, Decimal("1.00"))

        with pytest.raises(NotFound):
            xero.delete_allocation(other, allocation_id)


class TestEndpoints:
    def test_list_prepayments(
        self, api: Api, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """GET /Prepayments lists prepayments with their allocations (checked against the
        spec)."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("40.00"))

        status, body = api.call("GET", "/Prepayments")

        assert (200, [prepayment_id], [Decimal("40.00")]) == (
            status,
            [p["PrepaymentID"] for p in body["Prepayments"]],
            [a["Amount"] for a in body["Prepayments"][0]["Allocations"]],
        )

    def test_get_one_overpayment(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """GET /Overpayments/{id} returns that overpayment."""
        overpayment_id = xero.overpay(contact_id, Decimal("12.00"), reference="Too much")

        status, body = api.call("GET", f"/Overpayments/{overpayment_id}")

        assert (200, "Too much", Decimal("12.00")) == (
            status,
            body["Overpayments"][0]["Reference"],
            body["Overpayments"][0]["Total"],
        )

    def test_unknown_credit_is_a_404(self, api: Api) -> None:
        """GET /Prepayments/{id} for an id the organisation does not have answers 404."""
        status, _ = api.call("GET", f"/Prepayments/{UNKNOWN}")

        assert 404 == status

    def test_prepayments_are_not_overpayments(self, api: Api, prepayment_id: str) -> None:
        """A PrepaymentID is not found under /Overpayments."""
        status, _ = api.call("GET", f"/Overpayments/{prepayment_id}")

        assert 404 == status

    def test_if_modified_since(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """GET /Overpayments with If-Modified-Since returns only those changed since."""
        xero.overpay(contact_id, Decimal("1.00"), reference="early")
        xero.clock.advance(10)
        xero.overpay(contact_id, Decimal("2.00"), reference="late")

        _, body = api.call(
            "GET", "/Overpayments", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}
        )

        assert ["late"] == [o["Reference"] for o in body["Overpayments"]]

    def test_paging(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """GET /Prepayments pages as /Payments does."""
        for n in range(3):
            xero.prepay(contact_id, Decimal("1.00"), reference=f"P-{n}")

        _, body = api.call("GET", "/Prepayments", params={"page": "2", "pageSize": "2"})

        expected = (["P-2"], {"page": 2, "pageSize": 2, "pageCount": 2, "itemCount": 3})
        assert expected == ([p["Reference"] for p in body["Prepayments"]], body["pagination"])

    def test_put_allocation(
        self, api: Api, xero: FakeXero, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """PUT /Prepayments/{id}/Allocations allocates, answering Allocations (spec-checked)."""
        status, body = api.call(
            "PUT",
            f"/Prepayments/{prepayment_id}/Allocations",
            {
                "Allocations": [
                    {
                        "Invoice": {"InvoiceID": created["InvoiceID"]},
                        "Amount": Decimal("15.00"),
                        "Date": "2026-01-10",
                    }
                ]
            },
        )

        [allocation] = body["Allocations"]
        expected = (200, Decimal("15.00"), prepayment_id, Decimal("15.00"))
        assert expected == (
            status,
            allocation["Amount"],
            allocation["Prepayment"]["PrepaymentID"],
            xero.invoice(created["InvoiceID"])["AmountCredited"],
        )

    def test_put_allocation_errors(
        self, api: Api, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """With summarizeErrors=false a refused allocation comes back with its messages."""
        status, body = api.call(
            "PUT",
            f"/Prepayments/{prepayment_id}/Allocations",
            {"Allocations": [{"Invoice": {"InvoiceID": created["InvoiceID"]}, "Amount": 150}]},
            params={"summarizeErrors": "false"},
        )

        [allocation] = body["Allocations"]
        assert (
            200,
            "ERROR",
            ["The allocation Amount exceeds the amount outstanding on the invoice."],
        ) == (status, allocation["StatusAttributeString"], messages(allocation))

    def test_summarised_allocation_errors_are_a_400(
        self, api: Api, created: dict[str, Any], prepayment_id: str
    ) -> None:
        """Without summarizeErrors=false a refused allocation makes the answer a 400."""
        status, body = api.call(
            "PUT",
            f"/Prepayments/{prepayment_id}/Allocations",
            {"Invoice": {"InvoiceID": created["InvoiceID"]}, "Amount": 999},
        )

        assert (400, "ValidationException") == (status, body["Type"])

    def test_delete_allocation(
        self, api: Api, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """DELETE /Overpayments/{id}/Allocations/{AllocationID} answers the Allocation flagged
        deleted, and the invoice is due again."""
        overpayment_id = xero.overpay(contact_id, Decimal("115.00"))
        allocation_id = xero.allocate(overpayment_id, created["InvoiceID"], Decimal("115.00"))

        status, body = api.call(
            "DELETE", f"/Overpayments/{overpayment_id}/Allocations/{allocation_id}"
        )

        assert (200, allocation_id, True, "AUTHORISED") == (
            status,
            body["AllocationID"],
            body["IsDeleted"],
            xero.invoice(created["InvoiceID"])["Status"],
        )

    def test_delete_unknown_allocation_is_a_404(self, api: Api, prepayment_id: str) -> None:
        """DELETE of an allocation the credit does not have answers 404."""
        status, _ = api.call("DELETE", f"/Prepayments/{prepayment_id}/Allocations/{UNKNOWN}")

        assert 404 == status

    def test_list_takes_only_get(self, api: Api) -> None:
        """PUT /Prepayments is not served (prepayments are made in Xero, not by the API)."""
        status, _ = api.call("PUT", "/Prepayments", {"Prepayments": []})

        assert 405 == status

    def test_history_is_not_implemented(self, api: Api, prepayment_id: str) -> None:
        """Sub-resources other than Allocations answer 501."""
        status, _ = api.call("GET", f"/Prepayments/{prepayment_id}/History")

        assert 501 == status

    def test_allocated_invoices_validate(
        self, api: Api, xero: FakeXero, created: dict[str, Any], prepayment_id: str, contact_id: str
    ) -> None:
        """An invoice with a prepayment, an overpayment and a credit note applied is a valid
        Invoices body, and lists each under its own array."""
        xero.allocate(prepayment_id, created["InvoiceID"], Decimal("10.00"))
        xero.allocate(xero.overpay(contact_id, Decimal("5.00")), created["InvoiceID"], 5)
        xero.add_credit_note(created["InvoiceID"], Decimal("1.00"))

        got = api.invoice(created["InvoiceID"])  # checked against the spec

        assert (1, 1, 1, Decimal("16.00")) == (
            len(got["Prepayments"]),
            len(got["Overpayments"]),
            len(got["CreditNotes"]),
            got["AmountCredited"],
        )


class TestCreditNotes:
    def test_credit_note_entry(self, api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
        """The invoice's CreditNotes entry is a CreditNote per the spec, AppliedAmount
        included."""
        credit_note_id = xero.add_credit_note(created["InvoiceID"], Decimal("15.00"))

        [entry] = api.invoice(created["InvoiceID"])["CreditNotes"]

        validate(entry, "CreditNote")
        expected = (credit_note_id, "ACCRECCREDIT", "PAID", Decimal("15.00"), Decimal("0.00"))
        assert expected == (
            entry["CreditNoteID"],
            entry["Type"],
            entry["Status"],
            entry["AppliedAmount"],
            entry["RemainingCredit"],
        )

    def test_a_credited_invoice_cannot_be_voided(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """xero.void() of an invoice with a credit note allocated raises Xero's message."""
        xero.add_credit_note(created["InvoiceID"], Decimal("15.00"))

        with pytest.raises(XeroValidationError) as raised:
            xero.void(created["InvoiceID"])

        assert [
            "This document cannot be edited as it has a payment or credit note allocated to it."
        ] == _refusal(raised)

    def test_void_still_works_without_credits(
        self, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """xero.void() of an invoice with nothing allocated voids it."""
        xero.void(created["InvoiceID"])

        assert "VOIDED" == xero.invoice(created["InvoiceID"])["Status"]


def test_credit_bodies_validate(
    xero: FakeXero, created: dict[str, Any], prepayment_id: str, contact_id: str
) -> None:
    """prepayments() and overpayments() give valid Prepayment and Overpayment bodies."""
    xero.allocate(prepayment_id, created["InvoiceID"], Decimal("10.00"))
    xero.overpay(contact_id, Decimal("5.00"))

    for stored in xero.prepayments():
        validate(stored, "Prepayment")
    for stored in xero.overpayments():
        validate(stored, "Overpayment")
    assert (1, 1) == (len(xero.prepayments()), len(xero.overpayments()))
