"""Reading Xero's answers, with no I/O (the sans-I/O half that comes back).

:func:`decode_error` turns any status, headers and body (JSON, HTML, plain text, garbage) into
one typed :class:`~bms_xero.errors.XeroApiError`; the ``decode_*`` functions turn a success
body into domain values using :mod:`bms_xero.mapping.wire`. Nothing here raises anything but
bms_xero's own errors: a body we cannot read is an
:class:`~bms_xero.errors.UnexpectedResponse`, never a KeyError or JSONDecodeError.

Why so defensive: Xero's error bodies differ by status (xero-api.md section 10: a
``ValidationException`` object for 400, problem JSON for 401/403, headers only for 429, plain
text for the 503 "The Organisation is offline"), and whatever sits in front of the API can
answer with an HTML page. The callers depend on the error's *type*: the client's retry policy
retries :class:`~bms_xero.errors.XeroUnavailable`, parks a tenant on
:class:`~bms_xero.errors.DailyLimitReached`, and turns an ``UnexpectedResponse`` raised while
reading a 2xx write answer into an :class:`~bms_xero.errors.UncertainOutcome` (Xero most likely
acted, but we can't tell on what). A stray ``KeyError`` would skip all of that.

Being pure (the clock's ``now`` is passed in) lets each Xero quirk be tested from bytes alone,
as gidgethub's ``sansio`` module does.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import attrs

from bms_xero.domain import (
    CreditNoteAllocation,
    Organisation,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroPayment,
)
from bms_xero.errors import (
    AuthError,
    BmsXeroError,
    DailyLimitReached,
    NotFound,
    RateLimited,
    UnexpectedResponse,
    XeroApiError,
    XeroUnavailable,
    XeroValidationError,
    XeroValidationMessage,
)
from bms_xero.mapping._dates import parse_datetime
from bms_xero.mapping._reference import ChartOfAccounts, TaxRates
from bms_xero.mapping.wire import (
    WireInvoice,
    decode_json,
    parse_accounts,
    parse_allocations,
    parse_contacts,
    parse_credit_note,
    parse_credit_notes,
    parse_invoice,
    parse_invoices,
    parse_organisation,
    parse_payments,
    parse_tax_rates,
)
from bms_xero.transport import Headers
from bms_xero.xero._models import (
    Connection,
    ContactResult,
    CreditNoteResult,
    InvoiceResult,
    Page,
)

__all__ = [
    "decode_accounts",
    "decode_connections",
    "decode_contact_results",
    "decode_contacts",
    "decode_currencies",
    "decode_error",
    "decode_invoice_results",
    "decode_invoices",
    "decode_online_invoice",
    "decode_organisation",
    "decode_payments",
    "decode_tax_rates",
    "parse_retry_after",
    "read_json",
]

T = TypeVar("T")

#: Seconds a day-limit 429 parks a tenant when Xero gives no ``Retry-After``. Xero documents
#: ``Retry-After`` on day-limit answers (xero-api.md section 8), so this only covers an answer
#: that lost it; an hour is a guess that neither hammers a spent tenant nor parks it all day.
DEFAULT_DAY_PARK = 3600.0
# The most of Xero's text put into one exception message (logs stay one readable line).
_SNIPPET = 200
# How deep ValidationErrors are looked for: element > LineItems > [i] > Tracking > [j] is 4.
_MAX_DEPTH = 8
# What an error *type* looks like (ValidationException, TokenExpired, invalid_grant): a token,
# never a sentence, so hosts can branch on it.
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.]{1,63}")


def read_json(body: bytes | str) -> Any:
    """JSON with exact Decimals, or :class:`UnexpectedResponse`, whatever the bytes.

    Money fields are ``format: double, x-is-money: true`` in the spec (xero-api.md section 5):
    as floats they lose cents, so fractions are read as Decimals from the JSON text. The
    exceptions caught are what the parser still raises on hostile input (RecursionError for
    deep nesting, ArithmeticError from Decimal, TypeError for a body of the wrong type).
    """
    try:
        return decode_json(body)
    except UnexpectedResponse:
        raise
    except (RecursionError, ArithmeticError, TypeError, ValueError) as e:
        raise UnexpectedResponse(
            f"Xero's answer is not readable JSON ({type(e).__name__})"
        ) from None


def _guard(what: str, decode: Callable[[], T]) -> T:
    """Run a decoder; anything but our own errors becomes an UnexpectedResponse.

    The parsers in :mod:`bms_xero.mapping.wire` check the shapes they expect; this is the
    backstop for a corner they miss, since the client's switch from "unreadable" to
    "uncertain" needs one typed error whatever went wrong.
    """
    try:
        return decode()
    except BmsXeroError:
        raise
    except Exception as e:  # a malformed answer must never escape untyped
        raise UnexpectedResponse(
            f"could not read {what} from Xero's answer ({type(e).__name__}: {e})"
        ) from None


# --- errors ---------------------------------------------------------------------------------


def _try_json(body: bytes) -> Any:
    """The JSON of an error body, or ``None``: error bodies are often not JSON at all (a
    plain-text 503, a proxy's HTML page), and then the raw text is all there is to quote."""
    try:
        return read_json(body)
    except UnexpectedResponse:
        return None


def _text(value: object) -> str | None:
    """Non-blank text, or ``None``: a number, ``null`` or an object where Xero usually puts
    text counts as absent, so it never reaches a message as ``"None"`` or a dict's repr."""
    return value.strip() or None if isinstance(value, str) else None


def _clean(text: str) -> str:
    """One line, printable, bounded: safe to put into an exception message.

    Xero's messages can echo what was sent (a description with newlines) and bodies can be
    megabytes; in a log a newline forges a second record and control characters garble the
    terminal, so both become spaces and the text is cut at ``_SNIPPET`` characters.
    """
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _snippet(body: bytes) -> str | None:
    """What a non-JSON body says, in a few words (an HTML page is named, not quoted).

    Plain text is Xero's way for the 503s (xero-api.md section 10) and is worth quoting. An
    HTML page comes from something in front of the API (a gateway, a maintenance page:
    which, is unconfirmed); its markup helps nobody and may hold content not meant for logs.
    """
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if text.startswith("<"):
        return "an HTML page"
    return _clean(text)


def _validation_messages(
    node: Any, *, index: int | None, number: str | None, path: str = "", depth: int = 0
) -> list[XeroValidationMessage]:
    """Every ``ValidationErrors[].Message`` in an element, with where it sits.

    Xero does not put every message at the top of the element: errors may be nested under
    ``Contact`` or ``LineItems[]`` (xero-api.md section 10), and with ``summarizeErrors=false``
    each line item can carry its own list (section 2). So the whole element is searched and
    each message keeps its ``path`` (``"LineItems[1]"``), letting a host point at the line.
    Items are ``{"Message": ...}`` (``components/schemas/ValidationError``); bare strings are
    also taken, though Xero has not been seen to send them. Every message found counts, so a
    line's message repeated at element level is reported twice. ``_MAX_DEPTH`` bounds the
    walk: real invoices nest a few levels, and a hostile body must not recurse without end.
    """
    found: list[XeroValidationMessage] = []
    if depth > _MAX_DEPTH:
        return found
    if isinstance(node, Mapping):
        errors = node.get("ValidationErrors")
        if isinstance(errors, list):
            for item in errors:
                message = _text(item.get("Message")) if isinstance(item, Mapping) else _text(item)
                if message is not None:
                    found.append(
                        XeroValidationMessage(
                            _clean(message), element_index=index, invoice_number=number, path=path
                        )
                    )
        for key, value in node.items():
            if key != "ValidationErrors" and isinstance(value, Mapping | list):
                sub = f"{path}.{key}" if path else str(key)
                found.extend(
                    _validation_messages(
                        value, index=index, number=number, path=sub, depth=depth + 1
                    )
                )
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found.extend(
                _validation_messages(
                    item, index=index, number=number, path=f"{path}[{i}]", depth=depth + 1
                )
            )
    return found


# A ValidationErrors key whose value is neither an empty list nor null: where a message may be.
_SOME_MESSAGES = re.compile(rb'"ValidationErrors"\s*+:\s*+(?!\[\s*\]|null\b)')


def may_hold_messages(body: bytes) -> bool:
    """Whether any ``ValidationErrors`` in this answer may hold a message.

    A write's answer is mostly saved elements with no messages at all, and searching each of
    them through :func:`_validation_messages` cost more than reading it. The raw bytes tell
    first: without a ``"ValidationErrors"`` key holding something other than ``[]`` or
    ``null``, no element has a message and none needs the walk. It errs only towards walking:
    a ``\\u`` escape anywhere could spell the key in a form the pattern does not see, so any
    escape sends every element through the walk, and so does a body in UTF-16 or UTF-32.
    (Inside a JSON string the key's quotes would be escaped, so text that merely mentions
    ValidationErrors never matches.)
    """
    if json.detect_encoding(body) not in ("utf-8", "utf-8-sig"):
        return True  # UTF-16 or UTF-32 (json.loads reads them): the ASCII pattern can't see
    return b"\\u" in body or _SOME_MESSAGES.search(body) is not None


def _warnings(element: Mapping[str, Any]) -> tuple[str, ...]:
    """The element's ``Warnings`` messages: Xero saved the element but says something about
    it (the spec's examples include "Account code '476' has been removed as it does not match
    a recognised account."). They must not fail the element, yet a host wants to see them.
    The envelope's own ``Warnings`` list is not read here."""
    items = element.get("Warnings")
    if not isinstance(items, list):
        return ()
    found = (
        _text(item.get("Message")) if isinstance(item, Mapping) else _text(item) for item in items
    )
    return tuple(_clean(w) for w in found if w is not None)


def _number(element: Any, key: str = "InvoiceNumber") -> str | None:
    """The key an element is matched by: its InvoiceNumber (or, with ``key="Name"``, a
    contact's name), whether it is what we sent or what Xero answered. Whether Xero keeps
    request order is unconfirmed (xero-api.md section 2), so matching is by this key first.
    Answered values are stripped; a :class:`WireInvoice`'s number is used as it is."""
    if isinstance(element, WireInvoice):  # what we sent, in wire form
        return element.number
    return _text(element.get(key)) if isinstance(element, Mapping) else None


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if it is readable.

    Xero sends seconds on minute and day 429s and no header for the concurrent and app
    limits (xero-api.md section 8); the HTTP-date form of RFC 9110 is read in case something
    in between rewrites it. An unreadable header is ``None`` ("Xero did not say"), never an
    exception, because it arrives on a path that is already handling a failure. A date in
    the past or a negative number means "now" (0). ``inf`` and ``nan`` (``"1e999"`` is
    ``inf``) are ``None``: a sleep or ``timedelta`` built from them would fail far from here.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            seconds = (when - now).total_seconds()
        except (OverflowError, TypeError):
            return None
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _error_type(status: int, data: Any) -> str | None:
    """Xero's machine-readable name for the failure, the part a host can branch on.

    Accounting errors carry ``Type`` (``ValidationException``, ``UnknownErrorException``;
    xero-api.md section 10). The 401/403 problem JSON has only a generic ``Title``
    ("Unauthorized") and puts the reason first in ``Detail`` ("TokenExpired: token expired
    at ...", pyxero PR #337), so for those statuses that head wins. The token endpoint's OAuth
    errors use ``error`` (``invalid_grant``). A candidate must look like an identifier: a
    sentence is not a type.
    """
    if not isinstance(data, Mapping):
        return None
    detail = _text(data.get("Detail"))
    if status in (401, 403) and detail is not None:
        head = detail.split(":", 1)[0].strip()
        if _IDENTIFIER.fullmatch(head):
            return head
    for key in ("Type", "error", "Title"):
        value = _text(data.get(key))
        if value is not None and _IDENTIFIER.fullmatch(value):
            return value
    return None


def _what_xero_said(data: Any, body: bytes) -> str | None:
    """Xero's own words for the failure: ``Message`` (accounting errors), ``Detail`` (problem
    JSON), ``error_description`` (OAuth), then the bare ``Title`` or ``error``; a body that is
    not a JSON object is quoted as a snippet instead."""
    if isinstance(data, Mapping):
        for key in ("Message", "Detail", "error_description", "Title", "error"):
            value = _text(data.get(key))
            if value is not None:
                return _clean(value)
        return None
    return _snippet(body)


def decode_error(
    status: int,
    headers: Headers | Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    tenant_id: str | None = None,
) -> XeroApiError:
    """The typed error for an answer Xero gave (never raises; always returns).

    It runs on the failure path (the client's retry loop, the token refresh), where a second
    exception would hide the first and bypass the retry policy: even a bug here becomes an
    :class:`UnexpectedResponse` carrying the status.

    Args:
        status: The HTTP status.
        headers: The response headers.
        body: The response body (any bytes).
        now: The current time, to turn a day-limit ``Retry-After`` into ``resets_at``.
        tenant_id: The tenant the request was for, carried on the error.
    """
    try:
        return _decode_error(status, Headers(headers), bytes(body), now=now, tenant_id=tenant_id)
    except Exception as e:  # the decoder of last resort must not fail
        return UnexpectedResponse(
            f"Xero answered {status} and the answer could not be read ({type(e).__name__})",
            status_code=status if isinstance(status, int) else None,
            tenant_id=tenant_id,
        )


def _decode_error(
    status: int, headers: Headers, body: bytes, *, now: datetime, tenant_id: str | None
) -> XeroApiError:
    """The error for one status, with a message that says what to do next, ending with the
    ``Xero-Correlation-Id`` when there is one: the handle that names the request at Xero."""
    data = _try_json(body)
    correlation = _text(headers.get("Xero-Correlation-Id"))
    error_type = _error_type(status, data)
    said = _what_xero_said(data, body)
    # Name the error type unless Xero's own words already start with it.
    kind = f" ({error_type})" if error_type and not (said or "").startswith(error_type) else ""
    told = f": {said}" if said else ""
    ref = f" [correlation id {_clean(correlation)}]" if correlation else ""
    common: dict[str, Any] = {
        "status_code": status,
        "correlation_id": correlation,
        "tenant_id": tenant_id,
    }

    if status == 400:
        # A ValidationException lists refused elements under Elements (schemas Error and
        # Element). Indexes here are positions in Elements, not in the request: the client
        # re-indexes them with remap_to_request.
        messages: list[XeroValidationMessage] = []
        if isinstance(data, Mapping):
            elements = data.get("Elements")
            if isinstance(elements, list):
                for i, element in enumerate(elements):
                    messages.extend(_validation_messages(element, index=i, number=_number(element)))
        if not messages:
            # A 400 without Elements still has a reason (a reused Idempotency-Key, section 9;
            # a filter too costly for a large organisation, section 7): keep its Message.
            messages.append(XeroValidationMessage(said or "Xero said only 400 Bad Request"))
        numbers = {m.invoice_number for m in messages}
        return XeroValidationError(
            messages,
            error_type=error_type or "ValidationException",
            invoice_number=numbers.pop() if len(numbers) == 1 else None,
            **common,
        )
    if status == 401:
        # The client refreshes the token and resends once on a 401, so a 401 that reaches the
        # host has usually outlived a fresh token: the message points at the credentials.
        return AuthError(
            f"Xero refused the access token{kind}{told}; expired tokens are refreshed "
            f"automatically, so if this persists check the app's credentials{ref}",
            error_type=error_type,
            **common,
        )
    if status == 403:
        # Wrong or disconnected tenant (section 10, unconfirmed), or a granular scope the app
        # lacks (section 11); comparing the tenant id with /connections tells them apart.
        return AuthError(
            f"Xero refused access{kind}{told}; the organisation "
            f"{tenant_id or '(no tenant id)'} may not be connected to this app or the app lacks "
            f"a scope: compare xero-tenant-id with XeroClient.connections(){ref}",
            error_type=error_type,
            **common,
        )
    if status == 404:
        return NotFound(
            f"Xero has no such resource{told}; check the id and the organisation{ref}",
            error_type=error_type,
            **common,
        )
    if status == 429:
        # X-Rate-Limit-Problem names the limit: "minute" and "day" are known, other values
        # are unconfirmed (section 8) and kept; its case is undocumented, hence lower().
        problem = _text(headers.get("X-Rate-Limit-Problem"))
        problem = problem.lower() if problem else None
        retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
        if problem == "day":
            # The day limit resets at a per-tenant time (section 8): a caller must park this
            # tenant until resets_at instead of sleeping. An absurd Retry-After is capped at
            # datetime.max rather than failing.
            wait = DEFAULT_DAY_PARK if retry_after is None else retry_after
            try:
                resets_at = now + timedelta(seconds=wait)
            except OverflowError:
                resets_at = datetime.max.replace(tzinfo=UTC)
            return DailyLimitReached(
                resets_at=resets_at,
                retry_after=retry_after,
                correlation_id=correlation,
                tenant_id=tenant_id,
            )
        after = f"; Xero asks to wait {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(
            f"Xero's {problem or 'unspecified'} rate limit was hit{after}{ref}",
            problem=problem,
            retry_after=retry_after,
            error_type=error_type,
            **common,
        )
    if status >= 500 and status <= 599:
        # Xero answers a plain-text 503 "The Organisation is offline" when one organisation
        # is down "from a minute to an hour or so" (section 10): retryable for that tenant
        # only. Not every 5xx is transient (an invalid GUID once gave a 500, section 4); the
        # retry policy bounds the attempts.
        offline = "offline" in body[:500].decode("utf-8", errors="replace").lower()
        if offline:
            return XeroUnavailable(
                f"the organisation is offline at Xero{told} (usually minutes, sometimes an "
                f"hour); try again later{ref}",
                error_type=error_type or "OrganisationOffline",
                **common,
            )
        return XeroUnavailable(
            f"Xero is unavailable ({status}{' ' + error_type if error_type else ''}){told}; "
            f"try again later{ref}",
            error_type=error_type,
            **common,
        )
    if 400 <= status <= 499:
        return XeroApiError(
            f"Xero refused the request with {status}{kind}{told}{ref}",
            error_type=error_type,
            **common,
        )
    # 1xx-3xx, or beyond 599: the client asks only about non-2xx answers, so this is a
    # redirect nobody followed or a status HTTP does not define.
    return UnexpectedResponse(
        f"Xero answered with status {status}, which is not an answer the client can use{told}{ref}",
        error_type=error_type,
        **common,
    )


