"""The accounting API's endpoints: one request in, one response out, for one organisation.

Authentication, tenants, rate limits, idempotency and faults are handled before a request gets
here (see ``_fake.py``); these functions read and write the organisation's records and answer in
Xero's shapes.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import attrs

from bms_xero.errors import UnexpectedResponse
from bms_xero.mapping.wire import decode_json
from bms_xero.testing._ids import Ids
from bms_xero.testing._model import (
    Org,
    StoredBatchPayment,
    StoredContact,
    StoredCredit,
    StoredInvoice,
    StoredPayment,
)
from bms_xero.testing._query import (
    PageAsked,
    QueryError,
    Where,
    changed_since,
    if_modified_since,
    paging,
)
from bms_xero.testing._render import (
    envelope,
    render_account,
    render_allocation,
    render_batch_payment,
    render_contact,
    render_credit,
    render_invoice,
    render_organisation,
    render_payment,
    render_tax_rate,
)
from bms_xero.testing._rules import (
    Ctx,
    Outcome,
    allocate_credit,
    create_contact,
    create_invoice,
    delete_allocation,
    delete_batch_payment,
    delete_payment,
    find_invoice,
    pay_invoice,
    update_contact,
    update_invoice,
    upsert_contact,
    upsert_invoice,
)
from bms_xero.xero._calls import MAX_BODY_BYTES

__all__ = [
    "JSON",
    "FakeRequest",
    "Reply",
    "accounting",
    "dump_json",
    "error_reply",
    "json_reply",
    "problem_reply",
    "text_reply",
]

JSON = "application/json; charset=utf-8"
T = TypeVar("T")
MAX_BODY = MAX_BODY_BYTES  # Xero's documented request size limit (3.5 MB)


@attrs.frozen(kw_only=True)
class FakeRequest:
    """One HTTP request, independent of how it arrived (httpx transport or loopback server).

    Attributes:
        method: Upper-case method.
        path: The URL path, e.g. ``/api.xro/2.0/Invoices``.
        query: Query parameters with case-folded names (the last value wins).
        raw_query: The query string as sent (part of an idempotency fingerprint).
        headers: Request headers with lower-case names.
        body: The request body.
    """

    method: str
    path: str
    query: Mapping[str, str]
    raw_query: str
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)


@attrs.frozen
class Reply:
    """One HTTP response.

    Attributes:
        status: Status code.
        headers: Response headers, in order.
        body: Response body.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = attrs.field(repr=False)

    def with_headers(self, extra: Iterable[tuple[str, str]]) -> Reply:
        """The same reply with more headers."""
        return Reply(self.status, (*self.headers, *extra), self.body)


# Decimals are written through a marker string and swapped for their exact text afterwards:
# the C JSON encoder does the rest, several times faster than a pure-Python walk. The random
# marker cannot occur in data a client sent.
_MARK = f"\x00{secrets.token_hex(8)}:"
_MARKED = re.compile(re.escape(json.dumps(_MARK)[:-1]) + r'(-?[0-9.]+)"')


