"""Building Xero requests, with no I/O (the sans-I/O half that goes out).

Each ``*_call`` function checks its arguments and returns a :class:`Call`: method, path,
query, extra headers and body, but no credentials. :func:`build_request` adds the base URL,
the bearer token and ``xero-tenant-id`` to make a :class:`~bms_xero.transport.Request`.
Every write carries ``summarizeErrors=false`` (so one bad invoice doesn't hide the others'
ids), ``unitdp=4`` and the caller's ``Idempotency-Key``; reads of invoices carry ``unitdp=4``
too, so 4-dp unit prices come back unrounded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import attrs

from bms_xero.errors import InvalidRequest
from bms_xero.mapping.wire import WireInvoice, encode_json, invoices_request_body
from bms_xero.transport import Headers, Request

__all__ = [
    "API_BASE",
    "CONNECTIONS_URL",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "MAX_IDEMPOTENCY_KEY",
    "MAX_PAGE_SIZE",
    "SALES_INVOICES",
    "UPDATED_ASC",
    "Call",
    "Keyset",
    "accounts_call",
    "allocate_credit_note_call",
    "build_request",
    "connections_call",
    "contact_by_number_call",
    "contacts_call",
    "create_contacts_call",
    "create_credit_notes_call",
    "create_invoices_call",
    "credit_note_number_where",
    "credit_notes_call",
    "currencies_call",
    "disconnect_call",
    "email_invoice_call",
    "format_modified_since",
    "get_credit_note_call",
    "get_invoice_call",
    "invoices_call",
    "next_keyset",
    "online_invoice_call",
    "organisation_call",
    "payments_call",
    "tax_rates_call",
    "update_invoice_call",
]

API_BASE = "https://api.xero.com/api.xro/2.0"
CONNECTIONS_URL = "https://api.xero.com/connections"
#: Xero's recommended batch size; the engine chunks to it.
MAX_BATCH = 50
#: Xero's documented limit for ``Idempotency-Key``.
MAX_IDEMPOTENCY_KEY = 128
#: Xero refuses request bodies over 3.5 MB.
MAX_BODY_BYTES = 3_500_000
MAX_PAGE_SIZE = 1000
USER_AGENT = "bms-xero/0.1"

_WRITE_QUERY = (("summarizeErrors", "false"), ("unitdp", "4"))


@attrs.frozen(kw_only=True)
class Call:
    """One Xero API call, before credentials are attached.

    Attributes:
        method: HTTP method.
        path: Path under the API base (``/Invoices``), or an absolute URL.
        query: Query parameters in order.
        headers: Extra headers (``If-Modified-Since``, ``Idempotency-Key``, ...).
        body: JSON body bytes (empty for reads).
        idempotency_key: The key of a write.
        tenant_scoped: Whether ``xero-tenant-id`` is sent (not for ``/connections``).
        repeatable: A write that resending can't apply twice (``DELETE /connections/{id}``),
            so it is retried like a read.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    idempotency_key: str | None = None
    tenant_scoped: bool = True
    repeatable: bool = False

    @property
    def is_write(self) -> bool:
        """Whether the call changes data in Xero (its outcome may be uncertain)."""
        return self.method in {"POST", "PUT", "PATCH", "DELETE"} and not self.repeatable

    def url(self, base_url: str = API_BASE) -> str:
        """The absolute URL, query included."""
        absolute = self.path if "://" in self.path else base_url.rstrip("/") + self.path
        if not self.query:
            return absolute
        return f"{absolute}?{urlencode(self.query, quote_via=quote, safe=',')}"


def build_request(
    call: Call,
    *,
    access_token: str,
    tenant_id: str | None,
    base_url: str = API_BASE,
    user_agent: str = USER_AGENT,
) -> Request:
    """The full request for ``call`` with the bearer token and the tenant header."""
    headers: list[tuple[str, str]] = [
        ("Authorization", f"Bearer {access_token}"),
        ("Accept", "application/json"),
        ("User-Agent", user_agent),
    ]
    if call.tenant_scoped and tenant_id is not None:
        headers.append(("xero-tenant-id", tenant_id))
    if call.body:
        headers.append(("Content-Type", "application/json"))
    headers.extend(call.headers)
    return Request(call.method, call.url(base_url), Headers(headers), call.body)


# --- argument checks --------------------------------------------------------------------------