# --- successes --------------------------------------------------------------------------------


def _pagination(body: Any, page: int) -> Page:
    """The ``pagination`` block (``components/schemas/Pagination``) of a list answer.

    Paged answers carry ``{page, pageSize, pageCount, itemCount}`` (xero-api.md section 7);
    an answer without it (an un-paged call) yields only the page asked for, and the client
    then stops at the first short page. ``bool`` is refused because JSON
    ``true`` is an ``int`` in Python; a page of 0 or none means the page that was asked for.
    """
    data = body.get("pagination") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return Page(page=page)

    def number(key: str) -> int | None:
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Page(
        page=number("page") or page,
        page_size=number("pageSize"),
        page_count=number("pageCount"),
        item_count=number("itemCount"),
    )


def decode_invoices(body: bytes, *, page: int = 1) -> tuple[list[XeroInvoice], Page]:
    """The invoices of a ``GET /Invoices`` page, and its paging facts (``page``: the page
    asked for, used when the answer has no ``pagination`` block)."""

    def run() -> tuple[list[XeroInvoice], Page]:
        data = read_json(body)
        return parse_invoices(data), _pagination(data, page)

    return _guard("invoices", run)


def decode_credit_notes(body: bytes, *, page: int = 1) -> tuple[list[XeroCreditNote], Page]:
    """The credit notes of a ``GET /CreditNotes`` page, and its paging facts."""

    def run() -> tuple[list[XeroCreditNote], Page]:
        data = read_json(body)
        return parse_credit_notes(data), _pagination(data, page)

    return _guard("credit notes", run)


