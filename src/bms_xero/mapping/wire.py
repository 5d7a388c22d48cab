"""Pure functions between domain types and Xero's JSON.

Write side: :func:`invoice_payload` turns a BMS :class:`~bms_xero.domain.Invoice` into one
element of Xero's ``{"Invoices": [...]}`` body; :func:`encode_json` writes it with amounts as
exact decimals. Read side: ``parse_*`` turn Xero's JSON (decoded by :func:`decode_json`, which
keeps numbers as ``Decimal``) into read-side types. A shape we cannot read raises
:class:`~bms_xero.errors.UnexpectedResponse`, never a KeyError.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import cattrs

from bms_xero.domain import (
    Account,
    CreditNote,
    CreditNoteAllocation,
    Customer,
    Invoice,
    InvoiceStatus,
    LineItem,
    Organisation,
    TaxRate,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroPayment,
)
from bms_xero.errors import UnexpectedResponse
from bms_xero.mapping._converter import make_converter
from bms_xero.mapping._read import CREDIT_LISTS, read_invoice, read_payment
from bms_xero.mapping._reference import ChartOfAccounts, TaxMap, TaxRates
from bms_xero.mapping._rounding import RoundingLine
from bms_xero.mapping._write import contact_id_of, due_date_of, invoice_element

__all__ = [
    "WireInvoice",
    "allocation_payload",
    "contact_payload",
    "content_hash",
    "credit_note_payload",
    "decode_json",
    "due_date_of",
    "encode_json",
    "invoice_payload",
    "invoices_body",
    "invoices_request_body",
    "parse_accounts",
    "parse_allocations",
    "parse_contacts",
    "parse_credit_note",
    "parse_credit_notes",
    "parse_invoice",
    "parse_invoices",
    "parse_organisation",
    "parse_payment",
    "parse_payments",
    "parse_tax_rates",
    "status_change",
]

_converter = make_converter()
T = TypeVar("T")


# --- write side ----------------------------------------------------------------------------


@attrs.frozen
class _Contact:
    contact_id: str


@attrs.frozen
class _Tracking:
    name: str
    option: str


@attrs.frozen(kw_only=True)
class _Line:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str | None = None
    discount_rate: Decimal | None = None
    item_code: str | None = None
    tracking: list[_Tracking] | None = None


@attrs.frozen(kw_only=True)
class _Invoice:
    type: str  # no default, so "omit if default" never drops it
    invoice_id: str | None = None
    contact: _Contact
    invoice_number: str
    date: _dt.date
    due_date: _dt.date | None
    line_amount_types: str
    status: str
    currency_code: str | None = None
    currency_rate: Decimal | None = None
    reference: str | None = None
    url: str | None = None
    sent_to_contact: bool | None = None
    line_items: list[_Line]


def invoice_payload(
    invoice: Invoice,
    tax_map: TaxMap | Mapping[str, str],
    *,
    invoice_id: str | None = None,
    mark_sent: bool = False,
    rounding: RoundingLine | None = None,
) -> dict[str, Any]:
    """One element of Xero's ``Invoices`` body for this BMS invoice.

    ``invoice_id`` is set for an update of an existing Xero invoice (all lines are resent,
    which replaces Xero's lines). Dates are ``YYYY-MM-DD``; amounts stay ``Decimal`` for
    :func:`encode_json` to write exactly. ``mark_sent`` adds ``SentToContact: true`` to an
    approved (AUTHORISED) invoice, so Xero's reminders include it; Xero allows the flag only
    on approved invoices, so a draft or one awaiting approval goes without it. ``rounding``
    adds the adjustment line a :class:`~bms_xero.mapping.RoundingPolicy` asked for, last.

    Raises:
        MissingContactId: The customer has no Xero contact id.
        TaxCodeError: A line's tax code is not in the tax map.
    """
    contact_id = contact_id_of(invoice)
    lines = _wire_lines(invoice.lines, TaxMap.of(tax_map))
    if rounding is not None:
        lines.append(
            _Line(
                description=rounding.description,
                quantity=Decimal(1),
                unit_amount=rounding.amount,
                account_code=rounding.account_code,
                tax_type=rounding.tax_type,
            )
        )
    wire = _Invoice(
        type="ACCREC",
        invoice_id=invoice_id,
        contact=_Contact(contact_id),
        invoice_number=invoice.number,
        date=invoice.issue_date,
        due_date=due_date_of(invoice),
        line_amount_types=invoice.line_amount_types.value,
        status=invoice.status.value,
        currency_code=invoice.currency_code,
        currency_rate=invoice.currency_rate,
        reference=invoice.reference,
        url=invoice.url,
        sent_to_contact=True if mark_sent and invoice.status is InvoiceStatus.AUTHORISED else None,
        line_items=lines,
    )
    payload: dict[str, Any] = _converter.unstructure(wire)
    return payload


def _wire_lines(lines: Sequence[LineItem], taxes: TaxMap) -> list[_Line]:
    """The lines of an invoice or credit note, each BMS tax code mapped to a Xero TaxType.

    Raises:
        TaxCodeError: A line's tax code is not in the tax map.
    """
    return [
        _Line(
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            account_code=line.account_code,
            tax_type=None
            if line.tax_code is None
            else taxes.tax_type(line.tax_code, paths=(f"lines[{i}].tax_code",)),
            discount_rate=line.discount_rate,
            item_code=line.item_code,
            tracking=[_Tracking(t.name, t.option) for t in line.tracking] or None,
        )
        for i, line in enumerate(lines)
    ]


@attrs.frozen(kw_only=True)
class _CreditNote:
    type: str
    contact: _Contact
    credit_note_number: str
    date: _dt.date
    line_amount_types: str
    status: str
    currency_code: str | None = None
    reference: str | None = None
    line_items: list[_Line]


def credit_note_payload(note: CreditNote, tax_map: TaxMap | Mapping[str, str]) -> dict[str, Any]:
    """One element of Xero's ``CreditNotes`` body: a sales credit note (``ACCRECCREDIT``),
    created AUTHORISED so that it can be allocated at once.

    Raises:
        MissingContactId: The customer has no Xero contact id.
        TaxCodeError: A line's tax code is not in the tax map.
    """
    from bms_xero.errors import MissingContactId

    contact_id = note.customer.xero_contact_id
    if contact_id is None:
        raise MissingContactId(customer_id=note.customer.id, customer_name=note.customer.name)
    wire = _CreditNote(
        type="ACCRECCREDIT",
        contact=_Contact(contact_id),
        credit_note_number=note.number,
        date=note.issue_date,
        line_amount_types=note.line_amount_types.value,
        status=InvoiceStatus.AUTHORISED.value,
        currency_code=note.currency_code,
        reference=note.reference,
        line_items=_wire_lines(note.lines, TaxMap.of(tax_map)),
    )
    payload: dict[str, Any] = _converter.unstructure(wire)
    return payload


def allocation_payload(invoice_id: str, amount: Decimal, on: date) -> dict[str, Any]:
    """One element of ``PUT /CreditNotes/{id}/Allocations``: ``amount`` of the credit note
    applied to the Xero invoice ``invoice_id`` on ``on``."""
    return {"Amount": amount, "Date": on.isoformat(), "Invoice": {"InvoiceID": invoice_id}}


def invoices_body(elements: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Xero's request body for a batch: ``{"Invoices": [...]}``."""
    return {"Invoices": list(elements)}


@attrs.frozen
class WireInvoice:
    """One invoice element in Xero's wire form, encoded once.

    A push builds this once per invoice: its ``fingerprint`` says whether Xero already has
    this content, its ``size`` decides the batches, and its bytes go into the request body
    as they are. An update of the linked Xero invoice names its InvoiceID, spliced into the
    same bytes (:meth:`for_update`), so the content is never encoded twice.

    ``SentToContact`` is spliced in the same way, outside the fingerprint: Xero keeps the
    flag when an update leaves it out, so it is not content to compare. Turning
    ``mark_sent`` on (or off) therefore never makes an invoice pushed before look changed:
    resending every one would cost a write each, and a paid one would be refused as
    :class:`~bms_xero.errors.CreditNoteRequired`.

    Attributes:
        number: The InvoiceNumber (Xero's answers are matched to the request by it).
        body: The encoded element without an InvoiceID: what the fingerprint covers.
        fingerprint: The content hash of ``body`` (sha256, hex).
        invoice_id: The Xero InvoiceID for an update; ``None`` for a create.
        sent_to_contact: Send ``SentToContact: true`` with it.
        rounding: The rounding line's amount, when one was added (it is content: part of
            the body and the fingerprint).
    """

    number: str | None
    body: bytes = attrs.field(repr=False)
    fingerprint: str
    invoice_id: str | None = None
    sent_to_contact: bool = False
    rounding: Decimal | None = None

    @classmethod
    def of(
        cls,
        invoice: Invoice,
        tax_map: TaxMap | Mapping[str, str],
        *,
        mark_sent: bool = False,
        rounding: RoundingLine | None = None,
    ) -> WireInvoice:
        """The wire form of a BMS invoice (see :func:`invoice_payload` for ``mark_sent``,
        ``rounding`` and what it raises).

        The bytes are written by :func:`~bms_xero.mapping._write.invoice_element`, the same
        bytes as ``of_payload(invoice_payload(...))`` at a fraction of the CPU.
        """
        body = invoice_element(invoice, TaxMap.of(tax_map), rounding=rounding)
        return cls(
            number=invoice.number or None,
            body=body,
            fingerprint=content_hash(body),
            sent_to_contact=mark_sent and invoice.status is InvoiceStatus.AUTHORISED,
            rounding=None if rounding is None else rounding.amount,
        )

    @classmethod
    def of_payload(cls, payload: Mapping[str, Any]) -> WireInvoice:
        """The wire form of an element a host built itself (its InvoiceID, if any, kept apart).

        Raises:
            TypeError, ValueError: A value that can't be JSON (a float, a non-finite amount).
        """
        invoice_id = payload.get("InvoiceID")
        sent = payload.get("SentToContact") is True
        content = {
            k: v
            for k, v in payload.items()
            if k != "InvoiceID" and not (sent and k == "SentToContact")
        }
        body = encode_json(content)
        number = payload.get("InvoiceNumber")
        return cls(
            number=number if isinstance(number, str) and number else None,
            body=body,
            fingerprint=content_hash(body),
            invoice_id=invoice_id if isinstance(invoice_id, str) and invoice_id else None,
            sent_to_contact=sent,
        )

    def for_update(self, invoice_id: str) -> WireInvoice:
        """The same content, naming the Xero invoice it updates."""
        return attrs.evolve(self, invoice_id=invoice_id)

    @property
    def element(self) -> bytes:
        """The bytes that go into ``{"Invoices": [...]}``: the body, with the InvoiceID and
        ``SentToContact`` when they are set."""
        head = []
        if self.invoice_id is not None:
            head.append(b'"InvoiceID":' + json.dumps(self.invoice_id).encode())
        if self.sent_to_contact:
            head.append(b'"SentToContact":true')
        if not head:
            return self.body
        named = b"{" + b",".join(head)
        return named + (b"}" if self.body == b"{}" else b"," + self.body[1:])

    @property
    def size(self) -> int:
        """Bytes this element adds to a request body."""
        return len(self.element)


def content_hash(encoded: bytes) -> str:
    """The fingerprint of an encoded element: equal exactly when the bytes are."""
    return hashlib.sha256(encoded).hexdigest()


def status_change(invoice_id: str, number: str, status: InvoiceStatus) -> WireInvoice:
    """The element that moves an invoice to ``status`` (a void, or a draft's delete)."""
    return WireInvoice.of_payload(
        {"InvoiceID": invoice_id, "InvoiceNumber": number, "Status": status.value}
    )


def contact_payload(customer: Customer, contact_number: str) -> dict[str, Any]:
    """The element that creates the BMS customer's Xero contact, keyed by ContactNumber."""
    body: dict[str, Any] = {"Name": customer.name, "ContactNumber": contact_number}
    if customer.email:
        body["EmailAddress"] = customer.email
    return body


def invoices_request_body(invoices: Sequence[WireInvoice]) -> bytes:
    """``{"Invoices": [...]}`` from already encoded elements (nothing is encoded again)."""
    return b'{"Invoices":[' + b",".join(w.element for w in invoices) + b"]}"


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot send the non-finite amount {value}")
        out.append(format(value, "f"))
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError("floats never reach the wire: amounts must be Decimal")
    else:
        out.append(json.dumps(value))


def encode_json(value: Any) -> bytes:
    """JSON bytes with every Decimal written exactly as it is (no float on the way)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode()


def decode_json(body: bytes | str) -> Any:
    """Parse JSON keeping every number with a fraction as an exact Decimal.

    Raises:
        UnexpectedResponse: The body is not JSON.
    """
    try:
        return json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnexpectedResponse(f"Xero's answer is not JSON: {e}") from None


# --- read side -----------------------------------------------------------------------------


def _structure(data: Any, cls: type[T], what: str) -> T:
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(f"expected a {what} object from Xero, got {type(data).__name__}")
    try:
        return _converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, AttributeError) as e:
        detail = "; ".join(
            f"missing field {x.args[0]!r}" if isinstance(x, KeyError) else str(x)
            for x in _leaves(e)
        )
        raise UnexpectedResponse(f"could not read a {what} from Xero: {detail}") from None


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for sub in error.exceptions for leaf in _leaves(sub)]
    return [error]


def _fallback(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """Use ``XString`` helpers when Xero omitted ``X`` itself."""
    flat = dict(data)
    for name in names:
        if flat.get(name) in (None, "") and isinstance(flat.get(f"{name}String"), str):
            flat[name] = flat[f"{name}String"]
    return flat


def _nested_id(data: Mapping[str, Any], outer: str, inner: str) -> Any:
    nested = data.get(outer)
    return nested.get(inner) if isinstance(nested, Mapping) else None


def _credits(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The credits applied to an invoice, flattened for :class:`Allocation`.

    Each list item is the whole credit (its Total, RemainingCredit...); ``AppliedAmount`` is
    what it took off *this* invoice, so that is the allocation's amount.
    """
    flat: list[dict[str, Any]] = []
    for key, id_key, kind, reference_key in CREDIT_LISTS:
        items = data.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise UnexpectedResponse(f"could not read an invoice from Xero: {key} is not a list")
        for item in items:
            if not isinstance(item, Mapping):
                raise UnexpectedResponse(
                    f"could not read an invoice from Xero: an entry of {key} is not an object"
                )
            dated = _fallback(item, "Date")
            flat.append(
                {
                    "Kind": kind.value,
                    "ID": item.get(id_key),
                    "Amount": item.get("AppliedAmount"),
                    "Date": dated.get("Date"),
                    "Reference": item.get(reference_key) or None,
                }
            )
    return flat


def parse_invoice(data: Any) -> XeroInvoice:
    """One invoice object from Xero (from a read, or an element of a write's answer)."""
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(f"expected an invoice object from Xero, got {type(data).__name__}")
    try:
        return read_invoice(data)
    except Exception:  # noqa: S110 - Unusual, or a shape the fast path never met
        pass  # the converter decides: the same value, or its own detailed error
    flat = _fallback(data, "Date", "DueDate", "FullyPaidOnDate", "UpdatedDateUTC")
    flat["ContactID"] = _nested_id(data, "Contact", "ContactID")
    flat["Credits"] = _credits(data)
    return _structure(flat, XeroInvoice, "invoice")


def _list(body: Any, key: str) -> list[Any]:
    if not isinstance(body, Mapping):
        raise UnexpectedResponse(
            f"expected an object with {key!r} from Xero, got {type(body).__name__}"
        )
    items = body.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise UnexpectedResponse(f"Xero's {key!r} is not a list")
    return items


def _parse_all(body: Any, key: str, parse: Callable[[Any], T]) -> list[T]:
    return [parse(item) for item in _list(body, key)]


def parse_invoices(body: Any) -> list[XeroInvoice]:
    """Every invoice in an ``{"Invoices": [...]}`` answer, in Xero's order."""
    return _parse_all(body, "Invoices", parse_invoice)


def _allocation(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(
            f"could not read a credit note from Xero: an allocation is a {type(data).__name__}"
        )
    flat = _fallback(data, "Date")
    return {
        "AllocationID": data.get("AllocationID"),
        "InvoiceID": _nested_id(data, "Invoice", "InvoiceID"),
        "Amount": data.get("Amount"),
        "Date": flat.get("Date"),
        "IsDeleted": data.get("IsDeleted") is True,
    }


def parse_credit_note(data: Any) -> XeroCreditNote:
    """One credit note object from Xero (a read, or an element of a write's answer)."""
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(
            f"expected a credit note object from Xero, got {type(data).__name__}"
        )
    flat = _fallback(data, "Date", "UpdatedDateUTC")
    flat["ContactID"] = _nested_id(data, "Contact", "ContactID")
    allocations = data.get("Allocations")
    if allocations is not None and not isinstance(allocations, list):
        raise UnexpectedResponse(
            "could not read a credit note from Xero: Allocations is not a list"
        )
    flat["Allocations"] = [_allocation(a) for a in allocations or ()]
    return _structure(flat, XeroCreditNote, "credit note")


def parse_credit_notes(body: Any) -> list[XeroCreditNote]:
    """Every credit note in a ``{"CreditNotes": [...]}`` answer, in Xero's order."""
    return _parse_all(body, "CreditNotes", parse_credit_note)


def parse_allocations(body: Any) -> list[CreditNoteAllocation]:
    """Every allocation in an ``{"Allocations": [...]}`` answer."""
    return _parse_all(
        body,
        "Allocations",
        lambda d: _structure(_allocation(d), CreditNoteAllocation, "allocation"),
    )


def parse_payment(data: Any) -> XeroPayment:
    """One payment object from Xero."""
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(f"expected a payment object from Xero, got {type(data).__name__}")
    flat = _fallback(data, "Date", "UpdatedDateUTC")
    flat["InvoiceID"] = _nested_id(data, "Invoice", "InvoiceID")
    flat["InvoiceNumber"] = data.get("InvoiceNumber") or _nested_id(
        data, "Invoice", "InvoiceNumber"
    )
    try:
        return read_payment(flat)
    except Exception:  # Unusual (or a shape the fast path never met): the converter decides
        return _structure(flat, XeroPayment, "payment")


def parse_payments(body: Any) -> list[XeroPayment]:
    """Every payment in a ``{"Payments": [...]}`` answer."""
    return _parse_all(body, "Payments", parse_payment)


def parse_contacts(body: Any) -> list[XeroContact]:
    """Every contact in a ``{"Contacts": [...]}`` answer."""
    return _parse_all(body, "Contacts", lambda d: _structure(d, XeroContact, "contact"))


def _account(data: Any) -> Account:
    return _structure(data, Account, "account")


def _tax_rate(data: Any) -> TaxRate:
    return _structure(data, TaxRate, "tax rate")


def parse_accounts(body: Any) -> ChartOfAccounts:
    """The chart of accounts from a ``{"Accounts": [...]}`` answer."""
    return ChartOfAccounts(_parse_all(body, "Accounts", _account))


def parse_tax_rates(body: Any) -> TaxRates:
    """The tax rates from a ``{"TaxRates": [...]}`` answer."""
    return TaxRates(_parse_all(body, "TaxRates", _tax_rate))


def parse_organisation(body: Any) -> Organisation:
    """The organisation from a ``{"Organisations": [...]}`` answer.

    Raises:
        UnexpectedResponse: The answer has no organisation.
    """
    items: Sequence[Any] = _list(body, "Organisations")
    if not items:
        raise UnexpectedResponse("Xero returned no organisation")
    return _structure(items[0], Organisation, "organisation")
