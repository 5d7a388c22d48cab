"""The accounting API's endpoints: one request in, one response out, for one organisation.

Authentication, tenants, rate limits, idempotency and faults are handled before a request gets
here (see ``_fake.py``); these functions read and write the organisation's records and answer in
Xero's shapes.
"""

from __future__ import annotations

import functools
import math
import re
import urllib.parse
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import attrs

from bms_xero.errors import UnexpectedResponse
from bms_xero.mapping.wire import decode_json
from bms_xero.testing._encode import JsonText, dump_json, dump_json_text, records_json
from bms_xero.testing._ids import Ids
from bms_xero.testing._index import Pick, Sorted, UpdateOrder
from bms_xero.testing._model import (
    Org,
    StoredBatchPayment,
    StoredContact,
    StoredCredit,
    StoredCreditNote,
    StoredInvoice,
    StoredPayment,
)
from bms_xero.testing._query import (
    PageAsked,
    QueryError,
    Where,
    if_modified_since,
    normal_guid,
    order_by,
    paging,
)
from bms_xero.testing._render import (
    envelope,
    render_account,
    render_allocation,
    render_batch_payment,
    render_contact,
    render_credit,
    render_credit_note,
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
    create_credit_note,
    create_invoice,
    delete_allocation,
    delete_batch_payment,
    delete_payment,
    find_credit_note,
    find_invoice,
    number_problems,
    pay_invoice,
    update_contact,
    update_credit_note,
    update_invoice,
    upsert_contact,
    upsert_credit_note,
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
    "records_reply",
    "text_reply",
    "validation_failed",
]

JSON = "application/json; charset=utf-8"
T = TypeVar("T")
MAX_BODY = MAX_BODY_BYTES  # Xero's documented request size limit (3.5 MB)


class _Stamped(Protocol):
    """A record with an UpdatedDateUTC, kept in one of the organisation's
    :class:`~bms_xero.testing._index.UpdateOrder` indexes."""

    @property
    def updated_at(self) -> datetime: ...


S = TypeVar("S", bound=_Stamped)


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


def _post_data_invalid(message: str) -> Reply:
    return error_reply(400, message, number=14, error_type="PostDataInvalidException")


def _elements(call: FakeRequest, key: str) -> list[Any] | Reply:
    """The elements of a write's body: ``{"Invoices": [...]}`` or a single object, in JSON
    or in XML (see :func:`_xml_body`)."""
    if len(call.body) > MAX_BODY:
        return text_reply(413, "Request Entity Too Large")
    xml = _xml_body(call)
    if xml is not None:
        return _xml_elements(xml, key)
    try:
        data = decode_json(call.body or b"")
    except (UnexpectedResponse, RecursionError):
        return _post_data_invalid("The request body is not valid JSON")
    if isinstance(data, Mapping) and key in data:
        items = data[key]
        if isinstance(items, list):
            return items
    elif isinstance(data, Mapping) and data:
        return [data]
    return _post_data_invalid(f'The request body must be {{"{key}": [...]}} or a single object')


# --- XML bodies ---------------------------------------------------------------------------------