def decode_allocations(body: bytes) -> list[CreditNoteAllocation]:
    """The allocations of a ``PUT /CreditNotes/{id}/Allocations`` answer.

    Raises:
        XeroValidationError: Xero refused the allocation (its words kept).
        UnexpectedResponse: The answer can't be read.
    """

    def run() -> list[CreditNoteAllocation]:
        items = _elements(body, "Allocations", 1)
        messages = _validation_messages(items[0], index=0, number=None)
        if _is_error(items[0], messages):
            raise XeroValidationError(
                messages or (XeroValidationMessage("Xero refused the allocation"),),
                status_code=200,
            )
        return parse_allocations({"Allocations": items})

    return _guard("allocations", run)


def decode_payments(body: bytes, *, page: int = 1) -> tuple[list[XeroPayment], Page]:
    """The payments of a ``GET /Payments`` page, and its paging facts."""

    def run() -> tuple[list[XeroPayment], Page]:
        data = read_json(body)
        return parse_payments(data), _pagination(data, page)

    return _guard("payments", run)


def decode_contacts(body: bytes, *, page: int = 1) -> tuple[list[XeroContact], Page]:
    """The contacts of a ``GET /Contacts`` answer, and its paging facts."""

    def run() -> tuple[list[XeroContact], Page]:
        data = read_json(body)
        return parse_contacts(data), _pagination(data, page)

    return _guard("contacts", run)


