"""Payments and credits: PUT/GET /Payments, the pay() helper and their effect on invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import ConfigurationError, NotFound, XeroValidationError
from bms_xero.testing import FakeXero
from tests.testing.helpers import Api, invoice, line, messages

EXCEEDS = "Payment amount exceeds the amount outstanding on this document"


def _payment(invoice_id: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "090"},
        "Date": "2026-01-20",
        "Amount": Decimal(amount),
        **extra,
    }


def _pay(api: Api, *payments: dict[str, Any]) -> list[dict[str, Any]]:
    status, body = api.call(
        "PUT", "/Payments", {"Payments": list(payments)}, params={"summarizeErrors": "false"}
    )
    assert 200 == status
    return list(body["Payments"])


@pytest.fixture(name="created")
def _created(api: Api, contact_id: str) -> dict[str, Any]:
    [created] = api.create(invoice(contact_id, "INV-0001", line("100.00")))
    return created


def test_part_payment_updates_the_invoice(api: Api, created: dict[str, Any]) -> None:
    """A part payment raises AmountPaid, lowers AmountDue and leaves the invoice AUTHORISED."""
    [paid] = _pay(api, _payment(created["InvoiceID"], "15.00"))

    after = api.invoice(created["InvoiceID"])
    expected = ([], Decimal("15.00"), Decimal("100.00"), "AUTHORISED", [paid["PaymentID"]])
    assert expected == (
        messages(paid),
        after["AmountPaid"],
        after["AmountDue"],
        after["Status"],
        [p["PaymentID"] for p in after["Payments"]],
    )


def test_full_payment_makes_the_invoice_paid(api: Api, created: dict[str, Any]) -> None:
    """Paying the rest makes the invoice PAID with FullyPaidOnDate the payment's date."""
    _pay(api, _payment(created["InvoiceID"], "15.00"))
    _pay(api, _payment(created["InvoiceID"], "100.00", Date="2026-01-25"))

    after = api.invoice(created["InvoiceID"])
    expected = ("PAID", Decimal("0.00"), "/Date(1769299200000+0000)/")
    assert expected == (after["Status"], after["AmountDue"], after["FullyPaidOnDate"])


