"""Creating invoices with PUT /Invoices: Xero's totals, rules and messages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, check, invoice, line, messages


def test_put_creates_an_invoice_with_xero_shapes(api: Api, contact_id: str) -> None:
    """A valid PUT stores the invoice and answers with its id, status and MS-JSON dates."""
    [created] = api.create(invoice(contact_id, "INV-0001", line("50.00", "2")))

    expected = (
        "INV-0001",
        "AUTHORISED",
        "/Date(1767571200000+0000)/",
        "2026-01-05T00:00:00",
        "/Date(1770249600000+0000)/",
        False,
        "OK",
    )
    assert expected == (
        created["InvoiceNumber"],
        created["Status"],
        created["Date"],
        created["DateString"],
        created["DueDate"],
        created["HasErrors"],
        created["StatusAttributeString"],
    )


def test_put_stores_what_it_answers(api: Api, xero: FakeXero, contact_id: str) -> None:
    """The stored invoice is the one the PUT described."""
    [created] = api.create(invoice(contact_id, "INV-0001"))

    assert [created["InvoiceID"]] == [i["InvoiceID"] for i in xero.invoices()]


def test_totals_round_tax_per_line(api: Api, contact_id: str) -> None:
    """Tax is rounded on each line, then summed (three lines of 10.03 at 15% are 4.50, not 4.51)."""
    lines = [line("10.03"), line("10.03"), line("10.03")]

    [created] = api.create(invoice(contact_id, "INV-0001", *lines))

    expected = (Decimal("30.09"), Decimal("4.50"), Decimal("34.59"), Decimal("34.59"))
    actual = (created["SubTotal"], created["TotalTax"], created["Total"], created["AmountDue"])
    assert expected == actual


def test_line_amounts_and_tax_amounts_per_line(api: Api, contact_id: str) -> None:
    """Each line carries its rounded LineAmount and TaxAmount."""
    [created] = api.create(invoice(contact_id, "INV-0001", line("10.03", "3")))

    [stored] = created["LineItems"]
    assert (Decimal("30.09"), Decimal("4.51")) == (stored["LineAmount"], stored["TaxAmount"])


def test_tax_rounds_half_away_from_zero(api: Api, contact_id: str) -> None:
    """A line's tax of exactly half a cent rounds up (14.43 at 15% is 2.1645 -> 2.16; 14.50
    is 2.175 -> 2.18)."""
    [created] = api.create(invoice(contact_id, "INV-0001", line("14.43"), line("14.50")))

    expected = [Decimal("2.16"), Decimal("2.18")]
    assert expected == [item["TaxAmount"] for item in created["LineItems"]]


def test_inclusive_amounts_include_tax(api: Api, contact_id: str) -> None:
    """With LineAmountTypes Inclusive, the total is the sum of lines and tax is carved out."""
    element = invoice(contact_id, "INV-0001", line("115.00"), LineAmountTypes="Inclusive")

    [created] = api.create(element)

    expected = (Decimal("100.00"), Decimal("15.00"), Decimal("115.00"))
    assert expected == (created["SubTotal"], created["TotalTax"], created["Total"])


def test_no_tax_invoices_have_no_tax(api: Api, contact_id: str) -> None:
    """With LineAmountTypes NoTax, TotalTax is zero whatever the lines' tax types."""
    element = invoice(contact_id, "INV-0001", line("100.00"), LineAmountTypes="NoTax")

    [created] = api.create(element)

    assert (Decimal("0.00"), Decimal("100.00")) == (created["TotalTax"], created["Total"])


def test_discount_rate_reduces_the_line(api: Api, contact_id: str) -> None:
    """A 10% DiscountRate takes 10% off the line before tax."""
    element = invoice(contact_id, "INV-0001", line("50.00", "2", DiscountRate=Decimal("10")))

    [created] = api.create(element)

    expected = (Decimal("90.00"), Decimal("13.50"), Decimal("103.50"), True)
    actual = (created["SubTotal"], created["TotalTax"], created["Total"], created["IsDiscounted"])
    assert expected == actual


def test_unit_amounts_round_to_two_places_without_unitdp(api: Api, contact_id: str) -> None:
    """Without unitdp=4 a unit amount of 10.005 is stored as 10.01, and the line follows."""
    [created] = api.create(invoice(contact_id, "INV-0001", line("10.005", "3")))

    [stored] = created["LineItems"]
    assert (Decimal("10.01"), Decimal("30.03")) == (stored["UnitAmount"], stored["LineAmount"])


