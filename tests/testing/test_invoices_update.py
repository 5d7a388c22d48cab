"""Changing invoices: POST /Invoices, POST /Invoices/{id}, status transitions and allocations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import NotFound, XeroValidationError
from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, invoice, line, messages

NOT_VALID = "Invoice not of valid status for modification"
ALLOCATED = "This document cannot be edited as it has a payment or credit note allocated to it."


def _update(api: Api, invoice_id: str, **fields: Any) -> dict[str, Any]:
    status, body = api.call(
        "POST",
        f"/Invoices/{invoice_id}",
        {"Invoices": [{"InvoiceID": invoice_id, **fields}]},
        params={"summarizeErrors": "false"},
    )
    assert 200 == status
    return dict(body["Invoices"][0])


@pytest.fixture(name="created")
def _created(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0001", line("100.00")))
    return created


@pytest.fixture(name="draft")
def _draft(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))
    return created


def test_update_replaces_lines_and_totals(api: Api, created: dict[str, Any]) -> None:
    """Sending LineItems replaces the lines, and the totals follow."""
    updated = _update(api, created["InvoiceID"], LineItems=[line("200.00")])

    expected = ([], Decimal("230.00"), 1)
    assert expected == (messages(updated), updated["Total"], len(updated["LineItems"]))


def test_lines_sent_with_their_id_keep_it(api: Api, created: dict[str, Any]) -> None:
    """A line sent back with its LineItemID stays the same line."""
    line_id = created["LineItems"][0]["LineItemID"]

    updated = _update(
        api, created["InvoiceID"], LineItems=[{"LineItemID": line_id, "Quantity": Decimal("2")}]
    )

    [kept] = updated["LineItems"]
    assert (line_id, Decimal("200.00"), "200") == (
        kept["LineItemID"],
        kept["LineAmount"],
        kept["AccountCode"],
    )


def test_lines_left_out_are_removed(api: Api, contact_id: str) -> None:
    """An update that sends one of two lines leaves one line."""
    [created] = api.create(invoice(contact_id, "INV-0001", line("1.00"), line("2.00")))
    keep = created["LineItems"][1]

    updated = _update(api, created["InvoiceID"], LineItems=[keep])

    assert [keep["LineItemID"]] == [i["LineItemID"] for i in updated["LineItems"]]


def test_fields_not_sent_are_kept(api: Api, created: dict[str, Any]) -> None:
    """An update of the Reference alone changes nothing else."""
    updated = _update(api, created["InvoiceID"], Reference="PO-9")

    expected = ("PO-9", created["Total"], created["LineItems"])
    assert expected == (updated["Reference"], updated["Total"], updated["LineItems"])


def test_post_invoices_matches_by_number(api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
    """POST /Invoices with a known ACCREC number updates that invoice rather than adding one."""
    status, body = api.call(
        "POST",
        "/Invoices",
        {"Invoices": [{"InvoiceNumber": "INV-0001", "Reference": "matched"}]},
        params={"summarizeErrors": "false"},
    )

    expected = (200, created["InvoiceID"], "matched", 1)
    assert expected == (
        status,
        body["Invoices"][0]["InvoiceID"],
        body["Invoices"][0]["Reference"],
        len(xero.invoices()),
    )


def test_post_invoices_without_a_match_creates(api: Api, xero: FakeXero, contact_id: str) -> None:
    """POST /Invoices with an unknown number creates the invoice, as Xero does."""
    status, _ = api.call("POST", "/Invoices", {"Invoices": [invoice(contact_id, "INV-0009")]})

    assert (200, ["INV-0009"]) == (status, [i["InvoiceNumber"] for i in xero.invoices()])


def test_post_invoices_with_unknown_id_is_rejected(api: Api) -> None:
    """POST /Invoices naming an InvoiceID that does not exist is rejected."""
    unknown = "00000000-0000-4000-8000-000000000000"

    status, body = api.call(
        "POST",
        "/Invoices",
        {"Invoices": [{"InvoiceID": unknown, "Reference": "x"}]},
        params={"summarizeErrors": "false"},
    )

    assert (200, [f"The invoice '{unknown}' could not be found."]) == (
        status,
        messages(body["Invoices"][0]),
    )


def test_unknown_invoice_in_the_url_is_a_404(api: Api) -> None:
    """POST /Invoices/{id} for an id Xero does not have answers 404."""
    unknown = "00000000-0000-4000-8000-000000000000"

    status, body = api.call("POST", f"/Invoices/{unknown}", {"Invoices": [{"Reference": "x"}]})

    assert (404, "NotFoundException") == (status, body["Type"])


def test_changing_the_number_to_a_taken_one_is_rejected(
    api: Api, created: dict[str, Any], draft: dict[str, Any]
) -> None:
    """An update may not give an invoice another invoice's number."""
    updated = _update(api, draft["InvoiceID"], InvoiceNumber=created["InvoiceNumber"])

    assert ["Invoice # must be unique."] == messages(updated)