# Xero takes writes in XML as well as JSON (pyxero writes only XML). An XML element whose
# children are values becomes an object, and these containers become lists of their children,
# so <Invoices><Invoice>...<LineItems><LineItem>... reads as {"Invoices": [{"LineItems": [...
# (the same dict the JSON path builds). Any other element named like a plural of its children
# (<Things><Thing/>...) is a list too.
_XML_LISTS = {
    "Invoices": "Invoice",
    "Contacts": "Contact",
    "Payments": "Payment",
    "BatchPayments": "BatchPayment",
    "Allocations": "Allocation",
    "LineItems": "LineItem",
    "Tracking": "TrackingCategory",
    "Addresses": "Address",
    "Phones": "Phone",
    "ContactPersons": "ContactPerson",
    "ContactGroups": "ContactGroup",
    "CreditNotes": "CreditNote",
    "Prepayments": "Prepayment",
    "Overpayments": "Overpayment",
    "ValidationErrors": "ValidationError",
    "Warnings": "Warning",
}
_XML_TYPES = frozenset({"application/xml", "text/xml"})
# A DOCTYPE can declare entities, and entities can expand a small body into gigabytes; the
# stdlib parser has no switch for that, so such bodies are refused before parsing.
_XML_DECLARATIONS = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# The declaration names an encoding; only UTF-8 (or none, which means UTF-8) is read, so the
# check above sees the same characters the parser will.
_XML_ENCODING = re.compile(r"""^<\?xml[^>]*\bencoding\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_XML_MAX_DEPTH = 32


def _xml_body(call: FakeRequest) -> bytes | None:
    """The XML of a write, if it is one: ``Content-Type: application/xml`` or ``text/xml``,
    a body starting with ``<``, or the form-encoded ``xml=...`` older pyxero versions send;
    ``None`` for anything else (read as JSON)."""
    content_type = call.headers.get("content-type", "").split(";")[0].strip().lower()
    body = call.body.removeprefix(b"\xef\xbb\xbf").lstrip()
    if content_type == "application/x-www-form-urlencoded" and body.startswith(b"xml="):
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return form.get("xml", [""])[0].encode()
    if content_type in _XML_TYPES or body.startswith(b"<"):
        return body
    return None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]  # without a {namespace}


def _xml_value(element: ElementTree.Element, depth: int = 0) -> Any:
    """One XML element as the JSON path would have it (see :data:`_XML_LISTS`)."""
    if depth > _XML_MAX_DEPTH:
        raise ValueError(f"the XML is nested more than {_XML_MAX_DEPTH} deep")
    tag = _local(element.tag)
    children = list(element)
    item = _XML_LISTS.get(tag)
    if (
        item is None
        and tag.endswith("s")
        and children
        and all(_local(c.tag) == tag[:-1] for c in children)
    ):
        item = tag[:-1]
    if item is not None:
        if children and all(_local(c.tag) == item for c in children):
            return [_xml_value(c, depth + 1) for c in children]
        if not children:
            return []
        # pyxero writes a list whose name is not a plural (Tracking) as one element holding
        # the entry's fields: <Tracking><Name>Region</Name><Option>North</Option></Tracking>.
        return [_xml_object(children, depth)]
    if not children:
        return (element.text or "").strip()
    return _xml_object(children, depth)


def _xml_object(children: list[ElementTree.Element], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for child in children:
        name = _local(child.tag)
        if name in out:
            raise ValueError(f"<{name}> appears twice where one value is expected")
        out[name] = _xml_value(child, depth + 1)
    return out


def _xml_elements(body: bytes, key: str) -> list[Any] | Reply:
    """The elements of an XML write: a ``<Invoices>`` root of ``<Invoice>`` elements, or one
    ``<Invoice>`` (and likewise for every resource)."""
    # Decoded here, strictly, and parsed as text: a UTF-16 body (or one declaring another
    # encoding) would otherwise hide a DOCTYPE from the check the parser never makes.
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:  # XML never holds NUL: this is UTF-16 (or worse) read as UTF-8
        return _post_data_invalid("FakeXero reads XML bodies in UTF-8 only; send UTF-8")
    declared = _XML_ENCODING.match(text.lstrip())
    if declared is not None and declared.group(1).strip().lower() not in ("utf-8", "utf8"):
        return _post_data_invalid(
            f"FakeXero reads XML bodies in UTF-8 only, not {declared.group(1)[:20]!r}; send UTF-8"
        )
    if _XML_DECLARATIONS.search(text):
        return _post_data_invalid(
            "FakeXero does not read XML with a DOCTYPE or ENTITY declaration; send the "
            "elements alone"
        )
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 (UTF-8 only, DOCTYPE and ENTITY refused)
        value = _xml_value(root)
    except (ElementTree.ParseError, ValueError) as e:
        return _post_data_invalid(f"The request body is not valid XML: {e}")
    tag, item = _local(root.tag), _XML_LISTS.get(key, key[:-1])
    if tag == key and isinstance(value, list) and not (root.text or "").strip():
        return value
    if tag == item and isinstance(value, dict):
        if key == "Allocations" and "Amount" not in value and "AppliedAmount" in value:
            # pyxero names an allocation's amount AppliedAmount, as Xero's XML does.
            value = {**value, "Amount": value.pop("AppliedAmount")}
        return [value]
    shown = f"an empty <{tag}>" if tag == item else f"<{tag}> holding {type(value).__name__}"
    return _post_data_invalid(
        f"The XML body must be <{key}> holding <{item}> elements, or one <{item}> with its "
        f"fields; not {shown}"
    )


def _writes(elements: Sequence[Any], write: Callable[[Any], Outcome]) -> list[Outcome]:
    """Each element's outcome: refused for its numbers (see
    :func:`~bms_xero.testing._rules.number_problems`) before any rule runs, else written."""
    outcomes = []
    for element in elements:
        problems = number_problems(element)
        outcomes.append(Outcome(None, tuple(problems)) if problems else write(element))
    return outcomes


def _json_safe(value: Any) -> Any:
    """``value`` with NaN and Infinity (which a refused element may carry) written as text:
    they are not JSON, and an answer must always be."""
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, Decimal) and not value.is_finite():
        return str(value)
    return value


def _echo(
    element: Any, outcome: Outcome, *, flag: str | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A rejected element as Xero returns it: what was sent, plus its ValidationErrors.

    Each message is given once, on the element, lines included: that is the shape of every
    example in Xero's spec (LineItem has no ValidationErrors there), and a client reading
    both places would otherwise see a line's problem twice.
    """
    out: dict[str, Any] = _json_safe(dict(element)) if isinstance(element, Mapping) else {}
    out.update(extra or {})
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
    written: Callable[[Any], JsonText] | None = None,
) -> Reply:
    """Answer a batch write; summarised (the default) or per element (summarizeErrors=false).

    ``flag`` is the element's error flag (``HasErrors``, ``HasValidationErrors``); ``None``
    for records whose schema has none (Allocation, BatchPayment).

    ``written``, when given, writes a stored record straight to JSON text: exactly
    ``dump_json`` of ``render(record)``, whose ``flag`` must already be False where it
    stands (an invoice's HasErrors is), so only the members added after it are left to add.
    """
    if summarize and any(not o.ok for o in outcomes):
        # Xero still keeps the valid elements; it just doesn't say what it made of them.
        return validation_failed(elements, outcomes, flag=flag, extra=extra)
    added: dict[str, Any] = {"StatusAttributeString": "OK"}
    if not summarize:
        added.update(ValidationErrors=[], Warnings=[])
    # The added members' text, written once: each record's text takes it before its last "}".
    tail = "," + dump_json_text(added)[1:-1] + "}"
    items: list[dict[str, Any] | JsonText] = []
    for el, outcome in zip(elements, outcomes, strict=True):
        if outcome.ok and written is not None:
            items.append(JsonText(written(outcome.record)[:-1] + tail))
            continue
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
    return records_reply(key, items, ctx)


def validation_failed(
    elements: Sequence[Any],
    outcomes: Sequence[Outcome],
    *,
    flag: str | None,
    extra: Mapping[str, Any] | None = None,
) -> Reply:
    """Xero's 400 ValidationException for a batch with refused elements: each refused element
    echoed with its ValidationErrors (:func:`_echo`), the accepted ones left out."""
    failed = [
        _echo(el, o, flag=flag, extra=extra)
        for el, o in zip(elements, outcomes, strict=True)
        if not o.ok
    ]
    return error_reply(400, "A validation exception occurred", elements=failed)


def records_reply(
    key: str,
    items: Sequence[dict[str, Any] | JsonText],
    ctx: Ctx,
    pagination: dict[str, int] | None = None,
) -> Reply:
    """A 200 answer: ``items`` under ``key`` in Xero's envelope (see
    :func:`~bms_xero.testing._render.envelope`). An item may be a record already written as
    JSON text (:data:`~bms_xero.testing._encode.JsonText`), taken as it is."""
    records = [item for item in items if not isinstance(item, str)]
    if len(records) == len(items):
        body = envelope(
            key, records, response_id=ctx.ids.guid(), now=ctx.now, pagination=pagination
        )
        return json_reply(200, body)
    head = envelope(key, [], response_id=ctx.ids.guid(), now=ctx.now, pagination=pagination)
    del head[key]
    return Reply(200, (("Content-Type", JSON),), records_json(head, key, items))


