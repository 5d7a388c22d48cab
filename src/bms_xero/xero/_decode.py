"""Reading Xero's answers, with no I/O (the sans-I/O half that comes back).

:func:`decode_error` turns any status, headers and body (JSON, HTML, plain text, garbage) into
one typed :class:`~bms_xero.errors.XeroApiError`; the ``decode_*`` functions turn a success
body into domain values using :mod:`bms_xero.mapping.wire`. Nothing here raises anything but
bms_xero's own errors: a body we cannot read is an
:class:`~bms_xero.errors.UnexpectedResponse`, never a KeyError or JSONDecodeError.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from bms_xero.domain import Organisation, XeroContact, XeroInvoice, XeroPayment
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
    parse_contacts,
    parse_invoice,
    parse_invoices,
    parse_organisation,
    parse_payments,
    parse_tax_rates,
)
from bms_xero.transport import Headers
from bms_xero.xero._models import Connection, ContactResult, InvoiceResult, Page

__all__ = [
    "decode_accounts",
    "decode_connections",
    "decode_contact_results",
    "decode_contacts",
    "decode_error",
    "decode_invoice_results",
    "decode_invoices",
    "decode_organisation",
    "decode_payments",
    "decode_tax_rates",
    "parse_retry_after",
    "read_json",
]

T = TypeVar("T")

#: Seconds a day-limit 429 parks a tenant when Xero gives no ``Retry-After``.
DEFAULT_DAY_PARK = 3600.0
_SNIPPET = 200
_MAX_DEPTH = 8
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_.]{1,63}")


def read_json(body: bytes | str) -> Any:
    """JSON with exact Decimals, or :class:`UnexpectedResponse`, whatever the bytes."""
    try:
        return decode_json(body)
    except UnexpectedResponse:
        raise
    except (RecursionError, ArithmeticError, TypeError, ValueError) as e:
        raise UnexpectedResponse(
            f"Xero's answer is not readable JSON ({type(e).__name__})"
        ) from None


def _guard(what: str, decode: Callable[[], T]) -> T:
    """Run a decoder; anything but our own errors becomes an UnexpectedResponse."""
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
    try:
        return read_json(body)
    except UnexpectedResponse:
        return None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _clean(text: str) -> str:
    """One line, printable, bounded: safe to put into an exception message."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"


def _snippet(body: bytes) -> str | None:
    """What a non-JSON body says, in a few words (an HTML page is named, not quoted)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if text.startswith("<"):
        return "an HTML page"
    return _clean(text)


def _validation_messages(
    node: Any, *, index: int | None, number: str | None, path: str = "", depth: int = 0
) -> list[XeroValidationMessage]:
    """Every ``ValidationErrors[].Message`` in an element, with where it sits."""
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


def _warnings(element: Mapping[str, Any]) -> tuple[str, ...]:
    items = element.get("Warnings")
    if not isinstance(items, list):
        return ()
    found = (
        _text(item.get("Message")) if isinstance(item, Mapping) else _text(item) for item in items
    )
    return tuple(_clean(w) for w in found if w is not None)


def _number(element: Any, key: str = "InvoiceNumber") -> str | None:
    if isinstance(element, WireInvoice):  # what we sent, in wire form
        return element.number
    return _text(element.get(key)) if isinstance(element, Mapping) else None


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date), if it is readable."""
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
        messages: list[XeroValidationMessage] = []
        if isinstance(data, Mapping):
            elements = data.get("Elements")
            if isinstance(elements, list):
                for i, element in enumerate(elements):
                    messages.extend(_validation_messages(element, index=i, number=_number(element)))
        if not messages:
            messages.append(XeroValidationMessage(said or "Xero said only 400 Bad Request"))
        numbers = {m.invoice_number for m in messages}
        return XeroValidationError(
            messages,
            error_type=error_type or "ValidationException",
            invoice_number=numbers.pop() if len(numbers) == 1 else None,
            **common,
        )
    if status == 401:
        return AuthError(
            f"Xero refused the access token{kind}{told}; expired tokens are refreshed "
            f"automatically, so if this persists check the app's credentials{ref}",
            error_type=error_type,
            **common,
        )
    if status == 403:
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
        problem = _text(headers.get("X-Rate-Limit-Problem"))
        problem = problem.lower() if problem else None
        retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
        if problem == "day":
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
    return UnexpectedResponse(
        f"Xero answered with status {status}, which is not an answer the client can use{told}{ref}",
        error_type=error_type,
        **common,
    )


# --- successes --------------------------------------------------------------------------------


def _pagination(body: Any, page: int) -> Page:
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
    """The invoices of a ``GET /Invoices`` page, and its paging facts."""

    def run() -> tuple[list[XeroInvoice], Page]:
        data = read_json(body)
        return parse_invoices(data), _pagination(data, page)

    return _guard("invoices", run)


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


def _connection(item: Any) -> Connection:
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
    """The tenants from ``GET /connections`` (a bare JSON list)."""

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
    status = element.get("StatusAttributeString")
    flagged = element.get("HasErrors") is True or element.get("HasValidationErrors") is True
    return bool(messages) or flagged or status == "ERROR"


def decode_invoice_results(
    payloads: Sequence[Mapping[str, Any] | WireInvoice], body: bytes
) -> list[InvoiceResult]:
    """Per-element results of an invoice write, in request order.

    Raises:
        UnexpectedResponse: The answer can't be read or matched to the request.
    """

    def run() -> list[InvoiceResult]:
        items = _elements(body, "Invoices", len(payloads))
        sent = [_number(p) for p in payloads]
        matched = _match(sent, [_number(item) for item in items])
        results: list[InvoiceResult] = []
        for i, j in enumerate(matched):
            if j is None:  # unreachable with equal lengths; kept for safety
                raise UnexpectedResponse(f"no result from Xero for element {i}")
            item = items[j]
            number = _number(item) or sent[i]
            messages = _validation_messages(item, index=i, number=number)
            if _is_error(item, messages):
                results.append(
                    InvoiceResult(
                        index=i,
                        invoice_number=number,
                        invoice=None,
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


def decode_contact_results(
    payloads: Sequence[Mapping[str, Any]], body: bytes
) -> list[ContactResult]:
    """Per-element results of a contact write, in request order (matched by Name)."""

    def run() -> list[ContactResult]:
        items = _elements(body, "Contacts", len(payloads))
        sent = [_number(p, "Name") for p in payloads]
        matched = _match(sent, [_number(item, "Name") for item in items])
        results: list[ContactResult] = []
        for i, j in enumerate(matched):
            if j is None:
                raise UnexpectedResponse(f"no result from Xero for contact {i}")
            item = items[j]
            name = _number(item, "Name") or sent[i]
            messages = _validation_messages(item, index=i, number=None)
            if _is_error(item, messages):
                results.append(
                    ContactResult(
                        index=i,
                        name=name,
                        contact=None,
                        errors=tuple(messages)
                        or (
                            XeroValidationMessage(
                                "Xero marked this contact as failed", element_index=i
                            ),
                        ),
                    )
                )
                continue
            contact = parse_contacts({"Contacts": [item]})[0]
            results.append(ContactResult(index=i, name=name, contact=contact))
        return results

    return _guard("contact results", run)


def remap_to_request(
    error: XeroValidationError, requested: Sequence[str | None]
) -> XeroValidationError:
    """The same error with element indexes of the request (a 400 echoes elements its own way)."""
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