def _decimal_marker(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite():
        return _MARK + format(value, "f")
    raise TypeError(f"cannot write {value!r} as JSON")


def dump_json(body: Any) -> bytes:
    """``body`` as JSON bytes, exactly as :func:`~bms_xero.mapping.wire.encode_json` writes it."""
    text = json.dumps(body, separators=(",", ":"), default=_decimal_marker)
    return _MARKED.sub(r"\1", text).encode()


def json_reply(status: int, body: Any) -> Reply:
    """A JSON reply, amounts written exactly."""
    return Reply(status, (("Content-Type", JSON),), dump_json(body))


def text_reply(status: int, text: str) -> Reply:
    """A plain-text reply (Xero's 503 and some 404s are not JSON)."""
    return Reply(status, (("Content-Type", "text/plain; charset=utf-8"),), text.encode())


def error_reply(
    status: int,
    message: str,
    *,
    number: int = 10,
    error_type: str = "ValidationException",
    elements: list[dict[str, Any]] | None = None,
) -> Reply:
    """Xero's error body (components/schemas/Error)."""
    body: dict[str, Any] = {"ErrorNumber": number, "Type": error_type, "Message": message}
    if elements is not None:
        body["Elements"] = elements
    return json_reply(status, body)


def problem_reply(status: int, title: str, detail: str, instance: str) -> Reply:
    """The problem JSON Xero's gateway answers 401, 403 and 429 with."""
    return json_reply(
        status,
        {
            "Type": None,
            "Title": title,
            "Status": status,
            "Detail": detail,
            "Instance": instance,
            "Extensions": {},
        },
    )


def _not_found() -> Reply:
    return error_reply(
        404,
        "The resource you're looking for cannot be found",
        number=404,
        error_type="NotFoundException",
    )


def _bad_request(message: str) -> Reply:
    return error_reply(400, message, number=16, error_type="QueryParseException")


def _elements(call: FakeRequest, key: str) -> list[Any] | Reply:
    """The elements of a write's body: ``{"Invoices": [...]}`` or a single object."""
    if len(call.body) > MAX_BODY:
        return text_reply(413, "Request Entity Too Large")
    try:
        data = decode_json(call.body or b"")
    except UnexpectedResponse:
        return error_reply(
            400,
            "The request body is not valid JSON",
            number=14,
            error_type="PostDataInvalidException",
        )
    if isinstance(data, Mapping) and key in data:
        items = data[key]
        if isinstance(items, list):
            return items
    elif isinstance(data, Mapping) and data:
        return [data]
    return error_reply(
        400,
        f'The request body must be {{"{key}": [...]}} or a single object',
        number=14,
        error_type="PostDataInvalidException",
    )


def _echo(
    element: Any, outcome: Outcome, *, flag: str | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A rejected element as Xero returns it: what was sent, plus its ValidationErrors."""
    out: dict[str, Any] = dict(element) if isinstance(element, Mapping) else {}
    out.update(extra or {})
    lines = out.get("LineItems")
    if outcome.line_messages and isinstance(lines, list):
        echoed = []
        for i, line in enumerate(lines):
            messages = outcome.line_messages.get(i)
            if messages and isinstance(line, Mapping):
                line = {**line, "ValidationErrors": [{"Message": m} for m in messages]}
            echoed.append(line)
        out["LineItems"] = echoed
    if flag is not None:
        out[flag] = True
    out["StatusAttributeString"] = "ERROR"
    out["ValidationErrors"] = [{"Message": m} for m in outcome.messages]
    out["Warnings"] = []
    return out


def _write_reply(
    key: str,
    elements: Sequence[Any],
    outcomes: Sequence[Outcome],
    *,
    summarize: bool,
    render: Callable[[Any], dict[str, Any]],
    flag: str | None,
    ctx: Ctx,
    extra: Mapping[str, Any] | None = None,
) -> Reply:
    """Answer a batch write; summarised (the default) or per element (summarizeErrors=false).

    ``flag`` is the element's error flag (``HasErrors``, ``HasValidationErrors``); ``None``
    for records whose schema has none (Allocation, BatchPayment).
    """
    if summarize and any(not o.ok for o in outcomes):
        # Xero still keeps the valid elements; it just doesn't say what it made of them.
        failed = [
            _echo(el, o, flag=flag, extra=extra)
            for el, o in zip(elements, outcomes, strict=True)
            if not o.ok
        ]
        return error_reply(400, "A validation exception occurred", elements=failed)
    items = []
    for el, outcome in zip(elements, outcomes, strict=True):
        if outcome.ok:
            item = render(outcome.record)
            if flag is not None:
                item[flag] = False
            item["StatusAttributeString"] = "OK"
            if not summarize:
                item["ValidationErrors"] = []
                item["Warnings"] = []
        else:
            item = _echo(el, outcome, flag=flag, extra=extra)
        items.append(item)
    return json_reply(200, envelope(key, items, response_id=ctx.ids.guid(), now=ctx.now))


def _summarize(call: FakeRequest) -> bool:
    return call.query.get("summarizeerrors", "true").strip().lower() != "false"


def _csv(call: FakeRequest, name: str) -> list[str] | None:
    raw = call.query.get(name.casefold())
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _filtered(
    call: FakeRequest,
    records: list[T],
    render: Callable[[T], dict[str, Any]],
    fields: Mapping[str, Callable[[T], Any]],
) -> list[T]:
    where = call.query.get("where")
    if not where:
        return records
    matches = Where(where)
    direct = matches.on_records(fields)
    if direct is not None:
        return [r for r in records if direct(r)]
    return [r for r in records if matches(render(r))]


def _since(call: FakeRequest) -> Any:
    header = call.headers.get("if-modified-since")
    return if_modified_since(header) if header else None


def _ordered(
    call: FakeRequest,
    records: list[T],
    render: Callable[[T], dict[str, Any]],
    *,
    in_update_order: bool,
) -> list[T]:
    """``records`` in the ``order`` asked for.

    ``in_update_order`` says the records already come oldest ``UpdatedDateUTC`` first (as the
    organisation's ``recent_*`` indexes give them), so ``order=UpdatedDateUTC ASC`` or
    ``DESC``, the keyset-paging order, costs nothing; any other field renders every record.
    """
    order = call.query.get("order")
    if not order:
        return records
    field, _, direction = order.strip().partition(" ")
    direction = direction.strip().upper() or "ASC"
    if direction not in ("ASC", "DESC"):
        raise QueryError(f"order={order!r}: the direction must be ASC or DESC")
    if in_update_order and field.casefold() == "updateddateutc":
        return records if direction == "ASC" else records[::-1]
    keyed: list[tuple[Any, T]] = [(render(r).get(field), r) for r in records]
    if any(value is None for value, _ in keyed):
        raise QueryError(f"order={order!r}: FakeXero can only order by a field every record has")
    keyed.sort(key=lambda pair: pair[0], reverse=direction == "DESC")
    return [r for _, r in keyed]


def _list_reply(
    key: str,
    call: FakeRequest,
    records: list[T],
    *,
    page: PageAsked,
    full: Callable[[T], dict[str, Any]],
    shown: Callable[[T], dict[str, Any]],
    ctx: Ctx,
    fields: Mapping[str, Callable[[T], Any]] | None = None,
    in_update_order: bool = False,
) -> Reply:
    """A list answer: ``where``, then ``order``, then the page; only that page is rendered
    when ``where`` can be read off the records (``fields``) and ``order`` is free."""
    records = _filtered(call, records, full, fields or {})
    records = _ordered(call, records, full, in_update_order=in_update_order)
    on_page, pagination = page.cut(records)
    body = envelope(
        key,
        [shown(r) for r in on_page],
        response_id=ctx.ids.guid(),
        now=ctx.now,
        pagination=pagination,
    )
    return json_reply(200, body)


# --- invoices ----------------------------------------------------------------------------------


# Fields a ``where`` clause can read straight off a stored record, giving exactly what the
# rendered record has there (see Where.on_records): Type=="ACCREC" filters without rendering.
_INVOICE_FIELDS: dict[str, Callable[[StoredInvoice], Any]] = {
    "Type": lambda r: r.type,
    "Status": lambda r: r.status,
    "InvoiceID": lambda r: r.invoice_id,
    "InvoiceNumber": lambda r: r.number,
    "Contact.ContactID": lambda r: r.contact_id,
}
_PAYMENT_FIELDS: dict[str, Callable[[StoredPayment], Any]] = {
    "Status": lambda p: p.status,
    "PaymentID": lambda p: p.payment_id,
    "BatchPaymentID": lambda p: p.batch_payment_id,
    "Invoice.InvoiceID": lambda p: p.invoice_id,
}
_CREDIT_FIELDS: dict[str, Callable[[StoredCredit], Any]] = {
    "Status": lambda c: c.status,
    "Type": lambda c: c.type,
    "Contact.ContactID": lambda c: c.contact_id,
}


def _unitdp(call: FakeRequest) -> int:
    return 4 if call.query.get("unitdp", "").strip() == "4" else 2


def _get_invoices(org: Org, call: FakeRequest, ctx: Ctx) -> Reply:
    page = paging(call.query)
    since = _since(call)
    ids = _csv(call, "IDs")
    numbers = _csv(call, "InvoiceNumbers")
    contacts = _csv(call, "ContactIDs")
    statuses = _csv(call, "Statuses")
    candidates: Iterable[StoredInvoice]
    if ids is not None:
        wanted = {i.lower() for i in ids}
        candidates = [org.invoices[i] for i in wanted if i in org.invoices]
    elif numbers is not None:
        candidates = [org.invoices[org.numbers[n]] for n in set(numbers) if n in org.numbers]
    elif contacts is not None:
        candidates = [
            org.invoices[i]
            for c in {c.lower() for c in contacts}
            for i in org.by_contact.get(c, {})
        ]
    elif since is not None:
        candidates = changed_since(org.recent_invoices, org.invoices, since, lambda r: r.updated_at)
    else:
        candidates = (org.invoices[i] for i in org.recent_invoices)
    wanted_numbers = set(numbers) if numbers is not None else None
    wanted_contacts = {c.lower() for c in contacts} if contacts is not None else None
    wanted_statuses = {s.upper() for s in statuses} if statuses is not None else None
    records = [
        r
        for r in candidates
        if (since is None or r.updated_at >= since)
        and (wanted_numbers is None or r.number in wanted_numbers)
        and (wanted_contacts is None or r.contact_id in wanted_contacts)
        and (wanted_statuses is None or r.status in wanted_statuses)
    ]
    if ids is not None or numbers is not None or contacts is not None:
        records.sort(key=lambda r: r.updated_at)
    unitdp = _unitdp(call)
    summary = call.query.get("summaryonly", "").strip().lower() == "true"
    # Un-paged list calls leave out line items, as Xero's do.
    with_lines = page.number is not None
    return _list_reply(
        "Invoices",
        call,
        records,
        page=page,
        full=lambda r: render_invoice(r, org, unitdp=unitdp),
        shown=lambda r: render_invoice(r, org, unitdp=unitdp, lines=with_lines, summary=summary),
        ctx=ctx,
        fields=_INVOICE_FIELDS,
        in_update_order=True,
    )


def _invoices(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(invoice: StoredInvoice) -> dict[str, Any]:
        return render_invoice(invoice, org, unitdp=ctx.unitdp)

    if ident is None:
        if call.method == "GET":
            return _get_invoices(org, call, ctx)
        if call.method not in ("PUT", "POST"):
            return _not_allowed(call)
        elements = _elements(call, "Invoices")
        if isinstance(elements, Reply):
            return elements
        write = create_invoice if call.method == "PUT" else upsert_invoice
        outcomes = [write(org, el, ctx) for el in elements]
        return _write_reply(
            "Invoices",
            elements,
            outcomes,
            summarize=_summarize(call),
            render=render,
            flag="HasErrors",
            ctx=ctx,
        )
    found = find_invoice(org, ident.lower() if len(ident) == 36 else ident)
    if found is None:
        return _not_found()
    if call.method == "GET":
        body = envelope("Invoices", [render(found)], response_id=ctx.ids.guid(), now=ctx.now)
        return json_reply(200, body)
    if call.method != "POST":
        return _not_allowed(call)
    elements = _elements(call, "Invoices")
    if isinstance(elements, Reply):
        return elements
    outcomes = [update_invoice(org, found, el, ctx) for el in elements]
    return _write_reply(
        "Invoices",
        elements,
        outcomes,
        summarize=_summarize(call),
        render=render,
        flag="HasErrors",
        ctx=ctx,
        extra={"InvoiceID": found.invoice_id},
    )


# --- payments ----------------------------------------------------------------------------------


def _payments(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(payment: StoredPayment) -> dict[str, Any]:
        return render_payment(payment, org)

    if ident is None:
        if call.method == "GET":
            since = _since(call)
            records: list[StoredPayment] = (
                changed_since(org.recent_payments, org.payments, since, lambda p: p.updated_at)
                if since is not None
                else [org.payments[i] for i in org.recent_payments]
            )
            return _list_reply(
                "Payments",
                call,
                records,
                page=paging(call.query),
                full=render,
                shown=render,
                ctx=ctx,
                fields=_PAYMENT_FIELDS,
                in_update_order=True,
            )
        if call.method not in ("PUT", "POST"):
            return _not_allowed(call)
        elements = _elements(call, "Payments")
        if isinstance(elements, Reply):
            return elements
        outcomes = [pay_invoice(org, el, ctx) for el in elements]
        return _write_reply(
            "Payments",
            elements,
            outcomes,
            summarize=_summarize(call),
            render=render,
            flag="HasValidationErrors",
            ctx=ctx,
        )
    payment = org.payments.get(ident.lower())
    if payment is None:
        return _not_found()
    if call.method == "GET":
        body = envelope("Payments", [render(payment)], response_id=ctx.ids.guid(), now=ctx.now)
        return json_reply(200, body)
    if call.method != "POST":
        return _not_allowed(call)
    elements = _elements(call, "Payments")
    if isinstance(elements, Reply):
        return elements
    outcomes = [delete_payment(org, payment, el, ctx) for el in elements]
    return _write_reply(
        "Payments",
        elements,
        outcomes,
        summarize=_summarize(call),
        render=render,
        flag="HasValidationErrors",
        ctx=ctx,
        extra={"PaymentID": payment.payment_id},
    )


# --- batch payments ----------------------------------------------------------------------------


def _batch_payments(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(batch: StoredBatchPayment) -> dict[str, Any]:
        return render_batch_payment(batch, org)

    if ident is None:
        if call.method != "GET":
            return _not_allowed(call)
        since = _since(call)
        records: list[StoredBatchPayment] = (
            changed_since(
                org.recent_batch_payments, org.batch_payments, since, lambda b: b.updated_at
            )
            if since is not None
            else [org.batch_payments[i] for i in org.recent_batch_payments]
        )
        return _list_reply(
            "BatchPayments",
            call,
            records,
            page=PageAsked(None, 0),  # the spec pages neither GET /BatchPayments nor its answer
            full=render,
            shown=render,
            ctx=ctx,
            in_update_order=True,
        )
    batch = org.batch_payments.get(ident.lower())
    if batch is None:
        return _not_found()
    if call.method == "GET":
        body = envelope("BatchPayments", [render(batch)], response_id=ctx.ids.guid(), now=ctx.now)
        return json_reply(200, body)
    if call.method != "POST":
        return _not_allowed(call)
    elements = _elements(call, "BatchPayments")
    if isinstance(elements, Reply):
        return elements
    outcomes = [delete_batch_payment(org, batch, el, ctx) for el in elements]
    return _write_reply(
        "BatchPayments",
        elements,
        outcomes,
        summarize=_summarize(call),
        render=render,
        flag=None,
        ctx=ctx,
        extra={"BatchPaymentID": batch.batch_payment_id},
    )


# --- prepayments and overpayments ---------------------------------------------------------------


def _credits(org: Org, call: FakeRequest, rest: Sequence[str], ctx: Ctx, *, kind: str) -> Reply:
    """``/Prepayments`` or ``/Overpayments`` (``kind``), their items and their allocations."""
    key = f"{kind}s"
    records, recent = org.credits(kind)

    def render(credit: StoredCredit) -> dict[str, Any]:
        return render_credit(credit, org)

    if not rest:
        if call.method != "GET":
            return _not_allowed(call)
        since = _since(call)
        found: list[StoredCredit] = (
            changed_since(recent, records, since, lambda c: c.updated_at)
            if since is not None
            else [records[i] for i in recent]
        )
        return _list_reply(
            key,
            call,
            found,
            page=paging(call.query),
            full=render,
            shown=render,
            ctx=ctx,
            fields=_CREDIT_FIELDS,
            in_update_order=True,
        )
    credit = records.get(rest[0].lower())
    if len(rest) > 1 and rest[1].casefold() != "allocations":
        return _not_implemented(call, f"/{key}/{rest[0]}/{rest[1]}")
    if credit is None:
        return _not_found()
    if len(rest) == 1:
        if call.method != "GET":
            return _not_allowed(call)
        body = envelope(key, [render(credit)], response_id=ctx.ids.guid(), now=ctx.now)
        return json_reply(200, body)
    if len(rest) == 2:
        if call.method != "PUT":
            return _not_allowed(call)
        elements = _elements(call, "Allocations")
        if isinstance(elements, Reply):
            return elements
        # The spec requires a Date; the fake takes today's, and echoes it on a refusal.
        elements = [
            {"Date": ctx.today.isoformat(), **el} if isinstance(el, Mapping) else el
            for el in elements
        ]
        outcomes = [allocate_credit(org, credit, el, ctx) for el in elements]
        return _write_reply(
            "Allocations",
            elements,
            outcomes,
            summarize=_summarize(call),
            render=lambda a: render_allocation(a, org, with_credit=True),
            flag=None,
            ctx=ctx,
        )
    if call.method != "DELETE":
        return _not_allowed(call)
    allocation = org.allocations.get(rest[2].lower())
    if allocation is None or allocation.credit_id != credit.credit_id:
        return _not_found()
    delete_allocation(org, credit, allocation, ctx)
    # Xero answers with the bare Allocation, flagged deleted (spec: deletePrepaymentAllocations).
    return json_reply(200, {**render_allocation(allocation, org), "IsDeleted": True})


# --- contacts ----------------------------------------------------------------------------------


def _get_contacts(org: Org, call: FakeRequest, ctx: Ctx) -> Reply:
    since = _since(call)
    ids = _csv(call, "IDs")
    records: list[StoredContact]
    if ids is not None:
        records = [org.contacts[i] for i in {i.lower() for i in ids} if i in org.contacts]
        records.sort(key=lambda c: c.updated_at)
    elif since is not None:
        records = changed_since(org.recent_contacts, org.contacts, since, lambda c: c.updated_at)
    else:
        records = [org.contacts[i] for i in org.recent_contacts]
    if since is not None:
        records = [c for c in records if c.updated_at >= since]
    if call.query.get("includearchived", "").strip().lower() != "true":
        records = [c for c in records if c.status != "ARCHIVED"]
    term = call.query.get("searchterm", "").strip().casefold()
    if term:
        records = [
            c
            for c in records
            if any(term in (v or "").casefold() for v in (c.name, c.contact_number, c.email))
        ]
    return _list_reply(
        "Contacts",
        call,
        records,
        page=paging(call.query),
        full=render_contact,
        shown=render_contact,
        ctx=ctx,
        in_update_order=True,
    )


def _contacts(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if ident is None:
        if call.method == "GET":
            return _get_contacts(org, call, ctx)
        if call.method not in ("PUT", "POST"):
            return _not_allowed(call)
        elements = _elements(call, "Contacts")
        if isinstance(elements, Reply):
            return elements
        write = create_contact if call.method == "PUT" else upsert_contact
        outcomes = [write(org, el, ctx) for el in elements]
        return _write_reply(
            "Contacts",
            elements,
            outcomes,
            summarize=_summarize(call),
            render=render_contact,
            flag="HasValidationErrors",
            ctx=ctx,
        )
    contact = org.contacts.get(ident.lower()) or org.contact_by_number(ident)
    if contact is None:
        return _not_found()
    if call.method == "GET":
        body = envelope(
            "Contacts", [render_contact(contact)], response_id=ctx.ids.guid(), now=ctx.now
        )
        return json_reply(200, body)
    if call.method != "POST":
        return _not_allowed(call)
    elements = _elements(call, "Contacts")
    if isinstance(elements, Reply):
        return elements
    outcomes = [update_contact(org, contact, el, ctx) for el in elements]
    return _write_reply(
        "Contacts",
        elements,
        outcomes,
        summarize=_summarize(call),
        render=render_contact,
        flag="HasValidationErrors",
        ctx=ctx,
        extra={"ContactID": contact.contact_id},
    )


# --- reference data ----------------------------------------------------------------------------


def _accounts(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if call.method != "GET":
        return _not_allowed(call)
    accounts = sorted(org.accounts.values(), key=lambda a: a.code)
    if ident is not None:
        accounts = [a for a in accounts if a.account_id == ident.lower()]
        if not accounts:
            return _not_found()
    since = _since(call)
    if since is not None:
        accounts = [a for a in accounts if a.updated_at >= since]
    return _list_reply(
        "Accounts",
        call,
        accounts,
        page=PageAsked(None, 0),
        full=render_account,
        shown=render_account,
        ctx=ctx,
    )


def _tax_rates(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if call.method != "GET" or ident is not None:
        return _not_allowed(call)
    rates = list(org.tax_rates.values())
    wanted = call.query.get("taxtype")
    if wanted:
        rates = [r for r in rates if r.tax_type == wanted]
    return _list_reply(
        "TaxRates",
        call,
        rates,
        page=PageAsked(None, 0),
        full=render_tax_rate,
        shown=render_tax_rate,
        ctx=ctx,
    )


def _organisation(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if call.method != "GET" or ident is not None:
        return _not_allowed(call)
    body = envelope(
        "Organisations", [render_organisation(org)], response_id=ctx.ids.guid(), now=ctx.now
    )
    return json_reply(200, body)


def _not_allowed(call: FakeRequest) -> Reply:
    return error_reply(
        405,
        f"FakeXero does not implement {call.method} on this resource",
        number=405,
        error_type="MethodNotAllowedException",
    )


_SERVED = (
    "/Invoices",
    "/Payments",
    "/BatchPayments",
    "/Prepayments",
    "/Overpayments",
    "/Contacts",
    "/Accounts",
    "/TaxRates",
    "/Organisation",
)


def _not_implemented(call: FakeRequest, path: str) -> Reply:
    return error_reply(
        501,
        f"FakeXero does not implement {call.method} {path}; it serves {', '.join(_SERVED)}",
        number=501,
        error_type="NotImplementedException",
    )


# Resources with at most one level below them (``/Invoices/{InvoiceID}``).
_ROUTES: dict[str, Callable[[Org, FakeRequest, str | None, Ctx], Reply]] = {
    "invoices": _invoices,
    "payments": _payments,
    "batchpayments": _batch_payments,
    "contacts": _contacts,
    "accounts": _accounts,
    "taxrates": _tax_rates,
    "organisation": _organisation,
}
# Resources with more (``/Prepayments/{PrepaymentID}/Allocations/{AllocationID}``): the
# handler gets every part of the path after the resource's name.
_DEEP_ROUTES: dict[str, Callable[[Org, FakeRequest, Sequence[str], Ctx], Reply]] = {
    "prepayments": functools.partial(_credits, kind="Prepayment"),
    "overpayments": functools.partial(_credits, kind="Overpayment"),
}


def accounting(org: Org, path: str, call: FakeRequest, *, ids: Ids, now: datetime) -> Reply:
    """Answer one accounting API call; ``path`` is relative to ``/api.xro/2.0``."""
    ctx = Ctx(ids=ids, now=now, unitdp=_unitdp(call))
    parts = [p for p in path.split("/") if p]
    resource = parts[0].casefold() if parts else ""
    try:
        deep = _DEEP_ROUTES.get(resource)
        if deep is not None and len(parts) <= 4:
            return deep(org, call, parts[1:], ctx)
        route = _ROUTES.get(resource)
        if route is None or len(parts) > 2:
            return _not_implemented(call, path)
        return route(org, call, parts[1] if len(parts) > 1 else None, ctx)
    except QueryError as e:
        return _bad_request(str(e))
