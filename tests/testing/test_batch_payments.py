"""Batch payments: batch_pay(), delete_batch_payment(), /BatchPayments, and payments in a batch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import NotFound, XeroValidationError
from bms_xero.testing import FakeXero
from tests.spec import validate
from tests.testing.helpers import Api, invoice, line

EXCEEDS = "Payment amount exceeds the amount outstanding on this document"


def _refusal(raised: pytest.ExceptionInfo[XeroValidationError]) -> list[str]:
    return [m.message for m in raised.value.messages]


@pytest.fixture(name="two")
def _two(api: Api, contact_id: str) -> list[dict[str, Any]]:
    return api.create(
        invoice(contact_id, "INV-0001", line("100.00")),  # 115.00
        invoice(contact_id, "INV-0002", line("20.00")),  # 23.00
    )


@pytest.fixture(name="batch_id")
def _batch_id(xero: FakeXero, two: list[dict[str, Any]]) -> str:
    return xero.batch_pay(
        [(two[0]["InvoiceID"], Decimal("115.00")), (two[1]["InvoiceID"], Decimal("3.00"))],
        on=date(2026, 1, 20),
        reference="Deposit 42",
        account_code="090",
    )


def test_one_payment_per_invoice(xero: FakeXero, two: list[dict[str, Any]], batch_id: str) -> None:
    """A batch makes one payment per invoice, each naming the batch."""
    payments = xero.payments()

    assert (
        [two[0]["InvoiceID"], two[1]["InvoiceID"]],
        [Decimal("115.00"), Decimal("3.00")],
        [batch_id, batch_id],
    ) == (
        [p["Invoice"]["InvoiceID"] for p in payments],
        [p["Amount"] for p in payments],
        [p["BatchPaymentID"] for p in payments],
    )


def test_the_invoices_are_paid(xero: FakeXero, two: list[dict[str, Any]], batch_id: str) -> None:
    """Each invoice is paid by its part of the batch, on the batch's date."""
    first, second = (xero.invoice(i["InvoiceID"]) for i in two)

    assert ("PAID", "/Date(1768867200000+0000)/", "AUTHORISED", Decimal("20.00")) == (
        first["Status"],
        first["FullyPaidOnDate"],
        second["Status"],
        second["AmountDue"],
    )


def test_a_payment_shows_its_batch(api: Api, xero: FakeXero, batch_id: str) -> None:
    """GET /Payments/{id} carries BatchPaymentID and a BatchPayment (checked against the
    spec)."""
    payment_id = xero.payments()[0]["PaymentID"]

    status, body = api.call("GET", f"/Payments/{payment_id}")

    batch = body["Payments"][0]["BatchPayment"]
    expected = {
        "Account": {"AccountID": batch["Account"]["AccountID"]},
        "Reference": "Deposit 42",
        "BatchPaymentID": batch_id,
        "DateString": "2026-01-20T00:00:00",
        "Date": "/Date(1768867200000+0000)/",
        "Type": "RECBATCH",
        "Status": "AUTHORISED",
        "TotalAmount": Decimal("118.00"),
        "UpdatedDateUTC": batch["UpdatedDateUTC"],
        "IsReconciled": False,
    }
    assert (200, batch_id, expected) == (status, body["Payments"][0]["BatchPaymentID"], batch)


def test_listed_payments_show_their_batch(api: Api, batch_id: str) -> None:
    """GET /Payments lists batch members with their BatchPaymentID (checked against the spec)."""
    status, body = api.call("GET", "/Payments", params={"page": "1"})

    assert (200, [batch_id, batch_id]) == (
        status,
        [p["BatchPaymentID"] for p in body["Payments"]],
    )


def test_where_by_batch(api: Api, xero: FakeXero, two: list[dict[str, Any]], batch_id: str) -> None:
    """where=BatchPaymentID==Guid(...) finds a batch's payments and no others."""
    xero.pay(two[1]["InvoiceID"], Decimal("1.00"))

    _, body = api.call("GET", "/Payments", params={"where": f'BatchPaymentID==Guid("{batch_id}")'})

    assert 2 == len(body["Payments"])