def check_idempotency_key(key: object) -> str:
    """The key, if Xero would accept it.

    Raises:
        InvalidRequest: Missing, not a string, or longer than 128 characters.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidRequest(
            "every write needs an idempotency key (a non-empty string, persisted by the "
            "caller before sending so a retry can reuse it)",
            argument="idempotency_key",
        )
    if len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidRequest(
            f"is {len(key)} characters; Xero accepts at most {MAX_IDEMPOTENCY_KEY}",
            argument="idempotency_key",
        )
    if not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            "must be printable ASCII (it travels in an HTTP header)", argument="idempotency_key"
        )
    return key


def format_modified_since(value: datetime) -> str:
    """``If-Modified-Since`` as Xero reads it: ISO-8601 in UTC, to the second (rounded down,
    so nothing changed within that second is missed).

    Raises:
        InvalidRequest: ``value`` is not an aware datetime.
    """
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequest(
            "must be a timezone-aware datetime (e.g. datetime(2026, 1, 5, tzinfo=UTC)); a naive "
            "one would shift with the machine's timezone",
            argument="modified_since",
        )
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat()


def _modified_header(modified_since: datetime | None) -> tuple[tuple[str, str], ...]:
    if modified_since is None:
        return ()
    return (("If-Modified-Since", format_modified_since(modified_since)),)


def _page(page: int, page_size: int) -> tuple[tuple[str, str], ...]:
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidRequest(f"must be a whole number >= 1, not {page!r}", argument="page")
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= MAX_PAGE_SIZE
    ):
        raise InvalidRequest(
            f"must be a whole number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}",
            argument="page_size",
        )
    return (("page", str(page)), ("pageSize", str(page_size)))


def _segment(value: object, argument: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("must be a non-empty string", argument=argument)
    return quote(value, safe="")


def _id_list(values: Iterable[str], argument: str) -> str | None:
    if isinstance(values, str):
        raise InvalidRequest(
            "must be a list of strings, not one string (wrap it: [value])", argument=argument
        )
    items = list(values)
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InvalidRequest("every entry must be a non-empty string", argument=argument)
        if "," in item:
            raise InvalidRequest(
                f"{item!r} contains a comma, which Xero's comma-separated filter cannot express",
                argument=argument,
            )
    return ",".join(items) if items else None


def _where_literal(value: str) -> str:
    # Xero's where syntax is C#-like: a string literal in double quotes, backslash escapes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _body(payload: Mapping[str, Any], argument: str) -> bytes:
    try:
        body = encode_json(payload)
    except (TypeError, ValueError) as e:
        raise InvalidRequest(f"cannot be sent as JSON: {e}", argument=argument) from None
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(
            f"is {len(body)} bytes; Xero accepts at most {MAX_BODY_BYTES} per request, send "
            "smaller batches",
            argument=argument,
        )
    return body


def _batch(payloads: Sequence[Any], argument: str) -> list[Any]:
    """The elements of one write: a sequence (not a lone element) of 1 to 50."""
    if isinstance(payloads, Mapping | WireInvoice) or not isinstance(payloads, Sequence):
        raise InvalidRequest(
            "must be a sequence of element objects (dicts), e.g. [invoice_payload(...)]",
            argument=argument,
        )
    items = list(payloads)
    if not items:
        raise InvalidRequest("is empty; send at least one element", argument=argument)
    if len(items) > MAX_BATCH:
        raise InvalidRequest(
            f"has {len(items)} elements; send at most {MAX_BATCH} per request (chunk the batch)",
            argument=argument,
        )
    return items


def _not_a_dict(i: int, item: object, argument: str) -> InvalidRequest:
    return InvalidRequest(f"element {i} is a {type(item).__name__}, not a dict", argument=argument)


def _elements(payloads: Sequence[Mapping[str, Any]], argument: str) -> list[Mapping[str, Any]]:
    items = _batch(payloads, argument)
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise _not_a_dict(i, item, argument)
    return items


# --- invoices -----------------------------------------------------------------------------


def _wire(payloads: Sequence[Mapping[str, Any] | WireInvoice], argument: str) -> list[WireInvoice]:
    """The elements in wire form: a :class:`WireInvoice` as it is (encoded once, by the
    mapping layer), a host's dict encoded here."""
    wired: list[WireInvoice] = []
    for i, item in enumerate(_batch(payloads, argument)):
        if isinstance(item, WireInvoice):
            wired.append(item)
            continue
        if not isinstance(item, Mapping):
            raise _not_a_dict(i, item, argument)
        try:
            wired.append(WireInvoice.of_payload(item))
        except (TypeError, ValueError) as e:
            raise InvalidRequest(f"cannot be sent as JSON: {e}", argument=argument) from None
    return wired


def _invoices_body(invoices: Sequence[WireInvoice], argument: str) -> bytes:
    body = invoices_request_body(invoices)
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(
            f"is {len(body)} bytes; Xero accepts at most {MAX_BODY_BYTES} per request, send "
            "smaller batches",
            argument=argument,
        )
    return body


