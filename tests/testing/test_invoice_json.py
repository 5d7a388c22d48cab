"""``invoice_json`` writes exactly what ``dump_json(render_invoice(...))`` writes.

The fake answers invoice reads and writes with text written straight from the stored
invoice (``_render.invoice_json``) rather than by encoding ``render_invoice``'s dict; the two
are kept in step by hand, so this checks them against each other over invoices that show
every optional part: payments (live and deleted), prepayments, overpayments, credit notes,
discounts, tracking, description-only lines, no due date, a Url, text that JSON escapes and
amounts whose plain text ``str()`` does not write.
"""

from __future__ import annotations

import decimal
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bms_xero.mapping._dates import format_ms_datetime
from bms_xero.testing import FakeXero
from bms_xero.testing._api import dump_json
from bms_xero.testing._encode import number_json, numbers_json
from bms_xero.testing._render import _ms_datetime_json, invoice_json, render_invoice
from tests.testing.helpers import Api, invoice, line


def _made(api: Api, *elements: dict[str, Any], **params: str) -> list[dict[str, Any]]:
    status, body = api.call(
        "PUT",
        "/Invoices",
        {"Invoices": list(elements)},
        params={"summarizeErrors": "false", **params},
    )
    assert 200 == status
    assert all(not i.get("ValidationErrors") for i in body["Invoices"]), body
    return list(body["Invoices"])


@pytest.fixture(name="varied")
def _varied(api: Api, xero: FakeXero, contact_id: str) -> FakeXero:
    odd = xero.add_contact(name='Zoë "Quotes" \\ Ltd\t\u2603')
    bare = xero.add_contact(name="No Number Pty")
    made = _made(
        api,
        invoice(contact_id, "J-1", line("49.95", "3"), line("0.3375", "12.5", DiscountRate=10)),
        invoice(
            odd,
            "J-2 \u00e9\"\\",
            line("10.00", "2", DiscountAmount=Decimal("1.5")),
            {"Description": "only words \u0001"},
            line(
                "1.005",
                "1",
                tax=None,
                ItemCode="IC \u00e9",
                Tracking=[{"Name": "Region", "Option": "Nörth"}, {"Name": "B", "Option": "2"}],
            ),
            Reference='ref "quoted" \u2603',
            Url="https://example.com/doc?a=1&b=\u00e9",
            CurrencyRate=Decimal("1E+1"),
        ),
        invoice(bare, "J-3", line("100"), status="DRAFT", due=None),
        invoice(contact_id, "J-4", line("115.00"), LineAmountTypes="Inclusive"),
        invoice(contact_id, "J-5", line("115.00"), LineAmountTypes="NoTax"),
        invoice(contact_id, "J-6", line("20.00"), line("30.00")),
        invoice(contact_id, "J-7", line("40.00")),
        invoice(contact_id, "J-8", line("0.0001", "0.0001", DiscountRate=Decimal("1E-7"))),
        {**invoice(contact_id, "J-9", line("5.00", tax="INPUT2")), "Type": "ACCPAY"},
        unitdp="4",
    )
    ids = {i["InvoiceNumber"]: i["InvoiceID"] for i in made}
    # Payments: one live, one reversed; J-7 paid in full (FullyPaidOnDate).
    xero.pay(ids["J-6"], Decimal("10.00"), on=date(2026, 1, 20), reference="part")
    reversed_payment = xero.pay(ids["J-6"], Decimal("5.00"))
    xero.delete_payment(reversed_payment)
    xero.pay(ids["J-7"], Decimal("46.00"), on=date(2026, 1, 21))
    # Credits applied to J-1: a prepayment, an overpayment and a credit note.
    prepayment = xero.prepay(contact_id, Decimal("30.00"), reference="PP")
    xero.allocate(prepayment, ids["J-1"], Decimal("12.00"))
    xero.allocate(prepayment, ids["J-1"], Decimal("3.00"))
    overpayment = xero.overpay(contact_id, Decimal("20.00"))
    xero.allocate(overpayment, ids["J-1"], Decimal("7.25"))
    xero.add_credit_note(ids["J-1"], Decimal("2.50"))
    xero.add_credit_note(ids["J-4"], Decimal("115.00"))
    api.call("POST", f"/Invoices/{ids['J-4']}", {"SentToContact": True})
    xero.void(ids["J-5"])
    return xero