def test_renumbering_frees_the_old_number(api: Api, xero: FakeXero, draft: dict[str, Any]) -> None:
    """After renumbering, the old number can be used by a new invoice."""
    _update(api, draft["InvoiceID"], InvoiceNumber="INV-0100")

    [created] = api.create(invoice(draft["Contact"]["ContactID"], "INV-0002"))

    assert [] == messages(created)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("SUBMITTED",), "SUBMITTED"),
        (("AUTHORISED",), "AUTHORISED"),
        (("DELETED",), "DELETED"),
        (("SUBMITTED", "DRAFT"), "DRAFT"),
        (("SUBMITTED", "AUTHORISED", "VOIDED"), "VOIDED"),
    ],
)
def test_allowed_transitions_from_draft(
    api: Api, draft: dict[str, Any], path: tuple[str, ...], expected: str
) -> None:
    """Each transition Xero allows (DRAFT/SUBMITTED to each other, AUTHORISED or DELETED;
    AUTHORISED to VOIDED) succeeds."""
    updated: dict[str, Any] = {}
    for status in path:
        updated = _update(api, draft["InvoiceID"], Status=status)

    assert ([], expected) == (messages(updated), updated["Status"])


@pytest.mark.parametrize("status", ["DRAFT", "SUBMITTED", "DELETED", "PAID"])
def test_forbidden_transitions_from_authorised(
    api: Api, created: dict[str, Any], status: str
) -> None:
    """An AUTHORISED invoice cannot go back to DRAFT or SUBMITTED, be deleted, or be set PAID."""
    updated = _update(api, created["InvoiceID"], Status=status)

    assert [NOT_VALID] == messages(updated)