def _invoices_write(
    method: str, path: str, items: Sequence[WireInvoice], key: str, argument: str
) -> Call:
    """A write of invoice elements: every one carries summarizeErrors=false, unitdp=4 and the
    caller's Idempotency-Key (see the module docstring)."""
    return Call(
        method=method,
        path=path,
        query=_WRITE_QUERY,
        headers=(("Idempotency-Key", key),),
        body=_invoices_body(items, argument),
        idempotency_key=key,
    )


def create_invoices_call(
    payloads: Sequence[Mapping[str, Any] | WireInvoice], *, idempotency_key: str
) -> Call:
    """``PUT /Invoices`` (create only) for up to 50 invoice elements."""
    key = check_idempotency_key(idempotency_key)
    items = _wire(payloads, "payloads")
    for i, item in enumerate(items):
        if item.invoice_id:
            raise InvalidRequest(
                f"element {i} has an InvoiceID; creating never names one (use update_invoice)",
                argument="payloads",
            )
    return _invoices_write("PUT", "/Invoices", items, key, "payloads")


def update_invoice_call(
    invoice_id: str, payload: Mapping[str, Any] | WireInvoice, *, idempotency_key: str
) -> Call:
    """``POST /Invoices/{InvoiceID}``: update (or void, delete) one existing invoice."""
    key = check_idempotency_key(idempotency_key)
    segment = _segment(invoice_id, "invoice_id")
    if not isinstance(payload, Mapping | WireInvoice):
        raise InvalidRequest(
            f"must be an invoice element (a dict), not {type(payload).__name__}",
            argument="payload",
        )
    [item] = _wire([payload], "payload")
    if item.invoice_id not in (None, invoice_id):
        raise InvalidRequest(
            f"has InvoiceID {item.invoice_id!r} but the call is for {invoice_id!r}",
            argument="payload",
        )
    return _invoices_write(
        "POST", f"/Invoices/{segment}", [item.for_update(invoice_id)], key, "payload"
    )


def update_invoices_call(
    payloads: Sequence[Mapping[str, Any] | WireInvoice], *, idempotency_key: str
) -> Call:
    """``POST /Invoices`` for up to 50 updates of existing invoices.

    Every element must name its ``InvoiceID``: POST matches by InvoiceID (or number) and would
    *create* an element that names neither, so such an element is refused here, unsent.
    """
    key = check_idempotency_key(idempotency_key)
    items = _wire(payloads, "payloads")
    for i, item in enumerate(items):
        if not item.invoice_id:
            raise InvalidRequest(
                f"element {i} has no InvoiceID; updates must name the invoice they change "
                "(create with create_invoices)",
                argument="payloads",
            )
    return _invoices_write("POST", "/Invoices", items, key, "payloads")


def get_invoice_call(invoice_id: str) -> Call:
    """``GET /Invoices/{InvoiceID}`` with 4-dp unit amounts."""
    return Call(
        method="GET",
        path=f"/Invoices/{_segment(invoice_id, 'invoice_id')}",
        query=(("unitdp", "4"),),
    )


def invoices_call(
    *,
    page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    ids: Iterable[str] = (),
    numbers: Iterable[str] = (),
    contact_ids: Iterable[str] = (),
    statuses: Iterable[str] = (),
    modified_since: datetime | None = None,
    where: str | None = None,
    order: str | None = None,
) -> Call:
    """``GET /Invoices``: one page, filtered by Xero's fast list parameters."""
    query: list[tuple[str, str]] = []
    for name, values, argument in (
        ("IDs", ids, "ids"),
        ("InvoiceNumbers", numbers, "numbers"),
        ("ContactIDs", contact_ids, "contact_ids"),
        ("Statuses", statuses, "statuses"),
    ):
        joined = _id_list(values, argument)
        if joined is not None:
            query.append((name, joined))
    if where is not None:
        query.append(("where", where))
    if order is not None:
        query.append(("order", order))
    query.extend(_page(page, page_size))
    query.append(("unitdp", "4"))
    return Call(
        method="GET", path="/Invoices", query=tuple(query), headers=_modified_header(modified_since)
    )


#: Pull reads: oldest change first, so a page boundary can be a point in time (keyset).
UPDATED_ASC = "UpdatedDateUTC ASC"
#: Sales invoices only: bills are not ours, and Xero meters the data a read downloads.
SALES_INVOICES = 'Type=="ACCREC"'


