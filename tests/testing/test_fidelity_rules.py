"""Rules the fake got wrong once: numbers out of range, nulls, booleans as text, accounts by
AccountID, repeated line ids, re-voids, rounding before checking, and credit notes."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.errors import XeroValidationError
from bms_xero.testing import FakeXero
from tests.testing.helpers import API, Api, invoice, line, messages

NOT_VALID = "Invoice not of valid status for modification"


def _strict(body: bytes) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def _put_raw(api: Api, text: str, path: str = "/Invoices") -> tuple[int, Any]:
    """PUT a body written by hand (so it can hold what no JSON writer would)."""
    answer = api.http.put(
        API + path,
        content=text.encode(),
        headers=api.headers({"Content-Type": "application/json"}),
    )
    return answer.status_code, _strict(answer.content)


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


class TestNumbers:
    @pytest.mark.parametrize("field", ["Quantity", "UnitAmount", "DiscountRate", "TaxAmount"])
    def test_huge_line_number_is_a_validation_error(
        self, api: Api, xero: FakeXero, contact_id: str, field: str
    ) -> None:
        """1e24 in any numeric field of a line is a 400 ValidationException naming it."""
        sent = invoice(contact_id, "INV-0001", line(**{field: Decimal("1e24")}))

        status, body = api.call("PUT", "/Invoices", {"Invoices": [sent]})

        assert (400, "ValidationException") == (status, body["Type"])
        (message,) = messages(body["Elements"][0])
        assert f"LineItems[0].{field}" in message
        assert [] == xero.invoices()

    @pytest.mark.parametrize("field", ["CurrencyRate", "Total", "SubTotal"])
    def test_huge_header_number(self, api: Api, contact_id: str, field: str) -> None:
        """So is 1e24 in a header number, read or ignored."""
        sent = invoice(contact_id, "INV-0001", **{field: Decimal("1E+24")})

        (created,) = api.create(sent)

        (message,) = messages(created)
        assert f"is too large for {field}:" in message

    def test_unit_amount_at_four_places_does_not_crash(self, api: Api, contact_id: str) -> None:
        """1e24 with ``unitdp=4`` (which once overflowed the fake's Decimal) is a 400 too."""
        sent = invoice(contact_id, "INV-0001", line(UnitAmount=Decimal("1e24")))

        status, _ = api.call("PUT", "/Invoices", {"Invoices": [sent]}, params={"unitdp": "4"})

        assert 400 == status

    @pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
    def test_nan_is_refused_and_the_answer_is_json(
        self, api: Api, contact_id: str, constant: str
    ) -> None:
        """NaN and Infinity (which Python's JSON reader accepts) are refused, naming the field,
        and the echo of the element is still strict JSON."""
        text = json.dumps({"Invoices": [invoice(contact_id, "INV-0001", line())]}, default=str)
        text = text.replace('"UnitAmount": "100.00"', f'"UnitAmount": {constant}')

        status, body = _put_raw(api, text)

        assert (400, "ValidationException") == (status, body["Type"])
        (message,) = messages(body["Elements"][0])
        assert "LineItems[0].UnitAmount" in message
        assert body["Elements"][0]["LineItems"][0]["UnitAmount"] in ("nan", "inf", "-inf")

    def test_nan_in_an_ignored_field(self, api: Api, contact_id: str) -> None:
        """NaN even in a field the rules ignore (a sent TaxAmount) is refused."""
        text = json.dumps({"Invoices": [invoice(contact_id, "INV-0001", line())]}, default=str)
        text = text.replace('"AccountCode": "200"', '"AccountCode": "200", "TaxAmount": NaN')

        status, body = _put_raw(api, text)

        assert 400 == status
        assert "LineItems[0].TaxAmount" in messages(body["Elements"][0])[0]

    def test_huge_payment_over_http(
        self, api: Api, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """A payment Amount of 1e30 is refused (it once overflowed rounding to cents)."""
        payment = {
            "Invoice": {"InvoiceID": created["InvoiceID"]},
            "Account": {"Code": "090"},
            "Amount": Decimal("1e30"),
        }

        status, body = api.call("PUT", "/Payments", {"Payments": [payment]})

        assert (400, []) == (status, xero.payments())
        assert "Amount" in messages(body["Elements"][0])[0]

    def test_huge_amounts_in_helpers(
        self, xero: FakeXero, created: dict[str, Any], contact_id: str
    ) -> None:
        """FakeXero's own methods refuse them too, with XeroValidationError."""
        for call in (
            lambda: xero.pay(created["InvoiceID"], amount=Decimal("1e30")),
            lambda: xero.add_credit_note(created["InvoiceID"], amount=Decimal("1e30")),
            lambda: xero.prepay(contact_id, Decimal("1e30")),
        ):
            with pytest.raises(XeroValidationError):
                call()

    def test_product_too_large(self, api: Api, contact_id: str) -> None:
        """Quantity and UnitAmount each in range, their product not: refused, not overflowed."""
        sent = invoice(
            contact_id,
            "INV-0001",
            line(Quantity=Decimal("999999999999"), UnitAmount=Decimal("999999999999")),
        )

        (created,) = api.create(sent)

        assert ["Quantity x UnitAmount is too large"] == [
            m.split(":")[0] for m in messages(created)
        ]

    def test_large_but_allowed(self, api: Api, contact_id: str) -> None:
        """Just below the limit is stored and totalled exactly."""
        (created,) = api.create(invoice(contact_id, "INV-0001", line("999999999.99", tax="NONE")))

        assert ([], Decimal("999999999.99")) == (messages(created), created["Total"])


class TestNulls:
    def test_null_status_keeps_the_status(self, api: Api, created: dict[str, Any]) -> None:
        """``"Status": null`` on an update means "not sent": an AUTHORISED invoice stays so."""
        updated = _update(api, created["InvoiceID"], Status=None, Reference="PO-1")

        assert ([], "AUTHORISED", "PO-1") == (
            messages(updated),
            updated["Status"],
            updated["Reference"],
        )

    def test_null_contact_and_lines_keep_them(self, api: Api, created: dict[str, Any]) -> None:
        """Null Contact, LineItems and Date keep what is stored."""
        updated = _update(api, created["InvoiceID"], Contact=None, LineItems=None, Date=None)

        assert ([], created["Contact"]["ContactID"], Decimal("115.00")) == (
            messages(updated),
            updated["Contact"]["ContactID"],
            updated["Total"],
        )


class TestSentToContact:
    def test_text_false_is_false(self, api: Api, contact_id: str) -> None:
        """``"false"`` (as XML sends it) is false: a draft may carry it."""
        (created,) = api.create(
            invoice(contact_id, "INV-0001", status="DRAFT", SentToContact="false")
        )

        assert ([], False) == (messages(created), created["SentToContact"])

    def test_text_true_is_true(self, api: Api, contact_id: str) -> None:
        """``"True"`` marks an approved invoice sent."""
        (created,) = api.create(invoice(contact_id, "INV-0001", SentToContact="True"))

        assert True is created["SentToContact"]

    def test_other_text_is_refused(self, api: Api, contact_id: str) -> None:
        """Anything but true or false is refused, naming the field."""
        # The echo carries "yes" as sent, which is no boolean: not a valid Invoice.
        unchecked = Api(api.xero, checked=False)

        (created,) = unchecked.create(invoice(contact_id, "INV-0001", SentToContact="yes"))

        assert ["'yes' is not a valid value for SentToContact; send true or false."] == messages(
            created
        )


class TestAccountById:
    @pytest.fixture(name="ids")
    def _ids(self, api: Api) -> dict[str, str]:
        status, body = api.call("GET", "/Accounts")
        assert 200 == status
        return {a["Code"]: a["AccountID"] for a in body["Accounts"]}

    def test_bank_account_by_id_is_refused(
        self, api: Api, contact_id: str, ids: dict[str, str]
    ) -> None:
        """A BANK account named by AccountID is refused as it is by code."""
        bank = {"Description": "W", "Quantity": 1, "UnitAmount": 10, "AccountID": ids["090"]}

        (created,) = api.create(invoice(contact_id, "INV-0001", bank))

        assert ["Account code '090' is not a valid code for this document."] == messages(created)

    def test_archived_account_by_id_is_refused(
        self, api: Api, contact_id: str, ids: dict[str, str]
    ) -> None:
        """So is an archived account, even on a draft."""
        old = {"Description": "W", "Quantity": 1, "UnitAmount": 10, "AccountID": ids["210"]}

        (created,) = api.create(invoice(contact_id, "INV-0001", old, status="DRAFT"))

        assert [
            "Account code '210' has been archived, or has been deleted. Each line item must "
            "reference a valid account."
        ] == messages(created)

    def test_account_id_in_upper_case(self, api: Api, contact_id: str, ids: dict[str, str]) -> None:
        """An AccountID in upper case, without dashes, names the account."""
        sales = {
            "Description": "W",
            "Quantity": 1,
            "UnitAmount": 10,
            "AccountID": ids["200"].replace("-", "").upper(),
            "TaxType": "OUTPUT2",
        }

        (created,) = api.create(invoice(contact_id, "INV-0001", sales))

        assert ([], "200") == (messages(created), created["LineItems"][0]["AccountCode"])


class TestRepeatedLineItemId:
    def test_same_line_twice_is_refused(
        self, api: Api, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """One LineItemID twice in an update is refused; the invoice keeps its one line."""
        line_id = created["LineItems"][0]["LineItemID"]

        updated = _update(
            api,
            created["InvoiceID"],
            LineItems=[{"LineItemID": line_id}, {"LineItemID": line_id.upper()}],
        )

        assert [
            f"The LineItemID '{line_id}' is sent more than once; each line item can be sent once."
        ] == messages(updated)
        assert [line_id] == [
            li["LineItemID"] for li in xero.invoice(created["InvoiceID"])["LineItems"]
        ]


class TestReVoid:
    def test_voiding_a_voided_invoice_is_a_no_op(
        self, api: Api, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """A second void succeeds and changes nothing (UpdatedDateUTC included)."""
        _update(api, created["InvoiceID"], Status="VOIDED")
        stamp = xero.invoice(created["InvoiceID"])["UpdatedDateUTC"]

        again = _update(api, created["InvoiceID"], Status="VOIDED")

        assert ([], "VOIDED") == (messages(again), again["Status"])
        assert stamp == xero.invoice(created["InvoiceID"])["UpdatedDateUTC"]

    def test_with_read_only_flags(self, api: Api, created: dict[str, Any]) -> None:
        """SDKs send read-only flags (HasAttachments) with a void; still a no-op retry."""
        _update(api, created["InvoiceID"], Status="VOIDED")

        again = _update(api, created["InvoiceID"], Status="VOIDED", HasAttachments=False)

        assert [] == messages(again)

    def test_deleting_a_voided_invoice_is_refused(self, api: Api, created: dict[str, Any]) -> None:
        """Another status for a voided invoice is still refused."""
        _update(api, created["InvoiceID"], Status="VOIDED")

        assert [NOT_VALID] == messages(_update(api, created["InvoiceID"], Status="DELETED"))

    def test_editing_a_voided_invoice_is_refused(self, api: Api, created: dict[str, Any]) -> None:
        """An edit sent with the voided status is refused."""
        _update(api, created["InvoiceID"], Status="VOIDED")

        refused = _update(api, created["InvoiceID"], Status="VOIDED", Reference="changed")

        assert [NOT_VALID] == messages(refused)


class TestRoundingFirst:
    def _pay(self, api: Api, invoice_id: str, amount: str) -> dict[str, Any]:
        payment = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Amount": Decimal(amount),
        }
        status, body = api.call(
            "PUT", "/Payments", {"Payments": [payment]}, params={"summarizeErrors": "false"}
        )
        assert 200 == status
        return dict(body["Payments"][0])

    def test_a_tenth_of_a_cent_is_nothing(
        self, api: Api, xero: FakeXero, created: dict[str, Any]
    ) -> None:
        """0.001 rounds to 0.00 and is refused as "greater than zero"; nothing is stored."""
        refused = self._pay(api, created["InvoiceID"], "0.001")

        assert ["The payment Amount must be greater than zero."] == messages(refused)
        assert [] == xero.payments()

    def test_half_a_cent_rounds_up(self, api: Api, xero: FakeXero, created: dict[str, Any]) -> None:
        """0.005 rounds to 0.01 and is paid as 0.01."""
        paid = self._pay(api, created["InvoiceID"], "0.005")

        assert Decimal("0.01") == paid["Amount"]

    def test_just_over_due_that_rounds_to_it(self, api: Api, created: dict[str, Any]) -> None:
        """115.004 rounds to the 115.00 due: accepted, the invoice is paid."""
        paid = self._pay(api, created["InvoiceID"], "115.004")

        assert [] == messages(paid)
        assert "PAID" == api.invoice(created["InvoiceID"])["Status"]


class TestCreditNotes:
    def test_not_on_a_bill(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A sales credit note cannot be allocated to a bill (ACCPAY)."""
        (bill,) = api.create(
            invoice(contact_id, "BILL-1", line(account="400", tax="INPUT2"), Type="ACCPAY")
        )

        with pytest.raises(XeroValidationError) as raised:
            xero.add_credit_note(bill["InvoiceID"], Decimal("10.00"))

        assert ["A sales credit note can only be allocated to a sales invoice (ACCREC)."] == [
            m.message for m in raised.value.messages
        ]

    def test_wording_is_a_credit_notes(self, xero: FakeXero, created: dict[str, Any]) -> None:
        """Its refusals speak of the credit note, not of a payment; amounts round first."""
        with pytest.raises(XeroValidationError) as tiny:
            xero.add_credit_note(created["InvoiceID"], Decimal("0.001"))
        with pytest.raises(XeroValidationError) as over:
            xero.add_credit_note(created["InvoiceID"], Decimal("115.01"))

        assert ["The credit note Amount must be greater than zero."] == [
            m.message for m in tiny.value.messages
        ]
        assert ["The credit note Amount exceeds the amount outstanding on the invoice."] == [
            m.message for m in over.value.messages
        ]

    def test_on_a_draft(self, api: Api, xero: FakeXero, contact_id: str) -> None:
        """A draft takes no credit note."""
        (draft,) = api.create(invoice(contact_id, "INV-0009", status="DRAFT", due=date(2026, 2, 1)))

        with pytest.raises(XeroValidationError) as raised:
            xero.add_credit_note(draft["InvoiceID"], Decimal("1.00"))

        assert ["Invoice not of valid status for allocation"] == [
            m.message for m in raised.value.messages
        ]


@pytest.mark.parametrize("text", ["1_000", " 1.5 ", "Infinity", "0x10"])
def test_numbers_are_plain_digits_as_xero_reads_them(text: str) -> None:
    """Python's Decimal takes "1_000" and " 1.5 "; Xero takes plain numbers only, so the
    fake refuses what Xero would refuse rather than pass a client that fails in production."""
    from bms_xero.testing._rules import _number_problem

    assert _number_problem(text, "Quantity") is not None
    assert _number_problem("-1.50e2", "Quantity") is None