def test_unitdp_4_keeps_four_places(api: Api, contact_id: str) -> None:
    """With unitdp=4 a unit amount keeps 4 places; the line amount is still rounded to cents."""
    status, body = api.call(
        "PUT",
        "/Invoices",
        {"Invoices": [invoice(contact_id, "INV-0001", line("10.005", "3"))]},
        params={"summarizeErrors": "false", "unitdp": "4"},
    )

    [stored] = body["Invoices"][0]["LineItems"]
    assert (200, Decimal("10.0050"), Decimal("30.02")) == (
        status,
        stored["UnitAmount"],
        stored["LineAmount"],
    )


def test_line_amount_alone_fills_in_the_unit_amount(api: Api, contact_id: str) -> None:
    """A line with Quantity and LineAmount but no UnitAmount gets UnitAmount = LineAmount/qty."""
    sent = {"Description": "Hours", "Quantity": Decimal("4"), "LineAmount": Decimal("200.00")}
    sent.update(AccountCode="200", TaxType="OUTPUT2")

    [created] = api.create(invoice(contact_id, "INV-0001", sent))

    [stored] = created["LineItems"]
    assert (Decimal("50.00"), Decimal("200.00")) == (stored["UnitAmount"], stored["LineAmount"])


def test_description_only_lines_are_allowed(api: Api, contact_id: str) -> None:
    """A line with only a Description is stored with no amount."""
    lines = [line("10.00"), {"Description": "Thank you for your business"}]

    [created] = api.create(invoice(contact_id, "INV-0001", *lines))

    expected = (False, Decimal("11.50"), Decimal("0.00"))
    assert expected == (
        created["HasErrors"],
        created["Total"],
        created["LineItems"][1]["LineAmount"],
    )


def test_duplicate_number_is_rejected(api: Api, contact_id: str) -> None:
    """A second PUT with the same InvoiceNumber is rejected with Xero's message."""
    api.create(invoice(contact_id, "INV-0001"))

    [again] = api.create(invoice(contact_id, "INV-0001"))

    expected = (True, "ERROR", ["Invoice # must be unique."])
    assert expected == (again["HasErrors"], again["StatusAttributeString"], messages(again))


def test_duplicate_number_within_one_batch(api: Api, xero: FakeXero, contact_id: str) -> None:
    """Within one batch the first of two equal numbers is created and the second rejected."""
    first, second = api.create(invoice(contact_id, "INV-0001"), invoice(contact_id, "INV-0001"))

    expected = ([], ["Invoice # must be unique."], 1)
    assert expected == (messages(first), messages(second), len(xero.invoices()))


def test_unknown_account_code_is_rejected(api: Api, contact_id: str) -> None:
    """A line with an account code not in the chart gets Xero's message."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(account="999")))

    assert ["Account code '999' is not a valid code for this document."] == messages(created)


def test_archived_account_code_is_rejected(api: Api, contact_id: str) -> None:
    """A line with an archived account gets Xero's archived-account message."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(account="210")))

    expected = [
        "Account code '210' has been archived, or has been deleted. Each line item must "
        "reference a valid account."
    ]
    assert expected == messages(created)


def test_bank_account_code_is_not_valid_on_a_line(api: Api, contact_id: str) -> None:
    """A bank account cannot take invoice lines."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(account="090")))

    assert ["Account code '090' is not a valid code for this document."] == messages(created)


def test_line_errors_are_on_the_invoice_only(api: Api, contact_id: str) -> None:
    """A line's problem is listed once, on the invoice, as in every example of Xero's spec
    (a client reading both places would otherwise see it twice)."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(), line(account="999")))

    assert ["Account code '999' is not a valid code for this document."] == messages(created)
    assert [[], []] == [messages(item) for item in created["LineItems"]]


def test_unknown_tax_type_is_rejected(api: Api, contact_id: str) -> None:
    """A TaxType the organisation does not have gets Xero's message."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(tax="NOPE")))

    expected = [
        "The TaxType code NOPE does not exist or cannot be used for this type of transaction."
    ]
    assert expected == messages(created)


def test_non_revenue_tax_type_is_rejected_on_sales(api: Api, contact_id: str) -> None:
    """A purchases-only TaxType cannot be used on a sales invoice."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(tax="INPUT2")))

    expected = [
        "The TaxType code INPUT2 does not exist or cannot be used for this type of transaction."
    ]
    assert expected == messages(created)