@attrs.frozen
class Keyset:
    """Where the next page of a changed-since read starts.

    Attributes:
        since: The ``If-Modified-Since`` to send (``None``: from the beginning).
        page: The page number under that ``since`` (1 unless a second held a full page).
    """

    since: datetime | None
    page: int = 1


def next_keyset(
    current: Keyset, updated: Sequence[datetime | None], page_size: int
) -> Keyset | None:
    """Where the page after one of ``updated`` timestamps (ascending) starts, or ``None``.

    Page numbers over a set that changes while it is read can skip a record: one that
    changes moves to the end and pulls the rest one place forward, across the boundary. So
    the next page asks ``If-Modified-Since`` the last UpdatedDateUTC seen instead (to the
    second, which Xero treats inclusively): records only ever move later, never past it.
    What that second held comes back and is dropped by the reader. Only when a whole page
    shares the second it started from can the time not move; then the page number does.
    """
    if len(updated) < page_size:
        return None
    last = updated[-1]
    if last is None:  # Xero left the timestamp out: page numbers are all there is
        return Keyset(current.since, current.page + 1)
    second = last.replace(microsecond=0)
    if current.since is not None and second <= current.since.replace(microsecond=0):
        return Keyset(current.since, current.page + 1)
    return Keyset(second, 1)


def online_invoice_call(invoice_id: str) -> Call:
    """``GET /Invoices/{InvoiceID}/OnlineInvoice`` (getOnlineInvoice): the customer's online
    invoice (pay) link, for an approved sales invoice."""
    return Call(method="GET", path=f"/Invoices/{_segment(invoice_id, 'invoice_id')}/OnlineInvoice")


def email_invoice_call(invoice_id: str, *, idempotency_key: str) -> Call:
    """``POST /Invoices/{InvoiceID}/Email`` (emailInvoice): Xero emails the invoice to its
    contact and marks it sent. The body is the spec's RequestEmpty, ``{}``; the answer is a
    204 with no body."""
    key = check_idempotency_key(idempotency_key)
    return Call(
        method="POST",
        path=f"/Invoices/{_segment(invoice_id, 'invoice_id')}/Email",
        headers=(("Idempotency-Key", key),),
        body=b"{}",
        idempotency_key=key,
    )


def invoice_number_where(number: str) -> str:
    """A ``where`` filter for one invoice number (for numbers with a comma in them)."""
    return f"InvoiceNumber=={_where_literal(number)}"


# --- credit notes ---------------------------------------------------------------------------


def create_credit_notes_call(
    payloads: Sequence[Mapping[str, Any]], *, idempotency_key: str
) -> Call:
    """``PUT /CreditNotes`` (create only) for up to 50 credit note elements."""
    key = check_idempotency_key(idempotency_key)
    items = _elements(payloads, "payloads")
    for i, item in enumerate(items):
        if item.get("CreditNoteID"):
            raise InvalidRequest(
                f"element {i} has a CreditNoteID; creating never names one",
                argument="payloads",
            )
    return Call(
        method="PUT",
        path="/CreditNotes",
        query=_WRITE_QUERY,
        headers=(("Idempotency-Key", key),),
        body=_body({"CreditNotes": items}, "payloads"),
        idempotency_key=key,
    )


def credit_notes_call(
    *,
    page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    where: str | None = None,
    order: str | None = None,
    modified_since: datetime | None = None,
) -> Call:
    """``GET /CreditNotes``: one page, filtered by ``where``."""
    query: list[tuple[str, str]] = []
    if where is not None:
        query.append(("where", where))
    if order is not None:
        query.append(("order", order))
    query.extend(_page(page, page_size))
    query.append(("unitdp", "4"))
    return Call(
        method="GET",
        path="/CreditNotes",
        query=tuple(query),
        headers=_modified_header(modified_since),
    )


def credit_note_number_where(numbers: Sequence[str]) -> str:
    """A ``where`` filter for credit notes with any of these numbers (no parentheses: the
    caller keeps the sales ones, ``Type == ACCRECCREDIT``, from what comes back)."""
    if not numbers:
        raise InvalidRequest("give at least one number", argument="numbers")
    return " OR ".join(f"CreditNoteNumber=={_where_literal(n)}" for n in numbers)


def get_credit_note_call(credit_note_id: str) -> Call:
    """``GET /CreditNotes/{CreditNoteID}`` with 4-dp unit amounts."""
    return Call(
        method="GET",
        path=f"/CreditNotes/{_segment(credit_note_id, 'credit_note_id')}",
        query=(("unitdp", "4"),),
    )


