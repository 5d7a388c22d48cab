"""Domain types validate on construction and report every problem at once."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest

from bms_xero import (
    Customer,
    Invoice,
    InvoiceStatus,
    LineAmountTypes,
    LineItem,
    PaymentTerms,
    PaymentTermType,
    Tracking,
)
from bms_xero.errors import BmsXeroError, FieldProblem, InvoiceValidationError

CONTACT = "9b9ba9e5-e907-4b4e-8210-54d2a4e2a0a4"


def line_fields(**overrides: Any) -> dict[str, Any]:
    """A valid line's fields, as raw data for Invoice.build (a bad line can't be built)."""
    values: dict[str, Any] = {
        "description": "Widget",
        "quantity": Decimal("2"),
        "unit_amount": Decimal("50.00"),
        "account_code": "200",
        "tax_code": "GST15",
    }
    return values | overrides


def line(**overrides: Any) -> LineItem:
    return LineItem(**line_fields(**overrides))


def invoice(**overrides: Any) -> Invoice:
    """An invoice built from raw data, so problems in its lines carry their paths."""
    values: dict[str, Any] = {
        "id": "I-1",
        "number": "INV-0001",
        "customer": Customer(id="C-1", name="Acme Ltd", xero_contact_id=CONTACT),
        "issue_date": date(2026, 11, 2),
        "due_date": date(2026, 12, 2),
        "lines": (line_fields(),),
    }
    return Invoice.build(**(values | overrides))


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
        invoice(lines=(line_fields(unit_amount=10.1),))
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
                line_fields(),
                line_fields(account_code="12345678901", description="", quantity=Decimal("NaN")),
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
        ({"tracking": ({"name": "a" * 101, "option": "b"},)}, "lines[0].tracking[0].name"),
        ({"tax_code": None}, "lines[0].tax_code"),
    ],
)
def test_line_limits(overrides: dict[str, Any], path: str) -> None:
    """Line fields outside Xero's limits are refused with their full path."""
    with pytest.raises(InvoiceValidationError) as caught:
        invoice(lines=(line_fields(**overrides),))
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
    """A line is checked on its own, before it joins an invoice: building it raises."""
    with pytest.raises(InvoiceValidationError) as caught:
        line(account_code="")
    assert ("account_code",) == caught.value.paths


class TestConstruction:
    """Constructors convert and check every argument before any is assigned."""

    def test_a_bad_line_reports_every_problem_itself(self) -> None:
        """A line with a float quantity and an empty description raises once, naming both."""
        with pytest.raises(InvoiceValidationError) as caught:
            line(quantity=1.5, description="")

        assert {"description", "quantity"} == set(caught.value.paths)

    def test_the_constructor_reports_every_header_problem(self) -> None:
        """Invoice(...) itself lists every problem of its own fields at once."""
        with pytest.raises(InvoiceValidationError) as caught:
            Invoice(
                id="I-1",
                number="INV-1",
                customer=Customer(id="C-1", name="Acme"),
                reference="R" * 256,
                issue_date=date(2026, 11, 2),
                due_date=date(2026, 1, 1),
                lines=(line(tax_code=None),),
                currency_code="nzd",
                status="PAID",
                total=1.5,  # type: ignore[arg-type]
            )

        expected = {
            "reference",
            "currency_code",
            "status",
            "total",
            "due_date",
            "lines[0].tax_code",
        }
        assert (expected, "INV-1") == (set(caught.value.paths), caught.value.invoice_number)

    def test_parts_must_be_built(self) -> None:
        """The constructor takes built parts only; a mapping is for Invoice.build."""
        with pytest.raises(InvoiceValidationError) as caught:
            invoice_values = {"description": "Widget"}
            Invoice(
                id="I-1",
                number="INV-1",
                customer={"id": "C-1", "name": "Acme"},  # type: ignore[arg-type]
                issue_date=date(2026, 11, 2),
                due_date=date(2026, 12, 2),
                lines=(invoice_values,),  # type: ignore[arg-type]
            )

        assert ("must be a Customer", "must be a LineItem") == tuple(
            p.message for p in caught.value.problems
        )

    def test_fields_hold_converted_values(self) -> None:
        """Strings for enums and amounts become members and Decimals; nothing raw is kept."""
        built = invoice(
            line_amount_types="Inclusive",
            status="DRAFT",
            total="115.00",
            payment_terms=PaymentTerms("DAYSAFTERBILLDATE", 30),  # type: ignore[arg-type]
            lines=(line_fields(quantity=2, unit_amount="50.00"),),
        )

        assert (
            LineAmountTypes.INCLUSIVE,
            InvoiceStatus.DRAFT,
            Decimal("115.00"),
            PaymentTermType.DAYS_AFTER_INVOICE_DATE,
            Decimal("100.00"),
        ) == (
            built.line_amount_types,
            built.status,
            built.total,
            built.payment_terms.type if built.payment_terms else None,
            built.lines[0].gross_amount,
        )

    def test_evolve_checks_again(self) -> None:
        """attrs.evolve builds through the constructor, so a bad change raises."""
        with pytest.raises(InvoiceValidationError) as caught:
            attrs.evolve(line(), quantity=1.5)

        assert ("quantity",) == caught.value.paths

    def test_lines_may_be_a_generator(self) -> None:
        """Lines given as a one-pass generator are checked and kept, not used up."""
        built = invoice(lines=(line() for _ in range(2)))

        assert 2 == len(built.lines)

    def test_a_built_object_has_no_problems(self) -> None:
        """problems() of a built object is empty, and validate() passes."""
        built = invoice()
        built.lines[0].validate()

        assert [] == built.problems() == built.lines[0].problems() == built.customer.problems()

    def test_messages_survive_any_value(self) -> None:
        """A deeply nested list or a huge int in a message is named, never repr'd whole."""
        deep: list[Any] = []
        for _ in range(100_000):
            deep = [deep]

        with pytest.raises(InvoiceValidationError) as caught:
            invoice(status=deep, currency_code=deep, line_amount_types=10**5000)

        assert {"status", "currency_code", "line_amount_types"} == set(caught.value.paths)
        assert len(str(caught.value)) < 1000