def test_a_payment_bumps_the_invoice(api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
    """A payment moves its invoice's UpdatedDateUTC forward (the fake's assumption)."""
    xero.clock.advance(30)

    _pay(api, _payment(created["InvoiceID"], "15.00"))

    assert api.invoice(created["InvoiceID"])["UpdatedDateUTC"] > created["UpdatedDateUTC"]


def test_over_payment_is_rejected(api: Api, created: dict[str, Any]) -> None:
    """A payment above the amount due gets Xero's message and changes nothing."""
    [paid] = _pay(api, _payment(created["InvoiceID"], "115.01"))

    after = api.invoice(created["InvoiceID"])
    assert ([EXCEEDS], Decimal("0.00")) == (messages(paid), after["AmountPaid"])


def test_drafts_cannot_be_paid(api: Api, contact_id: str) -> None:
    """Only AUTHORISED invoices take payments."""
    [draft] = api.create(invoice(contact_id, "INV-0002", status="DRAFT"))

    [paid] = _pay(api, _payment(draft["InvoiceID"], "1.00"))

    assert ["Invoice not of valid status for payment"] == messages(paid)


def test_payments_need_a_bank_account(api: Api, created: dict[str, Any]) -> None:
    """A payment over HTTP must name an active bank account."""
    no_account = _payment(created["InvoiceID"], "1.00")
    del no_account["Account"]
    sales_account = _payment(created["InvoiceID"], "1.00", Account={"Code": "200"})

    first, second = _pay(api, no_account, sales_account)

    assert (["Account must be valid."], ["Account must be valid."]) == (
        messages(first),
        messages(second),
    )


def test_payments_can_name_the_invoice_by_number(api: Api, created: dict[str, Any]) -> None:
    """A payment may reference its invoice by InvoiceNumber."""
    [paid] = _pay(api, _payment("", "5.00", Invoice={"InvoiceNumber": "INV-0001"}))

    assert created["InvoiceID"] == paid["Invoice"]["InvoiceID"]


def test_summarised_payment_errors_are_a_400(api: Api, created: dict[str, Any]) -> None:
    """Without summarizeErrors=false a bad payment makes the answer a 400 ValidationException."""
    status, body = api.call(
        "PUT", "/Payments", {"Payments": [_payment(created["InvoiceID"], "999.00")]}
    )

    assert (400, [EXCEEDS]) == (status, messages(body["Elements"][0]))


def test_get_payments_if_modified_since(api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
    """GET /Payments with If-Modified-Since returns only later payments."""
    _pay(api, _payment(created["InvoiceID"], "1.00", Reference="early"))
    xero.clock.advance(10)
    _pay(api, _payment(created["InvoiceID"], "2.00", Reference="late"))

    status, body = api.call(
        "GET", "/Payments", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}
    )

    assert (200, ["late"]) == (status, [p["Reference"] for p in body["Payments"]])


def test_get_one_payment(api: Api, created: dict[str, Any]) -> None:
    """GET /Payments/{id} returns the payment with its invoice."""
    [paid] = _pay(api, _payment(created["InvoiceID"], "1.00"))

    status, body = api.call("GET", f"/Payments/{paid['PaymentID']}")

    assert (200, "INV-0001", "ACCRECPAYMENT") == (
        status,
        body["Payments"][0]["Invoice"]["InvoiceNumber"],
        body["Payments"][0]["PaymentType"],
    )


def test_deleting_a_payment_reopens_the_invoice(api: Api, created: dict[str, Any]) -> None:
    """POST /Payments/{id} with Status DELETED reverses the payment: the invoice is due again."""
    [paid] = _pay(api, _payment(created["InvoiceID"], "115.00"))

    status, body = api.call(
        "POST", f"/Payments/{paid['PaymentID']}", {"Payments": [{"Status": "DELETED"}]}
    )

    after = api.invoice(created["InvoiceID"])
    assert (200, "DELETED", "AUTHORISED", Decimal("115.00"), False) == (
        status,
        body["Payments"][0]["Status"],
        after["Status"],
        after["AmountDue"],
        "FullyPaidOnDate" in after,
    )


def test_pay_helper_pays_on_the_clocks_date(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.pay() without a date pays on the clock's date."""
    payment_id = xero.pay(created["InvoiceID"], amount=Decimal("115.00"))

    after = xero.invoice(created["InvoiceID"])
    assert ("PAID", "/Date(1767571200000+0000)/", [payment_id]) == (
        after["Status"],
        after["FullyPaidOnDate"],
        [p["PaymentID"] for p in after["Payments"]],
    )


def test_pay_helper_takes_a_date(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.pay(on=...) records the payment on that date."""
    xero.pay(created["InvoiceID"], amount=Decimal("1.00"), on=date(2026, 1, 20))

    assert "/Date(1768867200000+0000)/" == xero.payments()[0]["Date"]


def test_pay_helper_refuses_over_payment(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.pay() above the amount due raises Xero's message."""
    with pytest.raises(XeroValidationError) as raised:
        xero.pay(created["InvoiceID"], amount=Decimal("200.00"))

    assert [EXCEEDS] == [m.message for m in raised.value.messages]


def test_pay_helper_refuses_floats(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.pay() refuses a float amount before touching anything."""
    with pytest.raises(ConfigurationError, match="floats lose cents"):
        xero.pay(created["InvoiceID"], amount=1.5)  # type: ignore[arg-type]


def test_pay_helper_unknown_invoice(xero: FakeXero) -> None:
    """xero.pay() of an unknown invoice raises NotFound."""
    with pytest.raises(NotFound):
        xero.pay("00000000-0000-4000-8000-000000000000", amount=Decimal("1"))


def test_delete_payment_helper(xero: FakeXero, created: dict[str, Any]) -> None:
    """xero.delete_payment() reverses a payment."""
    payment_id = xero.pay(created["InvoiceID"], amount=Decimal("115.00"))

    xero.delete_payment(payment_id)

    after = xero.invoice(created["InvoiceID"])
    assert ("AUTHORISED", Decimal("0.00")) == (after["Status"], after["AmountPaid"])


def test_credit_note_credits_the_invoice(xero: FakeXero, created: dict[str, Any]) -> None:
    """A credit note raises AmountCredited; AmountDue = Total - AmountPaid - AmountCredited."""
    xero.pay(created["InvoiceID"], amount=Decimal("15.00"))
    xero.add_credit_note(created["InvoiceID"], amount=Decimal("100.00"))

    after = xero.invoice(created["InvoiceID"])
    expected = (Decimal("100.00"), Decimal("0.00"), "PAID", 1)
    assert expected == (
        after["AmountCredited"],
        after["AmountDue"],
        after["Status"],
        len(after["CreditNotes"]),
    )


def test_post_payments_creates_one(api: Api, created: dict[str, Any]) -> None:
    """POST /Payments with a single payment object creates it."""
    status, body = api.call("POST", "/Payments", _payment(created["InvoiceID"], "5.00"))

    assert (200, Decimal("5.00")) == (status, body["Payments"][0]["Amount"])
