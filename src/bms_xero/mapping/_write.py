"""The hot write path: a BMS invoice straight to the bytes of its ``Invoices`` element.

A push encodes every invoice it sends, and the generic route (attrs wire classes, cattrs'
unstructure, then :func:`~bms_xero.mapping.wire.encode_json` walking the dict in Python)
spent most of a push's CPU doing it. This module writes the same element with the shape
known in advance: each string goes through the C JSON string escaper, each amount is written
as its Decimal digits, and the JSON punctuation is literal text.

The bytes must be *exactly* those of the generic route, key order and escaping included:
the content fingerprint stored for every pushed invoice is their sha256, so any difference
would make every invoice pushed before look changed and be sent again. A property test
(``tests/mapping/test_write.py``) holds the two routes equal over generated invoices;
:func:`~bms_xero.mapping.wire.invoice_payload` stays the generic route and the readable
statement of the shape (which fields, in which order, omitted when ``None``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote

from bms_xero.domain import Invoice, LineItem
from bms_xero.mapping._dates import format_date
from bms_xero.mapping._reference import TaxMap
from bms_xero.mapping._rounding import RoundingLine
from bms_xero.mapping._terms import due_date as due_from_terms

__all__ = ["amount_text", "contact_id_of", "due_date_of", "invoice_element"]


def amount_text(value: Decimal) -> str:
    """A Decimal's own digits, never an exponent: ``format(value, "f")``, as encode_json
    writes it (and FakeXero's answers, through ``testing._encode.number_json``).

    ``str`` gives the same text at a third of the cost unless it chose an exponent
    (``1E+2``, ``1E-7``; ``1e+2`` under a context with ``capitals=0``) or the value is not
    finite (``NaN``, ``sNaN`` and ``Infinity`` all hold an ``N`` or an ``n``), so only those
    are formatted; so is a subclass, which may write itself otherwise.

    Raises:
        ValueError: The amount is not finite.
    """
    text = str(value)
    if "E" in text or "e" in text or "N" in text or "n" in text or type(value) is not Decimal:
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite amount {value}")
        return format(value, "f")
    return text


def contact_id_of(invoice: Invoice) -> str:
    """The Xero ContactID the invoice is sent to.

    Raises:
        MissingContactId: The customer has no Xero contact id.
    """
    from bms_xero.errors import MissingContactId

    contact_id = invoice.customer.xero_contact_id
    if contact_id is None:
        raise MissingContactId(
            customer_id=invoice.customer.id,
            customer_name=invoice.customer.name,
            invoice_number=invoice.number,
        )
    return contact_id


def due_date_of(invoice: Invoice) -> date | None:
    """The invoice's due date: as given, else computed from its payment terms."""
    if invoice.due_date is not None:
        return invoice.due_date
    if invoice.payment_terms is not None:
        return due_from_terms(invoice.issue_date, invoice.payment_terms)
    return None


def _line(line: LineItem, index: int, taxes: TaxMap) -> str:
    """One ``LineItems`` entry: the four fields always sent, then each optional one set."""
    text = (
        f'{{"Description":{_quote(line.description)},"Quantity":{amount_text(line.quantity)},'
        f'"UnitAmount":{amount_text(line.unit_amount)},"AccountCode":{_quote(line.account_code)}'
    )
    if line.tax_code is not None:
        tax_type = taxes.entries.get(line.tax_code)
        if tax_type is None:  # raises TaxCodeError, naming the line
            tax_type = taxes.tax_type(line.tax_code, paths=(f"lines[{index}].tax_code",))
        text += f',"TaxType":{_quote(tax_type)}'
    if line.discount_rate is not None:
        text += f',"DiscountRate":{amount_text(line.discount_rate)}'
    if line.item_code is not None:
        text += f',"ItemCode":{_quote(line.item_code)}'
    if line.tracking:
        options = ",".join(
            f'{{"Name":{_quote(t.name)},"Option":{_quote(t.option)}}}' for t in line.tracking
        )
        text += f',"Tracking":[{options}]'
    return text + "}"


def _rounding(rounding: RoundingLine) -> str:
    text = (
        f'{{"Description":{_quote(rounding.description)},"Quantity":1,'
        f'"UnitAmount":{amount_text(rounding.amount)},"AccountCode":{_quote(rounding.account_code)}'
    )
    if rounding.tax_type is not None:
        text += f',"TaxType":{_quote(rounding.tax_type)}'
    return text + "}"


def invoice_element(
    invoice: Invoice, taxes: TaxMap, *, rounding: RoundingLine | None = None
) -> bytes:
    """The encoded ``Invoices`` element for a create, without ``InvoiceID`` and
    ``SentToContact``: the bytes a :class:`~bms_xero.mapping.wire.WireInvoice` fingerprints.

    Equal to ``encode_json`` of :func:`~bms_xero.mapping.wire.invoice_payload` with those two
    keys left out.

    Raises:
        MissingContactId: The customer has no Xero contact id.
        TaxCodeError: A line's tax code is not in the tax map.
    """
    contact_id = contact_id_of(invoice)
    items = [_line(line, i, taxes) for i, line in enumerate(invoice.lines)]
    if rounding is not None:
        items.append(_rounding(rounding))
    due = due_date_of(invoice)
    text = (
        f'{{"Type":"ACCREC","Contact":{{"ContactID":{_quote(contact_id)}}},'
        f'"InvoiceNumber":{_quote(invoice.number)},"Date":{_quote(format_date(invoice.issue_date))},'
        f'"DueDate":{"null" if due is None else _quote(format_date(due))},'
        f'"LineAmountTypes":{_quote(invoice.line_amount_types.value)},'
        f'"Status":{_quote(invoice.status.value)},"LineItems":[{",".join(items)}]'
    )
    # The optional fields follow the ones always sent, as the generic route orders them.
    if invoice.currency_code is not None:
        text += f',"CurrencyCode":{_quote(invoice.currency_code)}'
    if invoice.currency_rate is not None:
        text += f',"CurrencyRate":{amount_text(invoice.currency_rate)}'
    if invoice.reference is not None:
        text += f',"Reference":{_quote(invoice.reference)}'
    if invoice.url is not None:
        text += f',"Url":{_quote(invoice.url)}'
    text += "}"
    return text.encode()
