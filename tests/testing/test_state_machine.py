"""Random sequences of creates, updates, payments, voids and reads keep Xero's invariants."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from bms_xero.testing import FakeXero
from tests.testing.conftest import furnish
from tests.testing.helpers import Api, invoice

NUMBERS = st.sampled_from([f"INV-{n:04d}" for n in range(1, 13)])
STATUSES = st.sampled_from(["DRAFT", "SUBMITTED", "AUTHORISED", "VOIDED", "DELETED", "PAID"])
MONEY = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2)
UNIT = st.one_of(
    MONEY,
    st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99.9999"), places=4),
)
LINE = st.fixed_dictionaries(
    {
        "Description": st.just("Work"),
        "Quantity": st.decimals(min_value=Decimal("0.5"), max_value=Decimal("20"), places=1),
        "UnitAmount": UNIT,
        "AccountCode": st.sampled_from(["200"] * 8 + ["210", "999"]),
        "TaxType": st.sampled_from(["OUTPUT2"] * 6 + ["NONE", "INPUT2"]),
    },
    optional={"DiscountRate": st.decimals(min_value=0, max_value=50, places=0)},
)
LINES = st.lists(LINE, min_size=1, max_size=3)
AMOUNT_TYPES = st.sampled_from(["Exclusive", "Inclusive", "NoTax"])


class FakeXeroMachine(RuleBasedStateMachine):
    """Drives FakeXero over HTTP; every answer is checked against Xero's spec by Api."""

    invoices = Bundle("invoices")

    def __init__(self) -> None:
        super().__init__()
        self.xero = FakeXero(seed=0, minute_limit=10**6, day_limit=10**6)
        furnish(self.xero)
        self.contact_id = self.xero.add_contact(name="Acme Ltd")
        self.api = Api(self.xero)
        self.final: dict[str, dict[str, Any]] = {}  # VOIDED/DELETED invoices as first seen

    def _freeze_finished(self) -> None:
        for stored in self.xero.invoices():
            if stored["Status"] in ("VOIDED", "DELETED"):
                self.final.setdefault(stored["InvoiceID"], stored)

    @initialize(target=invoices, lines=LINES)
    def approved(self, lines: list[Any]) -> Any:
        usable = [{**line, "AccountCode": "200", "TaxType": "OUTPUT2"} for line in lines]
        [created] = self.api.create(invoice(self.contact_id, "INV-0100", *usable))
        return created["InvoiceID"]

    @rule(
        target=invoices,
        number=NUMBERS,
        status=st.sampled_from(["AUTHORISED"] * 3 + ["DRAFT", "SUBMITTED"]),
        lines=LINES,
        amount_types=AMOUNT_TYPES,
        dated=st.sampled_from([True] * 4 + [False]),
    )
    def create(
        self, number: str, status: str, lines: list[Any], amount_types: str, dated: bool
    ) -> Any:
        element = invoice(
            self.contact_id,
            number,
            *lines,
            status=status,
            LineAmountTypes=amount_types,
        )
        if not dated:
            del element["DueDate"]
        [created] = self.api.create(element)
        event(f"create {'refused' if created['HasErrors'] else 'stored'}")
        return multiple() if created["HasErrors"] else created["InvoiceID"]

    @rule(
        invoice_id=invoices,
        status=st.one_of(st.none(), STATUSES),
        lines=st.one_of(st.none(), LINES),
        number=st.one_of(st.none(), NUMBERS),
    )
    def update(
        self, invoice_id: str, status: str | None, lines: list[Any] | None, number: str | None
    ) -> None:
        element: dict[str, Any] = {"InvoiceID": invoice_id, "Reference": "changed"}
        if status is not None:
            element["Status"] = status
        if lines is not None:
            element["LineItems"] = lines
        if number is not None:
            element["InvoiceNumber"] = number
        status_code, body = self.api.call(
            "POST",
            f"/Invoices/{invoice_id}",
            {"Invoices": [element]},
            params={"summarizeErrors": "false"},
        )
        assert 200 == status_code
        event(f"update {'refused' if body['Invoices'][0]['HasErrors'] else 'stored'}")
        self._freeze_finished()

    @precondition(lambda self: any(i["Status"] == "AUTHORISED" for i in self.xero.invoices()))
    @rule(pick=st.integers(min_value=0, max_value=99), share=st.sampled_from(["1", "0.5", "1.01"]))
    def pay(self, pick: int, share: str) -> None:
        payable = [i for i in self.xero.invoices() if i["Status"] == "AUTHORISED"]
        chosen = payable[pick % len(payable)]
        invoice_id, due = chosen["InvoiceID"], chosen["AmountDue"]
        amount = max(Decimal("0.01"), (due * Decimal(share)).quantize(Decimal("0.01")))
        payment = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": "090"},
            "Amount": amount,
        }
        status_code, body = self.api.call(
            "PUT", "/Payments", {"Payments": [payment]}, params={"summarizeErrors": "false"}
        )
        assert 200 == status_code
        refused = body["Payments"][0]["HasValidationErrors"]
        event(f"payment {'refused' if refused else 'stored'}")

    @rule(invoice_id=invoices)
    def void(self, invoice_id: str) -> None:
        self.update(invoice_id, "VOIDED", None, None)

    @rule(invoice_id=invoices)
    def read_one(self, invoice_id: str) -> None:
        assert invoice_id == self.api.invoice(invoice_id, unitdp="4")["InvoiceID"]

    @rule(seconds=st.integers(min_value=0, max_value=30))
    def read_changes(self, seconds: int) -> None:
        self.xero.clock.advance(seconds)
        status_code, body = self.api.call(
            "GET",
            "/Invoices",
            params={"page": "1", "pageSize": "1000"},
            headers={"If-Modified-Since": "2026-01-05T09:00:00Z"},
        )
        assert (200, len(self.xero.invoices())) == (status_code, len(body["Invoices"]))

    @invariant()
    def amount_due_is_what_is_left(self) -> None:
        for stored in self.xero.invoices():
            expected = stored["Total"] - stored["AmountPaid"] - stored["AmountCredited"]
            assert expected == stored["AmountDue"]

    @invariant()
    def totals_are_sums_of_rounded_lines(self) -> None:
        for stored in self.xero.invoices():
            amounts = sum((line["LineAmount"] for line in stored["LineItems"]), Decimal(0))
            taxes = sum((line["TaxAmount"] for line in stored["LineItems"]), Decimal(0))
            inclusive = stored["LineAmountTypes"] == "Inclusive"
            expected = (
                (amounts - taxes, taxes, amounts)
                if inclusive
                else (
                    amounts,
                    taxes,
                    amounts + taxes,
                )
            )
            assert expected == (stored["SubTotal"], stored["TotalTax"], stored["Total"])

    @invariant()
    def sales_numbers_are_unique(self) -> None:
        counts = Counter(i["InvoiceNumber"] for i in self.xero.invoices() if i["Type"] == "ACCREC")
        assert [] == [number for number, count in counts.items() if count > 1]

    @invariant()
    def nothing_changes_after_void_or_delete(self) -> None:
        for invoice_id, frozen in self.final.items():
            assert frozen == self.xero.invoice(invoice_id)

    @invariant()
    def paid_means_nothing_due(self) -> None:
        for stored in self.xero.invoices():
            assert (stored["Status"] == "PAID") == (
                stored["AmountDue"] == 0 and stored["AmountPaid"] + stored["AmountCredited"] > 0
            )


FakeXeroMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFakeXeroMachine = FakeXeroMachine.TestCase
TestFakeXeroMachine.__doc__ = (
    "Any sequence of writes and reads keeps AmountDue = Total - AmountPaid - AmountCredited, "
    "unique numbers, frozen voided invoices and spec-valid bodies."
)