def decode_accounts(body: bytes) -> ChartOfAccounts:
    """The chart of accounts from ``GET /Accounts``."""
    return _guard("the chart of accounts", lambda: parse_accounts(read_json(body)))


def decode_tax_rates(body: bytes) -> TaxRates:
    """The tax rates from ``GET /TaxRates``."""
    return _guard("tax rates", lambda: parse_tax_rates(read_json(body)))


def decode_organisation(body: bytes) -> Organisation:
    """The organisation from ``GET /Organisation``."""
    return _guard("the organisation", lambda: parse_organisation(read_json(body)))


def _objects(data: Any, key: str) -> list[Mapping[str, Any]]:
    """The objects listed under ``key`` in an answer (none when it is missing)."""
    if not isinstance(data, Mapping):
        raise UnexpectedResponse(f"expected an object with {key!r} from Xero")
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise UnexpectedResponse(f"Xero's {key!r} is not a list of objects")
    return items


def decode_online_invoice(body: bytes) -> str:
    """The link from ``GET /Invoices/{InvoiceID}/OnlineInvoice``: the ``OnlineInvoiceUrl``
    of its one ``OnlineInvoices`` element (spec, OnlineInvoices)."""

    def run() -> str:
        items = _objects(read_json(body), "OnlineInvoices")
        url = _text(items[0].get("OnlineInvoiceUrl")) if items else None
        if url is None or not url.lower().startswith(("https://", "http://")):
            raise UnexpectedResponse("Xero's answer has no OnlineInvoiceUrl")
        return url

    return _guard("the online invoice", run)


