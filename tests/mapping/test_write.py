"""The shaped writer (``mapping._write``) gives the generic route's bytes, exactly.

Fingerprints stored for pushed invoices are sha256 of these bytes: one differing byte would
make every invoice pushed before look changed and be sent again, so the property compares
bytes, not parsed JSON.
"""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bms_xero import Customer, Invoice, InvoiceStatus, LineAmountTypes, LineItem, Tracking
from bms_xero.errors import MissingContactId, TaxCodeError
from bms_xero.mapping import invoice_payload
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._rounding import RoundingLine
from bms_xero.mapping._write import amount_text, invoice_element
from bms_xero.mapping.wire import WireInvoice, encode_json
from tests.strategies import TAX_MAP, decimals, invoices

# Strings that need escaping: quotes, backslashes, control characters, non-ASCII, emoji.
awkward = st.text(
    alphabet=st.sampled_from(['"', "\\", "/", "\t", "\n", "é", "€", "😀", "a", " ", "\u2028"]),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() != "")


def generic(invoice: Invoice, *, mark_sent: bool = False, rounding: RoundingLine | None = None):
    """The generic route: the payload dict, encoded, as ``WireInvoice.of_payload`` builds it."""
    wire = WireInvoice.of_payload(
        invoice_payload(invoice, TAX_MAP, mark_sent=mark_sent, rounding=rounding)
    )
    return wire if rounding is None else attrs.evolve(wire, rounding=rounding.amount)


@st.composite
def varied(draw: st.DrawFn) -> Invoice:
    """Generated invoices, then the fields the shared strategy leaves fixed varied too."""
    invoice = draw(invoices)
    no_tax = draw(st.booleans())  # a line may leave its tax code out only on a NoTax invoice
    lines = [
        attrs.evolve(
            line,
            description=draw(st.one_of(st.just(line.description), awkward)),
            tax_code=draw(st.one_of(st.just(line.tax_code), st.none()))
            if no_tax
            else line.tax_code,
            tracking=draw(
                st.one_of(
                    st.just(line.tracking),
                    st.lists(st.builds(Tracking, name=awkward, option=awkward), max_size=2).map(
                        tuple
                    ),
                )
            ),
        )
        for line in invoice.lines
    ]
    currency = draw(st.one_of(st.none(), st.sampled_from(["USD", "AUD"])))
    return attrs.evolve(
        invoice,
        lines=tuple(lines),
        line_amount_types=LineAmountTypes.NO_TAX if no_tax else invoice.line_amount_types,
        status=draw(
            st.sampled_from(
                [InvoiceStatus.DRAFT, InvoiceStatus.SUBMITTED, InvoiceStatus.AUTHORISED]
            )
        ),
        currency_code=currency or invoice.currency_code,
        currency_rate=None if currency is None else draw(decimals(6, "0.000001", "1000")),
        reference=draw(st.one_of(st.just(invoice.reference), awkward)),
    )


roundings = st.one_of(
    st.none(),
    st.builds(
        RoundingLine,
        amount=decimals(2, "-0.99", "0.99"),
        account_code=st.sampled_from(["860", "ROUND"]),
        tax_type=st.sampled_from(["NONE", "OUTPUT2"]),
        description=awkward,
    ),
)


@settings(max_examples=300, deadline=None)
@given(varied(), st.booleans(), roundings)
def test_the_shaped_writer_gives_the_generic_bytes(
    invoice: Invoice, mark_sent: bool, rounding: RoundingLine | None
) -> None:
    expected = generic(invoice, mark_sent=mark_sent, rounding=rounding)

    actual = WireInvoice.of(invoice, TAX_MAP, mark_sent=mark_sent, rounding=rounding)

    assert expected.body == actual.body
    assert expected == actual


def _invoice(**changes: object) -> Invoice:
    fields: dict[str, object] = {
        "id": "B-1",
        "number": "INV-1",
        "customer": Customer(
            id="C-1", name="Acme", xero_contact_id="c0ffee00-0000-4000-8000-000000000001"
        ),
        "issue_date": date(2026, 1, 6),
        "due_date": None,
        "lines": (
            LineItem(
                description='Say "hi" \\ 😀',
                quantity=Decimal("1.5000"),
                unit_amount=Decimal("1E+2"),
                account_code="200",
                tax_code="GST15",
                discount_rate=Decimal("0"),
            ),
        ),
        "reference": "R €",
        "status": InvoiceStatus.DRAFT,  # a draft may go without a due date
    }
    fields.update(changes)
    return Invoice(**fields)  # type: ignore[arg-type]


def test_a_literal_element() -> None:
    """Exponent-free amounts with their own places, escaped text, a null due date."""
    expected = (
        b'{"Type":"ACCREC","Contact":{"ContactID":"c0ffee00-0000-4000-8000-000000000001"},'
        b'"InvoiceNumber":"INV-1","Date":"2026-01-06","DueDate":null,'
        b'"LineAmountTypes":"Exclusive","Status":"DRAFT","LineItems":[{"Description":'
        b'"Say \\"hi\\" \\\\ \\ud83d\\ude00","Quantity":1.5000,"UnitAmount":100,'
        b'"AccountCode":"200","TaxType":"OUTPUT2","DiscountRate":0}],"Reference":"R \\u20ac"}'
    )

    actual = invoice_element(_invoice(), TaxMap(TAX_MAP))

    assert expected == actual
    assert encode_json(invoice_payload(_invoice(), TAX_MAP)) == actual


def test_the_shaped_writer_refuses_what_the_generic_route_refuses() -> None:
    unlinked = _invoice(customer=Customer(id="C-2", name="New Co"))
    unmapped = _invoice(
        lines=(
            LineItem(
                description="x", quantity=1, unit_amount=1, account_code="200", tax_code="NOPE"
            ),
        )
    )

    with pytest.raises(MissingContactId) as shaped_missing:
        WireInvoice.of(unlinked, TAX_MAP)
    with pytest.raises(MissingContactId) as generic_missing:
        generic(unlinked)
    with pytest.raises(TaxCodeError) as shaped_tax:
        WireInvoice.of(unmapped, TAX_MAP)
    with pytest.raises(TaxCodeError) as generic_tax:
        generic(unmapped)

    assert str(generic_missing.value) == str(shaped_missing.value)
    assert (generic_tax.value.tax_code, generic_tax.value.paths) == (
        shaped_tax.value.tax_code,
        shaped_tax.value.paths,
    )


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_amounts_are_written_as_format_f_writes_them(value: Decimal) -> None:
    assert format(value, "f") == amount_text(value)


def test_exponents_written_in_lower_case_are_still_plain() -> None:
    """Under a context with ``capitals=0`` ``str()`` writes ``1e+2``: still sent as ``100``."""
    with decimal.localcontext() as context:
        context.capitals = 0

        assert ("100", "0.0000001") == (
            amount_text(Decimal("1E+2")),
            amount_text(Decimal("1E-7")),
        )


@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "-Infinity"])
def test_a_non_finite_amount_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        amount_text(Decimal(text))
