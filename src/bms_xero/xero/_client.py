"""The client: the calls bms_xero makes to Xero, with auth, pacing and retries around them."""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from bms_xero.clock import Clock, SystemClock
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
    ConfigurationError,
    DailyLimitReached,
    InvalidRequest,
    NotFound,
    RateLimited,
    RemoteError,
    TransportError,
    UncertainOutcome,
    UnexpectedResponse,
    XeroUnavailable,
    XeroValidationError,
)
from bms_xero.mapping._reference import ChartOfAccounts, TaxRates
from bms_xero.mapping.wire import WireInvoice, allocation_payload
from bms_xero.storage._tokens import TokenStore
from bms_xero.transport import HttpxTransport, Request, Response, Transport
from bms_xero.xero._auth import TOKEN_URL, Authenticator, ClientCredentials, RefreshTokenAuth
from bms_xero.xero._budget import RateBudgetBackend
from bms_xero.xero._calls import (
    API_BASE,
    CONNECTIONS_URL,
    MAX_PAGE_SIZE,
    SALES_INVOICES,
    UPDATED_ASC,
    Call,
    Keyset,
    accounts_call,
    allocate_credit_note_call,
    build_request,
    connections_call,
    contact_by_number_call,
    contacts_call,
    create_contacts_call,
    create_credit_notes_call,
    create_invoices_call,
    credit_note_number_where,
    credit_notes_call,
    currencies_call,
    disconnect_call,
    email_invoice_call,
    get_credit_note_call,
    get_invoice_call,
    invoice_number_where,
    invoices_call,
    next_keyset,
    online_invoice_call,
    organisation_call,
    payments_call,
    tax_rates_call,
    update_invoice_call,
    update_invoices_call,
)
from bms_xero.xero._decode import (
    decode_accounts,
    decode_allocations,
    decode_connections,
    decode_contact_results,
    decode_contacts,
    decode_credit_note_results,
    decode_credit_notes,
    decode_currencies,
    decode_error,
    decode_invoice_results,
    decode_invoices,
    decode_online_invoice,
    decode_organisation,
    decode_payments,
    decode_tax_rates,
    remap_to_request,
)
from bms_xero.xero._limits import LimitState, RateLimiter, RateLimits
from bms_xero.xero._models import (
    Connection,
    ContactResult,
    CreditNoteResult,
    InvoiceResult,
    Page,
)
from bms_xero.xero._numbered import (
    NEWEST_FIRST,
    NumberedPage,
    numbered_pages,
    numbered_verdict,
)
from bms_xero.xero._retry import CallKind, Retry, RetryPolicy, Uncertain, failure_of
from bms_xero.xero._scopes import scope_error

__all__ = ["XeroClient"]

log = logging.getLogger("bms_xero.xero")

T = TypeVar("T")
#: Numbers per ``InvoiceNumbers=`` lookup: keeps URLs short and inside Xero's filter limits.
NUMBERS_PER_LOOKUP = 40
#: Credit note numbers per ``where`` lookup (each is a clause of its own: kept shorter).
CREDIT_NOTE_NUMBERS_PER_LOOKUP = 20


def _numbers(payloads: Sequence[WireInvoice | Mapping[str, Any]]) -> list[str | None]:
    found: list[str | None] = []
    for payload in payloads:
        if isinstance(payload, WireInvoice):
            found.append(payload.number)
            continue
        value = payload.get("InvoiceNumber") if isinstance(payload, Mapping) else None
        found.append(value if isinstance(value, str) and value else None)
    return found


def _url(value: object, name: str) -> str:
    if not isinstance(value, str) or "://" not in value:
        raise ConfigurationError(f"{name} must be an absolute http(s) URL")
    return value


