"""Domain types validate on construction and report every problem at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from bms_xero import Customer, Invoice, InvoiceStatus, LineAmountTypes, LineItem, Tracking
from bms_xero.errors import BmsXeroError, FieldProblem, InvoiceValidationError

CONTACT = "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"


def line(**overrides: Any) -> LineItem:
    values: dict[str, Any] = {
        "description": "Widget",
        "quantity": Decimal("2"),
        "unit_amount": Decimal("50.00"),
        "account_code": "200",
        "tax_code": "GST15",
    }
    return LineItem(**(values | overrides))


def invoice(**overrides: Any) -> Invoice:
    values: dict[str, Any] = {
        "id": "I-1",
        "number": "INV-0001",
        "customer": Customer(id="C-1", name="Acme Ltd", xero_contact_id=CONTACT),
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "lines": (line(),),
    }
    return Invoice(**(values | overrides))


def test_valid_invoice_builds_with_defaults() -> None:
    """A valid invoice builds, defaulting to Exclusive amounts and AUTHORISED status."""
    built = invoice()
    assert (LineAmountTypes.EXCLUSIVE, InvoiceStatus.AUTHORISED) == (
        built.line_amount_types,
        built.status,
    )


def test_strings_and_ints_become_decimals() -> None:
    """Amounts given as decimal strings or ints are stored as exact Decimals."""
    built = line(quantity="1.5", unit_amount=3)
    assert (Decimal("1.5"), Decimal(3)) == (built.quantity, built.unit_amount)


def test_float_is_refused_with_advice() -> None:
    """A float amount is refused with a message that says to use Decimal or a string."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(lines=(line(unit_amount=10.1),))
    assert ("lines[0].unit_amount",) == caught.value.paths
    assert "Decimal('10.1')" in str(caught.value)


def test_all_problems_reported_together_with_paths() -> None:
    """Every problem of one invoice is in one error, each naming its field."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(
            number="",
            currency_code="nzd",
            lines=(
                line(),
                line(),
                line(account_code="12345678901", description="", quantity=Decimal("NaN")),
            ),
            due_date=date(2026, 1, 1),
        )
    expected = {
        "number",
        "currency_code",
        "lines[2].account_code",
        "lines[2].description",
        "lines[2].quantity",
        "due_date",
    }
    assert expected == set(caught.value.paths)
    assert str(caught.value).startswith("invoice is not valid (6 problems): ")


def test_error_names_invoice_number() -> None:
    """The validation error carries the invoice number so job errors can name it."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(lines=())
    assert ("INV-0001", ("lines",)) == (caught.value.invoice_number, caught.value.paths)


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("number", "N" * 256, "number"),
        ("reference", "R" * 256, "reference"),
        ("url", "ftp://example.com/x", "url"),
        ("currency_code", "EURO", "currency_code"),
        ("status", "PAID", "status"),
        ("status", "NOPE", "status"),
        ("line_amount_types", "Gross", "line_amount_types"),
        ("issue_date", datetime(2026, 11, 2, 10, 0, tzinfo=UTC), "issue_date"),
        ("total", Decimal("1.005"), "total"),
    ],
)
def test_header_limits(field: str, value: object, path: str) -> None:
    """Header fields outside Xero's limits are refused with their path."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(**{field: value})
    assert (path,) == caught.value.paths


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"description": "d" * 4001}, "lines[0].description"),
        ({"account_code": "A" * 11}, "lines[0].account_code"),
        ({"quantity": Decimal("1.00001")}, "lines[0].quantity"),
        ({"unit_amount": Decimal("0.12345")}, "lines[0].unit_amount"),
        ({"discount_rate": Decimal("100.01")}, "lines[0].discount_rate"),
        ({"discount_rate": Decimal("-1")}, "lines[0].discount_rate"),
        ({"item_code": "I" * 31}, "lines[0].item_code"),
        ({"quantity": True}, "lines[0].quantity"),
        ({"unit_amount": "ten"}, "lines[0].unit_amount"),
        ({"tracking": (Tracking(name="a", option="b"),) * 3}, "lines[0].tracking"),
        ({"tracking": (Tracking(name="a" * 101, option="b"),)}, "lines[0].tracking[0].name"),
        ({"tax_code": None}, "lines[0].tax_code"),
    ],
)
def test_line_limits(overrides: dict[str, Any], path: str) -> None:
    """Line fields outside Xero's limits are refused with their full path."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(lines=(line(**overrides),))
    assert (path,) == caught.value.paths


def test_no_tax_invoice_needs_no_tax_code() -> None:
    """A NoTax invoice's lines may omit the tax code."""
    built = invoice(line_amount_types="NoTax", lines=(line(tax_code=None),))
    assert LineAmountTypes.NO_TAX == built.line_amount_types


def test_due_date_needed_unless_draft() -> None:
    """An approved invoice needs a due date or terms; a draft does not."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(due_date=None)
    assert ("due_date",) == caught.value.paths
    assert invoice(due_date=None, status="DRAFT").due_date is None


def test_customer_validates_contact_id() -> None:
    """A Xero contact id that is not a GUID is refused at once."""
    with pytest.raises(InvoiceValidationError) as caught:
        Customer(id="C-1", name="Acme", xero_contact_id="acme")
    assert ("xero_contact_id",) == caught.value.paths


def test_validation_error_is_a_bms_xero_error() -> None:
    """Validation errors sit under the one root, and are ValueErrors too."""
    with pytest.raises(BmsXeroError):
        invoice(lines=())
    assert issubclass(InvoiceValidationError, ValueError)


def test_field_problem_under_prefixes_path() -> None:
    """A problem seen from a containing object gets the container's path."""
    assert FieldProblem("lines[1].quantity", "bad") == FieldProblem("quantity", "bad").under(
        "lines[1]"
    )


def test_line_validate_alone() -> None:
    """A line can be checked on its own before it joins an invoice."""
    with pytest.raises(InvoiceValidationError) as caught:
        line(account_code="").validate()
    assert ("account_code",) == caught.value.paths