class TestBuild:
    """Invoice.build and friends read raw data and report every problem of it at once."""

    def test_parts_may_be_mappings(self) -> None:
        """Customer, lines, terms and tracking given as mappings build the same invoice."""
        raw = Invoice.build(
            id="I-1",
            number="INV-1",
            customer={"id": "C-1", "name": "Acme", "xero_contact_id": CONTACT},
            issue_date=date(2026, 11, 2),
            payment_terms={"type": "DAYSAFTERBILLDATE", "days": 30},
            lines=[line_fields(tracking=[{"name": "Region", "option": "North"}])],
        )
        built = Invoice(
            id="I-1",
            number="INV-1",
            customer=Customer(id="C-1", name="Acme", xero_contact_id=CONTACT),
            issue_date=date(2026, 11, 2),
            payment_terms=PaymentTerms.days_after_invoice_date(30),
            lines=[line(tracking=(Tracking(name="Region", option="North"),))],
        )

        assert built == raw

    def test_every_problem_of_the_whole_invoice_at_once(self) -> None:
        """Problems of the header, the customer, each line and its tracking come together."""
        with pytest.raises(InvoiceValidationError) as caught:
            invoice(
                number="",
                customer={"id": "C-1", "name": 7},
                payment_terms={"type": "NET", "days": 3},
                lines=[
                    line_fields(),
                    line_fields(quantity=1.5, description="", tracking=[{"name": ""}]),
                    "not a line",
                ],
            )

        assert {
            "number",
            "customer.name",
            "payment_terms.type",
            "lines[1].quantity",
            "lines[1].description",
            "lines[1].tracking[0].name",
            "lines[1].tracking[0].option",
            "lines[2]",
        } == set(caught.value.paths)

    def test_unknown_and_missing_fields_are_problems(self) -> None:
        """An unknown or a missing field is reported with the others, not as a TypeError."""
        with pytest.raises(InvoiceValidationError) as caught:
            Invoice.build(
                id="I-1",
                number="INV-1",
                colour="red",
                customer={"id": "C-1", "nmae": "Acme"},
                issue_date=date(2026, 11, 2),
                due_date=date(2026, 12, 2),
                lines=[{"description": "Widget", "quantity": 1, "unit_amount": 1}],
            )

        found = {p.path: p.message for p in caught.value.problems}
        assert {
            "colour",
            "customer.nmae",
            "customer.name",
            "lines[0].account_code",
            "lines[0].tax_code",
        } == set(found)
        assert "did you mean 'name'?" in found["customer.nmae"]
        assert "is required but missing" == found["lines[0].account_code"]

    def test_a_failed_line_is_still_checked_for_its_tax_code(self) -> None:
        """A line that fails for another reason still says it needs a tax code."""
        with pytest.raises(InvoiceValidationError) as caught:
            invoice(lines=[line_fields(account_code="", tax_code=None)])

        assert {"lines[0].account_code", "lines[0].tax_code"} == set(caught.value.paths)

    @pytest.mark.parametrize(
        ("build", "path"),
        [
            (lambda: Tracking.build(name="", option="North"), "name"),
            (
                lambda: Customer.build(id="C-1", name="Acme", xero_contact_id="acme"),
                "xero_contact_id",
            ),
            (lambda: PaymentTerms.build(type="OFCURRENTMONTH", days=0), "days"),
            (
                lambda: LineItem.build(**line_fields(tracking=[{"name": "R", "option": ""}])),
                "tracking[0].option",
            ),
        ],
    )
    def test_each_part_has_a_builder(self, build: Any, path: str) -> None:
        """Every write type has build(**fields), reporting problems with their paths."""
        with pytest.raises(InvoiceValidationError) as caught:
            build()

        assert (path,) == caught.value.paths

    def test_built_parts_are_taken_as_they_are(self) -> None:
        """Parts already built may be mixed with mappings."""
        built = invoice(lines=[line(), line_fields(description="Second")])

        assert ["Widget", "Second"] == [ln.description for ln in built.lines]