def test_invoice_json_is_dump_json_of_render_invoice(varied: FakeXero) -> None:
    """Every invoice, every way an answer shows one: the same text."""
    org = varied._orgs[varied.tenant_id]
    assert len(org.invoices) == 9
    for stored in org.invoices.values():
        for unitdp in (2, 4):
            for lines in (True, False):
                for summary in (False, True):
                    expected = dump_json(
                        render_invoice(stored, org, unitdp=unitdp, lines=lines, summary=summary)
                    ).decode()
                    written = invoice_json(
                        stored, org, unitdp=unitdp, lines=lines, summary=summary
                    )

                    assert expected == written, (stored.number, unitdp, lines, summary)


def test_the_varied_invoices_show_every_optional_part(varied: FakeXero) -> None:
    """The comparison above is only as good as what the invoices show: check they show it."""
    org = varied._orgs[varied.tenant_id]
    text = "".join(invoice_json(i, org) for i in org.invoices.values())
    for member in (
        '"Prepayments":[{',
        '"Overpayments":[{',
        '"Payments":[{',
        '"CreditNotes":[{',
        '"FullyPaidOnDate"',
        '"TotalDiscount"',
        '"DiscountAmount"',
        '"DiscountRate":0.0000001',
        '"CurrencyRate":10,',
        '"ItemCode"',
        '"Url"',
        '"Tracking":[{',
        '"SentToContact":true',
        "\\u2603",
        '\\"',
    ):
        assert member in text, member
    no_due = [i for i in varied._orgs[varied.tenant_id].invoices.values() if i.due_date is None]
    assert no_due


@pytest.mark.parametrize(
    "value",
    ["0", "-0", "0.00", "-0.00", "1E+2", "1.0E+3", "0E+2", "0E-7", "1E-6", "1E-7", "12.345",
     "-999999999999.99", "123456789012345678901234567890.123", "0.000001", "0.0000001"],
)
def test_number_json_is_format_f(value: str) -> None:
    """Amounts are written as ``format(value, "f")`` whichever way ``str()`` writes them."""
    assert format(Decimal(value), "f") == number_json(Decimal(value))


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "sNaN", "NaN123"])
def test_number_json_refuses_what_is_no_number(value: str) -> None:
    """Non-finite amounts are refused, as dump_json refuses them."""
    with pytest.raises(TypeError, match="cannot write"):
        number_json(Decimal(value))


def test_numbers_json_is_number_json_of_each() -> None:
    """Written together or one by one, amounts read the same; one odd amount among plain
    ones still comes out as ``format(value, "f")``."""
    plain = [Decimal("1.00"), Decimal("-0.00"), Decimal("12.3456"), Decimal("0.000001")]
    for odd in (Decimal("1E+2"), Decimal("1E-7"), Decimal("0E+3")):
        values = (*plain, odd)

        assert tuple(format(v, "f") for v in values) == numbers_json(*values)


def test_exponents_written_in_lower_case_are_still_plain() -> None:
    """Under a context with ``capitals=0`` ``str()`` writes ``1e+2``: still written ``100``."""
    with decimal.localcontext() as context:
        context.capitals = 0

        assert ("100", "0.0000001") == numbers_json(Decimal("1E+2"), Decimal("1E-7"))
        assert "100" == number_json(Decimal("1E+2"))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 1, 5, 9, 0, 0, 5000, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 0, 0, 999, tzinfo=UTC),
        datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=13))),
    ],
)
def test_stamps_are_written_as_format_ms_datetime_writes_them(value: datetime) -> None:
    """UpdatedDateUTC written straight to JSON is format_ms_datetime's text, quoted."""
    assert json.dumps(format_ms_datetime(value)) == _ms_datetime_json(value)