def _summarize(call: FakeRequest) -> bool:
    return call.query.get("summarizeerrors", "true").strip().lower() != "false"


def _csv(call: FakeRequest, name: str) -> list[str] | None:
    raw = call.query.get(name.casefold())
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _guids(call: FakeRequest, name: str) -> list[str] | None:
    """A comma-separated list of ids (``IDs``, ``ContactIDs``), each as the fake stores ids:
    Xero reads a GUID in any case, with or without its dashes."""
    values = _csv(call, name)
    return None if values is None else [normal_guid(v.strip('"')) for v in values]


def _flag(call: FakeRequest, name: str) -> bool:
    """A boolean query parameter (``includeArchived=true``); absent is false. Any case is
    read (the official SDK writes Python's ``True``), anything else is a 400."""
    raw = call.query.get(name.casefold())
    if raw is None or raw.strip() == "":
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise QueryError(f"{name}={raw!r} must be true or false")
    return value == "true"


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
    organisation's update orders give them), so ``order=UpdatedDateUTC ASC`` or
    ``DESC``, the keyset-paging order, costs nothing; any other field renders every record.
    """
    order = call.query.get("order")
    if not order or not order.strip():
        return records
    fields = order_by(order)
    if in_update_order and len(fields) == 1 and fields[0][0].casefold() == "updateddateutc":
        return records if not fields[0][1] else records[::-1]
    rendered = [(render(r), r) for r in records]
    # Sort by the last field first: Python's sort is stable, so each earlier field then
    # decides among the records the later ones left equal.
    for field, descending in reversed(fields):
        keys = [_sort_key(shown.get(field)) for shown, _ in rendered]
        if any(key is None for key in keys):
            raise QueryError(
                f"order={order!r}: FakeXero can only order by a field every record has, "
                f"and some have no {field}"
            )
        try:
            pairs = sorted(zip(keys, rendered, strict=True), key=lambda p: p[0], reverse=descending)
        except TypeError:
            raise QueryError(f"order={order!r}: {field} is not one kind of value") from None
        rendered = [pair for _, pair in pairs]
    return [r for _, r in rendered]


_MS_DATE = re.compile(r"/Date\((-?\d+)")


def _sort_key(value: Any) -> Any:
    """What a rendered field sorts by: ``/Date(ms...)/`` by its instant (its text would put
    ``/Date(999...)/`` after ``/Date(1000...)/``), everything else as it is."""
    if isinstance(value, str):
        stamp = _MS_DATE.match(value)
        return int(stamp.group(1)) if stamp else value
    return value


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
    written: Callable[[T], JsonText] | None = None,
) -> Reply:
    """A list answer: ``where``, then ``order``, then the page; only that page is rendered
    when ``where`` can be read off the records (``fields``) and ``order`` is free.
    ``written``, when given, writes a record shown straight to JSON text (see
    :func:`_shown`)."""
    records = _filtered(call, records, full, fields or {})
    records = _ordered(call, records, full, in_update_order=in_update_order)
    on_page, pagination = page.cut(records)
    return records_reply(key, _shown(on_page, shown, written), ctx, pagination)


def _shown(
    records: Iterable[T],
    shown: Callable[[T], dict[str, Any]],
    written: Callable[[T], JsonText] | None,
) -> list[dict[str, Any] | JsonText]:
    """The page's records as the answer shows them: rendered by ``shown``, or, where
    ``written`` is given, written by it straight to the text ``dump_json`` would make of
    ``shown(record)`` (the same bytes at a fraction of the cost; ``_render``'s ``*_json``
    functions)."""
    if written is not None:
        return [written(r) for r in records]
    return [shown(r) for r in records]


def _where_plan(
    order: UpdateOrder[S], where: Where
) -> tuple[tuple[Sorted, ...], bool, bool] | None:
    """How ``order``'s indexes narrow ``where``: the candidate slot sets (their union
    holds every match), whether no record is in two of them, and whether the union is
    exactly the matches; ``None`` when some OR group has no clause an index answers (the
    filter then tries every record, as it always did).

    Each group is narrowed by its smallest lookup (see :meth:`Where.lookups`, which offers
    only the clauses that may narrow without changing whether the read fails). The union
    is exact when every group is one such clause; it is disjoint when they all name one
    field (a record has one Status, one InvoiceNumber).
    """
    chosen: dict[tuple[str, str], Sorted] = {}
    exact = True
    for lookups, alone in where.lookups():
        best: tuple[str, str, Sorted] | None = None
        for lookup in lookups:
            found = order.lookup(lookup.path, lookup.value, guid=lookup.guid)
            if found is not None and (best is None or len(found) < len(best[2])):
                best = (lookup.path, lookup.value, found)
        if best is None:
            return None
        exact = exact and alone
        chosen[best[0], best[1]] = best[2]
    return tuple(chosen.values()), len({path for path, _ in chosen}) == 1, exact


def _by_update(
    key: str,
    call: FakeRequest,
    order: UpdateOrder[S],
    records: Mapping[str, S],
    *,
    since: datetime | None,
    page: PageAsked,
    full: Callable[[S], dict[str, Any]],
    shown: Callable[[S], dict[str, Any]],
    ctx: Ctx,
    fields: Mapping[str, Callable[[S], Any]] | None = None,
    among: Sequence[tuple[Sorted, ...]] = (),
    keep: Callable[[S], bool] | None = None,
    written: Callable[[S], JsonText] | None = None,
) -> Reply:
    """A list answer read off the organisation's ``order`` of these records: those changed
    since ``since``, in one of each of ``among``'s slot sets (a query parameter's values:
    ``Statuses=``), that ``keep`` keeps, that match ``where``; then ``order`` and the page.

    It answers what :func:`_list_reply` over every record in update order would, at the
    cost of the page: with no ``where``, or one the indexes answer exactly
    (``Type=="ACCREC"``, ``InvoiceNumber=="X"``, ORs of one field), and no ``keep``, the
    count and the page are read off the indexes and only the page's records are touched
    and rendered. Otherwise the narrowest candidates are tried one by one (the filter read
    off the records where it can be, rendering them only where it cannot), in update order,
    so a ``where`` that fails fails as it did; ordering by another field renders every
    match, as before. ``written`` is as :func:`_shown` takes it.
    """
    start = 0 if since is None else order.first_slot(since)
    unions: list[tuple[tuple[Sorted, ...], bool]] = [(sources, True) for sources in among]
    test: Callable[[S], bool] | None = None
    text = call.query.get("where")
    if text:
        matches = Where(text)
        plan = _where_plan(order, matches)
        if plan is None or not plan[2]:
            direct = matches.on_records(fields or {})
            test = direct if direct is not None else (lambda r: matches(full(r)))
        if plan is not None:
            unions.append((plan[0], plan[1]))
    if not unions:
        unions.append(((order.everything,), True))
    # Driven by the smallest set; the others are asked about each of its slots.
    unions.sort(key=lambda union: sum(map(len, union[0])))
    (driver, disjoint), others = unions[0], [sources for sources, _ in unions[1:]]
    check: Callable[[int], bool] | None = None
    if others or keep is not None or test is not None:

        def check(slot: int) -> bool:
            if not all(any(slot in s for s in sources) for sources in others):
                return False
            record = records[order.ident_at(slot)]
            return (keep is None or keep(record)) and (test is None or test(record))

    pick = Pick(driver, disjoint, start, check)
    # Candidates are tried before ``order`` is read, so a failing filter is the error.
    every = None if pick.counted else pick.every()
    asked = call.query.get("order")
    sort = order_by(asked) if asked and asked.strip() else []
    if len(sort) > 1 or (sort and sort[0][0].casefold() != "updateddateutc"):
        found = [records[order.ident_at(s)] for s in (every if every is not None else pick.every())]
        on_page, pagination = page.cut(_ordered(call, found, full, in_update_order=True))
        return records_reply(key, _shown(on_page, shown, written), ctx, pagination)
    descending = bool(sort) and sort[0][1]
    slots: Sequence[int]
    if page.number is None:
        slots = every if every is not None else pick.every()
        if descending:
            slots = slots[::-1]
        pagination = None
    else:
        skip = (page.number - 1) * page.size
        if every is None:
            slots, total = pick.page(skip, page.size, descending=descending)
        else:
            slots, total = (
                (every[::-1] if descending else every)[skip : skip + page.size],
                len(every),
            )
        pagination = page.pagination(total)
    on_page = [records[order.ident_at(s)] for s in slots]
    return records_reply(key, _shown(on_page, shown, written), ctx, pagination)


def _one(
    key: str,
    call: FakeRequest,
    record: T,
    *,
    render: Callable[[T], dict[str, Any]],
    change: Callable[[Any], Outcome],
    flag: str | None,
    named: dict[str, str],
    ctx: Ctx,
    shown: Callable[[T], dict[str, Any]] | None = None,
) -> Reply:
    """``GET /{key}/{id}`` answers the record (rendered by ``shown``, else ``render``);
    ``POST`` applies ``change`` to each element and answers what it made of them, each
    refused one echoed with ``named`` (its id). A payment's or batch's only change is its
    reversal, ``Status: DELETED``."""
    if call.method == "GET":
        return records_reply(key, [(shown or render)(record)], ctx)
    if call.method != "POST":
        return _not_allowed(call)
    elements = _elements(call, key)
    if isinstance(elements, Reply):
        return elements
    return _write_reply(
        key,
        elements,
        _writes(elements, change),
        summarize=_summarize(call),
        render=render,
        flag=flag,
        ctx=ctx,
        extra=named,
    )


def _many(
    key: str,
    org: Org,
    call: FakeRequest,
    *,
    create: Callable[[Org, Any, Ctx], Outcome],
    upsert: Callable[[Org, Any, Ctx], Outcome],
    render: Callable[[Any], dict[str, Any]],
    flag: str,
    ctx: Ctx,
    written: Callable[[Any], JsonText] | None = None,
) -> Reply:
    """``PUT /{key}`` applies ``create`` to each element and ``POST /{key}`` ``upsert``
    (Xero's PUT only creates, its POST creates or updates: xero-api.md section 1), answering
    what was made of each (``written`` as :func:`_write_reply` takes it)."""
    if call.method not in ("PUT", "POST"):
        return _not_allowed(call)
    elements = _elements(call, key)
    if isinstance(elements, Reply):
        return elements
    write = create if call.method == "PUT" else upsert
    return _write_reply(
        key,
        elements,
        _writes(elements, lambda el: write(org, el, ctx)),
        summarize=_summarize(call),
        render=render,
        flag=flag,
        ctx=ctx,
        written=written,
    )


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
    """``GET /Invoices``: the filters (IDs, InvoiceNumbers, ContactIDs, Statuses,
    If-Modified-Since), then ``searchTerm`` and ``createdByMyApp``, then ``where``, ``order``
    and the page.

    ``searchTerm`` is a case-insensitive contains over InvoiceNumber and Reference (spec,
    components/parameters/searchTerm). ``createdByMyApp=true`` keeps the invoices this app
    created through the API. ``includeArchived`` is read and changes nothing: invoices have
    no ARCHIVED status (spec, Invoice.Status), so none is ever left out.
    """
    page = paging(call.query)
    since = _since(call)
    ids = _guids(call, "IDs")
    numbers = _csv(call, "InvoiceNumbers")
    contacts = _guids(call, "ContactIDs")
    statuses = _csv(call, "Statuses")
    term = call.query.get("searchterm", "").strip().casefold()
    mine = _flag(call, "createdByMyApp")
    _flag(call, "includeArchived")  # read, so a bad value is a 400; see the docstring
    unitdp = _unitdp(call)
    summary = _flag(call, "summaryOnly")
    # Un-paged list calls leave out line items, as Xero's do.
    with_lines = page.number is not None

    def full(r: StoredInvoice) -> dict[str, Any]:
        return render_invoice(r, org, unitdp=unitdp)

    def shown(r: StoredInvoice) -> dict[str, Any]:
        return render_invoice(r, org, unitdp=unitdp, lines=with_lines, summary=summary)

    def written(r: StoredInvoice) -> JsonText:
        return render_invoice(
            r, org, unitdp=unitdp, lines=with_lines, summary=summary, as_json=True
        )

    wanted_statuses = {s.upper() for s in statuses} if statuses is not None else None

    def kept(r: StoredInvoice) -> bool:
        return (not mine or r.created_by == ctx.app) and (
            not term or term in r.number.casefold() or term in (r.reference or "").casefold()
        )

    if ids is None and numbers is None and contacts is None:
        order = org.invoice_order
        return _by_update(
            "Invoices",
            call,
            order,
            org.invoices,
            since=since,
            page=page,
            full=full,
            shown=shown,
            ctx=ctx,
            fields=_INVOICE_FIELDS,
            among=[] if wanted_statuses is None else [order.having("Status", wanted_statuses)],
            keep=kept if mine or term else None,
            written=written,
        )
    # A few named invoices: found directly, sorted into update order.
    candidates: Iterable[StoredInvoice]
    if ids is not None:
        wanted = set(ids)
        candidates = [org.invoices[i] for i in wanted if i in org.invoices]
    elif numbers is not None:
        candidates = [org.invoices[org.numbers[n]] for n in set(numbers) if n in org.numbers]
    else:
        candidates = [
            org.invoices[i]
            for c in {c.lower() for c in contacts or ()}
            for i in org.by_contact.get(c, {})
        ]
    wanted_numbers = set(numbers) if numbers is not None else None
    wanted_contacts = set(contacts) if contacts is not None else None
    records = [
        r
        for r in candidates
        if (since is None or r.updated_at >= since)
        and (wanted_numbers is None or r.number in wanted_numbers)
        and (wanted_contacts is None or r.contact_id in wanted_contacts)
        and (wanted_statuses is None or r.status in wanted_statuses)
        and kept(r)
    ]
    records.sort(key=lambda r: r.updated_at)
    return _list_reply(
        "Invoices",
        call,
        records,
        page=page,
        full=full,
        shown=shown,
        ctx=ctx,
        fields=_INVOICE_FIELDS,
        in_update_order=True,
        written=written,
    )


def _invoices(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(invoice: StoredInvoice) -> dict[str, Any]:
        return render_invoice(invoice, org, unitdp=ctx.unitdp)

    def written(invoice: StoredInvoice) -> JsonText:
        # render's text; its HasErrors is always False, as _write_reply requires.
        return render_invoice(invoice, org, unitdp=ctx.unitdp, as_json=True)

    if ident is None:
        if call.method == "GET":
            return _get_invoices(org, call, ctx)
        return _many(
            "Invoices",
            org,
            call,
            create=create_invoice,
            upsert=upsert_invoice,
            render=render,
            flag="HasErrors",
            ctx=ctx,
            written=written,
        )
    found = find_invoice(org, ident)
    if found is None:
        return _not_found()
    return _one(
        "Invoices",
        call,
        found,
        render=render,
        change=lambda el: update_invoice(org, found, el, ctx),
        flag="HasErrors",
        named={"InvoiceID": found.invoice_id},
        ctx=ctx,
    )


# --- payments ----------------------------------------------------------------------------------


def _payments(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(payment: StoredPayment) -> dict[str, Any]:
        return render_payment(payment, org)

    if ident is None:
        if call.method == "GET":
            return _by_update(
                "Payments",
                call,
                org.payment_order,
                org.payments,
                since=_since(call),
                page=paging(call.query),
                full=render,
                shown=render,
                ctx=ctx,
                fields=_PAYMENT_FIELDS,
            )
        # PUT and POST both only create: a payment's one change is its reversal, through
        # POST /Payments/{PaymentID}.
        return _many(
            "Payments",
            org,
            call,
            create=pay_invoice,
            upsert=pay_invoice,
            render=render,
            flag="HasValidationErrors",
            ctx=ctx,
        )
    payment = org.payments.get(normal_guid(ident))
    if payment is None:
        return _not_found()
    return _one(
        "Payments",
        call,
        payment,
        render=render,
        change=lambda el: delete_payment(org, payment, el, ctx),
        flag="HasValidationErrors",
        named={"PaymentID": payment.payment_id},
        ctx=ctx,
    )


# --- batch payments ----------------------------------------------------------------------------


def _batch_payments(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:

    def render(batch: StoredBatchPayment) -> dict[str, Any]:
        return render_batch_payment(batch, org)

    if ident is None:
        if call.method != "GET":
            return _not_allowed(call)
        return _by_update(
            "BatchPayments",
            call,
            org.batch_payment_order,
            org.batch_payments,
            since=_since(call),
            page=PageAsked(None, 0),  # the spec pages neither GET /BatchPayments nor its answer
            full=render,
            shown=render,
            ctx=ctx,
        )
    batch = org.batch_payments.get(normal_guid(ident))
    if batch is None:
        return _not_found()
    return _one(
        "BatchPayments",
        call,
        batch,
        render=render,
        change=lambda el: delete_batch_payment(org, batch, el, ctx),
        flag=None,
        named={"BatchPaymentID": batch.batch_payment_id},
        ctx=ctx,
    )


# --- prepayments and overpayments ---------------------------------------------------------------


def _credits(org: Org, call: FakeRequest, rest: Sequence[str], ctx: Ctx, *, kind: str) -> Reply:
    """``/Prepayments`` or ``/Overpayments`` (``kind``), their items and their allocations."""
    key = f"{kind}s"
    records, order = org.credits(kind)

    def render(credit: StoredCredit) -> dict[str, Any]:
        return render_credit(credit, org)

    if not rest:
        if call.method != "GET":
            return _not_allowed(call)
        return _by_update(
            key,
            call,
            order,
            records,
            since=_since(call),
            page=paging(call.query),
            full=render,
            shown=render,
            ctx=ctx,
            fields=_CREDIT_FIELDS,
        )
    credit = records.get(normal_guid(rest[0]))
    if len(rest) > 1 and rest[1].casefold() != "allocations":
        return _not_implemented(call, f"/{key}/{rest[0]}/{rest[1]}")
    if credit is None:
        return _not_found()
    if len(rest) == 1:
        if call.method != "GET":
            return _not_allowed(call)
        return records_reply(key, [render(credit)], ctx)
    return _allocations(org, call, rest, credit, ctx)


def _allocation_elements(call: FakeRequest, ctx: Ctx) -> list[Any] | Reply:
    """The elements of ``PUT .../Allocations``. The spec requires a Date; the fake takes
    today's, and echoes it on a refusal."""
    elements = _elements(call, "Allocations")
    if isinstance(elements, Reply):
        return elements
    return [
        {"Date": ctx.today.isoformat(), **el} if isinstance(el, Mapping) else el for el in elements
    ]


def _allocations(
    org: Org,
    call: FakeRequest,
    rest: Sequence[str],
    credit: StoredCredit | StoredCreditNote,
    ctx: Ctx,
) -> Reply:
    """``PUT /{resource}/{id}/Allocations`` and ``DELETE .../Allocations/{AllocationID}`` of
    a prepayment, overpayment or credit note (``rest`` is the path after the resource's
    name; the caller found ``credit``).

    Xero answers a DELETE with the bare Allocation, flagged deleted (spec:
    deletePrepaymentAllocations, deleteCreditNoteAllocations).
    """
    if len(rest) == 2:
        if call.method != "PUT":
            return _not_allowed(call)
        elements = _allocation_elements(call, ctx)
        if isinstance(elements, Reply):
            return elements
        return _write_reply(
            "Allocations",
            elements,
            _writes(elements, lambda el: allocate_credit(org, credit, el, ctx)),
            summarize=_summarize(call),
            render=lambda a: render_allocation(a, org, with_credit=True),
            flag=None,
            ctx=ctx,
        )
    if call.method != "DELETE":
        return _not_allowed(call)
    allocation = org.allocations.get(normal_guid(rest[2]))
    if allocation is None or allocation.credit_id != credit.credit_id:
        return _not_found()
    delete_allocation(org, credit, allocation, ctx)
    return json_reply(200, {**render_allocation(allocation, org), "IsDeleted": True})


# --- credit notes ------------------------------------------------------------------------------


# Fields a ``where`` clause reads straight off a stored credit note (see _INVOICE_FIELDS).
_CREDIT_NOTE_FIELDS: dict[str, Callable[[StoredCreditNote], Any]] = {
    "Type": lambda n: n.type,
    "Status": lambda n: n.status,
    "CreditNoteID": lambda n: n.credit_note_id,
    "CreditNoteNumber": lambda n: n.number,
    "Contact.ContactID": lambda n: n.contact_id,
}


def _credit_notes(org: Org, call: FakeRequest, rest: Sequence[str], ctx: Ctx) -> Reply:
    """``/CreditNotes``, one credit note, and its allocations (spec, /CreditNotes paths).

    ``GET /CreditNotes`` reads If-Modified-Since, then ``where``, ``order`` and the page, as
    ``GET /Invoices`` does; un-paged it leaves out line items, as invoice lists do (the spec
    promises line items for ``page=``; whether un-paged lists drop them is unconfirmed).
    One credit note is named by CreditNoteID or a sales credit note's number.
    ``PUT`` creates, ``POST`` creates or updates (see the rules), and
    ``PUT /CreditNotes/{id}/Allocations`` and ``DELETE .../Allocations/{AllocationID}``
    answer as the prepayment endpoints do.
    """

    def render(note: StoredCreditNote) -> dict[str, Any]:
        return render_credit_note(note, org, unitdp=ctx.unitdp)

    if not rest:
        if call.method == "GET":
            page = paging(call.query)
            with_lines = page.number is not None
            return _by_update(
                "CreditNotes",
                call,
                org.credit_note_order,
                org.credit_notes,
                since=_since(call),
                page=page,
                full=render,
                shown=lambda n: render_credit_note(n, org, unitdp=ctx.unitdp, lines=with_lines),
                ctx=ctx,
                fields=_CREDIT_NOTE_FIELDS,
            )
        return _many(
            "CreditNotes",
            org,
            call,
            create=create_credit_note,
            upsert=upsert_credit_note,
            render=render,
            flag="HasErrors",
            ctx=ctx,
        )
    if len(rest) > 1 and rest[1].casefold() != "allocations":
        return _not_implemented(call, f"/CreditNotes/{rest[0]}/{rest[1]}")
    note = find_credit_note(org, rest[0])
    if note is None:
        return _not_found()
    if len(rest) == 1:
        return _one(
            "CreditNotes",
            call,
            note,
            render=render,
            change=lambda el: update_credit_note(org, note, el, ctx),
            flag="HasErrors",
            named={"CreditNoteID": note.credit_note_id},
            ctx=ctx,
        )
    return _allocations(org, call, rest, note, ctx)


# --- contacts ----------------------------------------------------------------------------------


# What GET /Contacts?searchTerm= searches (spec, getContacts: "Name, FirstName, LastName,
# ContactNumber and EmailAddress"; Xero's API reference also names CompanyNumber).
_CONTACT_SEARCHED: tuple[Callable[[StoredContact], str | None], ...] = (
    lambda c: c.name,
    lambda c: c.first_name,
    lambda c: c.last_name,
    lambda c: c.contact_number,
    lambda c: c.company_number,
    lambda c: c.email,
)


def _get_contacts(org: Org, call: FakeRequest, ctx: Ctx) -> Reply:
    """``GET /Contacts``: IDs, If-Modified-Since, ``includeArchived`` (archived contacts are
    left out unless true), ``searchTerm`` (a case-insensitive contains, see
    :data:`_CONTACT_SEARCHED`), then ``where``, ``order`` and the page.

    ``summaryOnly=true`` is answered 501: which fields Xero's summary keeps for a contact is
    not documented, so the fake will not pretend to know.
    """
    if _flag(call, "summaryOnly"):
        return _not_implemented_parameter(call, "summaryOnly=true", "/Contacts")
    since = _since(call)
    ids = _guids(call, "IDs")
    include_archived = _flag(call, "includeArchived")
    term = call.query.get("searchterm", "").strip().casefold()
    page = paging(call.query)
    # MergedToContactID comes "only when using paging" (spec, Contact.MergedToContactID).
    shown = functools.partial(render_contact, merged=page.number is not None)

    def kept(c: StoredContact) -> bool:
        return (include_archived or c.status != "ARCHIVED") and (
            not term or any(term in (f(c) or "").casefold() for f in _CONTACT_SEARCHED)
        )

    if ids is None:
        return _by_update(
            "Contacts",
            call,
            org.contact_order,
            org.contacts,
            since=since,
            page=page,
            full=shown,
            shown=shown,
            ctx=ctx,
            keep=None if include_archived and not term else kept,
        )
    records = [org.contacts[i] for i in set(ids) if i in org.contacts]
    records.sort(key=lambda c: c.updated_at)
    records = [c for c in records if (since is None or c.updated_at >= since) and kept(c)]
    return _list_reply(
        "Contacts",
        call,
        records,
        page=page,
        full=shown,
        shown=shown,
        ctx=ctx,
        in_update_order=True,
    )


def _contacts(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if ident is None:
        if call.method == "GET":
            return _get_contacts(org, call, ctx)
        return _many(
            "Contacts",
            org,
            call,
            create=create_contact,
            upsert=upsert_contact,
            render=render_contact,
            flag="HasValidationErrors",
            ctx=ctx,
        )
    contact = org.contacts.get(normal_guid(ident)) or org.contact_by_number(ident)
    if contact is None:
        return _not_found()
    # MergedToContactID comes when "fetching a contact by ContactId or ContactNumber" (spec,
    # Contact.MergedToContactID), not in a write's answer.
    return _one(
        "Contacts",
        call,
        contact,
        render=render_contact,
        shown=functools.partial(render_contact, merged=True),
        change=lambda el: update_contact(org, contact, el, ctx),
        flag="HasValidationErrors",
        named={"ContactID": contact.contact_id},
        ctx=ctx,
    )


# --- reference data ----------------------------------------------------------------------------


def _accounts(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    if call.method != "GET":
        return _not_allowed(call)
    accounts = sorted(org.accounts.values(), key=lambda a: a.code)
    if ident is not None:
        accounts = [a for a in accounts if a.account_id == normal_guid(ident)]
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
    """``GET /Organisation``, and ``GET /Organisations`` (the plural pyxero sends): the same
    answer."""
    if call.method != "GET" or ident is not None:
        return _not_allowed(call)
    return records_reply("Organisations", [render_organisation(org)], ctx)


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
    "/CreditNotes",
    "/Contacts",
    "/Accounts",
    "/TaxRates",
    "/Currencies",
    "/Organisation",
    "/Organisations",
)


def _not_implemented(call: FakeRequest, path: str) -> Reply:
    return error_reply(
        501,
        f"FakeXero does not implement {call.method} {path}; it serves {', '.join(_SERVED)}",
        number=501,
        error_type="NotImplementedException",
    )


def _not_implemented_parameter(call: FakeRequest, name: str, path: str) -> Reply:
    return error_reply(
        501,
        f"FakeXero does not implement the query parameter {name} on {call.method} {path}, "
        "so it will not answer as if it had not been sent",
        number=501,
        error_type="NotImplementedException",
    )


# --- receivables details ------------------------------------------------------------------
# Their endpoints live in _receivables, which answers with this module's replies; it is
# imported when first called, as importing it here would be circular.


def _invoices_and_below(org: Org, call: FakeRequest, rest: Sequence[str], ctx: Ctx) -> Reply:
    """``/Invoices`` and ``/Invoices/{InvoiceID}`` (:func:`_invoices`), and what sits below
    one invoice: ``/OnlineInvoice``, ``/Email`` and ``/History``."""
    if len(rest) <= 1:
        return _invoices(org, call, rest[0] if rest else None, ctx)
    from bms_xero.testing import _receivables

    return _receivables.below_invoice(org, call, rest, ctx)


def _currencies(org: Org, call: FakeRequest, ident: str | None, ctx: Ctx) -> Reply:
    """``GET /Currencies``."""
    from bms_xero.testing import _receivables

    return _receivables.currencies(org, call, ident, ctx)


# Resources with at most one level below them (``/Payments/{PaymentID}``).
_ROUTES: dict[str, Callable[[Org, FakeRequest, str | None, Ctx], Reply]] = {
    "payments": _payments,
    "batchpayments": _batch_payments,
    "contacts": _contacts,
    "accounts": _accounts,
    "taxrates": _tax_rates,
    "organisation": _organisation,
    "organisations": _organisation,
    "currencies": _currencies,
}

# The query parameters each endpoint reads, by (resource, depth below it, method): depth 0
# is ``/Invoices``, 1 ``/Invoices/{id}``, 2 ``/Prepayments/{id}/Allocations``, 3 one
# allocation. Any other parameter is answered 501 naming it: Xero ignores what it does not
# know, but a fake that did would hand a test unfiltered data it believes filtered.
_WRITE = frozenset({"summarizeErrors"})
_CREDIT_READS = frozenset({"where", "order", "page", "pageSize", "unitdp"})
_PARAMETERS: dict[tuple[str, int, str], frozenset[str]] = {
    ("invoices", 0, "GET"): frozenset(
        {
            "where",
            "order",
            "IDs",
            "InvoiceNumbers",
            "ContactIDs",
            "Statuses",
            "page",
            "pageSize",
            "includeArchived",
            "createdByMyApp",
            "unitdp",
            "summaryOnly",
            "searchTerm",
        }
    ),
    ("invoices", 0, "PUT"): _WRITE | {"unitdp"},
    ("invoices", 0, "POST"): _WRITE | {"unitdp"},
    ("invoices", 1, "GET"): frozenset({"unitdp"}),
    ("invoices", 1, "POST"): _WRITE | {"unitdp"},
    # Below one invoice: GET .../OnlineInvoice and .../History, POST .../Email, PUT .../History.
    ("invoices", 2, "GET"): frozenset(),
    ("invoices", 2, "POST"): frozenset(),
    ("invoices", 2, "PUT"): frozenset(),
    ("payments", 0, "GET"): frozenset({"where", "order", "page", "pageSize"}),
    ("payments", 0, "PUT"): _WRITE,
    ("payments", 0, "POST"): _WRITE,
    ("payments", 1, "GET"): frozenset(),
    ("payments", 1, "POST"): _WRITE,
    ("batchpayments", 0, "GET"): frozenset({"where", "order"}),
    ("batchpayments", 1, "GET"): frozenset(),
    ("batchpayments", 1, "POST"): _WRITE,
    ("prepayments", 0, "GET"): _CREDIT_READS,
    ("prepayments", 1, "GET"): frozenset(),
    ("prepayments", 2, "PUT"): _WRITE,
    ("prepayments", 3, "DELETE"): frozenset(),
    ("overpayments", 0, "GET"): _CREDIT_READS,
    ("overpayments", 1, "GET"): frozenset(),
    ("overpayments", 2, "PUT"): _WRITE,
    ("overpayments", 3, "DELETE"): frozenset(),
    ("creditnotes", 0, "GET"): _CREDIT_READS,
    ("creditnotes", 0, "PUT"): _WRITE | {"unitdp"},
    ("creditnotes", 0, "POST"): _WRITE | {"unitdp"},
    ("creditnotes", 1, "GET"): frozenset({"unitdp"}),
    ("creditnotes", 1, "POST"): _WRITE | {"unitdp"},
    ("creditnotes", 2, "PUT"): _WRITE,
    ("creditnotes", 3, "DELETE"): frozenset(),
    ("contacts", 0, "GET"): frozenset(
        {
            "where",
            "order",
            "IDs",
            "page",
            "pageSize",
            "includeArchived",
            "summaryOnly",
            "searchTerm",
        }
    ),
    ("contacts", 0, "PUT"): _WRITE,
    ("contacts", 0, "POST"): _WRITE,
    ("contacts", 1, "GET"): frozenset(),
    ("contacts", 1, "POST"): _WRITE,
    ("accounts", 0, "GET"): frozenset({"where", "order"}),
    ("accounts", 1, "GET"): frozenset(),
    ("taxrates", 0, "GET"): frozenset({"where", "order", "TaxType"}),
    ("currencies", 0, "GET"): frozenset({"where", "order"}),
    ("organisation", 0, "GET"): frozenset(),
    ("organisations", 0, "GET"): frozenset(),
}


def _unread_parameter(call: FakeRequest, resource: str, depth: int, path: str) -> Reply | None:
    """A 501 for the first query parameter this endpoint does not read, if any (names are
    matched in any case, as Xero matches them)."""
    known = _PARAMETERS.get((resource, depth, call.method))
    if known is None:  # a method or path the route refuses itself (405, 501)
        return None
    folded = {name.casefold() for name in known}
    for name, _ in urllib.parse.parse_qsl(call.raw_query, keep_blank_values=True):
        if name.casefold() not in folded:
            reads = ", ".join(sorted(known, key=str.casefold)) or "no query parameters"
            return error_reply(
                501,
                f"FakeXero does not implement the query parameter {name!r} on "
                f"{call.method} {path}; it reads {reads}",
                number=501,
                error_type="NotImplementedException",
            )
    return None


# What an Accept header may name for the fake's JSON answers.
_JSON_TYPES = frozenset({"application/json", "text/json", "application/*", "*/*"})


def _not_acceptable(call: FakeRequest) -> Reply | None:
    """A 406 when the client accepts no JSON (``Accept: application/xml``, or
    ``application/pdf`` for an invoice's PDF): the fake answers JSON only, and an XML
    client handed JSON would fail in a way Xero never makes it fail. No Accept header
    gets JSON (Xero would answer XML; every SDK asks for JSON)."""
    accept = call.headers.get("accept")
    if accept is None or not accept.strip():
        return None
    kinds = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    if kinds & _JSON_TYPES:
        return None
    return error_reply(
        406,
        f"FakeXero answers application/json only, not {accept.strip()!r}; send "
        "Accept: application/json",
        number=406,
        error_type="NotAcceptableException",
    )


# Resources with more (``/Prepayments/{PrepaymentID}/Allocations/{AllocationID}``): the
# handler gets every part of the path after the resource's name.
_DEEP_ROUTES: dict[str, Callable[[Org, FakeRequest, Sequence[str], Ctx], Reply]] = {
    "invoices": _invoices_and_below,
    "prepayments": functools.partial(_credits, kind="Prepayment"),
    "overpayments": functools.partial(_credits, kind="Overpayment"),
    "creditnotes": _credit_notes,
}


def accounting(
    org: Org, path: str, call: FakeRequest, *, ids: Ids, now: datetime, app: str | None = None
) -> Reply:
    """Answer one accounting API call; ``path`` is relative to ``/api.xro/2.0``.

    ``app`` is the client_id of the calling app (what ``createdByMyApp`` compares with).
    Paths are matched in any case, as Xero's are.
    """
    ctx = Ctx(ids=ids, now=now, unitdp=_unitdp(call), app=app)
    parts = [p for p in path.split("/") if p]
    resource = parts[0].casefold() if parts else ""
    refused = _not_acceptable(call) or _unread_parameter(call, resource, len(parts) - 1, path)
    if refused is not None:
        return refused
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