def decode_currencies(body: bytes) -> dict[str, str]:
    """``GET /Currencies``: each currency's Code and Description, in Xero's order."""

    def run() -> dict[str, str]:
        found: dict[str, str] = {}
        for item in _objects(read_json(body), "Currencies"):
            code = _text(item.get("Code"))
            if code is None:
                raise UnexpectedResponse("a currency from Xero has no Code")
            found[code] = _text(item.get("Description")) or code
        return found

    return _guard("the currencies", run)


def _connection(item: Any) -> Connection:
    """One tenant from the Identity API (not in the shipped spec; shape from xero-api.md
    section 1). ``tenantId`` is what goes into ``xero-tenant-id`` and ``id`` is what
    ``DELETE /connections/{id}`` needs, so a connection without either is refused loudly;
    the other fields are informational and may be missing. A date that is not a string is
    left out, but a string that is not a date fails the whole answer."""
    if not isinstance(item, Mapping):
        raise UnexpectedResponse("a connection from Xero is not an object")
    ident, tenant = _text(item.get("id")), _text(item.get("tenantId"))
    if ident is None or tenant is None:
        raise UnexpectedResponse("a connection from Xero has no id or tenantId")

    def when(key: str) -> datetime | None:
        value = item.get(key)
        return parse_datetime(value) if isinstance(value, str) else None

    return Connection(
        id=ident,
        tenant_id=tenant,
        tenant_type=_text(item.get("tenantType")),
        tenant_name=_text(item.get("tenantName")),
        auth_event_id=_text(item.get("authEventId")),
        created_at=when("createdDateUtc"),
        updated_at=when("updatedDateUtc"),
    )