def test_refused_update_changes_nothing(api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
    """A refused update leaves the stored invoice exactly as it was."""
    before = xero.invoice(created["InvoiceID"])

    _update(api, created["InvoiceID"], Status="DRAFT", Reference="changed")

    assert before == xero.invoice(created["InvoiceID"])


def test_voided_invoices_cannot_change(api: Api, created: dict[str, Any]) -> None:
    """Once VOIDED, any change is refused with Xero's message."""
    _update(api, created["InvoiceID"], Status="VOIDED")

    updated = _update(api, created["InvoiceID"], Reference="too late")

    assert [NOT_VALID] == messages(updated)


def test_deleted_invoices_cannot_change(api: Api, draft: dict[str, Any]) -> None:
    """Once DELETED, any change is refused with Xero's message."""
    _update(api, draft["InvoiceID"], Status="DELETED")

    updated = _update(api, draft["InvoiceID"], Status="DRAFT")

    assert [NOT_VALID] == messages(updated)


def test_approving_needs_a_due_date(api: Api, contact_id: str) -> None:
    """A draft without a DueDate cannot be approved until it has one."""
    [draft] = api.create(invoice(contact_id, "INV-0003", status="DRAFT", due=None))

    updated = _update(api, draft["InvoiceID"], Status="AUTHORISED")

    assert ["The document DueDate field must be specified."] == messages(updated)


def test_paid_invoices_cannot_be_edited(api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
    """A fully paid invoice refuses edits with Xero's allocation message."""
    xero.pay(created["InvoiceID"], amount=created["Total"])

    updated = _update(api, created["InvoiceID"], LineItems=[line("1.00")])

    assert [ALLOCATED] == messages(updated)


def test_part_paid_invoices_cannot_be_voided(
    api: Api, xero: FakeXero, created: dict[str, Any]
) -> None:
    """An invoice with a payment allocated cannot be voided."""
    xero.pay(created["InvoiceID"], amount=Decimal("10.00"))

    updated = _update(api, created["InvoiceID"], Status="VOIDED")

    assert [ALLOCATED] == messages(updated)


def test_part_paid_invoices_cannot_be_restatused(
    api: Api, xero: FakeXero, created: dict[str, Any]
) -> None:
    """Setting DRAFT on an invoice with payments gets Xero's re-status message."""
    xero.pay(created["InvoiceID"], amount=Decimal("10.00"))

    updated = _update(api, created["InvoiceID"], Status="DRAFT")

    expected = [
        "The status DRAFT cannot be applied to the invoice because it has payments or credit "
        "notes allocated to it."
    ]
    assert expected == messages(updated)


def test_credited_invoices_cannot_be_edited(
    api: Api, xero: FakeXero, created: dict[str, Any]
) -> None:
    """A credit note allocated to an invoice locks it like a payment does."""
    xero.add_credit_note(created["InvoiceID"], amount=Decimal("5.00"))

    updated = _update(api, created["InvoiceID"], Reference="changed")

    assert [ALLOCATED] == messages(updated)


def test_unchanged_update_of_a_paid_invoice_is_accepted(
    api: Api, xero: FakeXero, created: dict[str, Any]
) -> None:
    """Re-sending what a paid invoice already holds changes nothing and is not an error."""
    xero.pay(created["InvoiceID"], amount=created["Total"])
    before = xero.invoice(created["InvoiceID"])

    updated = _update(api, created["InvoiceID"], Reference="")

    assert ([], before["UpdatedDateUTC"]) == (messages(updated), updated["UpdatedDateUTC"])


def test_an_update_bumps_updated_date(api: Api, created: dict[str, Any]) -> None:
    """A change moves UpdatedDateUTC forward, even when the clock has not moved."""
    updated = _update(api, created["InvoiceID"], Reference="new")

    assert updated["UpdatedDateUTC"] > created["UpdatedDateUTC"]


def test_a_no_op_update_keeps_updated_date(api: Api, created: dict[str, Any]) -> None:
    """An update that changes nothing leaves UpdatedDateUTC alone."""
    updated = _update(api, created["InvoiceID"], Status="AUTHORISED")

    assert created["UpdatedDateUTC"] == updated["UpdatedDateUTC"]


def test_changing_line_amount_types_retaxes_kept_lines(api: Api, created: dict[str, Any]) -> None:
    """Switching to Inclusive without resending lines recomputes their tax."""
    updated = _update(api, created["InvoiceID"], LineAmountTypes="Inclusive")

    expected = (Decimal("13.04"), Decimal("100.00"))
    assert expected == (updated["TotalTax"], updated["Total"])


def test_summarised_update_errors_are_a_400(api: Api, created: dict[str, Any]) -> None:
    """Without summarizeErrors=false a refused update is a 400 naming the invoice."""
    status, body = api.call(
        "POST", f"/Invoices/{created['InvoiceID']}", {"Invoices": [{"Status": "DRAFT"}]}
    )

    element = body["Elements"][0]
    assert (400, created["InvoiceID"], [NOT_VALID]) == (
        status,
        element["InvoiceID"],
        messages(element),
    )


def test_void_helper_voids(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.void() voids an AUTHORISED invoice."""
    xero.void(created["InvoiceID"])

    assert "VOIDED" == xero.invoice(created["InvoiceID"])["Status"]


def test_void_helper_follows_xeros_rules(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.void() on a part-paid invoice raises Xero's validation error."""
    xero.pay(created["InvoiceID"], amount=Decimal("1.00"))

    with pytest.raises(XeroValidationError) as raised:
        xero.void(created["InvoiceID"])

    assert [ALLOCATED] == [m.message for m in raised.value.messages]


def test_void_helper_unknown_invoice(xero: FakeXero) -> None:
    """xero.void() of an unknown invoice raises NotFound."""
    with pytest.raises(NotFound):
        xero.void("00000000-0000-4000-8000-000000000000")


def test_approving_a_draft_checks_its_lines(api: Api, xero: FakeXero, contact_id: str) -> None:
    """Approving a draft by status alone still needs its lines' accounts to be usable."""
    [draft] = api.create(invoice(contact_id, "INV-0003", status="DRAFT"))
    xero.archive_account("200")

    updated = _update(api, draft["InvoiceID"], Status="AUTHORISED")

    expected = [
        "Account code '200' has been archived, or has been deleted. Each line item must "
        "reference a valid account."
    ]
    assert expected == messages(updated)


def test_approving_a_draft_without_accounts_is_refused(api: Api, contact_id: str) -> None:
    """A draft whose lines have no account cannot be approved until they have one."""
    unaccounted = line()
    del unaccounted["AccountCode"]
    [draft] = api.create(invoice(contact_id, "INV-0003", unaccounted, status="DRAFT"))

    updated = _update(api, draft["InvoiceID"], Status="SUBMITTED")

    assert ["Account must be valid."] == messages(updated)