def _text_id(value: object, argument: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("must be a non-empty string", argument=argument)
    return value


def _second(at: datetime) -> datetime:
    """The whole second ``at`` falls in: what If-Modified-Since can express."""
    return at.replace(microsecond=0)


def _numbered(
    number: int,
    items: Sequence[T],
    info: Page,
    key: Callable[[T], tuple[str | None, datetime | None]],
) -> NumberedPage:
    """What :func:`numbered_verdict` needs of one page read by number."""
    return NumberedPage(
        number=number,
        keys=tuple(key(item) for item in items),
        page_count=info.page_count,
        item_count=info.item_count,
    )


def _new(
    items: Sequence[T],
    keys: Sequence[tuple[str | None, datetime | None]],
    yielded: set[tuple[str | None, datetime | None]],
) -> Iterator[T]:
    """The ``items`` whose (id, stamp) was not yielded yet, remembering them."""
    for item, k in zip(items, keys, strict=True):
        if k not in yielded:
            yielded.add(k)
            yield item


def _listed(values: Iterable[str]) -> Iterable[str]:
    # A bare string is refused by the call builders; don't explode it into characters.
    return values if isinstance(values, str) else tuple(values)


class _Attempt:
    """What one try produced: a response, or the typed error that stopped it."""

    __slots__ = ("error", "request", "response", "sent_at", "token")

    def __init__(
        self,
        *,
        token: str | None,
        request: Request | None = None,
        response: Response | None = None,
        error: BmsXeroError | None = None,
    ) -> None:
        self.token = token
        self.request = request
        self.response = response
        self.error = error
        self.sent_at: float | None = None


class XeroClient:
    """A typed client for the Xero calls bms_xero makes, over a pluggable :class:`Transport`.

    Thread-safe: share one client (and its :meth:`with_tenant` copies) per connection. Each
    call is paced by a per-tenant :class:`RateLimiter` (5 in flight, the minute budget), retried
    per its :class:`RetryPolicy`, and every failure is one of :mod:`bms_xero.errors`.

    Writes need an ``idempotency_key`` from the caller, persisted before the call: a write is
    resent only with that key and only inside the key's lifetime, otherwise the client raises
    :class:`~bms_xero.errors.UncertainOutcome` and the caller resolves it by lookup.

    Args:
        transport: How requests are sent (``HttpxTransport(httpx.Client(...))``).
        auth: Where access tokens come from (:class:`ClientCredentials`,
            :class:`RefreshTokenAuth`, or your own :class:`Authenticator`).
        tenant_id: The organisation to act on (``xero-tenant-id``); optional only for a
            custom connection, which has exactly one.
        clock: Time and waiting (a ``FakeClock`` in tests makes every wait instant).
        retry: The retry policy (``RetryPolicy.none()`` never retries).
        limits: The limits to pace to, or a :class:`RateLimiter` to share.
        rate_budget: Where the limiter keeps the organisation's budget, to share it with
            other processes (a ``RedisRateBudget`` or ``PostgresRateBudget``; default: this
            process only). Not with a ``RateLimiter`` in ``limits``, which has its own.
        base_url: The accounting API's base URL.
        timeout: Seconds to wait for each answer (``None``: the transport's default).
        connections_url: The ``/connections`` endpoint (point it at a fake server in tests).

    .. versionchanged:: Unreleased
        ``rate_budget``.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        auth: Authenticator,
        tenant_id: str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        limits: RateLimits | RateLimiter | None = None,
        rate_budget: RateBudgetBackend | None = None,
        base_url: str = API_BASE,
        timeout: float | None = None,
        connections_url: str = CONNECTIONS_URL,
    ) -> None:
        if not isinstance(transport, Transport):
            raise ConfigurationError(
                f"transport must implement Transport (send, close), not "
                f"{type(transport).__name__}; wrap an httpx.Client in HttpxTransport"
            )
        if not isinstance(auth, Authenticator):
            raise ConfigurationError(
                f"auth must implement Authenticator (access_token, invalidate), not "
                f"{type(auth).__name__}; use ClientCredentials or RefreshTokenAuth"
            )
        if tenant_id is not None and (not isinstance(tenant_id, str) or not tenant_id.strip()):
            raise ConfigurationError("tenant_id must be a non-empty string or None")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigurationError("retry must be a RetryPolicy (RetryPolicy.none() for tests)")
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
        ):
            raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        self._transport = transport
        self._auth = auth
        self._tenant_id = tenant_id
        self._clock: Clock = clock or SystemClock()
        self._retry = retry or RetryPolicy()
        if isinstance(limits, RateLimiter):
            if rate_budget is not None and rate_budget is not limits.backend:
                raise ConfigurationError(
                    "pass rate_budget or a RateLimiter in limits, not both: the limiter keeps "
                    "its own budget (RateLimiter(limits, clock=..., backend=rate_budget))"
                )
            self._limiter = limits
        elif limits is None or isinstance(limits, RateLimits):
            self._limiter = RateLimiter(limits, clock=self._clock, backend=rate_budget)
        else:
            raise ConfigurationError("limits must be RateLimits, a RateLimiter or None")
        self._base_url = base_url
        self._timeout = timeout
        self._connections_url = connections_url

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def from_client_credentials(
        cls,
        client_id: str,
        client_secret: str,
        *,
        http_client: httpx.Client | None = None,
        tenant_id: str | None = None,
        clock: Clock | None = None,
        scopes: Iterable[str] | str = (),
        token_url: str = TOKEN_URL,
        api_url: str = API_BASE,
        connections_url: str = CONNECTIONS_URL,
        **kwargs: Any,
    ) -> XeroClient:
        """A client for a custom connection (``client_credentials``).

        Args:
            client_id: The custom connection's client id.
            client_secret: Its secret.
            http_client: The httpx client to send with; by default one with explicit
                timeouts (connect 5 s, read 30 s) and no retries, closed by :meth:`close`.
            tenant_id: The organisation (optional for custom connections).
            clock: Time and waiting.
            scopes: Scopes to ask for (default: those configured on the connection).
            token_url: The token endpoint (a ``FakeServer``'s ``token_url`` in tests).
            api_url: The accounting API's base URL (``FakeServer.api_url``).
            connections_url: The ``/connections`` endpoint (``FakeServer.connections_url``).
            **kwargs: Passed to the constructor (``retry``, ``limits``, ``rate_budget``,
                ``timeout``, ...).

        .. versionchanged:: Unreleased
            ``token_url``, ``api_url`` and ``connections_url``.
        """
        return cls(
            cls._transport_for(http_client),
            auth=ClientCredentials(client_id, client_secret, scopes=scopes, token_url=token_url),
            tenant_id=tenant_id,
            clock=clock,
            base_url=_url(api_url, "api_url"),
            connections_url=_url(connections_url, "connections_url"),
            **kwargs,
        )

    @classmethod
    def from_token_store(
        cls,
        client_id: str,
        client_secret: str | None,
        store: TokenStore,
        *,
        connection_id: str,
        tenant_id: str | None = None,
        http_client: httpx.Client | None = None,
        clock: Clock | None = None,
        token_url: str = TOKEN_URL,
        api_url: str = API_BASE,
        connections_url: str = CONNECTIONS_URL,
        **kwargs: Any,
    ) -> XeroClient:
        """A client for an authorised app connection whose tokens live in ``store``.

        Args:
            client_id: The app's client id.
            client_secret: The app's secret; ``""`` or ``None`` for a PKCE app.
            store: Where the connection's tokens are (see :func:`exchange_code`).
            connection_id: The connection's key in ``store``.
            tenant_id: The organisation; pick one from :meth:`connections` and use
                :meth:`with_tenant` when it is not known yet.
            http_client: The httpx client to send with (default: see
                :meth:`from_client_credentials`).
            clock: Time and waiting.
            token_url: The token endpoint (refreshes go there).
            api_url: The accounting API's base URL.
            connections_url: The ``/connections`` endpoint.
            **kwargs: Passed to the constructor (``retry``, ``limits``, ``rate_budget``,
                ``timeout``, ...).

        .. versionchanged:: Unreleased
            ``token_url``, ``api_url``, ``connections_url``; an empty secret for PKCE apps.
        """
        auth = RefreshTokenAuth(
            client_id, client_secret, store, connection_id=connection_id, token_url=token_url
        )
        return cls(
            cls._transport_for(http_client),
            auth=auth,
            tenant_id=tenant_id,
            clock=clock,
            base_url=_url(api_url, "api_url"),
            connections_url=_url(connections_url, "connections_url"),
            **kwargs,
        )

    @staticmethod
    def _transport_for(http_client: httpx.Client | None) -> HttpxTransport:
        if http_client is None:
            return HttpxTransport.default()
        return HttpxTransport(http_client)

    def with_tenant(self, tenant_id: str) -> XeroClient:
        """A client for another organisation, sharing transport, auth, clock and limiter."""
        return XeroClient(
            self._transport,
            auth=self._auth,
            tenant_id=tenant_id,
            clock=self._clock,
            retry=self._retry,
            limits=self._limiter,
            base_url=self._base_url,
            timeout=self._timeout,
            connections_url=self._connections_url,
        )

    @property
    def tenant_id(self) -> str | None:
        """The organisation this client acts on."""
        return self._tenant_id

    @property
    def limiter(self) -> RateLimiter:
        """The rate limiter (shared with :meth:`with_tenant` copies)."""
        return self._limiter

    def limit_state(self) -> LimitState:
        """What the rate limiter knows about this client's tenant now."""
        return self._limiter.state(self._tenant_id)

    def close(self) -> None:
        """Close the transport (an httpx client is closed only if bms_xero created it)."""
        self._transport.close()

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"XeroClient(tenant_id={self._tenant_id!r}, auth={self._auth!r})"

    # --- the send loop ----------------------------------------------------------------------

    def _check_tenant(self, call: Call) -> None:
        if (
            call.tenant_scoped
            and self._tenant_id is None
            and not isinstance(self._auth, ClientCredentials)
        ):
            raise ConfigurationError(
                "this client has no tenant_id; list the organisations with connections() and "
                "use client.with_tenant(tenant_id)"
            )

    def _attempt(
        self, call: Call, *, attempt: int, kind: CallKind, first_sent_at: float | None
    ) -> _Attempt:
        """One send under the limiter; transport and token-endpoint failures are returned.

        Waiting for the rate limit or a token must not carry a resent write past its key's
        lifetime, so the rule (:meth:`RetryPolicy.key_expired`) is checked again right
        before the request leaves.
        """
        tenant = self._tenant_id if call.tenant_scoped else None
        ticket = self._limiter.acquire(tenant)
        answer = _Attempt(token=None)
        try:
            try:
                answer.token = self._auth.access_token(self._transport, self._clock)
            except (TransportError, XeroUnavailable) as e:
                # The token endpoint failed, so the API request itself was never sent.
                answer.error = TransportError(
                    f"could not get an access token ({e}); nothing was sent to the API",
                    sent=False,
                    tenant_id=self._tenant_id,
                )
                answer.error.__cause__ = e
                return answer
            except RateLimited as e:
                e.tenant_id = self._tenant_id
                answer.error = e
                return answer
            if self._retry.key_expired(kind, first_sent_at, self._clock.monotonic()):
                raise self._uncertain(call, "the idempotency key's lifetime ran out", status=None)
            answer.request = build_request(
                call, access_token=answer.token, tenant_id=self._tenant_id, base_url=self._base_url
            )
            answer.sent_at = self._clock.monotonic()
            try:
                answer.response = self._transport.send(answer.request, timeout=self._timeout)
            except TransportError as e:
                e.tenant_id = self._tenant_id
                answer.error = e
            except BmsXeroError:
                raise
            except Exception as e:  # a custom transport must not leak its own errors
                answer.error = TransportError(
                    f"the transport failed during {call.method} {answer.request.path} "
                    f"({type(e).__name__}); the request may have reached Xero",
                    sent=True,
                    tenant_id=self._tenant_id,
                )
            return answer
        finally:
            self._limiter.release(
                ticket, answer.response.headers if answer.response is not None else None
            )
            if answer.request is not None or answer.error is not None:
                path = answer.request.path if answer.request is not None else call.path
                outcome = (
                    answer.response.status
                    if answer.response is not None
                    else type(answer.error).__name__
                )
                log.debug(
                    "%s %s -> %s (attempt %d, tenant %s)",
                    call.method,
                    path,
                    outcome,
                    attempt,
                    self._tenant_id,
                )

    def _send(
        self, call: Call, *, attempt: int, kind: CallKind, first_sent_at: float | None
    ) -> _Attempt:
        """One try, whose failure comes back in the answer rather than as an exception.

        What stops a try before anything reaches the API (a tenant parked for the day, the
        token endpoint refusing the credentials) is a failure like any other: the loop
        classifies it and the policy decides, so a write that may have been applied earlier
        becomes uncertain whatever stopped its resend. Only the key-lifetime guard raises,
        as its :class:`~bms_xero.errors.UncertainOutcome` is already the policy's answer.
        """
        try:
            return self._attempt(call, attempt=attempt, kind=kind, first_sent_at=first_sent_at)
        except UncertainOutcome:
            raise
        except BmsXeroError as e:
            return _Attempt(token=None, error=e)

    def _uncertain(self, call: Call, reason: str, *, status: int | None) -> UncertainOutcome:
        return UncertainOutcome(
            f"{call.method} {call.path} may or may not have been applied by Xero ({reason}); "
            "look the record up (invoices by number) before writing again",
            idempotency_key=call.idempotency_key,
            method=call.method,
            path=call.path,
            status_code=status,
            tenant_id=self._tenant_id,
        )

    def _error_for(self, response: Response, numbers: Sequence[str | None]) -> BmsXeroError:
        """The typed error for Xero's non-2xx answer, a 400 indexed like the request."""
        error = decode_error(
            response.status,
            response.headers,
            response.content,
            now=self._clock.now(),
            tenant_id=self._tenant_id,
        )
        if isinstance(error, XeroValidationError) and numbers:
            return remap_to_request(error, numbers)
        return error

    def _execute(self, call: Call, *, numbers: Sequence[str | None] = ()) -> Response:
        """Send ``call`` until it succeeds or the policy says stop; return the 2xx response.

        Each round is send, classify, decide, act: the try's failure becomes a small value
        (:func:`failure_of`), :meth:`RetryPolicy.decide` answers retry, raise or uncertain,
        and this loop only carries the answer out. The one thing decided here is the token
        refresh: a 401 gets one fresh token and a resend that is not counted as an attempt,
        since Xero did nothing with the token it refused.
        """
        self._check_tenant(call)
        kind = CallKind(write=call.is_write)
        attempt = 1
        first_sent_at: float | None = None  # when a try of this call first left (monotonic)
        refreshed = False
        while True:
            answer = self._send(call, attempt=attempt, kind=kind, first_sent_at=first_sent_at)
            if first_sent_at is None:
                first_sent_at = answer.sent_at
            response = answer.response
            if response is not None and 200 <= response.status <= 299:
                return response
            if (
                response is not None
                and response.status == 401
                and not refreshed
                and answer.token is not None
                and b"AuthorizationUnsuccessful" not in response.content[:2000]
            ):
                # Expired or revoked token: refresh once and resend, as the same attempt. (A
                # missing scope, AuthorizationUnsuccessful, is not cured by a new token.)
                refreshed = True
                self._auth.invalidate(answer.token)
                continue
            if answer.error is not None:
                error = answer.error
            else:
                assert response is not None
                error = self._error_for(response, numbers)
                if isinstance(error, AuthError):
                    # A 401/403 for a scope the token lacks names the scope.
                    error = scope_error(
                        error, method=call.method, path=call.path, access_token=answer.token
                    )
                if isinstance(error, DailyLimitReached):
                    # Later calls for this tenant fail at once, without being sent.
                    self._limiter.park(self._tenant_id, error.resets_at)

            failure = failure_of(error)
            decision = self._retry.decide(
                kind,
                failure,
                attempt,
                first_sent_at,
                self._clock.monotonic(),
                max_retry_after=self._limiter.limits.max_retry_after,
            )
            if isinstance(decision, Retry):
                if decision.hold_tenant:
                    # Hold the whole tenant, so other threads wait too instead of a 429 each.
                    self._limiter.hold(self._tenant_id, decision.delay)
                else:
                    self._clock.sleep(decision.delay)
                kind = kind.after(failure)
                attempt += 1
                continue
            if isinstance(decision, Uncertain):
                raise self._uncertain(
                    call,
                    f"{decision.reason}; the last try: {error}",
                    status=error.status_code if isinstance(error, RemoteError) else None,
                ) from error
            raise error

    def _read(self, call: Call, decode: Callable[[bytes], T]) -> T:
        return decode(self._execute(call).content)

    def _write(self, call: Call, numbers: Sequence[str | None], decode: Callable[[bytes], T]) -> T:
        response = self._execute(call, numbers=numbers)
        try:
            return decode(response.content)
        except UnexpectedResponse as e:
            # Xero said 2xx, so the write most likely happened, but we can't tell what it made.
            raise self._uncertain(
                call, f"its answer could not be read: {e}", status=response.status
            ) from e

    def _pages(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        page_size: int,
    ) -> Iterator[T]:
        page = 1
        while True:
            response = self._execute(make(page=page, page_size=page_size))
            items, info = decode(response.content, page=page)
            yield from items
            if not items:
                return
            if info.page_count is not None:
                if page >= info.page_count:
                    return
            elif len(items) < page_size:
                return
            page += 1

    def _changed_pages(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        key: Callable[[T], tuple[str | None, datetime | None]],
        since: datetime | None,
        page_size: int,
        max_in_flight: int,
    ) -> Iterator[T]:
        """A changed-since read that cannot skip, with its pages read side by side.

        With ``max_in_flight`` 1 it is :meth:`_keyset_pages`, unchanged. Otherwise the
        pages are read by number, newest first (see :mod:`bms_xero.xero._numbered`): page 1,
        then pages 2..N up to ``max_in_flight`` at once and at most that many answers ahead
        of the one being yielded (memory stays a few pages), yielded in page order. When the
        check says so, page 1 is read once more; when it fails, everything is read again with
        keyset pages from ``since``. What was yielded already is not yielded again.
        """
        if max_in_flight <= 1:
            yield from self._keyset_pages(make, decode, key, since, page_size)
            return
        newest_first = functools.partial(make, order=NEWEST_FIRST)
        items, info = self._page_of(newest_first, decode, Keyset(since), page_size)
        first = _numbered(1, items, info, key)
        yielded = set(first.keys)
        yield from items
        numbers = list(numbered_pages(first, page_size))
        if not numbers:
            if len(items) < page_size or (info.page_count is not None and info.page_count <= 1):
                return  # the only page: what a keyset read would have read
            # A full page 1 that does not say how many there are: keyset pages, as before.
            yield from self._unseen(make, decode, key, since, page_size, yielded)
            return
        pages = [first]
        with ThreadPoolExecutor(max_workers=min(max_in_flight, len(numbers))) as pool:

            def read(number: int) -> Future[tuple[list[T], Page]]:
                at = Keyset(since, number)
                return pool.submit(self._page_of, newest_first, decode, at, page_size)

            ahead = deque(read(n) for n in numbers[:max_in_flight])
            try:
                for number in numbers:
                    items, info = ahead.popleft().result()
                    if number + max_in_flight <= numbers[-1]:
                        ahead.append(read(number + max_in_flight))
                    page = _numbered(number, items, info, key)
                    pages.append(page)
                    yield from _new(items, page.keys, yielded)
            finally:
                for waiting in ahead:
                    waiting.cancel()
        verdict = numbered_verdict(pages, page_size)
        if verdict == "newest":
            # Something changed while the pages were read: page 1 again, after them all.
            items, info = self._page_of(newest_first, decode, Keyset(since), page_size)
            newest = _numbered(1, items, info, key)
            yield from _new(items, newest.keys, yielded)
            verdict = numbered_verdict(pages, page_size, newest)
        if verdict == "again":
            log.info(
                "a changed-since read by page number could not be shown complete (something "
                "changed while it was read); reading it again with keyset pages"
            )
            yield from self._unseen(make, decode, key, since, page_size, yielded)

    def _unseen(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        key: Callable[[T], tuple[str | None, datetime | None]],
        since: datetime | None,
        page_size: int,
        yielded: set[tuple[str | None, datetime | None]],
    ) -> Iterator[T]:
        """A keyset read from ``since``, less what was ``yielded`` already (id and stamp)."""
        for item in self._keyset_pages(make, decode, key, since, page_size):
            k = key(item)
            if k not in yielded:
                yielded.add(k)
                yield item

    def _keyset_pages(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        key: Callable[[T], tuple[str | None, datetime | None]],
        since: datetime | None,
        page_size: int,
    ) -> Iterator[T]:
        """A changed-since read that cannot skip (see :func:`next_keyset`).

        Each record is yielded once per version: what a page boundary's second brings back
        is dropped by (id, UpdatedDateUTC); a record that changed while we read comes again,
        newer, and is yielded again. A second so full that it was read by page number is
        remembered; if one of its records comes back newer (it moved, and may have pulled a
        neighbour back past a page boundary), that second is read once more at the end.
        """
        at: Keyset | None = Keyset(since)
        boundary: set[tuple[str | None, datetime | None]] = set()
        numbered: dict[datetime, set[tuple[str | None, datetime | None]]] = {}
        numbered_ids: dict[str | None, datetime] = {}  # id -> its stamp when read by number
        moved: set[datetime] = set()
        while at is not None:
            items, info = self._page_of(make, decode, at, page_size)
            keys = [key(item) for item in items]
            for item, k in zip(items, keys, strict=True):
                stamp = numbered_ids.get(k[0])
                if stamp is not None and k[1] is not None and k[1] > stamp:
                    moved.add(_second(stamp))
                if k not in boundary:
                    if k[1] is not None and _second(k[1]) in numbered:
                        numbered[_second(k[1])].add(k)  # yielded: the re-read skips it
                    yield item
            last_page = info.page_count is not None and at.page >= info.page_count
            following = None if last_page else next_keyset(at, [k[1] for k in keys], page_size)
            if following is not None and following.since is not None and following.page > 1:
                second = _second(following.since)
                held = numbered.setdefault(second, set())
                for k in keys:
                    if k[1] is not None and _second(k[1]) == second:
                        held.add(k)
                        numbered_ids[k[0]] = k[1]
            at = following
            if at is not None and at.since is not None:
                boundary = {k for k in keys if k[1] is not None and k[1] >= at.since}
        for second in sorted(moved):
            yield from self._read_second(make, decode, key, second, numbered[second], page_size)

    def _read_second(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        key: Callable[[T], tuple[str | None, datetime | None]],
        second: datetime,
        seen: set[tuple[str | None, datetime | None]],
        page_size: int,
    ) -> Iterator[T]:
        """Every record still stamped in ``second`` that was not yielded yet."""
        at: Keyset | None = Keyset(second)
        while at is not None:
            items, _ = self._page_of(make, decode, at, page_size)
            stamps = []
            for item in items:
                k = key(item)
                stamps.append(k[1])
                if k[1] is not None and _second(k[1]) == second and k not in seen:
                    seen.add(k)
                    yield item
            if not items or stamps[-1] is None or _second(stamps[-1]) > second:
                return
            at = next_keyset(at, stamps, page_size)
            if at is not None and at.since != second:
                return

    def _page_of(
        self,
        make: Callable[..., Call],
        decode: Callable[..., tuple[list[T], Page]],
        at: Keyset,
        page_size: int,
    ) -> tuple[list[T], Page]:
        response = self._execute(make(modified_since=at.since, page=at.page, page_size=page_size))
        return decode(response.content, page=at.page)

    # --- invoices ---------------------------------------------------------------------------

    def create_invoices(
        self, payloads: Sequence[WireInvoice | Mapping[str, Any]], *, idempotency_key: str
    ) -> list[InvoiceResult]:
        """Create up to 50 invoices (``PUT /Invoices?summarizeErrors=false``).

        One bad invoice does not fail the others: each element gets its own
        :class:`InvoiceResult` (created invoice, or Xero's validation messages), matched to
        the request by InvoiceNumber, in request order.

        Args:
            payloads: Invoice elements: ``WireInvoice.of(invoice, tax_map)`` (encoded once,
                as the engine sends them) or dicts (``invoice_payload(...)``).
            idempotency_key: The key persisted for this batch (at most 128 characters).

        Raises:
            InvalidRequest: Empty batch, more than 50, a bad key (nothing sent).
            UncertainOutcome: The batch may or may not have been created.
            XeroValidationError: Xero refused the whole request (400).
        """
        call = create_invoices_call(payloads, idempotency_key=idempotency_key)
        items = list(payloads)
        return self._write(call, _numbers(items), functools.partial(decode_invoice_results, items))

    def update_invoice(
        self, invoice_id: str, payload: WireInvoice | Mapping[str, Any], *, idempotency_key: str
    ) -> InvoiceResult:
        """Update one invoice (``POST /Invoices/{InvoiceID}``): edits, void, delete.

        Send every line with its ``LineItemID``; lines left out are removed by Xero.

        Raises:
            InvalidRequest: Bad arguments (nothing sent).
            UncertainOutcome: The update may or may not have been applied.
            XeroValidationError: Xero refused the whole request (400).
        """
        call = update_invoice_call(invoice_id, payload, idempotency_key=idempotency_key)
        results = self._write(
            call, _numbers([payload]), functools.partial(decode_invoice_results, [payload])
        )
        return results[0]

    def update_invoices(
        self, payloads: Sequence[WireInvoice | Mapping[str, Any]], *, idempotency_key: str
    ) -> list[InvoiceResult]:
        """Update up to 50 existing invoices in one request (``POST /Invoices``).

        Each element must carry its ``InvoiceID`` (``wire.for_update(id)``, or the dict's key;
        checked before sending, so this can never create an invoice); each gets its own
        :class:`InvoiceResult`, in request order.

        Raises:
            InvalidRequest: Empty batch, more than 50, an element without InvoiceID, a bad key.
            UncertainOutcome: The updates may or may not have been applied.
            XeroValidationError: Xero refused the whole request (400).
        """
        call = update_invoices_call(payloads, idempotency_key=idempotency_key)
        items = list(payloads)
        return self._write(call, _numbers(items), functools.partial(decode_invoice_results, items))

    def get_invoice(self, invoice_id: str) -> XeroInvoice:
        """One invoice by InvoiceID, lines included (4-dp unit amounts).

        Raises:
            NotFound: No such invoice in this organisation.
        """
        invoices, _ = self._read(get_invoice_call(invoice_id), decode_invoices)
        if not invoices:
            raise NotFound(
                f"Xero has no invoice {invoice_id!r} in this organisation",
                status_code=200,
                tenant_id=self._tenant_id,
            )
        return invoices[0]

    def get_online_invoice_url(self, invoice_id: str) -> str:
        """The customer's online invoice (pay) link for an approved sales invoice
        (``GET /Invoices/{InvoiceID}/OnlineInvoice``).

        .. versionadded:: Unreleased

        Raises:
            XeroValidationError: Xero has no online invoice for it (a draft, say).
            NotFound: No such invoice in this organisation.
        """
        return self._read(online_invoice_call(invoice_id), decode_online_invoice)

    def email_invoice(self, invoice_id: str, *, idempotency_key: str) -> None:
        """Have Xero email the invoice to its contact (``POST /Invoices/{InvoiceID}/Email``),
        which also marks an approved invoice sent. Each call sends an email: keep a record so
        an invoice is not emailed twice.

        .. versionadded:: Unreleased

        Raises:
            XeroValidationError: Xero refused (not a sales invoice, a draft, a contact with no
                email address).
            UncertainOutcome: The email may or may not have been sent.
        """
        call = email_invoice_call(invoice_id, idempotency_key=idempotency_key)
        self._write(call, (), lambda _: None)

    def iter_invoices(
        self,
        *,
        ids: Iterable[str] = (),
        numbers: Iterable[str] = (),
        contact_ids: Iterable[str] = (),
        statuses: Iterable[str] = (),
        modified_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[XeroInvoice]:
        """Invoices matching every given filter, fetched a page at a time as you iterate.

        Arguments are checked now; the first request goes out on the first ``next()``.

        Args:
            ids: InvoiceIDs (``IDs=``).
            numbers: Invoice numbers (``InvoiceNumbers=``).
            contact_ids: ContactIDs (``ContactIDs=``).
            statuses: Statuses (``Statuses=``).
            modified_since: Only invoices changed since (``If-Modified-Since``); aware.
            page_size: Records per request, up to 1000.
        """
        make = functools.partial(
            invoices_call,
            ids=_listed(ids),
            numbers=_listed(numbers),
            contact_ids=_listed(contact_ids),
            statuses=_listed(statuses),
            modified_since=modified_since,
        )
        make(page=1, page_size=page_size)  # bad arguments fail here, before any request
        return self._pages(make, decode_invoices, page_size)

    def iter_changed_invoices(
        self, *, since: datetime | None, page_size: int = MAX_PAGE_SIZE, max_in_flight: int = 1
    ) -> Iterator[XeroInvoice]:
        """Sales invoices changed since ``since`` (all when ``None``), oldest change first.

        Read with ``order=UpdatedDateUTC ASC`` and keyset paging, so an invoice changing
        while the pages are read is never skipped (it comes again, newer); only ``ACCREC``
        invoices are asked for. Lazy: the first request goes out on the first ``next()``.
        With ``max_in_flight`` above 1 the pages are read by number, newest change first
        (``UpdatedDateUTC DESC``), pages 2..N side by side once page 1 says how many there
        are; page 1 is read once more if something changed meanwhile, and everything again
        by keyset if a record may have been skipped (see :mod:`bms_xero.xero._numbered`).
        Each version of a record still comes once, but newest pages first.
        """
        make = functools.partial(invoices_call, where=SALES_INVOICES, order=UPDATED_ASC)
        make(modified_since=since, page=1, page_size=page_size)  # bad arguments fail now
        return self._changed_pages(
            make,
            decode_invoices,
            lambda x: (x.invoice_id, x.updated_at),
            since,
            page_size,
            max_in_flight,
        )

    def get_invoices_by_number(self, numbers: Iterable[str]) -> list[XeroInvoice]:
        """The invoices with these numbers (those that exist), for reconciling a write.

        Numbers are looked up 40 at a time; a number with a comma in it (which Xero's list
        filter can't express) is looked up on its own with a ``where`` filter.
        """
        wanted = list(dict.fromkeys(_listed(numbers)))
        for number in wanted:
            if not isinstance(number, str) or not number.strip():
                raise InvalidRequest("every entry must be a non-empty string", argument="numbers")
        plain = [n for n in wanted if "," not in n]
        found: list[XeroInvoice] = []
        for start in range(0, len(plain), NUMBERS_PER_LOOKUP):
            chunk = plain[start : start + NUMBERS_PER_LOOKUP]
            found.extend(self.iter_invoices(numbers=chunk))
        for number in (n for n in wanted if "," in n):
            make = functools.partial(invoices_call, where=invoice_number_where(number))
            found.extend(self._pages(make, decode_invoices, MAX_PAGE_SIZE))
        return found

    # --- credit notes -----------------------------------------------------------------------

    def create_credit_notes(
        self, payloads: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[CreditNoteResult]:
        """Create up to 50 credit notes (``PUT /CreditNotes?summarizeErrors=false``).

        Each element gets its own :class:`CreditNoteResult`, matched to the request by
        CreditNoteNumber, in request order.

        Args:
            payloads: Credit note elements (``credit_note_payload(note, tax_map)``).
            idempotency_key: The key persisted for this batch (at most 128 characters).

        Raises:
            InvalidRequest: Empty batch, more than 50, an element with a CreditNoteID, a bad
                key (nothing sent).
            UncertainOutcome: The batch may or may not have been created.
            XeroValidationError: Xero refused the whole request (400).
        """
        call = create_credit_notes_call(payloads, idempotency_key=idempotency_key)
        items = list(payloads)
        return self._write(call, (), functools.partial(decode_credit_note_results, items))

    def get_credit_note(self, credit_note_id: str) -> XeroCreditNote:
        """One credit note by CreditNoteID, lines and allocations included.

        Raises:
            NotFound: No such credit note in this organisation.
        """
        notes, _ = self._read(get_credit_note_call(credit_note_id), decode_credit_notes)
        if not notes:
            raise NotFound(
                f"Xero has no credit note {credit_note_id!r} in this organisation",
                status_code=200,
                tenant_id=self._tenant_id,
            )
        return notes[0]

    def get_credit_notes_by_number(self, numbers: Iterable[str]) -> list[XeroCreditNote]:
        """The sales credit notes (``ACCRECCREDIT``) with these numbers, those that exist,
        for reconciling a write; 20 numbers per request."""
        wanted = list(dict.fromkeys(_listed(numbers)))
        for number in wanted:
            if not isinstance(number, str) or not number.strip():
                raise InvalidRequest("every entry must be a non-empty string", argument="numbers")
        found: list[XeroCreditNote] = []
        for start in range(0, len(wanted), CREDIT_NOTE_NUMBERS_PER_LOOKUP):
            chunk = wanted[start : start + CREDIT_NOTE_NUMBERS_PER_LOOKUP]
            make = functools.partial(credit_notes_call, where=credit_note_number_where(chunk))
            found.extend(
                note
                for note in self._pages(make, decode_credit_notes, MAX_PAGE_SIZE)
                if note.type == "ACCRECCREDIT"
            )
        return found

    def allocate_credit_note(
        self,
        credit_note_id: str,
        *,
        invoice_id: str,
        amount: Decimal,
        on: date,
        idempotency_key: str,
    ) -> CreditNoteAllocation:
        """Apply ``amount`` of a credit note to a Xero invoice
        (``PUT /CreditNotes/{CreditNoteID}/Allocations``).

        Raises:
            InvalidRequest: A bad amount or key (nothing sent).
            UncertainOutcome: The allocation may or may not have been made: read the credit
                note (:meth:`get_credit_note`) before allocating again.
            XeroValidationError: Xero refused it (more than the invoice owes, say).
        """
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise InvalidRequest("must be a positive Decimal", argument="amount")
        call = allocate_credit_note_call(
            credit_note_id,
            allocation_payload(_text_id(invoice_id, "invoice_id"), amount, on),
            idempotency_key=idempotency_key,
        )
        [allocation] = self._write(call, (), decode_allocations)
        return allocation

    # --- payments ---------------------------------------------------------------------------

    def iter_payments(
        self, *, modified_since: datetime | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[XeroPayment]:
        """Payments changed since ``modified_since`` (all when ``None``), fetched lazily."""
        make = functools.partial(payments_call, modified_since=modified_since)
        make(page=1, page_size=page_size)
        return self._pages(make, decode_payments, page_size)

    def iter_changed_payments(
        self, *, since: datetime | None, page_size: int = MAX_PAGE_SIZE, max_in_flight: int = 1
    ) -> Iterator[XeroPayment]:
        """Payments changed since ``since`` (all when ``None``), oldest change first, with
        keyset paging as :meth:`iter_changed_invoices` (a reversal is a change: its Status
        becomes DELETED); with ``max_in_flight`` above 1, read side by side as
        :meth:`iter_changed_invoices` is (newest pages first)."""
        make = functools.partial(payments_call, order=UPDATED_ASC)
        make(modified_since=since, page=1, page_size=page_size)
        return self._changed_pages(
            make,
            decode_payments,
            lambda p: (p.payment_id, p.updated_at),
            since,
            page_size,
            max_in_flight,
        )

    # --- contacts ---------------------------------------------------------------------------

    def get_contacts(
        self,
        *,
        ids: Iterable[str] = (),
        modified_since: datetime | None = None,
        page_size: int = MAX_PAGE_SIZE,
        include_archived: bool = False,
    ) -> list[XeroContact]:
        """Contacts (every page), optionally by ContactID or changed since a time.

        ``include_archived`` adds ARCHIVED contacts (merged ones among them, with their
        ``merged_to_contact_id``), which Xero leaves out otherwise, even when asked by id.
        """
        make = functools.partial(
            contacts_call,
            ids=_listed(ids),
            modified_since=modified_since,
            include_archived=include_archived,
        )
        make(page=1, page_size=page_size)
        return list(self._pages(make, decode_contacts, page_size))

    def find_contact_by_name(self, name: str, *, page_size: int = 100) -> XeroContact | None:
        """The active contact named ``name`` (compared as Xero keeps names unique: case and
        surrounding spaces aside), or ``None``.

        Xero's ``searchTerm`` (a case-insensitive search that also matches parts of names,
        ContactNumbers and email addresses) narrows the read; pages are read until the name
        itself is found.

        .. versionadded:: Unreleased
        """
        wanted = _text_id(name, "name").strip().casefold()
        make = functools.partial(contacts_call, search_term=name)
        make(page=1, page_size=page_size)
        for contact in self._pages(make, decode_contacts, page_size):
            if (contact.name or "").strip().casefold() == wanted:
                return contact
        return None

    def find_contact_by_number(self, contact_number: str) -> XeroContact | None:
        """The contact whose ContactNumber is ``contact_number``, or ``None``."""
        try:
            contacts, _ = self._read(contact_by_number_call(contact_number), decode_contacts)
        except NotFound:
            return None
        # The path also matches a ContactID; only a ContactNumber match counts.
        return next((c for c in contacts if c.contact_number == contact_number), None)

    def create_contacts(
        self, contacts: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[ContactResult]:
        """Create up to 50 contacts (``PUT /Contacts?summarizeErrors=false``).

        Raises:
            InvalidRequest: Bad arguments (nothing sent).
            UncertainOutcome: The contacts may or may not have been created.
        """
        call = create_contacts_call(contacts, idempotency_key=idempotency_key)
        items = list(contacts)
        return self._write(call, (), functools.partial(decode_contact_results, items))

    # --- settings ---------------------------------------------------------------------------

    def get_accounts(self) -> ChartOfAccounts:
        """The chart of accounts (archived accounts included)."""
        return self._read(accounts_call(), decode_accounts)

    def get_tax_rates(self) -> TaxRates:
        """The organisation's tax rates."""
        return self._read(tax_rates_call(), decode_tax_rates)

    def get_currencies(self) -> dict[str, str]:
        """The currencies invoices may use (the base currency and those enabled), each
        code with its description (``GET /Currencies``).

        .. versionadded:: Unreleased
        """
        return self._read(currencies_call(), decode_currencies)

    def get_organisation(self) -> Organisation:
        """The organisation (name, ShortCode for deep links, base currency)."""
        return self._read(organisation_call(), decode_organisation)

    def connections(self) -> list[Connection]:
        """The organisations this token may act on (``GET /connections``)."""
        return self._read(connections_call(self._connections_url), decode_connections)

    def disconnect(self, connection_id: str) -> bool:
        """Remove the app's connection to one organisation (``DELETE /connections/{id}``).

        Args:
            connection_id: The :attr:`Connection.id` (not the tenant id) from
                :meth:`connections`.

        Returns:
            ``True`` when Xero removed it, ``False`` when this token has no such connection
            (already removed).

        .. versionadded:: Unreleased
        """
        try:
            self._execute(disconnect_call(connection_id, self._connections_url))
        except NotFound:
            return False
        return True