def decode_connections(body: bytes) -> list[Connection]:
    """The tenants from ``GET /connections`` (a bare JSON list).

    The Identity API answers a list, not an envelope like the accounting API's
    ``{"Invoices": [...]}``, so anything else is an UnexpectedResponse.
    """

    def run() -> list[Connection]:
        data = read_json(body)
        if not isinstance(data, list):
            raise UnexpectedResponse("Xero's connections answer is not a list")
        return [_connection(item) for item in data]

    return _guard("connections", run)


def _match(requested: Sequence[str | None], answered: Sequence[str | None]) -> list[int | None]:
    """For each request element, the answer element that belongs to it.

    By number first (Xero has not confirmed that answers keep request order), then by
    position for the elements left over (no number sent, or Xero changed it).

    Matching by position alone would, if Xero ever reordered a batch, file one invoice's
    InvoiceID under another BMS invoice: a silent and lasting mix-up. Answers sharing a number
    are paired in order. A left-over request element takes only the answer at its own
    position, and only if no number match took it; otherwise it stays ``None`` and the caller
    treats the whole answer as unreadable.
    """
    taken: set[int] = set()
    chosen: list[int | None] = [None] * len(requested)
    by_number: dict[str, list[int]] = {}
    for j, number in enumerate(answered):
        if number is not None:
            by_number.setdefault(number, []).append(j)
    for i, number in enumerate(requested):
        if number is None:
            continue
        for j in by_number.get(number, ()):
            if j not in taken:
                chosen[i] = j
                taken.add(j)
                break
    for i in range(len(requested)):
        if chosen[i] is None and i < len(answered) and i not in taken:
            chosen[i] = i
            taken.add(i)
    return chosen