def test_ordinary_payments_have_no_batch(xero: FakeXero, two: list[dict[str, Any]]) -> None:
    """A payment made on its own has no BatchPaymentID or BatchPayment."""
    xero.pay(two[0]["InvoiceID"], Decimal("1.00"))

    assert (False, False) == (
        "BatchPaymentID" in xero.payments()[0],
        "BatchPayment" in xero.payments()[0],
    )


def test_all_or_nothing(xero: FakeXero, two: list[dict[str, Any]]) -> None:
    """One refused payment stores none of the batch."""
    with pytest.raises(XeroValidationError) as raised:
        xero.batch_pay(
            [(two[0]["InvoiceID"], Decimal("1.00")), (two[1]["InvoiceID"], Decimal("23.01"))]
        )

    assert ([EXCEEDS], [], [], Decimal("0.00")) == (
        _refusal(raised),
        xero.payments(),
        xero.batch_payments(),
        xero.invoice(two[0]["InvoiceID"])["AmountPaid"],
    )


def test_payments_to_one_invoice_add_up(xero: FakeXero, two: list[dict[str, Any]]) -> None:
    """Two payments to one invoice in a batch are checked together against its AmountDue."""
    with pytest.raises(XeroValidationError) as raised:
        xero.batch_pay(
            [(two[1]["InvoiceID"], Decimal("20.00")), (two[1]["InvoiceID"], Decimal("3.01"))]
        )

    assert [EXCEEDS] == _refusal(raised)


def test_an_empty_batch_is_refused(xero: FakeXero) -> None:
    """A batch with no payments is refused."""
    with pytest.raises(XeroValidationError) as raised:
        xero.batch_pay([])

    assert ["A batch payment must contain at least one payment."] == _refusal(raised)


def test_an_unknown_invoice(xero: FakeXero) -> None:
    """batch_pay() naming an invoice the organisation does not have raises NotFound."""
    with pytest.raises(NotFound):
        xero.batch_pay([("00000000-0000-4000-8000-000000000000", Decimal("1.00"))])


def test_mixing_sales_and_bills_is_refused(
    xero: FakeXero, api: Api, two: list[dict[str, Any]], contact_id: str
) -> None:
    """A batch cannot pay a sales invoice and a bill together."""
    [bill] = api.create(
        invoice(contact_id, "BILL-1", line("10.00", account="400", tax=None), Type="ACCPAY")
    )

    with pytest.raises(XeroValidationError) as raised:
        xero.batch_pay(
            [(two[0]["InvoiceID"], Decimal("1.00")), (bill["InvoiceID"], Decimal("1.00"))]
        )

    assert ["A batch payment cannot mix sales invoices and bills."] == _refusal(raised)


def test_a_member_cannot_be_deleted_alone(xero: FakeXero, batch_id: str) -> None:
    """A payment in a batch is reversed with its batch, not on its own."""
    with pytest.raises(XeroValidationError) as raised:
        xero.delete_payment(xero.payments()[0]["PaymentID"])

    assert [
        "This payment is part of a batch payment; delete the batch payment to reverse it."
    ] == _refusal(raised)