def test_deleted_tax_rate_is_rejected(api: Api, contact_id: str) -> None:
    """A TaxType whose rate is no longer active is rejected."""
    [created] = api.create(invoice(contact_id, "INV-0001", line(tax="OLDGST")))

    expected = [
        "The TaxType code OLDGST does not exist or cannot be used for this type of transaction."
    ]
    assert expected == messages(created)


def test_line_without_tax_type_uses_the_accounts_default(xero: FakeXero, contact_id: str) -> None:
    """A line with no TaxType takes its account's default tax type."""
    xero.add_account(code="201", name="Services", tax_type="OUTPUT2")
    api = Api(xero)

    [created] = api.create(invoice(contact_id, "INV-0001", line(account="201", tax=None)))

    assert ("OUTPUT2", Decimal("15.00")) == (
        created["LineItems"][0]["TaxType"],
        created["TotalTax"],
    )


def test_unknown_contact_is_rejected(api: Api) -> None:
    """An invoice for a ContactID the organisation does not have is rejected."""
    unknown = "00000000-0000-4000-8000-000000000000"

    [created] = api.create(invoice(unknown, "INV-0001"))

    assert [f"The contact with ContactID '{unknown}' could not be found."] == messages(created)


def test_missing_contact_is_rejected(api: Api, contact_id: str) -> None:
    """An invoice without a contact gets Xero's message."""
    element = invoice(contact_id, "INV-0001")
    del element["Contact"]

    [created] = api.create(element)

    assert ["Contact cannot be empty."] == messages(created)


def test_contact_by_name_alone_is_found_or_created(api: Api, xero: FakeXero) -> None:
    """A contact given by name only is created (once) and used, as Xero does."""
    first = invoice("", "INV-0001", Contact={"Name": "New Customer Ltd"})
    second = invoice("", "INV-0002", Contact={"Name": "new customer ltd"})

    a, b = api.create(first, second)

    expected = (1, a["Contact"]["ContactID"])
    assert expected == (len(xero.contacts()), b["Contact"]["ContactID"])


def test_no_lines_is_rejected(api: Api, contact_id: str) -> None:
    """An invoice with an empty LineItems list gets Xero's message."""
    element = invoice(contact_id, "INV-0001")
    element["LineItems"] = []

    [created] = api.create(element)

    assert ["One or more line items must be specified"] == messages(created)


def test_authorised_needs_a_due_date(api: Api, contact_id: str) -> None:
    """An AUTHORISED invoice without a DueDate gets Xero's message."""
    [created] = api.create(invoice(contact_id, "INV-0001", due=None))

    assert ["The document DueDate field must be specified."] == messages(created)


def test_draft_needs_no_due_date(api: Api, contact_id: str) -> None:
    """A DRAFT invoice may leave the DueDate out."""
    [created] = api.create(invoice(contact_id, "INV-0001", status="DRAFT", due=None))

    assert ("DRAFT", False, False) == (
        created["Status"],
        created["HasErrors"],
        "DueDate" in created,
    )


def test_draft_lines_may_leave_the_account_out(api: Api, contact_id: str) -> None:
    """A DRAFT line without an AccountCode is accepted; an AUTHORISED one is not."""
    draft_line = line(account="")
    del draft_line["AccountCode"]

    draft, approved = api.create(
        invoice(contact_id, "INV-0001", draft_line, status="DRAFT"),
        invoice(contact_id, "INV-0002", draft_line),
    )

    assert ([], ["Account must be valid."]) == (messages(draft), messages(approved))


def test_paid_is_not_a_status_to_create_with(api: Api, contact_id: str) -> None:
    """Creating an invoice as PAID is refused."""
    [created] = api.create(invoice(contact_id, "INV-0001", status="PAID"))

    assert ["Invoice not of valid status for creation"] == messages(created)


def test_missing_number_is_generated(api: Api, contact_id: str) -> None:
    """Without an InvoiceNumber, Xero numbers the invoice itself."""
    [created] = api.create(invoice(contact_id, None))

    assert "INV-0001" == created["InvoiceNumber"]