def _elements(body: bytes, key: str, expected: int) -> list[Mapping[str, Any]]:
    """The per-element list of a write's answer, checked before anything is matched.

    With ``summarizeErrors=false`` Xero answers 200 with one element per element sent
    (xero-api.md section 2), so a missing list, non-objects or a different count mean the
    answer can't be paired with the request. The status was 2xx, so the write most likely
    happened: the UnexpectedResponse raised here becomes an UncertainOutcome in the client,
    which tells the host to look the invoices up by number before writing again.
    """
    data = read_json(body)
    if not isinstance(data, Mapping) or not isinstance(data.get(key), list):
        raise UnexpectedResponse(f"Xero's answer to a write has no {key!r} list")
    items: list[Any] = data[key]
    if not all(isinstance(item, Mapping) for item in items):
        raise UnexpectedResponse(f"Xero's {key!r} holds something other than objects")
    if len(items) != expected:
        raise UnexpectedResponse(
            f"Xero answered {len(items)} {key} for {expected} sent; the results can't be "
            "matched to the request"
        )
    return items


def _is_error(element: Mapping[str, Any], messages: list[XeroValidationMessage]) -> bool:
    """Whether Xero refused this element of a ``summarizeErrors=false`` answer.

    The spec flags a failed Invoice with ``HasErrors`` but a Contact or Payment with
    ``HasValidationErrors`` (``components/schemas/Invoice``, ``Contact``, ``Payment``), and
    ``StatusAttributeString`` is ``OK`` or ``ERROR`` (Xero-Java #336). Any one of them, or any
    message anywhere in the element, fails it. A ``WARNING`` status (unconfirmed) does not:
    the element was saved.
    """
    status = element.get("StatusAttributeString")
    flagged = element.get("HasErrors") is True or element.get("HasValidationErrors") is True
    return bool(messages) or flagged or status == "ERROR"


def decode_invoice_results(
    payloads: Sequence[Mapping[str, Any] | WireInvoice], body: bytes
) -> list[InvoiceResult]:
    """Per-element results of an invoice write, in request order.

    Callers pair results with what they sent by index, so results are in request order
    whatever order Xero answered in (see :func:`_match`). A batch is not transactional: valid
    elements are saved even when others fail (xero-api.md section 2), so each element gets its
    own result. ``payloads`` are the elements as sent: encoded (:class:`WireInvoice`) or as
    dicts (a void, a hand-built payload).

    Raises:
        UnexpectedResponse: The answer can't be read or matched to the request.
    """

    def run() -> list[InvoiceResult]:
        items = _elements(body, "Invoices", len(payloads))
        walk = may_hold_messages(body)
        sent = [_number(p) for p in payloads]
        matched = _match(sent, [_number(item) for item in items])
        results: list[InvoiceResult] = []
        for i, j in enumerate(matched):
            if j is None:  # an unnumbered element whose position a number match took
                raise UnexpectedResponse(f"no result from Xero for element {i}")
            item = items[j]
            # Xero numbers an invoice sent without one (section 3): keep the number it chose.
            number = _number(item) or sent[i]
            messages = _validation_messages(item, index=i, number=number) if walk else []
            if _is_error(item, messages):
                results.append(
                    InvoiceResult(
                        index=i,
                        invoice_number=number,
                        invoice=None,
                        # Flagged but silent: still a failure, and one the host can read.
                        errors=tuple(messages)
                        or (
                            XeroValidationMessage(
                                "Xero marked this element as failed without a message",
                                element_index=i,
                                invoice_number=number,
                            ),
                        ),
                        warnings=_warnings(item),
                    )
                )
                continue
            # A saved element that can't be read fails the whole answer (via _guard) rather
            # than being dropped: dropping it would lose the InvoiceID of a real invoice.
            invoice = parse_invoice(item)
            results.append(
                InvoiceResult(
                    index=i,
                    invoice_number=number,
                    invoice=invoice,
                    warnings=_warnings(item),
                )
            )
        return results

    return _guard("invoice results", run)


@attrs.frozen
class _Answer:
    """One element of a write's answer, matched to the element of the request it answers.

    Attributes:
        index: The request element's position.
        item: Xero's element.
        key: Its matching key (number or name): Xero's, else the one sent.
        errors: Xero's messages on it, or one saying it was flagged without any, when the
            element failed; empty when it was saved.
    """

    index: int
    item: Mapping[str, Any]
    key: str | None
    errors: tuple[XeroValidationMessage, ...]