class TestDeleteBatchPayment:
    def test_every_payment_is_deleted(self, xero: FakeXero, batch_id: str) -> None:
        """Deleting a batch makes each of its payments DELETED, and the batch too."""
        xero.delete_batch_payment(batch_id)

        assert (["DELETED", "DELETED"], "DELETED") == (
            [p["Status"] for p in xero.payments()],
            xero.batch_payments()[0]["Status"],
        )

    def test_the_invoices_are_due_again(
        self, xero: FakeXero, two: list[dict[str, Any]], batch_id: str
    ) -> None:
        """Deleting a batch reopens its invoices, with their amounts due again."""
        xero.delete_batch_payment(batch_id)

        first, second = (xero.invoice(i["InvoiceID"]) for i in two)
        assert ("AUTHORISED", Decimal("115.00"), False, Decimal("23.00"), []) == (
            first["Status"],
            first["AmountDue"],
            "FullyPaidOnDate" in first,
            second["AmountDue"],
            second["Payments"],
        )

    def test_it_bumps_invoices_and_payments(self, api: Api, xero: FakeXero, batch_id: str) -> None:
        """Deleting a batch shows up in If-Modified-Since reads of payments and invoices."""
        xero.clock.advance(60)

        xero.delete_batch_payment(batch_id)

        since = {"If-Modified-Since": "2026-01-05T09:01:00Z"}
        _, payments = api.call("GET", "/Payments", headers=since)
        _, invoices = api.call("GET", "/Invoices", headers=since)
        _, batches = api.call("GET", "/BatchPayments", headers=since)
        assert (2, 2, ["DELETED"]) == (
            len(payments["Payments"]),
            len(invoices["Invoices"]),
            [b["Status"] for b in batches["BatchPayments"]],
        )

    def test_twice_is_refused(self, xero: FakeXero, batch_id: str) -> None:
        """A deleted batch cannot be deleted again."""
        xero.delete_batch_payment(batch_id)

        with pytest.raises(XeroValidationError) as raised:
            xero.delete_batch_payment(batch_id)

        assert ["The batch payment has already been deleted."] == _refusal(raised)

    def test_unknown_batch(self, xero: FakeXero) -> None:
        """delete_batch_payment() of an unknown id raises NotFound."""
        with pytest.raises(NotFound):
            xero.delete_batch_payment("00000000-0000-4000-8000-000000000000")

    def test_over_http(self, api: Api, xero: FakeXero, batch_id: str) -> None:
        """POST /BatchPayments/{id} with Status DELETED deletes the batch."""
        status, body = api.call(
            "POST", f"/BatchPayments/{batch_id}", {"BatchPayments": [{"Status": "DELETED"}]}
        )

        assert (200, "DELETED", ["DELETED", "DELETED"]) == (
            status,
            body["BatchPayments"][0]["Status"],
            [p["Status"] for p in xero.payments()],
        )


class TestEndpoints:
    def test_list(self, api: Api, two: list[dict[str, Any]], batch_id: str) -> None:
        """GET /BatchPayments lists batches with their payments (checked against the spec)."""
        status, body = api.call("GET", "/BatchPayments")

        [batch] = body["BatchPayments"]
        assert (200, batch_id, [two[0]["InvoiceID"], two[1]["InvoiceID"]]) == (
            status,
            batch["BatchPaymentID"],
            [p["Invoice"]["InvoiceID"] for p in batch["Payments"]],
        )

    def test_get_one(self, api: Api, batch_id: str) -> None:
        """GET /BatchPayments/{id} returns that batch."""
        status, body = api.call("GET", f"/BatchPayments/{batch_id}")

        assert (200, Decimal("118.00")) == (status, body["BatchPayments"][0]["TotalAmount"])

    def test_unknown_is_a_404(self, api: Api) -> None:
        """GET /BatchPayments/{id} for an unknown id answers 404."""
        status, _ = api.call("GET", "/BatchPayments/00000000-0000-4000-8000-000000000000")

        assert 404 == status

    def test_if_modified_since(self, api: Api, xero: FakeXero, two: list[dict[str, Any]]) -> None:
        """GET /BatchPayments with If-Modified-Since returns only those changed since."""
        xero.batch_pay([(two[0]["InvoiceID"], Decimal("1.00"))], reference="early")
        xero.clock.advance(10)
        xero.batch_pay([(two[0]["InvoiceID"], Decimal("1.00"))], reference="late")

        _, body = api.call(
            "GET", "/BatchPayments", headers={"If-Modified-Since": "2026-01-05T09:00:05Z"}
        )

        assert ["late"] == [b["Reference"] for b in body["BatchPayments"]]


def test_batch_bodies_validate(xero: FakeXero, batch_id: str) -> None:
    """payments() and batch_payments() give valid Payment and BatchPayment bodies."""
    for payment in xero.payments():
        validate(payment, "Payment")
    for batch in xero.batch_payments():
        validate(batch, "BatchPayment")
    assert (2, 1) == (len(xero.payments()), len(xero.batch_payments()))