def test_missing_date_defaults_to_today(api: Api, contact_id: str) -> None:
    """Without a Date the invoice is dated the organisation's today (the clock's date)."""
    element = invoice(contact_id, "INV-0001")
    del element["Date"]

    [created] = api.create(element)

    assert "2026-01-05T00:00:00" == created["DateString"]


def test_ms_json_dates_are_accepted_on_writes(api: Api, contact_id: str) -> None:
    """Dates sent as /Date(ms)/ (as the official SDK does) are read as dates."""
    element = invoice(
        contact_id, "INV-0001", Date="/Date(1767571200000)/", DueDate="/Date(1770249600000+0000)/"
    )

    [created] = api.create(element)

    assert ("2026-01-05T00:00:00", "2026-02-05T00:00:00") == (
        created["DateString"],
        created["DueDateString"],
    )


def test_bad_date_is_rejected(api: Api, contact_id: str) -> None:
    """A date that is not a date is rejected with a message naming the field."""
    [created] = api.create(invoice(contact_id, "INV-0001", DueDate="next week"))

    assert ["'next week' is not a valid date for DueDate (use YYYY-MM-DD)."] == messages(created)


def test_put_with_an_invoice_id_is_refused(api: Api, contact_id: str) -> None:
    """PUT only creates; an element naming an InvoiceID is rejected."""
    [created] = api.create(
        invoice(contact_id, "INV-0001", InvoiceID="00000000-0000-4000-8000-000000000000")
    )

    expected = [
        "InvoiceID cannot be given when creating an invoice; update it with "
        "POST /Invoices/{InvoiceID}."
    ]
    assert expected == messages(created)


def test_summarised_errors_are_a_400_that_still_creates_valid_ones(
    api: Api, xero: FakeXero, contact_id: str
) -> None:
    """Without summarizeErrors=false a bad element makes the answer a 400 ValidationException,
    while the good elements are still created."""
    body = {
        "Invoices": [invoice(contact_id, "INV-0001"), invoice(contact_id, "INV-0002", due=None)]
    }

    status, answer = api.call("PUT", "/Invoices", body)

    expected = (
        400,
        "ValidationException",
        ["INV-0002"],
        ["The document DueDate field must be specified."],
        ["INV-0001"],
    )
    assert expected == (
        status,
        answer["Type"],
        [e["InvoiceNumber"] for e in answer["Elements"]],
        messages(answer["Elements"][0]),
        [i["InvoiceNumber"] for i in xero.invoices()],
    )


def test_a_single_object_body_is_accepted(api: Api, contact_id: str) -> None:
    """A body that is one invoice object (not wrapped in Invoices) is read as one element."""
    status, body = api.call("PUT", "/Invoices", invoice(contact_id, "INV-0001"))

    assert (200, "INV-0001") == (status, body["Invoices"][0]["InvoiceNumber"])


def test_a_body_that_is_not_json_is_a_400(api: Api) -> None:
    """Malformed JSON gets a 400 PostDataInvalidException."""
    response = api.http.put(
        "https://api.xero.com/api.xro/2.0/Invoices", content=b"{nope", headers=api.headers()
    )

    assert (400, "PostDataInvalidException") == (response.status_code, check(response)["Type"])


def test_accpay_numbers_need_not_be_unique(api: Api, contact_id: str) -> None:
    """Only sales (ACCREC) invoice numbers must be unique."""
    bill = invoice(contact_id, "BILL-1", line(account="400", tax=None), Type="ACCPAY")

    first, second = api.create(bill, bill)

    assert ([], []) == (messages(first), messages(second))


def test_invoices_are_kept_per_organisation(xero: FakeXero, contact_id: str) -> None:
    """The same number can exist in two organisations; each sees only its own invoices."""
    from tests.testing.conftest import furnish

    other = xero.add_tenant(name="Other Ltd")
    furnish(xero, other)
    other_contact = xero.add_contact(name="Acme Ltd", tenant_id=other)

    Api(xero).create(invoice(contact_id, "INV-0001"))
    [created] = Api(xero, other).create(invoice(other_contact, "INV-0001"))

    expected = ([], 1, 1)
    assert expected == (messages(created), len(xero.invoices()), len(xero.invoices(other)))


def test_issue_date_in_the_past_is_kept_exactly(api: Api, contact_id: str) -> None:
    """A date-only value is never shifted by a timezone."""
    [created] = api.create(invoice(contact_id, "INV-0001", issued=date(2025, 12, 31)))

    assert "2025-12-31T00:00:00" == created["DateString"]