def _answers(
    payloads: Sequence[Mapping[str, Any]], body: bytes, *, list_key: str, match_key: str, what: str
) -> list[_Answer]:
    """Each request element's answer, in request order, matched by ``match_key`` (a credit
    note's number, a contact's name: what Xero keeps unique), with its failure if it failed.

    Raises:
        UnexpectedResponse: An element has no answer.
    """
    items = _elements(body, list_key, len(payloads))
    walk = may_hold_messages(body)
    sent = [_number(p, match_key) for p in payloads]
    matched = _match(sent, [_number(item, match_key) for item in items])
    answers: list[_Answer] = []
    for i, j in enumerate(matched):
        if j is None:
            raise UnexpectedResponse(f"no result from Xero for {what} {i}")
        item = items[j]
        messages = _validation_messages(item, index=i, number=None) if walk else []
        failed = _is_error(item, messages)
        errors = (
            tuple(messages)
            or (XeroValidationMessage(f"Xero marked this {what} as failed", element_index=i),)
            if failed
            else ()
        )
        answers.append(_Answer(i, item, _number(item, match_key) or sent[i], errors))
    return answers


def decode_credit_note_results(
    payloads: Sequence[Mapping[str, Any]], body: bytes
) -> list[CreditNoteResult]:
    """Per-element results of a credit note write, in request order (matched by
    CreditNoteNumber, as invoices are by InvoiceNumber).

    Raises:
        UnexpectedResponse: The answer can't be read or matched to the request.
    """

    def run() -> list[CreditNoteResult]:
        return [
            CreditNoteResult(
                index=a.index,
                credit_note_number=a.key,
                credit_note=None if a.errors else parse_credit_note(a.item),
                errors=a.errors,
                warnings=_warnings(a.item),
            )
            for a in _answers(
                payloads,
                body,
                list_key="CreditNotes",
                match_key="CreditNoteNumber",
                what="credit note",
            )
        ]

    return _guard("credit note results", run)


def decode_contact_results(
    payloads: Sequence[Mapping[str, Any]], body: bytes
) -> list[ContactResult]:
    """Per-element results of a contact write, in request order (matched by Name).

    Contacts have no number, but their Name is unique among active contacts (Xero's message:
    "The contact name ... must be unique across all active contacts.", spec examples), so
    Name plays the part InvoiceNumber plays for invoices. Messages carry no invoice number,
    and warnings are not kept (:class:`ContactResult` has no field for them).
    """

    def run() -> list[ContactResult]:
        return [
            ContactResult(
                index=a.index,
                name=a.key,
                contact=None if a.errors else parse_contacts({"Contacts": [a.item]})[0],
                errors=a.errors,
            )
            for a in _answers(payloads, body, list_key="Contacts", match_key="Name", what="contact")
        ]

    return _guard("contact results", run)


def remap_to_request(
    error: XeroValidationError, requested: Sequence[str | None]
) -> XeroValidationError:
    """The same error with element indexes of the request (a 400 echoes elements its own way).

    :func:`decode_error` indexes a 400's messages by position in ``Elements``, and those need
    not be the request's positions: ``Elements`` may list only the refused elements (FakeXero
    does; for Xero this is unconfirmed), and the valid ones are saved regardless (xero-api.md
    section 2). ``requested`` holds the InvoiceNumbers sent, in order. A message whose number
    was sent gets that element's index; in a one-element request every message belongs to it;
    otherwise the index is ``None`` rather than a guess that could blame the wrong invoice.
    """
    if not requested:
        return error
    positions = {number: i for i, number in enumerate(requested) if number is not None}
    remapped = []
    for m in error.messages:
        index: int | None
        if m.invoice_number is not None and m.invoice_number in positions:
            index = positions[m.invoice_number]
        elif len(requested) == 1:
            index = 0
        else:
            index = None
        number = m.invoice_number or (requested[0] if len(requested) == 1 else None)
        remapped.append(
            XeroValidationMessage(
                m.message, element_index=index, invoice_number=number, path=m.path
            )
        )
    numbers = {m.invoice_number for m in remapped}
    return XeroValidationError(
        remapped,
        status_code=error.status_code,
        error_type=error.error_type,
        correlation_id=error.correlation_id,
        tenant_id=error.tenant_id,
        invoice_number=numbers.pop() if len(numbers) == 1 else None,
    )
