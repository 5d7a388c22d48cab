"""FakeXero: an in-memory Xero that enforces Xero's rules, served at the HTTP level."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import attrs
import httpx

from bms_xero.clock import Clock, FakeClock
from bms_xero.errors import ConfigurationError, NotFound, XeroValidationError, XeroValidationMessage
from bms_xero.testing._api import (
    FakeRequest,
    Reply,
    accounting,
    error_reply,
    json_reply,
    problem_reply,
    text_reply,
)
from bms_xero.testing._consent import AUTHORIZE_PATH, ConsentPolicy, consent
from bms_xero.testing._faults import (
    AnswerHook,
    FaultKind,
    FaultPlan,
    HookPlan,
    RandomFaults,
    ScheduledFault,
)
from bms_xero.testing._ids import Ids
from bms_xero.testing._limits import (
    IdempotencyStore,
    Limits,
    TenantLimits,
    Window,
    fingerprint,
)
from bms_xero.testing._model import (
    ACCOUNT_CLASSES,
    Org,
    SentEmail,
    StoredAccount,
    StoredContact,
    StoredCredit,
    StoredCreditNote,
    StoredInvoice,
    StoredTaxRate,
)
from bms_xero.testing._oauth import Identity, scope_allows
from bms_xero.testing._query import normal_guid
from bms_xero.testing._receivables import (
    CURRENCY_NAMES,
    add_system_accounts,
    archive_contact,
    enable_currency,
    merge_contacts,
    render_note,
)
from bms_xero.testing._render import (
    render_batch_payment,
    render_contact,
    render_credit,
    render_credit_note,
    render_invoice,
    render_payment,
)
from bms_xero.testing._rules import (
    Ctx,
    Outcome,
    add_credit,
    add_credit_note,
    allocate_credit,
    batch_pay_invoices,
    delete_allocation,
    delete_batch_payment,
    delete_payment,
    find_credit_note,
    find_invoice,
    pay_invoice,
    update_credit_note,
    update_invoice,
)
from bms_xero.transport import _httpx_library

if TYPE_CHECKING:
    import httpx2  # type: ignore[import-not-found, unused-ignore]  # optional

    from bms_xero.xero import XeroClient

__all__ = ["FakeTransport", "FakeXero", "InFlightRequest", "NetworkFault", "RecordedRequest"]

API_PREFIX = "/api.xro/2.0"
API_HOST = "api.xero.com"
IDENTITY_HOST = "identity.xero.com"
LOGIN_HOST = "login.xero.com"
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})
_REDACTED = "[redacted]"
ClockT = TypeVar("ClockT", bound=Clock)
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the fake received, for tests that count or inspect calls.

    Attributes:
        method: HTTP method.
        path: Path within its API: ``/Invoices``, ``/Invoices/{id}`` for the accounting API,
            ``/connect/token`` for identity, ``/connections`` for connections.
        query: Query parameters as sent (the last value of a repeated name wins).
        status: The status the fake answered with; ``None`` when a fault raised before any
            answer was made. For after-commit faults, the status the caller never saw.
        headers: Request headers (lower-case names); ``Authorization`` is redacted.
        tenant_id: The ``xero-tenant-id`` header, if sent.
        at: The clock's time when the request arrived.
        api: ``"accounting"``, ``"identity"`` or ``"connections"`` (``"unknown"`` otherwise).
        fault: The injected fault that hit it, if any.
        idempotency_key: The ``Idempotency-Key`` header of a write, if sent.
        replayed: Whether the answer was replayed for a repeated idempotency key.
        response_headers: The headers of the answer, lower-case names (empty when none was
            made).
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    headers: dict[str, str] = attrs.field(repr=False)
    tenant_id: str | None
    at: datetime
    api: str
    fault: FaultKind | None = None
    idempotency_key: str | None = None
    replayed: bool = False
    response_headers: dict[str, str] = attrs.field(factory=dict, repr=False)


@attrs.frozen(kw_only=True)
class InFlightRequest:
    """What the in-flight hook is told about a request while it counts as in flight.

    Attributes:
        method: HTTP method.
        path: Path within the accounting API, e.g. ``/Invoices``.
        tenant_id: The organisation.
    """

    method: str
    path: str
    tenant_id: str


class NetworkFault(Exception):
    """Raised inside the fake when an injected fault means "no response at all"."""

    def __init__(self, kind: FaultKind) -> None:
        super().__init__(kind.value)
        self.kind = kind

    @overload
    def to_httpx(self, request: httpx.Request) -> httpx.TransportError: ...

    @overload
    def to_httpx(self, request: httpx2.Request) -> httpx2.TransportError: ...

    def to_httpx(
        self, request: httpx.Request | httpx2.Request
    ) -> httpx.TransportError | httpx2.TransportError:
        """The exception a real network would raise for this fault, from the request's library
        (httpx, or httpx2 for an ``httpx2.Request``)."""
        library = _httpx_library(request, "Request") or httpx
        error: httpx.TransportError | httpx2.TransportError
        if self.kind is FaultKind.CONNECT_TIMEOUT:
            error = library.ConnectTimeout("timed out connecting to Xero", request=request)
        elif self.kind is FaultKind.CONNECTION_RESET:
            error = library.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        else:
            error = library.ReadTimeout("The read operation timed out", request=request)
        return error


class FakeTransport(httpx.BaseTransport):
    """The transport that serves ``api.xero.com``, ``identity.xero.com`` and the consent step
    on ``login.xero.com`` from a fake.

    One object for httpx and for httpx2 (httpx's successor, which Starlette's TestClient
    uses): pass it as ``httpx.Client(transport=...)`` or ``httpx2.Client(transport=...)``.
    Each request is answered with its own library's response, and injected network faults
    raise that library's exceptions. Other hosts raise ``ConnectError``. Thread-safe: the
    fake locks its state.
    """

    def __init__(self, fake: FakeXero[Any]) -> None:
        self._fake = fake

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...

    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...

    def handle_request(
        self, request: httpx.Request | httpx2.Request
    ) -> httpx.Response | httpx2.Response:
        """Serve one request (or raise the network error an injected fault calls for)."""
        library = _httpx_library(request, "Request")
        if library is None:
            raise TypeError(
                f"FakeTransport serves httpx and httpx2 requests, not {type(request).__name__}"
            )
        host = request.url.host
        if host not in (API_HOST, IDENTITY_HOST, LOGIN_HOST):
            raise library.ConnectError(
                f"FakeXero serves only {API_HOST}, {IDENTITY_HOST} and {LOGIN_HOST}, not {host}",
                request=request,
            )
        call = FakeRequest(
            method=request.method.upper(),
            path=request.url.path,
            query={k.casefold(): v for k, v in request.url.params.multi_items()},
            raw_query=request.url.query.decode(),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=request.read(),
        )
        try:
            reply = self._fake.handle(call, host=host)
        except NetworkFault as fault:
            raise fault.to_httpx(request) from None
        response: httpx.Response | httpx2.Response = library.Response(
            reply.status, headers=list(reply.headers), content=reply.body, request=request
        )
        return response

    def __repr__(self) -> str:
        return f"FakeTransport({self._fake!r})"


def _positive(name: str, value: float, *, whole: bool = True) -> None:
    ok_type = int if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, ok_type) or value <= 0:
        kind = "a positive whole number" if whole else "a positive number of seconds"
        raise ConfigurationError(f"{name} must be {kind}, not {value!r}")


def _money(name: str, value: Any) -> Decimal:
    if isinstance(value, bool | float) or not isinstance(value, Decimal | int | str):
        raise ConfigurationError(
            f"{name} must be a Decimal (or int or decimal string), not {value!r}; floats lose cents"
        )
    try:
        result = Decimal(value)
    except ArithmeticError:
        raise ConfigurationError(f"{name} {value!r} is not a decimal number") from None
    if not result.is_finite():
        raise ConfigurationError(f"{name} must be finite, not {value!r}")
    return result


def _day(on: Any) -> date | None:
    if on is not None and (isinstance(on, datetime) or not isinstance(on, date)):
        raise ConfigurationError(f"on must be a datetime.date, not {on!r}")
    return on


def _text(name: str, value: Any, max_len: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} must be a non-empty string, not {value!r}")
    if len(value) > max_len:
        raise ConfigurationError(f"{name} must be at most {max_len} characters")
    return value


def _found(record: T | None, what: str, tenant_id: str | None) -> T:
    """``record``; or, when the organisation has no such record, the NotFound a helper
    raises (``what`` names the record)."""
    if record is None:
        raise NotFound(f"FakeXero has no {what}", status_code=404, tenant_id=tenant_id)
    return record


def _refused(outcome: Outcome, tenant_id: str) -> XeroValidationError:
    return XeroValidationError(
        [XeroValidationMessage(m) for m in outcome.messages], status_code=None, tenant_id=tenant_id
    )


class FakeXero(Generic[ClockT]):
    """An in-memory Xero for tests: Xero's rules, shapes, limits and failures, over HTTP.

    Talk to it through :attr:`transport` (an httpx transport for ``api.xero.com`` and
    ``identity.xero.com``), through :meth:`client`, or over loopback with
    :func:`bms_xero.testing.serve`. Set up data and inspect it with the helper methods, which
    apply the same rules as the API. Thread-safe.

    Args:
        clock: The time; defaults to a :class:`~bms_xero.clock.FakeClock` that tests advance.
        seed: Seed for every id, token and credential (``None``: random).
        organisation_name: The default organisation's name.
        short_code: Its ShortCode (generated when ``None``).
        base_currency: Its base currency.
        minute_limit: Calls per tenant per minute.
        day_limit: Calls per tenant per day.
        concurrent_limit: Calls per tenant in flight at once.
        app_minute_limit: Calls per minute across all tenants.
        token_lifetime: Seconds an access token lasts.
        refresh_grace: Seconds a used refresh token keeps working (Xero: 30 minutes, for an
            answer that was lost). ``0`` is strict rotation: a refresh token works once and
            is refused (``invalid_grant``) at once after that, as when two refreshers share
            one token set.
        idempotency_ttl: Seconds an ``Idempotency-Key`` is remembered.
        slow_seconds: How far a ``slow`` fault moves the clock unless told otherwise.
        in_flight_hook: Called (outside the fake's lock) for each accounting call while it
            counts as in flight; tests use it to hold requests open.
        payments_bump_invoices: Whether a payment (or its reversal) bumps its invoice's
            UpdatedDateUTC. Xero's behaviour is unconfirmed; ``False`` is the harder case
            for a client: the change then shows only in ``GET /Payments``.
        enforce_scopes: Refuse an accounting call whose token lacks its granular scope
            (``401 AuthorizationUnsuccessful``, as Xero does); the legacy
            ``accounting.transactions`` still covers invoices and payments.
    """

    @overload
    def __init__(
        self: FakeXero[FakeClock],
        clock: None = None,
        seed: int | str | None = None,
        *,
        organisation_name: str = ...,
        short_code: str | None = ...,
        base_currency: str = ...,
        minute_limit: int = ...,
        day_limit: int = ...,
        concurrent_limit: int = ...,
        app_minute_limit: int = ...,
        token_lifetime: float = ...,
        refresh_grace: float = ...,
        idempotency_ttl: float = ...,
        slow_seconds: float = ...,
        in_flight_hook: Callable[[InFlightRequest], None] | None = ...,
        payments_bump_invoices: bool = ...,
        enforce_scopes: bool = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        clock: ClockT,
        seed: int | str | None = None,
        *,
        organisation_name: str = ...,
        short_code: str | None = ...,
        base_currency: str = ...,
        minute_limit: int = ...,
        day_limit: int = ...,
        concurrent_limit: int = ...,
        app_minute_limit: int = ...,
        token_lifetime: float = ...,
        refresh_grace: float = ...,
        idempotency_ttl: float = ...,
        slow_seconds: float = ...,
        in_flight_hook: Callable[[InFlightRequest], None] | None = ...,
        payments_bump_invoices: bool = ...,
        enforce_scopes: bool = ...,
    ) -> None: ...

    def __init__(
        self,
        clock: ClockT | None = None,
        seed: int | str | None = None,
        *,
        organisation_name: str = "Demo Company (NZ)",
        short_code: str | None = None,
        base_currency: str = "NZD",
        minute_limit: int = 60,
        day_limit: int = 5000,
        concurrent_limit: int = 5,
        app_minute_limit: int = 10_000,
        token_lifetime: float = 1800,
        refresh_grace: float = 1800,
        idempotency_ttl: float = 360,
        slow_seconds: float = 65,
        in_flight_hook: Callable[[InFlightRequest], None] | None = None,
        payments_bump_invoices: bool = True,
        enforce_scopes: bool = True,
    ) -> None:
        for name, value in (
            ("minute_limit", minute_limit),
            ("day_limit", day_limit),
            ("concurrent_limit", concurrent_limit),
            ("app_minute_limit", app_minute_limit),
        ):
            _positive(name, value)
        if isinstance(refresh_grace, bool) or refresh_grace != 0:  # 0: strict rotation
            _positive("refresh_grace", refresh_grace, whole=False)
        for name, seconds in (
            ("token_lifetime", token_lifetime),
            ("idempotency_ttl", idempotency_ttl),
            ("slow_seconds", slow_seconds),
        ):
            _positive(name, seconds, whole=False)
        if clock is not None and not isinstance(clock, Clock):
            raise ConfigurationError(f"clock must be a bms_xero.clock.Clock, not {clock!r}")
        self.clock: ClockT = clock if clock is not None else FakeClock()  # type: ignore[assignment]
        self._lock = threading.RLock()
        self._ids = Ids(seed)
        self._limits = Limits(
            minute=minute_limit,
            day=day_limit,
            concurrent=concurrent_limit,
            app_minute=app_minute_limit,
        )
        self._app_window = Window(app_minute_limit, 60.0)
        self._idempotency = IdempotencyStore(idempotency_ttl)
        self._faults = FaultPlan()
        self._hooks = HookPlan()
        self._slow_seconds = float(slow_seconds)
        self._payments_bump = bool(payments_bump_invoices)
        self._enforce_scopes = bool(enforce_scopes)
        self._consent = ConsentPolicy()
        self._identity = Identity(
            clock=self.clock,
            ids=self._ids,
            token_lifetime=token_lifetime,
            refresh_grace=refresh_grace,
        )
        self._orgs: dict[str, Org] = {}
        self._tenant_limits: dict[str, TenantLimits] = {}
        self._log: list[RecordedRequest] = []
        self.in_flight_hook = in_flight_hook
        self.transport: httpx.BaseTransport = FakeTransport(self)
        self.tenant_id: str = self.add_tenant(
            name=organisation_name, short_code=short_code, base_currency=base_currency
        )

    def __repr__(self) -> str:
        return f"FakeXero(tenants={len(self._orgs)}, clock={self.clock!r})"

    # --- credentials and tenants ----------------------------------------------------------

    @property
    def client_id(self) -> str:
        """The fake app's client id (for the custom-connection grant)."""
        return self._identity.client_id

    @property
    def client_secret(self) -> str:
        """The fake app's client secret (fake; safe to print)."""
        return self._identity.client_secret

    @property
    def pkce_client_id(self) -> str:
        """The client id of the fake's PKCE app: a public client with no secret, which must
        send a PKCE challenge (``code_challenge``, S256) when it asks for consent.

        .. versionadded:: Unreleased
        """
        return self._identity.pkce_client_id

    def set_consent(self, tenant_ids: Iterable[str] | None = None, *, approve: bool = True) -> None:
        """What the consent step (``GET /identity/connect/authorize``) does for an HTTP client
        from now on: approve for ``tenant_ids`` (default: every organisation in the fake), or
        decline (``approve=False``: the redirect carries ``error=access_denied``).

        .. versionadded:: Unreleased
        """
        with self._lock:
            chosen = None if tenant_ids is None else tuple(tenant_ids)
            for tenant_id in chosen or ():
                self._org(tenant_id)
            self._consent = ConsentPolicy(tenant_ids=chosen, approve=bool(approve))

    @property
    def connected_tenant_ids(self) -> list[str]:
        """The organisations the app is connected to now (what ``/connections`` can list).

        .. versionadded:: Unreleased
        """
        with self._lock:
            return list(self._identity.connections)

    @property
    def tenant_ids(self) -> list[str]:
        """Every organisation in the fake, the default one first."""
        with self._lock:
            return list(self._orgs)

    def add_tenant(
        self,
        name: str,
        short_code: str | None = None,
        base_currency: str = "NZD",
        *,
        connect: bool = True,
    ) -> str:
        """Add an organisation; returns its tenant id.

        Args:
            name: Organisation name.
            short_code: ShortCode for deep links (generated when ``None``).
            base_currency: Three-letter base currency.
            connect: Connect the app to it (custom-connection tokens then cover it).

        Like every Xero organisation it has a Rounding system account (code ``860``,
        ``SystemAccount: ROUNDING``), and its base currency is the only one invoices may use
        until :meth:`add_currency` enables another.
        """
        _text("name", name, 255)
        if not (
            isinstance(base_currency, str) and len(base_currency) == 3 and base_currency.isupper()
        ):
            raise ConfigurationError(
                f"base_currency must be a code such as 'NZD', not {base_currency!r}"
            )
        with self._lock:
            org = Org(
                tenant_id=self._ids.guid(),
                organisation_id=self._ids.guid(),
                name=name,
                short_code=short_code or self._ids.short_code(),
                base_currency=base_currency,
                created_at=self.clock.now(),
                payments_bump_invoices=self._payments_bump,
            )
            self._orgs[org.tenant_id] = org
            add_system_accounts(org)
            self._tenant_limits[org.tenant_id] = TenantLimits.of(self._limits)
            if connect:
                self._identity.connect(org.tenant_id)
            return org.tenant_id

    def disconnect(self, tenant_id: str) -> None:
        """Disconnect the app from an organisation: its calls then get 403."""
        with self._lock:
            self._org(tenant_id)
            self._identity.disconnect(tenant_id)

    def authorize(self, tenant_ids: Iterable[str] | None = None, scope: str | None = None) -> str:
        """An authorization code for the ``authorization_code`` grant.

        Args:
            tenant_ids: The organisations the user picks (default: every connected one).
            scope: The scope granted (default: the SDK's scopes plus ``offline_access``).
        """
        with self._lock:
            chosen = list(self._identity.connections) if tenant_ids is None else list(tenant_ids)
            for tenant_id in chosen:
                self._org(tenant_id)
            return self._identity.authorize(chosen, scope)

    def client(self, tenant_id: str | None = None, **kwargs: Any) -> XeroClient:
        """A real :class:`~bms_xero.xero.XeroClient` wired to this fake (custom connection)."""
        from bms_xero.xero import XeroClient

        return XeroClient.from_client_credentials(  # type: ignore[no-any-return, unused-ignore]
            self.client_id,
            self.client_secret,
            http_client=httpx.Client(transport=self.transport),
            tenant_id=tenant_id or self.tenant_id,
            clock=self.clock,
            **kwargs,
        )

    # --- reference data and contacts ----------------------------------------------------------

    def _org(self, tenant_id: str | None) -> Org:
        org = self._orgs.get(tenant_id or self.tenant_id)
        if org is None:
            raise ConfigurationError(f"FakeXero has no organisation with tenant id {tenant_id!r}")
        return org

    def add_account(
        self,
        code: str,
        name: str,
        type: str = "REVENUE",
        status: str = "ACTIVE",
        tenant_id: str | None = None,
        system_account: str | None = None,
        tax_type: str | None = None,
    ) -> str:
        """Add (or replace) an account in the chart of accounts; returns its AccountID.

        Args:
            code: Account code (at most 10 characters).
            name: Account name.
            type: Xero account type (``REVENUE``, ``SALES``, ``BANK``, ``EXPENSE``, ...).
            status: ``ACTIVE`` or ``ARCHIVED``.
            tenant_id: The organisation (default: the default one).
            system_account: e.g. ``ROUNDING``.
            tax_type: The account's default TaxType, used for lines that send none.
        """
        _text("code", code, 10)
        _text("name", name, 150)
        if type not in ACCOUNT_CLASSES:
            raise ConfigurationError(
                f"type {type!r} is not a Xero account type; use one of {', '.join(ACCOUNT_CLASSES)}"
            )
        if status not in ("ACTIVE", "ARCHIVED", "DELETED"):
            raise ConfigurationError(f"status must be ACTIVE, ARCHIVED or DELETED, not {status!r}")
        with self._lock:
            org = self._org(tenant_id)
            existing = org.accounts.get(code)
            account = StoredAccount(
                account_id=existing.account_id if existing else self._ids.guid(),
                code=code,
                name=name,
                type=type,
                status=status,
                tax_type=tax_type,
                system_account=system_account,
                updated_at=org.touch(self.clock.now()),
            )
            org.accounts[code] = account
            return account.account_id

    def archive_account(self, code: str, tenant_id: str | None = None) -> None:
        """Archive an account: lines can no longer use it."""
        with self._lock:
            org = self._org(tenant_id)
            account = org.accounts.get(code)
            if account is None:
                raise ConfigurationError(f"no account with code {code!r} to archive")
            account.status = "ARCHIVED"
            account.updated_at = org.touch(self.clock.now())

    def add_tax_rate(
        self,
        tax_type: str,
        name: str,
        rate: Decimal | int | str,
        status: str = "ACTIVE",
        can_apply_to_revenue: bool = True,
        tenant_id: str | None = None,
    ) -> None:
        """Add (or replace) a tax rate.

        Args:
            tax_type: The code lines send as TaxType (e.g. ``OUTPUT2``).
            name: Display name.
            rate: Percentage, e.g. ``Decimal("15")``.
            status: ``ACTIVE``, ``DELETED``, ``ARCHIVED`` or ``PENDING``.
            can_apply_to_revenue: Whether sales lines may use it.
            tenant_id: The organisation.
        """
        _text("tax_type", tax_type, 50)
        _text("name", name, 255)
        percent = _money("rate", rate)
        if percent < 0:
            raise ConfigurationError(f"rate must not be negative, not {rate!r}")
        if status not in ("ACTIVE", "DELETED", "ARCHIVED", "PENDING"):
            raise ConfigurationError(f"status {status!r} is not a tax rate status")
        with self._lock:
            self._org(tenant_id).tax_rates[tax_type] = StoredTaxRate(
                tax_type=tax_type,
                name=name,
                rate=percent,
                status=status,
                can_apply_to_revenue=bool(can_apply_to_revenue),
            )

    def add_contact(
        self,
        name: str,
        contact_number: str | None = None,
        tenant_id: str | None = None,
        *,
        email: str | None = None,
    ) -> str:
        """Add a contact; returns its ContactID. Names are unique, as in Xero."""
        _text("name", name, 255)
        if contact_number is not None:
            _text("contact_number", contact_number, 50)
        with self._lock:
            org = self._org(tenant_id)
            if name.strip().casefold() in org.contacts_by_name:
                raise ConfigurationError(f"a contact named {name!r} already exists")
            contact = StoredContact(
                contact_id=self._ids.guid(),
                name=name.strip(),
                contact_number=contact_number,
                email=email,
                first_name=None,
                last_name=None,
                status="ACTIVE",
                updated_at=org.touch(self.clock.now()),
            )
            org.store_contact(contact)
            return contact.contact_id

    def _contact(self, org: Org, contact_id: str) -> StoredContact:
        return _found(
            org.contacts.get(normal_guid(contact_id)),
            f"contact {contact_id!r} in organisation {org.tenant_id}",
            org.tenant_id,
        )

    def archive_contact(self, contact_id: str, tenant_id: str | None = None) -> None:
        """Archive a contact (ContactStatus ARCHIVED), as a person does in Xero.

        Its invoices stay as they are (they can still be paid or voided), but Xero refuses new
        invoices for it, or approving its drafts, with "The contact with the specified contact
        details has been archived. ...". ``GET /Contacts`` leaves it out unless
        ``includeArchived=true``, and its name may be given to a new contact. Archiving an
        archived contact changes nothing.

        Raises:
            NotFound: No such contact.
        """
        with self._lock:
            org = self._org(tenant_id)
            outcome = archive_contact(org, self._contact(org, contact_id), self._ctx())
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)

    def merge_contacts(
        self, from_contact_id: str, into_contact_id: str, tenant_id: str | None = None
    ) -> None:
        """Merge one contact into another, as a person does in Xero (there is no API for it).

        The merged contact becomes ARCHIVED with ``MergedToContactID`` naming the one kept
        (shown by ``GET /Contacts/{ContactID}``, ``GET /Contacts/{ContactNumber}`` and paged
        ``GET /Contacts``, as Xero's spec says), and its invoices, prepayments and
        overpayments move to the kept contact, each with a new UpdatedDateUTC. New invoices
        naming the merged contact are refused as for any archived contact. Credit notes are
        not moved.

        Args:
            from_contact_id: The contact merged away (it must be ACTIVE).
            into_contact_id: The contact kept (it must be ACTIVE).
            tenant_id: The organisation.

        Raises:
            NotFound: Either contact does not exist.
            ConfigurationError: The same contact twice, or one that is not ACTIVE (Xero's
                merge offers active contacts only).
        """
        with self._lock:
            org = self._org(tenant_id)
            source = self._contact(org, from_contact_id)
            target = self._contact(org, into_contact_id)
            if source is target:
                raise ConfigurationError("a contact cannot be merged into itself")
            for role, contact in (("from", source), ("into", target)):
                if contact.status != "ACTIVE":
                    raise ConfigurationError(
                        f"{role}_contact_id {contact.contact_id!r} ({contact.name}) is "
                        f"{contact.status}; only active contacts can be merged"
                    )
            merge_contacts(org, source, target, self._ctx())

    def add_currency(
        self, code: str, description: str | None = None, tenant_id: str | None = None
    ) -> None:
        """Enable a currency, as turning it on in Xero's currency settings does: invoices may
        then use it, and ``GET /Currencies`` lists it after the base currency. Invoices in a
        currency that is not enabled are refused with Xero's "Organisation is not subscribed
        to currency EUR".

        Args:
            code: Three-letter code, e.g. ``"USD"``.
            description: Its name in ``GET /Currencies`` (default: the usual English name of
                a common currency; required for others).
            tenant_id: The organisation.
        """
        if not (
            isinstance(code, str)
            and len(code) == 3
            and code.isascii()
            and code.isalpha()
            and code.isupper()
        ):
            raise ConfigurationError(f"code must be a currency code such as 'USD', not {code!r}")
        name = description if description is not None else CURRENCY_NAMES.get(code)
        if name is None:
            raise ConfigurationError(
                f"FakeXero does not know the name of {code}; pass description=, e.g. 'Thai Baht'"
            )
        _text("description", name, 255)
        with self._lock:
            enable_currency(self._org(tenant_id), code, name)

    # --- payments, credits, voids ----------------------------------------------------------------

    def _ctx(self) -> Ctx:
        return Ctx(ids=self._ids, now=self.clock.now(), unitdp=4)

    def _invoice(self, org: Org, invoice_id: str) -> StoredInvoice:
        return _found(
            find_invoice(org, invoice_id),
            f"invoice {invoice_id!r} in organisation {org.tenant_id}",
            org.tenant_id,
        )

    def pay(
        self,
        invoice_id: str,
        amount: Decimal | int | str,
        on: date | None = None,
        tenant_id: str | None = None,
        *,
        reference: str | None = None,
        account_code: str | None = None,
    ) -> str:
        """Pay (part of) an invoice, as someone recording a payment in Xero; returns PaymentID.

        Args:
            invoice_id: The InvoiceID (or a sales invoice's number).
            amount: The amount paid (Decimal; at most the amount due).
            on: Payment date (default: the clock's date).
            tenant_id: The organisation.
            reference: Payment reference.
            account_code: The bank account paid into (optional here; required over HTTP).

        Raises:
            NotFound: No such invoice.
            XeroValidationError: Xero would refuse it (not AUTHORISED, more than the amount due).
        """
        paid = _money("amount", amount)
        _day(on)
        with self._lock:
            org = self._org(tenant_id)
            invoice = self._invoice(org, invoice_id)
            element: dict[str, Any] = {
                "Invoice": {"InvoiceID": invoice.invoice_id},
                "Amount": paid,
                "Reference": reference,
            }
            if on is not None:
                element["Date"] = on
            if account_code is not None:
                element["Account"] = {"Code": account_code}
            outcome = pay_invoice(org, element, self._ctx(), require_account=False)
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)
            return str(outcome.record.payment_id)

    def batch_pay(
        self,
        payments: Iterable[tuple[str, Decimal | int | str]],
        on: date | None = None,
        tenant_id: str | None = None,
        *,
        reference: str | None = None,
        account_code: str | None = None,
    ) -> str:
        """Pay several invoices as one batch payment, as a person would in Xero; returns the
        BatchPaymentID.

        A batch is one deposit on the bank statement that settles several invoices, and a
        client sees it as one Payment per invoice, each naming the batch (``BatchPaymentID``,
        ``BatchPayment``). All or nothing: every payment is checked with :meth:`pay`'s rules
        (payments to the same invoice add up) before any is stored.

        Args:
            payments: ``(invoice_id, amount)`` pairs; an invoice may be named by number.
            on: The batch's date, shared by its payments (default: the clock's date).
            tenant_id: The organisation.
            reference: The batch's reference (its payments' own references stay empty).
            account_code: The bank account paid into.

        Raises:
            NotFound: An invoice does not exist.
            XeroValidationError: Xero would refuse a payment; nothing was stored.
        """
        pairs = [(invoice_id, _money("amount", amount)) for invoice_id, amount in payments]
        _day(on)
        with self._lock:
            org = self._org(tenant_id)
            ctx = self._ctx()
            elements = [
                {"Invoice": {"InvoiceID": self._invoice(org, ref).invoice_id}, "Amount": paid}
                for ref, paid in pairs
            ]
            outcome = batch_pay_invoices(
                org,
                elements,
                ctx,
                on=on or ctx.today,
                reference=reference,
                account_code=account_code,
            )
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)
            return str(outcome.record.batch_payment_id)

    def delete_batch_payment(self, batch_payment_id: str, tenant_id: str | None = None) -> None:
        """Reverse a batch payment: each of its payments becomes DELETED, every invoice is due
        again, and the batch's Status is DELETED.

        Raises:
            NotFound: No such batch payment.
            XeroValidationError: It was already deleted.
        """
        self._set_status(
            tenant_id,
            lambda org: _found(
                org.batch_payments.get(batch_payment_id),
                f"batch payment {batch_payment_id!r}",
                None,
            ),
            delete_batch_payment,
            "DELETED",
        )

    def prepay(
        self,
        contact_id: str,
        amount: Decimal | int | str,
        on: date | None = None,
        tenant_id: str | None = None,
        *,
        reference: str | None = None,
    ) -> str:
        """Receive a prepayment from a contact (a RECEIVE-PREPAYMENT); returns its PrepaymentID.

        Money paid before it was invoiced: it settles nothing until :meth:`allocate` applies
        it to an invoice, and then shows on that invoice under ``Prepayments`` and in its
        ``AmountCredited``, not under ``Payments``: a client that reads only payments misses it.

        Args:
            contact_id: The ContactID of the customer who paid.
            amount: How much (Decimal); all of it is RemainingCredit to begin with.
            on: The prepayment's date (default: the clock's date).
            tenant_id: The organisation.
            reference: Its Reference (for a prepayment Xero shows it as the InvoiceNumber too).

        Raises:
            NotFound: No such contact.
            XeroValidationError: The amount is not positive.
        """
        return self._add_credit("Prepayment", contact_id, amount, on, tenant_id, reference)

    def overpay(
        self,
        contact_id: str,
        amount: Decimal | int | str,
        on: date | None = None,
        tenant_id: str | None = None,
        *,
        reference: str | None = None,
    ) -> str:
        """Receive an overpayment from a contact (a RECEIVE-OVERPAYMENT); returns its
        OverpaymentID.

        Money paid beyond what was owed; like a prepayment it settles invoices only once
        :meth:`allocate` applies it, and shows there under ``Overpayments``. Arguments and
        errors as for :meth:`prepay`.
        """
        return self._add_credit("Overpayment", contact_id, amount, on, tenant_id, reference)

    def _add_credit(
        self,
        kind: str,
        contact_id: str,
        amount: Decimal | int | str,
        on: date | None,
        tenant_id: str | None,
        reference: str | None,
    ) -> str:
        received = _money("amount", amount)
        _day(on)
        with self._lock:
            org = self._org(tenant_id)
            _found(
                org.contacts.get(contact_id),
                f"contact {contact_id!r} in organisation {org.tenant_id}",
                org.tenant_id,
            )
            ctx = self._ctx()
            outcome = add_credit(
                org, kind, contact_id, received, on or ctx.today, ctx, reference=reference
            )
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)
            return str(outcome.record.credit_id)

    def _credit(self, org: Org, credit_id: str) -> StoredCredit:
        return _found(
            org.credit(credit_id), f"prepayment or overpayment {credit_id!r}", org.tenant_id
        )

    def allocate(
        self,
        credit_id: str,
        invoice_id: str,
        amount: Decimal | int | str,
        on: date | None = None,
        tenant_id: str | None = None,
    ) -> str:
        """Apply part of a prepayment or overpayment to an invoice; returns the AllocationID.

        As ``PUT /Prepayments/{id}/Allocations`` does: the invoice must be an AUTHORISED
        sales invoice of the same contact, and the amount at most both its AmountDue and the
        credit's RemainingCredit. The invoice's AmountCredited grows (it becomes PAID, with
        FullyPaidOnDate ``on``, when nothing is left due); the credit's RemainingCredit falls
        (it becomes PAID when nothing is left). Both move their UpdatedDateUTC.

        Args:
            credit_id: A PrepaymentID or OverpaymentID.
            invoice_id: The InvoiceID (or a sales invoice's number).
            amount: How much to apply.
            on: The allocation's date (default: the clock's date).
            tenant_id: The organisation.

        Raises:
            NotFound: No such credit or invoice.
            XeroValidationError: Xero would refuse it; nothing changed.
        """
        applied = _money("amount", amount)
        _day(on)
        with self._lock:
            org = self._org(tenant_id)
            credit = self._credit(org, credit_id)
            invoice = self._invoice(org, invoice_id)
            element: dict[str, Any] = {
                "Invoice": {"InvoiceID": invoice.invoice_id},
                "Amount": applied,
            }
            if on is not None:
                element["Date"] = on
            outcome = allocate_credit(org, credit, element, self._ctx())
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)
            return str(outcome.record.allocation_id)

    def delete_allocation(
        self, credit_id: str, allocation_id: str, tenant_id: str | None = None
    ) -> None:
        """Take back one allocation of a prepayment or overpayment, as
        ``DELETE /Prepayments/{id}/Allocations/{AllocationID}`` does.

        The invoice's AmountCredited falls back (a PAID invoice is AUTHORISED again, without
        FullyPaidOnDate) and the credit has that much to allocate again; both move their
        UpdatedDateUTC.

        Raises:
            NotFound: No such credit, or no such allocation of it.
        """
        self._take_back(
            tenant_id, lambda org: self._credit(org, credit_id), credit_id, allocation_id
        )

    def _take_back(
        self,
        tenant_id: str | None,
        find: Callable[[Org], StoredCredit | StoredCreditNote],
        credit_ref: str,
        allocation_id: str,
    ) -> None:
        """Take back one allocation of the credit ``find`` finds (``credit_ref`` as the caller
        named it), through the rule ``DELETE .../Allocations/{AllocationID}`` applies."""
        with self._lock:
            org = self._org(tenant_id)
            credit = find(org)
            allocation = org.allocations.get(allocation_id)
            owned = (
                allocation
                if allocation is not None and allocation.credit_id == credit.credit_id
                else None
            )
            what = f"allocation {allocation_id!r} of {credit_ref!r}"
            delete_allocation(org, credit, _found(owned, what, org.tenant_id), self._ctx())

    def delete_payment(self, payment_id: str, tenant_id: str | None = None) -> None:
        """Reverse a payment (its Status becomes DELETED; the invoice is due again).

        A payment that is part of a batch is refused: reverse the batch with
        :meth:`delete_batch_payment`.
        """
        self._set_status(
            tenant_id,
            lambda org: _found(org.payments.get(payment_id), f"payment {payment_id!r}", None),
            delete_payment,
            "DELETED",
        )

    def _set_status(
        self,
        tenant_id: str | None,
        find: Callable[[Org], T],
        rule: Callable[[Org, T, Any, Ctx], Outcome],
        status: str,
    ) -> None:
        """A status change as a person makes it in Xero (a void, or a reversal's
        ``Status: DELETED``), through the same rule the HTTP endpoint applies, so the helper
        and the API can never disagree. ``find`` raises NotFound for a missing record."""
        with self._lock:
            org = self._org(tenant_id)
            outcome = rule(org, find(org), {"Status": status}, self._ctx())
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)

    def add_credit_note(
        self,
        invoice_id: str,
        amount: Decimal | int | str,
        on: date | None = None,
        tenant_id: str | None = None,
    ) -> str:
        """Credit (part of) an invoice with a sales credit note allocated to it, as a person
        crediting an invoice in Xero does; returns the CreditNoteID.

        The credit note is a real one (see :meth:`credit_notes`): ACCRECCREDIT, numbered
        ``CN-0001``, ``CN-0002``, ..., one line of ``amount`` at the invoice's account with no
        tax, so its Total is ``amount``, and allocated in full, so it is PAID with no
        RemainingCredit. The invoice's AmountCredited grows and it lists the note under
        ``CreditNotes``; it becomes PAID when nothing is left due. Raises as :meth:`pay` does.

        Args:
            invoice_id: The InvoiceID (or a sales invoice's number).
            amount: How much to credit (at most the invoice's AmountDue).
            on: The credit note's date and its allocation's (default: the clock's date).
            tenant_id: The organisation.
        """
        credited = _money("amount", amount)
        _day(on)
        with self._lock:
            org = self._org(tenant_id)
            invoice = self._invoice(org, invoice_id)
            ctx = self._ctx()
            outcome = add_credit_note(org, invoice, credited, on or ctx.today, ctx)
            if not outcome.ok:
                raise _refused(outcome, org.tenant_id)
            return str(outcome.record.credit_note_id)

    def _credit_note(self, org: Org, credit_note_id: str) -> StoredCreditNote:
        return _found(
            find_credit_note(org, credit_note_id),
            f"credit note {credit_note_id!r} in organisation {org.tenant_id}",
            org.tenant_id,
        )

    def void_credit_note(self, credit_note_id: str, tenant_id: str | None = None) -> None:
        """Void a credit note, as ``POST /CreditNotes/{id}`` with ``Status: VOIDED`` does.

        Only an AUTHORISED credit note with nothing allocated can be voided (the invoice's
        rules; take allocations back with :meth:`delete_credit_note_allocation` first).

        Raises:
            NotFound: No such credit note (by CreditNoteID, or a sales one's number).
            XeroValidationError: Xero would refuse it.
        """
        self._set_status(
            tenant_id,
            lambda org: self._credit_note(org, credit_note_id),
            update_credit_note,
            "VOIDED",
        )

    def delete_credit_note_allocation(
        self, credit_note_id: str, allocation_id: str, tenant_id: str | None = None
    ) -> None:
        """Take back one allocation of a credit note, as
        ``DELETE /CreditNotes/{id}/Allocations/{AllocationID}`` does.

        The invoice's AmountCredited falls back (a PAID invoice is AUTHORISED again) and the
        credit note has that much RemainingCredit again (a PAID one is AUTHORISED again);
        both move their UpdatedDateUTC.

        Raises:
            NotFound: No such credit note, or no such allocation of it.
        """
        self._take_back(
            tenant_id,
            lambda org: self._credit_note(org, credit_note_id),
            credit_note_id,
            allocation_id,
        )

    def void(self, invoice_id: str, tenant_id: str | None = None) -> None:
        """Void an invoice, with Xero's rules (not once payments or credits are allocated).

        Raises:
            NotFound: No such invoice.
            XeroValidationError: Xero would refuse it, with Xero's message.
        """
        self._set_status(
            tenant_id, lambda org: self._invoice(org, invoice_id), update_invoice, "VOIDED"
        )

    # --- inspection -------------------------------------------------------------------------------

    def invoices(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every stored invoice as Xero's JSON (with lines, unit amounts at 4 dp), oldest first."""
        return self._rendered(
            tenant_id, lambda org: org.invoices, lambda i, org: render_invoice(i, org, unitdp=4)
        )

    def invoice(self, invoice_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """One stored invoice as Xero's JSON (by InvoiceID, or a sales invoice's number)."""
        with self._lock:
            org = self._org(tenant_id)
            return render_invoice(self._invoice(org, invoice_id), org, unitdp=4)

    def payments(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every payment as Xero's JSON (deleted ones included), oldest first."""
        return self._rendered(tenant_id, lambda org: org.payments, render_payment)

    def batch_payments(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every batch payment as Xero's JSON (deleted ones included), oldest first."""
        return self._rendered(tenant_id, lambda org: org.batch_payments, render_batch_payment)

    def prepayments(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every prepayment as Xero's JSON, with its allocations, oldest first."""
        return self._rendered(tenant_id, lambda org: org.prepayments, render_credit)

    def overpayments(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every overpayment as Xero's JSON, with its allocations, oldest first."""
        return self._rendered(tenant_id, lambda org: org.overpayments, render_credit)

    def credit_notes(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every credit note as Xero's JSON (with lines at 4 dp and its Allocations), oldest
        first; voided and deleted ones included."""
        return self._rendered(
            tenant_id,
            lambda org: org.credit_notes,
            lambda n, org: render_credit_note(n, org, unitdp=4),
        )

    def credit_note(self, credit_note_id: str, tenant_id: str | None = None) -> dict[str, Any]:
        """One credit note as Xero's JSON (by CreditNoteID, or a sales credit note's number).

        Raises:
            NotFound: No such credit note.
        """
        with self._lock:
            org = self._org(tenant_id)
            return render_credit_note(self._credit_note(org, credit_note_id), org, unitdp=4)

    def _rendered(
        self,
        tenant_id: str | None,
        records: Callable[[Org], Mapping[str, Any]],
        render: Callable[[Any, Org], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """What an inspection helper returns: every record of one kind, rendered under the
        lock (so a test never sees one half-changed), oldest first."""
        with self._lock:
            org = self._org(tenant_id)
            return [render(r, org) for r in records(org).values()]

    def contacts(self, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """Every contact as Xero's JSON, oldest first."""
        with self._lock:
            org = self._org(tenant_id)
            return [render_contact(c, merged=True) for c in org.contacts.values()]

    def emails(self, tenant_id: str | None = None) -> list[SentEmail]:
        """Every invoice Xero was asked to email (``POST /Invoices/{InvoiceID}/Email``),
        oldest first: each a :class:`SentEmail` with its ``invoice_id``, ``invoice_number``,
        the address it went ``to`` and when (``sent_at``)."""
        with self._lock:
            return list(self._org(tenant_id).emails)

    def history(self, invoice_id: str, tenant_id: str | None = None) -> list[dict[str, Any]]:
        """The notes in an invoice's history as Xero's HistoryRecord JSON, oldest first (what
        ``GET /Invoices/{InvoiceID}/History`` answers).

        Raises:
            NotFound: No such invoice (by InvoiceID, or a sales invoice's number).
        """
        with self._lock:
            org = self._org(tenant_id)
            invoice = self._invoice(org, invoice_id)
            return [render_note(n) for n in org.notes.get(invoice.invoice_id, [])]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._log)

    def count_requests(
        self, method: str | None = None, path: str | None = None, tenant_id: str | None = None
    ) -> int:
        """How many requests match (``path``: exact, or a prefix followed by ``/``)."""
        prefix = None if path is None else path.rstrip("/").casefold()
        with self._lock:
            return sum(
                1
                for r in self._log
                if (method is None or r.method == method.upper())
                and (tenant_id is None or r.tenant_id == tenant_id)
                and (
                    prefix is None
                    or r.path.casefold() == prefix
                    or r.path.casefold().startswith(prefix + "/")
                )
            )

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._lock:
            self._log.clear()

    # --- faults ---------------------------------------------------------------------------------

    def inject(
        self,
        kind: FaultKind | str,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        *,
        tenant_id: str | None = None,
        seconds: float | None = None,
    ) -> ScheduledFault:
        """Schedule a fault for the next ``times`` matching requests (``None``: until cleared).

        Args:
            kind: A :class:`FaultKind` or its value, e.g. ``"timeout_after_commit"``.
            method: Only this method (default: any).
            path: Only this path or those under it, e.g. ``"/Invoices"`` (default: any
                accounting API path; pass ``"/connect/token"`` or ``"/connections"`` to fault
                identity calls).
            times: How many requests it hits.
            tenant_id: Only this organisation's requests.
            seconds: For ``slow``: how far the clock moves (default: ``slow_seconds``).
        """
        with self._lock:
            return self._faults.schedule(
                kind,
                method=method,
                path=path,
                times=times,
                tenant_id=tenant_id,
                seconds=self._slow_seconds if seconds is None else seconds,
            )

    def inject_random(
        self,
        rate: float,
        kinds: Iterable[FaultKind | str] | None = None,
        seed: int | str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        seconds: float | None = None,
    ) -> RandomFaults:
        """Hit each matching request with probability ``rate``, reproducibly for a seed.

        Scheduled faults take precedence. Replaces any earlier random faults.
        """
        with self._lock:
            return self._faults.set_random(
                rate=rate,
                kinds=kinds,
                seed=seed,
                method=method,
                path=path,
                seconds=self._slow_seconds if seconds is None else seconds,
            )

    @property
    def pending_faults(self) -> list[ScheduledFault]:
        """Scheduled faults still waiting for requests."""
        with self._lock:
            return list(self._faults.scheduled)

    def clear_faults(self) -> None:
        """Cancel every scheduled and random fault."""
        with self._lock:
            self._faults.clear()

    # --- answer hooks ----------------------------------------------------------------------------

    def on_answer(
        self,
        callback: Callable[[], object],
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        tenant_id: str | None = None,
    ) -> AnswerHook:
        """Call ``callback()`` after the fake answers each of the next ``times`` matching
        requests, before the caller receives the answer.

        This is how a test makes Xero change *between* two reads of a client, at a moment
        it chooses: a person paying an invoice while a sync is paging through invoices, say.
        The answer is already built, so the change shows from the next request on. The
        callback runs outside the fake's lock, so it may call any helper (:meth:`pay`,
        :meth:`allocate`, ...); what it raises reaches the caller in place of the answer.
        Requests an injected fault stops before any answer is made do not trigger it.

        Args:
            callback: Called with no arguments.
            method: Only this method (default: any).
            path: Only this path or those under it, e.g. ``"/Invoices"`` (default: any
                accounting API path), matched as :meth:`inject` matches.
            times: How many answers trigger it (``None``: every one, until
                :meth:`clear_answer_hooks`).
            tenant_id: Only this organisation's requests.
        """
        with self._lock:
            return self._hooks.add(
                callback, method=method, path=path, times=times, tenant_id=tenant_id
            )

    def clear_answer_hooks(self) -> None:
        """Cancel every hook :meth:`on_answer` set."""
        with self._lock:
            self._hooks.clear()

    def _answered(self, call: FakeRequest, api: str, path: str, tenant: str | None) -> None:
        """Run the hooks due after this answer (outside the lock)."""
        if api == "unknown":
            return
        with self._lock:
            due = self._hooks.take(call.method, path, api, tenant)
        for callback in due:
            callback()

    # --- serving -----------------------------------------------------------------------------

    def handle(self, call: FakeRequest, *, host: str | None = None) -> Reply:
        """Answer one request (used by the transport and the loopback server).

        ``host`` is the host the request was sent to, when known; the loopback server serves
        every path on one host.

        Raises:
            NetworkFault: An injected fault means the caller gets no response.
        """
        api, path = _classify(call.path, host)
        tenant = call.headers.get("xero-tenant-id")
        at = self.clock.now()
        with self._lock:
            hit = self._faults.take(call.method, path, api, tenant) if api != "unknown" else None
            correlation = self._ids.guid()
        record = _Recorder(self, call, api=api, path=path, tenant=tenant, at=at)
        if hit is not None and not hit.kind.commits:
            if hit.kind.raises:
                record(None, fault=hit.kind)
                raise NetworkFault(hit.kind)
            reply = _fault_reply(hit.kind).with_headers([("Xero-Correlation-Id", correlation)])
            record(reply, fault=hit.kind)
            self._answered(call, api, path, tenant)
            return reply
        replayed = False
        if api == "accounting":
            reply, replayed = self._accounting(path, call, correlation)
        elif api == "identity":
            reply = self._identity_call(path, call)
        elif api == "connections":
            reply = self._connections(path, call)
        else:
            reply = text_reply(404, "The resource you're looking for cannot be found")
        reply = reply.with_headers([("Xero-Correlation-Id", correlation)])
        if hit is not None:
            if hit.kind is FaultKind.SLOW:
                self.clock.sleep(hit.seconds)
            record(reply, fault=hit.kind, replayed=replayed)
            self._answered(call, api, path, tenant)
            raise NetworkFault(hit.kind)
        record(reply, replayed=replayed)
        self._answered(call, api, path, tenant)
        return reply

    def _record(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._log.append(entry)

    def _identity_call(self, path: str, call: FakeRequest) -> Reply:
        if path == AUTHORIZE_PATH:
            if call.method not in ("GET", "POST"):
                return json_reply(405, {"error": "invalid_request"})
            with self._lock:
                names = {t: org.name for t, org in self._orgs.items()}
                return consent(call, self._identity, names, self._consent)
        if call.method != "POST":
            return json_reply(405, {"error": "invalid_request"})
        form = dict(urllib.parse.parse_qsl(call.body.decode("utf-8", "replace")))
        authorization = call.headers.get("authorization")
        with self._lock:
            if path == "/connect/token":
                answer = self._identity.token(form, authorization)
            else:
                answer = self._identity.revoke(form, authorization)
        reply = json_reply(answer.status, answer.body)
        return reply.with_headers([("Cache-Control", "no-store")])

    def _connections(self, path: str, call: FakeRequest) -> Reply:
        with self._lock:
            grant = self._identity.check_bearer(call.headers.get("authorization"))
            if isinstance(grant, str):
                return problem_reply(401, "Unauthorized", grant, self._ids.guid())
            parts = [p for p in path.split("/") if p]
            if call.method == "DELETE" and len(parts) == 2:
                found = next(
                    (c for c in self._identity.visible(grant) if c.connection_id == parts[1]),
                    None,
                )
                if found is None:
                    return text_reply(404, "The resource you're looking for cannot be found")
                self._identity.disconnect(found.tenant_id)
                return Reply(204, (), b"")
            if call.method != "GET" or len(parts) != 1:
                return json_reply(405, {"Title": "Method Not Allowed", "Status": 405})
            unread = [
                name
                for name, _ in urllib.parse.parse_qsl(call.raw_query, keep_blank_values=True)
                if name.casefold() != "autheventid"
            ]
            if unread:  # never an unfiltered list for a filter the fake does not know
                return error_reply(
                    501,
                    f"FakeXero does not implement the query parameter {unread[0]!r} on "
                    "GET /connections; it reads authEventId",
                    number=501,
                    error_type="NotImplementedException",
                )
            event = call.query.get("autheventid")
            return json_reply(
                200,
                [
                    {
                        "id": c.connection_id,
                        "authEventId": c.auth_event_id,
                        "tenantId": c.tenant_id,
                        "tenantType": "ORGANISATION",
                        "tenantName": self._orgs[c.tenant_id].name,
                        "createdDateUtc": _iso(c.created_at),
                        "updatedDateUtc": _iso(c.created_at),
                    }
                    for c in self._identity.visible(grant, event)
                ],
            )

    def _rate_headers(self, tenant_id: str | None) -> list[tuple[str, str]]:
        now = self.clock.monotonic()
        headers = []
        limits = self._tenant_limits.get(tenant_id) if tenant_id else None
        if limits is not None:
            headers.append(("X-DayLimit-Remaining", str(limits.day.remaining(now))))
            headers.append(("X-MinLimit-Remaining", str(limits.minute.remaining(now))))
        headers.append(("X-AppMinLimit-Remaining", str(self._app_window.remaining(now))))
        return headers

    def _accounting(self, path: str, call: FakeRequest, correlation: str) -> tuple[Reply, bool]:
        with self._lock:
            grant = self._identity.check_bearer(call.headers.get("authorization"))
            if isinstance(grant, str):
                reply = problem_reply(401, "Unauthorized", grant, correlation).with_headers(
                    [
                        ("WWW-Authenticate", 'Bearer error="invalid_token"'),
                        *self._rate_headers(None),
                    ]
                )
                return reply, False
            tenant_id = (call.headers.get("xero-tenant-id") or "").strip().lower()
            org = self._orgs.get(tenant_id)
            if org is None or not self._identity.covers(grant, tenant_id):
                reply = problem_reply(403, "Forbidden", "AuthenticationUnsuccessful", correlation)
                return reply.with_headers(self._rate_headers(None)), False
            if self._enforce_scopes and not scope_allows(grant.scope, call.method, path):
                # Xero's word for a scope the token lacks (an unknown token says
                # AuthenticationUnsuccessful).
                reply = problem_reply(401, "Unauthorized", "AuthorizationUnsuccessful", correlation)
                return reply.with_headers(self._rate_headers(None)), False
            limits = self._tenant_limits[tenant_id]
            refusal = limits.admit(self.clock.monotonic(), self._app_window)
            if refusal is not None:
                headers = [("X-Rate-Limit-Problem", refusal.problem)]
                if refusal.retry_after is not None:
                    headers.append(("Retry-After", str(refusal.retry_after)))
                reply = problem_reply(
                    429, "Too Many Requests", f"Rate limit exceeded: {refusal.problem}", correlation
                )
                return reply.with_headers([*headers, *self._rate_headers(tenant_id)]), False
        try:
            hook = self.in_flight_hook
            if hook is not None:
                hook(InFlightRequest(method=call.method, path=path, tenant_id=tenant_id))
            with self._lock:
                reply, replayed = self._idempotent(org, grant.client_id, path, call)
                return reply.with_headers(self._rate_headers(tenant_id)), replayed
        finally:
            with self._lock:
                limits.done()

    def _idempotent(self, org: Org, scope: str, path: str, call: FakeRequest) -> tuple[Reply, bool]:
        key = call.headers.get("idempotency-key") if call.method in _WRITE_METHODS else None
        now = self.clock.monotonic()
        digest = ""
        if key:
            if len(key) > 128:
                return error_reply(400, "Idempotency-Key must be at most 128 characters."), False
            digest = fingerprint(
                (call.method, path.casefold(), call.raw_query, org.tenant_id, call.body)
            )
            stored = self._idempotency.get(scope, key, now)
            if stored is not None:
                if stored.fingerprint != digest:
                    return (
                        error_reply(
                            400, f"Idempotency Key: {key} is used with a different request."
                        ),
                        False,
                    )
                return Reply(stored.status, stored.headers, stored.body), True
        reply = accounting(org, path, call, ids=self._ids, now=self.clock.now(), app=scope)
        if key:
            self._idempotency.put(
                scope,
                key,
                now,
                fingerprint=digest,
                status=reply.status,
                headers=reply.headers,
                body=reply.body,
            )
        return reply, False


class _Recorder:
    """Writes one request's entry in the log once its outcome is known."""

    def __init__(
        self,
        fake: FakeXero[Any],
        call: FakeRequest,
        *,
        api: str,
        path: str,
        tenant: str | None,
        at: datetime,
    ) -> None:
        self._fake, self._call = fake, call
        self._api, self._path, self._tenant, self._at = api, path, tenant, at

    def __call__(
        self, reply: Reply | None, *, fault: FaultKind | None = None, replayed: bool = False
    ) -> None:
        headers = dict(self._call.headers)
        if "authorization" in headers:
            headers["authorization"] = _REDACTED
        key = headers.get("idempotency-key") if self._call.method in _WRITE_METHODS else None
        self._fake._record(
            RecordedRequest(
                method=self._call.method,
                path=self._path,
                query=dict(self._call.query),
                status=None if reply is None else reply.status,
                headers=headers,
                tenant_id=self._tenant,
                at=self._at,
                api=self._api,
                fault=fault,
                idempotency_key=key,
                replayed=replayed,
                response_headers={}
                if reply is None
                else {name.lower(): value for name, value in reply.headers},
            )
        )


_IDENTITY_PATHS = ("/connect/token", "/connect/revocation")
_LOGIN_PATHS = (AUTHORIZE_PATH,)


def _classify(path: str, host: str | None) -> tuple[str, str]:
    """Which API a path belongs to, and the path within it.

    Xero's paths are case-insensitive (the official SDK sends ``/Connections``), so they are
    matched in any case. The accounting path keeps the case it was sent in (the routes and
    the request log compare it case-insensitively); the connections and identity paths are
    given in lower case, ids as sent.
    """
    folded = path.lower()  # not casefold(): that maps some letters onto ASCII ones
    if host in (None, API_HOST):
        prefix = API_PREFIX.lower()
        if folded == prefix or folded.startswith(prefix + "/"):
            return "accounting", path[len(API_PREFIX) :] or "/"
        if folded == "/connections" or folded.startswith("/connections/"):
            return "connections", "/connections" + path[len("/connections") :]
    if host in (None, IDENTITY_HOST) and folded.rstrip("/") in _IDENTITY_PATHS:
        return "identity", folded.rstrip("/")
    if host in (None, LOGIN_HOST) and folded.rstrip("/") in _LOGIN_PATHS:
        return "identity", folded.rstrip("/")
    return "unknown", path


def _fault_reply(kind: FaultKind) -> Reply:
    if kind is FaultKind.OFFLINE_503:
        return text_reply(503, "The Organisation is offline")
    return error_reply(
        500,
        "An error occurred in Xero. Check the API Status page http://status.developer.xero.com "
        "for current service status.",
        number=500,
        error_type="UnknownErrorException",
    )


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"