def allocate_credit_note_call(
    credit_note_id: str, allocation: Mapping[str, Any], *, idempotency_key: str
) -> Call:
    """``PUT /CreditNotes/{CreditNoteID}/Allocations``: apply part of it to one invoice."""
    key = check_idempotency_key(idempotency_key)
    [item] = _elements([allocation], "allocation")
    return Call(
        method="PUT",
        path=f"/CreditNotes/{_segment(credit_note_id, 'credit_note_id')}/Allocations",
        query=(("summarizeErrors", "false"),),
        headers=(("Idempotency-Key", key),),
        body=_body({"Allocations": [item]}, "allocation"),
        idempotency_key=key,
    )


# --- payments, contacts, settings -----------------------------------------------------------


def payments_call(
    *,
    page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    modified_since: datetime | None = None,
    order: str | None = None,
) -> Call:
    """``GET /Payments``: one page of payments changed since ``modified_since``."""
    ordered = () if order is None else (("order", order),)
    return Call(
        method="GET",
        path="/Payments",
        query=ordered + _page(page, page_size),
        headers=_modified_header(modified_since),
    )


def contacts_call(
    *,
    page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    ids: Iterable[str] = (),
    modified_since: datetime | None = None,
    where: str | None = None,
    include_archived: bool = False,
    search_term: str | None = None,
) -> Call:
    """``GET /Contacts``: one page of contacts.

    Always paged, because Xero sends ``MergedToContactID`` "only when using paging" (spec,
    Contact.MergedToContactID). ``include_archived`` adds ARCHIVED contacts (merged ones
    are archived), which Xero leaves out otherwise; ``search_term`` is Xero's
    case-insensitive search across Name, FirstName, LastName, ContactNumber and
    EmailAddress (spec, getContacts).
    """
    query: list[tuple[str, str]] = []
    joined = _id_list(ids, "ids")
    if joined is not None:
        query.append(("IDs", joined))
    if where is not None:
        query.append(("where", where))
    if include_archived:
        query.append(("includeArchived", "true"))
    if search_term is not None:
        if not isinstance(search_term, str) or not search_term.strip():
            raise InvalidRequest("must be a non-empty string", argument="search_term")
        query.append(("searchTerm", search_term.strip()))
    query.extend(_page(page, page_size))
    return Call(
        method="GET", path="/Contacts", query=tuple(query), headers=_modified_header(modified_since)
    )


def contact_by_number_call(number: str) -> Call:
    """``GET /Contacts/{ContactNumber}`` (``getContactByContactNumber``); 404 when none."""
    return Call(method="GET", path=f"/Contacts/{_segment(number, 'number')}")


def create_contacts_call(payloads: Sequence[Mapping[str, Any]], *, idempotency_key: str) -> Call:
    """``PUT /Contacts`` (create only) for up to 50 contact elements."""
    key = check_idempotency_key(idempotency_key)
    items = _elements(payloads, "contacts")
    return Call(
        method="PUT",
        path="/Contacts",
        query=(("summarizeErrors", "false"),),
        headers=(("Idempotency-Key", key),),
        body=_body({"Contacts": items}, "contacts"),
        idempotency_key=key,
    )


def accounts_call() -> Call:
    """``GET /Accounts``: the chart of accounts."""
    return Call(method="GET", path="/Accounts")


def tax_rates_call() -> Call:
    """``GET /TaxRates``: the organisation's tax rates."""
    return Call(method="GET", path="/TaxRates")


def currencies_call() -> Call:
    """``GET /Currencies``: the currencies the organisation can invoice in (its base
    currency and those enabled in its settings)."""
    return Call(method="GET", path="/Currencies")


def organisation_call() -> Call:
    """``GET /Organisation``: name, ShortCode, base currency."""
    return Call(method="GET", path="/Organisation")


def connections_call(url: str = CONNECTIONS_URL) -> Call:
    """``GET https://api.xero.com/connections``: the tenants this token may act on."""
    return Call(method="GET", path=url, tenant_scoped=False)


def disconnect_call(connection_id: str, url: str = CONNECTIONS_URL) -> Call:
    """``DELETE https://api.xero.com/connections/{id}``: remove one organisation's connection
    (the ``id`` of a :class:`~bms_xero.xero.Connection`, not its tenant id). Resending it
    can't disconnect twice, so it is retried like a read."""
    ident = _check_connection_id(connection_id)
    return Call(
        method="DELETE",
        path=f"{url.rstrip('/')}/{quote(ident, safe='')}",
        tenant_scoped=False,
        repeatable=True,
    )


def _check_connection_id(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "/?#"):
        raise InvalidRequest(
            "must be a connection's id from connections() (a GUID)", argument="connection_id"
        )
    return value
